/*
 * eval_config.h - the evaluator's settings: one table, read from the `evaluator:`
 * section of the cluster file with LYCEUM_EVALUATOR_* environment overrides.
 *
 * The judge defaults to the model whose role is supervisor in the `models:`
 * list, so a cluster file that names a supervisor needs no evaluator section
 * at all. Every model with the supervisor role is remembered: in agreement
 * mode their answer is the one the others are compared with.
 */
#ifndef LYCEUM_EVALUATOR_CONFIG_H
#define LYCEUM_EVALUATOR_CONFIG_H

#include "config.h"

#include <stddef.h>

typedef struct {
    char *bind;                 /* where the evaluator's ROUTER binds */
    long threads;               /* requests graded at once */
    long queue_max;             /* requests waiting for a thread before "busy" replies */
    char *mode;                 /* default mode: judge | agreement | reference */
    char *judge_model;          /* model that judges; "" when none is known */
    double cheap_margin;        /* a cheaper answer within this of the best wins */
    long judge_timeout_ms;      /* deadline of one judge call */
    long judge_max_tokens;      /* completion limit of a judge call, 0 for the model's */
    int synthesis;              /* the judge may write a better answer from several */
    double agreement_threshold; /* similarity at which two answers agree */
    /* Not from the table: */
    char **supervisors; /* NULL-terminated names of the models whose role is supervisor */
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

/* Mode names ("judge") to Lyceum__V1__EvalMode values; 0 (unspecified) when unknown. */
int lyc_eval_mode_parse(const char *name);

/* Name of a mode for logs; "unknown" for values outside the schema. */
const char *lyc_eval_mode_name(int mode);

#endif
