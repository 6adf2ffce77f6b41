/*
 * ratelimit.c - the sliding-window admission script.
 */
#include "ratelimit.h"

#include "clock.h"
#include "log.h"
#include "redis_script.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: current window, previous window. ARGV: elapsed ms in the current
 * window, rpm, tpm, tokens, window ms. Returns {1} or {0, what, limit,
 * prev, cur, cost}: the figures the caller turns into a Retry-After. */
static lyc_redis_script_t s_admit = LYC_REDIS_SCRIPT(
    "local win = tonumber(ARGV[5])\n"
    "local w = (win - tonumber(ARGV[1])) / win\n"
    "local function used(key, field)\n"
    "  return tonumber(redis.call('HGET', key, field) or '0')\n"
    "end\n"
    "local pr, cr = used(KEYS[2], 'req'), used(KEYS[1], 'req')\n"
    "local pt, ct = used(KEYS[2], 'tok'), used(KEYS[1], 'tok')\n"
    "local rpm, tpm, tok = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "if rpm > 0 and pr * w + cr + 1 > rpm then\n"
    "  return {0, 'requests', ARGV[2], tostring(pr), tostring(cr), '1'}\n"
    "end\n"
    "if tpm > 0 and pt * w + ct + tok > tpm then\n"
    "  return {0, 'tokens', ARGV[3], tostring(pt), tostring(ct), ARGV[4]}\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[1], 'req', 1)\n"
    "redis.call('HINCRBY', KEYS[1], 'tok', tok)\n"
    "redis.call('PEXPIRE', KEYS[1], 2 * win + 1000)\n"
    "return {1}\n");

long lyc_ratelimit_retry_ms(double prev, double cur, double cost, double limit, long elapsed_ms)
{
    /* (the 1e-6 below keeps float noise from adding a whole millisecond) */
    const double win = LYC_RATELIMIT_WINDOW_MS;
    double left = win - (double) elapsed_ms;
    if (cost > limit)
        return LYC_RATELIMIT_WINDOW_MS;
    /* Within this window the previous one's weight falls linearly to 0. */
    if (cur + cost <= limit) {
        double over = prev * (left / win) + cur + cost - limit;
        if (over <= 0)
            return 0;
        return (long) ceil(over / prev * win - 1e-6);
    }
    /* Else in the next window, where this one is the previous. */
    double share = 1.0 - (limit - cost) / cur; /* the next window's elapsed share */
    return (long) ceil(left + (share > 0 ? share : 0) * win - 1e-6);
}

static void s_window_keys(const char *prefix, const char *key_id, int64_t now_ms, char cur[256],
                          char prev[256])
{
    int64_t minute = now_ms / LYC_RATELIMIT_WINDOW_MS;
    snprintf(cur, 256, "%s:rate:{%s}:%lld", prefix, key_id, (long long) minute);
    snprintf(prev, 256, "%s:rate:{%s}:%lld", prefix, key_id, (long long) (minute - 1));
}

/* Turns the script's refusal into *why. */
static void s_refusal(const redisReply *r, long elapsed_ms, lyc_ratelimit_refusal_t *why)
{
    memset(why, 0, sizeof *why);
    why->what = "requests";
    why->retry_after_s = LYC_RATELIMIT_WINDOW_MS / 1000;
    if (r->elements < 6)
        return;
    double v[4];
    for (int i = 0; i < 4; i++)
        v[i] = r->element[2 + i]->str ? strtod(r->element[2 + i]->str, NULL) : 0;
    if (r->element[1]->str && strcmp(r->element[1]->str, "tokens") == 0)
        why->what = "tokens";
    why->limit = (long) v[0];
    long ms = lyc_ratelimit_retry_ms(v[1], v[2], v[3], v[0], elapsed_ms);
    why->retry_after_s = ms <= 1000 ? 1 : (ms + 999) / 1000;
}

int lyc_ratelimit_admit(lyc_redis_t *redis, const char *prefix, const char *key_id, long rpm,
                        long tpm, long tokens, lyc_ratelimit_refusal_t *why)
{
    if (rpm <= 0 && tpm <= 0)
        return 0;
    char cur[256], prev[256], elapsed[24], srpm[24], stpm[24], stok[24], win[24];
    int64_t now_ms = lyc_wall_us() / 1000;
    long elapsed_ms = (long) (now_ms % LYC_RATELIMIT_WINDOW_MS);
    s_window_keys(prefix, key_id, now_ms, cur, prev);
    snprintf(elapsed, sizeof elapsed, "%ld", elapsed_ms);
    snprintf(srpm, sizeof srpm, "%ld", rpm > 0 ? rpm : 0);
    snprintf(stpm, sizeof stpm, "%ld", tpm > 0 ? tpm : 0);
    snprintf(stok, sizeof stok, "%ld", tokens > 0 ? tokens : 0);
    snprintf(win, sizeof win, "%d", LYC_RATELIMIT_WINDOW_MS);
    const char *keys[] = {cur, prev};
    const char *args[] = {elapsed, srpm, stpm, stok, win};
    redisReply *r = lyc_redis_script_run(redis, &s_admit, 2, keys, 5, args);
    if (!r)
        return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER) {
        rc = r->element[0]->integer == 1 ? 0 : 1;
        if (rc == 1)
            s_refusal(r, elapsed_ms, why);
    }
    freeReplyObject(r);
    return rc;
}

int lyc_ratelimit_adjust(lyc_redis_t *redis, const char *prefix, const char *key_id,
                         long delta_tokens)
{
    if (delta_tokens == 0)
        return 0;
    char cur[256], prev[256], delta[24], ttl[24];
    s_window_keys(prefix, key_id, lyc_wall_us() / 1000, cur, prev);
    snprintf(delta, sizeof delta, "%ld", delta_tokens);
    snprintf(ttl, sizeof ttl, "%d", 2 * LYC_RATELIMIT_WINDOW_MS + 1000);
    const char *incr[] = {"HINCRBY", cur, "tok", delta};
    const char *expire[] = {"PEXPIRE", cur, ttl};
    lyc_redis_cmd_t cmds[] = {{4, incr, NULL}, {3, expire, NULL}};
    redisReply *replies[2];
    if (lyc_redis_pipeline(redis, 2, cmds, replies) != 0)
        return -1;
    int rc = replies[0]->type == REDIS_REPLY_ERROR ? -1 : 0;
    freeReplyObject(replies[0]);
    freeReplyObject(replies[1]);
    return rc;
}
