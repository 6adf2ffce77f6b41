/*
 * lathist.c - fixed buckets, exact to the millisecond below one second.
 */
#include "lathist.h"

#include <math.h>
#include <stdlib.h>

#define S_FINE_END   1000u   /* 1 ms buckets below this */
#define S_MID_END    10000u  /* 10 ms buckets below this */
#define S_COARSE_END 120000u /* 100 ms buckets below this; one bucket above */
#define S_BUCKETS                                                                                  \
    (S_FINE_END + (S_MID_END - S_FINE_END) / 10 + (S_COARSE_END - S_MID_END) / 100 + 1)

struct lyc_lathist_t {
    uint32_t counts[S_BUCKETS];
    uint64_t n;
    double sum;
    uint32_t max;
};

lyc_lathist_t *lyc_lathist_new(void)
{
    return calloc(1, sizeof(lyc_lathist_t));
}

void lyc_lathist_destroy(lyc_lathist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static size_t s_bucket(uint32_t ms)
{
    if (ms < S_FINE_END)
        return ms;
    if (ms < S_MID_END)
        return S_FINE_END + (ms - S_FINE_END) / 10;
    if (ms < S_COARSE_END)
        return S_FINE_END + (S_MID_END - S_FINE_END) / 10 + (ms - S_MID_END) / 100;
    return S_BUCKETS - 1;
}

/* The smallest latency that falls in bucket b. */
static uint32_t s_lower(size_t b)
{
    const size_t mid = S_FINE_END, coarse = S_FINE_END + (S_MID_END - S_FINE_END) / 10;
    if (b < mid)
        return (uint32_t) b;
    if (b < coarse)
        return S_FINE_END + (uint32_t) (b - mid) * 10;
    return S_MID_END + (uint32_t) (b - coarse) * 100;
}

void lyc_lathist_add(lyc_lathist_t *self, uint32_t ms)
{
    self->counts[s_bucket(ms)]++;
    self->n++;
    self->sum += ms;
    if (ms > self->max)
        self->max = ms;
}

void lyc_lathist_merge(lyc_lathist_t *self, const lyc_lathist_t *other)
{
    for (size_t b = 0; b < S_BUCKETS; b++)
        self->counts[b] += other->counts[b];
    self->n += other->n;
    self->sum += other->sum;
    if (other->max > self->max)
        self->max = other->max;
}

uint64_t lyc_lathist_count(const lyc_lathist_t *self)
{
    return self->n;
}

double lyc_lathist_mean(const lyc_lathist_t *self)
{
    return self->n ? self->sum / (double) self->n : 0;
}

uint32_t lyc_lathist_max(const lyc_lathist_t *self)
{
    return self->max;
}

uint32_t lyc_lathist_quantile(const lyc_lathist_t *self, double q)
{
    if (self->n == 0)
        return 0;
    /* the epsilon keeps 0.9 * 10 from rounding up to rank 10 */
    uint64_t rank = (uint64_t) ceil(q * (double) self->n - 1e-9);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < S_BUCKETS - 1; b++) {
        seen += self->counts[b];
        if (seen >= rank)
            return s_lower(b);
    }
    return self->max;
}
