/*
 * servers.h - the Redis and Kafka a cluster needs.
 *
 * With `demo.servers: local` (the default), `lyceum up` runs
 * <source dir>/deploy/local/servers.sh up on the ports of redis.url and
 * kafka.brokers, unless both already answer. It remembers (a marker file in
 * the run dir) only when it found both down and started them, so
 * `lyceum down` stops the servers only if `lyceum up` started them: servers
 * someone else runs are never stopped. With `external`, nothing is started
 * and the configured servers are only checked.
 */
#ifndef LYCEUM_CLI_SERVERS_H
#define LYCEUM_CLI_SERVERS_H

#include "cluster.h"

#include <stdio.h>

/* How long servers.sh may take (it builds Redis from source the first time). */
#define LYC_SERVERS_TIMEOUT_MS (20 * 60 * 1000)

/* 1 when a TCP connection to the first host:port of address opens within
 * timeout_ms, else 0. */
int lyc_servers_reachable(const char *address, int timeout_ms);

/* Makes sure the cluster's Redis and Kafka run (see above); progress on
 * out, servers.sh output in <run_dir>/logs/servers.log. Returns 0, or -1
 * with the reason in err. */
int lyc_servers_up(const lyc_cluster_t *cluster, const char *run_dir, FILE *out, char *err,
                   size_t errcap);

/* Stops the servers if `lyceum up` started them (the marker says so);
 * otherwise does nothing. Returns 0, or -1 with the reason in err. */
int lyc_servers_down(const char *run_dir, FILE *out, char *err, size_t errcap);

/* Prints one line per server: address, up or down, who started it. */
void lyc_servers_print_status(const lyc_cluster_t *cluster, const char *run_dir, FILE *out);

#endif
