/*
 * launcher.h - a whole cluster on one machine: `lyceum up`, `down`, `status`.
 *
 * Everything lives in the run dir:
 *   cluster.yaml        the cluster file in use (expanded, see cluster.h);
 *                       every process reads it
 *   demo/demo.jsonl     the generated demo data set (demo.seed, demo.queries)
 *   logs/<name>.log     each process's stdout and stderr
 *   pids/<name>.pid     each process's pid
 *   servers.started     present when `up` started Redis and Kafka itself
 *
 * `up` starts the processes of plan.h detached and returns once the router
 * answers GET /healthz and GET /v1/models lists every model with its
 * replicas; on a time-out or a process dying it prints the failing
 * process's log tail, stops what it started and fails. `down` stops every
 * process (SIGTERM, up to 10 s, then SIGKILL), then the servers if `up`
 * started them. One `up` or `down` at a time per run dir (a lock file).
 */
#ifndef LYCEUM_CLI_LAUNCHER_H
#define LYCEUM_CLI_LAUNCHER_H

#include "cluster.h"

#include <stdio.h>

/* How long `down` waits after SIGTERM before SIGKILL. */
#define LYC_LAUNCHER_STOP_MS 10000
/* Default time `up` waits for the cluster to serve. */
#define LYC_LAUNCHER_UP_TIMEOUT_S 60

typedef struct {
    const char *text;   /* the cluster file's text, before expansion */
    const char *source; /* where it came from, for messages ("<embedded default>") */
    int timeout_s;      /* how long to wait for the cluster to serve; 0: default */
} lyc_launch_t;

/* Starts the cluster in run_dir (see above). Returns 0 when it serves
 * (*already set to 1 when it was already up), or -1 after printing why on
 * out. */
int lyc_launcher_up(const char *run_dir, const lyc_launch_t *launch, FILE *out, int *already);

/* Stops the cluster of run_dir. Returns 0, or -1 after printing why. */
int lyc_launcher_down(const char *run_dir, FILE *out);

/* Prints processes, models as the router sees them and servers. Returns 0
 * when everything runs and the router answers, 3 when the cluster is not
 * (entirely) running. */
int lyc_launcher_status(const char *run_dir, FILE *out);

/* The cluster file of run_dir (<run_dir>/cluster.yaml), or NULL with the
 * reason in err. The caller destroys it. */
lyc_cluster_t *lyc_launcher_cluster(const char *run_dir, char *err, size_t errcap);

/* The router's base URL: env LYCEUM_URL, else http.listen of the run dir's
 * cluster file, else that of the embedded default. Returns 0, or -1. */
int lyc_launcher_router_url(const char *run_dir, char *buf, size_t cap);

#endif
