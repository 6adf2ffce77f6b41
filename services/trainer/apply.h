/*
 * apply.h - one feedback event into the statistics, exactly once.
 *
 * Each event is applied by one Lua script, atomically:
 *
 *   SET <prefix>:seen:{<scope>}:<event_id> 1 NX EX <seen_ttl>
 *   -- only when that set it: the HINCRBYFLOATs on
 *   <prefix>:stats:{<scope>}:<domain>   (stats.h: |n |sum |sumsq |cost |ms
 *       |judge_cost, |errors for a failed call, |human_n |human_sum for a
 *       user's score, and the paired fields |pair_n |gap_sum |gap_sumsq
 *       |agree_n |agree)
 *
 * so an event replayed after a crash between apply and offset commit, or
 * produced twice, counts once. The key's hash tag is the scope, so the keys
 * one script touches share a Redis Cluster slot.
 *
 * Pairing: the supervisor's score on a query is kept in
 * <prefix>:pair:{<scope>}:<trace_id> (field "|sup", pair_ttl seconds);
 * another model's event of the same query that finds it there is paired at
 * once, one that comes first waits in the same hash (field = model) and is
 * paired when the supervisor's arrives. The trace buffer (tracebuf.h) makes
 * the supervisor's event come first in nearly every case; the hash makes
 * pairing right whatever the order, across restarts and early releases.
 */
#ifndef LYCEUM_TRAINER_APPLY_H
#define LYCEUM_TRAINER_APPLY_H

#include "feedback.h"
#include "redis.h"

typedef struct lyc_apply_t lyc_apply_t;

/* What an event is to the statistics. */
typedef struct {
    double human_weight; /* weight of a user's score */
    double agree_margin; /* |score - supervisor's| below this agrees */
    long seen_ttl_s;
    long pair_ttl_s;
} lyc_apply_config_t;

/* An applier on redis (borrowed; one thread) for keys under prefix
 * (copied). NULL when out of memory. */
lyc_apply_t *lyc_apply_new(lyc_redis_t *redis, const char *prefix,
                           const lyc_apply_config_t *config);

/* Accepts NULL; nulls *self_p. */
void lyc_apply_destroy(lyc_apply_t **self_p);

/* Applies ev in scope ("shared" or a tenant). reference is set for the
 * event whose score others are compared with (the supervisor's). Returns 1
 * when it was applied now, 0 when it had been applied before (a duplicate),
 * -1 when Redis failed (logged; retry later, nothing was counted). */
int lyc_apply_event(lyc_apply_t *self, const char *scope, const lyc_feedback_t *ev, int reference);

#endif
