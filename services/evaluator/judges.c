/*
 * judges.c - the per-domain cache of who judges, its reloads from Redis,
 * hand-overs, take-backs and spot-check records.
 */
#include "judges.h"

#include "clock.h"
#include "log.h"
#include "model_config.h"
#include "redis.h"

#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a reason: one for the old arrangement, one for the new. */
#define S_REASON_MAX 512

/* Hands judging from ARGV[1] to ARGV[2] if ARGV[1] is still the delegate;
 * ARGV[3] spot rate, ARGV[4] reason, ARGV[5] time, ARGV[6]/[7] an optional
 * revoked field and its value. Returns 1 when it changed, else 0. */
static const char s_handover_script[] =
    "local cur = redis.call('HGET', KEYS[1], 'delegate') or ''\n"
    "if cur ~= ARGV[1] then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'delegate', ARGV[2], 'spot_rate', ARGV[3], 'checks', 0,\n"
    "           'disagreements', 0, 'reason', ARGV[4], 'changed_us', ARGV[5])\n"
    "if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], ARGV[6], ARGV[7]) end\n"
    "return 1\n";

/* Counts one spot check of ARGV[1] if it is still the delegate: ARGV[2] the
 * new rate, ARGV[3] 1 for a disagreement. Returns {checks, disagreements},
 * or an empty array when the delegate changed meanwhile. */
static const char s_spot_script[] =
    "local cur = redis.call('HGET', KEYS[1], 'delegate') or ''\n"
    "if cur ~= ARGV[1] then return {} end\n"
    "local checks = redis.call('HINCRBY', KEYS[1], 'checks', 1)\n"
    "local dis = redis.call('HINCRBY', KEYS[1], 'disagreements', tonumber(ARGV[3]))\n"
    "redis.call('HSET', KEYS[1], 'spot_rate', ARGV[2])\n"
    "return {checks, dis}\n";

/* One domain in the cache. */
typedef struct {
    int loaded;        /* choice and state hold a successful load */
    int refreshing;    /* a thread is reloading it */
    int64_t loaded_us; /* last reload attempt (monotonic), 0: never */
    long long version; /* roles version of that reload */
    lyc_judge_choice_t choice;
    lyc_judge_state_t state;
} s_domain_t;

struct lyc_judges_t {
    const lyc_eval_config_t *config;
    char *redis_url;
    char *prefix;
    long timeout_ms;
    pthread_mutex_t lock; /* guards everything below */
    zhashx_t *domains;    /* domain name -> s_domain_t * */
    long long version;    /* roles version last read */
    int64_t version_polled_us;
    int version_polling;
};

struct lyc_judges_link_t {
    lyc_judges_t *judges;
    lyc_redis_t *redis;       /* this thread's; NULL until connected */
    int64_t connect_after_us; /* no new attempt before (monotonic) */
};

/* What a reload reads, kept while the hand-over is decided. */
typedef struct {
    lyc_model_stats_t *stats;
    size_t n_stats;
    lyc_role_entry_t *roles;
    size_t n_roles;
} s_record_t;

void lyc_judges_key(char *buf, size_t cap, const char *prefix, const char *scope,
                    const char *domain)
{
    snprintf(buf, cap, "%s:judges:{%s}:%s", prefix, scope, domain);
}

static void s_domain_destroy(void **item)
{
    free(*item);
    *item = NULL;
}

lyc_judges_t *lyc_judges_new(const lyc_eval_config_t *config, const char *redis_url,
                             const char *prefix, long timeout_ms)
{
    lyc_judges_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    self->config = config;
    self->timeout_ms = timeout_ms;
    self->redis_url = strdup(redis_url);
    self->prefix = strdup(prefix);
    self->domains = zhashx_new();
    if (!self->redis_url || !self->prefix || !self->domains) {
        lyc_judges_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->domains, s_domain_destroy);
    return self;
}

void lyc_judges_destroy(lyc_judges_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_judges_t *self = *self_p;
    zhashx_destroy(&self->domains);
    pthread_mutex_destroy(&self->lock);
    free(self->redis_url);
    free(self->prefix);
    free(self);
    *self_p = NULL;
}

lyc_judges_link_t *lyc_judges_link_new(lyc_judges_t *judges)
{
    lyc_judges_link_t *self = calloc(1, sizeof *self);
    if (self)
        self->judges = judges;
    return self;
}

void lyc_judges_link_destroy(lyc_judges_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_redis_destroy(&(*self_p)->redis);
    free(*self_p);
    *self_p = NULL;
}

/* The link's connection, connecting when due; NULL while Redis is away. */
static lyc_redis_t *s_redis(lyc_judges_link_t *link)
{
    if (link->redis)
        return link->redis;
    int64_t now = lyc_mono_us();
    if (now < link->connect_after_us)
        return NULL;
    link->redis = lyc_redis_new(link->judges->redis_url, (int) link->judges->timeout_ms);
    if (!link->redis)
        link->connect_after_us = now + link->judges->config->judges_refresh_ms * 1000;
    return link->redis;
}

/* ---- the stored state ---------------------------------------------------- */

/* Stores one field of the judges hash into *state. */
static void s_state_field(lyc_judge_state_t *state, const char *name, const char *value)
{
    if (strcmp(name, "delegate") == 0)
        snprintf(state->delegate, sizeof state->delegate, "%s", value);
    else if (strcmp(name, "spot_rate") == 0)
        state->spot_rate = strtod(value, NULL);
    else if (strcmp(name, "checks") == 0)
        state->checks = strtod(value, NULL);
    else if (strcmp(name, "disagreements") == 0)
        state->disagreements = strtod(value, NULL);
    else if (strncmp(name, "revoked|", 8) == 0 && state->n_revoked < LYC_JUDGE_REVOKED_MAX) {
        lyc_judge_revoked_t *r = &state->revoked[state->n_revoked++];
        snprintf(r->model, sizeof r->model, "%s", name + 8);
        r->evidence = strtod(value, NULL);
    }
}

/* Loads the judges hash of domain into *state; 0 or -1 (logged). */
static int s_state_load(lyc_judges_link_t *link, lyc_redis_t *redis, const char *domain,
                        lyc_judge_state_t *state)
{
    const lyc_judges_t *judges = link->judges;
    char key[512];

    memset(state, 0, sizeof *state);
    state->spot_rate = judges->config->spot_check_initial;
    lyc_judges_key(key, sizeof key, judges->prefix, judges->config->stats_scope, domain);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    if (!reply)
        return -1;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2)
        if (reply->element[i]->type == REDIS_REPLY_STRING &&
            reply->element[i + 1]->type == REDIS_REPLY_STRING)
            s_state_field(state, reply->element[i]->str, reply->element[i + 1]->str);
    freeReplyObject(reply);
    return 0;
}

/* Runs the hand-over script: from `from` to `to`, optionally marking
 * revoked_field with evidence. Returns 1 changed, 0 someone changed it
 * first, -1 failed (logged). */
static int s_handover(lyc_redis_t *redis, const lyc_judges_t *judges, const char *domain,
                      const char *from, const char *to, const char *reason,
                      const char *revoked_field, double evidence)
{
    char key[512], rate[32], now[32], value[32];
    lyc_judges_key(key, sizeof key, judges->prefix, judges->config->stats_scope, domain);
    snprintf(rate, sizeof rate, "%.17g", judges->config->spot_check_initial);
    snprintf(now, sizeof now, "%lld", (long long) lyc_wall_us());
    snprintf(value, sizeof value, "%.17g", evidence);
    const char *argv[] = {"EVAL", s_handover_script, "1",  key, from, to, rate, reason,
                          now,    revoked_field,     value};
    redisReply *reply = lyc_redis_command(redis, 11, argv, NULL);
    if (!reply)
        return -1;
    int rc = reply->type == REDIS_REPLY_INTEGER ? (int) reply->integer : -1;
    freeReplyObject(reply);
    return rc;
}

/* ---- reloads and hand-overs ---------------------------------------------- */

/* Describes model's standing in the domain into buf, for reasons. */
static void s_describe(char *buf, size_t cap, const lyc_eval_config_t *config,
                       const s_record_t *record, const char *model)
{
    int role = lyc_judge_role(config, record->roles, record->n_roles, model);
    for (size_t i = 0; i < record->n_stats; i++) {
        const lyc_model_stats_t *s = &record->stats[i];
        if (strcmp(s->model, model) != 0)
            continue;
        double agreement = lyc_stats_agreement(s), lower, upper;
        lyc_stats_wilson(agreement, s->agree_n, LYC_JUDGE_Z, &lower, &upper);
        snprintf(buf, cap,
                 "role %s, agreement %.3f (lower bound %.3f) with the supervisor over %.0f pairs",
                 lyc_role_name(role), agreement, lower, s->agree_n);
        return;
    }
    snprintf(buf, cap, "role %s, no statistics", lyc_role_name(role));
}

/* Writes why judging moves from `from` to `to` into reason. */
static void s_reason(char *reason, const lyc_eval_config_t *config, const s_record_t *record,
                     const lyc_judge_choice_t *choice, const char *from, const char *to)
{
    char old_part[S_REASON_MAX / 2] = "", new_part[S_REASON_MAX / 2] = "";
    if (strcmp(from, LYC_JUDGE_ENSEMBLE) == 0)
        snprintf(old_part, sizeof old_part, "taken back from the ensemble: %zu members qualify",
                 choice->n_ensemble);
    else if (*from) {
        char why[200];
        s_describe(why, sizeof why, config, record, from);
        snprintf(old_part, sizeof old_part, "taken back from %s: no longer trusted (%s)", from,
                 why);
    }
    if (strcmp(to, LYC_JUDGE_ENSEMBLE) == 0)
        snprintf(new_part, sizeof new_part,
                 "handed over to an ensemble of %zu models with agreement >= %.2f",
                 choice->n_ensemble, config->ensemble_min_agreement);
    else if (*to) {
        char why[200];
        s_describe(why, sizeof why, config, record, to);
        snprintf(new_part, sizeof new_part, "handed over to %s (%s)", to, why);
    }
    snprintf(reason, S_REASON_MAX, "%s%s%s", old_part, *old_part && *new_part ? "; " : "",
             new_part);
}

/* Moves the stored delegate to what the statistics say, when they differ. */
static void s_reconcile(lyc_judges_link_t *link, lyc_redis_t *redis, const char *domain,
                        const s_record_t *record, const lyc_judge_choice_t *choice,
                        lyc_judge_state_t *state, const char *trace)
{
    const lyc_judges_t *judges = link->judges;
    char from[LYC_JUDGE_NAME_MAX], reason[S_REASON_MAX];
    const char *to = lyc_judge_in_force(choice, state->delegate);

    if (strcmp(to, state->delegate) == 0)
        return;
    snprintf(from, sizeof from, "%s", state->delegate);
    s_reason(reason, judges->config, record, choice, from, to);
    int rc = s_handover(redis, judges, domain, from, to, reason, "", 0.0);
    if (rc == 1)
        LYC_INFO(trace, "evaluator: domain %s: judging %s", domain, reason);
    if (rc >= 0 && s_state_load(link, redis, domain, state) != 0)
        LYC_WARN(trace, "evaluator: domain %s: cannot reload the judges record", domain);
}

/* Reads stats, roles and the judges record of domain and settles the
 * delegate; fills *out. Returns 0 or -1 (Redis away or failing). */
static int s_load(lyc_judges_link_t *link, const char *domain, s_domain_t *out, const char *trace)
{
    const lyc_judges_t *judges = link->judges;
    const char *scope = judges->config->stats_scope;
    s_record_t record = {0};
    int rc = -1;

    lyc_redis_t *redis = s_redis(link);
    if (!redis)
        return -1;
    if (lyc_roles_load(redis, judges->prefix, scope, domain, &record.roles, &record.n_roles) != 0 ||
        lyc_stats_load(redis, judges->prefix, scope, domain, &record.stats, &record.n_stats) != 0 ||
        s_state_load(link, redis, domain, &out->state) != 0)
        goto out_free_record;
    lyc_judge_choose(judges->config, record.stats, record.n_stats, record.roles, record.n_roles,
                     &out->state, &out->choice);
    s_reconcile(link, redis, domain, &record, &out->choice, &out->state, trace);
    rc = 0;
out_free_record:
    free(record.stats);
    free(record.roles);
    return rc;
}

/* Reads the roles version when due; a new one makes every domain stale. */
static void s_poll_version(lyc_judges_link_t *link)
{
    lyc_judges_t *judges = link->judges;
    int64_t now = lyc_mono_us();
    long long version = 0;

    pthread_mutex_lock(&judges->lock);
    int due = !judges->version_polling &&
              now - judges->version_polled_us >= LYC_JUDGES_VERSION_POLL_MS * 1000LL;
    if (due)
        judges->version_polling = 1;
    pthread_mutex_unlock(&judges->lock);
    if (!due)
        return;
    lyc_redis_t *redis = s_redis(link);
    int ok = redis && lyc_roles_version(redis, judges->prefix, &version) == 0;
    pthread_mutex_lock(&judges->lock);
    judges->version_polling = 0;
    judges->version_polled_us = now;
    if (ok)
        judges->version = version;
    pthread_mutex_unlock(&judges->lock);
}

/* The cached entry of domain, made when missing; NULL out of memory. Call
 * with the lock held. */
static s_domain_t *s_entry(lyc_judges_t *judges, const char *domain)
{
    s_domain_t *entry = zhashx_lookup(judges->domains, domain);
    if (entry)
        return entry;
    if (zhashx_size(judges->domains) >= LYC_JUDGES_MAX_DOMAINS)
        zhashx_purge(judges->domains);
    entry = calloc(1, sizeof *entry);
    if (entry && zhashx_insert(judges->domains, domain, entry) != 0) {
        free(entry);
        entry = NULL;
    }
    return entry;
}

/* 1 when entry should be reloaded now (lock held). */
static int s_stale(const lyc_judges_t *judges, const s_domain_t *entry, int64_t now)
{
    if (entry->refreshing)
        return 0;
    return entry->loaded_us == 0 || entry->version != judges->version ||
           now - entry->loaded_us >= judges->config->judges_refresh_ms * 1000LL;
}

/* Copies domain's entry into *out, reloading it first when stale. Returns 0
 * with out->loaded telling whether it holds a record, -1 out of memory. */
static int s_snapshot(lyc_judges_link_t *link, const char *domain, s_domain_t *out,
                      const char *trace)
{
    lyc_judges_t *judges = link->judges;
    int64_t now = lyc_mono_us();
    s_domain_t fresh = {0};

    pthread_mutex_lock(&judges->lock);
    s_domain_t *entry = s_entry(judges, domain);
    int stale = entry && s_stale(judges, entry, now);
    long long version = judges->version;
    if (stale)
        entry->refreshing = 1;
    if (entry && !stale)
        *out = *entry;
    pthread_mutex_unlock(&judges->lock);
    if (!entry)
        return -1;
    if (!stale)
        return 0;
    int rc = s_load(link, domain, &fresh, trace);
    pthread_mutex_lock(&judges->lock);
    entry = s_entry(judges, domain); /* the cache may have started over meanwhile */
    if (entry) {
        if (rc == 0) {
            entry->choice = fresh.choice;
            entry->state = fresh.state;
            entry->loaded = 1;
        }
        entry->loaded_us = now;
        entry->version = version;
        entry->refreshing = 0;
        *out = *entry;
    }
    pthread_mutex_unlock(&judges->lock);
    return entry ? 0 : -1;
}

void lyc_judges_plan(lyc_judges_link_t *link, const lyc_eval_config_t *config,
                     const Lyceum__V1__EvalRequest *req, lyc_judge_plan_t *plan)
{
    s_domain_t snapshot;

    lyc_judge_plan_supervisor(config, req, plan);
    if (!link || !req->domain || !*req->domain || strlen(req->domain) >= LYC_JUDGE_DOMAIN_MAX)
        return;
    s_poll_version(link);
    if (s_snapshot(link, req->domain, &snapshot, req->trace_id) != 0 || !snapshot.loaded)
        return;
    const char *in_force = lyc_judge_in_force(&snapshot.choice, snapshot.state.delegate);
    lyc_judge_plan_make(config, &snapshot.choice, in_force, snapshot.state.spot_rate, req, plan);
}

/* ---- spot checks ----------------------------------------------------------- */

/* The cached spot rate of plan's domain while plan's delegate is in force;
 * the initial rate otherwise. */
static double s_cached_rate(lyc_judges_t *judges, const lyc_judge_plan_t *plan)
{
    double rate = judges->config->spot_check_initial;
    pthread_mutex_lock(&judges->lock);
    const s_domain_t *entry = zhashx_lookup(judges->domains, plan->domain);
    if (entry && entry->loaded && strcmp(entry->state.delegate, plan->in_force) == 0)
        rate = entry->state.spot_rate;
    pthread_mutex_unlock(&judges->lock);
    return rate;
}

/* Stores the outcome of a spot check in the cache; stale forces a reload. */
static void s_cache_spot(lyc_judges_t *judges, const lyc_judge_plan_t *plan, double rate,
                         double checks, double disagreements, int stale)
{
    pthread_mutex_lock(&judges->lock);
    s_domain_t *entry = zhashx_lookup(judges->domains, plan->domain);
    if (entry && strcmp(entry->state.delegate, plan->in_force) == 0) {
        entry->state.spot_rate = rate;
        entry->state.checks = checks;
        entry->state.disagreements = disagreements;
    }
    if (entry && stale)
        entry->loaded_us = 0;
    pthread_mutex_unlock(&judges->lock);
}

/* Runs the spot-check script; 0 with the counts, 1 when the delegate
 * changed meanwhile, -1 failed. */
static int s_spot_record(lyc_redis_t *redis, const lyc_judges_t *judges,
                         const lyc_judge_plan_t *plan, double rate, int agreed, double *checks,
                         double *disagreements)
{
    char key[512], value[32];
    lyc_judges_key(key, sizeof key, judges->prefix, judges->config->stats_scope, plan->domain);
    snprintf(value, sizeof value, "%.17g", rate);
    const char *argv[] = {"EVAL", s_spot_script,     "1", key, plan->in_force,
                          value,  agreed ? "0" : "1"};
    redisReply *reply = lyc_redis_command(redis, 7, argv, NULL);
    if (!reply)
        return -1;
    int rc = 1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
        *checks = (double) reply->element[0]->integer;
        *disagreements = (double) reply->element[1]->integer;
        rc = 0;
    }
    freeReplyObject(reply);
    return rc;
}

/* Takes judging back from plan's delegate after failed spot checks. */
static void s_revoke(lyc_redis_t *redis, const lyc_judges_t *judges, const lyc_judge_plan_t *plan,
                     double checks, double disagreements, double threshold, const char *trace)
{
    char reason[S_REASON_MAX], field[LYC_JUDGE_NAME_MAX + 16];
    double lower, upper;
    lyc_stats_wilson((checks - disagreements) / checks, checks, LYC_JUDGE_Z, &lower, &upper);
    snprintf(reason, sizeof reason,
             "taken back from %s: it agreed with the supervisor on %.0f of %.0f spot checks "
             "(upper bound %.3f < %.3f)",
             plan->in_force, checks - disagreements, checks, upper, threshold);
    snprintf(field, sizeof field, "revoked|%s", plan->in_force);
    if (s_handover(redis, judges, plan->domain, plan->in_force, "", reason, field,
                   plan->evidence) == 1)
        LYC_INFO(trace, "evaluator: domain %s: judging %s", plan->domain, reason);
}

void lyc_judges_report(lyc_judges_link_t *link, const lyc_judge_plan_t *plan, int agreed,
                       const char *trace)
{
    double checks = 0, disagreements = 0;

    if (!link || !plan->recorded || !plan->spot_check || plan->kind == LYC_JUDGE_BY_SUPERVISOR)
        return;
    lyc_judges_t *judges = link->judges;
    const lyc_eval_config_t *config = judges->config;
    double rate = lyc_spot_rate_next(s_cached_rate(judges, plan), agreed, config->spot_check_floor);
    lyc_redis_t *redis = s_redis(link);
    if (!redis || s_spot_record(redis, judges, plan, rate, agreed, &checks, &disagreements) != 0)
        return;
    LYC_INFO(
        trace, "evaluator: domain %s: spot check of %s: %s (%.0f of %.0f disagreed, rate %.3f)",
        plan->domain, plan->in_force, agreed ? "agreed" : "disagreed", disagreements, checks, rate);
    double threshold = plan->kind == LYC_JUDGE_BY_ENSEMBLE ? config->ensemble_min_agreement
                                                           : config->delegate_min_agreement;
    int revoke = lyc_spot_should_revoke(checks, disagreements, threshold);
    if (revoke)
        s_revoke(redis, judges, plan, checks, disagreements, threshold, trace);
    s_cache_spot(judges, plan, rate, checks, disagreements, revoke);
}
