/*
 * stats.h - who answers well: per model and domain, in Redis.
 *
 * One hash per scope and domain, <prefix>:stats:{<scope>}:<domain>, with
 * fields "<model>|n" (scored answers), "<model>|sum" (sum of scores),
 * "<model>|cost" (USD) and "<model>|ms" (latency), all HINCRBYFLOAT. The
 * scope is "shared" for statistics every tenant learns from, or a tenant's
 * name. Readers (router, evaluator, monitor) load a domain's hash in one
 * HGETALL; writers add one scored answer in one round trip.
 */
#ifndef LYCEUM_STATS_H
#define LYCEUM_STATS_H

#include "redis.h"

#include <stddef.h>

#define LYC_STATS_MODEL_MAX 128

/* One model's record in one domain. */
typedef struct {
    char model[LYC_STATS_MODEL_MAX];
    double n;    /* scored answers */
    double sum;  /* sum of their scores */
    double cost; /* sum of their costs, USD */
    double ms;   /* sum of their latencies, milliseconds */
} lyc_model_stats_t;

/* Mean score, 0 when n is 0. */
double lyc_stats_mean(const lyc_model_stats_t *s);

/* Wilson score interval of a mean of n scores in [0, 1] at z (1.96 for 95 %):
 * lower and upper bounds. n == 0 gives [0, 1]. */
void lyc_stats_wilson(double mean, double n, double z, double *lower, double *upper);

/* Loads every model's record in the domain into *out (caller frees with free()),
 * their number into *count. Returns 0 (count 0 for an unknown domain) or -1. */
int lyc_stats_load(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                   lyc_model_stats_t **out, size_t *count);

/* Adds one scored answer of model in domain. Returns 0 or -1 (logged). */
int lyc_stats_add(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                  const char *model, double score, double cost, double latency_ms);

#endif
