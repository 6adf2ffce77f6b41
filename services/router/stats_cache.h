/*
 * stats_cache.h - the router's view of each domain's statistics (stats.h),
 * shared by its query threads and kept in step with its own writes.
 *
 * Deciding a query reads its domain's statistics. Reading Redis for every
 * query costs a round trip, so the cache keeps each (scope, domain) for
 * router.stats_cache_ms: what other routers and the trainer write shows
 * within that time. This router's own changes are applied to the cached
 * view when a query is recorded, before its reply goes out, so the next
 * query sees them at once, even while the recorder (recorder.h) is still
 * writing them to Redis.
 *
 * How the view stays exact: an entry is `base` (the hash as last read)
 * plus `pending` (this router's changes since, not known to be in base). A
 * reload replaces base and drops from pending exactly what it includes:
 *  - a query thread reloads only when none of the entry's changes is on its
 *    way (queued, being written, written inline), and keeps what it read
 *    only if no change was applied meanwhile: base then holds them all and
 *    pending becomes empty;
 *  - the recorder reloads in the pipeline of a batch, after its writes, when
 *    the batch holds every queued record and no inline write of the entry
 *    is under way: base then holds exactly the changes applied before the
 *    batch was taken, which it subtracts from pending.
 * A stale entry whose changes are on their way is served as it is and
 * marked, and the recorder's next batch reloads it.
 *
 * Thread-safe (one mutex); bounded (LYC_STATS_CACHE_SLOTS entries, least
 * recently used first out, never one with changes on their way).
 */
#ifndef LYCEUM_ROUTER_STATS_CACHE_H
#define LYCEUM_ROUTER_STATS_CACHE_H

#include "redis.h"
#include "stats.h"

#include <stddef.h>
#include <stdint.h>

#define LYC_STATS_CACHE_SLOTS 256

/* One scored answer's change to its domain's statistics. */
typedef struct {
    char model[LYC_STATS_MODEL_MAX];
    double score, cost, latency_ms;
} lyc_stats_delta_t;

typedef struct lyc_stats_cache_t lyc_stats_cache_t;
typedef struct lyc_stats_entry_t lyc_stats_entry_t;

/* A reload the recorder sends with a batch (lyc_stats_cache_plan). */
typedef struct {
    lyc_stats_entry_t *entry;
    char key[512];              /* the hash to HGETALL */
    lyc_model_stats_t *carried; /* pending when planned (owned) */
    size_t n_carried;
    uint64_t inline_gen; /* inline writes begun when planned */
} lyc_stats_reload_t;

/* An empty cache keeping entries for ttl_ms (0: every read goes to Redis
 * unless this router's own changes are on their way). NULL when out of memory. */
lyc_stats_cache_t *lyc_stats_cache_new(long ttl_ms);

/* Frees the cache; accepts NULL, nulls *self_p. No thread may use it any more. */
void lyc_stats_cache_destroy(lyc_stats_cache_t **self_p);

/* The domain's statistics in scope, as lyc_stats_load: into *out (caller
 * frees with free()) and *count. From the cache when fresh, else read with
 * redis (the calling thread's connection). 0, or -1 when Redis failed and
 * nothing was cached. */
int lyc_stats_cache_get(lyc_stats_cache_t *self, lyc_redis_t *redis, const char *prefix,
                        const char *scope, const char *domain, lyc_model_stats_t **out,
                        size_t *count);

/* Applies the n changes of one record to the view of (scope, domain), before
 * they are written. inline_write: the caller writes them itself, now (else
 * the recorder will). Returns the entry to pass to lyc_stats_cache_done once
 * they are written (or failed), or NULL when nothing is tracked (n == 0, or
 * every slot busy). */
lyc_stats_entry_t *lyc_stats_cache_apply(lyc_stats_cache_t *self, const char *scope,
                                         const char *domain, const lyc_stats_delta_t *deltas,
                                         size_t n, int inline_write);

/* The changes applied with entry (NULL: nothing) have been written or have
 * failed: they are no longer on their way. */
void lyc_stats_cache_done(lyc_stats_cache_t *self, lyc_stats_entry_t *entry, int inline_write);

/* Recorder: the reloads to send after the writes of a batch, into out[0..max);
 * returns how many. all_taken: the batch holds every queued record (else
 * nothing is planned). Call with the recorder's queue locked, as the batch
 * is taken. */
size_t lyc_stats_cache_plan(lyc_stats_cache_t *self, const char *prefix, int all_taken,
                            lyc_stats_reload_t *out, size_t max);

/* Recorder: the reply to a planned reload's HGETALL (NULL when the pipeline
 * failed). Frees what the plan holds. */
void lyc_stats_cache_reloaded(lyc_stats_cache_t *self, lyc_stats_reload_t *reload,
                              const redisReply *reply);

#endif
