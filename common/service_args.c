/*
 * service_args.c - -c, --help-config and --help, the same for every service.
 */
#include "service_args.h"

#include "settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void s_usage(const lyc_service_cli_t *cli, FILE *out)
{
    fprintf(out,
            "usage: lyceum-%s %s\n"
            "       lyceum-%s --help-config\n"
            "%s"
            "Settings come from the cluster file and %s_* / LYCEUM_* environment variables.\n",
            cli->name, cli->config_optional ? "[-c CLUSTER.yaml]" : "-c CLUSTER.yaml", cli->name,
            cli->summary, cli->env_prefix);
}

static void s_help_config(const lyc_service_cli_t *cli)
{
    printf("Shared settings (top level of the cluster file):\n");
    lyc_config_describe(lyc_settings_table, stdout);
    printf("\n%s settings (under %s:, env %s_<KEY>):\n", cli->name, cli->name, cli->env_prefix);
    lyc_config_describe(cli->table, stdout);
}

int lyc_service_args(const lyc_service_cli_t *cli, int argc, char **argv, const char **path,
                     int *exit_code)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"help-config", no_argument, NULL, 'H'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;

    *path = NULL;
    *exit_code = EXIT_SUCCESS;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            *path = optarg;
            break;
        case 'H':
            s_help_config(cli);
            return 0;
        case 'h':
            s_usage(cli, stdout);
            return 0;
        default: /* getopt has said what was wrong */
            s_usage(cli, stderr);
            *exit_code = LYC_SERVICE_USAGE_EXIT;
            return 0;
        }
    }
    if (optind != argc || (!*path && !cli->config_optional)) {
        if (optind != argc)
            fprintf(stderr, "lyceum-%s: unexpected argument '%s'\n", cli->name, argv[optind]);
        s_usage(cli, stderr);
        *exit_code = LYC_SERVICE_USAGE_EXIT;
        return 0;
    }
    return 1;
}
