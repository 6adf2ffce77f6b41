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
#include "log.h"
#include "settings.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lyceum-evaluator -c CLUSTER.yaml\n"
                 "       lyceum-evaluator --help-config\n"
                 "Scores every answer of a query and picks the one the router returns.\n"
                 "Settings come from the cluster file and LYCEUM_EVALUATOR_* / LYCEUM_* "
                 "environment variables.\n");
}

static void s_help_config(void)
{
    printf("Shared settings (top level of the cluster file):\n");
    lyc_config_describe(lyc_settings_table, stdout);
    printf("\nEvaluator settings (under evaluator:, env LYCEUM_EVALUATOR_<KEY>):\n");
    lyc_config_describe(lyc_eval_config_table, stdout);
}

/* Parses the command line; returns the config path, NULL after --help-config
 * or --help (with *exit_code set). */
static const char *s_args(int argc, char **argv, int *exit_code)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"help-config", no_argument, NULL, 'H'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int opt;

    *exit_code = EXIT_FAILURE;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'H':
            s_help_config();
            *exit_code = EXIT_SUCCESS;
            return NULL;
        case 'h':
            s_usage(stdout);
            *exit_code = EXIT_SUCCESS;
            return NULL;
        default:
            s_usage(stderr);
            return NULL;
        }
    }
    if (!path || optind != argc)
        s_usage(stderr);
    return optind == argc ? path : NULL;
}

/* Serves until a stop signal; returns the process exit code. */
static int s_run(const lyc_eval_config_t *config, const lyc_settings_t *settings)
{
    lyc_evaluator_t *evaluator = lyc_evaluator_new(config, settings->bus_tasks);
    if (!evaluator)
        return EXIT_FAILURE;
    while (!zsys_interrupted)
        zclock_sleep(200);
    LYC_INFO(NULL, "evaluator: stopping");
    lyc_evaluator_destroy(&evaluator);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    lyc_settings_t settings;
    lyc_eval_config_t config;
    char err[512];
    int code;

    lyc_log_init("evaluator", LYC_LOG_INFO);
    const char *path = s_args(argc, argv, &code);
    if (!path)
        return code;
    zsys_init();
    lyc_confdoc_t *doc = lyc_settings_load(path, "LYCEUM_EVALUATOR", &settings, err, sizeof err);
    if (!doc) {
        LYC_ERROR(NULL, "evaluator: %s", err);
        return EXIT_FAILURE;
    }
    char sender[64];
    snprintf(sender, sizeof sender, "evaluator#%d", (int) getpid());
    lyc_envelope_set_sender(sender);
    code = EXIT_FAILURE;
    if (lyc_eval_config_load(&config, doc, err, sizeof err) != 0)
        LYC_ERROR(NULL, "evaluator: %s", err);
    else
        code = s_run(&config, &settings);
    lyc_eval_config_free(&config);
    lyc_confdoc_destroy(&doc);
    lyc_settings_free(&settings);
    return code;
}
