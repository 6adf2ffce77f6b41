/*
 * testkit.h - what every Lyceum test file shares: running a Check suite and
 * finding the real servers the integration tests talk to.
 */
#ifndef LYCEUM_TESTKIT_H
#define LYCEUM_TESTKIT_H

#include <check.h>

/* Runs the suite, prints Check's summary line, returns the process exit code. */
int lyc_test_run(Suite *suite);

/* Redis URL from LYCEUM_REDIS_URL; aborts the test with a clear message when unset,
 * since an integration test must never pass without its server. */
const char *lyc_test_redis_url(void);

/* Kafka bootstrap servers from LYCEUM_KAFKA_BROKERS; aborts likewise when unset. */
const char *lyc_test_kafka_brokers(void);

/* Directory holding the redis-server and redis-cli that deploy/local/servers.sh
 * runs (Redis 8 with TLS, deploy/local/redis8.sh), from LYCEUM_REDIS_BIN_DIR,
 * for tests that start a server of their own; aborts likewise when unset. */
const char *lyc_test_redis_bin_dir(void);

/* Path under the source tree (LYCEUM_SOURCE_DIR), into buf; returns buf. */
const char *lyc_test_source_path(char *buf, size_t cap, const char *relative);

/* A fresh name with the given prefix, unique per run (so reruns never collide). */
const char *lyc_test_unique(char *buf, size_t cap, const char *prefix);

/* Runs a shell command, returns its exit status (-1 if it could not run). */
int lyc_test_sh(const char *command);

/* Path of a built binary, e.g. lyc_test_binary(buf, cap, "services/router/lyceum-router"),
 * under LYCEUM_BUILD_DIR. */
const char *lyc_test_binary(char *buf, size_t cap, const char *relative);

/* Starts argv[0] with argv in the background, stdout and stderr appended to
 * log_path; returns its pid (> 0) or -1. */
int lyc_test_spawn(char *const argv[], const char *log_path);

/* Sends sig to pid and waits up to timeout_ms for it to exit (then SIGKILL).
 * Returns its exit status, or -1. */
int lyc_test_stop(int pid, int sig, int timeout_ms);

/* One HTTP request with libcurl. body may be NULL (GET). Returns the HTTP
 * status (0 when no connection) and the response body in *response (caller
 * frees; may be NULL). */
int lyc_test_http(const char *method, const char *url, const char *content_type, const char *body,
                  size_t body_len, char **response);

/* Polls url until it answers 200 and, when needle is not NULL, the body
 * contains needle; 0 when it did within timeout_ms, else -1. */
int lyc_test_wait_http(const char *url, const char *needle, int timeout_ms);

/* Writes text to path; 0 or -1. */
int lyc_test_write_file(const char *path, const char *text);

#endif
