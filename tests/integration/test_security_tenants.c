/*
 * test_security_tenants.c - tenant isolation end to end: two tenants (each
 * with its own API key, and the same user name "ann") ask the same and
 * near-same questions. Nothing of one reaches the other:
 *
 *   replies  the second tenant's first asks are novel and never answered
 *            by the memory student, though the first tenant's repeat was
 *            familiar
 *   exemplars the student (exemplars: 2) sees the first tenant's past
 *            winner in its prompt (more prompt tokens) and never the other
 *            tenant's (as few tokens as the bare question)
 *   Redis    each tenant's vectors and records hold only its own queries;
 *            each tenant's profile of "ann" counts only its own queries
 *   events   every feedback event names the tenant of its query
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "apikeys.h"
#include "envelope.h"
#include "eventlog.h"
#include "redis.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_TRACES 16

static lyc_kit_t s_kit;

static const char *s_data =
    "{\"prompt\":\"What is the capital of France?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Paris.\"},"
    "\"student\":{\"correct\":false,\"text\":\"Lyon\"}}}\n"
    "{\"prompt\":\"What is the capital of Spain?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Madrid.\"},"
    "\"student\":{\"correct\":true,\"text\":\"Madrid\"}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {"student", "replay", "student", 0.1, 0.2, 1, 0},
    {"memory", "memory", "student", 0, 0, 1, 0},
};
static const char *const s_extra[] = {NULL, "    exemplars: 2\n", NULL};

/* The queries sent, to check Redis and the events against. */
typedef struct {
    char trace[64];
    char tenant[16];
    char question[64];
    int calls; /* models asked: every model when novel, one when familiar */
} s_sent_t;

static s_sent_t s_sent[S_MAX_TRACES];
static int s_n_sent;
static char s_alpha[64], s_bravo[64];

static void s_cluster_up(void)
{
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = sizeof s_models / sizeof s_models[0],
                        .router_extra = "  learning_sample: 0\n  min_evidence: 1000\n",
                        .auth_required = 1,
                        .model_extra = s_extra};
    ck_assert_int_eq(lyc_kit_start_opts(&s_kit, &o), 0);
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    lyc_apikey_info_t spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.tenant, sizeof spec.tenant, "alpha");
    ck_assert_int_eq(lyc_apikey_create(redis, s_kit.prefix, &spec, s_alpha, NULL), 0);
    snprintf(spec.tenant, sizeof spec.tenant, "bravo");
    ck_assert_int_eq(lyc_apikey_create(redis, s_kit.prefix, &spec, s_bravo, NULL), 0);
    lyc_redis_destroy(&redis);
}

static void s_cluster_down(void)
{
    lyc_kit_stop(&s_kit);
}

/* Asks as tenant (its key), user ann, domain geo; remembers the trace. */
static cJSON *s_ask(const char *tenant, const char *question)
{
    lyc_kit_ask_t ask = {
        .key = strcmp(tenant, "alpha") == 0 ? s_alpha : s_bravo, .user = "ann", .domain = "geo"};
    cJSON *r = NULL;
    ck_assert_int_eq(lyc_kit_ask(&s_kit, &ask, question, &r, NULL), 200);
    ck_assert_int_lt(s_n_sent, S_MAX_TRACES);
    s_sent_t *s = &s_sent[s_n_sent++];
    snprintf(s->trace, sizeof s->trace, "%s", lyc_kit_str(r, "lyceum", "trace_id"));
    snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
    snprintf(s->question, sizeof s->question, "%s", question);
    s->calls = strcmp(lyc_kit_str(r, "lyceum", "path"), "novel") == 0
                   ? (int) (sizeof s_models / sizeof s_models[0])
                   : 1;
    return r;
}

static const s_sent_t *s_find(const char *trace)
{
    for (int i = 0; i < s_n_sent; i++)
        if (strcmp(s_sent[i].trace, trace) == 0)
            return &s_sent[i];
    return NULL;
}

static void s_assert_novel_without_memory(const cJSON *r)
{
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "novel");
    ck_assert_str_ne(lyc_kit_str(r, "lyceum", "chosen"), "memory");
    ck_assert(!lyc_kit_has(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "lyceum"), "answered_by"),
                           "memory"));
}

/* Check forks each test, so the three checks below share one test. */
static void s_replies_do_not_cross_tenants(void)
{
    cJSON *r = s_ask("alpha", "What is the capital of France?");
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "novel");
    cJSON_Delete(r);
    /* the same again is familiar, within alpha */
    r = s_ask("alpha", "What is the capital of France?");
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "familiar");
    cJSON_Delete(r);
    r = s_ask("alpha", "What is the capital of Spain?");
    cJSON_Delete(r);
    /* bravo: the same questions, and a near-same one, are all new to it */
    r = s_ask("bravo", "What is the capital of Spain?");
    s_assert_novel_without_memory(r);
    cJSON_Delete(r);
    r = s_ask("bravo", "what is the capital of france");
    s_assert_novel_without_memory(r);
    cJSON_Delete(r);
}

/* Members of a vector set (all of them: it is small). */
static redisReply *s_members(lyc_redis_t *redis, const char *tenant)
{
    char key[160];
    snprintf(key, sizeof key, "%s:{%s}:vectors", s_kit.prefix, tenant);
    const char *argv[] = {"VRANDMEMBER", key, "1000"};
    redisReply *r = lyc_redis_command(redis, 3, argv, NULL);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* Every vector and record of tenant is one of its own queries. */
static void s_assert_own_records(lyc_redis_t *redis, const char *tenant, size_t min)
{
    redisReply *m = s_members(redis, tenant);
    ck_assert_uint_ge(m->elements, min);
    for (size_t i = 0; i < m->elements; i++) {
        const s_sent_t *s = s_find(m->element[i]->str);
        ck_assert_msg(s && strcmp(s->tenant, tenant) == 0, "%s holds %s", tenant,
                      m->element[i]->str);
        char key[200];
        snprintf(key, sizeof key, "%s:{%s}:rec:%s", s_kit.prefix, tenant, s->trace);
        const char *argv[] = {"HGET", key, "question"};
        redisReply *q = lyc_redis_command(redis, 3, argv, NULL);
        ck_assert(q && q->type == REDIS_REPLY_STRING);
        ck_assert_str_eq(q->str, s->question);
        freeReplyObject(q);
    }
    freeReplyObject(m);
}

static long s_profile_queries(lyc_redis_t *redis, const char *tenant)
{
    char key[160];
    snprintf(key, sizeof key, "%s:{%s}:profile:ann", s_kit.prefix, tenant);
    const char *argv[] = {"HGET", key, "queries"};
    redisReply *r = lyc_redis_command(redis, 3, argv, NULL);
    ck_assert_ptr_nonnull(r);
    long n = r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return n;
}

/* Waits (up to 10 s) until tenant's profile of ann counts n queries: the
 * router writes each query's record, vector and profile after its reply,
 * one query after the other. */
static void s_wait_profile(lyc_redis_t *redis, const char *tenant, long n)
{
    for (int waited = 0; waited < 10000 && s_profile_queries(redis, tenant) < n; waited += 10)
        usleep(10 * 1000);
}

static void s_redis_holds_each_tenants_own(void)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    s_wait_profile(redis, "alpha", 3);
    s_wait_profile(redis, "bravo", 2);
    /* alpha: France (its repeat adds nothing) and Spain; bravo: its two */
    s_assert_own_records(redis, "alpha", 2);
    s_assert_own_records(redis, "bravo", 2);
    ck_assert_int_eq(s_profile_queries(redis, "alpha"), 3);
    ck_assert_int_eq(s_profile_queries(redis, "bravo"), 2);
    lyc_redis_destroy(&redis);
}

/* Reads the feedback events of our traces: checks each one's tenant and
 * notes the student's prompt tokens for "capital of Spain" per tenant. */
static int s_read_events(unsigned spain_tokens[2])
{
    char group[64];
    lyc_test_unique(group, sizeof group, "tenants-reader");
    const char *topics[] = {"lyceum.feedback"};
    lyc_consumer_config_t cc = {
        .brokers = lyc_test_kafka_brokers(), .group_id = group, .topics = topics, .topic_count = 1};
    lyc_consumer_t *consumer = lyc_consumer_new(&cc);
    ck_assert_ptr_nonnull(consumer);
    int found = 0, expected = 0;
    for (int i = 0; i < s_n_sent; i++)
        expected += s_sent[i].calls;
    time_t give_up = time(NULL) + 60;
    while ((spain_tokens[0] == 0 || spain_tokens[1] == 0 || found < expected) &&
           time(NULL) < give_up) {
        lyc_record_t rec;
        lyc_envelope_t env;
        char err[256];
        if (lyc_consumer_poll(consumer, 100, &rec) != 1 ||
            lyc_envelope_decode(rec.payload, rec.len, &env, err, sizeof err) != 0)
            continue;
        Lyceum__V1__FeedbackEvent *ev = (Lyceum__V1__FeedbackEvent *) env.payload;
        const s_sent_t *s =
            env.type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT ? s_find(ev->trace_id) : NULL;
        if (s) {
            found++;
            ck_assert_str_eq(ev->tenant, s->tenant);
            if (strcmp(ev->model, "student") == 0 && strstr(s->question, "Spain") && ev->usage)
                spain_tokens[strcmp(s->tenant, "bravo") == 0] = ev->usage->prompt_tokens;
        }
        lyc_envelope_clear(&env);
    }
    lyc_consumer_destroy(&consumer);
    return found;
}

static void s_events_and_exemplars_stay_in_their_tenant(void)
{
    unsigned spain_tokens[2] = {0, 0}; /* alpha's, bravo's */
    int expected = 0;
    for (int i = 0; i < s_n_sent; i++)
        expected += s_sent[i].calls;
    ck_assert_int_ge(s_read_events(spain_tokens), expected);
    /* bravo's student saw the bare question; alpha's also alpha's France exemplar */
    ck_assert_uint_eq(spain_tokens[1], (strlen("What is the capital of Spain?") + 3) / 4);
    ck_assert_uint_gt(spain_tokens[0], spain_tokens[1]);
}

START_TEST(test_nothing_crosses_tenants)
{
    s_replies_do_not_cross_tenants();
    s_redis_holds_each_tenants_own();
    s_events_and_exemplars_stay_in_their_tenant();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_tenants");
    TCase *tc = tcase_create("tenants");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_add_test(tc, test_nothing_crosses_tenants);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
