/*
 * servers.c - Redis and Kafka for a local cluster (see servers.h).
 */
#include "servers.h"

#include "paths.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_MARKER     "servers.started"
#define S_LOG        "logs/servers.log"
#define S_PROBE_MS   500
#define S_STOP_MS    (3 * 60 * 1000)
#define S_REDIS_PORT 6379
#define S_KAFKA_PORT 9092

/* Connects a non-blocking socket to ai within timeout_ms; 1 on success. */
static int s_connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t len = sizeof soerr;
        ok = poll(&p, 1, timeout_ms) == 1 &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
    }
    close(fd);
    return ok;
}

int lyc_servers_reachable(const char *address, int timeout_ms)
{
    char host[256], port_text[16];
    int port = 0;
    if (lyc_cluster_host_port(address, host, sizeof host, &port) != 0)
        return 0;
    snprintf(port_text, sizeof port_text, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    if (getaddrinfo(host, port_text, &hints, &list) != 0)
        return 0;
    int ok = 0;
    for (const struct addrinfo *ai = list; ai && !ok; ai = ai->ai_next)
        ok = s_connect_one(ai, timeout_ms);
    freeaddrinfo(list);
    return ok;
}

/* The port of address, or fallback when it names none. */
static int s_port(const char *address, int fallback)
{
    char host[256];
    int port = 0;
    return lyc_cluster_host_port(address, host, sizeof host, &port) == 0 ? port : fallback;
}

/* Runs servers.sh with one command; -1 with err when it fails. */
static int s_run_script(const lyc_cluster_t *cluster, const char *run_dir, const char *command,
                        int timeout_ms, char *err, size_t errcap)
{
    char script[LYC_PATH_MAX], log[LYC_PATH_MAX], redis_env[64], kafka_env[64];
    snprintf(script, sizeof script, "%s/deploy/local/servers.sh", lyc_paths_source_dir());
    if (!lyc_paths_exists(script)) {
        snprintf(err, errcap, "%s not found: set LYCEUM_SOURCE_DIR to the Lyceum source tree",
                 script);
        return -1;
    }
    lyc_paths_join(log, sizeof log, run_dir, S_LOG);
    const char *changes[4] = {"LYCEUM_RUN_DIR", NULL, NULL, NULL};
    if (cluster) {
        const lyc_settings_t *s = lyc_cluster_settings(cluster);
        snprintf(redis_env, sizeof redis_env, "LYCEUM_REDIS_PORT=%d",
                 s_port(s->redis_url, S_REDIS_PORT));
        snprintf(kafka_env, sizeof kafka_env, "LYCEUM_KAFKA_PORT=%d",
                 s_port(s->kafka_brokers, S_KAFKA_PORT));
        changes[1] = redis_env;
        changes[2] = kafka_env;
    }
    char *argv[] = {"/bin/bash", script, (char *) command, NULL};
    int code = 0;
    if (lyc_proc_run(argv, changes, log, timeout_ms, &code, err, errcap) != 0)
        return -1;
    if (code != 0) {
        snprintf(err, errcap, "deploy/local/servers.sh %s failed (exit %d); its output is in %s",
                 command, code, log);
        return -1;
    }
    return 0;
}

int lyc_servers_up(const lyc_cluster_t *cluster, const char *run_dir, FILE *out, char *err,
                   size_t errcap)
{
    const lyc_settings_t *s = lyc_cluster_settings(cluster);
    int redis_up = lyc_servers_reachable(s->redis_url, S_PROBE_MS);
    int kafka_up = lyc_servers_reachable(s->kafka_brokers, S_PROBE_MS);
    char marker[LYC_PATH_MAX];
    lyc_paths_join(marker, sizeof marker, run_dir, S_MARKER);
    if (strcmp(lyc_cluster_demo(cluster)->servers, "local") != 0) {
        if (!redis_up || !kafka_up)
            fprintf(out, "warning: %s%s%s not reachable (demo.servers is external)\n",
                    redis_up ? "" : s->redis_url, !redis_up && !kafka_up ? " and " : "",
                    kafka_up ? "" : s->kafka_brokers);
        return 0;
    }
    if (redis_up && kafka_up) {
        fprintf(out, "Redis %s and Kafka %s already run; using them\n", s->redis_url,
                s->kafka_brokers);
        return 0;
    }
    fprintf(out, "starting Redis and Kafka (deploy/local/servers.sh up; the first time it "
                 "builds them, which takes a few minutes)...\n");
    fflush(out);
    if (s_run_script(cluster, run_dir, "up", LYC_SERVERS_TIMEOUT_MS, err, errcap) != 0)
        return -1;
    if (!redis_up && !kafka_up && lyc_paths_write_file(marker, "1\n", 2) != 0) {
        snprintf(err, errcap, "cannot write %s: %s", marker, strerror(errno));
        return -1;
    }
    return 0;
}

int lyc_servers_down(const char *run_dir, FILE *out, char *err, size_t errcap)
{
    char marker[LYC_PATH_MAX];
    lyc_paths_join(marker, sizeof marker, run_dir, S_MARKER);
    if (!lyc_paths_exists(marker))
        return 0;
    fprintf(out, "stopping Redis and Kafka (started by lyceum up)...\n");
    fflush(out);
    if (s_run_script(NULL, run_dir, "down", S_STOP_MS, err, errcap) != 0)
        return -1;
    unlink(marker);
    return 0;
}

void lyc_servers_print_status(const lyc_cluster_t *cluster, const char *run_dir, FILE *out)
{
    const lyc_settings_t *s = lyc_cluster_settings(cluster);
    char marker[LYC_PATH_MAX];
    lyc_paths_join(marker, sizeof marker, run_dir, S_MARKER);
    const char *who = lyc_paths_exists(marker) ? "started by lyceum up, stopped by lyceum down"
                                               : "not started by lyceum; left running by down";
    fprintf(out, "servers (%s):\n", who);
    fprintf(out, "  redis  %-28s %s\n", s->redis_url,
            lyc_servers_reachable(s->redis_url, S_PROBE_MS) ? "up" : "down");
    fprintf(out, "  kafka  %-28s %s\n", s->kafka_brokers,
            lyc_servers_reachable(s->kafka_brokers, S_PROBE_MS) ? "up" : "down");
}
