/*
 * http.h - the OpenAI-compatible front door (libmicrohttpd).
 *
 *   POST /v1/chat/completions   a query (JSON; `stream: true` for server-sent events)
 *   POST /v1/lyceum/feedback    a user's score of an answer (human_feedback.h)
 *   GET  /v1/models             the live models, and "lyceum" (let Lyceum choose)
 *   GET  /healthz               200 while the router serves
 *   GET  /metrics               Prometheus text exposition
 *
 * A pool of threads serves connections; each thread runs whole queries with
 * its own connections (lyc_query_ctx_t), made on first use.
 */
#ifndef LYCEUM_ROUTER_HTTP_H
#define LYCEUM_ROUTER_HTTP_H

#include "router.h"

typedef struct lyc_http_server_t lyc_http_server_t;

/* Starts serving on router->config.http_listen; NULL (logged) when the
 * address is bad or taken. */
lyc_http_server_t *lyc_http_server_new(lyc_router_t *router);

/* Stops accepting, waits for the threads, frees. Accepts NULL; nulls *self_p. */
void lyc_http_server_destroy(lyc_http_server_t **self_p);

/* Parses "host:port" into an IPv4 address; 0 or -1. */
int lyc_http_parse_listen(const char *listen, void *sockaddr_in_out);

#endif
