/*
 * recorder.h - the router's recorder: each query's record is written after
 * its reply has gone out.
 *
 * A query thread copies its outcome into a record (record.h) and queues it;
 * the recorder thread takes whatever is queued (up to a batch) and writes
 * it: every Redis write of the batch in one pipelined round trip, then the
 * feedback events. Under load batches grow, so the writes cost fewer round
 * trips per query; the reply never waits for them.
 *
 * Nothing is dropped: the queue is bounded (router.record_queue); when it is
 * full, the query thread writes its own record before replying, as the
 * router did before it had a recorder (record_queue 0 always does). On
 * shutdown the recorder writes everything queued before it stops.
 *
 * The router still reads its own writes:
 *  - statistics: the recorder owns the statistics cache (stats_cache.h), to
 *    which every queued record's changes are applied at once;
 *  - repeats: a query first waits for a queued record of its tenant whose
 *    vector is a near-duplicate of its own (lyc_recorder_await_twin), so a
 *    question asked again right after its answer still finds its twin;
 *  - feedback on an answer whose record is queued waits for it
 *    (lyc_recorder_await_trace).
 * User profiles, the exemplars workers read and the event log lag by the
 * time the recorder takes (well under a millisecond to a few ms).
 *
 * One recorder per router process, shared by both front doors: each holds
 * it while it serves (lyc_recorder_hold / lyc_recorder_release), and the
 * last release drains and frees it.
 */
#ifndef LYCEUM_ROUTER_RECORDER_H
#define LYCEUM_ROUTER_RECORDER_H

#include "record.h"
#include "router.h"
#include "stats_cache.h"

/* Records written per pipeline at most. */
#define LYC_RECORDER_BATCH 32

/* Makes router->recorder on the first hold and starts its thread. Call
 * before the caller's threads start. 0, or -1 (logged). */
int lyc_recorder_hold(lyc_router_t *router);

/* Drops a hold; the last one writes everything queued, stops the thread and
 * frees the recorder (router->recorder becomes NULL). Call after the
 * caller's threads have stopped. */
void lyc_recorder_release(lyc_router_t *router);

/* Queues *record_p and takes it (*record_p becomes NULL): 0. -1 when the
 * queue is full or the recorder is stopping: the caller keeps the record
 * and writes it itself. */
int lyc_recorder_submit(lyc_recorder_t *self, lyc_query_record_t **record_p);

/* The statistics cache the recorder keeps in step with its writes. */
lyc_stats_cache_t *lyc_recorder_stats(lyc_recorder_t *self);

/* Waits (at most twice redis.timeout_ms) until no queued record of tenant
 * has a vector whose cosine with vector (dim floats) is min_cosine or more.
 * Returns at once when there is none. self may be NULL. */
void lyc_recorder_await_twin(lyc_recorder_t *self, const char *tenant, const float *vector,
                             size_t dim, double min_cosine);

/* Waits (bounded as above) until the record of trace, if queued, is written. */
void lyc_recorder_await_trace(lyc_recorder_t *self, const char *tenant, const char *trace);

#endif
