/*
 * commands.h - the subcommands of `lyceum`, each called by main.c with its
 * own argv (argv[0] is the subcommand's name) and returning the exit code.
 *
 *   up [-c FILE] [--timeout S]      start the cluster in the background
 *   down                            stop it
 *   status                          processes, replicas, servers
 *   ask "..." [--domain D] ...      one query, the answer and its metadata
 *   demo [-c FILE] [--timeout S]    up + a workload + what happened
 *   bench overhead [...]            latency Lyceum adds, highest throughput
 *   events [--type T] [--from T]... the event log as JSON lines (cmd_events.c)
 *   keys create|list|revoke|tenant  API keys and tenant budgets (cmd_keys.c)
 *   keys bus DIR [--clients N]      CurveZMQ certificates of the bus (cmd_keys.c)
 *   bench learning -c FILE [...]    a recorded data set as one online stream
 */
#ifndef LYCEUM_CLI_COMMANDS_H
#define LYCEUM_CLI_COMMANDS_H

int lyc_cmd_up(int argc, char **argv);
int lyc_cmd_down(int argc, char **argv);
int lyc_cmd_status(int argc, char **argv);
int lyc_cmd_ask(int argc, char **argv);
int lyc_cmd_demo(int argc, char **argv);
int lyc_cmd_bench(int argc, char **argv);
int lyc_cmd_events(int argc, char **argv);
int lyc_cmd_keys(int argc, char **argv);
int lyc_cmd_bench_learning(int argc, char **argv);

/* How the user ran lyceum ("lyceum" or a path), for the commands the tool
 * suggests; main.c sets it. */
extern const char *lyc_cli_program;

/* The text of the cluster file at path, or a copy of fallback when path is
 * NULL: a new string (caller frees), or NULL after printing why. */
char *lyc_cmd_cluster_text(const char *path, const char *fallback);

/* Parses a whole number of seconds in [min, max]; -1 after printing why. */
int lyc_cmd_seconds(const char *text, const char *option, int min, int max);

#endif
