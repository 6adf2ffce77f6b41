/*
 * cluster_kit.h - a real Lyceum cluster for integration tests: the built
 * router, evaluator and workers as processes on unique loopback ports, a
 * unique Redis prefix, the Redis and Kafka of the test run.
 *
 * lyc_kit_start() runs the router open (router.auth: open) unless
 * router_extra sets router.auth; lyc_kit_start_opts() can also require API
 * keys, run a second router replica, serve each worker's /metrics and add
 * lines to the bus section (bus.curve...); lyc_kit_spawn_worker() starts a
 * worker later, with its own environment.
 */
#ifndef LYCEUM_CLUSTER_KIT_H
#define LYCEUM_CLUSTER_KIT_H

#include <cJSON.h>

#define LYC_KIT_MAX_PROCS 32

/* One model of the cluster. */
typedef struct {
    const char *name;
    const char *backend; /* "replay" or "memory" */
    const char *role;
    double price_in, price_out;
    int replicas;
    long latency_ms; /* replay: simulated answer time */
} lyc_kit_model_t;

typedef struct {
    char dir[256];   /* logs, data, cluster.yaml */
    char url[128];   /* http://127.0.0.1:<port> of the router */
    char prefix[64]; /* Redis key prefix */
    int base;        /* first of the five ports */
    int pids[LYC_KIT_MAX_PROCS];
    char names[LYC_KIT_MAX_PROCS][64];
    int npids;
    /* lyc_kit_start_opts() only: */
    char url2[128];                       /* the second router's, "" when there is one */
    char api_key[64];                     /* a key of tenant "default" when keys are required */
    int metrics_ports[LYC_KIT_MAX_PROCS]; /* a worker's /metrics port, 0 for none */
} lyc_kit_t;

/* What lyc_kit_start_opts() starts; zero fields are lyc_kit_start()'s. */
typedef struct {
    const char *replay_jsonl;
    const lyc_kit_model_t *models;
    size_t n_models;
    const char *router_extra;       /* more lines of the router section */
    int auth_required;              /* router.auth: required (kit->api_key is made to wait with) */
    int routers;                    /* 2: a second router replica on the same Redis prefix */
    int worker_metrics;             /* each worker serves /metrics (lyc_kit_worker_sum) */
    const char *const *model_extra; /* more lines of each model's entry (parallel to models,
                                       e.g. "    exemplars: 2\n"), or NULL */
    const char *bus_extra;          /* more lines of the bus section, e.g.
                                       "  curve:\n    enabled: true\n", or NULL */
    const lyc_kit_model_t *on_demand; /* more models of the cluster file, whose workers
                                         only lyc_kit_spawn_worker starts */
    size_t n_on_demand;
} lyc_kit_opts_t;

/* Writes the replay data and cluster file (router_extra: more lines of the
 * router section, e.g. "  min_evidence: 3\n"), starts every process and
 * waits until the router lists every model. 0, or -1 (logs printed). */
int lyc_kit_start(lyc_kit_t *kit, const char *replay_jsonl, const lyc_kit_model_t *models,
                  size_t n_models, const char *router_extra);

/* lyc_kit_start with the options above. */
int lyc_kit_start_opts(lyc_kit_t *kit, const lyc_kit_opts_t *opts);

/* Starts one more worker of model as process `name` (also its --id), with
 * env (NULL, or "NAME=VALUE" strings ending with NULL) added to its
 * environment only, e.g. "LYCEUM_BUS_CURVE_CLIENT_CERT=/x/rogue.cert_secret".
 * Does not wait for it. Returns its pid, or -1. */
int lyc_kit_spawn_worker(lyc_kit_t *kit, const char *model, const char *name,
                         const char *const *env);

/* SIGTERM to every process, then SIGKILL after 10 s. */
void lyc_kit_stop(lyc_kit_t *kit);

/* pid of the named process ("router", "router2", "evaluator", "<model>#<i>"), or -1. */
int lyc_kit_pid(const lyc_kit_t *kit, const char *name);

/* POSTs a chat completion with one user message (and domain when not NULL);
 * returns the HTTP status and the parsed reply (cJSON_Delete it). Sends
 * kit->api_key when it is set. */
int lyc_kit_chat(const lyc_kit_t *kit, const char *question, const char *domain, cJSON **reply);

/* One query with everything chosen; NULL fields are left out. */
typedef struct {
    const char *url;    /* router base URL; NULL: kit->url */
    const char *key;    /* API key; NULL: none */
    const char *tenant; /* metadata.tenant */
    const char *user;   /* metadata.user */
    const char *domain; /* metadata.domain */
    unsigned max_tokens;
} lyc_kit_ask_t;

/* Like lyc_kit_chat; *retry_after_s (may be NULL) gets Retry-After, 0 when absent. */
int lyc_kit_ask(const lyc_kit_t *kit, const lyc_kit_ask_t *ask, const char *question, cJSON **reply,
                long *retry_after_s);

/* One HTTP request with an optional bearer key and JSON body. Returns the
 * status (0 when no connection); *response (may be NULL) gets the body and
 * *retry_after_s (may be NULL) the Retry-After header, 0 when absent. */
int lyc_kit_http(const char *method, const char *url, const char *key, const char *body,
                 char **response, long *retry_after_s);

/* The sum, over every replica of model, of the samples of metric (e.g.
 * "lyceum_worker_calls_total") in the workers' /metrics; -1 when a worker
 * does not answer. Needs worker_metrics. */
double lyc_kit_worker_sum(const lyc_kit_t *kit, const char *model, const char *metric);

/* obj.key1(.key2) as a string, "" when absent. */
const char *lyc_kit_str(const cJSON *obj, const char *key1, const char *key2);

/* 1 when the JSON array holds the string. */
int lyc_kit_has(const cJSON *array, const char *value);

#endif
