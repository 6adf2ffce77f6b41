/*
 * test_router_recorder.c - records written after the replies lose nothing.
 *
 * In process (the recorder and records of services/router on the real
 * Redis and Kafka): records queued faster than they can be written are all
 * written when the last holder lets the recorder go; a full queue makes the
 * query thread write its own record, never drops it.
 *
 * Whole cluster (the built router, evaluator and replay workers): a burst of
 * queries through a router whose record queue holds one record is stopped
 * right after the last reply, and every query's record, vector, profile
 * count and feedback events are there afterwards; with record_queue 0 each
 * record is in Redis before its reply comes back.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "budget.h"
#include "envelope.h"
#include "eventlog.h"
#include "ids.h"
#include "pb.h"
#include "record.h"
#include "recorder.h"
#include "redis.h"
#include "router.h"
#include "vecstore.h"

#include <cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_THREADS    8
#define S_PER_THREAD 12
#define S_QUERIES    (S_THREADS * S_PER_THREAD)

static const char *s_data =
    "{\"prompt\":\"What is the capital of France?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Paris.\"},\"teacher\":{\"correct\":true,"
    "\"text\":\"Paris\"},\"student\":{\"correct\":false,\"text\":\"Lyon\"}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {"teacher", "replay", "teacher", 1, 2, 1, 0},
    {"student", "replay", "student", 0.1, 0.2, 1, 0},
};

/* Every test's explore settings keep each query novel (all three models answer). */
#define S_ROUTER_EXTRA "  min_evidence: 100000\n  learning_sample: 0\n"

typedef struct {
    const lyc_kit_t *kit;
    int index;
    char traces[S_PER_THREAD][LYC_ID_LEN];
    int ok;
} s_client_t;

static void *s_client(void *arg)
{
    s_client_t *c = arg;
    char question[128], user[32];
    snprintf(user, sizeof user, "user%d", c->index);
    lyc_kit_ask_t ask = {.user = user, .domain = "sums"};
    for (int i = 0; i < S_PER_THREAD; i++) {
        cJSON *r = NULL;
        snprintf(question, sizeof question, "What is %d plus %d?", 100 + c->index, 200 + i);
        if (lyc_kit_ask(c->kit, &ask, question, &r, NULL) == 200) {
            snprintf(c->traces[i], sizeof c->traces[i], "%s",
                     lyc_kit_str(cJSON_GetObjectItem(r, "lyceum"), "trace_id", NULL));
            c->ok++;
        }
        cJSON_Delete(r);
    }
    return NULL;
}

static void s_burst(const lyc_kit_t *kit, s_client_t clients[S_THREADS])
{
    pthread_t threads[S_THREADS];
    for (int t = 0; t < S_THREADS; t++) {
        clients[t] = (s_client_t){.kit = kit, .index = t};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, s_client, &clients[t]), 0);
    }
    for (int t = 0; t < S_THREADS; t++) {
        pthread_join(threads[t], NULL);
        ck_assert_int_eq(clients[t].ok, S_PER_THREAD);
    }
}

static lyc_vecstore_t *s_store(const lyc_kit_t *kit)
{
    lyc_vecstore_config_t vc = {
        .redis_url = lyc_test_redis_url(), .key_prefix = kit->prefix, .dim = 256};
    lyc_vecstore_t *store = lyc_vecstore_new(&vc);
    ck_assert_ptr_nonnull(store);
    return store;
}

/* 1 when the record of trace is in Redis with its winner. */
static int s_recorded(lyc_vecstore_t *store, const char *trace)
{
    lyc_vecstore_record_t *record = NULL;
    ck_assert_int_eq(lyc_vecstore_record_get(store, "default", trace, &record), 0);
    int found = record && lyc_vecstore_record_value(record, "winner");
    lyc_vecstore_record_destroy(&record);
    return found;
}

/* The user's query count in their profile. */
static long s_profile_queries(const lyc_kit_t *kit, const char *user)
{
    char key[256];
    snprintf(key, sizeof key, "%s:{default}:profile:%s", kit->prefix, user);
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    const char *argv[] = {"HGET", key, "queries"};
    redisReply *r = lyc_redis_command(redis, 3, argv, NULL);
    ck_assert_ptr_nonnull(r);
    long n = r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    lyc_redis_destroy(&redis);
    return n;
}

/* Feedback events in Kafka whose trace is one of traces[0..n), each counted once
 * per trace; waits up to 60 s for all n. */
static int s_traces_with_events(char traces[][LYC_ID_LEN], int n)
{
    char group[64];
    lyc_test_unique(group, sizeof group, "recorder-reader");
    const char *topics[] = {"lyceum.feedback"};
    lyc_consumer_config_t cc = {
        .brokers = lyc_test_kafka_brokers(), .group_id = group, .topics = topics, .topic_count = 1};
    lyc_consumer_t *consumer = lyc_consumer_new(&cc);
    ck_assert_ptr_nonnull(consumer);
    int *seen = calloc((size_t) n, sizeof *seen), found = 0;
    time_t give_up = time(NULL) + 60;
    while (found < n && time(NULL) < give_up) {
        lyc_record_t rec;
        if (lyc_consumer_poll(consumer, 100, &rec) != 1)
            continue;
        lyc_envelope_t env;
        char err[256];
        if (lyc_envelope_decode(rec.payload, rec.len, &env, err, sizeof err) != 0)
            continue;
        if (env.type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT) {
            const Lyceum__V1__FeedbackEvent *ev = (Lyceum__V1__FeedbackEvent *) env.payload;
            for (int i = 0; i < n; i++) {
                if (!seen[i] && strcmp(ev->trace_id, traces[i]) == 0) {
                    seen[i] = 1;
                    found++;
                }
            }
        }
        lyc_envelope_clear(&env);
    }
    lyc_consumer_destroy(&consumer);
    free(seen);
    return found;
}

/* ---- in process ----------------------------------------------------- */

static lyc_router_t s_router;
static lyc_query_ctx_t *s_ctx;
static char s_dir[128];

/* A router with just what recording needs: settings, metrics, the event
 * sink, the recorder (record_queue `queue`) and one query thread's context. */
static void s_router_up(long queue)
{
    char path[256], text[1024], err[512], prefix[64];
    lyc_test_unique(prefix, sizeof prefix, "recorder");
    snprintf(s_dir, sizeof s_dir, "/tmp/lyceum-%s", prefix);
    snprintf(text, sizeof text,
             "redis:\n  url: %s\n  prefix: %s\nkafka:\n  brokers: %s\n  spool_dir: %s/spool\n"
             "router:\n  record_queue: %ld\n",
             lyc_test_redis_url(), prefix, lyc_test_kafka_brokers(), s_dir, queue);
    snprintf(path, sizeof path, "mkdir -p %s", s_dir);
    ck_assert_int_eq(lyc_test_sh(path), 0);
    snprintf(path, sizeof path, "%s/cluster.yaml", s_dir);
    ck_assert_int_eq(lyc_test_write_file(path, text), 0);
    memset(&s_router, 0, sizeof s_router);
    lyc_confdoc_t *doc =
        lyc_settings_load(path, "LYCEUM_ROUTER", &s_router.settings, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_int_eq(lyc_config_apply(lyc_router_config_table, &s_router.config, doc, "router.",
                                      "LYCEUM_ROUTER", err, sizeof err),
                     0);
    lyc_confdoc_destroy(&doc);
    s_router.metrics = lyc_metrics_new();
    s_router.events = lyc_event_sink_new(&s_router.settings, "router", prefix);
    ck_assert_ptr_nonnull(s_router.events);
    ck_assert_int_eq(lyc_recorder_hold(&s_router), 0);
    s_ctx = lyc_query_ctx_new(&s_router);
    ck_assert_ptr_nonnull(s_ctx);
}

static void s_router_down(void)
{
    char cmd[256];
    lyc_query_ctx_destroy(&s_ctx);
    lyc_event_sink_destroy(&s_router.events, 5000);
    lyc_metrics_destroy(&s_router.metrics);
    lyc_config_free(lyc_router_config_table, &s_router.config);
    lyc_settings_free(&s_router.settings);
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    lyc_test_sh(cmd);
}

/* One answered and graded call of model. */
static void s_call(lyc_call_t *call, const char *model)
{
    memset(call, 0, sizeof *call);
    snprintf(call->model, sizeof call->model, "%s", model);
    call->role = LYCEUM__V1__ROLE__ROLE_TEACHER;
    call->answer = lyc_pb_new(&lyceum__v1__answer__descriptor);
    call->answer->content = strdup("42");
    call->answer->cost_usd = 0.001;
    call->answer->latency_ms = 3;
}

/* Records query i (trace into trace) through lyc_record_query, as the pipeline does. */
static void s_record_one(int i, char trace[LYC_ID_LEN])
{
    char question[64];
    float vector[256] = {0};
    vector[i % 256] = 1.0f;
    vector[(i * 7 + 3) % 256] += 0.5f;
    snprintf(question, sizeof question, "What is %d plus 1?", i);
    lyc_id_new(trace);
    lyc_decision_t decision = {.domain = "sums"};
    lyc_call_t calls[2];
    s_call(&calls[0], "teacher");
    s_call(&calls[1], "student");
    Lyceum__V1__Verdict *verdict = lyc_pb_new(&lyceum__v1__verdict__descriptor);
    for (int k = 0; k < 2; k++) {
        Lyceum__V1__ModelScore *score = lyc_pb_new(&lyceum__v1__model_score__descriptor);
        score->model = strdup(calls[k].model);
        score->score = 1.0 - k;
        score->confidence = 1.0;
        lyc_pb_append((void ***) &verdict->verdicts, &verdict->n_verdicts, score);
    }
    lyc_budget_account_t payer = {.tenant = "default"};
    lyc_query_outcome_t o = {.trace = trace,
                             .tenant = "default",
                             .user = "ann",
                             .conversation = question,
                             .question = question,
                             .vector = vector,
                             .decision = &decision,
                             .path = LYCEUM__V1__PATH__PATH_NOVEL,
                             .calls = calls,
                             .n_calls = 2,
                             .verdict = verdict,
                             .chosen = "teacher",
                             .content = "42",
                             .cost_usd = 0.002,
                             .payer = &payer,
                             .charge_usd = 0.002};
    lyc_record_query(s_ctx, &o);
    lyc_calls_clear(calls, 2);
    lyc_pb_free(verdict);
}

/* A counter sample of the router's metrics, 0 when absent. */
static double s_router_metric(const char *sample)
{
    char *text = lyc_metrics_render(s_router.metrics);
    const char *at = strstr(text, sample);
    double v = at ? strtod(at + strlen(sample), NULL) : 0;
    free(text);
    return v;
}

/* Every record is in Redis, with its vector, and the answers' cost in the spend. */
static void s_check_all_recorded(char traces[][LYC_ID_LEN], int n)
{
    double day = 0, month = 0;
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    ck_assert_int_eq(
        lyc_budget_spent(redis, s_router.settings.redis_prefix, "default", NULL, &day, &month), 0);
    ck_assert_double_eq_tol(day, 0.002 * n, 1e-9);
    lyc_redis_destroy(&redis);
    lyc_vecstore_config_t vc = {.redis_url = lyc_test_redis_url(),
                                .key_prefix = s_router.settings.redis_prefix,
                                .dim = 256};
    lyc_vecstore_t *store = lyc_vecstore_new(&vc);
    ck_assert_ptr_nonnull(store);
    for (int i = 0; i < n; i++)
        ck_assert_msg(s_recorded(store, traces[i]), "no record of query %d", i);
    size_t vectors = 0;
    ck_assert_int_eq(lyc_vecstore_count(store, "default", &vectors), 0);
    ck_assert_uint_eq(vectors, (size_t) n);
    lyc_vecstore_drop_tenant(store, "default");
    lyc_vecstore_destroy(&store);
}

#define S_FAST 200

START_TEST(test_release_writes_everything_queued)
{
    static char traces[S_FAST][LYC_ID_LEN];
    s_router_up(1024);
    /* Queued far faster than one pipeline a batch can write them. */
    for (int i = 0; i < S_FAST; i++)
        s_record_one(i, traces[i]);
    lyc_recorder_release(&s_router); /* drains */
    ck_assert_ptr_null(s_router.recorder);
    ck_assert_double_eq(s_router_metric("lyceum_router_records_total{how=\"queued\"} "), S_FAST);
    ck_assert_double_eq(s_router_metric("lyceum_router_records_total{how=\"inline\"} "), 0);
    /* Two feedback events a query, accepted by the event log. */
    ck_assert_uint_eq(lyc_event_sink_accepted(s_router.events), 2 * S_FAST);
    s_check_all_recorded(traces, S_FAST);
    s_router_down();
}
END_TEST

START_TEST(test_full_queue_writes_inline)
{
    static char traces[S_FAST][LYC_ID_LEN];
    s_router_up(4);
    for (int i = 0; i < S_FAST; i++)
        s_record_one(i, traces[i]);
    lyc_recorder_release(&s_router);
    double queued = s_router_metric("lyceum_router_records_total{how=\"queued\"} ");
    double inline_ = s_router_metric("lyceum_router_records_total{how=\"inline\"} ");
    printf("full queue: %g records queued, %g written inline\n", queued, inline_);
    ck_assert_double_eq(queued + inline_, S_FAST);
    ck_assert_msg(inline_ > 0 && queued > 0, "queued %g, inline %g", queued, inline_);
    ck_assert_uint_eq(lyc_event_sink_accepted(s_router.events), 2 * S_FAST);
    s_check_all_recorded(traces, S_FAST);
    s_router_down();
}
END_TEST

/* ---- whole cluster --------------------------------------------------- */

START_TEST(test_stopping_right_after_a_burst_loses_nothing)
{
    lyc_kit_t kit;
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = sizeof s_models / sizeof s_models[0],
                        .router_extra = S_ROUTER_EXTRA "  record_queue: 1\n"};
    ck_assert_int_eq(lyc_kit_start_opts(&kit, &o), 0);
    s_client_t clients[S_THREADS];
    s_burst(&kit, clients);

    /* Stop the router at once: what it still holds is written before it exits. */
    for (int i = 0; i < kit.npids; i++) {
        if (strcmp(kit.names[i], "router") == 0) {
            ck_assert_int_eq(lyc_test_stop(kit.pids[i], SIGTERM, 30000), 0);
            kit.pids[i] = 0;
        }
    }
    lyc_kit_stop(&kit);

    lyc_vecstore_t *store = s_store(&kit);
    char traces[S_QUERIES][LYC_ID_LEN];
    int n = 0;
    for (int t = 0; t < S_THREADS; t++) {
        char user[32];
        snprintf(user, sizeof user, "user%d", t);
        ck_assert_int_eq(s_profile_queries(&kit, user), S_PER_THREAD);
        for (int i = 0; i < S_PER_THREAD; i++) {
            ck_assert_msg(s_recorded(store, clients[t].traces[i]), "no record of %s",
                          clients[t].traces[i]);
            memcpy(traces[n++], clients[t].traces[i], LYC_ID_LEN);
        }
    }
    size_t vectors = 0;
    ck_assert_int_eq(lyc_vecstore_count(store, "default", &vectors), 0);
    ck_assert_uint_eq(vectors, S_QUERIES);
    lyc_vecstore_drop_tenant(store, "default");
    lyc_vecstore_destroy(&store);
    ck_assert_int_eq(s_traces_with_events(traces, n), S_QUERIES);
}
END_TEST

/* The value of an unlabelled-but-one metric sample in a /metrics text, -1 when absent. */
static double s_metric(const char *text, const char *sample)
{
    const char *at = strstr(text, sample);
    return at ? strtod(at + strlen(sample), NULL) : -1;
}

START_TEST(test_queue_zero_records_before_the_reply)
{
    lyc_kit_t kit;
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = sizeof s_models / sizeof s_models[0],
                        .router_extra = S_ROUTER_EXTRA "  record_queue: 0\n"};
    ck_assert_int_eq(lyc_kit_start_opts(&kit, &o), 0);
    lyc_vecstore_t *store = s_store(&kit);
    lyc_kit_ask_t ask = {.user = "ann", .domain = "sums"};
    for (int i = 0; i < 5; i++) {
        char question[64];
        cJSON *r = NULL;
        snprintf(question, sizeof question, "What is 7 plus %d?", i);
        ck_assert_int_eq(lyc_kit_ask(&kit, &ask, question, &r, NULL), 200);
        /* No waiting: the record is there when the reply is. */
        ck_assert(
            s_recorded(store, lyc_kit_str(cJSON_GetObjectItem(r, "lyceum"), "trace_id", NULL)));
        cJSON_Delete(r);
    }
    char url[160], *text = NULL;
    snprintf(url, sizeof url, "%s/metrics", kit.url);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &text), 200);
    ck_assert_double_eq(s_metric(text, "lyceum_router_records_total{how=\"inline\"} "), 5);
    ck_assert_double_eq(s_metric(text, "lyceum_router_records_total{how=\"queued\"} "), -1);
    free(text);
    lyc_kit_stop(&kit);
    lyc_vecstore_drop_tenant(store, "default");
    lyc_vecstore_destroy(&store);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_recorder");
    TCase *tc = tcase_create("recorder");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_release_writes_everything_queued);
    tcase_add_test(tc, test_full_queue_writes_inline);
    tcase_add_test(tc, test_stopping_right_after_a_burst_loses_nothing);
    tcase_add_test(tc, test_queue_zero_records_before_the_reply);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
