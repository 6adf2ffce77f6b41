/*
 * eval_worker.h - one grading thread of the evaluator.
 *
 * A worker is a czmq actor. It owns its judge client (its own DEALER to the
 * router's task endpoint: sockets are never shared between threads), its
 * link to the judges cache and its budget keeper (each with its own Redis
 * connection), and grades one request at a time. The evaluator's main thread hands it work
 * over the actor pipe and forwards what comes back:
 *
 *   main -> worker   "JOB", route frames..., envelope frame (an EVAL_REQUEST)
 *                    "$TERM" (czmq's stop command)
 *   worker -> main   once at start: an integer, 0 ready or -1 failed
 *                    "DONE", then the reply's route frames and VERDICT
 *                    envelope, or nothing when the job was dropped
 *
 * Every JOB gets exactly one DONE, which is how the main thread knows the
 * worker is free again.
 */
#ifndef LYCEUM_EVALUATOR_EVAL_WORKER_H
#define LYCEUM_EVALUATOR_EVAL_WORKER_H

#include "bus_security.h"
#include "embed.h"
#include "eval_config.h"
#include "judges.h"

#include <czmq.h>

#define LYC_EVAL_WORKER_JOB  "JOB"
#define LYC_EVAL_WORKER_DONE "DONE"

/* What every worker borrows; it must outlive the workers. */
typedef struct {
    const lyc_eval_config_t *config;
    const lyc_embedder_t *embedder;
    const char *tasks_endpoint; /* bus.tasks */
    lyc_judges_t *judges;       /* who judges each domain; NULL: always the supervisor */
    const char *redis_url;      /* budgets (judge_budget.h); NULL: not held to them */
    const char *redis_prefix;
    long redis_timeout_ms;
    const lyc_bus_security_t *security; /* CURVE of the judge client; NULL: none */
} lyc_eval_worker_args_t;

/* The actor function (zactor_new(lyc_eval_worker_actor, args)); args is a
 * lyc_eval_worker_args_t. Returns when it receives $TERM. */
void lyc_eval_worker_actor(zsock_t *pipe, void *args);

#endif
