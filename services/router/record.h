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
 *
 * A query's outcome is copied into a lyc_query_record_t before its reply goes
 * out; the router's recorder (recorder.h) writes it afterwards, with other
 * records of the same moment: every Redis write of a batch (records,
 * vectors, statistics, profiles) travels in one pipelined round trip; then
 * the answers' cost of accounts without limits is added to their spend, one
 * charge per account and batch (spend.h); then the feedback events go to
 * the event log.
 */
#ifndef LYCEUM_ROUTER_RECORD_H
#define LYCEUM_ROUTER_RECORD_H

#include "budget.h"
#include "decide.h"
#include "fanout.h"
#include "stats_cache.h"

#include <stdint.h>

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
    const lyc_budget_account_t *payer;  /* who pays charge_usd; NULL: nothing to charge */
    double charge_usd;                  /* answers' cost still to add to the payer's spend */
} lyc_query_outcome_t;

/* A query's record, owned: everything its writes need, copied out of the query. */
typedef struct lyc_query_record_t lyc_query_record_t;

/* Records the query: copies the outcome and hands it to the router's
 * recorder, or writes it now when there is none or its queue is full.
 * Failures are logged and never fail the query. */
void lyc_record_query(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o);

/* Copies an outcome into a new record (ctx: the query's thread, for its
 * statistics scope and exemplar sharing). NULL (logged) when out of memory. */
lyc_query_record_t *lyc_record_new(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o);

/* Frees a record; accepts NULL, nulls *self_p. */
void lyc_record_destroy(lyc_query_record_t **self_p);

/* Writes records[0..n): every Redis write in one pipeline on redis (store
 * or redis NULL: Redis is away, logged), followed by the caller's n_extra
 * commands, whose replies go to extra_replies (the caller frees them; NULL
 * each when the pipeline failed); then the charges of the answers' cost;
 * then the exemplar pool's copies, through store and redis; then the
 * feedback events. Failures are logged. */
void lyc_record_write(lyc_router_t *router, lyc_vecstore_t *store, lyc_redis_t *redis,
                      lyc_query_record_t *const *records, size_t n, const lyc_redis_cmd_t *extra,
                      size_t n_extra, redisReply **extra_replies);

/* The record's tenant and trace id. */
const char *lyc_record_tenant(const lyc_query_record_t *self);
const char *lyc_record_trace(const lyc_query_record_t *self);

/* Cosine of the record's stored vector with vector (dim floats of norm
 * norm > 0); -2 when the record stores no vector. */
double lyc_record_cosine(const lyc_query_record_t *self, const float *vector, size_t dim,
                         double norm);

/* Applies the record's statistics changes to cache (NULL: none) before
 * they are written; inline_write: the caller writes the record itself. */
void lyc_record_stats_apply(lyc_query_record_t *self, lyc_stats_cache_t *cache, int inline_write);

/* The record was written (or failed): its changes are no longer on their way. */
void lyc_record_stats_done(lyc_query_record_t *self, lyc_stats_cache_t *cache);

/* The verdict's score and confidence for model; 0 when it was scored, -1 when not. */
int lyc_verdict_score(const Lyceum__V1__Verdict *v, const char *model, double *score,
                      double *confidence);

#endif
