/*
 * main.c - lyceum-evaluator: reads the cluster file, serves until SIGINT or
 * SIGTERM.
 *
 *   lyceum-evaluator -c CLUSTER.yaml     serve
 *   lyceum-evaluator --help-config       list every setting it reads
 */
#include "envelope.h"
#include "eval_config.h"
#include "evaluator.h"
#include "http_server.h"
#include "log.h"
#include "service_args.h"
#include "settings.h"

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const lyc_service_cli_t s_cli = {
    .name = "evaluator",
    .summary = "Scores every answer of a query and picks the one the router returns.\n",
    .table = lyc_eval_config_table,
    .env_prefix = "LYCEUM_EVALUATOR"};

/* Starts GET /metrics and /healthz on config->http_listen; NULL when it is
 * empty or cannot be served (logged: grading matters more than metrics). */
static lyc_httpd_t *s_http_start(const lyc_eval_config_t *config)
{
    if (!*config->http_listen)
        return NULL;
    lyc_httpd_config_t http = {
        .listen = config->http_listen, .service = "evaluator", .metrics = config->metrics};
    lyc_httpd_t *server = lyc_httpd_new(&http);
    if (!server)
        LYC_ERROR(NULL, "evaluator: no /metrics: cannot serve HTTP on %s; grading anyway",
                  config->http_listen);
    return server;
}

/* Serves until a stop signal; returns the process exit code. */
static int s_run(const lyc_eval_config_t *config, const lyc_settings_t *settings)
{
    char err[512];
    lyc_bus_security_t *security = lyc_bus_security_new(
        settings, LYC_BUS_SECURITY_SERVER | LYC_BUS_SECURITY_CLIENT, err, sizeof err);
    if (!security) {
        LYC_ERROR(NULL, "evaluator: %s", err);
        return EXIT_FAILURE;
    }
    lyc_evaluator_links_t links = {.tasks_endpoint = settings->bus_tasks,
                                   .redis_url = settings->redis_url,
                                   .redis_prefix = settings->redis_prefix,
                                   .redis_timeout_ms = settings->redis_timeout_ms,
                                   .security = security};
    lyc_evaluator_t *evaluator = lyc_evaluator_new(config, &links);
    if (!evaluator) {
        lyc_bus_security_destroy(&security);
        return EXIT_FAILURE;
    }
    lyc_httpd_t *http = s_http_start(config);
    while (!zsys_interrupted)
        zclock_sleep(200);
    LYC_INFO(NULL, "evaluator: stopping");
    lyc_httpd_destroy(&http);
    lyc_evaluator_destroy(&evaluator);
    lyc_bus_security_destroy(&security); /* after every socket it secured */
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    lyc_settings_t settings;
    lyc_eval_config_t config;
    char err[512];
    int code;

    lyc_log_init("evaluator", LYC_LOG_INFO);
    const char *path;
    if (!lyc_service_args(&s_cli, argc, argv, &path, &code))
        return code;
    zsys_init();
    /* Redis (judges.h) is written to with write(2): a reset must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    lyc_confdoc_t *doc = lyc_settings_load(path, "LYCEUM_EVALUATOR", &settings, err, sizeof err);
    if (!doc) {
        LYC_ERROR(NULL, "evaluator: %s", err);
        return EXIT_FAILURE;
    }
    char sender[64];
    snprintf(sender, sizeof sender, "evaluator#%d", (int) getpid());
    lyc_envelope_set_sender(sender);
    code = EXIT_FAILURE;
    lyc_metrics_t *metrics = lyc_metrics_new();
    if (lyc_eval_config_load(&config, doc, err, sizeof err) != 0)
        LYC_ERROR(NULL, "evaluator: %s", err);
    else if ((config.metrics = metrics))
        code = s_run(&config, &settings);
    lyc_eval_config_free(&config);
    lyc_metrics_destroy(&metrics);
    lyc_confdoc_destroy(&doc);
    lyc_settings_free(&settings);
    return code;
}
