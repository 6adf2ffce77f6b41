/*
 * http_server.h - a small embedded HTTP server (libmicrohttpd) that every
 * Lyceum service starts for its operational endpoints:
 *
 *   GET /metrics   the service's metrics registry in Prometheus text format
 *   GET /healthz   200 {"status":"ok",...} while healthy, 503 otherwise
 *   GET <route>    the service's own pages (the monitor's dashboard and API)
 *
 * Only GET and HEAD are served (these endpoints never take a body); any
 * other method gets 405. The server counts its own traffic in the registry
 * it renders, as lyceum_<service>_http_requests_total{path,status} and
 * lyceum_<service>_http_request_seconds{path}, with `path` one of the
 * declared routes or "other" so a scan of random URLs cannot blow up the
 * number of series, and sets lyceum_<service>_start_time_seconds.
 *
 * Threads: a pool of `threads` threads (libmicrohttpd's) calls the handlers,
 * so handlers must be thread-safe; they should answer from a snapshot
 * rather than take locks the service's hot path needs.
 */
#ifndef LYCEUM_HTTP_SERVER_H
#define LYCEUM_HTTP_SERVER_H

#include "metrics.h"

#include <cJSON.h>
#include <stddef.h>

typedef struct lyc_httpd_t lyc_httpd_t;

/* A request as a handler sees it; valid during the handler call only. */
typedef struct lyc_httpd_request_t lyc_httpd_request_t;

/* What a handler answers. The server starts it as 200, application/json,
 * no body. Set either body (malloc'd; the server frees it, also on error)
 * or static_body (never freed: embedded pages). len 0 means strlen. */
typedef struct {
    int status;
    const char *content_type;
    char *body;
    const char *static_body;
    size_t len;
} lyc_httpd_reply_t;

/* Fills *reply for req. Returns 0, or -1 for an internal failure (the
 * server answers 500 and frees any body set). */
typedef int (*lyc_httpd_handler_fn)(void *arg, const lyc_httpd_request_t *req,
                                    lyc_httpd_reply_t *reply);

/* Adds fields to the /healthz object (e.g. "workers": 3). Returns 0 when
 * healthy, -1 when not (the server answers 503 with "status":"unhealthy"). */
typedef int (*lyc_httpd_health_fn)(void *arg, cJSON *detail);

/* One route: an exact path ("/api/overview"), or a prefix when it ends in
 * a star ("/api/" followed by a star matches "/api/cost"). The first matching
 * route wins. */
typedef struct {
    const char *path;
    lyc_httpd_handler_fn handler;
    void *arg;
} lyc_httpd_route_t;

#define LYC_HTTPD_MAX_ROUTES  32
#define LYC_HTTPD_THREADS     2
#define LYC_HTTPD_TIMEOUT_S   30
#define LYC_HTTPD_SERVICE_MAX 32

typedef struct {
    const char *listen;              /* "host:port"; port 0 picks a free one */
    const char *service;             /* [a-z_]+: names the metrics and log lines */
    lyc_metrics_t *metrics;          /* rendered by /metrics; borrowed, must outlive */
    lyc_httpd_health_fn health;      /* NULL: always healthy */
    void *health_arg;                /* passed to health */
    const lyc_httpd_route_t *routes; /* copied; at most LYC_HTTPD_MAX_ROUTES */
    size_t n_routes;                 /* entries in routes */
    unsigned threads;                /* 0: LYC_HTTPD_THREADS */
} lyc_httpd_config_t;

/* Parses "host:port" (host may be empty or "localhost"; IPv4) into the
 * struct sockaddr_in at out. Returns 0, or -1 when it is not host:port. */
int lyc_httpd_parse_listen(const char *listen, void *sockaddr_in_out);

/* Declares the request metrics, binds and starts serving. Returns NULL
 * (reason logged) when the address is bad or taken, or a name is invalid.
 * The caller owns the server. */
lyc_httpd_t *lyc_httpd_new(const lyc_httpd_config_t *config);

/* Stops accepting, waits for the handlers under way, frees. Accepts NULL;
 * nulls *self_p. */
void lyc_httpd_destroy(lyc_httpd_t **self_p);

/* The TCP port the server listens on (the chosen one when asked for 0). */
int lyc_httpd_port(const lyc_httpd_t *self);

/* The request's method ("GET" or "HEAD") and path without the query string. */
const char *lyc_httpd_method(const lyc_httpd_request_t *req);
const char *lyc_httpd_path(const lyc_httpd_request_t *req);

/* The value of a query-string argument (?name=value), or NULL. */
const char *lyc_httpd_arg(const lyc_httpd_request_t *req, const char *name);

/* Convenience for handlers: sets a JSON reply from a cJSON tree (not
 * consumed). Returns 0, or -1 when out of memory. */
int lyc_httpd_reply_json(lyc_httpd_reply_t *reply, int status, const cJSON *json);

#endif
