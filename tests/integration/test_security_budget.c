/*
 * test_security_budget.c - budgets reached mid-stream, counted at the
 * workers (their /metrics): once a tenant's or a key's budget is reached no
 * further call is made on any spending path (novel fan-out, the familiar
 * answer and its learning samples, judging), the spend in Redis is exactly
 * what the replies cost, `on_budget: cheapest` answers from the cheapest
 * model until even that no longer fits, and two routers on one Redis
 * prefix share one budget.
 *
 * Every query sets max_tokens 1 and asks what no recording knows (the
 * replay workers simulate one-token answers), so estimates equal costs:
 * supervisor 8 x 1000 + 1 x 3000 = 0.011 USD, student 0.003, memory 0.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "apikeys.h"
#include "budget.h"
#include "redis.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_QUERIES 60

static lyc_kit_t s_kit;

static const char *s_data =
    "{\"prompt\":\"Unused\",\"domain\":\"geo\",\"answers\":{\"supervisor\":{\"correct\":true}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 1000, 3000, 1, 0},
    {"student", "replay", "student", 300, 600, 1, 0},
    {"memory", "memory", "student", 0, 0, 1, 0},
};

static void s_cluster_up(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = sizeof s_models / sizeof s_models[0],
                        .router_extra = "  learning_sample: 1\n  min_evidence: 1000\n",
                        .auth_required = 1,
                        .routers = 2,
                        .worker_metrics = 1};
    ck_assert_int_eq(lyc_kit_start_opts(&s_kit, &o), 0);
}

static void s_cluster_down(void)
{
    lyc_kit_stop(&s_kit);
}

/* A key of tenant (key_day: the key's own daily budget, 0 none), into key. */
static void s_key(char key[LYC_APIKEY_LEN + 1], const char *tenant, double key_day)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    lyc_apikey_info_t spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.tenant, sizeof spec.tenant, "%s", tenant);
    spec.budget_day_usd = key_day;
    ck_assert_int_eq(lyc_apikey_create(redis, s_kit.prefix, &spec, key, NULL), 0);
    lyc_redis_destroy(&redis);
}

static void s_budget(const char *tenant, const char *day_usd, const char *on_budget)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    const char *names[] = {"budget_day_usd", "on_budget"};
    const char *values[] = {day_usd, on_budget};
    ck_assert_int_eq(lyc_tenant_set(redis, s_kit.prefix, tenant, names, values, 2), 0);
    lyc_redis_destroy(&redis);
}

/* Spend of tenant today (key id NULL) or of a key. */
static double s_spent(const char *tenant, const char *key_id)
{
    double day = -1, month = -1;
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_int_eq(lyc_budget_spent(redis, s_kit.prefix, tenant, key_id, &day, &month), 0);
    lyc_redis_destroy(&redis);
    return day;
}

/* Calls and USD over every worker. */
static void s_workers(double *calls, double *usd)
{
    *calls = *usd = 0;
    for (size_t i = 0; i < sizeof s_models / sizeof s_models[0]; i++) {
        double c = lyc_kit_worker_sum(&s_kit, s_models[i].name, "lyceum_worker_calls_total");
        double u = lyc_kit_worker_sum(&s_kit, s_models[i].name, "lyceum_worker_cost_usd_total");
        ck_assert(c >= 0 && u >= 0);
        *calls += c;
        *usd += u;
    }
}

/* One query of the stream; *cost gets its cost_usd on 200. */
static int s_ask(const char *url, const char *key, const char *question, double *cost,
                 cJSON **reply_out)
{
    lyc_kit_ask_t ask = {.url = url, .key = key, .domain = "rivers", .max_tokens = 1};
    cJSON *r = NULL;
    int status = lyc_kit_ask(&s_kit, &ask, question, &r, NULL);
    *cost = 0;
    if (status == 200) {
        *cost = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "lyceum"), "cost_usd")->valuedouble;
    } else if (status == 429) {
        const cJSON *e = cJSON_GetObjectItem(r, "error");
        ck_assert_str_eq(lyc_kit_str(e, "code", NULL), "budget_exceeded");
        ck_assert_str_eq(lyc_kit_str(e, "type", NULL), "insufficient_quota");
    }
    if (reply_out)
        *reply_out = r;
    else
        cJSON_Delete(r);
    return status;
}

/* Question i of a stream; every third repeats the one before (familiar,
 * with learning samples). */
static void s_question(char *buf, size_t cap, const char *stream, int i)
{
    snprintf(buf, cap, "%s question %d about rivers?", stream, i % 3 == 2 ? i - 1 : i);
}

START_TEST(test_refuse_stops_every_call_at_the_budget)
{
    char key[LYC_APIKEY_LEN + 1], q[128];
    double before_calls, before_usd, calls, usd, cost, replies = 0;
    s_key(key, "tight", 0);
    s_budget("tight", "0.1", "refuse");
    s_workers(&before_calls, &before_usd);
    int i, status = 200, served = 0;
    for (i = 0; i < S_MAX_QUERIES && status == 200; i++) {
        s_question(q, sizeof q, "Tight", i);
        status = s_ask(NULL, key, q, &cost, NULL);
        replies += cost;
        served += status == 200;
    }
    ck_assert_int_eq(status, 429);
    ck_assert_int_ge(served, 3);
    s_workers(&calls, &usd);
    /* past the budget nothing more reaches a worker */
    for (int k = 0; k < 5; k++) {
        s_question(q, sizeof q, "Tight", i + k);
        ck_assert_int_eq(s_ask(NULL, key, q, &cost, NULL), 429);
    }
    double after_calls, after_usd;
    s_workers(&after_calls, &after_usd);
    ck_assert_double_eq(after_calls, calls);
    double spent = s_spent("tight", NULL);
    printf("tight: %d served, %.0f calls, workers %.6f USD, replies %.6f, spent %.6f of 0.1\n",
           served, calls - before_calls, usd - before_usd, replies, spent);
    ck_assert(spent <= 0.1 + 1e-9);
    ck_assert_double_eq_tol(spent, replies, 1e-9); /* exact to each call's cost */
    ck_assert(usd - before_usd <= spent + 1e-9);   /* judging is the rest */
}
END_TEST

START_TEST(test_cheapest_answers_from_the_student_then_refuses)
{
    char key[LYC_APIKEY_LEN + 1], q[128];
    double cost, sup_at_cut = -1;
    int full = 0, cut = 0, status = 200;
    s_key(key, "frugal", 0);
    /* 7 full answers (0.014 each) leave 0.007: room for two of the student's (0.003) */
    s_budget("frugal", "0.105", "cheapest");
    for (int i = 0; i < S_MAX_QUERIES && status == 200; i++) {
        cJSON *r = NULL;
        snprintf(q, sizeof q, "Frugal question %d about rivers?", i);
        status = s_ask(NULL, key, q, &cost, &r);
        const cJSON *by = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "lyceum"), "answered_by");
        if (status == 200 && lyc_kit_has(by, "supervisor")) {
            ck_assert_int_eq(cut, 0); /* never a full answer after a cut one */
            full++;
        } else if (status == 200) {
            ck_assert_int_eq(cJSON_GetArraySize(by), 1);
            ck_assert(lyc_kit_has(by, "student"));
            if (cut++ == 0)
                sup_at_cut = lyc_kit_worker_sum(&s_kit, "supervisor", "lyceum_worker_calls_total");
        }
        cJSON_Delete(r);
    }
    ck_assert_int_eq(status, 429);
    ck_assert_int_ge(full, 1);
    ck_assert_int_ge(cut, 1);
    ck_assert_double_eq(lyc_kit_worker_sum(&s_kit, "supervisor", "lyceum_worker_calls_total"),
                        sup_at_cut);
    ck_assert(s_spent("frugal", NULL) <= 0.105 + 1e-9);
}
END_TEST

START_TEST(test_key_budget_beside_the_tenants)
{
    char limited[LYC_APIKEY_LEN + 1], free_key[LYC_APIKEY_LEN + 1], q[128];
    char hash[LYC_APIKEY_HASH_HEX + 1], id[LYC_APIKEY_ID_LEN + 1];
    double cost;
    int status = 200, i;
    s_key(limited, "keyed", 0.05);
    s_key(free_key, "keyed", 0);
    lyc_apikey_hash(limited, hash, id);
    for (i = 0; i < S_MAX_QUERIES && status == 200; i++) {
        snprintf(q, sizeof q, "Keyed question %d about rivers?", i);
        status = s_ask(NULL, limited, q, &cost, NULL);
    }
    ck_assert_int_eq(status, 429);
    ck_assert(s_spent("keyed", id) <= 0.05 + 1e-9);
    /* the tenant has no budget: its other key goes on */
    snprintf(q, sizeof q, "Keyed question %d about rivers?", i);
    ck_assert_int_eq(s_ask(NULL, free_key, q, &cost, NULL), 200);
}
END_TEST

/* One client thread of the shared-budget test. */
typedef struct {
    const char *url;
    const char *key;
    int index;
    int served;
    int refused;
    double cost;
} s_client_t;

static void *s_client(void *arg)
{
    s_client_t *c = arg;
    char q[128];
    for (int i = 0; i < S_MAX_QUERIES && !c->refused; i++) {
        double cost;
        snprintf(q, sizeof q, "Pair %d question %d about rivers?", c->index, i);
        int status = s_ask(c->url, c->key, q, &cost, NULL);
        c->served += status == 200;
        c->refused = status == 429;
        c->cost += cost;
    }
    return NULL;
}

START_TEST(test_two_routers_share_one_budget)
{
    char key[LYC_APIKEY_LEN + 1];
    double before_calls, before_usd, calls, usd;
    s_key(key, "pair", 0);
    s_budget("pair", "0.2", "refuse");
    s_workers(&before_calls, &before_usd);
    s_client_t clients[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        clients[t] = (s_client_t){.url = t % 2 ? s_kit.url2 : s_kit.url, .key = key, .index = t};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, s_client, &clients[t]), 0);
    }
    double replies = 0;
    int served[2] = {0, 0};
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        ck_assert(clients[t].refused);
        served[t % 2] += clients[t].served;
        replies += clients[t].cost;
    }
    s_workers(&calls, &usd);
    double spent = s_spent("pair", NULL);
    printf("pair: router A served %d, router B %d; workers %.6f USD, spent %.6f of 0.2\n",
           served[0], served[1], usd - before_usd, spent);
    ck_assert_int_gt(served[0], 0);
    ck_assert_int_gt(served[1], 0);
    ck_assert(spent <= 0.2 + 1e-9);
    ck_assert(usd - before_usd <= spent + 1e-9);
    ck_assert_double_eq_tol(spent, replies, 1e-9);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_budget");
    TCase *tc = tcase_create("budget");
    tcase_set_timeout(tc, 240);
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_add_test(tc, test_refuse_stops_every_call_at_the_budget);
    tcase_add_test(tc, test_cheapest_answers_from_the_student_then_refuses);
    tcase_add_test(tc, test_key_budget_beside_the_tenants);
    tcase_add_test(tc, test_two_routers_share_one_budget);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
