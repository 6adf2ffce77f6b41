/*
 * main.c - lyceum-monitor: reads the cluster file, serves until SIGINT or
 * SIGTERM.
 *
 *   lyceum-monitor -c CLUSTER.yaml     serve (dashboard at monitor.http_listen)
 *   lyceum-monitor --help-config       list every setting it reads
 */
#include "envelope.h"
#include "log.h"
#include "monitor.h"
#include "service_args.h"
#include "settings.h"

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const lyc_service_cli_t s_cli = {
    .name = "monitor",
    .summary = "Reads the event log and serves the dashboard, the JSON API (/api/...),\n"
               "/metrics and /healthz.\n",
    .table = lyc_monitor_config_table,
    .env_prefix = "LYCEUM_MONITOR"};

static int s_serve(const lyc_settings_t *settings, const lyc_monitor_config_t *config)
{
    lyc_monitor_t *monitor = lyc_monitor_new(settings, config);
    if (!monitor)
        return 1;
    while (!zsys_interrupted)
        zclock_sleep(200);
    LYC_INFO(NULL, "monitor: stopping");
    lyc_monitor_destroy(&monitor);
    return 0;
}

int main(int argc, char **argv)
{
    lyc_settings_t settings;
    lyc_monitor_config_t config;
    char err[512], sender[64];
    int code;
    lyc_log_init("monitor", LYC_LOG_INFO);
    const char *path;
    if (!lyc_service_args(&s_cli, argc, argv, &path, &code))
        return code;
    signal(SIGPIPE, SIG_IGN);
    zsys_init();
    lyc_confdoc_t *doc = lyc_settings_load(path, "LYCEUM_MONITOR", &settings, err, sizeof err);
    if (!doc) {
        LYC_ERROR(NULL, "monitor: %s", err);
        return 2;
    }
    snprintf(sender, sizeof sender, "monitor#%d", (int) getpid());
    lyc_envelope_set_sender(sender);
    code = 2;
    if (lyc_monitor_config_load(&config, doc, err, sizeof err) != 0)
        LYC_ERROR(NULL, "monitor: %s", err);
    else
        code = s_serve(&settings, &config);
    lyc_monitor_config_free(&config);
    lyc_confdoc_destroy(&doc);
    lyc_settings_free(&settings);
    return code;
}
