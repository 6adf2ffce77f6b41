/*
 * plan.h - the processes a cluster file asks for on one machine.
 *
 *   router                 lyceum-router -c FILE
 *   evaluator              lyceum-evaluator -c FILE
 *   worker-<model>-<i>     lyceum-worker -c FILE --model <model> --id <model>#<i>,
 *                          for i < replicas of every entry of models; the n-th
 *                          worker (counting from 0 over every model) serves
 *                          /metrics and /healthz on 127.0.0.1:<base + n>, base
 *                          being the router's HTTP port + 1020 (9100 for the
 *                          default cluster), or env LYCEUM_WORKER_HTTP_BASE
 *                          (0: none); the launcher hands it over in the
 *                          worker's environment (LYCEUM_WORKER_HTTP_LISTEN)
 *   trainer, monitor       lyceum-trainer / lyceum-monitor -c FILE, optional:
 *                          started when their binary exists, skipped silently
 *                          otherwise
 *
 * The name is used for the log file (<run>/logs/<name>.log) and the pid file
 * (<run>/pids/<name>.pid), so a model name is made file-safe in it.
 */
#ifndef LYCEUM_CLI_PLAN_H
#define LYCEUM_CLI_PLAN_H

#include "cluster.h"

#include <stddef.h>

typedef struct {
    char name[96];                    /* file-safe process name */
    char service[16];                 /* router, evaluator, worker, trainer or monitor */
    char model[LYC_CLUSTER_NAME_MAX]; /* workers: the model */
    char id[96];                      /* workers: the worker id, <model>#<i> */
    int optional;                     /* start only when the binary is found */
    char address[200];                /* where it listens or connects, for `lyceum status` */
    char http[64];                    /* workers: host:port of /metrics, "" for none */
} lyc_plan_proc_t;

/* The router's HTTP port plus this is the first worker's metrics port. */
#define LYC_PLAN_WORKER_HTTP_OFFSET 1020

typedef struct {
    lyc_plan_proc_t *procs;
    size_t n;
} lyc_plan_t;

/* Fills plan from the cluster. Returns 0, or -1 when out of memory. Free
 * with lyc_plan_free(). */
int lyc_plan_make(const lyc_cluster_t *cluster, lyc_plan_t *plan);

void lyc_plan_free(lyc_plan_t *plan);

/* The process of that name, or NULL. */
const lyc_plan_proc_t *lyc_plan_find(const lyc_plan_t *plan, const char *name);

/* Fills argv (cap entries, NULL-terminated, strings borrowed from the
 * arguments) for running p from binary with the cluster file at path. */
void lyc_plan_argv(const lyc_plan_proc_t *p, const char *binary, const char *cluster_path,
                   char *argv[8]);

#endif
