/*
 * launcher.c - up, down and status of a local cluster (see launcher.h).
 */
#include "launcher.h"

#include "client.h"
#include "clock.h"
#include "demo_data.h"
#include "embedded.h"
#include "ids.h"
#include "paths.h"
#include "plan.h"
#include "proc.h"
#include "servers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define S_CLUSTER_FILE "cluster.yaml"
#define S_DEMO_DATA    "demo/demo.jsonl"
#define S_POLL_MS      250
#define S_PROBE_MS     1000
#define S_TAIL_LINES   30
#define S_LOCK_WAIT_MS 5000

/* A process found in the pids directory. */
typedef struct {
    char name[96];
    pid_t pid;
    int alive;
} s_found_t;

/* ---- run dir --------------------------------------------------------- */

static void s_path(char *buf, size_t cap, const char *run_dir, const char *a, const char *b)
{
    snprintf(buf, cap, "%s/%s%s%s", run_dir, a, b ? "/" : "", b ? b : "");
}

/* Creates the run dir and its subdirectories. */
static int s_make_dirs(const char *run_dir, FILE *out)
{
    static const char *subdirs[] = {"logs", "pids", "demo"};
    char path[LYC_PATH_MAX];
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        s_path(path, sizeof path, run_dir, subdirs[i], NULL);
        if (lyc_paths_mkdirs(path) != 0) {
            fprintf(out, "lyceum: cannot create %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Takes the run dir's lock (one up or down at a time); returns its fd or -1. */
static int s_lock(const char *run_dir, FILE *out)
{
    char path[LYC_PATH_MAX];
    s_path(path, sizeof path, run_dir, ".lock", NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(out, "lyceum: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 100) {
        if (errno != EWOULDBLOCK || waited >= S_LOCK_WAIT_MS) {
            fprintf(out, "lyceum: another `lyceum up` or `down` is working on %s\n", run_dir);
            close(fd);
            return -1;
        }
        lyc_proc_sleep_ms(100);
    }
    return fd;
}

/* Lists the pid files; *found is a new array (caller frees). */
static int s_scan(const char *run_dir, s_found_t **found, size_t *n)
{
    char dir_path[LYC_PATH_MAX], path[LYC_PATH_MAX];
    s_path(dir_path, sizeof dir_path, run_dir, "pids", NULL);
    *found = NULL;
    *n = 0;
    DIR *dir = opendir(dir_path);
    if (!dir)
        return errno == ENOENT ? 0 : -1;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || len - 4 >= sizeof(*found)->name || strcmp(e->d_name + len - 4, ".pid"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            s_found_t *grown = realloc(*found, cap * sizeof *grown);
            if (!grown)
                break;
            *found = grown;
        }
        s_found_t *f = &(*found)[(*n)++];
        snprintf(f->name, sizeof f->name, "%.*s", (int) (len - 4), e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        f->pid = lyc_proc_read_pid(path);
        f->alive = lyc_proc_alive(f->pid);
    }
    closedir(dir);
    return 0;
}

static void s_remove_pid_file(const char *run_dir, const char *name)
{
    char path[LYC_PATH_MAX];
    snprintf(path, sizeof path, "%s/pids/%s.pid", run_dir, name);
    unlink(path);
}

lyc_cluster_t *lyc_launcher_cluster(const char *run_dir, char *err, size_t errcap)
{
    char path[LYC_PATH_MAX];
    s_path(path, sizeof path, run_dir, S_CLUSTER_FILE, NULL);
    if (!lyc_paths_exists(path)) {
        snprintf(err, errcap, "%s does not exist: Lyceum was never started with this run dir",
                 path);
        return NULL;
    }
    return lyc_cluster_load(path, err, errcap);
}

int lyc_launcher_router_url(const char *run_dir, char *buf, size_t cap)
{
    const char *env = getenv("LYCEUM_URL");
    if (env && *env) {
        int n = snprintf(buf, cap, "%s", env);
        return n > 0 && (size_t) n < cap ? 0 : -1;
    }
    char err[512];
    lyc_cluster_t *cluster = lyc_launcher_cluster(run_dir, err, sizeof err);
    if (!cluster)
        cluster = lyc_cluster_parse(lyc_cli_default_cluster, strlen(lyc_cli_default_cluster),
                                    "<embedded default>", err, sizeof err);
    int rc = cluster ? lyc_cluster_router_url(cluster, buf, cap) : -1;
    lyc_cluster_destroy(&cluster);
    return rc;
}

/* ---- readiness ------------------------------------------------------- */

/* Describes in buf what the router does not show yet; "" when every
 * configured model has its replicas. Returns 1 when ready. */
static int s_models_ready(const lyc_cluster_t *cluster, lyc_client_t *client, char *buf, size_t cap)
{
    lyc_client_model_t seen[LYC_CLIENT_MAX_MODELS];
    size_t n_seen = 0;
    char err[256];
    if (lyc_client_healthz(client, S_PROBE_MS) != 0) {
        snprintf(buf, cap, "the router to answer %s/healthz", lyc_client_url(client));
        return 0;
    }
    if (lyc_client_models(client, S_PROBE_MS, seen, LYC_CLIENT_MAX_MODELS, &n_seen, err,
                          sizeof err) != 0) {
        snprintf(buf, cap, "the router to list models (%s)", err);
        return 0;
    }
    size_t used = (size_t) snprintf(buf, cap, "workers to register:");
    int ready = 1;
    for (size_t m = 0; m < lyc_cluster_model_count(cluster); m++) {
        const lyc_cluster_model_t *want = lyc_cluster_model(cluster, m);
        int have = 0;
        for (size_t i = 0; i < n_seen; i++)
            if (strcmp(seen[i].name, want->name) == 0)
                have = seen[i].replicas;
        if (have >= want->replicas)
            continue;
        ready = 0;
        if (used < cap)
            used += (size_t) snprintf(buf + used, cap - used, " %s %d/%ld", want->name, have,
                                      want->replicas);
    }
    if (ready)
        buf[0] = '\0';
    return ready;
}

/* Prints the log tail of a process. */
static void s_print_log(const char *run_dir, const char *name, FILE *out)
{
    char path[LYC_PATH_MAX];
    snprintf(path, sizeof path, "%s/logs/%s.log", run_dir, name);
    lyc_proc_print_tail(path, S_TAIL_LINES, out);
}

/* After a time-out: the logs of what the router still misses. */
static void s_print_failing_logs(const char *run_dir, const lyc_plan_t *plan, const char *waiting,
                                 FILE *out)
{
    if (strncmp(waiting, "workers", 7) != 0) {
        s_print_log(run_dir, "router", out);
        return;
    }
    const char *last = "";
    for (size_t i = 0; i < plan->n; i++) {
        const lyc_plan_proc_t *p = &plan->procs[i];
        char needle[LYC_CLUSTER_NAME_MAX + 2];
        snprintf(needle, sizeof needle, " %s ", p->model);
        if (strcmp(p->service, "worker") != 0 || !strstr(waiting, needle) ||
            strcmp(p->model, last) == 0)
            continue;
        s_print_log(run_dir, p->name, out);
        last = p->model;
    }
}

/* Waits until the cluster serves; -1 after printing why it does not. */
static int s_wait_ready(const char *run_dir, const lyc_cluster_t *cluster, const lyc_plan_t *plan,
                        const pid_t *pids, int timeout_s, FILE *out)
{
    char url[256], waiting[1024] = "", shown[1024] = "";
    if (lyc_cluster_router_url(cluster, url, sizeof url) != 0)
        return -1;
    lyc_client_t *client = lyc_client_new(url);
    if (!client)
        return -1;
    int64_t deadline = lyc_mono_us() + (int64_t) timeout_s * 1000000;
    int rc = -1;
    while (rc != 0) {
        for (size_t i = 0; i < plan->n; i++)
            if (pids[i] > 0 && !lyc_proc_alive(pids[i])) {
                fprintf(out, "lyceum: %s exited during start-up\n", plan->procs[i].name);
                s_print_log(run_dir, plan->procs[i].name, out);
                goto out_destroy_client;
            }
        if (s_models_ready(cluster, client, waiting, sizeof waiting)) {
            rc = 0;
            break;
        }
        if (strcmp(waiting, shown) != 0) {
            fprintf(out, "waiting for %s\n", waiting);
            fflush(out);
            snprintf(shown, sizeof shown, "%s", waiting);
        }
        if (lyc_mono_us() >= deadline) {
            fprintf(out, "lyceum: still waiting for %s after %d s\n", waiting, timeout_s);
            s_print_failing_logs(run_dir, plan, waiting, out);
            goto out_destroy_client;
        }
        lyc_proc_sleep_ms(S_POLL_MS);
    }
out_destroy_client:
    lyc_client_destroy(&client);
    return rc;
}

/* ---- starting -------------------------------------------------------- */

/* Expands the text, validates it, writes cluster.yaml and the demo data. */
static lyc_cluster_t *s_materialize(const char *run_dir, const lyc_launch_t *launch, FILE *out)
{
    char id[LYC_ID_LEN], path[LYC_PATH_MAX], err[1024];
    lyc_id_new(id);
    id[8] = '\0';
    lyc_cluster_t *cluster = NULL;
    char *text = lyc_cluster_expand(launch->text, run_dir, id);
    if (!text) {
        fprintf(out, "lyceum: out of memory\n");
        return NULL;
    }
    cluster = lyc_cluster_parse(text, strlen(text), launch->source, err, sizeof err);
    if (!cluster) {
        fprintf(out, "lyceum: %s\n", err);
        goto out_free_text;
    }
    s_path(path, sizeof path, run_dir, S_CLUSTER_FILE, NULL);
    if (lyc_paths_write_file(path, text, strlen(text)) != 0) {
        fprintf(out, "lyceum: cannot write %s: %s\n", path, strerror(errno));
        lyc_cluster_destroy(&cluster);
        goto out_free_text;
    }
    const lyc_demo_settings_t *demo = lyc_cluster_demo(cluster);
    lyc_demo_data_t *data = lyc_demo_data_new((uint64_t) demo->seed, (size_t) demo->queries);
    s_path(path, sizeof path, run_dir, S_DEMO_DATA, NULL);
    if (!data || lyc_demo_data_write(data, path, err, sizeof err) != 0) {
        fprintf(out, "lyceum: %s\n", data ? err : "out of memory generating the demo data");
        lyc_cluster_destroy(&cluster);
    }
    lyc_demo_data_destroy(&data);
out_free_text:
    free(text);
    return cluster;
}

/* Finds every binary; an optional one that is missing gets "". */
static int s_resolve(const lyc_plan_t *plan, char (*bins)[LYC_PATH_MAX], FILE *out)
{
    char looked[2048];
    for (size_t i = 0; i < plan->n; i++) {
        const lyc_plan_proc_t *p = &plan->procs[i];
        if (i > 0 && strcmp(p->service, plan->procs[i - 1].service) == 0) {
            memcpy(bins[i], bins[i - 1], LYC_PATH_MAX);
            continue;
        }
        if (lyc_paths_find_binary(p->service, bins[i], LYC_PATH_MAX, looked, sizeof looked) == 0)
            continue;
        bins[i][0] = '\0';
        if (p->optional)
            continue;
        fprintf(out,
                "lyceum: lyceum-%s not found (looked in %s); build it (ninja -C build) or "
                "set LYCEUM_BIN_DIR\n",
                p->service, looked);
        return -1;
    }
    return 0;
}

/* Starts every process that has a binary; pids[i] stays 0 for skipped ones. */
static int s_spawn_all(const char *run_dir, const lyc_plan_t *plan, char (*bins)[LYC_PATH_MAX],
                       pid_t *pids, FILE *out)
{
    char cluster_path[LYC_PATH_MAX], log[LYC_PATH_MAX], pid_file[LYC_PATH_MAX], err[512];
    char *argv[8];
    s_path(cluster_path, sizeof cluster_path, run_dir, S_CLUSTER_FILE, NULL);
    for (size_t i = 0; i < plan->n; i++) {
        const lyc_plan_proc_t *p = &plan->procs[i];
        if (!bins[i][0])
            continue;
        snprintf(log, sizeof log, "%s/logs/%s.log", run_dir, p->name);
        snprintf(pid_file, sizeof pid_file, "%s/pids/%s.pid", run_dir, p->name);
        lyc_plan_argv(p, bins[i], cluster_path, argv);
        /* a worker's own metrics address travels in its environment */
        if (*p->http && setenv("LYCEUM_WORKER_HTTP_LISTEN", p->http, 1) != 0) {
            fprintf(out, "lyceum: cannot set %s's environment\n", p->name);
            return -1;
        }
        pids[i] = lyc_proc_spawn(argv, log, pid_file, err, sizeof err);
        unsetenv("LYCEUM_WORKER_HTTP_LISTEN");
        if (pids[i] < 0) {
            pids[i] = 0;
            fprintf(out, "lyceum: cannot start %s: %s\n", p->name, err);
            return -1;
        }
    }
    return 0;
}

/* Stops what this `up` started and removes their pid files. */
static void s_stop_started(const char *run_dir, const lyc_plan_t *plan, const pid_t *pids,
                           FILE *out)
{
    fprintf(out, "lyceum: stopping what was started (logs stay in %s/logs)\n", run_dir);
    lyc_proc_stop_all(pids, plan->n, LYC_LAUNCHER_STOP_MS);
    for (size_t i = 0; i < plan->n; i++)
        if (pids[i] > 0)
            s_remove_pid_file(run_dir, plan->procs[i].name);
}

/* Servers, a free port, binaries, processes, readiness. */
static int s_start(const char *run_dir, const lyc_cluster_t *cluster, int timeout_s, FILE *out)
{
    char err[1024], path[LYC_PATH_MAX];
    lyc_plan_t plan;
    int rc = -1;
    if (lyc_servers_up(cluster, run_dir, out, err, sizeof err) != 0) {
        fprintf(out, "lyceum: %s\n", err);
        s_path(path, sizeof path, run_dir, "logs", "servers.log");
        lyc_proc_print_tail(path, S_TAIL_LINES, out);
        return -1;
    }
    if (lyc_servers_reachable(lyc_cluster_http_listen(cluster), 300)) {
        fprintf(out,
                "lyceum: %s is already taken by another process (another Lyceum with "
                "another run dir?); stop it or change router.http.listen\n",
                lyc_cluster_http_listen(cluster));
        return -1;
    }
    if (lyc_plan_make(cluster, &plan) != 0)
        return -1;
    char(*bins)[LYC_PATH_MAX] = calloc(plan.n, sizeof *bins);
    pid_t *pids = calloc(plan.n, sizeof *pids);
    if (!bins || !pids || s_resolve(&plan, bins, out) != 0)
        goto out_free_plan;
    size_t n_start = 0;
    for (size_t i = 0; i < plan.n; i++)
        n_start += bins[i][0] != '\0';
    fprintf(out, "starting %zu processes (logs in %s/logs)...\n", n_start, run_dir);
    fflush(out);
    if (s_spawn_all(run_dir, &plan, bins, pids, out) != 0 ||
        s_wait_ready(run_dir, cluster, &plan, pids, timeout_s, out) != 0) {
        s_stop_started(run_dir, &plan, pids, out);
        goto out_free_plan;
    }
    rc = 0;
out_free_plan:
    free(bins);
    free(pids);
    lyc_plan_free(&plan);
    return rc;
}

/* Is a cluster already running here? 0: no (stale pid files removed);
 * 1: yes, and it serves; -1: partly (printed). */
static int s_existing(const char *run_dir, FILE *out)
{
    s_found_t *found = NULL;
    size_t n = 0, alive = 0;
    if (s_scan(run_dir, &found, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        alive += (size_t) found[i].alive;
    int rc = 0;
    if (alive == 0) {
        for (size_t i = 0; i < n; i++)
            s_remove_pid_file(run_dir, found[i].name);
    } else if (alive == n && lyc_launcher_status(run_dir, NULL) == 0) {
        rc = 1;
    } else {
        fprintf(out,
                "lyceum: a previous cluster in %s is partly running (%zu of %zu "
                "processes); run `lyceum down` first\n",
                run_dir, alive, n);
        rc = -1;
    }
    free(found);
    return rc;
}

/* Rejects run dirs that cannot be written into a YAML string. */
static int s_check_run_dir(const char *run_dir, FILE *out)
{
    if (strpbrk(run_dir, "\"\\\n\r") || strlen(run_dir) > LYC_PATH_MAX / 2) {
        fprintf(out,
                "lyceum: the run dir '%s' must not contain quotes, backslashes or line "
                "breaks, and must be shorter than %d bytes\n",
                run_dir, LYC_PATH_MAX / 2);
        return -1;
    }
    return 0;
}

/* Where the monitor's dashboard is, when lyceum-monitor was started. */
static void s_print_dashboard(const lyc_cluster_t *cluster, FILE *out)
{
    char bin[LYC_PATH_MAX];
    if (lyc_paths_find_binary("monitor", bin, sizeof bin, NULL, 0) == 0)
        fprintf(out, "Dashboard at http://%s/ (lyceum-monitor)\n",
                lyc_cluster_value(cluster, "monitor", "http_listen", "LYCEUM_MONITOR",
                                  "127.0.0.1:8090"));
}

int lyc_launcher_up(const char *run_dir, const lyc_launch_t *launch, FILE *out, int *already)
{
    char url[256];
    int timeout_s = launch->timeout_s > 0 ? launch->timeout_s : LYC_LAUNCHER_UP_TIMEOUT_S;
    *already = 0;
    if (s_check_run_dir(run_dir, out) != 0 || s_make_dirs(run_dir, out) != 0)
        return -1;
    int lock = s_lock(run_dir, out);
    if (lock < 0)
        return -1;
    int rc = s_existing(run_dir, out);
    if (rc == 1) {
        *already = 1;
        lyc_launcher_router_url(run_dir, url, sizeof url);
        fprintf(out, "Lyceum is already running at %s (run dir %s)\n", url, run_dir);
        rc = 0;
        goto out_unlock;
    }
    if (rc != 0)
        goto out_unlock;
    lyc_cluster_t *cluster = s_materialize(run_dir, launch, out);
    rc = cluster ? s_start(run_dir, cluster, timeout_s, out) : -1;
    if (rc == 0 && lyc_cluster_router_url(cluster, url, sizeof url) == 0)
        fprintf(out, "Lyceum is up at %s (run dir %s)\n", url, run_dir);
    if (rc == 0)
        s_print_dashboard(cluster, out);
    lyc_cluster_destroy(&cluster);
out_unlock:
    close(lock);
    return rc;
}

/* ---- stopping -------------------------------------------------------- */

int lyc_launcher_down(const char *run_dir, FILE *out)
{
    char err[1024];
    if (!lyc_paths_exists(run_dir)) {
        fprintf(out, "Lyceum is not running (no run dir %s)\n", run_dir);
        return 0;
    }
    int lock = s_lock(run_dir, out);
    if (lock < 0)
        return -1;
    s_found_t *found = NULL;
    size_t n = 0, alive = 0;
    int rc = s_scan(run_dir, &found, &n);
    pid_t *pids = calloc(n ? n : 1, sizeof *pids);
    if (rc != 0 || !pids) {
        fprintf(out, "lyceum: cannot read %s/pids\n", run_dir);
        rc = -1;
        goto out_free_found;
    }
    for (size_t i = 0; i < n; i++)
        if (found[i].alive) {
            pids[i] = found[i].pid;
            alive++;
        }
    if (alive)
        fprintf(out, "stopping %zu processes (SIGTERM, SIGKILL after %d s)...\n", alive,
                LYC_LAUNCHER_STOP_MS / 1000);
    fflush(out);
    int killed = lyc_proc_stop_all(pids, n, LYC_LAUNCHER_STOP_MS);
    if (killed)
        fprintf(out, "%d processes did not stop in time and were killed\n", killed);
    for (size_t i = 0; i < n; i++)
        s_remove_pid_file(run_dir, found[i].name);
    if (lyc_servers_down(run_dir, out, err, sizeof err) != 0) {
        fprintf(out, "lyceum: %s\n", err);
        rc = -1;
    }
    fprintf(out, alive ? "Lyceum is down\n" : "Lyceum was not running\n");
out_free_found:
    free(pids);
    free(found);
    close(lock);
    return rc;
}

/* ---- status ---------------------------------------------------------- */

static const char *s_role_name(int role)
{
    static const char *names[] = {"unspecified", "student", "ta", "teacher", "supervisor"};
    return role >= 0 && role <= 4 ? names[role] : "unknown";
}

/* The processes: planned ones first (in plan order), then any other pid file. */
static int s_print_procs(const char *run_dir, const lyc_plan_t *plan, FILE *out)
{
    s_found_t *found = NULL;
    size_t n = 0;
    int all_alive = 1;
    if (s_scan(run_dir, &found, &n) != 0)
        return 0;
    if (out)
        fprintf(out, "%-28s %8s  %-6s %s\n", "process", "pid", "state", "address");
    for (size_t k = 0; k < plan->n; k++) {
        const lyc_plan_proc_t *p = &plan->procs[k];
        const s_found_t *f = NULL;
        for (size_t i = 0; i < n && !f; i++)
            if (strcmp(found[i].name, p->name) == 0)
                f = &found[i];
        if (!f && p->optional)
            continue;
        all_alive &= f && f->alive;
        if (out)
            fprintf(out, "%-28s %8d  %-6s %s\n", p->name, f ? (int) f->pid : 0,
                    !f         ? "absent"
                    : f->alive ? "alive"
                               : "dead",
                    p->address);
    }
    for (size_t i = 0; i < n; i++)
        if (!lyc_plan_find(plan, found[i].name) && out)
            fprintf(out, "%-28s %8d  %-6s %s\n", found[i].name, (int) found[i].pid,
                    found[i].alive ? "alive" : "dead", "(not in the cluster file)");
    free(found);
    return all_alive;
}

/* Replicas per model as the router reports them (GET /healthz), against the file. */
static int s_print_models(const lyc_cluster_t *cluster, FILE *out)
{
    char url[256], err[512];
    lyc_client_model_t seen[LYC_CLIENT_MAX_MODELS];
    size_t n = 0;
    lyc_client_t *client = NULL;
    int ok = lyc_cluster_router_url(cluster, url, sizeof url) == 0 &&
             (client = lyc_client_new(url)) && lyc_client_healthz(client, S_PROBE_MS) == 0 &&
             lyc_client_models(client, S_PROBE_MS, seen, LYC_CLIENT_MAX_MODELS, &n, err,
                               sizeof err) == 0;
    lyc_client_destroy(&client);
    if (!out)
        return ok;
    if (!ok) {
        fprintf(out, "\nrouter %s: not answering\n", url);
        return 0;
    }
    fprintf(out, "\nmodels as the router %s sees them:\n", url);
    fprintf(out, "  %-20s %-9s %-8s %-11s %s\n", "model", "replicas", "backend", "role",
            "in flight");
    for (size_t m = 0; m < lyc_cluster_model_count(cluster); m++) {
        const lyc_cluster_model_t *want = lyc_cluster_model(cluster, m);
        const lyc_client_model_t *have = NULL;
        for (size_t i = 0; i < n && !have; i++)
            if (strcmp(seen[i].name, want->name) == 0)
                have = &seen[i];
        char replicas[32];
        snprintf(replicas, sizeof replicas, "%d/%ld", have ? have->replicas : 0, want->replicas);
        fprintf(out, "  %-20s %-9s %-8s %-11s %d\n", want->name, replicas, want->backend,
                have ? s_role_name(have->role) : want->role, have ? have->in_flight : 0);
        ok &= have && have->replicas >= want->replicas;
    }
    return ok;
}

/* 1 when the run dir has pid files (a cluster was started and not downed). */
static int s_has_pid_files(const char *run_dir)
{
    s_found_t *found = NULL;
    size_t n = 0;
    int rc = s_scan(run_dir, &found, &n);
    free(found);
    return rc == 0 && n > 0;
}

/* Status of a cluster that was started: processes, models, servers. */
static int s_status(const char *run_dir, const lyc_cluster_t *cluster, FILE *out)
{
    lyc_plan_t plan;
    if (lyc_plan_make(cluster, &plan) != 0)
        return 3;
    if (out)
        fprintf(out, "run dir %s (cluster file %s/%s)\n\n", run_dir, run_dir, S_CLUSTER_FILE);
    int ok = s_print_procs(run_dir, &plan, out);
    ok &= s_print_models(cluster, out);
    if (out) {
        fputc('\n', out);
        lyc_servers_print_status(cluster, run_dir, out);
    }
    lyc_plan_free(&plan);
    return ok ? 0 : 3;
}

int lyc_launcher_status(const char *run_dir, FILE *out)
{
    char err[1024];
    lyc_cluster_t *cluster = lyc_launcher_cluster(run_dir, err, sizeof err);
    if (!cluster || !s_has_pid_files(run_dir)) {
        if (out && cluster)
            fprintf(out, "Lyceum is not running (run dir %s; `lyceum up` starts it)\n", run_dir);
        else if (out)
            fprintf(out, "Lyceum is not running (%s)\n", err);
        lyc_cluster_destroy(&cluster);
        return 3;
    }
    int rc = s_status(run_dir, cluster, out);
    lyc_cluster_destroy(&cluster);
    return rc;
}
