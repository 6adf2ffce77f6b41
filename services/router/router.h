/*
 * router.h - what the router's threads share, and what each one owns.
 *
 * Shared (lyc_router_t): settings, the live-model registry, the embedder,
 * the feedback log, the metrics and the recorder (recorder.h, with its
 * statistics cache); each is safe to use from any thread.
 * Owned by one thread (lyc_query_ctx_t): its Redis connections and its
 * sockets to the broker and the evaluator. HTTP and ZeroMQ API threads each
 * make their own context on first use.
 */
#ifndef LYCEUM_ROUTER_ROUTER_H
#define LYCEUM_ROUTER_ROUTER_H

#include <czmq.h>

#include "bus_security.h"
#include "embed.h"
#include "embed_http.h"
#include "event_sink.h"
#include "metrics.h"
#include "redis.h"
#include "registry.h"
#include "router_config.h"
#include "settings.h"
#include "vecstore.h"

typedef struct lyc_recorder_t lyc_recorder_t;

typedef struct {
    lyc_counter_t *requests;       /* HTTP requests by path and status */
    lyc_counter_t *queries;        /* queries by path (novel, familiar) */
    lyc_counter_t *calls;          /* model calls by model and outcome */
    lyc_histogram_t *latency;      /* end-to-end query latency */
    lyc_histogram_t *call_latency; /* model call latency by model */
    lyc_counter_t *cost;           /* USD spent by model */
    lyc_gauge_t *in_flight;        /* queries under way */
    lyc_gauge_t *workers;          /* live workers by model */
} lyc_router_metrics_t;

/* A model's deadline, from the cluster file's models list. */
typedef struct {
    char name[LYC_MODEL_NAME_MAX];
    long timeout_ms;
} lyc_model_deadline_t;

typedef struct {
    lyc_settings_t settings;
    lyc_router_config_t config;
    lyc_registry_t *registry;
    lyc_embedder_t *embedder; /* builtin embedder (always made: cheap) */
    lyc_event_sink_t *events; /* feedback events to Kafka */
    lyc_metrics_t *metrics;
    lyc_router_metrics_t m;
    zactor_t *broker;
    lyc_bus_security_t *security;    /* CurveZMQ of the bus sockets (server and client) */
    char instance[64];               /* e.g. "router#host:pid", in every event */
    lyc_model_deadline_t *deadlines; /* per configured model */
    size_t n_deadlines;
    lyc_recorder_t *recorder; /* writes records after the replies (recorder.h); NULL
                                 until a front door holds it */
    int recorder_holds;       /* front doors holding it (recorder.c's lock) */
} lyc_router_t;

/* The deadline of a call to model: its configured timeout_ms, else the router's default. */
long lyc_router_deadline(const lyc_router_t *router, const char *model);

/* One thread's connections. */
typedef struct {
    lyc_router_t *router;
    lyc_vecstore_t *store;        /* query vectors and records */
    lyc_redis_t *redis;           /* statistics and profiles */
    lyc_embed_http_t *embed_http; /* when embedding.backend is http */
    zsock_t *broker;              /* DEALER to the broker's inproc endpoint */
    zsock_t *evaluator;           /* DEALER to the evaluators */
    unsigned int seed;            /* this thread's random draws */
    const char *stats_scope;      /* statistics scope of the query under way: "shared", or the
                                     tenant's name when it does not share; NULL: "shared" */
    int share_exemplars;          /* the query's tenant lends and borrows exemplars (the pool) */
} lyc_query_ctx_t;

/* Makes a thread's context; NULL (logged) when Redis cannot be reached or a
 * socket cannot be made. */
lyc_query_ctx_t *lyc_query_ctx_new(lyc_router_t *router);
void lyc_query_ctx_destroy(lyc_query_ctx_t **self_p);

/* The statistics scope of the query under way: the tenant's own, or "shared". */
const char *lyc_query_ctx_scope(const lyc_query_ctx_t *self);

/* Embeds text with the configured embedder into out (settings.embedding_dim floats). */
int lyc_query_ctx_embed(lyc_query_ctx_t *self, const char *text, float *out);

#endif
