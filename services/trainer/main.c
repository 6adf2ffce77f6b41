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
#include "service_args.h"
#include "settings.h"
#include "trainer.h"
#include "trainer_config.h"

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

static const lyc_service_cli_t s_cli = {
    .name = "trainer",
    .summary = "Learns from the feedback log: statistics, roles, training data, fine-tuning\n"
               "jobs and new domains.\n",
    .table = lyc_trainer_config_table,
    .env_prefix = "LYCEUM_TRAINER"};

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
    const char *path;
    if (!lyc_service_args(&s_cli, argc, argv, &path, &code))
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
