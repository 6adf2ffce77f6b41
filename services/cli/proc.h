/*
 * proc.h - local processes: starting a service detached with its log and pid
 * files, telling whether it still runs, stopping it with a time-out, and
 * running a helper script in the foreground with a time-out.
 *
 * A detached process runs in its own session (setsid), with stdin from
 * /dev/null and stdout and stderr in its log file, so it outlives the
 * `lyceum` command that started it and ignores that terminal's Ctrl-C.
 */
#ifndef LYCEUM_CLI_PROC_H
#define LYCEUM_CLI_PROC_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Starts argv[0] (a path) with argv, detached, its output appended to a
 * truncated log_path, and writes its pid to pid_path. Returns the pid, or -1
 * with the reason in err (including a failed exec: a close-on-exec pipe
 * tells the parent). */
pid_t lyc_proc_spawn(char *const argv[], const char *log_path, const char *pid_path, char *err,
                     size_t errcap);

/* Reads a pid file; returns the pid, or -1 when absent or malformed. */
pid_t lyc_proc_read_pid(const char *pid_path);

/* 1 when pid runs and is a Lyceum service (its argv[0] is lyceum-...), else
 * 0. Reaps it when it is an exited child of this process, so a dead child
 * never passes for alive. */
int lyc_proc_alive(pid_t pid);

/* Stops the n processes: SIGTERM to all, waits up to grace_ms for them to
 * exit, then SIGKILL to the rest (and waits up to 2 s more). Entries <= 0
 * are skipped. Returns how many needed SIGKILL. */
int lyc_proc_stop_all(const pid_t *pids, size_t n, int grace_ms);

/* Runs argv in the foreground (its own process group), output appended to
 * log_path, with env_changes applied to its environment ("NAME=VALUE" sets,
 * "NAME" removes; NULL-terminated, may be NULL). Kills the group after
 * timeout_ms. Returns 0 with its exit status in *exit_code (128+signal when
 * killed), or -1 with the reason in err when it could not run or timed out. */
int lyc_proc_run(char *const argv[], const char *const *env_changes, const char *log_path,
                 int timeout_ms, int *exit_code, char *err, size_t errcap);

/* Prints the last `lines` lines of the file at path to out, under a header
 * naming it; says so when the file is empty or missing. */
void lyc_proc_print_tail(const char *path, int lines, FILE *out);

/* Sleeps ms milliseconds (restarting after signals). */
void lyc_proc_sleep_ms(int ms);

#endif
