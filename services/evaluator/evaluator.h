/*
 * evaluator.h - the evaluator service: a ROUTER on evaluator.bind answering
 * EVAL_REQUEST with VERDICT (same trace id), several requests at once.
 *
 * The main thread (a czmq actor) owns the ROUTER and hands each request to a
 * free grading thread (eval_worker.h); a request that finds every thread busy
 * waits in a queue of evaluator.queue_max, and past that gets a retryable
 * ERROR_UNAVAILABLE verdict at once, so a router is never left to time out
 * behind a slow judge. Verdicts may come back in any order; the router
 * matches them by trace id.
 */
#ifndef LYCEUM_EVALUATOR_EVALUATOR_H
#define LYCEUM_EVALUATOR_EVALUATOR_H

#include "bus_security.h"
#include "eval_config.h"

typedef struct lyc_evaluator_t lyc_evaluator_t;

/* Where the evaluator's neighbours are. */
typedef struct {
    const char *tasks_endpoint; /* the router's task endpoint (bus.tasks) */
    const char *redis_url; /* stats, roles and judges; NULL or "": the supervisor always judges */
    const char *redis_prefix;           /* key prefix (redis.prefix) */
    long redis_timeout_ms;              /* connect and command time-out */
    const lyc_bus_security_t *security; /* CURVE: the ROUTER a server, the judge clients
                                           clients; NULL: none. Must outlive the evaluator */
} lyc_evaluator_links_t;

/* Binds config->bind (one endpoint; "tcp://host:*" picks a free port),
 * starts config->threads grading threads connected to links->tasks_endpoint
 * and serves until destroyed; with a Redis URL, judging is delegated per
 * domain (judges.h). config must outlive the evaluator; the strings of links
 * are copied. Returns NULL, with the reason logged, when the bind fails or a
 * thread cannot start. A Redis that cannot be reached does not stop it. */
lyc_evaluator_t *lyc_evaluator_new(const lyc_eval_config_t *config,
                                   const lyc_evaluator_links_t *links);

/* The TCP port the ROUTER is bound to (0 for inproc or ipc endpoints). */
int lyc_evaluator_port(const lyc_evaluator_t *self);

/* Stops the service: requests under way are abandoned, queued ones dropped.
 * Accepts NULL; sets *self_p to NULL. */
void lyc_evaluator_destroy(lyc_evaluator_t **self_p);

#endif
