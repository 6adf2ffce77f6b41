/*
 * cluster_kit.h - a real Lyceum cluster for integration tests: the built
 * router, evaluator and workers as processes on unique loopback ports, a
 * unique Redis prefix, the Redis and Kafka of the test run.
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
} lyc_kit_t;

/* Writes the replay data and cluster file (router_extra: more lines of the
 * router section, e.g. "  min_evidence: 3\n"), starts every process and
 * waits until the router lists every model. 0, or -1 (logs printed). */
int lyc_kit_start(lyc_kit_t *kit, const char *replay_jsonl, const lyc_kit_model_t *models,
                  size_t n_models, const char *router_extra);

/* SIGTERM to every process, then SIGKILL after 10 s. */
void lyc_kit_stop(lyc_kit_t *kit);

/* pid of the named process ("router", "evaluator", "<model>#<i>"), or -1. */
int lyc_kit_pid(const lyc_kit_t *kit, const char *name);

/* POSTs a chat completion with one user message (and domain when not NULL);
 * returns the HTTP status and the parsed reply (cJSON_Delete it). */
int lyc_kit_chat(const lyc_kit_t *kit, const char *question, const char *domain, cJSON **reply);

/* obj.key1(.key2) as a string, "" when absent. */
const char *lyc_kit_str(const cJSON *obj, const char *key1, const char *key2);

/* 1 when the JSON array holds the string. */
int lyc_kit_has(const cJSON *array, const char *value);

#endif
