/*
 * budget.h - spending limits per tenant and per API key, in USD per day and
 * per month (UTC), enforced before a call is made and shared by every
 * process that spends (router replicas, evaluator, trainer).
 *
 * Spend is kept in Redis, so it survives restarts and every replica sees it:
 *
 *   <prefix>:spend:{<tenant>}:day:<YYYYMMDD>            INCRBYFLOAT, USD
 *   <prefix>:spend:{<tenant>}:month:<YYYYMM>
 *   <prefix>:spend:{<tenant>}:key:<id>:day:<YYYYMMDD>   the same per key
 *   <prefix>:spend:{<tenant>}:key:<id>:month:<YYYYMM>
 *   <prefix>:resv:{<tenant>}                            hash: reservation id ->
 *                                                       "<usd>|<key id>|<expiry ms>"
 *   <prefix>:settled:{<tenant>}:<reservation id>        a settled reservation
 *
 * The {<tenant>} hash tag keeps one tenant's keys in one Redis Cluster slot,
 * so each step below is one Lua script, atomic and one round trip.
 *
 * Before a call: lyc_budget_reserve() checks, for every limit that is set,
 * spent + reserved + estimate <= limit, and reserves the estimate; two
 * routers can therefore never both pass the last dollar. After the call:
 * lyc_budget_settle() swaps the reservation for the exact cost (release the
 * estimate, add the actual), once even if the script is sent twice;
 * lyc_budget_release() drops a reservation whose call was not made. A
 * reservation that is never settled (its process died) expires after its
 * time to live and stops counting.
 *
 * Spend counters expire (days after 40 days, months after 400), so old
 * windows clean themselves up.
 */
#ifndef LYCEUM_BUDGET_H
#define LYCEUM_BUDGET_H

#include "apikeys.h"
#include "ids.h"
#include "redis.h"

#include <stddef.h>
#include <time.h>

/* Whom a call is charged to, and the limits that apply (0: no limit). */
typedef struct {
    char tenant[LYC_APIKEY_TENANT_MAX + 1];
    char key_id[LYC_APIKEY_ID_LEN + 1]; /* "" when no key is involved */
    double tenant_day_usd, tenant_month_usd;
    double key_day_usd, key_month_usd;
} lyc_budget_account_t;

/* A reservation; zero-initialise before use. */
typedef struct {
    lyc_budget_account_t account;
    char id[LYC_ID_LEN]; /* reservation id; "" when nothing is held */
    double amount;       /* USD reserved */
} lyc_budget_resv_t;

/* Which limit refused a reservation, with the figures behind it. */
typedef struct {
    const char *limit; /* "tenant_day", "tenant_month", "key_day", "key_month" */
    double spent, reserved, limit_usd;
} lyc_budget_refusal_t;

/* ---- pure functions (no Redis) ------------------------------------------ */

/* Estimated USD of one call: prices in USD per million tokens, prompt
 * tokens ceil(prompt_bytes / 4), completion tokens max_tokens when the
 * client set one, else default_completion. */
double lyc_budget_estimate(double price_in, double price_out, size_t prompt_bytes,
                           unsigned max_tokens, unsigned default_completion);

/* Tokens of prompt_bytes of text: ceil(bytes / 4). */
unsigned lyc_budget_tokens(size_t prompt_bytes);

/* 1 when the account has any limit, else 0 (then nothing needs reserving). */
int lyc_budget_limited(const lyc_budget_account_t *account);

/* 1 when spent + reserved + estimate stays within limit (limit <= 0: no
 * limit), else 0. The rule the reserve script applies. */
int lyc_budget_fits(double spent, double reserved, double estimate, double limit);

/* The four spend counter keys of account at time now, into keys[0..3]
 * (tenant day, tenant month, key day, key month; cap bytes each). Without a
 * key id the key entries repeat the tenant's. */
void lyc_budget_keys(const char *prefix, const lyc_budget_account_t *account, time_t now,
                     char keys[4][256]);

/* Fills *account for tenant and key (NULL: none) from their settings. */
void lyc_budget_account(lyc_budget_account_t *account, const char *tenant,
                        const lyc_tenant_t *settings, const lyc_apikey_info_t *key);

/* ---- Redis --------------------------------------------------------------- */

/* Loads the account of tenant and key id (NULL or "": none) from Redis:
 * what the evaluator and the trainer call before they spend. 0, or -1. */
int lyc_budget_account_load(lyc_redis_t *redis, const char *prefix, const char *tenant,
                            const char *key_id, lyc_budget_account_t *account);

/* Reserves estimate_usd (>= 0) for ttl_ms against every limit of account.
 * Returns 0 with *resv holding the reservation, 1 when a limit refuses
 * (*why filled when not NULL; nothing held), -1 when Redis failed (logged;
 * nothing held: callers must not spend). An account without limits reserves
 * nothing and costs no round trip. */
int lyc_budget_reserve(lyc_redis_t *redis, const char *prefix, const lyc_budget_account_t *account,
                       double estimate_usd, long ttl_ms, lyc_budget_resv_t *resv,
                       lyc_budget_refusal_t *why);

/* Settles *resv with the exact cost actual_usd (>= 0): releases what was
 * reserved and adds actual_usd to the spend of the tenant and of the key.
 * Works on a reservation that holds nothing (an unlimited account), which
 * simply charges. Clears *resv. 0, or -1 (logged). */
int lyc_budget_settle(lyc_redis_t *redis, const char *prefix, lyc_budget_resv_t *resv,
                      double actual_usd);

/* Drops a reservation without spending; accepts an empty one. Clears *resv. */
int lyc_budget_release(lyc_redis_t *redis, const char *prefix, lyc_budget_resv_t *resv);

/* Adds usd to the account's spend without a reservation (a cost learnt
 * after the fact). 0, or -1 (logged). */
int lyc_budget_charge(lyc_redis_t *redis, const char *prefix, const lyc_budget_account_t *account,
                      double usd);

/* Spend of tenant (and key id, "" or NULL: the tenant's) today and this
 * month into *day and *month. 0, or -1. */
int lyc_budget_spent(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *key_id,
                     double *day, double *month);

#endif
