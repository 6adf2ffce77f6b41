/*
 * spend.h - the budget of one query (budget.h), step by step in the
 * pipeline: every call that costs money is reserved before it is made and
 * settled to its exact cost after.
 *
 *   lyc_spend_begin     the tenant's settings (cached by the router for 1 s)
 *                       and the account: tenant limits and the key's
 *   lyc_spend_plan      before the fan-out: reserves every planned call
 *                       (answers, exploration, learning samples). When the
 *                       budget cannot cover them all, on_budget decides:
 *                       "cheapest" keeps one model (the familiar choice,
 *                       else the cheapest live model) if its estimate
 *                       fits, "refuse" refuses (429 budget_exceeded)
 *   lyc_spend_more      the same for the calls of a fallback to novel; a
 *                       refusal drops them
 *   lyc_spend_answers   settles the calls with their answers' cost_usd; for
 *                       an account without limits, whose spend nothing
 *                       checks, the charge goes with the query's record
 *                       (lyc_spend_take_unsettled), after the reply
 *   lyc_spend_judge     before the evaluator is asked to judge: checks one
 *                       judgement by the dearest live model fits (reserved
 *                       and released at once); when it does not, the query
 *                       is not audited. The evaluator itself reserves and
 *                       settles every judge call it makes (judge_budget.h),
 *                       so judging is charged there, once
 *   lyc_spend_end       releases whatever is still held (early returns)
 *
 * Estimates: prices x (prompt bytes / 4 + max_tokens, or
 * router.budget_default_completion_tokens). A call may cost more than its
 * estimate (a longer answer, exemplars in the prompt); the next check then
 * sees the real spend, so no call starts once the limit is reached.
 */
#ifndef LYCEUM_ROUTER_SPEND_H
#define LYCEUM_ROUTER_SPEND_H

#include "budget.h"
#include "fanout.h"
#include "registry.h"
#include "router.h"

/* Completion tokens a judgement is estimated at (a short JSON verdict, as
 * the evaluator charges in reference mode: judge_charge.h). */
#define LYC_SPEND_JUDGE_COMPLETION_TOKENS 20

typedef struct {
    lyc_tenant_t tenant;          /* the tenant's settings */
    lyc_budget_account_t account; /* who pays, and the limits */
    lyc_budget_resv_t answers;    /* the planned calls */
    lyc_budget_resv_t more;       /* the fallback's calls */
    int cut;                      /* the plan was cut to one model by the budget */
    int unjudged;                 /* judging was not affordable */
    double unsettled;             /* answers' USD not yet charged (account without limits) */
} lyc_spend_t;

/* The models of a query and its prompt, for estimates. */
typedef struct {
    const lyc_model_info_t *models;
    size_t n_models;
    size_t prompt_bytes; /* bytes of the conversation */
    unsigned max_tokens; /* the client's limit, 0 for none */
} lyc_spend_query_t;

/* Loads the tenant's settings and fills the account for tenant and key
 * (NULL: a request without key). 0, or -1 when Redis failed (logged). */
int lyc_spend_begin(lyc_spend_t *self, lyc_query_ctx_t *ctx, const char *tenant,
                    const lyc_apikey_info_t *key);

/* Reserves calls[0..*n); may cut them to one (self->cut). pinned: the
 * client named the model, which is never swapped for another. 0 go on, 1
 * refused (message in why), -1 Redis failed (message in why). */
int lyc_spend_plan(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q, int pinned,
                   const char *familiar_choice, lyc_call_t *calls, size_t *n, char *why,
                   size_t cap);

/* Reserves calls[first..*n); when refused, *n becomes first. */
void lyc_spend_more(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q,
                    const lyc_call_t *calls, size_t first, size_t *n);

/* Settles the calls' reservations with the cost of calls[0..n). */
void lyc_spend_answers(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_call_t *calls, size_t n);

/* Whether one judgement of the answers of calls[0..n) fits the budget now:
 * 1 affordable (or no limit), 0 not (self->unjudged set). Holds nothing. */
int lyc_spend_judge(lyc_spend_t *self, lyc_query_ctx_t *ctx, const lyc_spend_query_t *q,
                    const lyc_call_t *calls, size_t n);

/* The answers' cost not yet charged (0 when it was: an account with
 * limits is charged by lyc_spend_answers); the caller charges it instead
 * (the query's record does, after the reply). */
double lyc_spend_take_unsettled(lyc_spend_t *self);

/* Releases every reservation still held and charges what is unsettled. */
void lyc_spend_end(lyc_spend_t *self, lyc_query_ctx_t *ctx);

/* The statistics scope of the query: "shared", or the tenant's own name
 * when the tenant does not share statistics. */
const char *lyc_spend_stats_scope(const lyc_spend_t *self);

#endif
