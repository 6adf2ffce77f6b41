/*
 * test_trainer_restart.c - a trainer replica killed with SIGKILL mid-stream
 * and restarted resumes from its committed offsets without counting
 * anything twice: the statistics in Redis equal those of an uninterrupted
 * run over the same events (duplicates produced on purpose, users' scores,
 * failed calls and a malformed record included).
 *
 * The interrupted run is the real lyceum-trainer binary (its own Redis
 * prefix and consumer group, set through LYCEUM_TRAINER_* variables); the
 * uninterrupted one runs in-process on the same topic.
 */
#include "test_trainer_kit.h"

#include <math.h>
#include <signal.h>

#define DOMAINS 3
#define QUERIES 60 /* per domain and half */
#define WAIT_MS 40000

static unsigned s_seed = 12345;

static double s_rand_score(void)
{
    s_seed = s_seed * 1103515245u + 12345u;
    return (double) ((s_seed >> 16) % 11) / 10.0;
}

/* One half of the stream: QUERIES queries per domain, three answers each,
 * every 7th with a user's score, every 10th with a failed student call. */
static void s_half(kit_t *k, int half, double *sup_n)
{
    for (int q = 0; q < QUERIES; q++) {
        for (int d = 0; d < DOMAINS; d++) {
            char trace[LYC_ID_LEN], domain[8];
            lyc_id_new(trace);
            snprintf(domain, sizeof domain, "d%d", d);
            kit_event_t sup = {.trace = trace,
                               .domain = domain,
                               .model = "sup",
                               .score = s_rand_score(),
                               .supervisor = 1,
                               .winner = 1};
            kit_event_t stu = {.trace = trace,
                               .domain = domain,
                               .model = "stu",
                               .score = s_rand_score(),
                               .failed = q % 10 == 3};
            kit_event_t ta = {
                .trace = trace, .domain = domain, .model = "ta", .score = s_rand_score()};
            kit_send(k, &stu); /* before the supervisor's: pairing must not care */
            kit_send(k, &sup);
            kit_send(k, &ta);
            sup_n[d] += 1;
            if (q % 7 == 0) {
                kit_event_t human = {.trace = trace,
                                     .domain = domain,
                                     .model = "stu",
                                     .score = s_rand_score(),
                                     .human = 1};
                kit_send(k, &human);
            }
        }
    }
    /* The same event twice (a producer's resend), and garbage. */
    char again[LYC_ID_LEN], trace[LYC_ID_LEN];
    lyc_id_new(again);
    lyc_id_new(trace);
    kit_event_t dup = {
        .trace = trace, .domain = "d0", .model = "ta", .score = 0.5, .event_id = again};
    kit_send(k, &dup);
    kit_send(k, &dup);
    kit_send_raw(k, "d1", "not an envelope", 15);
    (void) half;
    kit_flush(k);
}

static int s_wait_all(kit_t *k, const char *prefix, const double *sup_n)
{
    for (int d = 0; d < DOMAINS; d++) {
        char key[256];
        snprintf(key, sizeof key, "%s:stats:{shared}:d%d", prefix, d);
        if (kit_wait_at_least(k, key, "sup|n", sup_n[d], WAIT_MS) != 0)
            return -1;
    }
    kit_sleep_ms(800); /* the last queries' other answers */
    return 0;
}

static int s_spawn(kit_t *k, const char *prefix, const char *group, const char *listen)
{
    char bin[512], log[256];
    setenv("LYCEUM_TRAINER_REDIS_PREFIX", prefix, 1);
    setenv("LYCEUM_TRAINER_GROUP", group, 1);
    setenv("LYCEUM_TRAINER_HTTP_LISTEN", listen, 1);
    setenv("LYCEUM_TRAINER_INSTANCE_ID", "replica-0", 1); /* the restart takes over at once */
    snprintf(bin, sizeof bin, "%s", LYC_TRAINER_BINARY);
    snprintf(log, sizeof log, "%s/trainer.log", k->dir);
    char *const argv[] = {bin, "-c", k->cluster, NULL};
    int pid = lyc_test_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    return pid;
}

/* The two hashes hold the same fields with the same values. */
static void s_compare(kit_t *k, const char *a, const char *b)
{
    const char *argv[] = {"HGETALL", a};
    redisReply *r = lyc_redis_command(k->redis, 2, argv, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_gt(r->elements, 10);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *field = r->element[i]->str;
        double want = strtod(r->element[i + 1]->str, NULL), got = kit_hget(k, b, field);
        ck_assert_msg(fabs(want - got) < 1e-9, "%s %s: %.12g uninterrupted, %.12g restarted", b,
                      field, want, got);
    }
    const char *len_a[] = {"HLEN", a}, *len_b[] = {"HLEN", b};
    redisReply *ra = lyc_redis_command(k->redis, 2, len_a, NULL);
    redisReply *rb = lyc_redis_command(k->redis, 2, len_b, NULL);
    ck_assert_int_eq(ra->integer, rb->integer);
    freeReplyObject(ra);
    freeReplyObject(rb);
    freeReplyObject(r);
}

/* The duplicates the restarted trainer skipped, from its /metrics. */
static double s_duplicates(const char *listen)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof url, "http://%s/metrics", listen);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &body), 200);
    const char *needle = "lyceum_trainer_events_total{result=\"duplicate\"} ";
    const char *at = strstr(body, needle);
    double n = at ? strtod(at + strlen(needle), NULL) : 0;
    free(body);
    return n;
}

START_TEST(test_killed_and_restarted_counts_once)
{
    kit_t k;
    kit_init(&k, "lyc-test-restart",
             "trainer:\n  commit_interval_ms: 4000\n  trace_quiet_ms: 100\n"
             "  session_timeout_ms: 6000\n  http_listen: \"\"\n"
             "  new_domains: false\n  data_dir: \"/tmp/lyc-test-restart-data\"\n"
             "models:\n  - {name: sup, backend: memory, role: supervisor}\n"
             "  - {name: stu, backend: openai}\n  - {name: ta, backend: openai}\n");
    char prefix2[80], group2[96], listen[32];
    snprintf(prefix2, sizeof prefix2, "%s-b", k.prefix);
    snprintf(group2, sizeof group2, "%s.b", k.group);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", 20000 + (int) (getpid() % 20000));
    double sup_n[DOMAINS] = {0};

    s_half(&k, 0, sup_n);
    int pid = s_spawn(&k, prefix2, group2, listen);
    ck_assert_msg(s_wait_all(&k, prefix2, sup_n) == 0, "the first half was not applied");
    kit_sleep_ms(4500); /* a commit of the first half */
    double done[DOMAINS];
    memcpy(done, sup_n, sizeof done);
    s_half(&k, 1, sup_n);
    char key[256];
    snprintf(key, sizeof key, "%s:stats:{shared}:d0", prefix2);
    ck_assert_int_eq(kit_wait_at_least(&k, key, "sup|n", done[0] + QUERIES / 3, WAIT_MS), 0);
    lyc_test_stop(pid, SIGKILL, 5000); /* applied, not yet committed */

    pid = s_spawn(&k, prefix2, group2, listen);
    ck_assert_msg(s_wait_all(&k, prefix2, sup_n) == 0, "the restarted trainer fell short");
    double duplicates = s_duplicates(listen);
    ck_assert_int_eq(lyc_test_stop(pid, SIGTERM, 15000), 0);
    ck_assert_msg(duplicates > 0, "the restart replayed nothing: the test missed its point");

    kit_start(&k); /* the uninterrupted run, under the kit's prefix */
    ck_assert(s_wait_all(&k, k.prefix, sup_n) == 0);
    kit_stop(&k);
    for (int d = 0; d < DOMAINS; d++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "%s:stats:{shared}:d%d", k.prefix, d);
        snprintf(b, sizeof b, "%s:stats:{shared}:d%d", prefix2, d);
        s_compare(&k, a, b);
    }
    snprintf(key, sizeof key, "%s:stats:{shared}:d0", k.prefix);
    ck_assert(kit_hget(&k, key, "stu|errors") > 0);
    ck_assert(kit_hget(&k, key, "stu|human_n") > 0);
    ck_assert(kit_hget(&k, key, "ta|pair_n") > 0);
    /* Clean both prefixes. */
    kit_drop_keys(&k);
    snprintf(k.prefix, sizeof k.prefix, "%s", prefix2);
    kit_fini(&k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_restart");
    TCase *tc = tcase_create("restart");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_killed_and_restarted_counts_once);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
