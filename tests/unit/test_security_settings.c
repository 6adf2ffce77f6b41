/*
 * test_security_settings.c - the security settings checked at start: bus
 * certificates (errors naming the setting and the file, a CURVE handshake
 * that admits only authorized keys), kafka.settings and the SASL password
 * from the environment or a file, Redis' password source and its TLS keys.
 */
#include "testkit.h"

#include "bus_security.h"
#include "redis.h"
#include "secret.h"
#include "settings.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char s_dir[64];   /* certificates made once for every test */
static char s_path[256]; /* scratch path */

static const char *s_file(const char *name)
{
    snprintf(s_path, sizeof s_path, "%s/%s", s_dir, name);
    return s_path;
}

/* Makes a certificate `name` (and name_secret) in s_dir, public half also in
 * s_dir/authorized when authorized. Runs before the suite: 0 or -1. */
static int s_make_cert(const char *name, int authorized)
{
    char path[256], secret[300];
    zcert_t *cert = zcert_new();
    if (!cert)
        return -1;
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    snprintf(secret, sizeof secret, "%s_secret", path);
    int rc =
        zcert_save(cert, path) == 0 && chmod(path, 0644) == 0 && chmod(secret, 0600) == 0 ? 0 : -1;
    snprintf(path, sizeof path, "%s/authorized/%s", s_dir, name);
    if (rc == 0 && authorized)
        rc = zcert_save_public(cert, path);
    zcert_destroy(&cert);
    return rc;
}

/* Settings of a curve-enabled cluster using the certificates in s_dir. */
static void s_curve_settings(lyc_settings_t *s, char paths[5][256], const char *client)
{
    memset(s, 0, sizeof *s);
    snprintf(paths[0], 256, "%s/server.cert_secret", s_dir);
    snprintf(paths[1], 256, "%s/server.cert", s_dir);
    snprintf(paths[2], 256, "%s/%s_secret", s_dir, client);
    snprintf(paths[3], 256, "%s/authorized", s_dir);
    s->bus_curve_enabled = 1;
    s->bus_curve_server_cert = paths[0];
    s->bus_curve_server_public = paths[1];
    s->bus_curve_client_cert = paths[2];
    s->bus_curve_authorized = paths[3];
}

/* ---- the bus ------------------------------------------------------------ */

START_TEST(test_curve_disabled_is_a_no_op)
{
    lyc_settings_t s;
    char err[512];
    memset(&s, 0, sizeof s);
    lyc_bus_security_t *sec = lyc_bus_security_new(&s, LYC_BUS_SECURITY_SERVER, err, sizeof err);
    ck_assert_ptr_nonnull(sec);
    ck_assert_int_eq(lyc_bus_security_enabled(sec), 0);
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    ck_assert_int_eq(lyc_bus_security_server(sec, sock), 0);
    ck_assert_int_eq(lyc_bus_security_client(NULL, sock), 0);
    ck_assert_int_eq(zsock_mechanism(sock), ZMQ_NULL);
    zsock_destroy(&sock);
    lyc_bus_security_destroy(&sec);
    ck_assert_ptr_null(sec);
    lyc_bus_security_destroy(NULL);
}
END_TEST

START_TEST(test_missing_or_wrong_cert_names_key_and_file)
{
    lyc_settings_t s;
    char paths[5][256], err[512];
    s_curve_settings(&s, paths, "client-1.cert");

    s.bus_curve_client_cert = "/nonexistent/lyceum/client.cert_secret";
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.client_cert") &&
                      strstr(err, "/nonexistent/lyceum/client.cert_secret") &&
                      strstr(err, "No such file"),
                  "%s", err);

    s.bus_curve_client_cert = "";
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.client_cert is not set"), "%s", err);

    /* the public half only: no secret key */
    s.bus_curve_client_cert = paths[3]; /* reuse the buffer */
    snprintf(paths[3], 256, "%s/authorized/client-1.cert", s_dir);
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.client_cert") && strstr(err, "no secret key"), "%s", err);

    /* not a certificate at all */
    ck_assert_int_eq(lyc_test_write_file(s_file("junk.cert"), "hello\n"), 0);
    s.bus_curve_client_cert = s_path;
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err));
    ck_assert_msg(strstr(err, "is not a czmq certificate") && strstr(err, "junk.cert"), "%s", err);

    s_curve_settings(&s, paths, "client-1.cert");
    s.bus_curve_server_public = "/nonexistent/server.cert";
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.server_public") && strstr(err, "/nonexistent/server.cert"),
                  "%s", err);
}
END_TEST

START_TEST(test_server_needs_its_secret_and_the_authorized_directory)
{
    lyc_settings_t s;
    char paths[5][256], err[512];
    s_curve_settings(&s, paths, "client-1.cert");
    s.bus_curve_authorized = "/nonexistent/authorized";
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_SERVER, err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.authorized") && strstr(err, "/nonexistent/authorized"),
                  "%s", err);

    s_curve_settings(&s, paths, "client-1.cert");
    s.bus_curve_server_cert = "/nonexistent/server.cert_secret";
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_SERVER, err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.server_cert") &&
                      strstr(err, "/nonexistent/server.cert_secret"),
                  "%s", err);

    /* a client-only process needs neither */
    lyc_bus_security_t *sec = lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err);
    ck_assert_msg(sec != NULL, "%s", err);
    lyc_bus_security_destroy(&sec);

    /* server_public must be the public half of server_cert */
    s_curve_settings(&s, paths, "client-1.cert");
    snprintf(paths[1], 256, "%s/client-1.cert", s_dir);
    ck_assert_ptr_null(lyc_bus_security_new(&s, LYC_BUS_SECURITY_SERVER | LYC_BUS_SECURITY_CLIENT,
                                            err, sizeof err));
    ck_assert_msg(strstr(err, "bus.curve.server_public") && strstr(err, "bus.curve.server_cert"),
                  "%s", err);
}
END_TEST

/* 1 when sock receives a message within ms. */
static int s_receives(zsock_t *sock, int ms)
{
    zpoller_t *poller = zpoller_new(sock, NULL);
    int got = zpoller_wait(poller, ms) == sock;
    zpoller_destroy(&poller);
    if (got) {
        zmsg_t *msg = zmsg_recv(sock);
        zmsg_destroy(&msg);
    }
    return got;
}

/* A DEALER to endpoint, secured by sec (NULL: plain), that sends "hello". */
static zsock_t *s_client(const lyc_bus_security_t *sec, const char *endpoint)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    ck_assert_ptr_nonnull(sock);
    zsock_set_linger(sock, 0);
    ck_assert_int_eq(lyc_bus_security_client(sec, sock), 0);
    ck_assert_int_eq(zsock_connect(sock, "%s", endpoint), 0);
    ck_assert_int_eq(zstr_send(sock, "hello"), 0);
    return sock;
}

START_TEST(test_handshake_admits_only_authorized_clients)
{
    lyc_settings_t s, rogue_s;
    char paths[5][256], rogue_paths[5][256], err[512], endpoint[64];
    s_curve_settings(&s, paths, "client-1.cert");
    s_curve_settings(&rogue_s, rogue_paths, "rogue.cert");
    lyc_bus_security_t *server = lyc_bus_security_new(&s, LYC_BUS_SECURITY_SERVER, err, sizeof err);
    ck_assert_msg(server != NULL, "%s", err);
    /* a second server object shares the process's ZAP handler ... */
    lyc_bus_security_t *again = lyc_bus_security_new(&s, LYC_BUS_SECURITY_SERVER, err, sizeof err);
    ck_assert_msg(again != NULL, "%s", err);
    lyc_bus_security_destroy(&again);
    /* ... which serves one directory */
    lyc_settings_t other = s;
    other.bus_curve_authorized = s_dir;
    ck_assert_ptr_null(lyc_bus_security_new(&other, LYC_BUS_SECURITY_SERVER, err, sizeof err));
    ck_assert_msg(strstr(err, "one directory per process"), "%s", err);

    lyc_bus_security_t *good = lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err);
    lyc_bus_security_t *rogue =
        lyc_bus_security_new(&rogue_s, LYC_BUS_SECURITY_CLIENT, err, sizeof err);
    ck_assert_ptr_nonnull(good);
    ck_assert_ptr_nonnull(rogue);

    zsock_t *router = zsock_new(ZMQ_ROUTER);
    ck_assert_int_eq(lyc_bus_security_server(server, router), 0);
    ck_assert_int_eq(zsock_mechanism(router), ZMQ_CURVE);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    zsock_t *plain = s_client(NULL, endpoint);
    zsock_t *wrong = s_client(rogue, endpoint);
    ck_assert_msg(!s_receives(router, 1000), "a client without an authorized key got through");
    zsock_t *right = s_client(good, endpoint);
    ck_assert_msg(s_receives(router, 3000), "the authorized client did not get through");
    ck_assert_msg(!s_receives(router, 300), "a second message arrived");

    zsock_destroy(&plain);
    zsock_destroy(&wrong);
    zsock_destroy(&right);
    zsock_destroy(&router);
    lyc_bus_security_destroy(&good);
    lyc_bus_security_destroy(&rogue);
    lyc_bus_security_destroy(&server);
}
END_TEST

/* ---- the cluster file: Kafka and Redis ----------------------------------- */

/* Loads YAML text as a cluster file; returns lyc_settings_load's success. */
static int s_load(const char *yaml, lyc_settings_t *s, char *err, size_t cap)
{
    ck_assert_int_eq(lyc_test_write_file(s_file("cluster.yaml"), yaml), 0);
    lyc_confdoc_t *doc = lyc_settings_load(s_path, "LYCEUM_TESTSEC", s, err, cap);
    int ok = doc != NULL;
    lyc_confdoc_destroy(&doc);
    return ok;
}

START_TEST(test_kafka_settings_are_checked_at_load)
{
    lyc_settings_t s;
    char err[512];
    ck_assert_msg(s_load("kafka:\n  settings:\n    - security.protocol=SASL_SSL\n"
                         "    - sasl.mechanism=SCRAM-SHA-512\n",
                         &s, err, sizeof err),
                  "%s", err);
    ck_assert_int_eq(s.kafka_settings_count, 2);
    ck_assert_str_eq(s.kafka_settings[1], "sasl.mechanism=SCRAM-SHA-512");
    lyc_settings_free(&s);
    ck_assert_ptr_null(s.kafka_settings);

    ck_assert(!s_load("kafka:\n  settings:\n    - security.protocol=SSL\n"
                      "    - no.such.property=1\n",
                      &s, err, sizeof err));
    ck_assert_msg(strstr(err, "no.such.property") && strstr(err, "cluster.yaml:4"), "%s", err);

    ck_assert(!s_load("kafka: {settings: [\"sasl.password=hunter2\"]}\n", &s, err, sizeof err));
    ck_assert_msg(strstr(err, "sasl.password") && strstr(err, "kafka.sasl_password_env") &&
                      !strstr(err, "hunter2"),
                  "%s", err);

    ck_assert(!s_load("kafka: {settings: [\"group.id=mine\"]}\n", &s, err, sizeof err));
    ck_assert_msg(strstr(err, "group.id") && strstr(err, "fixed"), "%s", err);

    ck_assert(!s_load("kafka: {settings: \"security.protocol=SSL\"}\n", &s, err, sizeof err));
    ck_assert_msg(strstr(err, "kafka.settings") && strstr(err, "list"), "%s", err);

    ck_assert(
        !s_load("kafka: {sasl_password_env: A, sasl_password_file: /x}\n", &s, err, sizeof err));
    ck_assert_msg(strstr(err, "set one"), "%s", err);
}
END_TEST

START_TEST(test_sasl_password_comes_from_the_environment_or_a_file)
{
    lyc_settings_t s;
    lyc_kafka_extra_t extra;
    char err[512], yaml[512];
    const char *own[] = {"session.timeout.ms=6000"};

    ck_assert(s_load("kafka:\n  settings: [\"security.protocol=SASL_SSL\"]\n"
                     "  sasl_password_env: LYC_TEST_KAFKA_PASSWORD\n",
                     &s, err, sizeof err));
    unsetenv("LYC_TEST_KAFKA_PASSWORD");
    ck_assert_int_eq(lyc_settings_kafka_extra(&s, own, 1, &extra, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "kafka.sasl_password_env") &&
                      strstr(err, "LYC_TEST_KAFKA_PASSWORD") && strstr(err, "not set"),
                  "%s", err);
    setenv("LYC_TEST_KAFKA_PASSWORD", "s3cret", 1);
    ck_assert_int_eq(lyc_settings_kafka_extra(&s, own, 1, &extra, err, sizeof err), 0);
    ck_assert_int_eq(extra.count, 3);
    ck_assert_str_eq(extra.items[0], "security.protocol=SASL_SSL");
    ck_assert_str_eq(extra.items[1], "sasl.password=s3cret");
    ck_assert_str_eq(extra.items[2], "session.timeout.ms=6000");
    lyc_kafka_extra_clear(&extra);
    ck_assert_ptr_null(extra.items);
    unsetenv("LYC_TEST_KAFKA_PASSWORD");
    lyc_settings_free(&s);

    ck_assert_int_eq(lyc_test_write_file(s_file("kafka.pw"), "from-a-file\n"), 0);
    snprintf(yaml, sizeof yaml, "kafka: {sasl_password_file: \"%s\"}\n", s_path);
    ck_assert(s_load(yaml, &s, err, sizeof err));
    ck_assert_int_eq(lyc_settings_kafka_extra(&s, NULL, 0, &extra, err, sizeof err), 0);
    ck_assert_int_eq(extra.count, 1);
    ck_assert_str_eq(extra.items[0], "sasl.password=from-a-file");
    lyc_kafka_extra_clear(&extra);
    lyc_settings_free(&s);

    /* without a password source nothing is added */
    ck_assert(s_load("log: {level: warn}\n", &s, err, sizeof err));
    ck_assert_int_eq(lyc_settings_kafka_extra(&s, own, 1, &extra, err, sizeof err), 0);
    ck_assert_int_eq(extra.count, 1);
    lyc_kafka_extra_clear(&extra);
    lyc_settings_free(&s);
}
END_TEST

START_TEST(test_secret_files_are_one_line)
{
    char err[512], *secret = NULL;
    lyc_secret_source_t src = {"x.password_env", NULL, "x.password_file", NULL};
    ck_assert_int_eq(lyc_secret_read(&src, &secret, err, sizeof err), 0);
    ck_assert_ptr_null(secret);

    ck_assert_int_eq(lyc_test_write_file(s_file("two.pw"), "a\nb\n"), 0);
    src.file = s_path;
    ck_assert_int_eq(lyc_secret_read(&src, &secret, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "x.password_file") && strstr(err, "more than one line"), "%s", err);
    ck_assert_int_eq(lyc_test_write_file(s_file("empty.pw"), "\n"), 0);
    ck_assert_int_eq(lyc_secret_read(&src, &secret, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "is empty"), "%s", err);
    src.file = "/nonexistent/pw";
    ck_assert_int_eq(lyc_secret_read(&src, &secret, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "x.password_file") && strstr(err, "/nonexistent/pw"), "%s", err);

    ck_assert_int_eq(lyc_test_write_file(s_file("crlf.pw"), "pass word\r\n"), 0);
    src.file = s_path;
    ck_assert_int_eq(lyc_secret_read(&src, &secret, err, sizeof err), 1);
    ck_assert_str_eq(secret, "pass word");
    lyc_secret_free(&secret);
    ck_assert_ptr_null(secret);

    src.file = NULL;
    src.env = "BAD NAME";
    ck_assert_int_eq(lyc_secret_check(&src, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "x.password_env"), "%s", err);
}
END_TEST

/* rediss:// loads in a build with TLS (the redis.tls_* keys checked at load);
 * a build without refuses it and says how to build with TLS. */
START_TEST(test_redis_tls_settings_are_checked_at_load)
{
    lyc_settings_t s;
    char err[512];
    if (!lyc_redis_tls_available()) {
        ck_assert(!s_load("redis: {url: \"rediss://cache.example:6380\"}\n", &s, err, sizeof err));
        ck_assert_msg(strstr(err, "redis.url") && strstr(err, "rediss://") &&
                          strstr(err, "LYCEUM_HIREDIS_ROOT"),
                      "%s", err);
    } else {
        ck_assert_msg(s_load("redis: {url: \"rediss://cache.example:6380\", tls_ca_file: /ca.pem, "
                             "tls_cert_file: /c.pem, tls_key_file: /k.pem, "
                             "tls_server_name: redis.internal}\n",
                             &s, err, sizeof err),
                      "%s", err);
        ck_assert_str_eq(s.redis_tls_server_name, "redis.internal");
        lyc_settings_free(&s);
        ck_assert(!s_load("redis: {url: \"redis://cache.example:6380\", tls_ca_file: /ca.pem}\n",
                          &s, err, sizeof err));
        ck_assert_msg(strstr(err, "redis.tls_") && strstr(err, "use rediss://"), "%s", err);
        ck_assert(
            !s_load("redis: {url: \"rediss://h\", tls_cert_file: /c.pem}\n", &s, err, sizeof err));
        ck_assert_msg(strstr(err, "redis.tls_key_file") && strstr(err, "set both"), "%s", err);
        ck_assert(!s_load("redis: {url: \"rediss://h\", tls_cert_file: /c.pem, tls_key_file: "
                          "\"-----BEGIN PRIVATE KEY-----\"}\n",
                          &s, err, sizeof err));
        ck_assert_msg(strstr(err, "redis.tls_key_file") && strstr(err, "names a file"), "%s", err);
        ck_assert(s_load("redis: {url: \"rediss://h\"}\n", &s, err, sizeof err));
        lyc_settings_free(&s);
    }
    ck_assert(!s_load("redis: {password_env: A, password_file: /x}\n", &s, err, sizeof err));
    ck_assert_msg(strstr(err, "redis.password_env") && strstr(err, "set one"), "%s", err);
    ck_assert(s_load("redis: {password_env: LYC_TEST_REDIS_PASSWORD}\n", &s, err, sizeof err));
    lyc_settings_free(&s);
}
END_TEST

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/lyc-test-security-XXXXXX");
    if (!mkdtemp(s_dir))
        return 1;
    snprintf(s_path, sizeof s_path, "%s/authorized", s_dir);
    if (mkdir(s_path, 0755) != 0)
        return 1;
    unsetenv("LYCEUM_REDIS_URL"); /* the cluster files below name their own */
    if (s_make_cert("server.cert", 0) != 0 || s_make_cert("client-1.cert", 1) != 0 ||
        s_make_cert("rogue.cert", 0) != 0) {
        fprintf(stderr, "cannot make the test certificates in %s\n", s_dir);
        return 1;
    }

    Suite *suite = suite_create("security_settings");
    TCase *tc = tcase_create("settings");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_curve_disabled_is_a_no_op);
    tcase_add_test(tc, test_missing_or_wrong_cert_names_key_and_file);
    tcase_add_test(tc, test_server_needs_its_secret_and_the_authorized_directory);
    tcase_add_test(tc, test_handshake_admits_only_authorized_clients);
    tcase_add_test(tc, test_kafka_settings_are_checked_at_load);
    tcase_add_test(tc, test_sasl_password_comes_from_the_environment_or_a_file);
    tcase_add_test(tc, test_secret_files_are_one_line);
    tcase_add_test(tc, test_redis_tls_settings_are_checked_at_load);
    suite_add_tcase(suite, tc);
    int rc = lyc_test_run(suite);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    lyc_test_sh(cmd);
    return rc;
}
