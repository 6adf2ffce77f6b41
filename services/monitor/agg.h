/*
 * agg.h - the monitor's figures: feed it the events of the log, read views.
 *
 * A pure module: no I/O, no clock, no threads (the caller serialises), so
 * the unit tests check every figure against numbers computed by hand from
 * a constructed stream. Every figure is a function of the SET of distinct
 * events fed, not of their order or of duplicates: events are dropped by
 * id (FeedbackEvent.event_id, TrainingSample.sample_id; a hash of the whole
 * message for RoleChange, ModelEntry and TrainingJob, which carry no id),
 * time series use the events' own timestamps, and cross-event figures
 * (per query, learning) are derived when a view is read. That is what makes
 * a restarted monitor, which replays the log from the start, show the same
 * figures as one that never stopped.
 *
 * Definitions (also in services/monitor/README.md):
 *   answer call      one FeedbackEvent whose source is not HUMAN (a model
 *                    called for a query, answered or failed);
 *   supervisor call  an answer call whose event says `supervisor`;
 *   query            the answer calls sharing a trace_id; it is judged when
 *                    judged_by is set, by the supervisor when judged_by is
 *                    one of the supervisors (configured, or seen answering
 *                    with the supervisor flag);
 *   cost of a query  sum of its calls' cost_usd + judge_cost_usd;
 *   supervisor-only  what the query would have cost with the supervisor
 *                    alone: its own answer's cost_usd when it answered
 *                    without error, else the supervisor's prices applied to
 *                    the winning answer's prompt and completion tokens (the
 *                    largest of any answer when none won); no judge;
 *   domain accuracy  mean score of the answer calls without error;
 *   learning moment  for a student and domain: the earlier of the time it
 *                    had received `learning_min_exemplars` training samples
 *                    (exemplars) there and the time a fine-tuned version of
 *                    it passed the gate (TrainingJob GATED) there; scores
 *                    before it are "before", scores of the student and of
 *                    its fine-tuned versions from it on are "after";
 *   end-to-end       per query, the slowest of its answer calls (what the
 *                    router waited for before grading).
 */
#ifndef LYCEUM_MONITOR_AGG_H
#define LYCEUM_MONITOR_AGG_H

#include "envelope.h"

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lyc_agg_t lyc_agg_t;

typedef struct {
    int64_t bucket_us;           /* width of one time bucket of the series */
    size_t max_buckets;          /* series show the newest this many buckets */
    size_t max_queries;          /* query records kept; past it, those whose latest event
                                    came first are folded into totals (a later event of a
                                    folded query then counts as a new query) */
    size_t recent_queries;       /* queries listed one by one by the cost view */
    size_t seen_max;             /* event ids remembered for dropping duplicates */
    size_t max_roles;            /* role changes kept for the timeline */
    long learning_min_exemplars; /* samples that make the learning moment */
    double sup_price_in;         /* supervisor's USD per million prompt tokens */
    double sup_price_out;        /* ... and per million completion tokens */
    const char *supervisors;     /* comma-separated supervisor model names (copied) */
} lyc_agg_config_t;

/* Headline figures, for metrics and tests. */
typedef struct {
    uint64_t events;           /* distinct events counted, every type */
    uint64_t duplicates;       /* events dropped as already counted */
    uint64_t ignored;          /* events of types the monitor does not aggregate */
    uint64_t answer_calls;     /* see above */
    uint64_t supervisor_calls; /* answer calls to the supervisor */
    uint64_t queries;          /* distinct traces */
    uint64_t judged;           /* queries with a judge */
    uint64_t supervisor_judged;
    uint64_t errors;     /* answer calls that failed, timed out or abstained */
    uint64_t timeouts;   /* of those, time-outs */
    double cost_usd;     /* answers and judging */
    double sup_only_usd; /* supervisor-only */
} lyc_agg_totals_t;

/* NULL when out of memory or the config is unusable (logged). */
lyc_agg_t *lyc_agg_new(const lyc_agg_config_t *config);

/* Accepts NULL; nulls *self_p. */
void lyc_agg_destroy(lyc_agg_t **self_p);

/* Counts one decoded event (FEEDBACK_EVENT, ROLE_CHANGE, MODEL_ENTRY,
 * TRAINING_SAMPLE, TRAINING_JOB). Returns 1 when counted, 0 when it was a
 * duplicate (nothing changed), -1 when its type is not aggregated or it is
 * unusable (counted as ignored). */
int lyc_agg_feed(lyc_agg_t *self, const lyc_envelope_t *env);

/* The headline figures into *out. */
void lyc_agg_totals(lyc_agg_t *self, lyc_agg_totals_t *out);

/* The views the HTTP API serves, each a new tree the caller deletes (NULL
 * when out of memory). Shapes are documented in services/monitor/README.md. */
cJSON *lyc_agg_overview(lyc_agg_t *self);
cJSON *lyc_agg_supervisor_usage(lyc_agg_t *self);
cJSON *lyc_agg_cost(lyc_agg_t *self);
cJSON *lyc_agg_domains(lyc_agg_t *self);
cJSON *lyc_agg_roles(lyc_agg_t *self);
cJSON *lyc_agg_learning(lyc_agg_t *self);
cJSON *lyc_agg_latency(lyc_agg_t *self);
cJSON *lyc_agg_errors(lyc_agg_t *self);

#endif
