/*
 * clients.c - the ZeroMQ client API's proxy and its query threads.
 */
#include "clients.h"

#include "bus.h"
#include "log.h"
#include "pb.h"
#include "pipeline.h"
#include "recorder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define S_BACKEND "inproc://lyceum-router-clients"

struct lyc_clients_t {
    lyc_router_t *router;
    zactor_t *proxy;
    pthread_t *threads;
    long n_threads;
    atomic_int stop;
    int failed; /* the proxy could not bind */
    int held;   /* holds the router's recorder */
};

/* Forwards whole multipart messages between the public ROUTER and the pool. */
static void s_proxy_actor(zsock_t *pipe, void *arg)
{
    lyc_clients_t *self = arg;
    zsock_t *front = zsock_new(ZMQ_ROUTER);
    zsock_t *back = zsock_new(ZMQ_DEALER);
    lyc_bus_socket_setup(front);
    if (lyc_bus_security_server(self->router->security, front) != 0 ||
        zsock_bind(front, "%s", self->router->config.clients_bind) < 0 ||
        zsock_bind(back, S_BACKEND) < 0) {
        LYC_ERROR(NULL, "router: cannot bind the client API on %s: %s",
                  self->router->config.clients_bind, zmq_strerror(zmq_errno()));
        zsock_destroy(&front);
        zsock_destroy(&back);
        self->failed = 1;
        zsock_signal(pipe, 1);
        return;
    }
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, front, back, NULL);
    for (;;) {
        zsock_t *which = zpoller_wait(poller, -1);
        if (!which || which == pipe)
            break;
        zmsg_t *msg = zmsg_recv(which);
        if (msg && zmsg_send(&msg, which == front ? back : front) != 0)
            zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&front);
    zsock_destroy(&back);
}

static void s_serve_one(lyc_query_ctx_t *ctx, zsock_t *rep)
{
    lyc_bus_msg_t msg;
    int got = lyc_bus_recv(rep, &msg);
    if (got < 0)
        return;
    Lyceum__V1__ClientReply *reply = NULL;
    if (got == 1 && msg.env.type == LYCEUM__V1__MESSAGE_TYPE__CLIENT_QUERY)
        reply = lyc_pipeline_run(ctx, (Lyceum__V1__ClientQuery *) msg.env.payload);
    if (!reply && (reply = lyc_pb_new(&lyceum__v1__client_reply__descriptor))) {
        Lyceum__V1__Error *e = lyc_pb_new(&lyceum__v1__error__descriptor);
        if (e) {
            e->code = LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST;
            e->message = strdup("expected one CLIENT_QUERY");
        }
        reply->error = e;
    }
    /* A REP socket must answer every request, even one it dropped as malformed. */
    if (reply)
        lyc_bus_send(rep, NULL, LYCEUM__V1__MESSAGE_TYPE__CLIENT_REPLY, reply->trace_id,
                     &reply->base);
    lyc_pb_free(reply);
    lyc_bus_msg_clear(&msg);
}

static void *s_thread(void *arg)
{
    lyc_clients_t *self = arg;
    lyc_query_ctx_t *ctx = NULL;
    zsock_t *rep = zsock_new_rep(">" S_BACKEND);
    if (!rep)
        return NULL;
    lyc_bus_socket_setup(rep);
    zsock_set_rcvtimeo(rep, 200);
    while (!atomic_load(&self->stop)) {
        if (!ctx && !(ctx = lyc_query_ctx_new(self->router))) {
            zclock_sleep(500); /* Redis is away: try again, requests wait in the queue */
            continue;
        }
        s_serve_one(ctx, rep);
    }
    lyc_query_ctx_destroy(&ctx);
    zsock_destroy(&rep);
    return NULL;
}

lyc_clients_t *lyc_clients_new(lyc_router_t *router)
{
    lyc_clients_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->router = router;
    if (lyc_recorder_hold(router) != 0) {
        free(self);
        return NULL;
    }
    self->held = 1;
    /* zactor_new returns after the actor's first signal, so `failed` is settled. */
    self->proxy = zactor_new(s_proxy_actor, self);
    self->threads = calloc((size_t) router->config.clients_threads, sizeof *self->threads);
    if (!self->proxy || self->failed || !self->threads)
        goto out_fail;
    for (long i = 0; i < router->config.clients_threads; i++) {
        if (pthread_create(&self->threads[i], NULL, s_thread, self) != 0)
            goto out_fail;
        self->n_threads++;
    }
    return self;
out_fail:
    lyc_clients_destroy(&self);
    return NULL;
}

void lyc_clients_destroy(lyc_clients_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_clients_t *self = *self_p;
    atomic_store(&self->stop, 1);
    for (long i = 0; i < self->n_threads; i++)
        pthread_join(self->threads[i], NULL);
    zactor_destroy(&self->proxy);
    if (self->held) /* after every query thread has stopped */
        lyc_recorder_release(self->router);
    free(self->threads);
    free(self);
    *self_p = NULL;
}
