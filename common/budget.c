/*
 * budget.c - reservations and spend counters, one Lua script per step.
 *
 * Reservations of a tenant live in three keys: the hash of reservations
 * (id -> "<usd>|<key id>"), a sorted set of their expiry times, and a hash
 * of running totals ("tenant", "key:<id>"), so a check costs O(log n) and
 * never scans the reservations. Expired reservations are dropped at the
 * start of each reserve; the totals hash is deleted whenever the last
 * reservation goes, so rounding never accumulates.
 */
#include "budget.h"

#include "clock.h"
#include "log.h"
#include "redis_script.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long the spend counters of one window are kept. */
#define S_DAY_TTL_S   (40L * 86400)
#define S_MONTH_TTL_S (400L * 86400)
/* The reservation keys outlive their longest reservation by this much. */
#define S_RESV_SLACK_MS 60000L
/* Expired reservations dropped per reserve (the rest go on the next ones). */
#define S_DROP_BATCH "100"

/* Drops reservation `id`: KEYS[1] hash, KEYS[2] expiry zset, KEYS[3] totals. */
#define S_LUA_DROP                                                                                 \
    "local function drop(id)\n"                                                                    \
    "  local v = redis.call('HGET', KEYS[1], id)\n"                                                \
    "  if v then\n"                                                                                \
    "    local usd, kid = string.match(v, '^([^|]*)|(.*)$')\n"                                     \
    "    redis.call('HINCRBYFLOAT', KEYS[3], 'tenant', '-' .. usd)\n"                              \
    "    if kid ~= '' then redis.call('HINCRBYFLOAT', KEYS[3], 'key:' .. kid, '-' .. usd) end\n"   \
    "    redis.call('HDEL', KEYS[1], id)\n"                                                        \
    "  end\n"                                                                                      \
    "  redis.call('ZREM', KEYS[2], id)\n"                                                          \
    "  if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[3]) end\n"                  \
    "end\n"

/* KEYS[4..7]: spend tenant day, month, key day, month.
 * ARGV: now ms, id, estimate, key id, expiry ms, four limits (0: none),
 * keys' ttl ms. Returns {1} or {0, limit, spent, reserved, limit usd}. */
static lyc_redis_script_t s_reserve_script = LYC_REDIS_SCRIPT(
    S_LUA_DROP
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', "
    "0, " S_DROP_BATCH ")) do drop(id) end\n"
    "local est = tonumber(ARGV[3])\n"
    "local held = tonumber(redis.call('HGET', KEYS[3], 'tenant') or '0')\n"
    "local held_key = 0\n"
    "if ARGV[4] ~= '' then\n"
    "  held_key = tonumber(redis.call('HGET', KEYS[3], 'key:' .. ARGV[4]) or '0')\n"
    "end\n"
    "local names = {'tenant_day', 'tenant_month', 'key_day', 'key_month'}\n"
    "for i = 1, 4 do\n"
    "  local limit = tonumber(ARGV[5 + i])\n"
    "  if limit > 0 then\n"
    "    local spent = tonumber(redis.call('GET', KEYS[3 + i]) or '0')\n"
    "    local reserved = held\n"
    "    if i > 2 then reserved = held_key end\n"
    "    if reserved < 0 then reserved = 0 end\n"
    "    if spent + reserved + est > limit then\n"
    "      return {0, names[i], tostring(spent), tostring(reserved), ARGV[5 + i]}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. '|' .. ARGV[4])\n"
    "redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])\n"
    "redis.call('HINCRBYFLOAT', KEYS[3], 'tenant', ARGV[3])\n"
    "if ARGV[4] ~= '' then redis.call('HINCRBYFLOAT', KEYS[3], 'key:' .. ARGV[4], ARGV[3]) end\n"
    "local ttl = tonumber(ARGV[10])\n"
    "for i = 1, 3 do\n"
    "  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end\n"
    "end\n"
    "return {1}\n");

/* KEYS as s_reserve. ARGV: id ("" none), actual usd, 1 when the key's
 * counters count, day ttl s, month ttl s. */
static lyc_redis_script_t s_settle_script =
    LYC_REDIS_SCRIPT(S_LUA_DROP "if ARGV[1] ~= '' then drop(ARGV[1]) end\n"
                                "if tonumber(ARGV[2]) > 0 then\n"
                                "  local last = 5\n"
                                "  if ARGV[3] == '1' then last = 7 end\n"
                                "  for i = 4, last do\n"
                                "    redis.call('INCRBYFLOAT', KEYS[i], ARGV[2])\n"
                                "    if i % 2 == 0 then redis.call('EXPIRE', KEYS[i], ARGV[4])\n"
                                "    else redis.call('EXPIRE', KEYS[i], ARGV[5]) end\n"
                                "  end\n"
                                "end\n"
                                "return 1\n");

unsigned lyc_budget_tokens(size_t prompt_bytes)
{
    size_t tokens = (prompt_bytes + 3) / 4;
    return tokens > 0xffffffffu ? 0xffffffffu : (unsigned) tokens;
}

double lyc_budget_estimate(double price_in, double price_out, size_t prompt_bytes,
                           unsigned max_tokens, unsigned default_completion)
{
    double completion = max_tokens ? (double) max_tokens : (double) default_completion;
    return ((double) lyc_budget_tokens(prompt_bytes) * price_in + completion * price_out) / 1e6;
}

int lyc_budget_limited(const lyc_budget_account_t *a)
{
    return a->tenant_day_usd > 0 || a->tenant_month_usd > 0 ||
           (*a->key_id && (a->key_day_usd > 0 || a->key_month_usd > 0));
}

int lyc_budget_fits(double spent, double reserved, double estimate, double limit)
{
    return limit <= 0 || spent + reserved + estimate <= limit;
}

void lyc_budget_keys(const char *prefix, const lyc_budget_account_t *a, time_t now,
                     char keys[4][256])
{
    struct tm tm;
    char day[16], month[16];
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    strftime(month, sizeof month, "%Y%m", &tm);
    snprintf(keys[0], 256, "%s:spend:{%s}:day:%s", prefix, a->tenant, day);
    snprintf(keys[1], 256, "%s:spend:{%s}:month:%s", prefix, a->tenant, month);
    if (*a->key_id) {
        snprintf(keys[2], 256, "%s:spend:{%s}:key:%s:day:%s", prefix, a->tenant, a->key_id, day);
        snprintf(keys[3], 256, "%s:spend:{%s}:key:%s:month:%s", prefix, a->tenant, a->key_id,
                 month);
    } else {
        memcpy(keys[2], keys[0], 256);
        memcpy(keys[3], keys[1], 256);
    }
}

void lyc_budget_account(lyc_budget_account_t *a, const char *tenant, const lyc_tenant_t *settings,
                        const lyc_apikey_info_t *key)
{
    memset(a, 0, sizeof *a);
    snprintf(a->tenant, sizeof a->tenant, "%s", tenant);
    if (settings) {
        a->tenant_day_usd = settings->budget_day_usd;
        a->tenant_month_usd = settings->budget_month_usd;
    }
    if (key) {
        snprintf(a->key_id, sizeof a->key_id, "%s", key->id);
        a->key_day_usd = key->budget_day_usd;
        a->key_month_usd = key->budget_month_usd;
    }
}

int lyc_budget_account_load(lyc_redis_t *redis, const char *prefix, const char *tenant,
                            const char *key_id, lyc_budget_account_t *account)
{
    lyc_tenant_t settings;
    lyc_apikey_info_t key;
    int have_key = 0;
    if (lyc_tenant_load(redis, prefix, tenant, &settings) != 0)
        return -1;
    if (key_id && *key_id) {
        have_key = lyc_apikey_get(redis, prefix, key_id, &key);
        if (have_key < 0)
            return -1;
    }
    lyc_budget_account(account, tenant, &settings, have_key == 1 ? &key : NULL);
    return 0;
}

/* The seven KEYS of both scripts. */
static void s_script_keys(const char *prefix, const lyc_budget_account_t *a, char resv[3][256],
                          char spend[4][256], const char *keys[7])
{
    snprintf(resv[0], 256, "%s:resv:{%s}", prefix, a->tenant);
    snprintf(resv[1], 256, "%s:resv:{%s}:exp", prefix, a->tenant);
    snprintf(resv[2], 256, "%s:resv:{%s}:sum", prefix, a->tenant);
    lyc_budget_keys(prefix, a, time(NULL), spend);
    for (int i = 0; i < 3; i++)
        keys[i] = resv[i];
    for (int i = 0; i < 4; i++)
        keys[3 + i] = spend[i];
}

static void s_usd(char *buf, size_t cap, double usd)
{
    snprintf(buf, cap, "%.17g", usd > 0 && isfinite(usd) ? usd : 0.0);
}

/* Reads a refusal {0, limit, spent, reserved, limit usd} into *why. */
static void s_refusal(const redisReply *r, lyc_budget_refusal_t *why)
{
    static const char *names[] = {"tenant_day", "tenant_month", "key_day", "key_month"};
    if (!why)
        return;
    memset(why, 0, sizeof *why);
    why->limit = "budget";
    if (r->elements < 5)
        return;
    for (size_t i = 0; i < 4; i++)
        if (r->element[1]->str && strcmp(r->element[1]->str, names[i]) == 0)
            why->limit = names[i];
    why->spent = r->element[2]->str ? strtod(r->element[2]->str, NULL) : 0;
    why->reserved = r->element[3]->str ? strtod(r->element[3]->str, NULL) : 0;
    why->limit_usd = r->element[4]->str ? strtod(r->element[4]->str, NULL) : 0;
}

int lyc_budget_reserve(lyc_redis_t *redis, const char *prefix, const lyc_budget_account_t *account,
                       double estimate_usd, long ttl_ms, lyc_budget_resv_t *resv,
                       lyc_budget_refusal_t *why)
{
    memset(resv, 0, sizeof *resv);
    resv->account = *account;
    if (!lyc_budget_limited(account))
        return 0;
    char resv_keys[3][256], spend[4][256], now[32], est[40], expiry[32], ttl[32], lim[4][40];
    const char *keys[7];
    s_script_keys(prefix, account, resv_keys, spend, keys);
    int64_t now_ms = lyc_wall_us() / 1000;
    snprintf(now, sizeof now, "%lld", (long long) now_ms);
    snprintf(expiry, sizeof expiry, "%lld", (long long) (now_ms + ttl_ms));
    snprintf(ttl, sizeof ttl, "%ld", ttl_ms + S_RESV_SLACK_MS);
    s_usd(est, sizeof est, estimate_usd);
    s_usd(lim[0], sizeof lim[0], account->tenant_day_usd);
    s_usd(lim[1], sizeof lim[1], account->tenant_month_usd);
    s_usd(lim[2], sizeof lim[2], *account->key_id ? account->key_day_usd : 0);
    s_usd(lim[3], sizeof lim[3], *account->key_id ? account->key_month_usd : 0);
    lyc_id_new(resv->id);
    const char *args[] = {now,    resv->id, est,    account->key_id, expiry,
                          lim[0], lim[1],   lim[2], lim[3],          ttl};
    redisReply *r = lyc_redis_script_run(redis, &s_reserve_script, 7, keys, 10, args);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER) {
        rc = r->element[0]->integer == 1 ? 0 : 1;
        if (rc == 1)
            s_refusal(r, why);
    }
    if (r)
        freeReplyObject(r);
    if (rc == 0)
        resv->amount = estimate_usd;
    else
        resv->id[0] = '\0';
    return rc;
}

/* Runs the settle script: drops reservation id (may be "") and charges usd. */
static int s_settle(lyc_redis_t *redis, const char *prefix, const lyc_budget_account_t *account,
                    const char *id, double usd)
{
    if (!*id && !(usd > 0))
        return 0;
    char resv_keys[3][256], spend[4][256], amount[40], day[24], month[24];
    const char *keys[7];
    s_script_keys(prefix, account, resv_keys, spend, keys);
    s_usd(amount, sizeof amount, usd);
    snprintf(day, sizeof day, "%ld", S_DAY_TTL_S);
    snprintf(month, sizeof month, "%ld", S_MONTH_TTL_S);
    const char *args[] = {id, amount, *account->key_id ? "1" : "0", day, month};
    redisReply *r = lyc_redis_script_run(redis, &s_settle_script, 7, keys, 5, args);
    if (!r) {
        LYC_ERROR(NULL, "budget: could not charge %.10f USD to tenant %s", usd, account->tenant);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

int lyc_budget_settle(lyc_redis_t *redis, const char *prefix, lyc_budget_resv_t *resv,
                      double actual_usd)
{
    int rc = s_settle(redis, prefix, &resv->account, resv->id, actual_usd);
    resv->id[0] = '\0';
    resv->amount = 0;
    return rc;
}

int lyc_budget_release(lyc_redis_t *redis, const char *prefix, lyc_budget_resv_t *resv)
{
    return lyc_budget_settle(redis, prefix, resv, 0);
}

int lyc_budget_charge(lyc_redis_t *redis, const char *prefix, const lyc_budget_account_t *account,
                      double usd)
{
    return s_settle(redis, prefix, account, "", usd);
}

/* GET of a spend counter into *usd (0 when absent). */
static int s_get_usd(lyc_redis_t *redis, const char *key, double *usd)
{
    const char *argv[] = {"GET", key};
    redisReply *r = lyc_redis_command(redis, 2, argv, NULL);
    if (!r)
        return -1;
    *usd = r->type == REDIS_REPLY_STRING ? strtod(r->str, NULL) : 0;
    freeReplyObject(r);
    return 0;
}

int lyc_budget_spent(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *key_id,
                     double *day, double *month)
{
    lyc_budget_account_t a;
    char keys[4][256];
    memset(&a, 0, sizeof a);
    snprintf(a.tenant, sizeof a.tenant, "%s", tenant);
    snprintf(a.key_id, sizeof a.key_id, "%s", key_id ? key_id : "");
    lyc_budget_keys(prefix, &a, time(NULL), keys);
    int k = *a.key_id ? 2 : 0;
    if (s_get_usd(redis, keys[k], day) != 0 || s_get_usd(redis, keys[k + 1], month) != 0)
        return -1;
    return 0;
}
