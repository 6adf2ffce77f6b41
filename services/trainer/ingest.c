/*
 * ingest.c - a query's events: reference first, exactly-once apply, side
 * effects, dirty domains.
 */
#include "ingest.h"

#include "log.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SHARED "shared"

struct lyc_ingest_t {
    lyc_ingest_config_t cfg;
    zhashx_t *dirty; /* "<scope>|<domain>" -> itself */
    lyc_counter_t *events;
};

lyc_ingest_t *lyc_ingest_new(const lyc_ingest_config_t *config)
{
    lyc_ingest_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    self->dirty = zhashx_new();
    self->events = lyc_metrics_counter(config->metrics, "lyceum_trainer_events_total",
                                       "Feedback events read, by result (applied, duplicate, "
                                       "malformed)",
                                       "result");
    if (!self->dirty || !self->events) {
        zhashx_destroy(&self->dirty);
        free(self);
        return NULL;
    }
    return self;
}

void lyc_ingest_destroy(lyc_ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->dirty);
    free(*self_p);
    *self_p = NULL;
}

static void s_mark(lyc_ingest_t *self, const char *scope, const char *domain)
{
    char key[300];
    snprintf(key, sizeof key, "%s|%s", scope, domain);
    if (!zhashx_lookup(self->dirty, key))
        zhashx_insert(self->dirty, key, (void *) "1");
}

void lyc_ingest_each_dirty(lyc_ingest_t *self,
                           int (*fn)(const char *scope, const char *domain, void *arg), void *arg)
{
    zlistx_t *keys = zhashx_keys(self->dirty);
    if (!keys)
        return;
    for (const char *key = zlistx_first(keys); key; key = zlistx_next(keys)) {
        char scope[160];
        const char *bar = strchr(key, '|');
        if (!bar || (size_t) (bar - key) >= sizeof scope)
            continue;
        memcpy(scope, key, (size_t) (bar - key));
        scope[bar - key] = '\0';
        if (fn(scope, bar + 1, arg) == 0)
            zhashx_delete(self->dirty, key);
    }
    zlistx_destroy(&keys);
}

/* 1 when ev is the query's reference: a scored answer of the supervisor. */
static int s_reference_rank(const lyc_ingest_t *self, const lyc_feedback_t *ev)
{
    if (lyc_feedback_is_human(ev) || lyc_feedback_failed(ev))
        return 0;
    const lyc_trainer_model_t *m = lyc_trainer_config_model(self->cfg.config, ev->model);
    if (m && m->role == LYCEUM__V1__ROLE__ROLE_SUPERVISOR)
        return 2; /* the configured supervisor beats a promoted one */
    return ev->supervisor ? 1 : 0;
}

/* Moves the reference event to the front; returns 1 when there is one. */
static int s_order(const lyc_ingest_t *self, lyc_trace_group_t *g)
{
    size_t best = 0;
    int best_rank = 0;
    for (size_t i = 0; i < g->count; i++) {
        int rank = s_reference_rank(self, g->events[i]);
        if (rank > best_rank) {
            best_rank = rank;
            best = i;
        }
    }
    if (!best_rank)
        return 0;
    lyc_feedback_t *ref = g->events[best];
    memmove(&g->events[1], &g->events[0], best * sizeof g->events[0]);
    g->events[0] = ref;
    return 1;
}

static void s_count(lyc_ingest_t *self, const char *result)
{
    const char *labels[] = {result};
    lyc_counter_add(self->events, labels, 1);
}

static void s_side_effects(lyc_ingest_t *self, const lyc_feedback_t *ev)
{
    if (self->cfg.distill && lyc_distill_event(self->cfg.distill, ev) < 0)
        LYC_WARN(ev->trace_id, "trainer: no training sample from event %s", ev->event_id);
    if (self->cfg.newdomain && lyc_newdomain_observe(self->cfg.newdomain, ev) < 0)
        LYC_WARN(ev->trace_id, "trainer: event %s could not be clustered", ev->event_id);
}

/* One event in every scope; 0, or -1 when Redis failed. */
static int s_one(lyc_ingest_t *self, const lyc_feedback_t *ev, int reference)
{
    /* The tenant's scope first: a failure in the shared one is retried
     * with its side effects, since those follow the shared apply. */
    /* (A tenant named like the shared scope has only the shared one.) */
    if (self->cfg.config->per_tenant_stats && strcmp(ev->tenant, S_SHARED) != 0) {
        int rc = lyc_apply_event(self->cfg.apply, ev->tenant, ev, reference);
        if (rc < 0)
            return -1;
        if (rc == 1)
            s_mark(self, ev->tenant, ev->domain);
    }
    int rc = lyc_apply_event(self->cfg.apply, S_SHARED, ev, reference);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        s_count(self, "duplicate");
        LYC_DEBUG(ev->trace_id, "trainer: event %s was applied before; skipped", ev->event_id);
        return 0;
    }
    s_count(self, "applied");
    s_mark(self, S_SHARED, ev->domain);
    s_side_effects(self, ev);
    return 0;
}

int lyc_ingest_group(lyc_ingest_t *self, lyc_trace_group_t *group)
{
    /* On a retry (done > 0) the reference, first in the group, is applied. */
    int has_reference = group->done == 0 && s_order(self, group);
    for (; group->done < group->count; group->done++) {
        int reference = has_reference && group->done == 0;
        if (s_one(self, group->events[group->done], reference) != 0)
            return -1;
    }
    return 0;
}
