/*
 * test_redis_tls.c - rediss:// against a real Redis 8 with TLS: the test
 * makes its own CA and certificates with the openssl command line and starts
 * its own redis-server (the TLS build of deploy/local/redis8.sh, found through
 * LYCEUM_REDIS_BIN_DIR) on free ports, one plain and one TLS.
 *
 * It checks that the right CA connects and runs commands, vector sets
 * included (through the vector store); that the password from
 * redis.password_file works over TLS; that a wrong CA, a missing CA file and
 * a certificate for another name are refused with a reason; that plain
 * redis:// to the TLS port and rediss:// to the plain port fail within the
 * time-out; that a server demanding client certificates refuses a client
 * without one and accepts one with it; and that a restart of the server is
 * survived by the reconnect, with a new handshake.
 *
 * A build without TLS (Debian's hiredis 0.14) checks only that rediss:// is
 * refused there.
 */
#include "testkit.h"

#include "clock.h"
#include "redis.h"
#include "vecstore.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS    2000 /* connect and command time-out of the good cases */
#define FAIL_TIMEOUT  1000 /* time-out of the cases that must fail */
#define START_WAIT_MS 10000
#define STOP_WAIT_MS  5000

static char s_dir[64]; /* certificates, server logs and pid files */

/* ------------------------------------------------------------------------ */
/* Certificates                                                              */

/* s_dir/<name>, in a static buffer (one of a few, so two can be in use). */
static const char *s_path(const char *name)
{
    static char bufs[4][256];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof bufs[0], "%s/%s", s_dir, name);
    return buf;
}

/* A CA (ca.crt), a second CA nobody uses (other-ca.crt), a server certificate
 * for 127.0.0.1 and localhost and a client certificate, both signed by ca. */
static int s_make_certificates(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'\n"
             "key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
             "openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 "
             "  -subj '/CN=Lyceum test CA'\n"
             "openssl req -x509 $key -keyout other-ca.key -out other-ca.crt -days 2 "
             "  -subj '/CN=Some other CA'\n"
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' >server.ext\n"
             "openssl req -new $key -keyout server.key -out server.csr -subj '/CN=localhost'\n"
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "  -out server.crt -days 2 -extfile server.ext\n"
             "printf 'extendedKeyUsage=clientAuth\\n' >client.ext\n"
             "openssl req -new $key -keyout client.key -out client.csr -subj '/CN=lyceum'\n"
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "  -out client.crt -days 2 -extfile client.ext\n",
             s_dir);
    char script[300];
    snprintf(script, sizeof script, "%s/make-certs.sh", s_dir);
    if (lyc_test_write_file(script, cmd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "sh '%s' >'%s/make-certs.log' 2>&1", script, s_dir);
    return lyc_test_sh(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* The test's own server                                                     */

typedef struct {
    int pid;
    int tls_port;   /* TLS only */
    int plain_port; /* no TLS, for rediss:// to a plain port */
    int mutual;     /* demands a client certificate */
} s_server_t;

/* A port nothing listens on now (the kernel's choice for port 0). */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int s_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *) &addr, sizeof addr) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts the server (on the ports it had, or new ones) and waits until both
 * ports accept connections. */
static void s_server_start(s_server_t *srv)
{
    char bin[512], tls_port[16], plain_port[16], pidfile[64], logfile[64];
    if (srv->tls_port == 0) {
        srv->tls_port = s_free_port();
        srv->plain_port = s_free_port();
    }
    snprintf(bin, sizeof bin, "%s/redis-server", lyc_test_redis_bin_dir());
    snprintf(tls_port, sizeof tls_port, "%d", srv->tls_port);
    snprintf(plain_port, sizeof plain_port, "%d", srv->plain_port);
    snprintf(pidfile, sizeof pidfile, "redis-%d.pid", srv->tls_port);
    snprintf(logfile, sizeof logfile, "redis-%d.log", srv->tls_port);
    char pidpath[256], logpath[256];
    snprintf(pidpath, sizeof pidpath, "%s", s_path(pidfile));
    snprintf(logpath, sizeof logpath, "%s", s_path(logfile));
    char *const argv[] = {bin,
                          "--bind",
                          "127.0.0.1",
                          "--port",
                          plain_port,
                          "--tls-port",
                          tls_port,
                          "--tls-cert-file",
                          (char *) s_path("server.crt"),
                          "--tls-key-file",
                          (char *) s_path("server.key"),
                          "--tls-ca-cert-file",
                          (char *) s_path("ca.crt"),
                          "--tls-auth-clients",
                          srv->mutual ? "yes" : "no",
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--dir",
                          s_dir,
                          "--pidfile",
                          pidpath,
                          "--logfile",
                          logpath,
                          "--daemonize",
                          "no",
                          NULL};
    srv->pid = lyc_test_spawn(argv, logpath);
    ck_assert_int_gt(srv->pid, 0);
    for (int waited = 0; waited < START_WAIT_MS; waited += 20) {
        if (s_port_open(srv->tls_port) && s_port_open(srv->plain_port))
            return;
        int status;
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            char cmd[300];
            snprintf(cmd, sizeof cmd, "tail -n 20 '%s' >&2", logpath);
            lyc_test_sh(cmd);
            ck_abort_msg("%s exited at start (log above; a build without TLS? "
                         "deploy/local/redis8.sh builds it with TLS)",
                         bin);
        }
        usleep(20000);
    }
    ck_abort_msg("%s did not listen on %d and %d within %d ms", bin, srv->tls_port, srv->plain_port,
                 START_WAIT_MS);
}

static void s_server_stop(s_server_t *srv)
{
    ck_assert_int_ge(lyc_test_stop(srv->pid, SIGTERM, STOP_WAIT_MS), 0);
    srv->pid = 0;
}

/* Stops every server a failed test left behind (their pid files). */
static void s_stop_leftovers(void)
{
    DIR *dir = opendir(s_dir);
    struct dirent *entry;
    while (dir && (entry = readdir(dir))) {
        if (!strstr(entry->d_name, ".pid"))
            continue;
        FILE *f = fopen(s_path(entry->d_name), "r");
        int pid = 0;
        if (f && fscanf(f, "%d", &pid) == 1 && pid > 0) {
            kill(pid, SIGTERM);
            for (int i = 0; i < STOP_WAIT_MS / 20 && kill(pid, 0) == 0; i++)
                usleep(20000);
            kill(pid, SIGKILL);
        }
        if (f)
            fclose(f);
    }
    if (dir)
        closedir(dir);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static const char *s_url(const char *scheme, const char *host, int port)
{
    static char url[128];
    snprintf(url, sizeof url, "%s://%s:%d", scheme, host, port);
    return url;
}

/* lyc_redis_new with its log lines (stderr) also captured into log. */
static lyc_redis_t *s_new_logged(const char *url, int timeout_ms, char *log, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/captured.log", s_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    lyc_redis_t *redis = lyc_redis_new(url, timeout_ms);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, log, cap - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
    fprintf(stderr, "%s", log);
    return redis;
}

/* Sends a command that must succeed; returns the reply's integer or 0. */
static long long s_ok(lyc_redis_t *redis, int argc, const char **argv)
{
    redisReply *reply = lyc_redis_command(redis, argc, argv, NULL);
    ck_assert_msg(reply != NULL, "%s failed: %s", argv[0], lyc_redis_error(redis));
    long long value = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    freeReplyObject(reply);
    return value;
}

static void s_use_tls(const char *ca, const char *cert, const char *key, const char *name)
{
    lyc_redis_tls_t tls = {.ca_file = ca, .cert_file = cert, .key_file = key, .server_name = name};
    ck_assert_int_eq(lyc_redis_set_tls(&tls), 0);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

/* The right CA: commands and vector sets work, by address and by name. */
START_TEST(test_right_ca_connects_and_runs_commands)
{
    s_server_t srv = {0};
    s_server_start(&srv);
    s_use_tls(s_path("ca.crt"), NULL, NULL, NULL);

    lyc_redis_t *redis = lyc_redis_new(s_url("rediss", "127.0.0.1", srv.tls_port), TIMEOUT_MS);
    ck_assert_ptr_nonnull(redis);
    const char *set[] = {"SET", "lyc:tls:greeting", "hello over TLS"};
    const char *get[] = {"GET", "lyc:tls:greeting"};
    s_ok(redis, 3, set);
    redisReply *reply = lyc_redis_command(redis, 2, get, NULL);
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->str, "hello over TLS");
    freeReplyObject(reply);
    lyc_redis_destroy(&redis);

    /* By name: SNI and the DNS name in the certificate. */
    redis = lyc_redis_new(s_url("rediss", "localhost", srv.tls_port), TIMEOUT_MS);
    ck_assert_ptr_nonnull(redis);
    lyc_redis_destroy(&redis);

    /* Vector sets through the vector store. */
    lyc_vecstore_config_t config = {.redis_url = s_url("rediss", "127.0.0.1", srv.tls_port),
                                    .key_prefix = "lyc-tls",
                                    .dim = 3,
                                    .timeout_ms = TIMEOUT_MS};
    lyc_vecstore_t *store = lyc_vecstore_new(&config);
    ck_assert_ptr_nonnull(store);
    const float a[] = {1, 0, 0}, b[] = {0, 1, 0}, q[] = {0.9f, 0.1f, 0};
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "a", a, 3, NULL), 0);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "b", b, 3, NULL), 0);
    lyc_vecstore_results_t *results = NULL;
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", q, 3, 2, NULL, &results), 0);
    ck_assert_uint_eq(results->count, 2);
    ck_assert_str_eq(results->hits[0].record_id, "a");
    lyc_vecstore_results_destroy(&results);
    ck_assert_int_eq(lyc_vecstore_drop_tenant(store, "acme"), 0);
    lyc_vecstore_destroy(&store);
    s_server_stop(&srv);
}
END_TEST

/* redis.password_file is read and sent over TLS; without it the server says NOAUTH. */
START_TEST(test_password_file_over_tls)
{
    s_server_t srv = {0};
    s_server_start(&srv);
    s_use_tls(s_path("ca.crt"), NULL, NULL, NULL);
    const char *url = s_url("rediss", "127.0.0.1", srv.tls_port);
    lyc_redis_t *admin = lyc_redis_new(url, TIMEOUT_MS);
    ck_assert_ptr_nonnull(admin);
    const char *protect[] = {"CONFIG", "SET", "requirepass", "tls pass word"};
    s_ok(admin, 4, protect);

    char log[4096];
    ck_assert_ptr_null(s_new_logged(url, TIMEOUT_MS, log, sizeof log));
    ck_assert_msg(strstr(log, "NOAUTH") || strstr(log, "Authentication"), "%s", log);

    ck_assert_int_eq(lyc_test_write_file(s_path("redis.pw"), "tls pass word\n"), 0);
    lyc_secret_source_t src = {"redis.password_env", NULL, "redis.password_file",
                               s_path("redis.pw")};
    ck_assert_int_eq(lyc_redis_set_password_source(&src), 0);
    lyc_redis_t *redis = lyc_redis_new(url, TIMEOUT_MS);
    ck_assert_ptr_nonnull(redis);
    const char *ping[] = {"PING"};
    s_ok(redis, 1, ping);
    lyc_redis_destroy(&redis);
    lyc_redis_destroy(&admin); /* authenticated before requirepass: still in */
    ck_assert_int_eq(lyc_redis_set_password_source(NULL), 0);
    s_server_stop(&srv);
}
END_TEST

/* Certificates that do not verify, and files that are not there: refused,
 * with the reason, within the time-out. */
START_TEST(test_wrong_ca_and_wrong_name_are_refused)
{
    s_server_t srv = {0};
    s_server_start(&srv);
    const char *url = s_url("rediss", "127.0.0.1", srv.tls_port);
    char log[4096];
    int64_t start = lyc_mono_us();

    s_use_tls(s_path("other-ca.crt"), NULL, NULL, NULL);
    ck_assert_ptr_null(s_new_logged(url, FAIL_TIMEOUT, log, sizeof log));
    ck_assert_msg(strstr(log, "certificate is refused"), "%s", log);

    s_use_tls(s_path("ca.crt"), NULL, NULL, "redis.example.com");
    ck_assert_ptr_null(s_new_logged(url, FAIL_TIMEOUT, log, sizeof log));
    ck_assert_msg(strstr(log, "redis.example.com") && strstr(log, "hostname mismatch"), "%s", log);

    s_use_tls(s_path("no-such-ca.crt"), NULL, NULL, NULL);
    ck_assert_ptr_null(s_new_logged(url, FAIL_TIMEOUT, log, sizeof log));
    ck_assert_msg(strstr(log, "redis.tls_ca_file") && strstr(log, "No such file"), "%s", log);

    s_use_tls(s_path("server.crt"), NULL, NULL, NULL); /* a leaf is no CA */
    ck_assert_ptr_null(s_new_logged(url, FAIL_TIMEOUT, log, sizeof log));
    ck_assert_msg(strstr(log, "certificate is refused"), "%s", log);
    ck_assert_int_lt(lyc_mono_us() - start, 4 * FAIL_TIMEOUT * 1000);
    s_server_stop(&srv);
}
END_TEST

/* Plain to the TLS port and TLS to the plain port fail within the time-out. */
START_TEST(test_wrong_scheme_fails_within_the_timeout)
{
    s_server_t srv = {0};
    s_server_start(&srv);
    s_use_tls(s_path("ca.crt"), NULL, NULL, NULL);
    char log[4096];

    int64_t start = lyc_mono_us();
    ck_assert_ptr_null(
        s_new_logged(s_url("redis", "127.0.0.1", srv.tls_port), FAIL_TIMEOUT, log, sizeof log));
    int64_t elapsed = lyc_mono_us() - start;
    ck_assert_msg(elapsed < (FAIL_TIMEOUT + 1000) * 1000, "took %lld us", (long long) elapsed);
    ck_assert_msg(strstr(log, "PING") && strstr(log, "use rediss://"), "%s", log);

    start = lyc_mono_us();
    ck_assert_ptr_null(
        s_new_logged(s_url("rediss", "127.0.0.1", srv.plain_port), FAIL_TIMEOUT, log, sizeof log));
    elapsed = lyc_mono_us() - start;
    ck_assert_msg(elapsed < (FAIL_TIMEOUT + 1000) * 1000, "took %lld us", (long long) elapsed);
    ck_assert_msg(strstr(log, "TLS handshake"), "%s", log);
    s_server_stop(&srv);
}
END_TEST

/* A server that demands client certificates: none is refused, ours admitted. */
START_TEST(test_mutual_tls_needs_the_client_certificate)
{
    s_server_t srv = {.mutual = 1};
    s_server_start(&srv);
    const char *url = s_url("rediss", "127.0.0.1", srv.tls_port);
    char log[4096];

    s_use_tls(s_path("ca.crt"), NULL, NULL, NULL);
    ck_assert_ptr_null(s_new_logged(url, FAIL_TIMEOUT, log, sizeof log));
    /* The alert ("certificate required") or, when the reset overtakes it, the hint. */
    ck_assert_msg(strstr(log, "certificate required") || strstr(log, "demand a client certificate"),
                  "%s", log);

    s_use_tls(s_path("ca.crt"), s_path("client.crt"), s_path("server.key"), NULL);
    ck_assert_ptr_null(s_new_logged(url, FAIL_TIMEOUT, log, sizeof log));
    ck_assert_msg(strstr(log, "redis.tls_key_file"), "%s", log);

    s_use_tls(s_path("ca.crt"), s_path("client.crt"), s_path("client.key"), NULL);
    lyc_redis_t *redis = lyc_redis_new(url, TIMEOUT_MS);
    ck_assert_ptr_nonnull(redis);
    const char *ping[] = {"PING"};
    s_ok(redis, 1, ping);
    lyc_redis_destroy(&redis);
    s_server_stop(&srv);
}
END_TEST

/* The server restarts under an open connection: the next command reconnects,
 * with a new handshake, and succeeds. */
START_TEST(test_restart_is_survived_by_the_reconnect)
{
    s_server_t srv = {.mutual = 1};
    s_server_start(&srv);
    s_use_tls(s_path("ca.crt"), s_path("client.crt"), s_path("client.key"), NULL);
    lyc_redis_t *redis = lyc_redis_new(s_url("rediss", "127.0.0.1", srv.tls_port), TIMEOUT_MS);
    ck_assert_ptr_nonnull(redis);
    const char *incr[] = {"INCR", "lyc:tls:counter"};
    ck_assert_int_eq(s_ok(redis, 2, incr), 1);

    s_server_stop(&srv);
    s_server_start(&srv); /* same ports, empty data */
    ck_assert_int_eq(s_ok(redis, 2, incr), 1);
    ck_assert_int_eq(s_ok(redis, 2, incr), 2);

    s_server_stop(&srv);
    ck_assert_ptr_null(lyc_redis_command(redis, 2, incr, NULL)); /* down: fails, no hang */
    s_server_start(&srv);
    ck_assert_int_eq(s_ok(redis, 2, incr), 1);
    lyc_redis_destroy(&redis);
    s_server_stop(&srv);
}
END_TEST

/* Without hiredis_ssl the URL is refused before anything connects. */
START_TEST(test_build_without_tls_refuses_rediss)
{
    char log[4096];
    ck_assert_ptr_null(s_new_logged("rediss://127.0.0.1:6380", FAIL_TIMEOUT, log, sizeof log));
    ck_assert_msg(strstr(log, "LYCEUM_HIREDIS_ROOT"), "%s", log);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(s_dir, sizeof s_dir, "/tmp/lyc-test-redis-tls-XXXXXX");
    if (!mkdtemp(s_dir))
        return 1;
    Suite *suite = suite_create("redis_tls");
    TCase *tc = tcase_create("redis_tls");
    tcase_set_timeout(tc, 60);
    if (lyc_redis_tls_available()) {
        lyc_test_redis_bin_dir(); /* aborts with a clear message when unset */
        if (s_make_certificates() != 0) {
            fprintf(stderr, "cannot make the test certificates (openssl): see %s/make-certs.log\n",
                    s_dir);
            return 1;
        }
        tcase_add_test(tc, test_right_ca_connects_and_runs_commands);
        tcase_add_test(tc, test_password_file_over_tls);
        tcase_add_test(tc, test_wrong_ca_and_wrong_name_are_refused);
        tcase_add_test(tc, test_wrong_scheme_fails_within_the_timeout);
        tcase_add_test(tc, test_mutual_tls_needs_the_client_certificate);
        tcase_add_test(tc, test_restart_is_survived_by_the_reconnect);
    } else {
        tcase_add_test(tc, test_build_without_tls_refuses_rediss);
    }
    suite_add_tcase(suite, tc);
    int rc = lyc_test_run(suite);
    s_stop_leftovers();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    lyc_test_sh(cmd);
    return rc;
}
