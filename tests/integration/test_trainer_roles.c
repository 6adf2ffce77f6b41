/*
 * test_trainer_roles.c - promotion and demotion from constructed feedback
 * streams, through the real Kafka and Redis, with the trainer running
 * in-process: a student with consistently high scores becomes TA and then
 * teacher at the configured counts and not before; a few perfect scores
 * promote nobody; a mean hovering around a threshold does not flap; falling
 * quality demotes, one step at a time; every change is a RoleChange event.
 */
#include "test_trainer_kit.h"

#include "roles.h"

#define WAIT_MS 30000

static const char *const s_models = "models:\n"
                                    "  - {name: sup, backend: memory, role: supervisor}\n"
                                    "  - {name: stu, backend: openai, role: student}\n";

static void s_init(kit_t *k, const char *extra)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "trainer:\n  http_listen: \"\"\n  commit_interval_ms: 200\n  trace_quiet_ms: 100\n"
             "  role_interval_ms: 100\n  new_domains: false\n  data_dir: \"/tmp/%s-data\"\n%s%s",
             "lyc-test-roles", extra, s_models);
    kit_init(k, "lyc-test-roles", yaml);
}

/* n queries of domain: the supervisor scores 1, the student `score`. */
static void s_queries(kit_t *k, const char *domain, int n, double score)
{
    for (int i = 0; i < n; i++) {
        char trace[LYC_ID_LEN];
        lyc_id_new(trace);
        kit_event_t sup = {.trace = trace,
                           .domain = domain,
                           .model = "sup",
                           .score = 1.0,
                           .supervisor = 1,
                           .winner = 1};
        kit_event_t stu = {.trace = trace, .domain = domain, .model = "stu", .score = score};
        kit_send(k, &sup);
        kit_send(k, &stu);
    }
    kit_flush(k);
}

/* The student's stored role in domain ("" when it has none). */
static const char *s_role(kit_t *k, const char *domain, char *buf, size_t cap)
{
    char key[256];
    snprintf(key, sizeof key, "%s:roles:{shared}:%s", k->prefix, domain);
    return kit_hget_str(k, key, "stu", buf, cap);
}

static int s_wait_role(kit_t *k, const char *domain, const char *role)
{
    char buf[32];
    int64_t deadline = lyc_mono_us() + WAIT_MS * 1000LL;
    while (lyc_mono_us() < deadline) {
        if (strcmp(s_role(k, domain, buf, sizeof buf), role) == 0)
            return 0;
        kit_sleep_ms(20);
    }
    return -1;
}

/* Waits until the student has n answers in domain, then for two role passes. */
static void s_settle(kit_t *k, const char *domain, double n)
{
    char key[256];
    kit_stats_key(k, "shared", domain, key, sizeof key);
    ck_assert_msg(kit_wait_at_least(k, key, "stu|n", n, WAIT_MS) == 0, "never reached n=%.0f", n);
    kit_sleep_ms(400);
}

static long long s_version(kit_t *k)
{
    long long v = 0;
    ck_assert_int_eq(lyc_roles_version(k->redis, k->prefix, &v), 0);
    return v;
}

/* Reads RoleChange events of the roles topic until `want` arrived. */
static int s_role_changes(kit_t *k, Lyceum__V1__RoleChange **out, int want)
{
    char group[128];
    snprintf(group, sizeof group, "%s.reader", k->prefix);
    const char *topics[] = {k->roles_topic};
    lyc_consumer_config_t cc = {
        .brokers = lyc_test_kafka_brokers(), .group_id = group, .topics = topics, .topic_count = 1};
    lyc_consumer_t *c = lyc_consumer_new(&cc);
    ck_assert_ptr_nonnull(c);
    int n = 0;
    int64_t deadline = lyc_mono_us() + WAIT_MS * 1000LL;
    while (n < want && lyc_mono_us() < deadline) {
        lyc_record_t rec;
        if (lyc_consumer_poll(c, 200, &rec) != 1)
            continue;
        lyc_envelope_t env;
        char err[256];
        ck_assert_int_eq(lyc_envelope_decode(rec.payload, rec.len, &env, err, sizeof err), 0);
        ck_assert_int_eq(env.type, LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE);
        out[n++] = (Lyceum__V1__RoleChange *) env.payload; /* the caller frees */
    }
    lyc_consumer_destroy(&c);
    return n;
}

START_TEST(test_promotion_at_the_configured_counts)
{
    kit_t k;
    char buf[32];
    s_init(&k, "");
    kit_start(&k);
    s_queries(&k, "geo", 19, 1.0);
    s_settle(&k, "geo", 19);
    ck_assert_str_eq(s_role(&k, "geo", buf, sizeof buf), ""); /* 19 < 20: still a student */
    s_queries(&k, "geo", 1, 1.0);
    ck_assert_int_eq(s_wait_role(&k, "geo", "ta"), 0);
    s_queries(&k, "geo", 29, 1.0);
    s_settle(&k, "geo", 49);
    ck_assert_str_eq(s_role(&k, "geo", buf, sizeof buf), "ta"); /* 49 < 50 */
    s_queries(&k, "geo", 1, 1.0);
    ck_assert_int_eq(s_wait_role(&k, "geo", "teacher"), 0);
    /* The configured supervisor never moves. */
    char key[256];
    snprintf(key, sizeof key, "%s:roles:{shared}:geo", k.prefix);
    ck_assert_str_eq(kit_hget_str(&k, key, "sup", buf, sizeof buf), "");
    ck_assert_int_eq(s_version(&k), 2);
    Lyceum__V1__RoleChange *changes[4];
    ck_assert_int_eq(s_role_changes(&k, changes, 2), 2);
    ck_assert_str_eq(changes[0]->model, "stu");
    ck_assert_str_eq(changes[0]->domain, "geo");
    ck_assert_int_eq(changes[0]->from_role, LYCEUM__V1__ROLE__ROLE_STUDENT);
    ck_assert_int_eq(changes[0]->to_role, LYCEUM__V1__ROLE__ROLE_TA);
    ck_assert_uint_eq(changes[0]->evidence_count, 20);
    ck_assert_ptr_nonnull(strstr(changes[0]->reason, "lower bound"));
    ck_assert(changes[0]->lower_bound >= 0.6);
    ck_assert_int_eq(changes[1]->to_role, LYCEUM__V1__ROLE__ROLE_TEACHER);
    ck_assert_uint_eq(changes[1]->evidence_count, 50);
    for (int i = 0; i < 2; i++)
        lyc_pb_free(changes[i]);
    /* The paired statistics: the supervisor agreed on every query. */
    kit_stats_key(&k, "shared", "geo", key, sizeof key);
    ck_assert_double_eq_tol(kit_hget(&k, key, "stu|pair_n"), 50, 1e-9);
    ck_assert_double_eq_tol(kit_hget(&k, key, "stu|agree"), 50, 1e-9);
    ck_assert_double_eq_tol(kit_hget(&k, key, "stu|gap_sum"), 0, 1e-9);
    kit_fini(&k);
}
END_TEST

START_TEST(test_no_promotion_on_a_few_perfect_scores)
{
    kit_t k;
    char buf[32];
    /* No count floor at all: only the confidence bound holds it back. */
    s_init(&k, "  roles: {ta: {min_count: 1}}\n");
    kit_start(&k);
    s_queries(&k, "tiny", 3, 1.0);
    s_settle(&k, "tiny", 3);
    ck_assert_str_eq(s_role(&k, "tiny", buf, sizeof buf), "");
    ck_assert_int_eq(s_version(&k), 0);
    s_queries(&k, "tiny", 3, 1.0); /* six: the lower bound passes 0.6 */
    ck_assert_int_eq(s_wait_role(&k, "tiny", "ta"), 0);
    kit_fini(&k);
}
END_TEST

START_TEST(test_no_flapping_around_a_threshold)
{
    kit_t k;
    char buf[32];
    s_init(&k, "");
    kit_start(&k);
    /* Blocks of good and poor answers: the running mean swings around 0.65,
     * the lower bound around the TA threshold 0.6. */
    double n = 0;
    for (int block = 0; block < 8; block++) {
        s_queries(&k, "hover", 20, block % 2 ? 0.4 : 0.9);
        n += 20;
        s_settle(&k, "hover", n);
    }
    ck_assert_str_eq(s_role(&k, "hover", buf, sizeof buf), "ta");
    ck_assert_int_eq(s_version(&k), 1); /* one promotion, never back and forth */
    kit_fini(&k);
}
END_TEST

START_TEST(test_demotion_when_quality_falls)
{
    kit_t k;
    s_init(&k, "");
    kit_start(&k);
    s_queries(&k, "fall", 50, 1.0);
    ck_assert_int_eq(s_wait_role(&k, "fall", "teacher"), 0);
    s_queries(&k, "fall", 100, 0.0);
    ck_assert_int_eq(s_wait_role(&k, "fall", "student"), 0);
    Lyceum__V1__RoleChange *changes[4];
    ck_assert_int_eq(s_role_changes(&k, changes, 4), 4);
    ck_assert_int_eq(changes[2]->from_role, LYCEUM__V1__ROLE__ROLE_TEACHER);
    ck_assert_int_eq(changes[2]->to_role, LYCEUM__V1__ROLE__ROLE_TA);
    ck_assert_ptr_nonnull(strstr(changes[2]->reason, "upper bound"));
    ck_assert(changes[2]->upper_bound < 0.70);
    ck_assert_int_eq(changes[3]->to_role, LYCEUM__V1__ROLE__ROLE_STUDENT);
    for (int i = 0; i < 4; i++)
        lyc_pb_free(changes[i]);
    kit_fini(&k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_roles");
    TCase *tc = tcase_create("roles");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_promotion_at_the_configured_counts);
    tcase_add_test(tc, test_no_promotion_on_a_few_perfect_scores);
    tcase_add_test(tc, test_no_flapping_around_a_threshold);
    tcase_add_test(tc, test_demotion_when_quality_falls);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
