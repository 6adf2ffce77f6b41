/*
 * evaluate.h - asking an evaluator to score a query's answers, and the
 * router's own choice when no evaluator answers.
 */
#ifndef LYCEUM_ROUTER_EVALUATE_H
#define LYCEUM_ROUTER_EVALUATE_H

#include "fanout.h"

/* Sends the answers of calls[0..n) for scoring and waits up to the
 * configured time for the verdict. tenant and key_id ("" for none) say whose
 * budget pays for judging. Returns it (lyc_pb_free), or NULL (logged) when
 * no evaluator answered in time. */
Lyceum__V1__Verdict *lyc_evaluate(lyc_query_ctx_t *ctx, const char *trace,
                                  const Lyceum__V1__ClientQuery *query, const char *tenant,
                                  const char *key_id, const char *domain, const lyc_call_t *calls,
                                  size_t n, int audit);

/* Without a verdict: the index of the answer to return (not for learning,
 * the highest role, then the cheapest), or -1 when no call succeeded. */
int lyc_evaluate_fallback(const lyc_call_t *calls, size_t n);

#endif
