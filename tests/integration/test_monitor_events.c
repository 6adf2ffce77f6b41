/*
 * test_monitor_events.c - `lyceum events` round-trips the event log: events
 * with known content are written to topics of their own, read back as JSON
 * lines with the filters (--type, --model, --domain, --from, --offset,
 * --max), decoded and compared field by field with what was written.
 */
#include "testkit.h"

#include "clock.h"
#include "envelope.h"
#include "eventlog.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_FEEDBACK 12

static char s_fb_topic[96], s_roles_topic[96], s_dir[128], s_cluster[256];
static int64_t s_second_batch_ms;

/* What event i of the feedback batch holds. */
static const char *s_model(int i)
{
    static const char *const models[] = {"supervisor", "teacher", "student"};
    return models[i % 3];
}

static const char *s_domain(int i)
{
    return i % 2 ? "math" : "geo";
}

static uint8_t *s_feedback(int i, size_t *len)
{
    char id[32], trace[32];
    snprintf(id, sizeof id, "ev-%d", i);
    snprintf(trace, sizeof trace, "trace-%d", i / 3);
    Lyceum__V1__FeedbackEvent ev = LYCEUM__V1__FEEDBACK_EVENT__INIT;
    Lyceum__V1__Usage usage = LYCEUM__V1__USAGE__INIT;
    Lyceum__V1__Error error = LYCEUM__V1__ERROR__INIT;
    ev.event_id = id;
    ev.trace_id = ev.query_id = trace;
    ev.tenant = "acme";
    ev.domain = (char *) s_domain(i);
    ev.model = (char *) s_model(i);
    ev.role = i % 3 == 0 ? LYCEUM__V1__ROLE__ROLE_SUPERVISOR : LYCEUM__V1__ROLE__ROLE_STUDENT;
    ev.path = LYCEUM__V1__PATH__PATH_NOVEL;
    ev.score = i / 16.0;
    ev.cost_usd = 0.000125 * i;
    ev.latency_ms = (uint32_t) (100 + i);
    usage.prompt_tokens = (uint32_t) (10 * i);
    usage.completion_tokens = (uint32_t) i;
    ev.usage = &usage;
    if (i == 5) {
        error.code = LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT;
        error.message = "too slow";
        ev.error = &error;
    }
    ev.supervisor = i % 3 == 0;
    ev.at_us = 1700000000000000LL + i;
    return lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, trace, &ev.base, len);
}

static uint8_t *s_role(size_t *len)
{
    Lyceum__V1__RoleChange rc = LYCEUM__V1__ROLE_CHANGE__INIT;
    rc.model = "student";
    rc.domain = "math";
    rc.from_role = LYCEUM__V1__ROLE__ROLE_TA;
    rc.to_role = LYCEUM__V1__ROLE__ROLE_TEACHER;
    rc.reason = "lower bound 0.8 crossed 0.75";
    rc.evidence_count = 123;
    rc.mean_score = 0.875;
    rc.at_us = 1700000000000123LL;
    return lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, NULL, &rc.base, len);
}

static void s_send(lyc_producer_t *p, const char *topic, const char *key, uint8_t *data, size_t len)
{
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(lyc_producer_send(p, topic, key, strlen(key), data, len), 0);
    free(data);
}

/* Writes feedback events [from, to) and, with the first batch, the role change. */
static void s_write(int from, int to, int role)
{
    char spool[192];
    snprintf(spool, sizeof spool, "%s/spool-%d", s_dir, from);
    lyc_producer_config_t cfg = {
        .brokers = lyc_test_kafka_brokers(), .spool_dir = spool, .spool_nosync = true};
    lyc_producer_t *p = lyc_producer_new(&cfg);
    ck_assert_ptr_nonnull(p);
    for (int i = from; i < to; i++) {
        size_t len = 0;
        uint8_t *data = s_feedback(i, &len);
        s_send(p, s_fb_topic, s_domain(i), data, len);
    }
    if (role) {
        size_t len = 0;
        uint8_t *data = s_role(&len);
        s_send(p, s_roles_topic, "student", data, len);
    }
    ck_assert_uint_eq(lyc_producer_flush(p, 30000), 0);
    lyc_producer_destroy(&p);
}

static void s_setup(void)
{
    const char *names[] = {s_fb_topic, s_roles_topic};
    const int partitions[] = {2, 1};
    char err[256] = "", text[1024];
    lyc_test_unique(s_fb_topic, sizeof s_fb_topic, "ev-fb");
    lyc_test_unique(s_roles_topic, sizeof s_roles_topic, "ev-roles");
    ck_assert_msg(lyc_eventlog_create_topics(lyc_test_kafka_brokers(), names, partitions, 2, 15000,
                                             err, sizeof err) == 0,
                  "topics: %s", err);
    snprintf(s_dir, sizeof s_dir, "/tmp/lyc-events-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_cluster, sizeof s_cluster, "%s/cluster.yaml", s_dir);
    snprintf(text, sizeof text,
             "kafka:\n  brokers: \"%s\"\n  topics: {feedback: %s, roles: %s, registry: %s-none, "
             "training: %s-none}\n",
             lyc_test_kafka_brokers(), s_fb_topic, s_roles_topic, s_fb_topic, s_fb_topic);
    ck_assert_int_eq(lyc_test_write_file(s_cluster, text), 0);
    s_write(0, N_FEEDBACK / 2, 1);
    usleep(1500000); /* the second batch is written a clear second later */
    s_second_batch_ms = lyc_wall_us() / 1000;
    s_write(N_FEEDBACK / 2, N_FEEDBACK, 0);
}

/* Runs `lyceum events -c <cluster> <args>` and parses its lines. */
static cJSON *s_events(const char *args)
{
    char bin[512], cmd[2048];
    lyc_test_binary(bin, sizeof bin, "services/cli/lyceum");
    snprintf(cmd, sizeof cmd, "%s events -c %s --timeout 20 %s 2>%s/events.err", bin, s_cluster,
             args, s_dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    cJSON *lines = cJSON_CreateArray();
    char line[8192];
    while (fgets(line, sizeof line, p)) {
        cJSON *obj = cJSON_Parse(line);
        ck_assert_msg(obj != NULL, "not a JSON line: %s", line);
        cJSON_AddItemToArray(lines, obj);
    }
    ck_assert_int_eq(pclose(p), 0);
    return lines;
}

static const cJSON *s_get(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(item != NULL, "no '%s'", key);
    return item;
}

/* The decoded event of a line against event i as written. */
static void s_check_feedback(const cJSON *line)
{
    ck_assert_str_eq(s_get(line, "type")->valuestring, "FEEDBACK_EVENT");
    ck_assert_str_eq(s_get(line, "topic")->valuestring, s_fb_topic);
    const cJSON *ev = s_get(line, "event");
    int i = atoi(s_get(ev, "event_id")->valuestring + 3);
    char trace[32];
    snprintf(trace, sizeof trace, "trace-%d", i / 3);
    ck_assert_str_eq(s_get(line, "key")->valuestring, s_domain(i));
    ck_assert_str_eq(s_get(line, "trace_id")->valuestring, trace);
    ck_assert_str_eq(s_get(ev, "trace_id")->valuestring, trace);
    ck_assert_str_eq(s_get(ev, "tenant")->valuestring, "acme");
    ck_assert_str_eq(s_get(ev, "model")->valuestring, s_model(i));
    ck_assert_str_eq(s_get(ev, "domain")->valuestring, s_domain(i));
    ck_assert_str_eq(s_get(ev, "path")->valuestring, "PATH_NOVEL");
    ck_assert_str_eq(s_get(ev, "role")->valuestring,
                     i % 3 == 0 ? "ROLE_SUPERVISOR" : "ROLE_STUDENT");
    ck_assert(s_get(ev, "score")->valuedouble == i / 16.0);
    ck_assert(s_get(ev, "cost_usd")->valuedouble == 0.000125 * i);
    ck_assert_int_eq(s_get(ev, "latency_ms")->valueint, 100 + i);
    ck_assert_int_eq(s_get(s_get(ev, "usage"), "prompt_tokens")->valueint, 10 * i);
    ck_assert_int_eq(s_get(s_get(ev, "usage"), "completion_tokens")->valueint, i);
    ck_assert(cJSON_IsBool(s_get(ev, "supervisor")));
    ck_assert_int_eq(cJSON_IsTrue(s_get(ev, "supervisor")), i % 3 == 0);
    ck_assert(s_get(ev, "at_us")->valuedouble == (double) (1700000000000000LL + i));
    if (i == 5) {
        ck_assert_str_eq(s_get(s_get(ev, "error"), "code")->valuestring, "ERROR_TIMEOUT");
        ck_assert_str_eq(s_get(s_get(ev, "error"), "message")->valuestring, "too slow");
    } else {
        ck_assert(cJSON_IsNull(s_get(ev, "error")));
    }
}

START_TEST(test_round_trip_every_field)
{
    cJSON *lines = s_events("--type feedback --json");
    ck_assert_int_eq(cJSON_GetArraySize(lines), N_FEEDBACK);
    int seen[N_FEEDBACK] = {0};
    const cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        s_check_feedback(line);
        seen[atoi(s_get(s_get(line, "event"), "event_id")->valuestring + 3)]++;
    }
    for (int i = 0; i < N_FEEDBACK; i++)
        ck_assert_int_eq(seen[i], 1);
    cJSON_Delete(lines);
}
END_TEST

START_TEST(test_role_change)
{
    cJSON *lines = s_events("--type role");
    ck_assert_int_eq(cJSON_GetArraySize(lines), 1);
    const cJSON *ev = s_get(cJSON_GetArrayItem(lines, 0), "event");
    ck_assert_str_eq(s_get(ev, "from_role")->valuestring, "ROLE_TA");
    ck_assert_str_eq(s_get(ev, "to_role")->valuestring, "ROLE_TEACHER");
    ck_assert_str_eq(s_get(ev, "reason")->valuestring, "lower bound 0.8 crossed 0.75");
    ck_assert_int_eq(s_get(ev, "evidence_count")->valueint, 123);
    ck_assert(s_get(ev, "mean_score")->valuedouble == 0.875);
    cJSON_Delete(lines);
}
END_TEST

START_TEST(test_filters)
{
    cJSON *lines = s_events("--model teacher --domain math");
    const cJSON *line;
    int n = 0;
    cJSON_ArrayForEach(line, lines)
    {
        s_check_feedback(line);
        const cJSON *ev = s_get(line, "event");
        ck_assert_str_eq(s_get(ev, "model")->valuestring, "teacher");
        ck_assert_str_eq(s_get(ev, "domain")->valuestring, "math");
        n++;
    }
    ck_assert_int_eq(n, 2); /* i = 1 and 7 */
    cJSON_Delete(lines);
    lines = s_events("--type feedback --max 3");
    ck_assert_int_eq(cJSON_GetArraySize(lines), 3);
    cJSON_Delete(lines);
    lines = s_events("--type feedback --offset -1"); /* the last record of each partition */
    ck_assert_int_eq(cJSON_GetArraySize(lines), 2);
    cJSON_Delete(lines);
}
END_TEST

START_TEST(test_from_time)
{
    char args[64];
    snprintf(args, sizeof args, "--type feedback --from %lld", (long long) s_second_batch_ms);
    cJSON *lines = s_events(args);
    ck_assert_int_eq(cJSON_GetArraySize(lines), N_FEEDBACK / 2);
    const cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        ck_assert_int_ge(atoi(s_get(s_get(line, "event"), "event_id")->valuestring + 3),
                         N_FEEDBACK / 2);
        ck_assert(s_get(line, "timestamp_ms")->valuedouble >= (double) s_second_batch_ms);
    }
    cJSON_Delete(lines);
    lines = s_events("--type feedback --from -1h");
    ck_assert_int_eq(cJSON_GetArraySize(lines), N_FEEDBACK);
    cJSON_Delete(lines);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitor_events");
    TCase *tc = tcase_create("events");
    tcase_set_timeout(tc, 90);
    tcase_add_unchecked_fixture(tc, s_setup, NULL);
    tcase_add_test(tc, test_round_trip_every_field);
    tcase_add_test(tc, test_role_change);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_from_time);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
