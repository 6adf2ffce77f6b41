/*
 * stats.h - who answers well: per model and domain, in Redis.
 *
 * One hash per scope and domain, <prefix>:stats:{<scope>}:<domain>, with
 * fields "<model>|n" (scored answers), "<model>|sum" (sum of scores),
 * "<model>|cost" (USD) and "<model>|ms" (latency), all HINCRBYFLOAT. The
 * scope is "shared" for statistics every tenant learns from, or a tenant's
 * name. Readers (router, evaluator, monitor) load a domain's hash in one
 * HGETALL; writers add one scored answer in one round trip.
 *
 * The trainer (services/trainer) is the writer when it runs, and adds:
 *   |sumsq             sum of squared scores (variance of the mean)
 *   |errors            failed or abstained calls (not in n, sum, cost, ms)
 *   |agree_n, |agree   queries also scored for the supervisor, and how many of
 *                      them this model's score was within 0.5 of the supervisor's
 *   |pair_n, |gap_sum, |gap_sumsq
 *                      paired difference supervisor_score - model_score on the
 *                      same query (what a routing policy compares)
 *   |human_n, |human_sum  users' own scores (also in n and sum, weighted)
 *   |judge_cost        judging cost charged to this model's answers, USD
 *   |tok_n, |tok_in, |tok_out
 *                      answers that reported usage, and their prompt and
 *                      completion tokens (what a query is expected to cost)
 * n and sum then count a human score trainer.human_weight times.
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
    /* Written by the trainer; 0 when it does not run: */
    double sumsq;      /* sum of squared scores */
    double errors;     /* failed or abstained calls */
    double agree_n;    /* answers whose query the supervisor also answered and was scored */
    double agree;      /* of those, how many scored within 0.5 of the supervisor */
    double pair_n;     /* paired answers (same query as a scored supervisor answer) */
    double gap_sum;    /* sum of supervisor_score - score over the pairs */
    double gap_sumsq;  /* sum of its squares */
    double human_n;    /* users' scores received */
    double human_sum;  /* their sum (unweighted) */
    double judge_cost; /* judging cost charged to these answers, USD */
    double tok_n;      /* answers (scored or not) that reported their tokens */
    double tok_in;     /* their prompt tokens */
    double tok_out;    /* their completion tokens */
} lyc_model_stats_t;

/* Mean score, 0 when n is 0. */
double lyc_stats_mean(const lyc_model_stats_t *s);

/* Share of paired answers that agreed with the supervisor, 0 when none. */
double lyc_stats_agreement(const lyc_model_stats_t *s);

/* Mean paired gap (supervisor_score - score) into *mean and its standard
 * error into *stderr_out (0 when fewer than two pairs). Returns 0, or -1
 * when there are no pairs. */
int lyc_stats_gap(const lyc_model_stats_t *s, double *mean, double *stderr_out);

/* The hash key of a scope and domain, "<prefix>:stats:{<scope>}:<domain>",
 * into buf (cap bytes). */
void lyc_stats_key(char *buf, size_t cap, const char *prefix, const char *scope,
                   const char *domain);

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

/* Reads the fields of a domain's hash (an HGETALL reply) into *out (caller
 * frees with free()) and their number into *count, as lyc_stats_load does.
 * 0, or -1 (out of memory, or a reply that is not an array). */
int lyc_stats_parse(const redisReply *reply, lyc_model_stats_t **out, size_t *count);

/* The commands of lyc_stats_add, for a caller that sends them in one
 * pipeline with others (lyc_redis_pipeline): MULTI, four HINCRBYFLOAT,
 * EXEC. The struct holds their arguments, so it must stay where it is
 * until the pipeline has been sent. */
#define LYC_STATS_ADD_CMDS 6
typedef struct {
    char key[512];
    char fields[4][LYC_STATS_MODEL_MAX + 8];
    char values[4][32];
    const char *argv[4][4];
    lyc_redis_cmd_t cmds[LYC_STATS_ADD_CMDS];
} lyc_stats_add_t;

/* Builds the commands that add one scored answer of model in domain. */
void lyc_stats_add_prepare(lyc_stats_add_t *self, const char *prefix, const char *scope,
                           const char *domain, const char *model, double score, double cost,
                           double latency_ms);

/* Checks the replies to self->cmds (in order): 0, or -1 (logged) when the
 * transaction failed. */
int lyc_stats_add_check(const lyc_stats_add_t *self, redisReply *const *replies);

#endif
