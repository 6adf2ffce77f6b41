/*
 * pool.c - the call threads and their inproc sockets (see pool.h).
 */
#include "pool.h"

#include "caller.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a thread waits for a command before it looks again. */
#define S_THREAD_POLL_MS 1000

typedef struct {
    const lyc_backend_env_t *env;
    const char *worker_id;
    char pipe_endpoint[96]; /* "inproc://...", without the @ or > */
    const char *results_endpoint;
    pthread_t tid;
    int started;   /* the thread runs and must be joined */
    int ready;     /* it made its caller and serves jobs */
    zsock_t *pipe; /* the main loop's end of the thread's PAIR */
} s_thread_t;

struct lyc_pool_t {
    s_thread_t *threads;
    size_t count;
    size_t *idle; /* stack of idle thread indices */
    size_t n_idle;
    zsock_t *results;          /* PULL: answered jobs from every thread */
    char results_endpoint[96]; /* "inproc://...", without the @ or > */
};

/* ---- jobs -------------------------------------------------------------- */

lyc_job_t *lyc_job_new(lyc_envelope_t *env, size_t link, int64_t received_us)
{
    lyc_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->env = *env;
    memset(env, 0, sizeof *env);
    job->link = link;
    job->received_us = received_us;
    lyceum__v1__answer__init(&job->answer);
    return job;
}

void lyc_job_destroy(lyc_job_t **job_p)
{
    if (!job_p || !*job_p)
        return;
    lyc_answer_release(&(*job_p)->answer);
    lyc_envelope_clear(&(*job_p)->env);
    free(*job_p);
    *job_p = NULL;
}

const lyc_task_t *lyc_job_task(const lyc_job_t *job)
{
    return (const lyc_task_t *) job->env.payload;
}

/* ---- a thread ---------------------------------------------------------- */

/* Sends the answered job back; retries while the send times out, since a
 * job must never be lost (the PULL end is always there until the pool goes). */
static void s_thread_return(zsock_t *push, lyc_job_t *job)
{
    for (int tries = 0; zsock_send(push, "p", job) != 0; tries++)
        LYC_ERROR(NULL, "pool: cannot return an answered job (try %d)", tries + 1);
}

/* Serves jobs until "$TERM". */
static void s_thread_serve(zsock_t *pipe, zsock_t *push, lyc_caller_t *caller)
{
    for (;;) {
        char *command = NULL;
        void *ptr = NULL;
        if (zsock_recv(pipe, "sp", &command, &ptr) != 0)
            continue; /* time-out: look again */
        int term = !command || strcmp(command, "$TERM") == 0;
        free(command);
        if (term)
            return;
        lyc_job_t *job = ptr;
        lyc_caller_answer(caller, lyc_job_task(job), job->received_us, &job->answer);
        s_thread_return(push, job);
    }
}

static void *s_thread_main(void *arg)
{
    s_thread_t *t = arg;
    char endpoint[100];
    snprintf(endpoint, sizeof endpoint, ">%s", t->pipe_endpoint);
    zsock_t *pipe = zsock_new_pair(endpoint);
    snprintf(endpoint, sizeof endpoint, ">%s", t->results_endpoint);
    zsock_t *push = zsock_new_push(endpoint);
    lyc_caller_t *caller = pipe && push ? lyc_caller_new(t->env, t->worker_id) : NULL;
    if (pipe) {
        zsock_set_rcvtimeo(pipe, S_THREAD_POLL_MS);
        zsock_set_sndtimeo(pipe, S_THREAD_POLL_MS);
        if (zsock_send(pipe, "i", caller ? 0 : -1) != 0)
            LYC_ERROR(NULL, "pool: a call thread cannot report that it started");
    }
    if (caller)
        s_thread_serve(pipe, push, caller);
    lyc_caller_destroy(&caller);
    zsock_destroy(&push);
    zsock_destroy(&pipe);
    return NULL;
}

/* Starts thread i and waits until it reports whether it is ready. */
static int s_thread_start(lyc_pool_t *self, size_t i, const lyc_backend_env_t *env,
                          const char *worker_id, char *err, size_t errcap)
{
    s_thread_t *t = &self->threads[i];
    t->env = env;
    t->worker_id = worker_id;
    t->results_endpoint = self->results_endpoint;
    snprintf(t->pipe_endpoint, sizeof t->pipe_endpoint, "inproc://lyc-pool-%p-%zu", (void *) self,
             i);
    char endpoint[100];
    snprintf(endpoint, sizeof endpoint, "@%s", t->pipe_endpoint);
    t->pipe = zsock_new_pair(endpoint);
    if (!t->pipe) {
        snprintf(err, errcap, "pool: cannot bind %s", t->pipe_endpoint);
        return -1;
    }
    zsock_set_rcvtimeo(t->pipe, LYC_POOL_START_TIMEOUT_MS);
    if (pthread_create(&t->tid, NULL, s_thread_main, t) != 0) {
        snprintf(err, errcap, "pool: cannot start thread %zu", i);
        return -1;
    }
    t->started = 1;
    int status = -1;
    if (zsock_recv(t->pipe, "i", &status) != 0 || status != 0) {
        snprintf(err, errcap, "pool: call thread %zu could not start its backend (see the log)", i);
        return -1;
    }
    t->ready = 1;
    zsock_set_rcvtimeo(t->pipe, S_THREAD_POLL_MS);
    zsock_set_sndtimeo(t->pipe, S_THREAD_POLL_MS);
    return 0;
}

/* ---- the pool -------------------------------------------------------- */

lyc_pool_t *lyc_pool_new(const lyc_backend_env_t *env, size_t threads, const char *worker_id,
                         char *err, size_t errcap)
{
    lyc_pool_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    snprintf(self->results_endpoint, sizeof self->results_endpoint, "inproc://lyc-pool-%p-results",
             (void *) self);
    char endpoint[100];
    snprintf(endpoint, sizeof endpoint, "@%s", self->results_endpoint);
    self->threads = calloc(threads, sizeof *self->threads);
    self->idle = calloc(threads, sizeof *self->idle);
    self->results = zsock_new_pull(endpoint);
    if (!self->threads || !self->idle || !self->results) {
        snprintf(err, errcap, "pool: out of memory or sockets");
        goto out_destroy;
    }
    for (size_t i = 0; i < threads; i++) {
        self->count = i + 1;
        if (s_thread_start(self, i, env, worker_id, err, errcap) != 0)
            goto out_destroy;
        self->idle[self->n_idle++] = i;
    }
    return self;
out_destroy:
    lyc_pool_destroy(&self);
    return NULL;
}

void lyc_pool_destroy(lyc_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_pool_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        s_thread_t *t = &self->threads[i];
        /* A thread that failed to start has ended on its own; a ready one
         * reads its pipe within S_THREAD_POLL_MS of finishing its call. */
        if (t->ready && zsock_send(t->pipe, "sp", "$TERM", NULL) != 0) {
            LYC_ERROR(NULL, "pool: thread %zu does not take $TERM; leaving it", i);
            pthread_detach(t->tid);
            t->started = 0;
        }
        if (t->started)
            pthread_join(t->tid, NULL);
        zsock_destroy(&t->pipe);
    }
    lyc_job_t *job;
    while (self->results && (job = lyc_pool_collect(self)))
        lyc_job_destroy(&job);
    zsock_destroy(&self->results);
    free(self->threads);
    free(self->idle);
    free(self);
    *self_p = NULL;
}

size_t lyc_pool_idle(const lyc_pool_t *self)
{
    return self->n_idle;
}

size_t lyc_pool_busy(const lyc_pool_t *self)
{
    return self->count - self->n_idle;
}

int lyc_pool_submit(lyc_pool_t *self, lyc_job_t **job_p)
{
    if (self->n_idle == 0)
        return -1;
    size_t i = self->idle[self->n_idle - 1];
    (*job_p)->thread = i;
    if (zsock_send(self->threads[i].pipe, "sp", "JOB", *job_p) != 0) {
        LYC_ERROR(NULL, "pool: cannot hand a job to thread %zu", i);
        return -1;
    }
    self->n_idle--;
    *job_p = NULL;
    return 0;
}

zsock_t *lyc_pool_results(lyc_pool_t *self)
{
    return self->results;
}

lyc_job_t *lyc_pool_collect(lyc_pool_t *self)
{
    if (!(zsock_events(self->results) & ZMQ_POLLIN))
        return NULL;
    void *ptr = NULL;
    if (zsock_recv(self->results, "p", &ptr) != 0 || !ptr)
        return NULL;
    lyc_job_t *job = ptr;
    self->idle[self->n_idle++] = job->thread;
    return job;
}
