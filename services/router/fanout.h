/*
 * fanout.h - sending one query to several models at once and collecting
 * their answers.
 *
 * Every call ends with an Answer: the model's, or an error one (the broker
 * answers for unavailable models and past deadlines; a broker that says
 * nothing at all is covered by this side's own time-out). A failed model is
 * left out of the query, never fatal to it.
 */
#ifndef LYCEUM_ROUTER_FANOUT_H
#define LYCEUM_ROUTER_FANOUT_H

#include "registry.h"
#include "router.h"

/* One model call of a query. */
typedef struct {
    char model[LYC_MODEL_NAME_MAX];
    int role;                   /* the model's role, for the fallback choice */
    int for_learning;           /* scored, never returned */
    long timeout_ms;            /* the model's deadline */
    Lyceum__V1__Answer *answer; /* owned (lyc_pb_free); NULL until answered */
} lyc_call_t;

/* 1 when the call produced an answer (no error, not an abstention). */
int lyc_call_ok(const lyc_call_t *call);

/* Sends calls[first..n) as tasks and waits for all their answers. The
 * exemplars of students are fetched by their workers. Returns 0. */
int lyc_fanout_run(lyc_query_ctx_t *ctx, const char *trace, const Lyceum__V1__ClientQuery *query,
                   const char *tenant, const char *domain, lyc_call_t *calls, size_t first,
                   size_t n);

/* Frees the answers of calls[0..n). */
void lyc_calls_clear(lyc_call_t *calls, size_t n);

#endif
