/*
 * service_args.h - the command line every Lyceum service shares:
 *
 *   lyceum-<name> -c CLUSTER.yaml     serve with the cluster file
 *   lyceum-<name> --help-config       every setting it reads, shared ones first
 *   lyceum-<name> --help              what it does
 *
 * A bad command line prints the usage on stderr and exits 2; --help and
 * --help-config print on stdout and exit 0.
 */
#ifndef LYCEUM_SERVICE_ARGS_H
#define LYCEUM_SERVICE_ARGS_H

#include "config.h"

/* Exit code of a bad command line. */
#define LYC_SERVICE_USAGE_EXIT 2

typedef struct {
    const char *name;             /* "evaluator": the binary is lyceum-<name> */
    const char *summary;          /* what it does, one or more lines ending in '\n' */
    const lyc_cfg_field_t *table; /* its own settings, under <name>: in the file */
    const char *env_prefix;       /* "LYCEUM_EVALUATOR" */
    int config_optional;          /* serving without -c (embedded defaults) is allowed */
} lyc_service_cli_t;

/* Parses argv. Returns 1 to serve, with *path the cluster file (NULL when
 * it is optional and not given); or 0 when the process should exit with
 * *exit_code (help printed: 0; a bad command line: LYC_SERVICE_USAGE_EXIT). */
int lyc_service_args(const lyc_service_cli_t *cli, int argc, char **argv, const char **path,
                     int *exit_code);

#endif
