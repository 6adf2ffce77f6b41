/*
 * pool.h - `capacity` threads, each answering one task at a time with its
 * own caller (own backend, own connections).
 *
 * The worker's main loop owns every bus socket; threads never touch them.
 * A task goes to an idle thread over that thread's own inproc PAIR socket
 * as a pointer to a lyc_job_t (ownership moves with it), and comes back,
 * answered, over the thread's own PUSH socket to one PULL socket the main
 * loop polls (lyc_pool_results). No socket is shared between threads.
 */
#ifndef LYCEUM_WORKER_POOL_H
#define LYCEUM_WORKER_POOL_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "bus.h"

/* One task on its way through the worker. */
typedef struct {
    lyc_envelope_t env;  /* the TASK as received; env.payload is the Task */
    size_t link;         /* which router link it came by */
    int64_t received_us; /* lyc_mono_us() at arrival */
    size_t thread;       /* set by the pool */
    lyc_answer_t answer; /* filled by the pool thread */
} lyc_job_t;

/* A new job taking the envelope from *env (which is left cleared). */
lyc_job_t *lyc_job_new(lyc_envelope_t *env, size_t link, int64_t received_us);

/* Frees the job, its answer and its task; accepts NULL, nulls *job_p. */
void lyc_job_destroy(lyc_job_t **job_p);

/* The job's Task. */
const lyc_task_t *lyc_job_task(const lyc_job_t *job);

typedef struct lyc_pool_t lyc_pool_t;

/* Starts `threads` threads, each making its caller from env, and waits (at
 * most LYC_POOL_START_TIMEOUT_MS) for all to be ready. Returns NULL with the
 * reason in err when one cannot start. env and worker_id must outlive the
 * pool. */
lyc_pool_t *lyc_pool_new(const lyc_backend_env_t *env, size_t threads, const char *worker_id,
                         char *err, size_t errcap);

#define LYC_POOL_START_TIMEOUT_MS 60000

/* Stops every thread and waits for it (a thread busy with a call finishes
 * it first; calls are bounded by their deadlines). Jobs still inside are
 * freed. Accepts NULL, nulls *self_p. */
void lyc_pool_destroy(lyc_pool_t **self_p);

/* Threads free / working. */
size_t lyc_pool_idle(const lyc_pool_t *self);
size_t lyc_pool_busy(const lyc_pool_t *self);

/* Hands *job_p to an idle thread. Returns 0 and takes the job, or -1 (job
 * untouched) when no thread is idle or the hand-over fails. */
int lyc_pool_submit(lyc_pool_t *self, lyc_job_t **job_p);

/* The socket to poll for answered jobs. */
zsock_t *lyc_pool_results(lyc_pool_t *self);

/* One answered job (the caller owns it), or NULL when none is waiting. */
lyc_job_t *lyc_pool_collect(lyc_pool_t *self);

#endif
