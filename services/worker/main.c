/*
 * main.c - lyceum-worker: serves one model of the cluster on the bus.
 *
 *   lyceum-worker -c CLUSTER.yaml --model NAME [--id ID] [--queue N] [--http HOST:PORT]
 *   lyceum-worker --help-config
 *
 * --http (or env LYCEUM_WORKER_HTTP_LISTEN; off by default) serves GET
 * /metrics and /healthz there (worker.h lists the metrics). An address that
 * cannot be bound is logged and the worker serves without it: its calls
 * matter more than its metrics.
 *
 * Exit status: 0 after a clean drain (SIGTERM or SIGINT), 1 when it failed
 * at run time or was stopped before its calls finished (a second signal, or
 * a drain over 30 s), 2 when the command line or the configuration is wrong.
 */
#include "backend.h"
#include "http_server.h"
#include "log.h"
#include "settings.h"
#include "worker.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_EXIT_CONFIG 2

static lyc_worker_t *volatile s_worker;
static volatile sig_atomic_t s_early_stops; /* signals before the worker existed */

static void s_on_signal(int signum)
{
    lyc_worker_t *worker = s_worker;
    if (worker)
        lyc_worker_stop(worker);
    else
        s_early_stops++;
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lyceum-worker -c CLUSTER.yaml --model NAME [--id ID] [--queue N]\n"
                 "                     [--http HOST:PORT]\n"
                 "       lyceum-worker --help-config\n"
                 "  -c, --config FILE   the cluster file (shared settings and models)\n"
                 "  -m, --model NAME    the model of the cluster file this worker serves\n"
                 "      --id ID         worker id (default <model>#<hostname>:<pid>)\n"
                 "      --queue N       tasks that may wait beyond capacity (default 2 x "
                 "capacity)\n"
                 "      --http H:P      serve /metrics and /healthz on H:P (default: env\n"
                 "                      LYCEUM_WORKER_HTTP_LISTEN, else none)\n"
                 "      --help-config   print every setting with its default and range\n");
}

static void s_help_config(void)
{
    printf("Shared settings (cluster file; environment LYCEUM_WORKER_<KEY> or LYCEUM_<KEY>):\n\n");
    lyc_config_describe(lyc_settings_table, stdout);
    printf("\nEach entry of models: (the worker reads the one named by --model):\n\n");
    lyc_config_describe(lyc_model_config_table, stdout);
}

typedef struct {
    const char *config;
    const char *model;
    const char *id;
    size_t queue;
    const char *http; /* host:port of /metrics and /healthz, NULL for none */
} s_args_t;

/* Parses the command line. Returns 0 to run, 1 when done (help), or -1. */
static int s_parse_args(int argc, char **argv, s_args_t *args)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"model", required_argument, NULL, 'm'},
        {"id", required_argument, NULL, 'i'},     {"queue", required_argument, NULL, 'q'},
        {"http", required_argument, NULL, 'p'},   {"help-config", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:m:h", options, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c':
            args->config = optarg;
            break;
        case 'm':
            args->model = optarg;
            break;
        case 'i':
            args->id = optarg;
            break;
        case 'q':
            args->queue = (size_t) strtoul(optarg, &end, 10);
            if (!*optarg || *end || args->queue < 1 || args->queue > 1000000) {
                fprintf(stderr, "lyceum-worker: --queue must be a number from 1 to 1000000\n");
                return -1;
            }
            break;
        case 'p':
            args->http = optarg;
            break;
        case 'H':
            s_help_config();
            return 1;
        case 'h':
            s_usage(stdout);
            return 1;
        default:
            s_usage(stderr);
            return -1;
        }
    }
    if (optind < argc || !args->config || !args->model) {
        fprintf(stderr, "lyceum-worker: %s\n",
                optind < argc ? "unexpected argument" : "-c CLUSTER.yaml and --model are required");
        s_usage(stderr);
        return -1;
    }
    return 0;
}

static void s_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* /healthz: the worker serves (it is only up while lyc_worker_run runs). */
static int s_health(void *arg, cJSON *detail)
{
    const lyc_model_config_t *model = arg;
    cJSON_AddStringToObject(detail, "model", model->name);
    return 0;
}

/* Starts /metrics and /healthz on args->http (or the environment's); NULL
 * when none is asked for or the address cannot be served (logged). */
static lyc_httpd_t *s_http_start(const s_args_t *args, const lyc_model_config_t *model,
                                 lyc_metrics_t *metrics)
{
    const char *listen = args->http ? args->http : getenv("LYCEUM_WORKER_HTTP_LISTEN");
    if (!listen || !*listen || !metrics)
        return NULL;
    lyc_httpd_config_t cfg = {.listen = listen,
                              .service = "worker",
                              .metrics = metrics,
                              .health = s_health,
                              .health_arg = (void *) model};
    lyc_httpd_t *http = lyc_httpd_new(&cfg);
    if (!http)
        LYC_ERROR(NULL, "lyceum-worker: no /metrics: cannot serve HTTP on %s; serving calls anyway",
                  listen);
    return http;
}

/* Makes the worker and runs it; returns the process's exit status. */
static int s_serve(const s_args_t *args, const lyc_settings_t *settings,
                   const lyc_model_config_t *model)
{
    char err[1024];
    if (lyc_worker_check_endpoints(settings->bus_workers, err, sizeof err) != 0) {
        LYC_ERROR(NULL, "lyceum-worker: %s", err);
        return S_EXIT_CONFIG;
    }
    lyc_backend_env_t *env = lyc_backend_env_new(model, settings, NULL, err, sizeof err);
    if (!env) {
        LYC_ERROR(NULL, "lyceum-worker: %s", err);
        return S_EXIT_CONFIG;
    }
    lyc_metrics_t *metrics = lyc_metrics_new();
    lyc_worker_config_t config = {.settings = settings,
                                  .model = model,
                                  .env = env,
                                  .worker_id = args->id,
                                  .queue = args->queue,
                                  .metrics = metrics};
    lyc_worker_t *worker = metrics ? lyc_worker_new(&config, err, sizeof err) : NULL;
    if (!worker) {
        LYC_ERROR(NULL, "lyceum-worker: %s", metrics ? err : "out of memory");
        lyc_metrics_destroy(&metrics);
        lyc_backend_env_destroy(&env);
        return 1;
    }
    lyc_httpd_t *http = s_http_start(args, model, metrics);
    s_worker = worker;
    for (int i = 0; i < s_early_stops; i++)
        lyc_worker_stop(worker);
    int rc = lyc_worker_run(worker);
    if (rc == LYC_WORKER_CUT)
        _exit(1); /* calls still run on the pool's threads: do not wait for them */
    s_worker = NULL;
    lyc_httpd_destroy(&http);
    lyc_worker_destroy(&worker);
    lyc_metrics_destroy(&metrics);
    lyc_backend_env_destroy(&env);
    return rc == LYC_WORKER_DRAINED ? 0 : 1;
}

int main(int argc, char **argv)
{
    s_args_t args = {0};
    int parsed = s_parse_args(argc, argv, &args);
    if (parsed != 0)
        return parsed > 0 ? 0 : S_EXIT_CONFIG;
    zsys_handler_set(NULL); /* our handler drains; czmq's would only interrupt */
    s_install_signals();
    lyc_log_init("worker", LYC_LOG_INFO);

    char err[1024];
    lyc_settings_t settings;
    lyc_model_config_t model;
    lyc_confdoc_t *doc =
        lyc_settings_load(args.config, "LYCEUM_WORKER", &settings, err, sizeof err);
    if (!doc) {
        LYC_ERROR(NULL, "lyceum-worker: %s", err);
        return S_EXIT_CONFIG;
    }
    int rc = S_EXIT_CONFIG;
    if (lyc_model_config_find(doc, args.model, &model, err, sizeof err) != 0) {
        LYC_ERROR(NULL, "lyceum-worker: %s", err);
        goto out_free_settings;
    }
    rc = s_serve(&args, &settings, &model);
    lyc_model_config_free(&model);
out_free_settings:
    lyc_settings_free(&settings);
    lyc_confdoc_destroy(&doc);
    return rc;
}
