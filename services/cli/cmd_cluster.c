/*
 * cmd_cluster.c - `lyceum up`, `lyceum down` and `lyceum status`.
 */
#include "commands.h"

#include "embedded.h"
#include "launcher.h"
#include "paths.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest cluster file accepted. */
#define S_MAX_CLUSTER_FILE (4u * 1024 * 1024)

const char *lyc_cli_program = "lyceum";

char *lyc_cmd_cluster_text(const char *path, const char *fallback)
{
    if (!path) {
        char *copy = strdup(fallback);
        if (!copy)
            fprintf(stderr, "lyceum: out of memory\n");
        return copy;
    }
    char *text = lyc_paths_read_file(path, S_MAX_CLUSTER_FILE, NULL);
    if (!text)
        fprintf(stderr, "lyceum: cannot read the cluster file %s: %s\n", path,
                errno == EFBIG ? "larger than 4 MB" : strerror(errno));
    return text;
}

int lyc_cmd_seconds(const char *text, const char *option, int min, int max)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end || value < min || value > max) {
        fprintf(stderr, "lyceum: %s wants whole seconds from %d to %d, not '%s'\n", option, min,
                max, text);
        return -1;
    }
    return (int) value;
}

static void s_up_usage(FILE *out)
{
    fprintf(out,
            "usage: %s up [-c CLUSTER.yaml] [--timeout SECONDS]\n"
            "Starts the cluster in the background (default: the embedded default cluster)\n"
            "and returns once it serves. Run dir: $LYCEUM_RUN_DIR or /tmp/lyceum-run.\n",
            lyc_cli_program);
}

int lyc_cmd_up(int argc, char **argv)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int timeout_s = LYC_LAUNCHER_UP_TIMEOUT_S, opt, already = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            timeout_s = lyc_cmd_seconds(optarg, "--timeout", 1, 3600);
            if (timeout_s < 0)
                return 2;
            break;
        case 'h':
            s_up_usage(stdout);
            return 0;
        default:
            s_up_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        s_up_usage(stderr);
        return 2;
    }
    char *text = lyc_cmd_cluster_text(path, lyc_cli_default_cluster);
    if (!text)
        return 1;
    lyc_launch_t launch = {
        .text = text, .source = path ? path : "<embedded default cluster>", .timeout_s = timeout_s};
    int rc = lyc_launcher_up(lyc_paths_run_dir(), &launch, stdout, &already);
    free(text);
    if (rc == 0 && !already)
        printf("next: %s ask \"What is the capital of France?\", %s status, %s down\n",
               lyc_cli_program, lyc_cli_program, lyc_cli_program);
    return rc == 0 ? 0 : 1;
}

/* For commands without options: -1 to go on, else the exit code (after
 * --help, or a usage error). */
static int s_no_options(int argc, char **argv, const char *usage)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s %s\n", lyc_cli_program, usage);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s %s\n", lyc_cli_program, usage);
        return 2;
    }
    return -1;
}

int lyc_cmd_down(int argc, char **argv)
{
    int rc = s_no_options(argc, argv,
                          "down   (stops every process, and the servers if up "
                          "started them)");
    if (rc >= 0)
        return rc;
    return lyc_launcher_down(lyc_paths_run_dir(), stdout) == 0 ? 0 : 1;
}

int lyc_cmd_status(int argc, char **argv)
{
    int rc = s_no_options(argc, argv, "status   (exit 0 when everything runs, 3 otherwise)");
    if (rc >= 0)
        return rc;
    return lyc_launcher_status(lyc_paths_run_dir(), stdout);
}
