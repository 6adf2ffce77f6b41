/*
 * test_vecstore.c - the vector store against a real Redis 8 server
 * (LYCEUM_REDIS_URL): similarity order and scores, k, attribute filters,
 * tenant isolation, delete and count, records and counters, input checks,
 * dead servers and reconnects. Every test uses its own key prefix and checks
 * that it leaves no key behind.
 */
#include "testkit.h"

#include "clock.h"
#include "redis.h"
#include "vecstore.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PI 3.14159265358979323846

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static char s_run_prefix[32]; /* this run's keys: <s_run_prefix>-<test>:... */
static char s_prefix[64];     /* the current test's key prefix */

/* A store with a fresh key prefix (kept in s_prefix for the leak check). */
static lyc_vecstore_t *s_store_new(size_t dim, lyc_vecstore_quant_t quant)
{
    lyc_test_unique(s_prefix, sizeof s_prefix, s_run_prefix);
    lyc_vecstore_config_t config = {
        .redis_url = lyc_test_redis_url(),
        .key_prefix = s_prefix,
        .dim = dim,
        .quant = quant,
        .timeout_ms = 2000,
    };
    lyc_vecstore_t *store = lyc_vecstore_new(&config);
    ck_assert_ptr_nonnull(store);
    return store;
}

/* Number of keys under the current prefix (KEYS is fine on a test server). */
static size_t s_keys_left(void)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    char pattern[96];
    snprintf(pattern, sizeof pattern, "%s:*", s_prefix);
    const char *argv[] = {"KEYS", pattern};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
    size_t n = reply->elements;
    freeReplyObject(reply);
    lyc_redis_destroy(&redis);
    return n;
}

/* Drops the tenants, checks nothing is left under the prefix, frees the store. */
static void s_cleanup(lyc_vecstore_t **store, const char *const *tenants, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        size_t n = 1;
        ck_assert_int_eq(lyc_vecstore_drop_tenant(*store, tenants[i]), 0);
        ck_assert_int_eq(lyc_vecstore_count(*store, tenants[i], &n), 0);
        ck_assert_uint_eq(n, 0);
    }
    ck_assert_uint_eq(s_keys_left(), 0);
    lyc_vecstore_destroy(store);
    ck_assert_ptr_null(*store);
}

/* Deterministic pseudo-random numbers in [-1, 1). */
static double s_rand(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (double) (*state >> 11) / (double) (1ULL << 52) - 1.0;
}

/* Two orthonormal vectors u, w of dimension dim. */
static void s_basis(size_t dim, uint64_t seed, double *u, double *w)
{
    double nu = 0, dot = 0, nw = 0;
    for (size_t i = 0; i < dim; i++) {
        u[i] = s_rand(&seed);
        w[i] = s_rand(&seed);
        nu += u[i] * u[i];
    }
    for (size_t i = 0; i < dim; i++)
        u[i] /= sqrt(nu);
    for (size_t i = 0; i < dim; i++)
        dot += u[i] * w[i];
    for (size_t i = 0; i < dim; i++) {
        w[i] -= dot * u[i];
        nw += w[i] * w[i];
    }
    for (size_t i = 0; i < dim; i++)
        w[i] /= sqrt(nw);
}

/* out = cos(deg) u + sin(deg) w: its cosine with u is cos(deg). */
static void s_at_angle(size_t dim, const double *u, const double *w, double deg, float *out)
{
    double a = deg * PI / 180.0;
    for (size_t i = 0; i < dim; i++)
        out[i] = (float) (cos(a) * u[i] + sin(a) * w[i]);
}

/* What VSIM reports for a cosine: (1 + cos) / 2. */
static double s_similarity(double deg)
{
    return (1.0 + cos(deg * PI / 180.0)) / 2.0;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

START_TEST(test_server_is_redis_8)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    const char *argv[] = {"INFO", "server"};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    ck_assert_ptr_nonnull(reply);
    const char *version = strstr(reply->str, "redis_version:");
    ck_assert_ptr_nonnull(version);
    ck_assert_int_ge(atoi(version + strlen("redis_version:")), 8);
    freeReplyObject(reply);
    lyc_redis_destroy(&redis);
}
END_TEST

/* Known cosines come back in order with the documented similarity. */
START_TEST(test_order_and_similarity_exact)
{
    enum { DIM = 16 };
    static const double angles[] = {90, 0, 180, 30, 60}; /* inserted out of order */
    static const char *expect[] = {"a0", "a30", "a60", "a90", "a180"};
    double u[DIM], w[DIM];
    float v[DIM];
    char id[16];
    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_NOQUANT);
    s_basis(DIM, 42, u, w);
    int64_t ts = lyc_wall_us();
    for (size_t i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "a%.0f", angles[i]);
        s_at_angle(DIM, u, w, angles[i], v);
        lyc_vecstore_attrs_t attrs = {"math", "m-small", 0.25 * (double) i, ts + (int64_t) i};
        ck_assert_int_eq(lyc_vecstore_add(store, "acme", id, v, DIM, &attrs), 0);
    }
    s_at_angle(DIM, u, w, 0, v);
    lyc_vecstore_results_t *results = NULL;
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 10, NULL, &results), 0);
    ck_assert_uint_eq(results->count, 5);
    for (size_t i = 0; i < 5; i++) {
        const lyc_vecstore_hit_t *hit = &results->hits[i];
        ck_assert_str_eq(hit->record_id, expect[i]);
        double deg = atof(hit->record_id + 1);
        ck_assert_double_eq_tol(hit->similarity, s_similarity(deg), 1e-4);
        ck_assert_str_eq(hit->domain, "math");
        ck_assert_str_eq(hit->model, "m-small");
        size_t inserted = 0;
        while (angles[inserted] != deg)
            inserted++;
        ck_assert_double_eq_tol(hit->score, 0.25 * (double) inserted, 1e-12);
        ck_assert_int_eq(hit->ts_us, ts + (int64_t) inserted);
    }
    lyc_vecstore_results_destroy(&results);
    ck_assert_ptr_null(results);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

/* With Q8 (the default) the order holds and scores are within 0.02. */
START_TEST(test_order_with_q8)
{
    enum { DIM = 64 };
    static const double angles[] = {140, 20, 70, 0, 100, 45};
    double u[DIM], w[DIM];
    float v[DIM];
    char id[16];
    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_Q8);
    s_basis(DIM, 7, u, w);
    for (size_t i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "q%.0f", angles[i]);
        s_at_angle(DIM, u, w, angles[i], v);
        ck_assert_int_eq(lyc_vecstore_add(store, "acme", id, v, DIM, NULL), 0);
    }
    s_at_angle(DIM, u, w, 0, v);
    lyc_vecstore_results_t *results = NULL;
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 6, NULL, &results), 0);
    ck_assert_uint_eq(results->count, 6);
    double last = 2.0;
    for (size_t i = 0; i < results->count; i++) {
        const lyc_vecstore_hit_t *hit = &results->hits[i];
        ck_assert_double_eq_tol(hit->similarity, s_similarity(atof(hit->record_id + 1)), 0.02);
        ck_assert_double_lt(hit->similarity, last);
        ck_assert_ptr_null(hit->domain);
        last = hit->similarity;
    }
    ck_assert_str_eq(results->hits[0].record_id, "q0");
    ck_assert_str_eq(results->hits[5].record_id, "q140");
    lyc_vecstore_results_destroy(&results);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

START_TEST(test_k_respected)
{
    enum { DIM = 32, N = 20 };
    double u[DIM], w[DIM];
    float v[DIM];
    char id[16];
    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_Q8);
    s_basis(DIM, 99, u, w);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "k%02d", i);
        s_at_angle(DIM, u, w, 8.0 * i, v);
        ck_assert_int_eq(lyc_vecstore_add(store, "acme", id, v, DIM, NULL), 0);
    }
    s_at_angle(DIM, u, w, 0, v);
    lyc_vecstore_results_t *results = NULL;
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 3, NULL, &results), 0);
    ck_assert_uint_eq(results->count, 3);
    ck_assert_str_eq(results->hits[0].record_id, "k00");
    ck_assert_str_eq(results->hits[1].record_id, "k01");
    ck_assert_str_eq(results->hits[2].record_id, "k02");
    lyc_vecstore_results_destroy(&results);
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 1, NULL, &results), 0);
    ck_assert_uint_eq(results->count, 1);
    lyc_vecstore_results_destroy(&results);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

/* Runs a filtered search from angle 0 and compares the ids, in order. */
static void s_expect_filtered(lyc_vecstore_t *store, const double *u, const double *w, size_t dim,
                              const lyc_vecstore_filter_t *filter, const char *expect)
{
    float v[64];
    char got[256] = "";
    lyc_vecstore_results_t *results = NULL;
    s_at_angle(dim, u, w, 0, v);
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, dim, 10, filter, &results), 0);
    for (size_t i = 0; i < results->count; i++) {
        strncat(got, results->hits[i].record_id, sizeof got - strlen(got) - 2);
        strncat(got, " ", sizeof got - strlen(got) - 1);
    }
    lyc_vecstore_results_destroy(&results);
    ck_assert_str_eq(got, expect);
}

START_TEST(test_filters)
{
    enum { DIM = 8 };
    static const struct {
        const char *id, *domain, *model;
        double score, angle;
    } rows[] = {
        {"r1", "math", "m-small", 0.9, 10},
        {"r2", "math", "m-big", 0.4, 20},
        {"r3", "code", "m-small", 0.8, 30},
        {"r4", "customer support", "m-big", 0.95, 40},
        {"r5",
         "l'\xc3\xa9"
         "conomie",
         "m-small", 0.1, 50},
    };
    double u[DIM], w[DIM];
    float v[DIM];
    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_NOQUANT);
    s_basis(DIM, 5, u, w);
    for (size_t i = 0; i < 5; i++) {
        lyc_vecstore_attrs_t attrs = {rows[i].domain, rows[i].model, rows[i].score, 1};
        s_at_angle(DIM, u, w, rows[i].angle, v);
        ck_assert_int_eq(lyc_vecstore_add(store, "acme", rows[i].id, v, DIM, &attrs), 0);
    }
    lyc_vecstore_filter_t f = {0};
    s_expect_filtered(store, u, w, DIM, &f, "r1 r2 r3 r4 r5 ");
    f = (lyc_vecstore_filter_t){.domain = "math"};
    s_expect_filtered(store, u, w, DIM, &f, "r1 r2 ");
    f = (lyc_vecstore_filter_t){.model = "m-small"};
    s_expect_filtered(store, u, w, DIM, &f, "r1 r3 r5 ");
    f = (lyc_vecstore_filter_t){.has_min_score = 1, .min_score = 0.85};
    s_expect_filtered(store, u, w, DIM, &f, "r1 r4 ");
    f = (lyc_vecstore_filter_t){.domain = "math", .has_min_score = 1, .min_score = 0.5};
    s_expect_filtered(store, u, w, DIM, &f, "r1 ");
    f = (lyc_vecstore_filter_t){.domain = "code", .model = "m-big"};
    s_expect_filtered(store, u, w, DIM, &f, "");
    f = (lyc_vecstore_filter_t){.domain = "customer support"};
    s_expect_filtered(store, u, w, DIM, &f, "r4 ");
    f = (lyc_vecstore_filter_t){.domain = rows[4].domain};
    s_expect_filtered(store, u, w, DIM, &f, "r5 ");
    f = (lyc_vecstore_filter_t){.has_min_score = 1, .min_score = -1.5};
    s_expect_filtered(store, u, w, DIM, &f, "r1 r2 r3 r4 r5 ");

    /* Filter syntax cannot be injected through a name: it is refused. */
    lyc_vecstore_results_t *results = NULL;
    s_at_angle(DIM, u, w, 0, v);
    f = (lyc_vecstore_filter_t){.domain = "math\" or \"a\" == \"a"};
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 10, &f, &results), -1);
    ck_assert_ptr_null(results);
    f = (lyc_vecstore_filter_t){.model = "m\\"};
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 10, &f, &results), -1);
    f = (lyc_vecstore_filter_t){.has_min_score = 1, .min_score = NAN};
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 10, &f, &results), -1);
    lyc_vecstore_attrs_t bad = {"a\"b", NULL, 0, 0};
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r6", v, DIM, &bad), -1);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

START_TEST(test_tenant_isolation)
{
    enum { DIM = 8 };
    double u[DIM], w[DIM];
    float v[DIM];
    size_t n = 0;
    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_Q8);
    s_basis(DIM, 11, u, w);
    s_at_angle(DIM, u, w, 0, v);
    lyc_vecstore_attrs_t attrs = {"math", "m", 1.0, 1};
    ck_assert_int_eq(lyc_vecstore_add(store, "tenant-a", "x1", v, DIM, &attrs), 0);
    ck_assert_int_eq(lyc_vecstore_add(store, "tenant-a", "x2", v, DIM, &attrs), 0);
    lyc_vecstore_field_t field = {"question", "secret of A"};
    ck_assert_int_eq(lyc_vecstore_record_put(store, "tenant-a", "x1", &field, 1), 0);
    ck_assert_int_eq(lyc_vecstore_counter_incr(store, "tenant-a", "queries", 2, NULL), 0);

    lyc_vecstore_results_t *results = NULL;
    lyc_vecstore_filter_t f = {.domain = "math"};
    ck_assert_int_eq(lyc_vecstore_search(store, "tenant-b", v, DIM, 10, &f, &results), 0);
    ck_assert_uint_eq(results->count, 0);
    lyc_vecstore_results_destroy(&results);
    ck_assert_int_eq(lyc_vecstore_search(store, "tenant-a", v, DIM, 10, &f, &results), 0);
    ck_assert_uint_eq(results->count, 2);
    lyc_vecstore_results_destroy(&results);

    ck_assert_int_eq(lyc_vecstore_count(store, "tenant-a", &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(lyc_vecstore_count(store, "tenant-b", &n), 0);
    ck_assert_uint_eq(n, 0);
    lyc_vecstore_record_t *record = NULL;
    ck_assert_int_eq(lyc_vecstore_record_get(store, "tenant-b", "x1", &record), 0);
    ck_assert_ptr_null(record);
    double value = -1;
    ck_assert_int_eq(lyc_vecstore_counter_get(store, "tenant-b", "queries", &value), 0);
    ck_assert_double_eq(value, 0);

    /* Deleting in B leaves A alone. */
    ck_assert_int_eq(lyc_vecstore_delete(store, "tenant-b", "x1"), 0);
    ck_assert_int_eq(lyc_vecstore_count(store, "tenant-a", &n), 0);
    ck_assert_uint_eq(n, 2);
    const char *tenants[] = {"tenant-a", "tenant-b"};
    s_cleanup(&store, tenants, 2);
}
END_TEST

START_TEST(test_delete_and_count)
{
    enum { DIM = 8 };
    double u[DIM], w[DIM];
    float v[DIM];
    size_t n = 99;
    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_Q8);
    s_basis(DIM, 3, u, w);
    ck_assert_int_eq(lyc_vecstore_count(store, "acme", &n), 0);
    ck_assert_uint_eq(n, 0);
    const char *ids[] = {"d1", "d2", "d3"};
    for (int i = 0; i < 3; i++) {
        s_at_angle(DIM, u, w, 10.0 * i, v);
        ck_assert_int_eq(lyc_vecstore_add(store, "acme", ids[i], v, DIM, NULL), 0);
        lyc_vecstore_field_t field = {"question", ids[i]};
        ck_assert_int_eq(lyc_vecstore_record_put(store, "acme", ids[i], &field, 1), 0);
    }
    /* Re-adding an id replaces it rather than adding another. */
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "d3", v, DIM, NULL), 0);
    ck_assert_int_eq(lyc_vecstore_count(store, "acme", &n), 0);
    ck_assert_uint_eq(n, 3);

    ck_assert_int_eq(lyc_vecstore_delete(store, "acme", "d1"), 0);
    ck_assert_int_eq(lyc_vecstore_count(store, "acme", &n), 0);
    ck_assert_uint_eq(n, 2);
    lyc_vecstore_record_t *record = NULL;
    ck_assert_int_eq(lyc_vecstore_record_get(store, "acme", "d1", &record), 0);
    ck_assert_ptr_null(record);
    ck_assert_int_eq(lyc_vecstore_record_get(store, "acme", "d2", &record), 0);
    ck_assert_ptr_nonnull(record);
    lyc_vecstore_record_destroy(&record);

    lyc_vecstore_results_t *results = NULL;
    s_at_angle(DIM, u, w, 0, v);
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 10, NULL, &results), 0);
    ck_assert_uint_eq(results->count, 2);
    ck_assert_str_eq(results->hits[0].record_id, "d2");
    lyc_vecstore_results_destroy(&results);

    /* Deleting what is not there succeeds. */
    ck_assert_int_eq(lyc_vecstore_delete(store, "acme", "d1"), 0);
    ck_assert_int_eq(lyc_vecstore_delete(store, "acme", "d2"), 0);
    ck_assert_int_eq(lyc_vecstore_delete(store, "acme", "d3"), 0);
    ck_assert_int_eq(lyc_vecstore_count(store, "acme", &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(s_keys_left(), 0);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

START_TEST(test_records_and_counters)
{
    lyc_vecstore_t *store = s_store_new(4, LYC_VECSTORE_Q8);
    lyc_vecstore_field_t fields[] = {
        {"question", "What is 2 + 2?\nAnd \"why\"?"},  {"domain", "math"}, {"winner", "m-small"},
        {"scores", "{\"m-small\":0.9,\"m-big\":0.8}"}, {"cost", "0.0012"}, {"empty", ""},
    };
    ck_assert_int_eq(lyc_vecstore_record_put(store, "acme", "rec-1", fields, 6), 0);
    lyc_vecstore_record_t *record = NULL;
    ck_assert_int_eq(lyc_vecstore_record_get(store, "acme", "rec-1", &record), 0);
    ck_assert_ptr_nonnull(record);
    ck_assert_uint_eq(record->count, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(lyc_vecstore_record_value(record, fields[i].name), fields[i].value);
    ck_assert_ptr_null(lyc_vecstore_record_value(record, "missing"));
    lyc_vecstore_record_destroy(&record);
    ck_assert_ptr_null(record);

    /* A second put sets its fields and keeps the others. */
    lyc_vecstore_field_t update[] = {{"winner", "m-big"}, {"audited", "1"}};
    ck_assert_int_eq(lyc_vecstore_record_put(store, "acme", "rec-1", update, 2), 0);
    ck_assert_int_eq(lyc_vecstore_record_get(store, "acme", "rec-1", &record), 0);
    ck_assert_uint_eq(record->count, 7);
    ck_assert_str_eq(lyc_vecstore_record_value(record, "winner"), "m-big");
    ck_assert_str_eq(lyc_vecstore_record_value(record, "domain"), "math");
    lyc_vecstore_record_destroy(&record);

    ck_assert_int_eq(lyc_vecstore_record_get(store, "acme", "nope", &record), 0);
    ck_assert_ptr_null(record);

    double value = -1;
    ck_assert_int_eq(lyc_vecstore_counter_get(store, "acme", "queries", &value), 0);
    ck_assert_double_eq(value, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(lyc_vecstore_counter_incr(store, "acme", "queries", 1, NULL), 0);
    ck_assert_int_eq(lyc_vecstore_counter_incr(store, "acme", "queries", -2, &value), 0);
    ck_assert_double_eq(value, 3);
    ck_assert_int_eq(lyc_vecstore_counter_get(store, "acme", "queries", &value), 0);
    ck_assert_double_eq(value, 3);
    ck_assert_int_eq(lyc_vecstore_counter_incr(store, "acme", "cost_usd", 0.1, NULL), 0);
    ck_assert_int_eq(lyc_vecstore_counter_incr(store, "acme", "cost_usd", 0.2, &value), 0);
    ck_assert_double_eq_tol(value, 0.3, 1e-12);
    ck_assert_int_eq(lyc_vecstore_counter_incr(store, "acme", "cost_usd", INFINITY, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_counter_incr(store, "acme", "", 1, NULL), -1);

    ck_assert_int_eq(lyc_vecstore_record_put(store, "acme", "rec-1", fields, 0), -1);
    lyc_vecstore_field_t no_name = {"", "x"};
    ck_assert_int_eq(lyc_vecstore_record_put(store, "acme", "rec-1", &no_name, 1), -1);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

START_TEST(test_bad_input_rejected)
{
    enum { DIM = 4 };
    float v[DIM] = {1, 0, 0, 0};
    float wide[DIM + 1] = {1, 0, 0, 0, 0};
    float zero[DIM] = {0};
    float nan[DIM] = {1, NAN, 0, 0};
    char long_name[LYC_VECSTORE_MAX_TENANT + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    static const char *bad_tenants[] = {"", "a b", "a{b}", "a:b", "a*", "t\xc3\xa9", "a\"b"};
    size_t n;
    lyc_vecstore_results_t *results = NULL;

    lyc_vecstore_t *store = s_store_new(DIM, LYC_VECSTORE_Q8);
    ck_assert(lyc_vecstore_tenant_valid("Acme_1.eu-west"));
    ck_assert(lyc_vecstore_tenant_valid(long_name + 1));
    ck_assert(!lyc_vecstore_tenant_valid(long_name));
    ck_assert(!lyc_vecstore_tenant_valid(NULL));
    ck_assert_int_eq(lyc_vecstore_add(store, long_name, "r", v, DIM, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, NULL, "r", v, DIM, NULL), -1);
    for (size_t i = 0; i < sizeof bad_tenants / sizeof bad_tenants[0]; i++) {
        ck_assert_int_eq(lyc_vecstore_add(store, bad_tenants[i], "r", v, DIM, NULL), -1);
        ck_assert_int_eq(lyc_vecstore_search(store, bad_tenants[i], v, DIM, 1, NULL, &results), -1);
        ck_assert_int_eq(lyc_vecstore_count(store, bad_tenants[i], &n), -1);
        ck_assert_int_eq(lyc_vecstore_delete(store, bad_tenants[i], "r"), -1);
        ck_assert_int_eq(lyc_vecstore_drop_tenant(store, bad_tenants[i]), -1);
    }
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", wide, DIM + 1, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", v, DIM - 1, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", zero, DIM, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", nan, DIM, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", NULL, DIM, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "bad id", v, DIM, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "", v, DIM, NULL), -1);
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", wide, DIM + 1, 1, NULL, &results), -1);
    ck_assert_int_eq(lyc_vecstore_search(store, "acme", v, DIM, 0, NULL, &results), -1);
    ck_assert_int_eq(
        lyc_vecstore_search(store, "acme", v, DIM, LYC_VECSTORE_MAX_K + 1, NULL, &results), -1);
    ck_assert_ptr_null(results);
    lyc_vecstore_attrs_t nan_score = {NULL, NULL, NAN, 0};
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", v, DIM, &nan_score), -1);

    /* The same tenant and id with a different dimension in another store fails in Redis. */
    ck_assert_int_eq(lyc_vecstore_add(store, "acme", "r", v, DIM, NULL), 0);
    lyc_vecstore_config_t config = {
        .redis_url = lyc_test_redis_url(), .key_prefix = s_prefix, .dim = DIM + 1};
    lyc_vecstore_t *wider = lyc_vecstore_new(&config);
    ck_assert_ptr_nonnull(wider);
    ck_assert_int_eq(lyc_vecstore_add(wider, "acme", "r2", wide, DIM + 1, NULL), -1);
    lyc_vecstore_destroy(&wider);

    /* Bad configurations. */
    config.dim = 0;
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    config = (lyc_vecstore_config_t){
        .redis_url = lyc_test_redis_url(), .key_prefix = "bad*prefix", .dim = DIM};
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    config.key_prefix = "lyc{x}";
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    config = (lyc_vecstore_config_t){.dim = DIM};
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    config = (lyc_vecstore_config_t){
        .redis_url = lyc_test_redis_url(), .dim = DIM, .quant = (lyc_vecstore_quant_t) 7};
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    lyc_vecstore_destroy(NULL);
    const char *tenants[] = {"acme"};
    s_cleanup(&store, tenants, 1);
}
END_TEST

/* Nothing listens on port 1: refused at once, no hang. */
START_TEST(test_dead_server_fails_fast)
{
    lyc_vecstore_config_t config = {
        .redis_url = "redis://127.0.0.1:1", .dim = 4, .timeout_ms = 500};
    int64_t start = lyc_mono_us();
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    ck_assert_ptr_null(lyc_redis_new("redis://127.0.0.1:1/2", 500));
    ck_assert_int_lt(lyc_mono_us() - start, 2000000);
}
END_TEST

/* A server that accepts the connection but never answers: the time-out ends the wait. */
START_TEST(test_silent_server_times_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", ntohs(addr.sin_port));
    lyc_vecstore_config_t config = {.redis_url = url, .dim = 4, .timeout_ms = 300};
    int64_t start = lyc_mono_us();
    ck_assert_ptr_null(lyc_vecstore_new(&config));
    int64_t elapsed = lyc_mono_us() - start;
    ck_assert_int_ge(elapsed, 250000);
    ck_assert_int_lt(elapsed, 2000000);
    close(fd);
}
END_TEST

/* Client id of a connection (CLIENT ID). */
static long long s_client_id(lyc_redis_t *redis)
{
    const char *argv[] = {"CLIENT", "ID"};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
    long long id = reply->integer;
    freeReplyObject(reply);
    return id;
}

/* A connection the server closed is replaced transparently, once. */
START_TEST(test_reconnect_after_server_closes)
{
    lyc_redis_t *a = lyc_redis_new(lyc_test_redis_url(), 2000);
    lyc_redis_t *b = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    long long before = s_client_id(a);
    char id[32];
    snprintf(id, sizeof id, "%lld", before);
    const char *kill[] = {"CLIENT", "KILL", "ID", id};
    redisReply *reply = lyc_redis_command(b, 4, kill, NULL);
    ck_assert_ptr_nonnull(reply);
    freeReplyObject(reply);
    usleep(50000); /* let the close reach our socket */
    long long after = s_client_id(a);
    ck_assert_int_ne(before, after);

    /* Closed while a batch is in flight (QUIT ends it before PING is answered):
     * the batch is sent once more on a new connection, then given up. The
     * counter shows it ran exactly twice. */
    char key[96];
    lyc_test_unique(key, sizeof key, s_run_prefix);
    const char *incr[] = {"INCR", key};
    const char *quit[] = {"QUIT"};
    const char *ping[] = {"PING"};
    lyc_redis_cmd_t batch[] = {{2, incr, NULL}, {1, quit, NULL}, {1, ping, NULL}};
    redisReply *replies[3] = {NULL, NULL, NULL};
    ck_assert_int_eq(lyc_redis_pipeline(a, 3, batch, replies), -1);
    ck_assert_ptr_null(replies[0]);
    const char *get[] = {"GET", key};
    reply = lyc_redis_command(a, 2, get, NULL);
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->str, "2");
    freeReplyObject(reply);
    const char *del[] = {"DEL", key};
    reply = lyc_redis_command(a, 2, del, NULL);
    ck_assert_ptr_nonnull(reply);
    freeReplyObject(reply);
    after = s_client_id(a);

    /* An error reply is not a connection failure: it is reported, the connection stays. */
    const char *bogus[] = {"NOSUCHCOMMAND"};
    ck_assert_ptr_null(lyc_redis_command(a, 1, bogus, NULL));
    ck_assert(strstr(lyc_redis_error(a), "unknown command") != NULL);
    ck_assert_int_eq(s_client_id(a), after);
    lyc_redis_destroy(&a);
    lyc_redis_destroy(&b);
    ck_assert_ptr_null(a);
}
END_TEST

/* Deletes whatever a failed test left under this run's prefix (a passing
 * test cleans up after itself and checks it did). */
static void s_sweep_run_keys(void)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    if (!redis)
        return;
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s-*", s_run_prefix);
    const char *keys[] = {"KEYS", pattern};
    redisReply *reply = lyc_redis_command(redis, 2, keys, NULL);
    for (size_t i = 0; reply && i < reply->elements; i++) {
        const char *del[] = {"UNLINK", reply->element[i]->str};
        freeReplyObject(lyc_redis_command(redis, 2, del, NULL));
    }
    if (reply && reply->elements > 0)
        printf("test_vecstore: removed %zu keys left by failed tests\n", reply->elements);
    freeReplyObject(reply);
    lyc_redis_destroy(&redis);
}

/* Prints the server the tests talk to, so CI logs show it is Redis 8. */
static void s_print_server(void)
{
    const char *url = lyc_test_redis_url();
    lyc_redis_t *redis = lyc_redis_new(url, 2000);
    if (!redis) {
        printf("test_vecstore: cannot reach Redis at %s\n", url);
        return;
    }
    const char *argv[] = {"INFO", "server"};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    const char *version = reply ? strstr(reply->str, "redis_version:") : NULL;
    int len = version ? (int) strcspn(version, "\r\n") : 0;
    printf("test_vecstore: talking to %s (%.*s)\n", url, len, version ? version : "");
    fflush(stdout);
    freeReplyObject(reply);
    lyc_redis_destroy(&redis);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    lyc_test_unique(s_run_prefix, sizeof s_run_prefix, "lt");
    s_print_server();
    Suite *s = suite_create("vecstore");
    TCase *tc = tcase_create("vecstore");
    tcase_add_test(tc, test_server_is_redis_8);
    tcase_add_test(tc, test_order_and_similarity_exact);
    tcase_add_test(tc, test_order_with_q8);
    tcase_add_test(tc, test_k_respected);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_tenant_isolation);
    tcase_add_test(tc, test_delete_and_count);
    tcase_add_test(tc, test_records_and_counters);
    tcase_add_test(tc, test_bad_input_rejected);
    tcase_add_test(tc, test_dead_server_fails_fast);
    tcase_add_test(tc, test_silent_server_times_out);
    tcase_add_test(tc, test_reconnect_after_server_closes);
    suite_add_tcase(s, tc);
    int rc = lyc_test_run(s);
    s_sweep_run_keys();
    return rc;
}
