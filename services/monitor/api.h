/*
 * api.h - what the monitor serves over HTTP, besides /metrics and /healthz
 * (which the embedded server of common/http_server.h answers):
 *
 *   GET /                     the dashboard (dashboard.h)
 *   GET /api/<view>           one view as JSON: overview, supervisor_usage,
 *                             cost, domains, roles, learning, latency, errors
 *   GET /api/all              every view in one object, keyed by view name
 *
 * Every answer comes from the snapshot (snapshot.h), never from the
 * aggregate itself.
 */
#ifndef LYCEUM_MONITOR_API_H
#define LYCEUM_MONITOR_API_H

#include "http_server.h"
#include "snapshot.h"

#include <stdatomic.h>

/* What the handlers read; must outlive the server. */
typedef struct {
    lyc_snapshot_t *snapshot;
    atomic_int *healthy; /* the feed's consumer works */
} lyc_api_t;

/* Fills routes (at least LYC_API_ROUTES entries) with the monitor's routes
 * bound to api; returns how many. */
#define LYC_API_ROUTES 3
size_t lyc_api_routes(lyc_api_t *api, lyc_httpd_route_t *routes);

/* The /healthz check: healthy while the consumer works and a snapshot was
 * published (adds "consumer" and "snapshots" to detail). */
int lyc_api_health(void *api, cJSON *detail);

#endif
