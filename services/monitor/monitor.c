/*
 * monitor.c - wires the reader, the snapshot and the HTTP server.
 */
#include "monitor.h"

#include "api.h"
#include "feed.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"

#include <czmq.h>
#include <stdatomic.h>
#include <stdlib.h>

struct lyc_monitor_t {
    lyc_metrics_t *metrics;
    lyc_snapshot_t *snapshot;
    atomic_int healthy;
    lyc_feed_args_t feed_args;
    zactor_t *feed;
    lyc_api_t api;
    lyc_httpd_t *http;
};

/* Waits for the reader's start status; -1 on failure or time-out. */
static int s_feed_status(zactor_t *feed)
{
    int status = -1;
    zsock_t *sock = zactor_sock(feed);
    zsock_set_rcvtimeo(sock, LYC_MONITOR_START_TIMEOUT_MS);
    if (zsock_recv(sock, "i", &status) != 0)
        status = -1;
    zsock_set_rcvtimeo(sock, -1);
    return status;
}

static int s_start_http(lyc_monitor_t *self, const lyc_monitor_config_t *config)
{
    lyc_httpd_route_t routes[LYC_API_ROUTES];
    self->api = (lyc_api_t){.snapshot = self->snapshot, .healthy = &self->healthy};
    size_t n = lyc_api_routes(&self->api, routes);
    lyc_httpd_config_t http = {.listen = config->http_listen,
                               .service = "monitor",
                               .metrics = self->metrics,
                               .health = lyc_api_health,
                               .health_arg = &self->api,
                               .routes = routes,
                               .n_routes = n,
                               .threads = (unsigned) config->http_threads};
    self->http = lyc_httpd_new(&http);
    return self->http ? 0 : -1;
}

lyc_monitor_t *lyc_monitor_new(const lyc_settings_t *settings, const lyc_monitor_config_t *config)
{
    lyc_monitor_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    atomic_init(&self->healthy, 0);
    self->metrics = lyc_metrics_new();
    self->snapshot = lyc_snapshot_new();
    if (!self->metrics || !self->snapshot)
        goto out_destroy;
    self->feed_args = (lyc_feed_args_t){.settings = settings,
                                        .config = config,
                                        .snapshot = self->snapshot,
                                        .metrics = self->metrics,
                                        .healthy = &self->healthy};
    self->feed = zactor_new(lyc_feed_actor, &self->feed_args);
    if (!self->feed || s_feed_status(self->feed) != 0) {
        LYC_ERROR(NULL, "monitor: cannot start reading the event log from %s",
                  settings->kafka_brokers);
        goto out_destroy;
    }
    if (s_start_http(self, config) != 0)
        goto out_destroy;
    LYC_INFO(NULL, "monitor: dashboard at http://%s/ (topics %s, %s, %s, %s)", config->http_listen,
             settings->topic_feedback, settings->topic_roles, settings->topic_registry,
             settings->topic_training);
    return self;
out_destroy:
    lyc_monitor_destroy(&self);
    return NULL;
}

void lyc_monitor_destroy(lyc_monitor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_monitor_t *self = *self_p;
    lyc_httpd_destroy(&self->http); /* no handler reads the snapshot after this */
    zactor_destroy(&self->feed);
    lyc_snapshot_destroy(&self->snapshot);
    lyc_metrics_destroy(&self->metrics);
    free(self);
    *self_p = NULL;
}

int lyc_monitor_port(const lyc_monitor_t *self)
{
    return lyc_httpd_port(self->http);
}
