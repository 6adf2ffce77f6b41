/*
 * judge_budget.h - every judge call held to the budget of the query's tenant
 * and API key (budget.h), by the evaluator itself.
 *
 * The router checks that one judgement is affordable before it asks for an
 * audit, but the evaluator may make several calls for one request (a strict
 * retry, an ensemble, the supervisor's spot check), and an evaluator may be
 * asked by something other than a router. So each call is wrapped here:
 *
 *   before   the account (tenant settings, key limits) is loaded once per
 *            request, and the call's estimate reserved: the judging model's
 *            prices, the task's prompt bytes and its max_tokens
 *   refused  the call is not made and nothing is charged; the grader falls
 *            back as for an unreachable judge (agreement)
 *   after    the reservation is settled with the Answer's exact cost_usd
 *
 * Judgements that are charged without a call (reference grading,
 * judge_charge.h) are added to the spend once the verdict is known, so the
 * tenant's spend is the verdict's judge_cost_usd either way.
 *
 * Each grading thread owns one lyc_judge_budget_t (its own Redis connection,
 * made on first use and retried at most once a second while Redis is away;
 * while it is away no judge call is made, since nothing could be reserved).
 */
#ifndef LYCEUM_EVALUATOR_JUDGE_BUDGET_H
#define LYCEUM_EVALUATOR_JUDGE_BUDGET_H

#include "budget.h"
#include "eval_config.h"
#include "grade.h"

#include <stdint.h>

/* Completion tokens assumed for a judge call whose task sets no max_tokens. */
#define LYC_JUDGE_BUDGET_DEFAULT_COMPLETION 512
/* A reservation outlives its call's deadline by this much (ms). */
#define LYC_JUDGE_BUDGET_SLACK_MS 30000

typedef struct lyc_judge_budget_t lyc_judge_budget_t;

/* One thread's budget keeper for the Redis at redis_url with key prefix
 * prefix (both copied); connects nothing yet. NULL when out of memory. */
lyc_judge_budget_t *lyc_judge_budget_new(const char *redis_url, const char *prefix,
                                         long timeout_ms);

/* Closes the connection and frees; accepts NULL, nulls the pointer. */
void lyc_judge_budget_destroy(lyc_judge_budget_t **self_p);

/* The spending of one request: wraps the thread's real judge call. */
typedef struct {
    lyc_judge_budget_t *budget; /* NULL: no Redis, calls go straight through */
    const lyc_eval_config_t *config;
    const Lyceum__V1__EvalRequest *request;
    lyc_judge_call_fn call; /* the real call and its context */
    void *call_ctx;
    /* State, zero at start: */
    lyc_budget_account_t account;
    int account_loaded;
    double settled_usd;     /* what made calls cost, already in the spend */
    unsigned refused_calls; /* calls the budget kept from being made */
} lyc_judge_spend_t;

/* A lyc_judge_call_fn (ctx is a lyc_judge_spend_t): reserves, calls,
 * settles. Returns what the real call returns, or 1 with reply->error
 * ("budget: ...") when the call was not made. */
int lyc_judge_spend_call(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply);

/* After the verdict: adds to the spend what judge_cost_usd holds beyond the
 * calls already settled (charged judgements). 0, or -1 (logged). */
int lyc_judge_spend_finish(lyc_judge_spend_t *spend, double judge_cost_usd);

#endif
