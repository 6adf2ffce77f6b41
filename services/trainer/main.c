/*
 * main.c - lyceum-trainer: reads the cluster file, trains until SIGINT or
 * SIGTERM.
 *
 *   lyceum-trainer -c CLUSTER.yaml     run
 *   lyceum-trainer --help-config       list every setting it reads
 *
 * Exit status: 0 after a clean stop, 1 when it failed at run time, 2 when
 * the command line or the configuration is wrong.
 */
#include "envelope.h"
#include "log.h"
#include "settings.h"
#include "trainer.h"
#include "trainer_config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_EXIT_CONFIG 2

static lyc_trainer_t *volatile s_trainer;
static volatile sig_atomic_t s_stopped;

static void s_on_signal(int signum)
{
    (void) signum;
    s_stopped = 1;
    lyc_trainer_t *trainer = s_trainer;
    if (trainer)
        lyc_trainer_stop(trainer);
}

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lyceum-trainer -c CLUSTER.yaml\n"
                 "       lyceum-trainer --help-config\n"
                 "Learns from the feedback log: statistics, roles, training data, fine-tuning\n"
                 "jobs and new domains. Settings come from the cluster file and\n"
                 "LYCEUM_TRAINER_* / LYCEUM_* environment variables.\n");
}

static void s_help_config(void)
{
    printf("Shared settings (top level of the cluster file):\n");
    lyc_config_describe(lyc_settings_table, stdout);
    printf("\nTrainer settings (under trainer:, env LYCEUM_TRAINER_<KEY>):\n");
    lyc_config_describe(lyc_trainer_config_table, stdout);
}

/* The config path, or NULL with *code set (help, or a bad command line). */
static const char *s_args(int argc, char **argv, int *code)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"help-config", no_argument, NULL, 'H'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int opt;
    *code = S_EXIT_CONFIG;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'H':
            s_help_config();
            *code = EXIT_SUCCESS;
            return NULL;
        case 'h':
            s_usage(stdout);
            *code = EXIT_SUCCESS;
            return NULL;
        default:
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

static int s_run(const lyc_settings_t *settings, const lyc_trainer_config_t *config,
                 const lyc_confdoc_t *doc)
{
    lyc_trainer_t *trainer = lyc_trainer_new(settings, config, doc);
    if (!trainer)
        return EXIT_FAILURE;
    s_trainer = trainer;
    if (s_stopped)
        lyc_trainer_stop(trainer);
    int rc = lyc_trainer_run(trainer);
    s_trainer = NULL;
    lyc_trainer_destroy(&trainer);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    int code;
    lyc_log_init("trainer", LYC_LOG_INFO);
    const char *path = s_args(argc, argv, &code);
    if (!path)
        return code;
    s_install_signals();
    char err[1024], sender[64];
    lyc_settings_t settings;
    lyc_trainer_config_t config;
    lyc_confdoc_t *doc = lyc_settings_load(path, "LYCEUM_TRAINER", &settings, err, sizeof err);
    if (!doc) {
        LYC_ERROR(NULL, "trainer: %s", err);
        return S_EXIT_CONFIG;
    }
    snprintf(sender, sizeof sender, "trainer#%d", (int) getpid());
    lyc_envelope_set_sender(sender);
    code = S_EXIT_CONFIG;
    if (lyc_trainer_config_load(&config, doc, path, err, sizeof err) != 0)
        LYC_ERROR(NULL, "trainer: %s", err);
    else
        code = s_run(&settings, &config, doc);
    lyc_trainer_config_free(&config);
    lyc_confdoc_destroy(&doc);
    lyc_settings_free(&settings);
    return code;
}
