/*
 * spawn.c - child worker processes: start, reap, restart, stop.
 */
#include "spawn.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_STOP_WAIT_MS   10000
#define S_BACKOFF_MIN_US 1000000LL
#define S_BACKOFF_MAX_US 60000000LL

typedef struct {
    char *cluster_file;
    char *model;
    char *log_path;
    pid_t pid;          /* 0 while waiting for a restart */
    int64_t restart_us; /* when to restart (monotonic) */
    int64_t backoff_us;
} s_child_t;

struct lyc_spawner_t {
    char binary[PATH_MAX];
    s_child_t *children;
    size_t count;
};

/* binary beside our own executable, when it exists, into out. */
static int s_beside_self(char *out, size_t cap, const char *relative)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(out, cap, "%s/%s", self, relative);
    return access(out, X_OK) == 0 ? 0 : -1;
}

static void s_find_binary(char *out, size_t cap, const char *configured)
{
    if (configured && *configured) {
        snprintf(out, cap, "%s", configured);
        return;
    }
    if (s_beside_self(out, cap, "lyceum-worker") == 0 ||
        s_beside_self(out, cap, "../worker/lyceum-worker") == 0)
        return;
#ifdef LYC_WORKER_BINARY
    if (access(LYC_WORKER_BINARY, X_OK) == 0) {
        snprintf(out, cap, "%s", LYC_WORKER_BINARY);
        return;
    }
#endif
    snprintf(out, cap, "lyceum-worker"); /* from PATH */
}

lyc_spawner_t *lyc_spawner_new(const char *binary)
{
    lyc_spawner_t *self = calloc(1, sizeof *self);
    if (self)
        s_find_binary(self->binary, sizeof self->binary, binary);
    return self;
}

static pid_t s_exec(const lyc_spawner_t *self, const s_child_t *c)
{
    char *const argv[] = {(char *) self->binary, "-c", c->cluster_file, "--model", c->model, NULL};
    int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        LYC_ERROR(NULL, "trainer: cannot open %s: %s", c->log_path, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd);
    if (pid < 0)
        LYC_ERROR(NULL, "trainer: fork failed: %s", strerror(errno));
    else
        LYC_INFO(NULL, "trainer: started worker %d for model %s (%s -c %s)", (int) pid, c->model,
                 self->binary, c->cluster_file);
    return pid;
}

int lyc_spawner_start(lyc_spawner_t *self, const char *cluster_file, const char *model,
                      const char *log_path)
{
    s_child_t *grown = realloc(self->children, (self->count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    self->children = grown;
    s_child_t *c = &grown[self->count];
    memset(c, 0, sizeof *c);
    c->cluster_file = strdup(cluster_file);
    c->model = strdup(model);
    c->log_path = strdup(log_path);
    c->backoff_us = S_BACKOFF_MIN_US;
    if (!c->cluster_file || !c->model || !c->log_path) {
        free(c->cluster_file);
        free(c->model);
        free(c->log_path);
        return -1;
    }
    self->count++;
    c->pid = s_exec(self, c);
    if (c->pid < 0) {
        c->pid = 0;
        c->restart_us = lyc_mono_us() + c->backoff_us;
        return -1;
    }
    return (int) c->pid;
}

void lyc_spawner_tend(lyc_spawner_t *self)
{
    int64_t now = lyc_mono_us();
    for (size_t i = 0; i < self->count; i++) {
        s_child_t *c = &self->children[i];
        int status;
        if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid) {
            LYC_WARN(NULL, "trainer: worker %d of model %s exited (status %d); restart in %.0f s",
                     (int) c->pid, c->model, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     (double) c->backoff_us / 1e6);
            c->pid = 0;
            c->restart_us = now + c->backoff_us;
            c->backoff_us =
                c->backoff_us * 2 > S_BACKOFF_MAX_US ? S_BACKOFF_MAX_US : c->backoff_us * 2;
        }
        if (c->pid == 0 && now >= c->restart_us && (c->pid = s_exec(self, c)) < 0)
            c->pid = 0;
    }
}

size_t lyc_spawner_count(const lyc_spawner_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        n += self->children[i].pid > 0;
    return n;
}

const char *lyc_spawner_binary(const lyc_spawner_t *self)
{
    return self->binary;
}

/* Waits up to ms for pid; 0 when it was reaped. */
static int s_reap(pid_t pid, int ms)
{
    int64_t deadline = lyc_mono_us() + ms * 1000LL;
    while (lyc_mono_us() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

void lyc_spawner_destroy(lyc_spawner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_spawner_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        if (self->children[i].pid > 0)
            kill(self->children[i].pid, SIGTERM);
    for (size_t i = 0; i < self->count; i++) {
        s_child_t *c = &self->children[i];
        if (c->pid > 0 && s_reap(c->pid, S_STOP_WAIT_MS) != 0) {
            kill(c->pid, SIGKILL);
            s_reap(c->pid, 1000);
        }
        free(c->cluster_file);
        free(c->model);
        free(c->log_path);
    }
    free(self->children);
    free(self);
    *self_p = NULL;
}
