/*
 * dispatch_command.c - a training command in a child process, with a
 * time-out.
 */
#include "dispatch.h"

#include "clock.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_POLL_MS      50
#define S_TERM_WAIT_MS 5000

/* Appends s single-quoted for the shell. */
static void s_quote(FILE *out, const char *s)
{
    fputc('\'', out);
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

/* The value of placeholder name[0..len), or NULL when unknown. */
static const char *s_value(const lyc_dispatch_job_t *job, const char *name, size_t len)
{
    const struct {
        const char *name;
        const char *value;
    } values[] = {
        {"data", job->data},     {"heldout", job->heldout}, {"base_model", job->base_model},
        {"domain", job->domain}, {"output", job->output},   {"job_id", job->job_id},
        {"name", job->name}};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (strlen(values[i].name) == len && memcmp(values[i].name, name, len) == 0)
            return values[i].value;
    return NULL;
}

char *lyc_dispatch_expand(const char *template_text, const lyc_dispatch_job_t *job)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    for (const char *p = template_text; *p; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        const char *value = close ? s_value(job, p + 1, (size_t) (close - p - 1)) : NULL;
        if (value) {
            s_quote(out, value);
            p = close;
        } else {
            fputc(*p, out);
        }
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Waits for pid until deadline_us or *stop; returns its wait status, or -1
 * when it is still running. */
static int s_wait(pid_t pid, int64_t deadline_us, const volatile sig_atomic_t *stop)
{
    for (;;) {
        int status;
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            return status;
        if (done < 0 && errno != EINTR)
            return -1;
        if (lyc_mono_us() >= deadline_us || (stop && *stop))
            return -1;
        struct timespec ts = {0, S_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Stops the child's process group: SIGTERM, then SIGKILL, and reaps it. */
static void s_kill(pid_t pid)
{
    kill(-pid, SIGTERM);
    if (s_wait(pid, lyc_mono_us() + S_TERM_WAIT_MS * 1000LL, NULL) != -1)
        return;
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Starts /bin/sh -c cmd in a new process group, output to log_fd. */
static pid_t s_spawn(const char *cmd, int log_fd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The child: only async-signal-safe calls until exec. */
    setpgid(0, 0);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
    _exit(127);
}

static int s_result(int status, const lyc_dispatch_job_t *job, const char *log_path, char *err,
                    size_t errcap)
{
    char model_yaml[4096];
    snprintf(model_yaml, sizeof model_yaml, "%s/model.yaml", job->output);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errcap, "the training command %s %d (see %s)",
                 WIFEXITED(status) ? "exited with status" : "was killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log_path);
        return -1;
    }
    if (!lyc_fs_exists(model_yaml)) {
        snprintf(err, errcap, "the training command succeeded but wrote no %s", model_yaml);
        return -1;
    }
    return 0;
}

int lyc_dispatch_command(const lyc_trainer_config_t *config, const lyc_dispatch_job_t *job,
                         const volatile sig_atomic_t *stop, char *err, size_t errcap)
{
    char log_path[4096];
    snprintf(log_path, sizeof log_path, "%s/../command.log", job->output);
    char *cmd = lyc_dispatch_expand(config->command, job);
    if (!cmd) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int rc = -1;
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        snprintf(err, errcap, "cannot create %s: %s", log_path, strerror(errno));
        goto out_free;
    }
    LYC_INFO(NULL, "trainer: job %s runs: %s", job->job_id, cmd);
    pid_t pid = s_spawn(cmd, log_fd);
    close(log_fd);
    if (pid < 0) {
        snprintf(err, errcap, "fork failed: %s", strerror(errno));
        goto out_free;
    }
    int status = s_wait(pid, lyc_mono_us() + config->job_timeout_ms * 1000LL, stop);
    if (status == -1) {
        s_kill(pid);
        snprintf(err, errcap, "the training command %s and was stopped",
                 stop && *stop ? "was still running at shutdown"
                               : "ran past trainer.job_timeout_ms");
        goto out_free;
    }
    rc = s_result(status, job, log_path, err, errcap);
out_free:
    free(cmd);
    return rc;
}
