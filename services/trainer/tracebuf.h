/*
 * tracebuf.h - feedback events held per query (trace) until the query's
 * events are all in.
 *
 * The router writes one event per answer of a query, together and with the
 * domain as Kafka key, so they arrive one after another in one partition.
 * Paired statistics need the supervisor's event next to the others, so the
 * trainer holds a query's events until none arrived for a quiet time, or
 * until a query has max_events, and applies them as a group. The buffer is
 * bounded: past max_traces the oldest query is released early (its late
 * events still pair, through Redis; see apply.h).
 */
#ifndef LYCEUM_TRAINER_TRACEBUF_H
#define LYCEUM_TRAINER_TRACEBUF_H

#include "feedback.h"

#include <stddef.h>
#include <stdint.h>

/* One query's events, in arrival order. Owned by whoever took it. */
typedef struct {
    char *trace_id;
    lyc_feedback_t **events;
    size_t count;
    size_t cap;
    int64_t last_us; /* when the latest event arrived (monotonic) */
    size_t done;     /* events already handled (a retry after a failure resumes here) */
} lyc_trace_group_t;

typedef struct lyc_tracebuf_t lyc_tracebuf_t;

/* A buffer releasing a query after quiet_us without events or at
 * max_events, and the oldest early beyond max_traces. NULL when out of memory. */
lyc_tracebuf_t *lyc_tracebuf_new(int64_t quiet_us, size_t max_events, size_t max_traces);

/* Frees the buffer and every event still in it. Accepts NULL; nulls *self_p. */
void lyc_tracebuf_destroy(lyc_tracebuf_t **self_p);

/* Adds the event to its query's group at time now_us (monotonic). Takes
 * *ev_p and nulls it on success; returns 0, or -1 (out of memory) leaving
 * it with the caller. */
int lyc_tracebuf_add(lyc_tracebuf_t *self, lyc_feedback_t **ev_p, int64_t now_us);

/* The next group ready at now_us (quiet, full, or over the bound), or any
 * group when force is set; NULL when none is ready. The caller owns it and
 * frees it with lyc_trace_group_destroy(). Groups come out oldest first. */
lyc_trace_group_t *lyc_tracebuf_take(lyc_tracebuf_t *self, int64_t now_us, int force);

/* Queries held now. */
size_t lyc_tracebuf_count(const lyc_tracebuf_t *self);

/* Frees a group and its events; accepts NULL, nulls *group_p. */
void lyc_trace_group_destroy(lyc_trace_group_t **group_p);

#endif
