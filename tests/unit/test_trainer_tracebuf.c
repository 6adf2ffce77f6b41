/*
 * test_trainer_tracebuf.c - a query's events are held together until a
 * quiet time passes or the group is full, oldest first, bounded.
 */
#include "testkit.h"

#include "pb.h"
#include "tracebuf.h"

#include <stdlib.h>
#include <string.h>

static lyc_feedback_t *s_event(const char *trace, const char *model)
{
    lyc_feedback_t *ev = lyc_pb_new(&lyceum__v1__feedback_event__descriptor);
    ck_assert_ptr_nonnull(ev);
    ev->trace_id = strdup(trace);
    ev->model = strdup(model);
    return ev;
}

static void s_add(lyc_tracebuf_t *b, const char *trace, const char *model, int64_t now)
{
    lyc_feedback_t *ev = s_event(trace, model);
    ck_assert_int_eq(lyc_tracebuf_add(b, &ev, now), 0);
    ck_assert_ptr_null(ev);
}

START_TEST(test_quiet_time_releases_whole_queries)
{
    lyc_tracebuf_t *b = lyc_tracebuf_new(200000, 10, 100);
    s_add(b, "t1", "a", 0);
    s_add(b, "t2", "a", 50000);
    s_add(b, "t1", "b", 100000);
    s_add(b, "t1", "sup", 150000);
    ck_assert_uint_eq(lyc_tracebuf_count(b), 2);
    ck_assert_ptr_null(lyc_tracebuf_take(b, 200000, 0)); /* nobody quiet yet */
    lyc_trace_group_t *g = lyc_tracebuf_take(b, 250001, 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(g->trace_id, "t2");
    ck_assert_uint_eq(g->count, 1);
    lyc_trace_group_destroy(&g);
    ck_assert_ptr_null(lyc_tracebuf_take(b, 250001, 0));
    g = lyc_tracebuf_take(b, 350000, 0);
    ck_assert_str_eq(g->trace_id, "t1");
    ck_assert_uint_eq(g->count, 3);
    ck_assert_str_eq(g->events[2]->model, "sup");
    lyc_trace_group_destroy(&g);
    ck_assert_uint_eq(lyc_tracebuf_count(b), 0);
    lyc_tracebuf_destroy(&b);
    ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_full_groups_and_force)
{
    lyc_tracebuf_t *b = lyc_tracebuf_new(1000000, 2, 100);
    s_add(b, "t1", "a", 0);
    s_add(b, "t2", "a", 1);
    s_add(b, "t2", "b", 2);
    lyc_trace_group_t *g = lyc_tracebuf_take(b, 3, 0);
    ck_assert_str_eq(g->trace_id, "t2"); /* full: released at once */
    lyc_trace_group_destroy(&g);
    ck_assert_ptr_null(lyc_tracebuf_take(b, 3, 0));
    g = lyc_tracebuf_take(b, 3, 1);
    ck_assert_str_eq(g->trace_id, "t1");
    lyc_trace_group_destroy(&g);
    lyc_tracebuf_destroy(&b);
}
END_TEST

START_TEST(test_bound_releases_the_oldest)
{
    lyc_tracebuf_t *b = lyc_tracebuf_new(1000000, 10, 2);
    s_add(b, "t1", "a", 0);
    s_add(b, "t2", "a", 1);
    s_add(b, "t3", "a", 2);
    lyc_trace_group_t *g = lyc_tracebuf_take(b, 3, 0);
    ck_assert_str_eq(g->trace_id, "t1");
    lyc_trace_group_destroy(&g);
    ck_assert_ptr_null(lyc_tracebuf_take(b, 3, 0));
    /* Destroying a buffer that still holds events frees them. */
    lyc_tracebuf_destroy(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_tracebuf");
    TCase *tc = tcase_create("tracebuf");
    tcase_add_test(tc, test_quiet_time_releases_whole_queries);
    tcase_add_test(tc, test_full_groups_and_force);
    tcase_add_test(tc, test_bound_releases_the_oldest);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
