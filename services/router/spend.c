/*
 * spend.c - reservations around the calls of one query.
 */
#include "spend.h"

#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Tenant settings remembered by the router (every query thread), and for how long. */
#define S_TENANT_SLOTS 64
#define S_TENANT_US    1000000
/* Reservations outlive the calls' deadlines by this much. */
#define S_RESV_SLACK_MS 30000

typedef struct {
    char name[LYC_APIKEY_TENANT_MAX + 1];
    lyc_tenant_t settings;
    int64_t until_us;
} s_tenant_cached_t;

static pthread_mutex_t s_tenants_lock = PTHREAD_MUTEX_INITIALIZER;
static s_tenant_cached_t s_tenants[S_TENANT_SLOTS];
static unsigned s_tenants_next;

static int s_tenant_cached(const char *tenant, int64_t now, lyc_tenant_t *out)
{
    int found = 0;
    pthread_mutex_lock(&s_tenants_lock);
    for (int i = 0; i < S_TENANT_SLOTS && !found; i++) {
        if (s_tenants[i].until_us > now && strcmp(s_tenants[i].name, tenant) == 0) {
            *out = s_tenants[i].settings;
            found = 1;
        }
    }
    pthread_mutex_unlock(&s_tenants_lock);
    return found;
}

static int s_tenant(lyc_query_ctx_t *ctx, const char *tenant, lyc_tenant_t *out)
{
    int64_t now = lyc_mono_us();
    if (s_tenant_cached(tenant, now, out))
        return 0;
    if (lyc_tenant_load(ctx->redis, ctx->router->settings.redis_prefix, tenant, out) != 0)
        return -1;
    pthread_mutex_lock(&s_tenants_lock);
    s_tenant_cached_t *slot = NULL;
    for (int i = 0; i < S_TENANT_SLOTS && !slot; i++)
        if (strcmp(s_tenants[i].name, tenant) == 0)
            slot = &s_tenants[i];
    if (!slot)
        slot = &s_tenants[s_tenants_next++ % S_TENANT_SLOTS];
    snprintf(slot->name, sizeof slot->name, "%s", tenant);
    slot->settings = *out;
    slot->until_us = now + S_TENANT_US;
    pthread_mutex_unlock(&s_tenants_lock);
    return 0;
}

int lyc_spend_begin(lyc_spend_t *self, lyc_query_ctx_t *ctx, const char *tenant,
                    const lyc_apikey_info_t *key)
{
    memset(self, 0, sizeof *self);
    if (s_tenant(ctx, tenant, &self->tenant) != 0)
        return -1;
    lyc_budget_account(&self->account, tenant, &self->tenant, key);
    self->answers.account = self->more.account = self->account;
    return 0;
}

static const lyc_model_info_t *s_model(const lyc_spend_query_t *q, const char *name)
{
    for (size_t i = 0; i < q->n_models; i++)
        if (strcmp(q->models[i].name, name) == 0)
            return &q->models[i];
    return NULL;
}

static double s_call_estimate(lyc_query_ctx_t *ctx, const lyc_spend_query_t *q, const char *model)
{
    const lyc_model_info_t *m = s_model(q, model);
    if (!m)
        return 0;
    return lyc_budget_estimate(m->price_in, m->price_out, q->prompt_bytes, q->max_tokens,
                               (unsigned) ctx->router->config.budget_default_completion_tokens);
}

static double s_calls_estimate(lyc_query_ctx_t *ctx, const lyc_spend_query_t *q,
                               const lyc_call_t *calls, size_t first, size_t n, long *ttl_ms)
{
    double total = 0;
    *ttl_ms = 0;
    for (size_t i = first; i < n; i++) {
        total += s_call_estimate(ctx, q, calls[i].model);
        if (calls[i].timeout_ms > *ttl_ms)
            *ttl_ms = calls[i].timeout_ms;
    }
    *ttl_ms += S_RESV_SLACK_MS;
    return total;
}

/* Reserves for calls[first..n): 0 held, 1 refused, -1 failed. */
static int s_reserve(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q,
                     const lyc_call_t *calls, size_t first, size_t n, lyc_budget_resv_t *resv,
                     lyc_budget_refusal_t *why)
{
    long ttl_ms;
    double estimate = s_calls_estimate(ctx, q, calls, first, n, &ttl_ms);
    return lyc_budget_reserve(ctx->redis, ctx->router->settings.redis_prefix, &self->account,
                              estimate, ttl_ms, resv, why);
}

/* The one call to keep when the budget cannot cover the plan: the familiar
 * choice when it is planned, else the cheapest live model that can answer
 * anything (the memory student only repeats). -1 when there is none. */
static int s_cheapest(lyc_query_ctx_t *ctx, const lyc_spend_query_t *q, const char *familiar,
                      const lyc_call_t *calls, size_t n)
{
    int best = -1;
    double best_cost = 0;
    for (size_t i = 0; i < n; i++) {
        const lyc_model_info_t *m = s_model(q, calls[i].model);
        if (familiar && *familiar && strcmp(calls[i].model, familiar) == 0)
            return (int) i;
        if (!m || strcmp(m->backend, "memory") == 0)
            continue;
        double cost = s_call_estimate(ctx, q, calls[i].model);
        if (best < 0 || cost < best_cost) {
            best = (int) i;
            best_cost = cost;
        }
    }
    return best;
}

static void s_describe(const lyc_budget_refusal_t *why, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "the %s budget of %.6g USD is reached (spent %.6g USD, %.6g USD held by calls under "
             "way); raise it with `lyceum keys tenant` or wait for the next %s",
             why->limit, why->limit_usd, why->spent, why->reserved,
             strstr(why->limit, "month") ? "month" : "day");
}

int lyc_spend_plan(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q, int pinned,
                   const char *familiar_choice, lyc_call_t *calls, size_t *n, char *why, size_t cap)
{
    lyc_budget_refusal_t refusal = {.limit = "budget"};
    int rc = s_reserve(self, ctx, q, calls, 0, *n, &self->answers, &refusal);
    if (rc <= 0) {
        if (rc < 0)
            snprintf(why, cap, "the budget cannot be checked right now; retry");
        return rc;
    }
    s_describe(&refusal, why, cap);
    int keep = pinned || !self->tenant.on_budget_cheapest
                   ? -1
                   : s_cheapest(ctx, q, familiar_choice, calls, *n);
    if (keep < 0)
        return 1;
    rc = s_reserve(self, ctx, q, calls, (size_t) keep, (size_t) keep + 1, &self->answers, &refusal);
    if (rc != 0) {
        if (rc == 1)
            s_describe(&refusal, why, cap);
        return rc;
    }
    if (keep > 0)
        calls[0] = calls[keep];
    calls[0].for_learning = 0;
    *n = 1;
    self->cut = 1;
    LYC_INFO(NULL, "router: tenant %s near its budget; only %s answers", self->account.tenant,
             calls[0].model);
    return 0;
}

void lyc_spend_more(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q,
                    const lyc_call_t *calls, size_t first, size_t *n)
{
    lyc_budget_refusal_t refusal;
    if (self->cut || s_reserve(self, ctx, q, calls, first, *n, &self->more, &refusal) != 0) {
        LYC_INFO(NULL, "router: tenant %s: the budget does not cover asking %zu more models",
                 self->account.tenant, *n - first);
        *n = first;
    }
}

void lyc_spend_answers(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_call_t *calls, size_t n)
{
    double actual = 0;
    for (size_t i = 0; i < n; i++)
        if (calls[i].answer)
            actual += calls[i].answer->cost_usd;
    /* Nothing is held and no limit reads the spend: charged after the reply. */
    if (!lyc_budget_limited(&self->account) && !self->answers.id[0] && !self->more.id[0]) {
        self->unsettled += actual;
        return;
    }
    const char *prefix = ctx->router->settings.redis_prefix;
    if (lyc_budget_settle(ctx->redis, prefix, &self->answers, actual) != 0 ||
        lyc_budget_release(ctx->redis, prefix, &self->more) != 0)
        LYC_ERROR(NULL, "router: tenant %s: %.10f USD of answers not counted in its spend",
                  self->account.tenant, actual);
}

/* Estimated USD of one judgement of the answers by the dearest live model. */
static double s_judge_estimate(const lyc_spend_query_t *q, const lyc_call_t *calls, size_t n)
{
    size_t bytes = q->prompt_bytes;
    for (size_t i = 0; i < n; i++)
        if (lyc_call_ok(&calls[i]) && calls[i].answer->content)
            bytes += strlen(calls[i].answer->content);
    double best = 0;
    for (size_t i = 0; i < q->n_models; i++) {
        const lyc_model_info_t *m = &q->models[i];
        double cost = lyc_budget_estimate(m->price_in, m->price_out, bytes, 0,
                                          LYC_SPEND_JUDGE_COMPLETION_TOKENS);
        if (m->replicas > 0 && cost > best)
            best = cost;
    }
    return best;
}

int lyc_spend_judge(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q,
                    const lyc_call_t *calls, size_t n)
{
    if (self->cut) {
        self->unjudged = 1;
        return 0;
    }
    lyc_budget_refusal_t refusal;
    long ttl_ms = ctx->router->config.eval_timeout_ms + S_RESV_SLACK_MS;
    const char *prefix = ctx->router->settings.redis_prefix;
    lyc_budget_resv_t check = {.account = self->account};
    int rc = lyc_budget_reserve(ctx->redis, prefix, &self->account, s_judge_estimate(q, calls, n),
                                ttl_ms, &check, &refusal);
    if (rc == 0 && lyc_budget_release(ctx->redis, prefix, &check) != 0)
        LYC_WARN(NULL, "router: a judging check of tenant %s is left to expire",
                 self->account.tenant);
    if (rc != 0) {
        LYC_INFO(NULL, "router: tenant %s: judging is not affordable; the answers go unjudged",
                 self->account.tenant);
        self->unjudged = 1;
    }
    return rc == 0;
}

double lyc_spend_take_unsettled(lyc_spend_t *self)
{
    double usd = self->unsettled;
    self->unsettled = 0;
    return usd;
}

void lyc_spend_end(lyc_spend_t *self, lyc_query_ctx_t *ctx)
{
    const char *prefix = ctx->router->settings.redis_prefix;
    if (self->unsettled > 0 &&
        lyc_budget_charge(ctx->redis, prefix, &self->account, self->unsettled) != 0)
        LYC_ERROR(NULL, "router: tenant %s: %.10f USD of answers not counted in its spend",
                  self->account.tenant, self->unsettled);
    self->unsettled = 0;
    lyc_budget_resv_t *held[] = {&self->answers, &self->more};
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++)
        if (held[i]->id[0] && lyc_budget_release(ctx->redis, prefix, held[i]) != 0)
            LYC_WARN(NULL, "router: a reservation of tenant %s is left to expire",
                     self->account.tenant);
}

const char *lyc_spend_stats_scope(const lyc_spend_t *self)
{
    return self->tenant.share_stats ? "shared" : self->account.tenant;
}
