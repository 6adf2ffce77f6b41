/*
 * broker.h - the router's broker: knows every live worker and load-balances
 * tasks over the replicas of each model.
 *
 * It is a czmq actor (one thread) that owns three sockets: the workers'
 * endpoint, the task endpoint for other services, and an inproc task endpoint
 * for the router's own query threads (LYC_BROKER_INPROC). It speaks the
 * protocol in bus_protocol.h: registration, heartbeats both ways, draining,
 * and forgetting dead workers. Every task gets exactly one ANSWER back: the
 * worker's, or an error (ERROR_UNAVAILABLE when no live worker serves the
 * model, ERROR_TIMEOUT past the deadline). A task whose worker dies or turns
 * it away while draining goes to another replica while the deadline allows.
 */
#ifndef LYCEUM_ROUTER_BROKER_H
#define LYCEUM_ROUTER_BROKER_H

#include <czmq.h>

#include "bus_security.h"
#include "registry.h"

/* Query threads connect a DEALER here to send TASKs and receive ANSWERs. */
#define LYC_BROKER_INPROC "inproc://lyceum-router-tasks"

typedef struct {
    const char *workers_bind;           /* ROUTER endpoint for workers */
    const char *tasks_bind;             /* ROUTER endpoint for other services */
    long default_timeout_ms;            /* deadline of a task that sets none */
    lyc_registry_t *registry;           /* where the live models are published */
    const lyc_bus_security_t *security; /* CURVE of the tcp endpoints; NULL: none */
    int failed;                         /* out: set when the broker could not start */
} lyc_broker_args_t;

/* Starts the broker. Returns NULL (logged) when an endpoint cannot be bound.
 * args must stay valid until the actor is destroyed; zactor_destroy stops it. */
zactor_t *lyc_broker_new(lyc_broker_args_t *args);

#endif
