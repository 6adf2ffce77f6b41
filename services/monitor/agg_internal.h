/*
 * agg_internal.h - the state behind agg.h, shared by its three files only:
 * agg.c (life cycle, dedupe, dispatch, the non-feedback events),
 * agg_feedback.c (answer calls and queries), agg_views.c (the JSON views).
 *
 * Maps are czmq zhashx tables with string keys; a two-part key joins its
 * parts with S_SEP, a byte no model or domain name contains.
 */
#ifndef LYCEUM_MONITOR_AGG_INTERNAL_H
#define LYCEUM_MONITOR_AGG_INTERNAL_H

#include "agg.h"
#include "lathist.h"
#include "seen.h"

#include <czmq.h>
#include <math.h>

#define LYC_AGG_SEP         "\x1f"
#define LYC_AGG_ERROR_KINDS 8 /* Lyceum__V1__ErrorCode values 0..7 */
#define LYC_AGG_KEY_MAX     512

/* Money is summed in whole pico-dollars and scores in whole billionths:
 * integer sums are exact in any order, so two monitors that read the same
 * events in another order (partitions interleave differently) render the
 * same digits. */
static inline int64_t lyc_agg_pusd(double usd)
{
    return llround(usd * 1e12);
}

static inline double lyc_agg_usd(int64_t pusd)
{
    return (double) pusd / 1e12;
}

static inline int64_t lyc_agg_nscore(double score)
{
    return llround(score * 1e9);
}

static inline double lyc_agg_score(int64_t nscore)
{
    return (double) nscore / 1e9;
}

/* One model's answer calls. */
typedef struct {
    char *name;
    uint64_t calls, ok, sup_calls, wins, for_learning;
    uint64_t errors[LYC_AGG_ERROR_KINDS]; /* by ErrorCode; [0] unused */
    int64_t cost, judge_cost;             /* pico-USD */
    uint64_t tokens_in, tokens_out;
    uint64_t human_n;
    int64_t human_sum; /* billionths */
    lyc_lathist_t *latency;
} agg_model_t;

/* One model in one domain: its scored answers. */
typedef struct {
    char *domain, *model;
    uint64_t n, wins;
    int64_t sum; /* billionths */
} agg_cell_t;

/* Query figures folded out of the live query records. */
typedef struct {
    uint64_t queries, judged, sup_judged;
    int64_t cost, sup_only; /* pico-USD */
} agg_fold_t;

/* One time bucket of the series. */
typedef struct {
    int64_t start_us;
    uint64_t calls, sup_calls, errors;
    agg_fold_t folded;  /* queries folded out of the live records */
    agg_fold_t scratch; /* live queries, recomputed by each view */
} agg_bucket_t;

/* One query (trace), built from its answer calls. */
typedef struct {
    char *trace, *domain, *judged_by;
    int64_t first_at_us;
    uint64_t touched; /* lyc_agg_t.tick at its latest event: folding takes the stalest */
    uint32_t calls, max_latency_ms;
    int64_t cost; /* answers + judging, pico-USD */
    int sup_answered;
    int64_t sup_cost; /* pico-USD */
    int has_winner;
    uint32_t win_prompt, win_completion, max_prompt, max_completion;
} agg_query_t;

/* A domain's folded query figures. */
typedef struct {
    char *domain;
    agg_fold_t fold;
    agg_fold_t scratch; /* live queries, recomputed by each view */
} agg_domain_t;

/* One RoleChange. */
typedef struct {
    char *model, *domain, *reason, *tenant;
    int from, to;
    uint64_t evidence;
    double mean, lower, upper;
    int64_t at_us;
} agg_role_t;

/* Scores of one model in one domain over time (the learning view). */
typedef struct {
    int64_t at_us;
    int64_t score; /* billionths */
} agg_point_t;

typedef struct {
    char *model, *domain;
    agg_point_t *v;
    size_t n, cap;
} agg_points_t;

/* Training samples one student received in one domain: how many, and the
 * earliest learning_min_exemplars times, ascending. */
typedef struct {
    char *student, *domain;
    uint64_t count;
    int64_t *first;
    size_t n_first;
} agg_samples_t;

/* A fine-tuning job's latest state. */
typedef struct {
    char *job_id, *student, *domain, *result_model, *dispatcher, *error;
    int state;
    uint32_t samples;
    double gate_score;
    int64_t created_us, updated_us;
    int64_t gated_us; /* when it reached GATED; 0 when it has not */
} agg_job_t;

/* A model as the registry announced it. */
typedef struct {
    char *model, *backend, *version, *parent, *roles;
    double price_in, price_out;
    int active, candidate;
    int64_t registered_us;
} agg_entry_t;

struct lyc_agg_t {
    lyc_agg_config_t cfg;
    char **supervisors; /* configured, NULL-terminated */
    zhashx_t *sup_seen; /* models seen answering as the supervisor */
    lyc_seen_t *seen;
    zhashx_t *models;  /* name -> agg_model_t */
    zhashx_t *cells;   /* domain SEP model -> agg_cell_t */
    zhashx_t *buckets; /* start (decimal) -> agg_bucket_t */
    zhashx_t *queries; /* trace -> agg_query_t */
    zhashx_t *domains; /* domain -> agg_domain_t (folded queries) */
    zhashx_t *points;  /* model SEP domain -> agg_points_t */
    zhashx_t *samples; /* student SEP domain -> agg_samples_t */
    zhashx_t *jobs;    /* job id -> agg_job_t */
    zhashx_t *entries; /* model -> agg_entry_t */
    agg_role_t *roles;
    size_t n_roles, cap_roles;
    agg_fold_t folded;       /* every query folded so far */
    agg_fold_t pruned;       /* of those, in buckets no longer kept */
    lyc_lathist_t *e2e_fold; /* end-to-end latency of folded queries */
    uint64_t events, duplicates, ignored, human;
    uint64_t tick;        /* counts answer calls, to order queries by their latest event */
    uint64_t by_type[16]; /* distinct events per MessageType */
    int64_t first_at_us, last_at_us;
};

/* --- agg.c ---------------------------------------------------------------- */

/* strdup that never returns NULL for a NULL input ("" instead); NULL only
 * when out of memory. */
char *lyc_agg_strdup(const char *s);

/* Joins a and b with LYC_AGG_SEP into buf. */
const char *lyc_agg_key(char *buf, const char *a, const char *b);

/* 1 when model is a supervisor (configured or seen as one). */
int lyc_agg_is_supervisor(const lyc_agg_t *self, const char *model);

/* 1 when judged_by names a judging model call (not a free grader such as
 * "reference", "agreement" or "none"). */
int lyc_agg_is_judge_call(const char *judged_by);

/* Start of the bucket holding at_us. */
int64_t lyc_agg_bucket_start(const lyc_agg_t *self, int64_t at_us);

/* The bucket starting at start_us, made when absent; NULL when out of memory. */
agg_bucket_t *lyc_agg_bucket(lyc_agg_t *self, int64_t start_us);

/* --- agg_feedback.c ------------------------------------------------------- */

/* Counts one new (not duplicate) FeedbackEvent; at_us is its time. */
int lyc_agg_feedback(lyc_agg_t *self, const Lyceum__V1__FeedbackEvent *ev, int64_t at_us);

/* Supervisor-only cost of a query (see agg.h), pico-USD. */
int64_t lyc_agg_sup_only(const lyc_agg_t *self, const agg_query_t *q);

/* Folds the oldest queries out of the live records when there are too many. */
void lyc_agg_fold_old(lyc_agg_t *self);

/* Forgets the oldest buckets beyond twice max_buckets (their folded query
 * figures move to self->pruned). */
void lyc_agg_prune(lyc_agg_t *self);

/* Recomputes every bucket's and domain's scratch figures from the live
 * queries. */
void lyc_agg_scratch(lyc_agg_t *self);

void lyc_agg_model_free(void **item);
void lyc_agg_cell_free(void **item);
void lyc_agg_query_free(void **item);
void lyc_agg_domain_free(void **item);
void lyc_agg_points_free(void **item);

/* --- agg_train.c ---------------------------------------------------------- */

int lyc_agg_role_change(lyc_agg_t *self, const Lyceum__V1__RoleChange *rc, int64_t at_us);
int lyc_agg_model_entry(lyc_agg_t *self, const Lyceum__V1__ModelEntry *e);
int lyc_agg_sample(lyc_agg_t *self, const Lyceum__V1__TrainingSample *s, int64_t at_us);
int lyc_agg_job(lyc_agg_t *self, const Lyceum__V1__TrainingJob *j, int64_t at_us);

void lyc_agg_samples_free(void **item);
void lyc_agg_job_free(void **item);
void lyc_agg_entry_free(void **item);
void lyc_agg_role_clear(agg_role_t *r);

/* --- agg_views.c / agg_learning.c: helpers shared by the views ------------ */

/* The items of a map sorted by their string key; a new array of n pointers
 * (caller frees), NULL when the map is empty or memory runs out. */
void **lyc_agg_sorted(zhashx_t *map, size_t *n);

/* Adds name: sum / n, or null when n is 0. */
void lyc_agg_add_ratio(cJSON *obj, const char *name, double sum, double n);

/* Seconds since the epoch of a time in microseconds. */
double lyc_agg_seconds(int64_t at_us);

#endif
