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
#include "settings.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lyceum-monitor -c CLUSTER.yaml\n"
                 "       lyceum-monitor --help-config\n"
                 "Reads the event log and serves the dashboard, the JSON API (/api/...),\n"
                 "/metrics and /healthz. Settings come from the cluster file and\n"
                 "LYCEUM_MONITOR_* / LYCEUM_* environment variables.\n");
}

static void s_help_config(void)
{
    printf("Shared settings (top level of the cluster file):\n");
    lyc_config_describe(lyc_settings_table, stdout);
    printf("\nMonitor settings (under monitor:, env LYCEUM_MONITOR_<KEY>):\n");
    lyc_config_describe(lyc_monitor_config_table, stdout);
}

/* Returns the config path, or NULL with *code set (help, or bad usage). */
static const char *s_args(int argc, char **argv, int *code)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"help-config", no_argument, NULL, 'H'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int opt;
    *code = 2;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else if (opt == 'H' || opt == 'h') {
            opt == 'H' ? s_help_config() : s_usage(stdout);
            *code = 0;
            return NULL;
        } else {
            s_usage(stderr);
            return NULL;
        }
    }
    if (!path || optind != argc) {
        s_usage(stderr);
        return NULL;
    }
    return path;
}

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
    const char *path = s_args(argc, argv, &code);
    if (!path)
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
