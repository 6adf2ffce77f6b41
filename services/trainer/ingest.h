/*
 * ingest.h - one query's feedback events into everything the trainer keeps.
 *
 * For a group of events of one query (tracebuf.h): picks the reference
 * event (the configured supervisor's answer, else an answer marked
 * supervisor), applies it first and then the others, in the tenant's scope
 * (trainer.per_tenant_stats) and in the shared scope (apply.h). Only an
 * event applied for the first time in the shared scope goes on to its side
 * effects: training samples (distill.h) and new-domain clustering
 * (newdomain.h); a side effect that fails is logged and not retried (a lost
 * sample rather than a duplicate). Every (scope, domain) that got evidence
 * is remembered for the next role decision.
 */
#ifndef LYCEUM_TRAINER_INGEST_H
#define LYCEUM_TRAINER_INGEST_H

#include "apply.h"
#include "distill.h"
#include "metrics.h"
#include "newdomain.h"
#include "trainer_config.h"
#include "tracebuf.h"

typedef struct lyc_ingest_t lyc_ingest_t;

typedef struct {
    const lyc_trainer_config_t *config;
    lyc_apply_t *apply;
    lyc_distill_t *distill;     /* may be NULL */
    lyc_newdomain_t *newdomain; /* may be NULL */
    lyc_metrics_t *metrics;
} lyc_ingest_config_t;

/* Everything in config is borrowed. NULL when out of memory. */
lyc_ingest_t *lyc_ingest_new(const lyc_ingest_config_t *config);

/* Accepts NULL; nulls *self_p. */
void lyc_ingest_destroy(lyc_ingest_t **self_p);

/* Applies the group's events from group->done on. Returns 0 when all are
 * handled, -1 when Redis failed: group->done says how far it got, and the
 * same group must be passed again later. */
int lyc_ingest_group(lyc_ingest_t *self, lyc_trace_group_t *group);

/* Calls fn for every (scope, domain) that got evidence since it was last
 * cleared; a domain is cleared when fn returns 0 (decided, nothing moved)
 * and kept when it returns nonzero (something changed, or failed: decide
 * again next time). */
void lyc_ingest_each_dirty(lyc_ingest_t *self,
                           int (*fn)(const char *scope, const char *domain, void *arg), void *arg);

#endif
