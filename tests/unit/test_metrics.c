/*
 * test_metrics.c - the Prometheus exposition text, byte for byte; label
 * escaping; name checks; concurrent updates that add up.
 */
#include "testkit.h"

#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lyc_metrics_t *s_reg;

static void s_setup(void)
{
    s_reg = lyc_metrics_new();
    ck_assert_ptr_nonnull(s_reg);
}

static void s_teardown(void)
{
    lyc_metrics_destroy(&s_reg);
    ck_assert_ptr_null(s_reg);
}

/* Renders and compares with the expected text, showing both on a mismatch. */
static void s_expect(const char *expected)
{
    char *text = lyc_metrics_render(s_reg);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strcmp(text, expected) == 0, "rendered:\n%s\nexpected:\n%s", text, expected);
    free(text);
}

START_TEST(test_counter_text)
{
    lyc_counter_t *c = lyc_metrics_counter(s_reg, "lyceum_router_requests_total",
                                           "Requests received.", "model, domain");
    ck_assert_ptr_nonnull(c);
    s_expect("# HELP lyceum_router_requests_total Requests received.\n"
             "# TYPE lyceum_router_requests_total counter\n");
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"llama", "y"}, 1), 0);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"gpt-4", "x"}, 1), 0);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"gpt-4", "x"}, 2), 0);
    s_expect("# HELP lyceum_router_requests_total Requests received.\n"
             "# TYPE lyceum_router_requests_total counter\n"
             "lyceum_router_requests_total{model=\"gpt-4\",domain=\"x\"} 3\n"
             "lyceum_router_requests_total{model=\"llama\",domain=\"y\"} 1\n");
}
END_TEST

START_TEST(test_gauge_text_and_numbers)
{
    lyc_gauge_t *g =
        lyc_metrics_gauge(s_reg, "lyceum_router_inflight", "Requests in flight.", NULL);
    lyc_gauge_t *v = lyc_metrics_gauge(s_reg, "lyceum_test_values", "Number forms.", "k");
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(v);
    s_expect("# HELP lyceum_router_inflight Requests in flight.\n"
             "# TYPE lyceum_router_inflight gauge\n"
             "lyceum_router_inflight 0\n"
             "# HELP lyceum_test_values Number forms.\n"
             "# TYPE lyceum_test_values gauge\n");
    ck_assert_int_eq(lyc_gauge_set(g, NULL, 2.5), 0);
    ck_assert_int_eq(lyc_gauge_add(g, NULL, -1), 0);
    ck_assert_int_eq(lyc_gauge_set(v, (const char *[]){"a"}, 0.1), 0);
    ck_assert_int_eq(lyc_gauge_set(v, (const char *[]){"b"}, 1e-05), 0);
    ck_assert_int_eq(lyc_gauge_set(v, (const char *[]){"c"}, 1234567), 0);
    ck_assert_int_eq(lyc_gauge_set(v, (const char *[]){"d"}, -2), 0);
    ck_assert_int_eq(lyc_gauge_set(v, (const char *[]){"e"}, 1.0 / 3), 0);
    s_expect("# HELP lyceum_router_inflight Requests in flight.\n"
             "# TYPE lyceum_router_inflight gauge\n"
             "lyceum_router_inflight 1.5\n"
             "# HELP lyceum_test_values Number forms.\n"
             "# TYPE lyceum_test_values gauge\n"
             "lyceum_test_values{k=\"a\"} 0.1\n"
             "lyceum_test_values{k=\"b\"} 1e-05\n"
             "lyceum_test_values{k=\"c\"} 1234567\n"
             "lyceum_test_values{k=\"d\"} -2\n"
             "lyceum_test_values{k=\"e\"} 0.3333333333333333\n");
}
END_TEST

START_TEST(test_histogram_text)
{
    const double bounds[] = {0.125, 0.5, 1};
    lyc_histogram_t *h = lyc_metrics_histogram(s_reg, "lyceum_worker_call_seconds",
                                               "Model call latency.", "model", bounds, 3);
    ck_assert_ptr_nonnull(h);
    const char *m[] = {"m"};
    ck_assert_int_eq(lyc_histogram_observe(h, m, 0.0625), 0);
    ck_assert_int_eq(lyc_histogram_observe(h, m, 0.125), 0); /* on a bound: counted there */
    ck_assert_int_eq(lyc_histogram_observe(h, m, 0.75), 0);
    ck_assert_int_eq(lyc_histogram_observe(h, m, 3), 0);
    s_expect("# HELP lyceum_worker_call_seconds Model call latency.\n"
             "# TYPE lyceum_worker_call_seconds histogram\n"
             "lyceum_worker_call_seconds_bucket{model=\"m\",le=\"0.125\"} 2\n"
             "lyceum_worker_call_seconds_bucket{model=\"m\",le=\"0.5\"} 2\n"
             "lyceum_worker_call_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
             "lyceum_worker_call_seconds_bucket{model=\"m\",le=\"+Inf\"} 4\n"
             "lyceum_worker_call_seconds_sum{model=\"m\"} 3.9375\n"
             "lyceum_worker_call_seconds_count{model=\"m\"} 4\n");
}
END_TEST

START_TEST(test_histogram_default_buckets)
{
    lyc_histogram_t *h = lyc_metrics_histogram(s_reg, "lat_seconds", "Latency.", NULL, NULL, 0);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(lyc_histogram_observe(h, NULL, 0.003), 0);
    s_expect("# HELP lat_seconds Latency.\n"
             "# TYPE lat_seconds histogram\n"
             "lat_seconds_bucket{le=\"0.0005\"} 0\n"
             "lat_seconds_bucket{le=\"0.001\"} 0\n"
             "lat_seconds_bucket{le=\"0.0025\"} 0\n"
             "lat_seconds_bucket{le=\"0.005\"} 1\n"
             "lat_seconds_bucket{le=\"0.01\"} 1\n"
             "lat_seconds_bucket{le=\"0.025\"} 1\n"
             "lat_seconds_bucket{le=\"0.05\"} 1\n"
             "lat_seconds_bucket{le=\"0.1\"} 1\n"
             "lat_seconds_bucket{le=\"0.25\"} 1\n"
             "lat_seconds_bucket{le=\"0.5\"} 1\n"
             "lat_seconds_bucket{le=\"1\"} 1\n"
             "lat_seconds_bucket{le=\"2.5\"} 1\n"
             "lat_seconds_bucket{le=\"5\"} 1\n"
             "lat_seconds_bucket{le=\"10\"} 1\n"
             "lat_seconds_bucket{le=\"30\"} 1\n"
             "lat_seconds_bucket{le=\"+Inf\"} 1\n"
             "lat_seconds_sum 0.003\n"
             "lat_seconds_count 1\n");
}
END_TEST

START_TEST(test_escaping)
{
    lyc_counter_t *c =
        lyc_metrics_counter(s_reg, "esc_total", "Help with \\ backslash\nand \"quotes\".", "path");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"a\"b\\c\nd"}, 1), 0);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){""}, 1), 0);
    s_expect("# HELP esc_total Help with \\\\ backslash\\nand \"quotes\".\n"
             "# TYPE esc_total counter\n"
             "esc_total{path=\"\"} 1\n"
             "esc_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}
END_TEST

START_TEST(test_bad_names_rejected)
{
    const char *bad[] = {"", "1abc", "a-b", "ab c", "é", "name{x}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!lyc_metrics_counter(s_reg, bad[i], "h", NULL), "accepted '%s'", bad[i]);
    ck_assert_ptr_null(lyc_metrics_counter(s_reg, NULL, "h", NULL));
    ck_assert_ptr_nonnull(lyc_metrics_gauge(s_reg, "lyceum:router:rate5m", "h", NULL));
    ck_assert_ptr_nonnull(lyc_metrics_gauge(s_reg, "_x", "h", "_y"));
    /* Label names: no colon, no digit first, no "__", no repeats, no "le" on histograms. */
    const char *bad_labels[] = {"a:b", "1a", "__x", "a,a", "a,", "a,,b", "a-b", " "};
    for (size_t i = 0; i < sizeof bad_labels / sizeof *bad_labels; i++)
        ck_assert_msg(!lyc_metrics_counter(s_reg, "ok_total", "h", bad_labels[i]),
                      "accepted labels '%s'", bad_labels[i]);
    ck_assert_ptr_null(lyc_metrics_histogram(s_reg, "h_seconds", "h", "le", NULL, 0));
    ck_assert_ptr_nonnull(lyc_metrics_counter(s_reg, "le_total", "h", "le"));
    /* Bucket bounds must increase and be finite. */
    const double down[] = {1, 0.5}, inf[] = {1, INFINITY};
    ck_assert_ptr_null(lyc_metrics_histogram(s_reg, "h_seconds", "h", NULL, down, 2));
    ck_assert_ptr_null(lyc_metrics_histogram(s_reg, "h_seconds", "h", NULL, inf, 2));
    ck_assert_ptr_null(lyc_metrics_counter(NULL, "x_total", "h", NULL));
}
END_TEST

START_TEST(test_redeclare_and_bad_values)
{
    lyc_counter_t *c = lyc_metrics_counter(s_reg, "req_total", "Requests.", "model");
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(lyc_metrics_counter(s_reg, "req_total", "Requests.", " model "), c);
    ck_assert_ptr_null(lyc_metrics_gauge(s_reg, "req_total", "Requests.", "model"));
    ck_assert_ptr_null(lyc_metrics_counter(s_reg, "req_total", "Requests.", "model,domain"));
    ck_assert_ptr_null(lyc_metrics_counter(s_reg, "req_total", "Other help.", "model"));
    const double b1[] = {1, 2}, b2[] = {1, 3};
    lyc_histogram_t *h = lyc_metrics_histogram(s_reg, "h_seconds", "h", NULL, b1, 2);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_eq(lyc_metrics_histogram(s_reg, "h_seconds", "h", NULL, b1, 2), h);
    ck_assert_ptr_null(lyc_metrics_histogram(s_reg, "h_seconds", "h", NULL, b2, 2));

    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"m"}, -1), -1);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"m"}, NAN), -1);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){"m"}, INFINITY), -1);
    ck_assert_int_eq(lyc_counter_add(c, NULL, 1), -1);
    ck_assert_int_eq(lyc_counter_add(c, (const char *[]){NULL}, 1), -1);
    ck_assert_int_eq(lyc_histogram_observe(h, NULL, NAN), -1);
    ck_assert_int_eq(lyc_histogram_observe(h, NULL, INFINITY), 0); /* lands in +Inf only */
    lyc_gauge_t *g = lyc_metrics_gauge(s_reg, "g", "h", NULL);
    ck_assert_int_eq(lyc_gauge_set(g, NULL, NAN), -1);
    ck_assert_int_eq(lyc_gauge_add(g, NULL, -INFINITY), -1);
    ck_assert_int_eq(lyc_counter_add(NULL, NULL, 1), -1);
    s_expect("# HELP req_total Requests.\n"
             "# TYPE req_total counter\n"
             "# HELP h_seconds h\n"
             "# TYPE h_seconds histogram\n"
             "h_seconds_bucket{le=\"1\"} 0\n"
             "h_seconds_bucket{le=\"2\"} 0\n"
             "h_seconds_bucket{le=\"+Inf\"} 1\n"
             "h_seconds_sum +Inf\n"
             "h_seconds_count 1\n"
             "# HELP g h\n"
             "# TYPE g gauge\n"
             "g 0\n");
}
END_TEST

#define THREADS 8
#define ROUNDS  20000

typedef struct {
    lyc_counter_t *counter;
    lyc_histogram_t *histogram;
    int id;
} s_worker_t;

static void *s_hammer(void *arg)
{
    s_worker_t *w = arg;
    char own[16];
    snprintf(own, sizeof own, "t%d", w->id);
    for (int i = 0; i < ROUNDS; i++) {
        const char *shared[] = {i % 2 ? "odd" : "even"};
        const char *mine[] = {own};
        if (lyc_counter_add(w->counter, shared, 1) != 0 || lyc_counter_add(w->counter, mine, 1) ||
            lyc_histogram_observe(w->histogram, NULL, i % 2 ? 0.5 : 2) != 0)
            return (void *) 1;
    }
    return NULL;
}

START_TEST(test_concurrent_updates_add_up)
{
    const double bounds[] = {1};
    lyc_counter_t *c = lyc_metrics_counter(s_reg, "hits_total", "Hits.", "who");
    lyc_histogram_t *h = lyc_metrics_histogram(s_reg, "obs_seconds", "Obs.", NULL, bounds, 1);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(h);
    pthread_t threads[THREADS];
    s_worker_t workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (s_worker_t){.counter = c, .histogram = h, .id = i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, s_hammer, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        char *text = lyc_metrics_render(s_reg); /* rendering while they write */
        ck_assert_ptr_nonnull(text);
        free(text);
    }
    for (int i = 0; i < THREADS; i++) {
        void *result = (void *) 1;
        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_ptr_null(result);
    }
    char *text = lyc_metrics_render(s_reg);
    ck_assert_ptr_nonnull(text);
    char line[128];
    snprintf(line, sizeof line, "hits_total{who=\"even\"} %d\n", THREADS * ROUNDS / 2);
    ck_assert_msg(strstr(text, line), "missing %s in\n%s", line, text);
    snprintf(line, sizeof line, "hits_total{who=\"odd\"} %d\n", THREADS * ROUNDS / 2);
    ck_assert_msg(strstr(text, line), "missing %s", line);
    for (int i = 0; i < THREADS; i++) {
        snprintf(line, sizeof line, "hits_total{who=\"t%d\"} %d\n", i, ROUNDS);
        ck_assert_msg(strstr(text, line), "missing %s", line);
    }
    snprintf(line, sizeof line, "obs_seconds_bucket{le=\"1\"} %d\n", THREADS * ROUNDS / 2);
    ck_assert_msg(strstr(text, line), "missing %s", line);
    snprintf(line, sizeof line, "obs_seconds_count %d\n", THREADS * ROUNDS);
    ck_assert_msg(strstr(text, line), "missing %s", line);
    snprintf(line, sizeof line, "obs_seconds_sum %d\n", THREADS * ROUNDS / 2 * 5 / 2);
    ck_assert_msg(strstr(text, line), "missing %s", line);
    free(text);
}
END_TEST

START_TEST(test_many_series)
{
    /* Enough series to grow the index several times; each keeps its value. */
    lyc_gauge_t *g = lyc_metrics_gauge(s_reg, "many", "Many series.", "a,b");
    ck_assert_ptr_nonnull(g);
    for (int i = 0; i < 2000; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", i % 37);
        snprintf(b, sizeof b, "%d", i);
        ck_assert_int_eq(lyc_gauge_set(g, (const char *[]){a, b}, i), 0);
    }
    ck_assert_int_eq(lyc_gauge_add(g, (const char *[]){"1", "1000"}, 0.5), 0);
    char *text = lyc_metrics_render(s_reg);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "many{a=\"1\",b=\"1000\"} 1000.5\n"));
    ck_assert_ptr_nonnull(strstr(text, "many{a=\"1\",b=\"1999\"} 1999\n"));
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_counter_text);
    tcase_add_test(tc, test_gauge_text_and_numbers);
    tcase_add_test(tc, test_histogram_text);
    tcase_add_test(tc, test_histogram_default_buckets);
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_bad_names_rejected);
    tcase_add_test(tc, test_redeclare_and_bad_values);
    tcase_add_test(tc, test_concurrent_updates_add_up);
    tcase_add_test(tc, test_many_series);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
