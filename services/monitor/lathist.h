/*
 * lathist.h - a latency histogram with exact percentiles where they matter.
 *
 * Latencies arrive as whole milliseconds. Below one second each millisecond
 * has its own bucket, so percentiles there are exact (nearest rank); from 1
 * to 10 s buckets are 10 ms wide, from 10 to 120 s 100 ms, and everything
 * slower shares one bucket whose percentile is the largest value seen. The
 * result does not depend on the order of the observations, which is what
 * lets the monitor rebuild the same figures from a replayed log, and its
 * size is fixed (about 12 KB), whatever the traffic.
 */
#ifndef LYCEUM_MONITOR_LATHIST_H
#define LYCEUM_MONITOR_LATHIST_H

#include <stdint.h>

typedef struct lyc_lathist_t lyc_lathist_t;

/* An empty histogram; NULL when out of memory. */
lyc_lathist_t *lyc_lathist_new(void);

/* Accepts NULL; nulls *self_p. */
void lyc_lathist_destroy(lyc_lathist_t **self_p);

/* Counts one latency in milliseconds. */
void lyc_lathist_add(lyc_lathist_t *self, uint32_t ms);

/* Adds every observation of other into self. */
void lyc_lathist_merge(lyc_lathist_t *self, const lyc_lathist_t *other);

/* Observations so far. */
uint64_t lyc_lathist_count(const lyc_lathist_t *self);

/* Mean and largest value in ms (0 when empty). */
double lyc_lathist_mean(const lyc_lathist_t *self);
uint32_t lyc_lathist_max(const lyc_lathist_t *self);

/* The nearest-rank q-quantile (0 < q <= 1) in ms: the smallest value v such
 * that at least q of the observations are <= v, as the lower edge of its
 * bucket (exact below 1 s). 0 when empty. */
uint32_t lyc_lathist_quantile(const lyc_lathist_t *self, double q);

#endif
