/*
 * test_router_e2e.c - the query path end to end through HTTP: a real router,
 * evaluator and replay/memory workers (the built binaries) on the real Redis 8
 * and Kafka. Novel queries go to every model; the same query again is
 * familiar and answered by the recorded winner; a domain with enough history
 * is familiar; usage, cost and metadata are right; every answer leaves a
 * feedback event in Kafka; bad input gets the right status.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "envelope.h"
#include "eventlog.h"
#include "roles.h"

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static lyc_kit_t s_kit;

/* The replay data: three domains, known correctness per model. */
static const char *s_data =
    "{\"prompt\":\"What is the capital of France?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Paris.\",\"prompt_tokens\":100,\"completion_"
    "tokens\":10},"
    "\"teacher\":{\"correct\":true,\"text\":\"Paris\",\"prompt_tokens\":100,\"completion_tokens\":"
    "20},"
    "\"student\":{\"correct\":false,\"text\":\"Lyon\",\"prompt_tokens\":100,\"completion_tokens\":"
    "5}}}\n"
    "{\"prompt\":\"What is the capital of Spain?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Madrid.\"},\"teacher\":{\"correct\":true,\"text\":"
    "\"Madrid\"},"
    "\"student\":{\"correct\":false,\"text\":\"Seville\"}}}\n"
    "{\"prompt\":\"What is the capital of Italy?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Rome.\"},\"teacher\":{\"correct\":true,\"text\":"
    "\"Rome\"},"
    "\"student\":{\"correct\":false,\"text\":\"Milan\"}}}\n"
    "{\"prompt\":\"What is the capital of Peru?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Lima.\"},\"teacher\":{\"correct\":true,\"text\":"
    "\"Lima\"},"
    "\"student\":{\"correct\":true,\"text\":\"Lima\"}}}\n"
    "{\"prompt\":\"What is 17 times 3?\",\"domain\":\"math\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"51\"},\"teacher\":{\"correct\":false,\"text\":"
    "\"41\"},"
    "\"student\":{\"correct\":true,\"text\":\"51\"}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {"teacher", "replay", "teacher", 1, 2, 1, 0},
    {"student", "replay", "student", 0.1, 0.2, 1, 0},
    {"memory", "memory", "student", 0, 0, 1, 0},
};

static void s_cluster_up(void)
{
    lyc_kit_start(&s_kit, s_data, s_models, sizeof s_models / sizeof s_models[0],
                  "  min_evidence: 3\n  quality_target: 0.3\n  learning_sample: 0\n"
                  "  explore_rate: 0\n  explore_floor: 0\n");
}

static void s_cluster_down(void)
{
    lyc_kit_stop(&s_kit);
}

/* Asks a question in domain geo for user ann. */
static int s_chat(const char *question, cJSON **reply)
{
    return lyc_kit_chat(&s_kit, question, "geo", reply);
}

START_TEST(test_novel_then_duplicate_is_familiar)
{
    cJSON *r = NULL;
    ck_assert_int_eq(s_chat("What is the capital of France?", &r), 200);
    cJSON *ly = cJSON_GetObjectItem(r, "lyceum");
    ck_assert_str_eq(lyc_kit_str(ly, "path", NULL), "novel");
    ck_assert_str_eq(lyc_kit_str(ly, "domain", NULL), "geo");
    cJSON *by = cJSON_GetObjectItem(ly, "answered_by");
    ck_assert(lyc_kit_has(by, "supervisor") && lyc_kit_has(by, "teacher") &&
              lyc_kit_has(by, "student"));
    /* The teacher is right and cheaper than the supervisor: it wins. */
    ck_assert_str_eq(lyc_kit_str(ly, "chosen", NULL), "teacher");
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "choices"), 0);
    ck_assert_str_eq(lyc_kit_str(choice, "message", "content"), "Paris");
    cJSON *scores = cJSON_GetObjectItem(ly, "scores");
    ck_assert_double_eq(cJSON_GetObjectItem(scores, "teacher")->valuedouble, 1.0);
    ck_assert_double_eq(cJSON_GetObjectItem(scores, "student")->valuedouble, 0.0);
    /* usage is the chosen answer's; cost is every answer's. */
    cJSON *usage = cJSON_GetObjectItem(r, "usage");
    ck_assert_int_eq(cJSON_GetObjectItem(usage, "prompt_tokens")->valueint, 100);
    ck_assert_int_eq(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, 20);
    double expected = (100 * 10 + 10 * 30 + 100 * 1 + 20 * 2 + 100 * 0.1 + 5 * 0.2) / 1e6;
    ck_assert_double_eq_tol(cJSON_GetObjectItem(ly, "cost_usd")->valuedouble, expected, 1e-9);
    cJSON_Delete(r);

    /* The same question again, differently spaced and cased: familiar, the recorded winner. */
    ck_assert_int_eq(s_chat("what is the  capital of France?", &r), 200);
    ly = cJSON_GetObjectItem(r, "lyceum");
    ck_assert_str_eq(lyc_kit_str(ly, "path", NULL), "familiar");
    ck_assert_str_eq(lyc_kit_str(ly, "chosen", NULL), "teacher");
    by = cJSON_GetObjectItem(ly, "answered_by");
    ck_assert(!lyc_kit_has(by, "supervisor"));
    cJSON_Delete(r);
}
END_TEST

START_TEST(test_domain_becomes_familiar_with_history)
{
    const char *questions[] = {"What is the capital of Spain?", "What is the capital of Italy?"};
    cJSON *r = NULL;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s_chat(questions[i], &r), 200);
        cJSON_Delete(r);
    }
    /* Three scored answers per model in geo now: the cheapest sure model takes a new question. */
    ck_assert_int_eq(s_chat("What is the capital of Peru?", &r), 200);
    cJSON *ly = cJSON_GetObjectItem(r, "lyceum");
    ck_assert_str_eq(lyc_kit_str(ly, "path", NULL), "familiar");
    ck_assert_str_eq(lyc_kit_str(ly, "chosen", NULL), "teacher");
    ck_assert(!lyc_kit_has(cJSON_GetObjectItem(ly, "answered_by"), "supervisor"));
    cJSON_Delete(r);
}
END_TEST

START_TEST(test_streaming_and_models)
{
    char body[512], url[160], *text = NULL;
    snprintf(body, sizeof body,
             "{\"model\":\"lyceum\",\"stream\":true,\"messages\":[{\"role\":\"user\","
             "\"content\":\"What is 17 times 3?\"}],\"metadata\":{\"domain\":\"math\"}}");
    snprintf(url, sizeof url, "%s/v1/chat/completions", s_kit.url);
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", body, strlen(body), &text),
                     200);
    ck_assert_ptr_nonnull(strstr(text, "data: "));
    ck_assert_ptr_nonnull(strstr(text, "chat.completion.chunk"));
    ck_assert_ptr_nonnull(strstr(text, "\"51\""));
    ck_assert_ptr_nonnull(strstr(text, "data: [DONE]"));
    free(text);
    snprintf(url, sizeof url, "%s/v1/models", s_kit.url);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &text), 200);
    ck_assert_ptr_nonnull(strstr(text, "\"lyceum\""));
    ck_assert_ptr_nonnull(strstr(text, "\"supervisor\""));
    free(text);
}
END_TEST

START_TEST(test_bad_input_gets_openai_errors)
{
    char url[160], *text = NULL;
    snprintf(url, sizeof url, "%s/v1/chat/completions", s_kit.url);
    static const struct {
        const char *type, *body;
        int status;
    } cases[] = {
        {"application/json", "{nope", 400},
        {"application/json", "{\"model\":\"lyceum\"}", 400},
        {"application/json",
         "{\"model\":\"gpt-17\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404},
        {"text/plain", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 415},
        {"application/json", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", 400},
        {"application/json",
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"metadata\":{\"tenant\":\"a b\"}}",
         400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status =
            lyc_test_http("POST", url, cases[i].type, cases[i].body, strlen(cases[i].body), &text);
        ck_assert_msg(status == cases[i].status, "case %zu: %d", i, status);
        cJSON *r = cJSON_Parse(text);
        ck_assert_msg(
            cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "message")),
            "case %zu: no error object: %s", i, text);
        cJSON_Delete(r);
        free(text);
    }
    /* Oversized: more than max_body_bytes (64 KiB). */
    size_t big = 100000;
    char *body = malloc(big + 1);
    memset(body, 'a', big);
    body[big] = '\0';
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", body, big, &text), 413);
    free(text);
    free(body);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &text), 405);
    free(text);
    snprintf(url, sizeof url, "%s/nowhere", s_kit.url);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &text), 404);
    free(text);
    /* The router is still serving. */
    snprintf(url, sizeof url, "%s/healthz", s_kit.url);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &text), 200);
    free(text);
}
END_TEST

START_TEST(test_feedback_events_reach_kafka)
{
    /* The trainer has just made the student a TA in history: the router sees it
     * within a second (it polls roles:version) and records the new role. */
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    ck_assert_int_eq(lyc_roles_change(redis, s_kit.prefix, "shared", "history", "student", 0,
                                      LYCEUM__V1__ROLE__ROLE_TA),
                     1);
    lyc_redis_destroy(&redis);
    usleep(1000 * 1000);

    /* A question no recording knows, in a domain with no history: novel, so all four
     * models are asked (the replay models simulate, memory abstains). */
    char url[160], *text = NULL;
    const char *body =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Who built the Parthenon?\"}],"
        "\"metadata\":{\"domain\":\"history\"}}";
    snprintf(url, sizeof url, "%s/v1/chat/completions", s_kit.url);
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", body, strlen(body), &text),
                     200);
    cJSON *r = cJSON_Parse(text);
    free(text);
    ck_assert_str_eq(lyc_kit_str(cJSON_GetObjectItem(r, "lyceum"), "path", NULL), "novel");
    char trace[64], winner[64];
    snprintf(trace, sizeof trace, "%s",
             lyc_kit_str(cJSON_GetObjectItem(r, "lyceum"), "trace_id", NULL));
    snprintf(winner, sizeof winner, "%s",
             lyc_kit_str(cJSON_GetObjectItem(r, "lyceum"), "chosen", NULL));
    cJSON_Delete(r);

    /* The user likes the answer: a human feedback event for the winner. */
    char fb[256];
    snprintf(url, sizeof url, "%s/v1/lyceum/feedback", s_kit.url);
    snprintf(fb, sizeof fb, "{\"trace_id\":\"%s\",\"rating\":\"up\"}", trace);
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", fb, strlen(fb), NULL), 200);
    snprintf(fb, sizeof fb, "{\"trace_id\":\"%032d\",\"score\":0.5}", 7);
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", fb, strlen(fb), NULL), 404);
    snprintf(fb, sizeof fb, "{\"trace_id\":\"%s\",\"score\":7}", trace);
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", fb, strlen(fb), NULL), 400);

    char group[64];
    lyc_test_unique(group, sizeof group, "e2e-reader");
    const char *topics[] = {"lyceum.feedback"};
    lyc_consumer_config_t cc = {
        .brokers = lyc_test_kafka_brokers(), .group_id = group, .topics = topics, .topic_count = 1};
    lyc_consumer_t *consumer = lyc_consumer_new(&cc);
    ck_assert_ptr_nonnull(consumer);
    int found = 0, winners = 0, human = 0;
    time_t give_up = time(NULL) + 60;
    while ((found < 4 || human < 1) && time(NULL) < give_up) {
        lyc_record_t rec;
        if (lyc_consumer_poll(consumer, 100, &rec) != 1)
            continue;
        lyc_envelope_t env;
        char err[256];
        if (lyc_envelope_decode(rec.payload, rec.len, &env, err, sizeof err) != 0)
            continue;
        Lyceum__V1__FeedbackEvent *ev = (Lyceum__V1__FeedbackEvent *) env.payload;
        if (env.type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT &&
            strcmp(ev->trace_id, trace) == 0 &&
            ev->source == LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN) {
            human++;
            ck_assert_str_eq(ev->model, winner);
            ck_assert_double_eq(ev->score, 1.0);
        } else if (env.type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT &&
                   strcmp(ev->trace_id, trace) == 0) {
            found++;
            winners += ev->winner;
            ck_assert_str_eq(ev->domain, "history");
            ck_assert_str_eq(ev->tenant, "default");
            ck_assert_str_eq(ev->winner_model, winner);
            if (strcmp(ev->model, "student") == 0)
                ck_assert_int_eq(ev->role, LYCEUM__V1__ROLE__ROLE_TA);
            if (strcmp(ev->model, "teacher") == 0)
                ck_assert_int_eq(ev->role, LYCEUM__V1__ROLE__ROLE_TEACHER);
        }
        lyc_envelope_clear(&env);
    }
    lyc_consumer_destroy(&consumer);
    ck_assert_int_eq(found, 4); /* supervisor, teacher, student and memory */
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(human, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_add_test(tc, test_novel_then_duplicate_is_familiar);
    tcase_add_test(tc, test_domain_becomes_familiar_with_history);
    tcase_add_test(tc, test_streaming_and_models);
    tcase_add_test(tc, test_bad_input_gets_openai_errors);
    tcase_add_test(tc, test_feedback_events_reach_kafka);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
