/*
 * record.h - what a finished query leaves behind: its vector and record in
 * Redis (so the next similar query is familiar), the per-domain statistics,
 * the user's profile, and one feedback event per answer in Kafka.
 *
 * Record fields (hash, see vecstore.h): conversation, question, answer,
 * winner, domain, score, scores (JSON model -> score), cost_usd, user, path,
 * ts_us. The memory student and the exemplar search read these names. A
 * tenant that shares exemplars also lends the winner to the exemplar pool
 * (exemplar_pool.h).
 */
#ifndef LYCEUM_ROUTER_RECORD_H
#define LYCEUM_ROUTER_RECORD_H

#include "decide.h"
#include "fanout.h"

typedef struct {
    const char *trace;
    const char *tenant;
    const char *user;
    const char *conversation;
    const char *question;
    const float *vector;
    int vector_empty;
    const lyc_decision_t *decision;
    int path; /* Lyceum__V1__Path actually taken */
    const lyc_call_t *calls;
    size_t n_calls;
    const Lyceum__V1__Verdict *verdict; /* may be NULL */
    const char *chosen;                 /* model whose answer was returned, or "synthesis" */
    const char *content;                /* the returned answer */
    double cost_usd;                    /* the whole query */
} lyc_query_outcome_t;

/* Writes everything; failures are logged and never fail the query. */
void lyc_record_query(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o);

/* The verdict's score and confidence for model; 0 when it was scored, -1 when not. */
int lyc_verdict_score(const Lyceum__V1__Verdict *v, const char *model, double *score,
                      double *confidence);

#endif
