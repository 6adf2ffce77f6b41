/*
 * snapshot.h - the views as the HTTP threads serve them.
 *
 * The consumer thread owns the aggregate; HTTP threads never touch it. From
 * time to time the consumer renders every view to JSON text and swaps the
 * texts in here under a mutex; a request copies one text out under the same
 * mutex. So a slow reader never holds up the log, and a request always sees
 * one consistent rendering of each view.
 */
#ifndef LYCEUM_MONITOR_SNAPSHOT_H
#define LYCEUM_MONITOR_SNAPSHOT_H

#include <cJSON.h>
#include <stdint.h>

#include "agg.h"

typedef enum {
    LYC_VIEW_OVERVIEW,
    LYC_VIEW_SUPERVISOR_USAGE,
    LYC_VIEW_COST,
    LYC_VIEW_DOMAINS,
    LYC_VIEW_ROLES,
    LYC_VIEW_LEARNING,
    LYC_VIEW_LATENCY,
    LYC_VIEW_ERRORS,
    LYC_VIEW_COUNT
} lyc_view_t;

/* The view's name in the API ("supervisor_usage" for /api/supervisor_usage). */
const char *lyc_view_name(lyc_view_t view);

/* The view named name, or -1. */
int lyc_view_parse(const char *name);

/* Renders one view of agg; a new tree (caller deletes) or NULL. */
cJSON *lyc_view_render(lyc_agg_t *agg, lyc_view_t view);

typedef struct lyc_snapshot_t lyc_snapshot_t;

/* NULL when out of memory. Every view reads "{}" until the first publish. */
lyc_snapshot_t *lyc_snapshot_new(void);

/* Accepts NULL; nulls *self_p. */
void lyc_snapshot_destroy(lyc_snapshot_t **self_p);

/* Swaps in new texts: texts[v] (malloc'd, taken; NULL keeps the old one)
 * for every view v. */
void lyc_snapshot_swap(lyc_snapshot_t *self, char *texts[LYC_VIEW_COUNT]);

/* A copy of a view's text (caller frees), or NULL when out of memory. */
char *lyc_snapshot_get(lyc_snapshot_t *self, lyc_view_t view);

/* Every view in one object {"overview": {...}, ...} (caller frees). */
char *lyc_snapshot_get_all(lyc_snapshot_t *self);

/* Publishes so far (0 before the first). */
uint64_t lyc_snapshot_version(lyc_snapshot_t *self);

#endif
