/*
 * seen.h - which events were counted already, in bounded memory.
 *
 * The event log is at least once: a record can reach a topic twice, and a
 * consumer can be handed a record again after a rebalance. The monitor
 * remembers a 64-bit hash of every event id it counted and drops an event
 * whose id it has seen. Memory is bounded by two generations: ids go into
 * the current one; when it holds `capacity / 2` ids it becomes the previous
 * one and the one before is forgotten. So at least the last capacity / 2
 * ids, and at most `capacity`, are remembered; a duplicate arriving after
 * more distinct events than that would count twice (with a million ids, far
 * beyond any re-delivery window). A false positive needs two ids with the
 * same 64-bit hash: about 1 in 10^7 over a million ids.
 */
#ifndef LYCEUM_MONITOR_SEEN_H
#define LYCEUM_MONITOR_SEEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct lyc_seen_t lyc_seen_t;

/* Remembers up to capacity ids (at least 16). NULL when out of memory. */
lyc_seen_t *lyc_seen_new(size_t capacity);

/* Accepts NULL; nulls *self_p. */
void lyc_seen_destroy(lyc_seen_t **self_p);

/* The hash lyc_seen_add takes, of len bytes at data. */
uint64_t lyc_seen_hash(const void *data, size_t len);

/* Adds the id hash. Returns 1 when it is new, 0 when it was seen already. */
int lyc_seen_add(lyc_seen_t *self, uint64_t hash);

/* Ids remembered now. */
size_t lyc_seen_size(const lyc_seen_t *self);

#endif
