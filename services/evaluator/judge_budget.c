/*
 * judge_budget.c - reserve before a judge call, settle after, refuse when a
 * limit is reached.
 */
#define _GNU_SOURCE /* strdup */

#include "judge_budget.h"

#include "clock.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a thread waits before it tries an unreachable Redis again. */
#define S_RECONNECT_US 1000000

struct lyc_judge_budget_t {
    char *redis_url;
    char *prefix;
    long timeout_ms;
    lyc_redis_t *redis;       /* NULL until connected */
    int64_t connect_after_us; /* no new attempt before (monotonic) */
};

lyc_judge_budget_t *lyc_judge_budget_new(const char *redis_url, const char *prefix, long timeout_ms)
{
    lyc_judge_budget_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->redis_url = strdup(redis_url);
    self->prefix = strdup(prefix);
    self->timeout_ms = timeout_ms;
    if (!self->redis_url || !self->prefix)
        lyc_judge_budget_destroy(&self);
    return self;
}

void lyc_judge_budget_destroy(lyc_judge_budget_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_judge_budget_t *self = *self_p;
    lyc_redis_destroy(&self->redis);
    free(self->redis_url);
    free(self->prefix);
    free(self);
    *self_p = NULL;
}

/* The thread's connection, connecting when due; NULL while Redis is away. */
static lyc_redis_t *s_redis(lyc_judge_budget_t *self)
{
    if (self->redis)
        return self->redis;
    int64_t now = lyc_mono_us();
    if (now < self->connect_after_us)
        return NULL;
    self->redis = lyc_redis_new(self->redis_url, (int) self->timeout_ms);
    if (!self->redis)
        self->connect_after_us = now + S_RECONNECT_US;
    return self->redis;
}

/* Bytes of the task's conversation: what the prompt tokens are made of. */
static size_t s_prompt_bytes(const Lyceum__V1__Task *task)
{
    size_t bytes = 0;
    for (size_t i = 0; i < task->n_messages; i++)
        if (task->messages[i]->content)
            bytes += strlen(task->messages[i]->content);
    return bytes;
}

/* The estimate of one call of task->model; 0 for a model without prices. */
static double s_estimate(const lyc_judge_spend_t *spend, const Lyceum__V1__Task *task)
{
    const lyc_eval_model_t *model = lyc_eval_config_model(spend->config, task->model);
    if (!model)
        return 0;
    return lyc_budget_estimate(model->price_in, model->price_out, s_prompt_bytes(task),
                               task->max_tokens, LYC_JUDGE_BUDGET_DEFAULT_COMPLETION);
}

/* Refuses the call: reply->error says why; 1. */
static int s_refuse(lyc_judge_spend_t *spend, lyc_judge_reply_t *reply, const char *why)
{
    spend->refused_calls++;
    snprintf(reply->error, sizeof reply->error, "budget: %s", why);
    return 1;
}

/* Loads the account once per request; 0, or -1 when Redis failed. */
static int s_account(lyc_judge_spend_t *spend, lyc_redis_t *redis)
{
    if (spend->account_loaded)
        return 0;
    const char *tenant = spend->request->tenant;
    if (lyc_budget_account_load(redis, spend->budget->prefix, *tenant ? tenant : "default",
                                spend->request->key_id, &spend->account) != 0)
        return -1;
    spend->account_loaded = 1;
    return 0;
}

int lyc_judge_spend_call(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply)
{
    lyc_judge_spend_t *spend = ctx;
    if (!spend->budget)
        return spend->call(spend->call_ctx, task, reply);

    lyc_redis_t *redis = s_redis(spend->budget);
    if (!redis || s_account(spend, redis) != 0)
        return s_refuse(spend, reply, "the tenant's budget cannot be read (Redis)");
    lyc_budget_resv_t resv = {.account = spend->account};
    lyc_budget_refusal_t why = {.limit = "budget"};
    long ttl_ms = (long) task->deadline_ms + LYC_JUDGE_BUDGET_SLACK_MS;
    int rc = lyc_budget_reserve(redis, spend->budget->prefix, &spend->account,
                                s_estimate(spend, task), ttl_ms, &resv, &why);
    if (rc < 0)
        return s_refuse(spend, reply, "the tenant's budget cannot be reserved (Redis)");
    if (rc > 0) {
        char text[128];
        snprintf(text, sizeof text, "%s limit of %.4f USD reached (spent %.4f, reserved %.4f)",
                 why.limit, why.limit_usd, why.spent, why.reserved);
        LYC_INFO(spend->request->trace_id, "evaluator: tenant %s: judge %s not called: %s",
                 spend->account.tenant, task->model, text);
        return s_refuse(spend, reply, text);
    }

    rc = spend->call(spend->call_ctx, task, reply);
    double cost = isfinite(reply->cost_usd) && reply->cost_usd > 0 ? reply->cost_usd : 0;
    if (lyc_budget_settle(redis, spend->budget->prefix, &resv, cost) != 0)
        LYC_ERROR(spend->request->trace_id,
                  "evaluator: tenant %s: %.10f USD of judging not counted in its spend",
                  spend->account.tenant, cost);
    else
        spend->settled_usd += cost;
    return rc;
}

int lyc_judge_spend_finish(lyc_judge_spend_t *spend, double judge_cost_usd)
{
    double charged = judge_cost_usd - spend->settled_usd;
    if (!spend->budget || !isfinite(charged) || charged <= 1e-12)
        return 0;
    lyc_redis_t *redis = s_redis(spend->budget);
    if (!redis || s_account(spend, redis) != 0 ||
        lyc_budget_charge(redis, spend->budget->prefix, &spend->account, charged) != 0) {
        LYC_ERROR(spend->request->trace_id,
                  "evaluator: tenant %s: %.10f USD of charged judging not counted in its spend",
                  spend->request->tenant, charged);
        return -1;
    }
    return 0;
}
