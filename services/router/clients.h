/*
 * clients.h - the ZeroMQ client API: CLIENT_QUERY in, CLIENT_REPLY out, with
 * the same content as the HTTP front door, for services that prefer the bus.
 *
 * A proxy thread owns the public ROUTER socket and passes requests to a pool
 * of threads (each with its own REP socket and query context) over inproc.
 */
#ifndef LYCEUM_ROUTER_CLIENTS_H
#define LYCEUM_ROUTER_CLIENTS_H

#include "router.h"

typedef struct lyc_clients_t lyc_clients_t;

/* Binds router->config.clients_bind and starts the threads; NULL (logged) on failure. */
lyc_clients_t *lyc_clients_new(lyc_router_t *router);

/* Stops the threads and closes the sockets. Accepts NULL; nulls *self_p. */
void lyc_clients_destroy(lyc_clients_t **self_p);

#endif
