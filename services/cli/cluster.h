/*
 * cluster.h - the cluster file as the lyceum tool sees it.
 *
 * The tool reads the same YAML file as every process (settings.h,
 * model_config.h) and validates it the same way, plus the `demo:` section
 * that only it reads:
 *
 *   demo:
 *     servers: local        # local: `lyceum up` runs deploy/local/servers.sh
 *                           # external: redis.url and kafka.brokers are used as set
 *     queries: 240          # distinct questions in the generated demo data set
 *     repeat_share: 0.25    # share of them `lyceum demo` asks again
 *     seed: 42              # the data set and the workload follow from it
 *
 * Before a file is used, lyc_cluster_expand() replaces ${LYCEUM_RUN_DIR},
 * ${LYCEUM_RUN_ID} and ${LYCEUM_SOURCE_DIR} (the source tree, where benchmark
 * files find ../shared/datasets) in its text; nothing else is expanded. Environment
 * overrides apply as they do in the processes (LYCEUM_<KEY>,
 * LYCEUM_ROUTER_<KEY>, LYCEUM_DEMO_<KEY>, ...).
 */
#ifndef LYCEUM_CLI_CLUSTER_H
#define LYCEUM_CLI_CLUSTER_H

#include "settings.h"

#include <stddef.h>

#define LYC_CLUSTER_NAME_MAX 64

/* One entry of `models:`, with what the tool needs of it. */
typedef struct {
    char name[LYC_CLUSTER_NAME_MAX];
    char role[16];
    char backend[16];
    long replicas;
    double price_in;  /* USD per million prompt tokens */
    double price_out; /* USD per million completion tokens */
} lyc_cluster_model_t;

/* The `demo:` section. */
typedef struct {
    char *servers; /* "local" or "external" */
    long queries;
    double repeat_share;
    long seed;
} lyc_demo_settings_t;

typedef struct lyc_cluster_t lyc_cluster_t;

/* The text with ${LYCEUM_RUN_DIR} and ${LYCEUM_RUN_ID} replaced: a new
 * string (caller frees), or NULL when out of memory. */
char *lyc_cluster_expand(const char *text, const char *run_dir, const char *run_id);

/* Parses and validates YAML text; `name` stands for the file in messages.
 * Returns the cluster, or NULL with the reason (key, file, line) in err. */
lyc_cluster_t *lyc_cluster_parse(const char *text, size_t len, const char *name, char *err,
                                 size_t errcap);

/* Reads and parses the file at path (already expanded). */
lyc_cluster_t *lyc_cluster_load(const char *path, char *err, size_t errcap);

/* Accepts NULL, nulls *self_p. */
void lyc_cluster_destroy(lyc_cluster_t **self_p);

/* The shared settings (redis, kafka, bus, ...), owned by the cluster. */
const lyc_settings_t *lyc_cluster_settings(const lyc_cluster_t *self);

/* The demo section, owned by the cluster. */
const lyc_demo_settings_t *lyc_cluster_demo(const lyc_cluster_t *self);

/* Number of models, and the i-th (owned by the cluster). */
size_t lyc_cluster_model_count(const lyc_cluster_t *self);
const lyc_cluster_model_t *lyc_cluster_model(const lyc_cluster_t *self, size_t i);

/* The first model whose role is `role`, or NULL. */
const lyc_cluster_model_t *lyc_cluster_find_role(const lyc_cluster_t *self, const char *role);

/* A value of a process's section as that process sees it: the environment
 * override <env_prefix>_<KEY> or LYCEUM_<KEY>, else <section>.<key> in the
 * file, else def. E.g. ("router", "http.listen", "LYCEUM_ROUTER", "127.0.0.1:8080").
 * The string is owned by the cluster or the environment. */
const char *lyc_cluster_value(const lyc_cluster_t *self, const char *section, const char *key,
                              const char *env_prefix, const char *def);

/* The router's http.listen (host:port). */
const char *lyc_cluster_http_listen(const lyc_cluster_t *self);

/* The base URL of the router, "http://host:port" (a wildcard host becomes
 * 127.0.0.1). Returns 0, or -1 when it does not fit. */
int lyc_cluster_router_url(const lyc_cluster_t *self, char *buf, size_t cap);

/* Splits "scheme://user@host:port/x" or "host:port,..." (first entry) into
 * host and port. Returns 0, or -1 when no port can be found. */
int lyc_cluster_host_port(const char *address, char *host, size_t host_cap, int *port);

#endif
