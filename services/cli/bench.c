/*
 * bench.c - `lyceum bench overhead`: what Lyceum itself costs per query.
 *
 * It starts the bench cluster (services/cli/bench.yaml, compiled in: four
 * replay models that answer instantly, the evaluator in reference mode) in
 * its own run dir (<run dir>-bench, other ports than the default cluster),
 * then measures through the HTTP front door, on loopback only:
 *
 *  1. open loop: requests sent on a fixed schedule (--rate per second for
 *     --duration seconds) from a pool of client threads; each latency counts
 *     from the request's scheduled time, so a slow reply delays no later
 *     measurement (no coordinated omission). With instant backends, p50 and
 *     p99 are the latency Lyceum adds.
 *  2. closed loop: --clients threads send back to back for --duration
 *     seconds; replies completed in that time / duration = the highest
 *     sustained throughput.
 *
 * Every query is a distinct question (the generated demo questions, then
 * numbered arithmetic), so the router embeds, searches and records each one.
 * Everything is bounded: rate, duration, clients, a time-out per request.
 * It prints a short report and, last, one JSON line; then stops the cluster.
 */
#include "commands.h"

#include "client.h"
#include "clock.h"
#include "demo_data.h"
#include "embedded.h"
#include "http_client.h"
#include "launcher.h"
#include "paths.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_REQUEST_MS   10000
#define S_WARMUP       20
#define S_OPEN_THREADS 32
#define S_MAX_THREADS  256
#define S_TENANT       "bench"

typedef struct {
    int rate;      /* open loop: requests per second */
    int duration;  /* seconds of each phase */
    int clients;   /* closed loop: concurrent clients */
    int json;      /* only the JSON line on stdout */
    int timeout_s; /* for `up` */
    const char *path;
} s_options_t;

/* Shared by the client threads of one phase. */
typedef struct {
    const char *url;
    const lyc_demo_data_t *data;
    atomic_size_t next; /* next question number */
    atomic_size_t errors;
    atomic_size_t done; /* closed loop: replies in time */
    int64_t start_us;   /* open loop: schedule origin; closed loop: start */
    int64_t end_us;     /* closed loop: stop sending at */
    double rate;
    size_t total;        /* open loop: requests to send */
    int64_t *latency_us; /* open loop: per request, -1 for an error */
    int threads;
    char first_error[256];
    pthread_mutex_t lock;
} s_run_t;

typedef struct {
    s_run_t *run;
    int index;
} s_worker_arg_t;

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void) sig;
    s_interrupted = 1;
}

/* ---- one request ----------------------------------------------------- */

/* The text of question number k: the demo questions in both wordings,
 * then numbered arithmetic, so no two are the same. */
static void s_question(const lyc_demo_data_t *data, size_t k, char *buf, size_t cap)
{
    size_t n = lyc_demo_data_count(data);
    if (k < 2 * n) {
        snprintf(buf, cap, "%s", lyc_demo_prompt(lyc_demo_data_get(data, k / 2), (int) (k % 2)));
        return;
    }
    k -= 2 * n;
    snprintf(buf, cap, "What is %zu + %zu?", 1000 + k / 997, 1000 + k % 997);
}

/* Sends question k; 0 when a 200 reply came back. */
static int s_send(s_run_t *run, lyc_http_t *http, size_t k)
{
    char prompt[LYC_DEMO_TEXT_MAX], url[320];
    s_question(run->data, k, prompt, sizeof prompt);
    lyc_client_query_t query = {.prompt = prompt, .tenant = S_TENANT};
    char *body = lyc_client_query_body(&query);
    if (!body)
        return -1;
    snprintf(url, sizeof url, "%s/v1/chat/completions", run->url);
    lyc_http_request_t req = {
        .url = url, .body = body, .body_len = strlen(body), .timeout_ms = S_REQUEST_MS};
    lyc_http_response_t resp;
    int rc = lyc_http_post_json(http, &req, &resp);
    free(body);
    if (rc != 0 || resp.status != 200) {
        pthread_mutex_lock(&run->lock);
        if (!run->first_error[0])
            snprintf(run->first_error, sizeof run->first_error, "%s",
                     rc != 0     ? resp.error
                     : resp.body ? resp.body
                                 : "(empty reply)");
        pthread_mutex_unlock(&run->lock);
        rc = -1;
    }
    lyc_http_response_free(&resp);
    return rc;
}

/* ---- the two loops --------------------------------------------------- */

static void s_sleep_until(int64_t mono_us)
{
    struct timespec ts = {.tv_sec = mono_us / 1000000, .tv_nsec = (mono_us % 1000000) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0 && !s_interrupted)
        ;
}

/* Open loop: thread i sends requests i, i+T, i+2T... each at its time. */
static void *s_open_worker(void *p)
{
    s_worker_arg_t *arg = p;
    s_run_t *run = arg->run;
    lyc_http_t *http = lyc_http_new();
    size_t base = atomic_load(&run->next);
    for (size_t k = (size_t) arg->index; http && k < run->total && !s_interrupted;
         k += (size_t) run->threads) {
        int64_t due = run->start_us + (int64_t) ((double) k * 1e6 / run->rate);
        s_sleep_until(due);
        int ok = s_send(run, http, base + k) == 0;
        run->latency_us[k] = ok ? lyc_mono_us() - due : -1;
        if (!ok)
            atomic_fetch_add(&run->errors, 1);
    }
    lyc_http_destroy(&http);
    return NULL;
}

/* Closed loop: send back to back until the end; count replies in time. */
static void *s_closed_worker(void *p)
{
    s_worker_arg_t *arg = p;
    s_run_t *run = arg->run;
    lyc_http_t *http = lyc_http_new();
    while (http && !s_interrupted && lyc_mono_us() < run->end_us) {
        size_t k = atomic_fetch_add(&run->next, 1);
        int ok = s_send(run, http, k) == 0;
        if (!ok)
            atomic_fetch_add(&run->errors, 1);
        else if (lyc_mono_us() <= run->end_us)
            atomic_fetch_add(&run->done, 1);
    }
    lyc_http_destroy(&http);
    return NULL;
}

/* Runs fn on n threads and joins them. */
static int s_threads(s_run_t *run, int n, void *(*fn)(void *) )
{
    pthread_t tids[S_MAX_THREADS];
    s_worker_arg_t args[S_MAX_THREADS];
    int started = 0;
    run->threads = n;
    for (; started < n; started++) {
        args[started] = (s_worker_arg_t){.run = run, .index = started};
        if (pthread_create(&tids[started], NULL, fn, &args[started]) != 0)
            break;
    }
    if (started < n)
        s_interrupted = 1; /* the threads started see it and stop */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return started == n ? 0 : -1;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of sorted values, in ms. */
static double s_quantile_ms(const int64_t *sorted, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    size_t i = (size_t) ceil(q * (double) n);
    i = i > 0 ? i - 1 : 0;
    return (double) sorted[i < n ? i : n - 1] / 1000.0;
}

/* ---- the benchmark ----------------------------------------------------- */

typedef struct {
    size_t open_sent, open_errors, closed_done, closed_errors, closed_sent;
    double p50, p90, p99, max, qps;
} s_result_t;

static int s_open_loop(s_run_t *run, const s_options_t *o, s_result_t *res)
{
    run->rate = o->rate;
    run->total = (size_t) o->rate * (size_t) o->duration;
    run->latency_us = calloc(run->total, sizeof *run->latency_us);
    if (!run->latency_us)
        return -1;
    run->start_us = lyc_mono_us() + 100000;
    int threads = run->total < S_OPEN_THREADS ? (int) run->total : S_OPEN_THREADS;
    int rc = s_threads(run, threads, s_open_worker);
    atomic_fetch_add(&run->next, run->total);
    size_t ok = 0;
    for (size_t k = 0; k < run->total; k++)
        if (run->latency_us[k] >= 0)
            run->latency_us[ok++] = run->latency_us[k];
    qsort(run->latency_us, ok, sizeof *run->latency_us, s_cmp_i64);
    res->open_sent = run->total;
    res->open_errors = run->total - ok;
    res->p50 = s_quantile_ms(run->latency_us, ok, 0.50);
    res->p90 = s_quantile_ms(run->latency_us, ok, 0.90);
    res->p99 = s_quantile_ms(run->latency_us, ok, 0.99);
    res->max = s_quantile_ms(run->latency_us, ok, 1.0);
    free(run->latency_us);
    run->latency_us = NULL;
    return rc;
}

static int s_closed_loop(s_run_t *run, const s_options_t *o, s_result_t *res)
{
    size_t first = atomic_load(&run->next);
    atomic_store(&run->errors, 0);
    run->start_us = lyc_mono_us();
    run->end_us = run->start_us + (int64_t) o->duration * 1000000;
    int rc = s_threads(run, o->clients, s_closed_worker);
    res->closed_done = atomic_load(&run->done);
    res->closed_errors = atomic_load(&run->errors);
    res->closed_sent = atomic_load(&run->next) - first;
    res->qps = (double) res->closed_done / o->duration;
    return rc;
}

/* A few sequential queries so the first measured ones find warm caches. */
static void s_warm_up(s_run_t *run)
{
    lyc_http_t *http = lyc_http_new();
    for (int i = 0; http && i < S_WARMUP && !s_interrupted; i++)
        s_send(run, http, atomic_fetch_add(&run->next, 1));
    lyc_http_destroy(&http);
    atomic_store(&run->errors, 0);
}

static void s_report(const s_options_t *o, const s_result_t *r, const char *url,
                     const char *first_error)
{
    size_t requests = r->open_sent + r->closed_sent;
    size_t errors = r->open_errors + r->closed_errors;
    if (!o->json) {
        printf("\nLyceum overhead benchmark (instant replay backends, evaluator in reference mode, "
               "router %s)\n",
               url);
        printf("  open loop:   %d req/s for %d s: %zu requests, %zu errors\n", o->rate, o->duration,
               r->open_sent, r->open_errors);
        printf("               latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (with "
               "instant backends: the latency Lyceum adds)\n",
               r->p50, r->p90, r->p99, r->max);
        printf("  closed loop: %d clients for %d s: %zu replies, %zu errors: %.0f queries/s\n",
               o->clients, o->duration, r->closed_done, r->closed_errors, r->qps);
        if (errors && first_error[0])
            printf("  first error: %.200s\n", first_error);
    }
    printf("{\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_qps\":%.1f,\"requests\":%zu,\"errors\":%zu}\n",
           r->p50, r->p99, r->qps, requests, errors);
}

/* Both loops against a running cluster. */
static int s_measure(const s_options_t *o, const char *run_dir)
{
    char url[512], err[512];
    lyc_cluster_t *cluster = lyc_launcher_cluster(run_dir, err, sizeof err);
    if (!cluster || lyc_launcher_router_url(run_dir, url, sizeof url) != 0) {
        fprintf(stderr, "lyceum: %s\n", cluster ? "cannot tell the router's address" : err);
        lyc_cluster_destroy(&cluster);
        return -1;
    }
    const lyc_demo_settings_t *demo = lyc_cluster_demo(cluster);
    s_run_t run = {.url = url};
    run.data = lyc_demo_data_new((uint64_t) demo->seed, (size_t) demo->queries);
    lyc_cluster_destroy(&cluster);
    if (!run.data || pthread_mutex_init(&run.lock, NULL) != 0) {
        lyc_demo_data_destroy((lyc_demo_data_t **) &run.data);
        return -1;
    }
    s_result_t res = {0};
    fprintf(stderr,
            "warming up, then open loop (%d req/s, %d s), then closed loop (%d clients, "
            "%d s)...\n",
            o->rate, o->duration, o->clients, o->duration);
    s_warm_up(&run);
    int rc = s_open_loop(&run, o, &res);
    if (rc == 0 && !s_interrupted)
        rc = s_closed_loop(&run, o, &res);
    if (s_interrupted)
        fprintf(stderr, "lyceum: interrupted; the figures cover what ran\n");
    s_report(o, &res, url, run.first_error);
    pthread_mutex_destroy(&run.lock);
    lyc_demo_data_t *data = (lyc_demo_data_t *) run.data;
    lyc_demo_data_destroy(&data);
    return rc;
}

/* ---- the command ----------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s bench overhead [-c CLUSTER.yaml] [--rate R] [--duration S] [--clients N]\n"
            "                              [--json] [--timeout S]\n"
            "Starts the bench cluster (built in: 4 instant replay models, reference grading) in\n"
            "<run dir>-bench, measures the latency Lyceum adds at R requests/s for S seconds\n"
            "(default 200/s, 10 s; open loop) and the highest throughput with N concurrent\n"
            "clients (default 32; closed loop), prints a report and a JSON line, and stops it.\n",
            lyc_cli_program);
}

/* Parses the options; -1 to go on, else the exit code. */
static int s_parse(int argc, char **argv, s_options_t *o)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'}, {"clients", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},           {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:r:d:n:jt:h", options, NULL)) != -1) {
        int bad = 0;
        if (opt == 'c')
            o->path = optarg;
        else if (opt == 'r')
            bad = (o->rate = lyc_cmd_seconds(optarg, "--rate (requests/s)", 1, 5000)) < 0;
        else if (opt == 'd')
            bad = (o->duration = lyc_cmd_seconds(optarg, "--duration", 1, 120)) < 0;
        else if (opt == 'n')
            bad = (o->clients = lyc_cmd_seconds(optarg, "--clients", 1, S_MAX_THREADS)) < 0;
        else if (opt == 'j')
            o->json = 1;
        else if (opt == 't')
            bad = (o->timeout_s = lyc_cmd_seconds(optarg, "--timeout", 1, 3600)) < 0;
        else {
            s_usage(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
        if (bad)
            return 2;
    }
    if (optind + 1 != argc || strcmp(argv[optind], "overhead") != 0) {
        s_usage(stderr);
        return 2;
    }
    return -1;
}

int lyc_cmd_bench(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "learning") == 0)
            return lyc_cmd_bench_learning(argc, argv);
    s_options_t o = {
        .rate = 200, .duration = 10, .clients = 32, .timeout_s = LYC_LAUNCHER_UP_TIMEOUT_S};
    int rc = s_parse(argc, argv, &o), already = 0;
    if (rc >= 0)
        return rc;
    char run_dir[LYC_PATH_MAX];
    snprintf(run_dir, sizeof run_dir, "%s-bench", lyc_paths_run_dir());
    char *text = lyc_cmd_cluster_text(o.path, lyc_cli_bench_cluster);
    if (!text)
        return 1;
    lyc_launch_t launch = {.text = text,
                           .source = o.path ? o.path : "<embedded bench cluster>",
                           .timeout_s = o.timeout_s};
    fprintf(stderr, "starting the bench cluster (run dir %s)\n", run_dir);
    rc = lyc_launcher_up(run_dir, &launch, stderr, &already);
    free(text);
    if (rc != 0)
        return 1;
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    rc = s_measure(&o, run_dir);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (lyc_launcher_down(run_dir, stderr) != 0)
        rc = -1;
    return rc == 0 && !s_interrupted ? 0 : 1;
}
