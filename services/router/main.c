/*
 * main.c - lyceum-router: loads the cluster file, starts the broker, the
 * HTTP front door and the ZeroMQ client API, and stops them on a signal.
 *
 *   lyceum-router [-c CLUSTER.yaml]   serve (without -c: the embedded defaults)
 *   lyceum-router --help-config       list every setting it reads
 */
#include "broker.h"
#include "clients.h"
#include "http.h"
#include "log.h"
#include "model_config.h"
#include "router.h"
#include "service_args.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const lyc_service_cli_t s_cli = {
    .name = "router",
    .summary = "Serves the OpenAI-compatible API and routes each query to the models.\n"
               "Without -c it runs on its embedded defaults.\n",
    .table = lyc_router_config_table,
    .env_prefix = "LYCEUM_ROUTER",
    .config_optional = 1};

static void s_declare_metrics(lyc_router_t *r)
{
    static const double latency[] = LYC_METRICS_LATENCY_BUCKETS;
    size_t nb = sizeof latency / sizeof latency[0];
    r->metrics = lyc_metrics_new();
    r->m.requests = lyc_metrics_counter(r->metrics, "lyceum_router_http_requests_total",
                                        "HTTP requests by path and status", "path,status");
    r->m.queries = lyc_metrics_counter(r->metrics, "lyceum_router_queries_total",
                                       "Queries answered, by path (novel or familiar)", "path");
    r->m.calls = lyc_metrics_counter(r->metrics, "lyceum_router_model_calls_total",
                                     "Model calls by model and outcome", "model,outcome");
    r->m.latency = lyc_metrics_histogram(r->metrics, "lyceum_router_query_seconds",
                                         "End-to-end query latency", NULL, latency, nb);
    r->m.call_latency = lyc_metrics_histogram(r->metrics, "lyceum_router_model_call_seconds",
                                              "Model call latency by model and outcome",
                                              "model,outcome", latency, nb);
    r->m.cost =
        lyc_metrics_counter(r->metrics, "lyceum_router_cost_usd_total",
                            "USD spent on model calls by model and outcome", "model,outcome");
    r->m.in_flight =
        lyc_metrics_gauge(r->metrics, "lyceum_router_queries_in_flight", "Queries under way", NULL);
    r->m.workers =
        lyc_metrics_gauge(r->metrics, "lyceum_router_workers", "Live workers by model", "model");
}

/* Reads each configured model's deadline. */
static int s_load_deadlines(lyc_router_t *r, const lyc_confdoc_t *doc, char *err, size_t cap)
{
    int n = lyc_model_config_count(doc);
    r->deadlines = calloc((size_t) (n > 0 ? n : 1), sizeof *r->deadlines);
    if (!r->deadlines)
        return -1;
    for (int i = 0; i < n; i++) {
        lyc_model_config_t m;
        if (lyc_model_config_load(doc, i, &m, err, cap) != 0) {
            lyc_model_config_free(&m);
            return -1;
        }
        snprintf(r->deadlines[i].name, sizeof r->deadlines[i].name, "%s", m.name);
        r->deadlines[i].timeout_ms = m.timeout_ms;
        r->n_deadlines++;
        lyc_model_config_free(&m);
    }
    return 0;
}

static int s_configure(lyc_router_t *r, const char *path)
{
    char err[512];
    lyc_confdoc_t *doc = lyc_settings_load(path, "LYCEUM_ROUTER", &r->settings, err, sizeof err);
    if (!doc ||
        lyc_config_apply(lyc_router_config_table, &r->config, doc, "router.", "LYCEUM_ROUTER", err,
                         sizeof err) != 0 ||
        s_load_deadlines(r, doc, err, sizeof err) != 0 ||
        !(r->security = lyc_bus_security_new(
              &r->settings, LYC_BUS_SECURITY_SERVER | LYC_BUS_SECURITY_CLIENT, err, sizeof err))) {
        fprintf(stderr, "lyceum-router: configuration error: %s\n", err);
        lyc_confdoc_destroy(&doc);
        return -1;
    }
    lyc_confdoc_destroy(&doc);
    return 0;
}

static void s_update_gauges(lyc_router_t *r)
{
    lyc_model_info_t *models = NULL;
    size_t n = lyc_registry_snapshot(r->registry, &models);
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = {models[i].name};
        lyc_gauge_set(r->m.workers, labels, models[i].replicas);
    }
    free(models);
}

static int s_run(lyc_router_t *r)
{
    char host[64], name[128];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(r->instance, sizeof r->instance, "router#%s:%d", host, (int) getpid());
    snprintf(name, sizeof name, "%s-%d", host, (int) getpid());
    lyc_envelope_set_sender(r->instance);
    s_declare_metrics(r);
    r->registry = lyc_registry_new();
    r->embedder = lyc_embedder_new((unsigned) r->settings.embedding_dim);
    r->events = lyc_event_sink_new(&r->settings, "router", name);
    if (!r->metrics || !r->registry || !r->embedder || !r->events)
        return -1;
    lyc_broker_args_t args = {.workers_bind = r->config.workers_bind,
                              .tasks_bind = r->config.tasks_bind,
                              .default_timeout_ms = r->config.task_timeout_ms,
                              .registry = r->registry,
                              .security = r->security};
    r->broker = lyc_broker_new(&args);
    lyc_http_server_t *http = r->broker ? lyc_http_server_new(r) : NULL;
    lyc_clients_t *clients = http ? lyc_clients_new(r) : NULL;
    int rc = clients ? 0 : -1;
    if (rc == 0)
        LYC_INFO(NULL, "router: %s ready; workers connect to %s", r->instance,
                 r->config.workers_bind);
    while (rc == 0 && !zsys_interrupted) {
        zclock_sleep(250);
        s_update_gauges(r);
    }
    LYC_INFO(NULL, "router: stopping");
    lyc_http_server_destroy(&http);
    lyc_clients_destroy(&clients);
    zactor_destroy(&r->broker);
    return rc;
}

static void s_teardown(lyc_router_t *r)
{
    lyc_event_sink_destroy(&r->events, 5000);
    lyc_bus_security_destroy(&r->security); /* after every socket it secured */
    lyc_embedder_destroy(&r->embedder);
    lyc_registry_destroy(&r->registry);
    lyc_metrics_destroy(&r->metrics);
    free(r->deadlines);
    lyc_config_free(lyc_router_config_table, &r->config);
    lyc_settings_free(&r->settings);
}

int main(int argc, char **argv)
{
    const char *path;
    int code;
    if (!lyc_service_args(&s_cli, argc, argv, &path, &code))
        return code;
    signal(SIGPIPE, SIG_IGN);
    lyc_log_init("router", LYC_LOG_INFO);
    static lyc_router_t router;
    if (s_configure(&router, path) != 0)
        return 2;
    int rc = s_run(&router);
    s_teardown(&router);
    return rc == 0 ? 0 : 1;
}
