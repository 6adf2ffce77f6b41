/*
 * eval_config.h - the evaluator's settings: one table, read from the `evaluator:`
 * section of the cluster file with LYCEUM_EVALUATOR_* environment overrides.
 *
 * The judge defaults to the model whose role is supervisor in the `models:`
 * list, so a cluster file that names a supervisor needs no evaluator section
 * at all. Every model with the supervisor role is remembered: in agreement
 * mode their answer is the one the others are compared with. Every model's
 * configured role and prices are kept too: judging is charged at the judging
 * model's prices, and a teacher or TA may take over judging (judges.h).
 */
#ifndef LYCEUM_EVALUATOR_CONFIG_H
#define LYCEUM_EVALUATOR_CONFIG_H

#include "config.h"
#include "metrics.h"

#include <stddef.h>

/* One model of the `models:` list, as the evaluator needs it. */
typedef struct {
    char *name;
    int role;         /* configured role (Lyceum__V1__Role), 0 when unknown */
    double price_in;  /* USD per million prompt tokens */
    double price_out; /* USD per million completion tokens */
} lyc_eval_model_t;

typedef struct {
    char *bind;                    /* where the evaluator's ROUTER binds */
    char *http_listen;             /* host:port of /metrics and /healthz; "" for none */
    long threads;                  /* requests graded at once */
    long queue_max;                /* requests waiting for a thread before "busy" replies */
    char *mode;                    /* default mode: judge | agreement | reference */
    char *judge_model;             /* model that judges; "" when none is known */
    double cheap_margin;           /* a cheaper answer within this of the best wins */
    long judge_timeout_ms;         /* deadline of one judge call */
    long judge_max_tokens;         /* completion limit of a judge call, 0 for the model's */
    int synthesis;                 /* the judge may write a better answer from several */
    double agreement_threshold;    /* similarity at which two answers agree */
    long delegate_min_pairs;       /* supervisor-paired answers before a teacher may judge */
    double delegate_min_agreement; /* Wilson lower bound of agreement a lone judge needs */
    double ensemble_min_agreement; /* agreement an ensemble member needs */
    double spot_check_initial;     /* supervisor spot-check rate after a hand-over */
    double spot_check_floor;       /* lowest spot-check rate */
    char *stats_scope;             /* scope of stats, roles and judges keys ("shared") */
    long judges_refresh_ms;        /* stats, roles and judges are reloaded this often */
    /* Not from the table: */
    lyc_metrics_t *metrics;   /* NULL, or where evaluator.c counts requests (main.c serves it) */
    char **supervisors;       /* NULL-terminated names of the models whose role is supervisor */
    lyc_eval_model_t *models; /* every model of the models list */
    size_t n_models;
} lyc_eval_config_t;

/* The table behind lyc_eval_config_t, for --help-config. */
extern const lyc_cfg_field_t lyc_eval_config_table[];

/* Fills *out from the document's `evaluator.` section (environment prefix
 * LYCEUM_EVALUATOR) and its `models:` list, then resolves the judge: an empty
 * judge_model becomes the first supervisor; a named one must be in the models
 * list when that list is not empty. Returns 0, or -1 with the reason (key,
 * file, line) in err. Free with lyc_eval_config_free() in both cases. */
int lyc_eval_config_load(lyc_eval_config_t *out, const lyc_confdoc_t *doc, char *err,
                         size_t errcap);

/* Frees what lyc_eval_config_load set and clears *config; accepts a cleared one. */
void lyc_eval_config_free(lyc_eval_config_t *config);

/* 1 when model is the judge or has the supervisor role, else 0. */
int lyc_eval_config_is_supervisor(const lyc_eval_config_t *config, const char *model);

/* The model called name in the models list, or NULL. */
const lyc_eval_model_t *lyc_eval_config_model(const lyc_eval_config_t *config, const char *name);

/* Mode names ("judge") to Lyceum__V1__EvalMode values; 0 (unspecified) when unknown. */
int lyc_eval_mode_parse(const char *name);

/* Name of a mode for logs; "unknown" for values outside the schema. */
const char *lyc_eval_mode_name(int mode);

#endif
