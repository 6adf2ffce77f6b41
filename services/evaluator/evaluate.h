/*
 * evaluate.h - one EvalRequest in, one Verdict out.
 *
 * Checks the request, grades it in the mode it asks for (or the configured
 * default), chooses the winner and writes the Verdict. Bad input (no answers,
 * too many, an unknown mode) gives a Verdict with ERROR_BAD_REQUEST; a request
 * whose answers all failed gives ERROR_UNAVAILABLE (retryable) and no winner.
 * It never fails on the request's content; only running out of memory does.
 */
#ifndef LYCEUM_EVALUATOR_EVALUATE_H
#define LYCEUM_EVALUATOR_EVALUATE_H

#include "grade.h"

/* How a request reaches its judges. */
typedef struct {
    lyc_judge_call_fn call;    /* NULL: no judge can be reached (judge mode grades by agreement) */
    void *ctx;                 /* call's context */
    lyc_judges_link_t *judges; /* who judges each domain (judges.h); NULL: the supervisor */
} lyc_judging_t;

/* Grades req and returns the Verdict for trace (the request's trace id, or
 * its envelope's when the request has none), which the caller frees with
 * lyc_verdict_destroy(); NULL only when out of memory. judging may be NULL
 * (no judge can be reached, the supervisor is the only judge). Every
 * argument is borrowed. */
Lyceum__V1__Verdict *lyc_evaluate_with(const Lyceum__V1__EvalRequest *req, const char *trace,
                                       const lyc_eval_config_t *config,
                                       const lyc_embedder_t *embedder,
                                       const lyc_judging_t *judging);

/* lyc_evaluate_with() without delegation: the supervisor judges through
 * judge_call (which may be NULL). */
Lyceum__V1__Verdict *lyc_evaluate(const Lyceum__V1__EvalRequest *req, const char *trace,
                                  const lyc_eval_config_t *config, const lyc_embedder_t *embedder,
                                  lyc_judge_call_fn judge_call, void *judge_ctx);

/* A Verdict for trace with only an error set (e.g. "busy"); NULL when out of
 * memory. Free with lyc_verdict_destroy(). */
Lyceum__V1__Verdict *lyc_verdict_error(const char *trace, Lyceum__V1__ErrorCode code,
                                       const char *message, int retryable);

/* Frees a Verdict made here and sets *verdict_p to NULL; accepts NULL. */
void lyc_verdict_destroy(Lyceum__V1__Verdict **verdict_p);

#endif
