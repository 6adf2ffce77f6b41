/*
 * worker.h - one model's worker on the bus: registration, heartbeats,
 * tasks in, answers out, drain on stop.
 *
 * The conversation with the routers is the one specified in bus_protocol.h.
 * The worker connects one DEALER to every address in bus.workers (one per
 * router replica) and on each:
 *   - sends WORKER_REGISTER when it connects, and again whenever a router
 *     sends it an empty WORKER_REGISTER ("I do not know you");
 *   - sends WORKER_HEARTBEAT every LYC_HEARTBEAT_INTERVAL_MS (in flight,
 *     capacity, served, draining);
 *   - treats a router it has not heard from for LYC_HEARTBEAT_LIVENESS
 *     intervals as gone: closes that socket, waits (exponential back-off
 *     from LYC_RECONNECT_MIN_MS to LYC_RECONNECT_MAX_MS), opens a new one and
 *     registers again;
 *   - answers every TASK with an ANSWER on the socket it came by.
 *
 * Capacity: `capacity` calls run at once on the pool's threads (pool.h);
 * up to `queue` more wait in arrival order; a task beyond that is answered
 * at once with ERROR_UNAVAILABLE, retryable. A task that waited past its
 * deadline gets ERROR_TIMEOUT without a call. A TASK for another model gets
 * ERROR_BAD_REQUEST.
 *
 * Stopping (lyc_worker_stop, e.g. from SIGTERM): the worker drains. It sends
 * a heartbeat with draining set, answers the tasks still waiting in its
 * queue and any new TASK with ERROR_UNAVAILABLE, retryable (so the router
 * sends them elsewhere), finishes the calls in flight, sends
 * WORKER_DEREGISTER on every socket and returns. A second stop, or a drain
 * longer than drain_timeout_ms, ends it at once.
 *
 * Metrics (when config->metrics is set; main.c serves them on --http):
 *   lyceum_worker_calls_total{model,outcome}   tasks answered, outcome "ok" or
 *                                              the error ("timeout", "unavailable", ...)
 *   lyceum_worker_call_seconds{model}          backend call latency (histogram)
 *   lyceum_worker_cost_usd_total{model}        what the calls cost
 *   lyceum_worker_tokens_total{model,kind}     prompt and completion tokens
 *   lyceum_worker_in_flight{model}             calls running on the pool's threads
 *   lyceum_worker_queue_depth{model}           tasks waiting for a thread
 *   lyceum_worker_capacity{model}              calls it runs at once
 */
#ifndef LYCEUM_WORKER_WORKER_H
#define LYCEUM_WORKER_WORKER_H

#include <stddef.h>

#include "backend.h"
#include "metrics.h"

#define LYC_WORKER_DRAIN_TIMEOUT_MS 30000

/* What lyc_worker_run() reports. */
#define LYC_WORKER_DRAINED 0 /* stopped after a clean drain */
#define LYC_WORKER_CUT     1 /* stopped at once: second stop or drain time-out */
#define LYC_WORKER_FAILED  (-1)

typedef struct {
    const lyc_settings_t *settings;  /* the cluster's shared settings */
    const lyc_model_config_t *model; /* the model this worker serves */
    const lyc_backend_env_t *env;    /* prepared backend (backend.h) */
    const char *worker_id;           /* NULL: "<model>#<hostname>:<pid>" */
    const char *endpoints;           /* NULL: settings->bus_workers; comma-separated */
    size_t queue;                    /* tasks waiting beyond capacity; 0: 2 * capacity */
    long drain_timeout_ms;           /* 0: LYC_WORKER_DRAIN_TIMEOUT_MS */
    lyc_metrics_t *metrics;          /* NULL, or where the worker counts its calls (below) */
} lyc_worker_config_t;

typedef struct lyc_worker_t lyc_worker_t;

/* Checks a comma-separated list of router addresses (bus.workers): at
 * least one, each one ZeroMQ can connect to. Returns 0, or -1 with the
 * reason in err. */
int lyc_worker_check_endpoints(const char *list, char *err, size_t errcap);

/* Makes the worker and starts its call threads (each makes its backend, so
 * an unreachable Redis for the memory backend fails here). Does not connect
 * yet. Everything config points to must outlive the worker. Returns NULL
 * with the reason in err. */
lyc_worker_t *lyc_worker_new(const lyc_worker_config_t *config, char *err, size_t errcap);

/* Connects, registers and serves until stopped. Returns LYC_WORKER_DRAINED,
 * LYC_WORKER_CUT (calls may still be running: the caller should exit the
 * process rather than destroy the worker) or LYC_WORKER_FAILED. */
int lyc_worker_run(lyc_worker_t *self);

/* Asks the worker to stop: the first call drains, the second cuts. Safe
 * from a signal handler and from any thread. */
void lyc_worker_stop(lyc_worker_t *self);

/* Stops the call threads (waiting for calls in flight) and frees the
 * worker. Accepts NULL, nulls *self_p. */
void lyc_worker_destroy(lyc_worker_t **self_p);

/* The worker id it registers with. */
const char *lyc_worker_id(const lyc_worker_t *self);

#endif
