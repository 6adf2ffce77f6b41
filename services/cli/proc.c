/*
 * proc.c - starting, watching and stopping local processes (see proc.h).
 */
#define _GNU_SOURCE /* pipe2, close_range */
#include "proc.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Most bytes of a log file read to print its tail. */
#define S_TAIL_BYTES (64 * 1024)
/* Poll interval while waiting for processes. */
#define S_POLL_MS 50

void lyc_proc_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the child side ---------------------------------------------------- */

/* In the child: signals back to their defaults (the parent may ignore
 * SIGPIPE, and ignored signals survive exec), nothing blocked, every
 * inherited descriptor above stderr closed at exec. */
static void s_child_reset(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
}

/* In the child: stdin from /dev/null, stdout and stderr to log_fd. */
static int s_child_stdio(int log_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
        return -1;
    if (null_fd != STDIN_FILENO)
        close(null_fd);
    if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
        return -1;
    return 0;
}

/* In the child: sets up and execs; on failure reports errno on status_fd. */
static void s_child_exec(char *const argv[], char *const envp[], int log_fd, int status_fd,
                         int detach)
{
    int rc = detach ? (setsid() < 0 ? -1 : 0) : setpgid(0, 0);
    if (rc == 0)
        rc = s_child_stdio(log_fd);
    if (rc == 0) {
        s_child_reset();
        execve(argv[0], argv, envp);
    }
    int code = errno;
    ssize_t ignored = write(status_fd, &code, sizeof code);
    (void) ignored;
    _exit(127);
}

/* Forks and execs; returns the pid, or -1 with the reason in err. */
static pid_t s_start(char *const argv[], char *const envp[], const char *log_path, int truncate,
                     int detach, char *err, size_t errcap)
{
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    int log_fd = open(log_path, flags, 0644);
    if (log_fd < 0) {
        snprintf(err, errcap, "cannot open %s: %s", log_path, strerror(errno));
        return -1;
    }
    int pipe_fd[2];
    pid_t pid = -1;
    if (pipe2(pipe_fd, O_CLOEXEC) != 0) {
        snprintf(err, errcap, "pipe: %s", strerror(errno));
        goto out_close_log;
    }
    pid = fork();
    if (pid == 0)
        s_child_exec(argv, envp, log_fd, pipe_fd[1], detach);
    close(pipe_fd[1]);
    if (pid < 0) {
        snprintf(err, errcap, "fork: %s", strerror(errno));
        goto out_close_pipe;
    }
    int code = 0;
    ssize_t n;
    while ((n = read(pipe_fd[0], &code, sizeof code)) < 0 && errno == EINTR)
        ;
    if (n == (ssize_t) sizeof code) {
        snprintf(err, errcap, "cannot run %s: %s", argv[0], strerror(code));
        waitpid(pid, NULL, 0);
        pid = -1;
    }
out_close_pipe:
    close(pipe_fd[0]);
out_close_log:
    close(log_fd);
    return pid;
}

/* ---- detached services --------------------------------------------------- */

pid_t lyc_proc_spawn(char *const argv[], const char *log_path, const char *pid_path, char *err,
                     size_t errcap)
{
    pid_t pid = s_start(argv, environ, log_path, 1, 1, err, errcap);
    if (pid < 0)
        return -1;
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", (int) pid);
    FILE *f = fopen(pid_path, "w");
    int ok = f && fwrite(text, 1, (size_t) n, f) == (size_t) n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errcap, "cannot write %s: %s", pid_path, strerror(errno));
        lyc_proc_stop_all(&pid, 1, 2000);
        return -1;
    }
    return pid;
}

pid_t lyc_proc_read_pid(const char *pid_path)
{
    FILE *f = fopen(pid_path, "r");
    if (!f)
        return -1;
    long pid = -1;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 1 || pid > INT32_MAX)
        pid = -1;
    fclose(f);
    return (pid_t) pid;
}

/* 1 when /proc says pid is a zombie (exited, not yet reaped by its parent). */
static int s_zombie(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* 1 when argv[0] of pid has a base name starting with "lyceum-". */
static int s_is_lyceum(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    return strncmp(base, "lyceum-", 7) == 0;
}

int lyc_proc_alive(pid_t pid)
{
    if (pid <= 1)
        return 0;
    if (waitpid(pid, NULL, WNOHANG) == pid)
        return 0;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 0;
    return !s_zombie(pid) && s_is_lyceum(pid);
}

/* 1 when pid is gone (reaped here, absent or a zombie of another parent). */
static int s_gone(pid_t pid)
{
    if (waitpid(pid, NULL, WNOHANG) == pid)
        return 1;
    return (kill(pid, 0) != 0 && errno == ESRCH) || s_zombie(pid);
}

/* Waits until every listed process is gone or timeout_ms passes; returns
 * how many remain. */
static size_t s_wait_gone(const pid_t *pids, size_t n, int timeout_ms)
{
    int64_t deadline = lyc_mono_us() + (int64_t) timeout_ms * 1000;
    for (;;) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            left += pids[i] > 1 && !s_gone(pids[i]);
        if (left == 0 || lyc_mono_us() >= deadline)
            return left;
        lyc_proc_sleep_ms(S_POLL_MS);
    }
}

int lyc_proc_stop_all(const pid_t *pids, size_t n, int grace_ms)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 1)
            kill(pids[i], SIGTERM);
    if (s_wait_gone(pids, n, grace_ms) == 0)
        return 0;
    int killed = 0;
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 1 && !s_gone(pids[i]) && kill(pids[i], SIGKILL) == 0)
            killed++;
    s_wait_gone(pids, n, 2000);
    return killed;
}

/* ---- foreground helpers ---------------------------------------------- */

/* 1 when env entry `entry` ("NAME=...") is named by change ("NAME=..." or "NAME"). */
static int s_same_name(const char *entry, const char *change)
{
    size_t len = strcspn(change, "=");
    return strncmp(entry, change, len) == 0 && entry[len] == '=';
}

/* environ with the changes applied: a new array of borrowed strings. */
static char **s_env_with(const char *const *changes)
{
    size_t n_env = 0, n_changes = 0;
    while (environ[n_env])
        n_env++;
    while (changes && changes[n_changes])
        n_changes++;
    char **envp = calloc(n_env + n_changes + 1, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        int replaced = 0;
        for (size_t c = 0; c < n_changes && !replaced; c++)
            replaced = s_same_name(environ[i], changes[c]);
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t c = 0; c < n_changes; c++)
        if (strchr(changes[c], '='))
            envp[k++] = (char *) changes[c];
    return envp;
}

/* Waits for pid up to timeout_ms; 0 with *status, or -1 after killing its group. */
static int s_wait_child(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = lyc_mono_us() + (int64_t) timeout_ms * 1000;
    while (lyc_mono_us() < deadline) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        lyc_proc_sleep_ms(100);
    }
    kill(-pid, SIGTERM);
    lyc_proc_sleep_ms(2000);
    kill(-pid, SIGKILL);
    waitpid(pid, status, 0);
    return -1;
}

int lyc_proc_run(char *const argv[], const char *const *env_changes, const char *log_path,
                 int timeout_ms, int *exit_code, char *err, size_t errcap)
{
    char **envp = s_env_with(env_changes);
    if (!envp) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    pid_t pid = s_start(argv, envp, log_path, 0, 0, err, errcap);
    free(envp);
    if (pid < 0)
        return -1;
    int status = 0;
    if (s_wait_child(pid, timeout_ms, &status) != 0) {
        snprintf(err, errcap, "%s did not finish within %d s; stopped it", argv[0],
                 timeout_ms / 1000);
        return -1;
    }
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

/* ---- logs ------------------------------------------------------------ */

void lyc_proc_print_tail(const char *path, int lines, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(out, "---- %s: not written (%s)\n", path, strerror(errno));
        return;
    }
    static char buf[S_TAIL_BYTES + 1];
    long start = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        start = size > S_TAIL_BYTES ? size - S_TAIL_BYTES : 0;
    }
    size_t n = fseek(f, start, SEEK_SET) == 0 ? fread(buf, 1, S_TAIL_BYTES, f) : 0;
    fclose(f);
    buf[n] = '\0';
    if (n == 0) {
        fprintf(out, "---- %s: empty\n", path);
        return;
    }
    const char *p = buf + n;
    int seen = 0;
    if (p > buf && p[-1] == '\n')
        p--;
    while (p > buf && seen < lines)
        if (*--p == '\n')
            seen++;
    if (*p == '\n')
        p++;
    fprintf(out, "---- last lines of %s\n%s%s", path, p, buf[n - 1] == '\n' ? "" : "\n");
}
