/*
 * evaluator.c - the evaluator's main thread: the ROUTER, the queue and the
 * pool of grading threads.
 */
#include "evaluator.h"

#include "bus.h"
#include "eval_worker.h"
#include "evaluate.h"
#include "grade.h"
#include "clock.h"
#include "judges.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* How long the main thread waits for a thread's or its own start (ms). */
#define S_START_TIMEOUT_MS 10000
/* Longest wait of the main loop before it looks again (ms). */
#define S_POLL_MS 1000

struct lyc_evaluator_t {
    zactor_t *actor;
    int port;
    lyc_embedder_t *embedder;
    char *tasks_endpoint;
    const lyc_bus_security_t *security; /* borrowed; NULL: no CURVE */
    lyc_judges_t *judges;               /* NULL without Redis */
    char *redis_url;                    /* NULL without Redis */
    char *redis_prefix;
    lyc_eval_worker_args_t worker_args;
};

/* The main thread's state. */
typedef struct {
    zsock_t *pipe;     /* borrowed: the actor pipe */
    zsock_t *frontend; /* ROUTER on evaluator.bind */
    zactor_t **workers;
    int *idle; /* per worker: 1 when it has no job */
    size_t n_workers;
    zlist_t *queue; /* zmsg_t * waiting for a free worker */
    size_t queue_max;
    zpoller_t *poller;
    int64_t *started; /* per worker: when its job was handed over (lyc_mono_us) */
    /* Metrics, when the config carries a registry (main.c serves it): */
    lyc_counter_t *requests;  /* lyceum_evaluator_requests_total{outcome} */
    lyc_histogram_t *seconds; /* lyceum_evaluator_request_seconds */
    lyc_gauge_t *queued, *in_flight;
} s_server_t;

/* Declares the evaluator's metric families in config->metrics, if any. */
static int s_declare_metrics(s_server_t *server, lyc_metrics_t *r)
{
    if (!r)
        return 0;
    server->requests = lyc_metrics_counter(r, "lyceum_evaluator_requests_total",
                                           "Evaluation requests by outcome (answered, dropped, "
                                           "busy)",
                                           "outcome");
    server->seconds =
        lyc_metrics_histogram(r, "lyceum_evaluator_request_seconds",
                              "Time from a request's hand-over to its verdict", NULL, NULL, 0);
    server->queued = lyc_metrics_gauge(r, "lyceum_evaluator_queue_depth",
                                       "Requests waiting for a grading thread", NULL);
    server->in_flight =
        lyc_metrics_gauge(r, "lyceum_evaluator_in_flight", "Requests being graded", NULL);
    return server->requests && server->seconds && server->queued && server->in_flight ? 0 : -1;
}

/* Counts a finished request and refreshes the gauges (no-op without metrics). */
static void s_count(s_server_t *server, const char *outcome, int64_t started_us)
{
    if (!server->requests)
        return;
    if (outcome) {
        const char *labels[] = {outcome};
        lyc_counter_add(server->requests, labels, 1);
    }
    if (started_us > 0)
        lyc_histogram_observe(server->seconds, NULL, (double) (lyc_mono_us() - started_us) / 1e6);
    size_t busy = 0;
    for (size_t i = 0; i < server->n_workers; i++)
        busy += !server->idle[i];
    lyc_gauge_set(server->queued, NULL, (double) zlist_size(server->queue));
    lyc_gauge_set(server->in_flight, NULL, (double) busy);
}

/* Waits for the integer an actor sends when its start is done. */
static int s_start_status(zactor_t *actor)
{
    int status = -1;
    zsock_t *sock = zactor_sock(actor);
    zsock_set_rcvtimeo(sock, S_START_TIMEOUT_MS);
    if (zsock_recv(sock, "i", &status) != 0)
        status = -1;
    zsock_set_rcvtimeo(sock, -1);
    return status;
}

static void s_server_free(s_server_t *server)
{
    for (size_t i = 0; server->workers && i < server->n_workers; i++)
        zactor_destroy(&server->workers[i]);
    free(server->workers);
    free(server->idle);
    free(server->started);
    while (server->queue && zlist_size(server->queue) > 0) {
        zmsg_t *msg = zlist_pop(server->queue);
        zmsg_destroy(&msg);
    }
    zlist_destroy(&server->queue);
    zpoller_destroy(&server->poller);
    zsock_destroy(&server->frontend);
}

/* Starts the grading threads and adds them to the poller. */
static int s_start_workers(s_server_t *server, const lyc_eval_config_t *config,
                           lyc_eval_worker_args_t *args)
{
    size_t n = (size_t) config->threads;
    server->workers = calloc(n, sizeof *server->workers);
    server->idle = calloc(n, sizeof *server->idle);
    server->started = calloc(n, sizeof *server->started);
    if (!server->workers || !server->idle || !server->started)
        return -1;
    for (size_t i = 0; i < n; i++) {
        server->workers[i] = zactor_new(lyc_eval_worker_actor, args);
        if (!server->workers[i])
            return -1;
        server->n_workers = i + 1; /* from here on s_server_free stops it */
        if (s_start_status(server->workers[i]) != 0 ||
            zpoller_add(server->poller, server->workers[i]) != 0)
            return -1;
        server->idle[i] = 1;
    }
    return 0;
}

/* Binds the ROUTER and starts everything; returns the port or -1. */
static int s_server_start(s_server_t *server, zsock_t *pipe, lyc_evaluator_t *owner)
{
    const lyc_eval_config_t *config = owner->worker_args.config;
    memset(server, 0, sizeof *server);
    server->pipe = pipe;
    server->queue_max = (size_t) config->queue_max;
    server->frontend = zsock_new(ZMQ_ROUTER);
    server->queue = zlist_new();
    if (!server->frontend || !server->queue)
        return -1;
    lyc_bus_socket_setup(server->frontend);
    if (lyc_bus_security_server(owner->security, server->frontend) != 0)
        return -1;
    int port = zsock_bind(server->frontend, "%s", config->bind);
    if (port < 0) {
        LYC_ERROR(NULL, "evaluator: cannot bind '%s': %s", config->bind, zmq_strerror(zmq_errno()));
        return -1;
    }
    server->poller = zpoller_new(pipe, server->frontend, NULL);
    if (!server->poller)
        return -1;
    zpoller_set_nonstop(server->poller, true);
    if (s_declare_metrics(server, config->metrics) != 0 ||
        s_start_workers(server, config, &owner->worker_args) != 0) {
        LYC_ERROR(NULL, "evaluator: cannot start %ld grading threads", config->threads);
        return -1;
    }
    return port;
}

/* Hands msg (consumed) to worker i. */
static void s_dispatch(s_server_t *server, size_t i, zmsg_t *msg)
{
    if (zmsg_pushstr(msg, LYC_EVAL_WORKER_JOB) != 0 || zmsg_send(&msg, server->workers[i]) != 0) {
        LYC_ERROR(NULL, "evaluator: cannot hand a request to thread %zu", i);
        zmsg_destroy(&msg);
        return;
    }
    server->idle[i] = 0;
    server->started[i] = lyc_mono_us();
    s_count(server, NULL, 0);
}

/* Answers a request that found no room with a retryable "busy" verdict. */
static void s_reply_busy(s_server_t *server, zmsg_t *msg)
{
    lyc_envelope_t env;
    char err[256];
    zframe_t *body = zmsg_last(msg);

    if (!body ||
        lyc_envelope_decode(zframe_data(body), zframe_size(body), &env, err, sizeof err) != 0)
        goto out_free_msg;
    zmsg_remove(msg, body);
    zframe_destroy(&body);
    LYC_WARN(env.trace_id, "evaluator: busy: %zu requests queued", zlist_size(server->queue));
    s_count(server, "busy", 0);
    Lyceum__V1__Verdict *verdict =
        lyc_verdict_error(env.trace_id, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE,
                          "evaluator busy: every grading thread is taken", 1);
    if (verdict)
        lyc_bus_send(server->frontend, msg, LYCEUM__V1__MESSAGE_TYPE__VERDICT, env.trace_id,
                     &verdict->base);
    lyc_verdict_destroy(&verdict);
    lyc_envelope_clear(&env);
out_free_msg:
    zmsg_destroy(&msg);
}

/* A request arrived: to a free thread, else to the queue, else "busy". */
static void s_accept(s_server_t *server)
{
    zmsg_t *msg = zmsg_recv(server->frontend);
    if (!msg)
        return;
    for (size_t i = 0; i < server->n_workers; i++) {
        if (server->idle[i]) {
            s_dispatch(server, i, msg);
            return;
        }
    }
    if (zlist_size(server->queue) < server->queue_max && zlist_append(server->queue, msg) == 0) {
        s_count(server, NULL, 0);
        return;
    }
    s_reply_busy(server, msg);
}

/* Worker i is done: forwards its verdict and gives it the next request. */
static void s_collect(s_server_t *server, size_t i)
{
    zmsg_t *msg = zmsg_recv(server->workers[i]);
    if (!msg)
        return;
    char *command = zmsg_popstr(msg);
    if (command && strcmp(command, LYC_EVAL_WORKER_DONE) == 0) {
        server->idle[i] = 1;
        s_count(server, zmsg_size(msg) > 0 ? "answered" : "dropped", server->started[i]);
        if (zmsg_size(msg) > 0 && zmsg_send(&msg, server->frontend) != 0)
            LYC_WARN(NULL, "evaluator: cannot send a verdict: %s", zmq_strerror(zmq_errno()));
    }
    free(command);
    zmsg_destroy(&msg);
    if (server->idle[i] && zlist_size(server->queue) > 0)
        s_dispatch(server, i, zlist_pop(server->queue));
}

/* 1 when the actor pipe says stop. */
static int s_command(s_server_t *server)
{
    char *command = zstr_recv(server->pipe);
    int stop = !command || strcmp(command, "$TERM") == 0;
    free(command);
    return stop;
}

/* Serves until $TERM. */
static void s_serve(s_server_t *server)
{
    for (;;) {
        void *which = zpoller_wait(server->poller, S_POLL_MS);
        if (!which)
            continue;
        if (which == server->pipe) {
            if (s_command(server))
                return;
        } else if (which == server->frontend) {
            s_accept(server);
        } else {
            for (size_t i = 0; i < server->n_workers; i++)
                if (which == server->workers[i])
                    s_collect(server, i);
        }
    }
}

static void s_actor(zsock_t *pipe, void *args)
{
    lyc_evaluator_t *owner = args;
    s_server_t server;

    zsock_signal(pipe, 0);
    int port = s_server_start(&server, pipe, owner);
    if (zsock_send(pipe, "i", port) == 0 && port >= 0) {
        LYC_INFO(NULL, "evaluator: serving on %s with %zu threads, judge %s, delegation %s",
                 zsock_endpoint(server.frontend), server.n_workers,
                 *owner->worker_args.config->judge_model ? owner->worker_args.config->judge_model
                                                         : "(none)",
                 owner->judges ? "on" : "off (no Redis)");
        s_serve(&server);
    }
    s_server_free(&server);
}

lyc_evaluator_t *lyc_evaluator_new(const lyc_eval_config_t *config,
                                   const lyc_evaluator_links_t *links)
{
    lyc_evaluator_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->embedder = lyc_embedder_new(LYC_EVAL_EMBED_DIM);
    self->tasks_endpoint = strdup(links->tasks_endpoint);
    self->security = links->security;
    if (!self->embedder || !self->tasks_endpoint)
        goto out_free_self;
    if (links->redis_url && *links->redis_url) {
        self->redis_url = strdup(links->redis_url);
        self->redis_prefix = strdup(links->redis_prefix ? links->redis_prefix : "lyc");
        if (!self->redis_url || !self->redis_prefix)
            goto out_free_self;
        self->judges =
            lyc_judges_new(config, self->redis_url, self->redis_prefix, links->redis_timeout_ms);
        if (!self->judges)
            goto out_free_self;
    } else {
        LYC_WARN(NULL, "evaluator: no Redis: judging is not held to the tenants' budgets");
    }
    self->worker_args = (lyc_eval_worker_args_t){.config = config,
                                                 .embedder = self->embedder,
                                                 .tasks_endpoint = self->tasks_endpoint,
                                                 .judges = self->judges,
                                                 .redis_url = self->redis_url,
                                                 .redis_prefix = self->redis_prefix,
                                                 .redis_timeout_ms = links->redis_timeout_ms,
                                                 .security = self->security};
    self->actor = zactor_new(s_actor, self);
    if (!self->actor)
        goto out_free_self;
    self->port = s_start_status(self->actor);
    if (self->port < 0)
        goto out_free_self;
    return self;
out_free_self:
    lyc_evaluator_destroy(&self);
    return NULL;
}

int lyc_evaluator_port(const lyc_evaluator_t *self)
{
    return self->port;
}

void lyc_evaluator_destroy(lyc_evaluator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_evaluator_t *self = *self_p;
    zactor_destroy(&self->actor);
    lyc_judges_destroy(&self->judges);
    lyc_embedder_destroy(&self->embedder);
    free(self->tasks_endpoint);
    free(self->redis_url);
    free(self->redis_prefix);
    free(self);
    *self_p = NULL;
}
