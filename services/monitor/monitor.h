/*
 * monitor.h - the monitor service: the log reader (feed.h), its snapshot
 * (snapshot.h) and the HTTP server with the dashboard, the JSON API,
 * /metrics and /healthz (api.h, common/http_server.h).
 */
#ifndef LYCEUM_MONITOR_MONITOR_H
#define LYCEUM_MONITOR_MONITOR_H

#include "monitor_config.h"
#include "settings.h"

typedef struct lyc_monitor_t lyc_monitor_t;

/* How long lyc_monitor_new waits for the reader to start. */
#define LYC_MONITOR_START_TIMEOUT_MS 10000

/* Starts the reader and the HTTP server. settings and config must outlive
 * the monitor. NULL (logged) when the consumer cannot be made or the HTTP
 * address is bad or taken. */
lyc_monitor_t *lyc_monitor_new(const lyc_settings_t *settings, const lyc_monitor_config_t *config);

/* Stops the server, then the reader. Accepts NULL; nulls *self_p. */
void lyc_monitor_destroy(lyc_monitor_t **self_p);

/* The HTTP port (the chosen one when http_listen asked for port 0). */
int lyc_monitor_port(const lyc_monitor_t *self);

#endif
