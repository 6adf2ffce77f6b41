/*
 * snapshot.c - rendered views behind one mutex (see snapshot.h).
 */
#include "snapshot.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names[LYC_VIEW_COUNT] = {
    "overview", "supervisor_usage", "cost", "domains", "roles", "learning", "latency", "errors"};

struct lyc_snapshot_t {
    pthread_mutex_t lock;
    char *texts[LYC_VIEW_COUNT];
    uint64_t version;
};

const char *lyc_view_name(lyc_view_t view)
{
    return view < LYC_VIEW_COUNT ? s_names[view] : "unknown";
}

int lyc_view_parse(const char *name)
{
    for (int v = 0; name && v < LYC_VIEW_COUNT; v++)
        if (strcmp(name, s_names[v]) == 0)
            return v;
    return -1;
}

cJSON *lyc_view_render(lyc_agg_t *agg, lyc_view_t view)
{
    static cJSON *(*const render[LYC_VIEW_COUNT])(lyc_agg_t *) = {
        lyc_agg_overview, lyc_agg_supervisor_usage, lyc_agg_cost,    lyc_agg_domains,
        lyc_agg_roles,    lyc_agg_learning,         lyc_agg_latency, lyc_agg_errors};
    return view < LYC_VIEW_COUNT ? render[view](agg) : NULL;
}

static void s_lock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    assert(rc == 0);
    (void) rc;
}

static void s_unlock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_unlock(m);
    assert(rc == 0);
    (void) rc;
}

lyc_snapshot_t *lyc_snapshot_new(void)
{
    lyc_snapshot_t *self = calloc(1, sizeof *self);
    if (!self || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void lyc_snapshot_destroy(lyc_snapshot_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_snapshot_t *self = *self_p;
    for (int v = 0; v < LYC_VIEW_COUNT; v++)
        free(self->texts[v]);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void lyc_snapshot_swap(lyc_snapshot_t *self, char *texts[LYC_VIEW_COUNT])
{
    char *old[LYC_VIEW_COUNT] = {0};
    s_lock(&self->lock);
    for (int v = 0; v < LYC_VIEW_COUNT; v++) {
        if (!texts[v])
            continue;
        old[v] = self->texts[v];
        self->texts[v] = texts[v];
        texts[v] = NULL;
    }
    self->version++;
    s_unlock(&self->lock);
    for (int v = 0; v < LYC_VIEW_COUNT; v++)
        free(old[v]); /* outside the lock: readers do not wait for free() */
}

char *lyc_snapshot_get(lyc_snapshot_t *self, lyc_view_t view)
{
    if (view >= LYC_VIEW_COUNT)
        return NULL;
    s_lock(&self->lock);
    char *copy = strdup(self->texts[view] ? self->texts[view] : "{}");
    s_unlock(&self->lock);
    return copy;
}

char *lyc_snapshot_get_all(lyc_snapshot_t *self)
{
    s_lock(&self->lock);
    size_t len = 2;
    for (int v = 0; v < LYC_VIEW_COUNT; v++)
        len += strlen(s_names[v]) + 4 + (self->texts[v] ? strlen(self->texts[v]) : 2);
    char *all = malloc(len + 1), *p = all;
    for (int v = 0; all && v < LYC_VIEW_COUNT; v++) {
        const char *text = self->texts[v] ? self->texts[v] : "{}";
        *p++ = v ? ',' : '{';
        *p++ = '"';
        memcpy(p, s_names[v], strlen(s_names[v]));
        p += strlen(s_names[v]);
        *p++ = '"';
        *p++ = ':';
        memcpy(p, text, strlen(text));
        p += strlen(text);
    }
    if (all) {
        *p++ = '}';
        *p = '\0';
    }
    s_unlock(&self->lock);
    return all;
}

uint64_t lyc_snapshot_version(lyc_snapshot_t *self)
{
    s_lock(&self->lock);
    uint64_t v = self->version;
    s_unlock(&self->lock);
    return v;
}
