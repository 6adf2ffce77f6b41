/*
 * test_router_stats_cache.c - the router's cache of domain statistics
 * against the real Redis (LYCEUM_REDIS_URL): the router's own changes show
 * at once and are never counted twice, whoever writes them (the recorder,
 * in a batch with a reload, or a query thread inline) and whenever the
 * cache reads Redis again; others' writes show once the entry is older
 * than its time to live.
 */
#include "testkit.h"

#include "clock.h"
#include "redis.h"
#include "stats.h"
#include "stats_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_TTL_MS 100

static char s_prefix[64];
static lyc_redis_t *s_redis;
static lyc_stats_cache_t *s_cache;

static void s_setup(void)
{
    lyc_test_unique(s_prefix, sizeof s_prefix, "statscache");
    s_redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(s_redis);
    s_cache = lyc_stats_cache_new(S_TTL_MS);
    ck_assert_ptr_nonnull(s_cache);
}

static void s_teardown(void)
{
    char key[256];
    lyc_stats_key(key, sizeof key, s_prefix, "shared", "geo");
    const char *argv[] = {"DEL", key};
    redisReply *r = lyc_redis_command(s_redis, 2, argv, NULL);
    if (r)
        freeReplyObject(r);
    lyc_stats_cache_destroy(&s_cache);
    lyc_redis_destroy(&s_redis);
}

/* n of model in geo as the cache gives it. */
static double s_cached_n(const char *model)
{
    lyc_model_stats_t *stats = NULL;
    size_t count = 0;
    ck_assert_int_eq(
        lyc_stats_cache_get(s_cache, s_redis, s_prefix, "shared", "geo", &stats, &count), 0);
    double n = 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(stats[i].model, model) == 0)
            n = stats[i].n;
    free(stats);
    return n;
}

static const lyc_stats_delta_t s_delta = {.model = "teacher", .score = 1, .cost = 0.001};

/* What the recorder or a query thread does: the change reaches Redis. */
static void s_write_to_redis(void)
{
    ck_assert_int_eq(lyc_stats_add(s_redis, s_prefix, "shared", "geo", s_delta.model, s_delta.score,
                                   s_delta.cost, s_delta.latency_ms),
                     0);
}

static void s_expire(void)
{
    usleep((S_TTL_MS + 20) * 1000);
}

START_TEST(test_own_change_shows_at_once_and_once)
{
    ck_assert_double_eq(s_cached_n("teacher"), 0);
    lyc_stats_entry_t *e = lyc_stats_cache_apply(s_cache, "shared", "geo", &s_delta, 1, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_double_eq(s_cached_n("teacher"), 1); /* before Redis has it */
    s_write_to_redis();
    lyc_stats_cache_done(s_cache, e, 0);
    ck_assert_double_eq(s_cached_n("teacher"), 1);
    s_expire(); /* nothing on its way: read again, and the change is in Redis now */
    ck_assert_double_eq(s_cached_n("teacher"), 1);
    ck_assert_double_eq(s_cached_n("teacher"), 1);
}
END_TEST

START_TEST(test_others_writes_show_after_the_ttl)
{
    ck_assert_double_eq(s_cached_n("teacher"), 0);
    s_write_to_redis(); /* another router, or the trainer */
    ck_assert_double_eq(s_cached_n("teacher"), 0);
    s_expire();
    ck_assert_double_eq(s_cached_n("teacher"), 1);
}
END_TEST

START_TEST(test_recorder_reload_with_its_batch)
{
    ck_assert_double_eq(s_cached_n("teacher"), 0);
    lyc_stats_entry_t *e1 = lyc_stats_cache_apply(s_cache, "shared", "geo", &s_delta, 1, 0);
    s_write_to_redis(); /* another writer, meanwhile */
    s_expire();
    /* Stale with a change on its way: served as it is, marked for the recorder. */
    ck_assert_double_eq(s_cached_n("teacher"), 1);
    lyc_stats_reload_t plan[4];
    ck_assert_uint_eq(lyc_stats_cache_plan(s_cache, s_prefix, 0, plan, 4), 0); /* batch partial */
    ck_assert_uint_eq(lyc_stats_cache_plan(s_cache, s_prefix, 1, plan, 4), 1);
    /* A change queued after the batch was taken is not in what the batch reads. */
    lyc_stats_entry_t *e2 = lyc_stats_cache_apply(s_cache, "shared", "geo", &s_delta, 1, 0);
    s_write_to_redis(); /* the batch's own write (e1)... */
    const char *argv[] = {"HGETALL", plan[0].key};
    redisReply *reply = lyc_redis_command(s_redis, 2, argv, NULL); /* ...then its reload */
    ck_assert_ptr_nonnull(reply);
    lyc_stats_cache_reloaded(s_cache, &plan[0], reply);
    freeReplyObject(reply);
    lyc_stats_cache_done(s_cache, e1, 0);
    /* Redis: the other writer's and e1; pending: e2. */
    ck_assert_double_eq(s_cached_n("teacher"), 3);
    s_write_to_redis();
    lyc_stats_cache_done(s_cache, e2, 0);
    s_expire();
    ck_assert_double_eq(s_cached_n("teacher"), 3);
}
END_TEST

START_TEST(test_inline_write_during_a_reload_is_not_lost)
{
    ck_assert_double_eq(s_cached_n("teacher"), 0);
    lyc_stats_entry_t *e1 = lyc_stats_cache_apply(s_cache, "shared", "geo", &s_delta, 1, 0);
    s_expire();
    ck_assert_double_eq(s_cached_n("teacher"), 1);
    lyc_stats_reload_t plan[4];
    ck_assert_uint_eq(lyc_stats_cache_plan(s_cache, s_prefix, 1, plan, 4), 1);
    /* A query thread writes inline while the batch is out: it may or may not
     * land before the reload reads, so the reload is not used. */
    lyc_stats_entry_t *e2 = lyc_stats_cache_apply(s_cache, "shared", "geo", &s_delta, 1, 1);
    s_write_to_redis(); /* e1 */
    s_write_to_redis(); /* e2, before the reload reads */
    const char *argv[] = {"HGETALL", plan[0].key};
    redisReply *reply = lyc_redis_command(s_redis, 2, argv, NULL);
    lyc_stats_cache_reloaded(s_cache, &plan[0], reply);
    freeReplyObject(reply);
    lyc_stats_cache_done(s_cache, e2, 1);
    lyc_stats_cache_done(s_cache, e1, 0);
    ck_assert_double_eq(s_cached_n("teacher"), 2);
    s_expire();
    ck_assert_double_eq(s_cached_n("teacher"), 2);
}
END_TEST

START_TEST(test_no_ttl_reads_every_time)
{
    lyc_stats_cache_destroy(&s_cache);
    s_cache = lyc_stats_cache_new(0);
    ck_assert_double_eq(s_cached_n("teacher"), 0);
    s_write_to_redis();
    ck_assert_double_eq(s_cached_n("teacher"), 1);
    lyc_stats_entry_t *e = lyc_stats_cache_apply(s_cache, "shared", "geo", &s_delta, 1, 1);
    ck_assert_double_eq(s_cached_n("teacher"), 2);
    s_write_to_redis();
    lyc_stats_cache_done(s_cache, e, 1);
    ck_assert_double_eq(s_cached_n("teacher"), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_stats_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_own_change_shows_at_once_and_once);
    tcase_add_test(tc, test_others_writes_show_after_the_ttl);
    tcase_add_test(tc, test_recorder_reload_with_its_batch);
    tcase_add_test(tc, test_inline_write_during_a_reload_is_not_lost);
    tcase_add_test(tc, test_no_ttl_reads_every_time);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
