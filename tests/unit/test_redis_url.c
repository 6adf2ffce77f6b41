/*
 * test_redis_url.c - redis:// and rediss:// URLs parse into host, port,
 * credentials and database, and malformed ones are refused with a reason;
 * a build without TLS refuses rediss:// and says how to get it.
 */
#include "testkit.h"

#include "redis.h"

#include <string.h>

START_TEST(test_url_host_only_takes_defaults)
{
    lyc_redis_url_t url;
    char err[128];
    ck_assert_int_eq(lyc_redis_url_parse("redis://localhost", &url, err, sizeof err), 0);
    ck_assert_str_eq(url.host, "localhost");
    ck_assert_int_eq(url.port, 6379);
    ck_assert_int_eq(url.db, 0);
    ck_assert_ptr_null(url.username);
    ck_assert_ptr_null(url.password);
    lyc_redis_url_clear(&url);
    ck_assert_ptr_null(url.host);
}
END_TEST

START_TEST(test_url_all_parts)
{
    lyc_redis_url_t url;
    char err[128];
    ck_assert_int_eq(
        lyc_redis_url_parse("redis://:s3cr%40t@10.0.0.7:6399/3", &url, err, sizeof err), 0);
    ck_assert_str_eq(url.host, "10.0.0.7");
    ck_assert_int_eq(url.port, 6399);
    ck_assert_int_eq(url.db, 3);
    ck_assert_ptr_null(url.username);
    ck_assert_str_eq(url.password, "s3cr@t");
    lyc_redis_url_clear(&url);

    ck_assert_int_eq(lyc_redis_url_parse("REDIS://alice:p@ss@cache:7000/", &url, err, sizeof err),
                     0);
    ck_assert_str_eq(url.username, "alice");
    ck_assert_str_eq(url.password, "p@ss");
    ck_assert_str_eq(url.host, "cache");
    ck_assert_int_eq(url.port, 7000);
    ck_assert_int_eq(url.db, 0);
    lyc_redis_url_clear(&url);
}
END_TEST

START_TEST(test_url_ipv6)
{
    lyc_redis_url_t url;
    char err[128];
    ck_assert_int_eq(lyc_redis_url_parse("redis://[::1]:6390/1", &url, err, sizeof err), 0);
    ck_assert_str_eq(url.host, "::1");
    ck_assert_int_eq(url.port, 6390);
    ck_assert_int_eq(url.db, 1);
    lyc_redis_url_clear(&url);
}
END_TEST

START_TEST(test_url_tls_scheme)
{
    lyc_redis_url_t url;
    char err[256] = "";
    if (!lyc_redis_tls_available()) {
        ck_assert_int_eq(lyc_redis_url_parse("rediss://cache:6380", &url, err, sizeof err), -1);
        ck_assert_msg(strstr(err, "rediss://") && strstr(err, "LYCEUM_HIREDIS_ROOT"), "%s", err);
        ck_assert_ptr_null(url.host);
        ck_assert_int_eq(url.tls, 0);
        return;
    }
    ck_assert_int_eq(lyc_redis_url_parse("rediss://localhost", &url, err, sizeof err), 0);
    ck_assert_int_eq(url.tls, 1);
    ck_assert_str_eq(url.host, "localhost");
    ck_assert_int_eq(url.port, 6379);
    lyc_redis_url_clear(&url);
    ck_assert_int_eq(url.tls, 0);

    ck_assert_int_eq(
        lyc_redis_url_parse("REDISS://alice:p%40ss@[::1]:6380/2", &url, err, sizeof err), 0);
    ck_assert_int_eq(url.tls, 1);
    ck_assert_str_eq(url.username, "alice");
    ck_assert_str_eq(url.password, "p@ss");
    ck_assert_str_eq(url.host, "::1");
    ck_assert_int_eq(url.port, 6380);
    ck_assert_int_eq(url.db, 2);
    lyc_redis_url_clear(&url);

    ck_assert_int_eq(lyc_redis_url_parse("redis://localhost", &url, err, sizeof err), 0);
    ck_assert_int_eq(url.tls, 0);
    lyc_redis_url_clear(&url);
    ck_assert_int_eq(lyc_redis_url_parse("rediss://host:0", &url, err, sizeof err), -1);
    ck_assert_int_eq(lyc_redis_url_parse("redisss://host", &url, err, sizeof err), -1);
}
END_TEST

START_TEST(test_url_malformed_refused)
{
    static const char *bad[] = {
        "http://localhost",       /* scheme */
        "redis://",               /* no host */
        "redis://:6379",          /* no host */
        "redis://host:0",         /* port range */
        "redis://host:65536",     /* port range */
        "redis://host:12ab",      /* port digits */
        "redis://host/x",         /* db */
        "redis://host/-1",        /* db */
        "redis://host?timeout=1", /* query */
        "redis://password@host",  /* credentials without ':' */
        "redis://:bad%4@host",    /* escape */
        "redis://[::1:6379",      /* bracket */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lyc_redis_url_t url;
        char err[128] = "";
        ck_assert_msg(lyc_redis_url_parse(bad[i], &url, err, sizeof err) == -1, "accepted %s",
                      bad[i]);
        ck_assert_msg(strlen(err) > 0, "no reason for %s", bad[i]);
        ck_assert_ptr_null(url.host);
        ck_assert_ptr_null(url.password);
    }
    lyc_redis_url_t url;
    ck_assert_int_eq(lyc_redis_url_parse(NULL, &url, NULL, 0), -1);
}
END_TEST

START_TEST(test_new_with_bad_url_fails)
{
    ck_assert_ptr_null(lyc_redis_new("redis://host:notaport", 100));
    ck_assert_ptr_null(lyc_redis_new("redis://localhost", 0));
    lyc_redis_t *none = NULL;
    lyc_redis_destroy(&none);
    lyc_redis_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis_url");
    TCase *tc = tcase_create("redis_url");
    tcase_add_test(tc, test_url_host_only_takes_defaults);
    tcase_add_test(tc, test_url_all_parts);
    tcase_add_test(tc, test_url_ipv6);
    tcase_add_test(tc, test_url_tls_scheme);
    tcase_add_test(tc, test_url_malformed_refused);
    tcase_add_test(tc, test_new_with_bad_url_fails);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
