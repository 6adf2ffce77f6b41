/*
 * apply.c - the idempotent apply script and its caller.
 */
#include "apply.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * KEYS: 1 seen marker, 2 statistics hash, 3 the query's pairing hash.
 * ARGV: 1 seen ttl, 2 model, 3 kind (score | error | human), 4 score,
 *       5 cost, 6 latency ms, 7 judge cost, 8 human weight, 9 reference (1/0),
 *       10 pair ttl, 11 agreement margin, 12 prompt tokens, 13 completion
 *       tokens (both "" when the answer reported no usage).
 */
static const char s_script[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end\n"
    "local h, m, kind = KEYS[2], ARGV[2], ARGV[3]\n"
    "local function add(model, field, v)\n"
    "  redis.call('HINCRBYFLOAT', h, model .. '|' .. field, v)\n"
    "end\n"
    "local function tokens()\n"
    "  if ARGV[12] == '' then return end\n"
    "  add(m, 'tok_n', 1) add(m, 'tok_in', ARGV[12]) add(m, 'tok_out', ARGV[13])\n"
    "end\n"
    "if kind == 'error' then add(m, 'errors', 1) return 1 end\n"
    "if kind == 'unscored' then\n"
    "  add(m, 'unscored', 1) add(m, 'cost', ARGV[5]) add(m, 'ms', ARGV[6])\n"
    "  add(m, 'judge_cost', ARGV[7]) tokens()\n"
    "  return 1\n"
    "end\n"
    "local s = tonumber(ARGV[4])\n"
    "if kind == 'human' then\n"
    "  local w = tonumber(ARGV[8])\n"
    "  add(m, 'n', w) add(m, 'sum', w * s) add(m, 'sumsq', w * s * s)\n"
    "  add(m, 'human_n', 1) add(m, 'human_sum', s)\n"
    "  return 1\n"
    "end\n"
    "add(m, 'n', 1) add(m, 'sum', s) add(m, 'sumsq', s * s)\n"
    "add(m, 'cost', ARGV[5]) add(m, 'ms', ARGV[6]) add(m, 'judge_cost', ARGV[7]) tokens()\n"
    "local margin = tonumber(ARGV[11])\n"
    "local function pair(model, score, sup)\n"
    "  local gap = sup - score\n"
    "  add(model, 'pair_n', 1) add(model, 'gap_sum', gap) add(model, 'gap_sumsq', gap * gap)\n"
    "  add(model, 'agree_n', 1)\n"
    "  if math.abs(gap) < margin then add(model, 'agree', 1) end\n"
    "end\n"
    "local t = KEYS[3]\n"
    "local sup = redis.call('HGET', t, '|sup')\n"
    "if ARGV[9] == '1' and not sup then\n"
    "  redis.call('HSET', t, '|sup', ARGV[4])\n"
    "  local waiting = redis.call('HGETALL', t)\n"
    "  for i = 1, #waiting, 2 do\n"
    "    if waiting[i] ~= '|sup' then\n"
    "      pair(waiting[i], tonumber(waiting[i + 1]), s)\n"
    "      redis.call('HDEL', t, waiting[i])\n"
    "    end\n"
    "  end\n"
    "elseif sup then\n"
    "  pair(m, s, tonumber(sup))\n"
    "else\n"
    "  redis.call('HSET', t, m, ARGV[4])\n"
    "end\n"
    "redis.call('EXPIRE', t, ARGV[10])\n"
    "return 1\n";

struct lyc_apply_t {
    lyc_redis_t *redis;
    char *prefix;
    lyc_apply_config_t config;
    char sha[48]; /* SCRIPT LOAD's digest; "" until loaded */
};

lyc_apply_t *lyc_apply_new(lyc_redis_t *redis, const char *prefix, const lyc_apply_config_t *config)
{
    lyc_apply_t *self = calloc(1, sizeof *self);
    if (!self || !(self->prefix = strdup(prefix))) {
        free(self);
        return NULL;
    }
    self->redis = redis;
    self->config = *config;
    return self;
}

void lyc_apply_destroy(lyc_apply_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->prefix);
    free(*self_p);
    *self_p = NULL;
}

static int s_load_script(lyc_apply_t *self)
{
    const char *argv[] = {"SCRIPT", "LOAD", s_script};
    redisReply *reply = lyc_redis_command(self->redis, 3, argv, NULL);
    if (!reply)
        return -1;
    int rc = -1;
    if (reply->type == REDIS_REPLY_STRING && reply->len < sizeof self->sha) {
        memcpy(self->sha, reply->str, reply->len + 1);
        rc = 0;
    }
    freeReplyObject(reply);
    return rc;
}

/* error: the call failed; unscored: it answered but nobody graded it (a
 * familiar query not sampled for audit), so only its cost counts; human; score. */
static const char *s_kind(const lyc_feedback_t *ev)
{
    if (lyc_feedback_failed(ev))
        return "error";
    if (lyc_feedback_is_human(ev))
        return "human";
    return lyc_feedback_scored(ev) ? "score" : "unscored";
}

/* Runs the script once with argv[0] = "EVALSHA"; the reply, or NULL. */
static redisReply *s_evalsha(lyc_apply_t *self, const char **argv, int argc)
{
    if (!*self->sha && s_load_script(self) != 0)
        return NULL;
    argv[1] = self->sha;
    redisReply *reply = lyc_redis_command(self->redis, argc, argv, NULL);
    if (!reply && strncmp(lyc_redis_error(self->redis), "NOSCRIPT", 8) == 0) {
        /* The server restarted or flushed its scripts: load it again, once. */
        self->sha[0] = '\0';
        if (s_load_script(self) != 0)
            return NULL;
        argv[1] = self->sha;
        reply = lyc_redis_command(self->redis, argc, argv, NULL);
    }
    return reply;
}

int lyc_apply_event(lyc_apply_t *self, const char *scope, const lyc_feedback_t *ev, int reference)
{
    char seen[512], stats[512], pair[512];
    char ttl[24], score[32], cost[32], ms[24], judge[32], weight[32], pttl[24], margin[32];
    char tok_in[24] = "", tok_out[24] = "";
    snprintf(seen, sizeof seen, "%s:seen:{%s}:%s", self->prefix, scope, ev->event_id);
    snprintf(stats, sizeof stats, "%s:stats:{%s}:%s", self->prefix, scope, ev->domain);
    snprintf(pair, sizeof pair, "%s:pair:{%s}:%s", self->prefix, scope, ev->trace_id);
    snprintf(ttl, sizeof ttl, "%ld", self->config.seen_ttl_s);
    snprintf(score, sizeof score, "%.17g", ev->score);
    snprintf(cost, sizeof cost, "%.17g", ev->cost_usd);
    snprintf(ms, sizeof ms, "%u", ev->latency_ms);
    snprintf(judge, sizeof judge, "%.17g", ev->judge_cost_usd);
    snprintf(weight, sizeof weight, "%.17g", self->config.human_weight);
    snprintf(pttl, sizeof pttl, "%ld", self->config.pair_ttl_s);
    snprintf(margin, sizeof margin, "%.17g", self->config.agree_margin);
    if (ev->usage) {
        snprintf(tok_in, sizeof tok_in, "%u", ev->usage->prompt_tokens);
        snprintf(tok_out, sizeof tok_out, "%u", ev->usage->completion_tokens);
    }
    const char *argv[] = {"EVALSHA", NULL,   "3",       seen,       stats,
                          pair,      ttl,    ev->model, s_kind(ev), score,
                          cost,      ms,     judge,     weight,     reference ? "1" : "0",
                          pttl,      margin, tok_in,    tok_out};
    redisReply *reply = s_evalsha(self, argv, (int) (sizeof argv / sizeof argv[0]));
    if (!reply) {
        LYC_WARN(ev->trace_id, "trainer: applying event %s failed: %s", ev->event_id,
                 lyc_redis_error(self->redis));
        return -1;
    }
    int rc = reply->type == REDIS_REPLY_INTEGER ? (int) reply->integer : -1;
    freeReplyObject(reply);
    return rc;
}
