/*
 * main.c - lyceum: the one command-line tool of Lyceum.
 *
 *   lyceum up | down | status | ask | demo | bench | events   (see commands.h)
 *
 * Dispatches to the subcommand; each parses its own options.
 */
#include "commands.h"

#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *doc;
} s_command_t;

static const s_command_t s_commands[] = {
    {"up", lyc_cmd_up, "start the cluster in the background (-c FILE, default: built in)"},
    {"down", lyc_cmd_down, "stop it (and Redis and Kafka if `up` started them)"},
    {"status", lyc_cmd_status, "processes, replicas per model, servers"},
    {"ask", lyc_cmd_ask, "send one query: lyceum ask \"What is 2+2?\" [--domain D] [--json]"},
    {"demo", lyc_cmd_demo, "start the demo cluster, run a workload, show what happened"},
    {"bench", lyc_cmd_bench, "bench overhead | learning -c FILE: overhead, or the learning curve"},
    {"events", lyc_cmd_events, "print the event log as JSON lines (--type, --model, --from...)"},
    {"keys", lyc_cmd_keys,
     "API keys, tenants, bus keys: keys create|list|revoke|tenant|bus (--help)"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: %s COMMAND [OPTIONS]   (%s COMMAND --help for its options)\n\n",
            lyc_cli_program, lyc_cli_program);
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", s_commands[i].name, s_commands[i].doc);
    fprintf(out, "\nEnvironment: LYCEUM_RUN_DIR (default /tmp/lyceum-run), LYCEUM_URL (router for\n"
                 "ask), LYCEUM_BIN_DIR (service binaries), LYCEUM_SOURCE_DIR (for\n"
                 "deploy/local/servers.sh), LYCEUM_<KEY> overrides of the cluster file.\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    lyc_log_init("lyceum", LYC_LOG_WARN);
    if (argc > 0 && strchr(argv[0], '/'))
        lyc_cli_program = argv[0];
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        s_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lyceum: unknown command '%s'\n\n", argv[1]);
    s_usage(stderr);
    return 2;
}
