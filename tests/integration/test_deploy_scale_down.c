/*
 * test_deploy_scale_down.c - workers come and go under load, as pods do when
 * Kubernetes scales a model's Deployment, and no query is lost.
 *
 * A real cluster (cluster_kit.h) with three replicas of a replay model that
 * takes 150 ms per answer, so calls are always in flight. Client threads send
 * a steady stream of distinct queries while the test stops a replica with
 * SIGTERM (as the kubelet does) and starts a new one with the same command
 * line, several times over. Every query must be answered (200) by that model
 * too (a draining worker finishes its calls and hands back what waits; the
 * broker re-sends it), every stopped worker must exit 0 (a clean drain), and
 * every answer must have left its feedback event in Kafka.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "envelope.h"
#include "eventlog.h"

#include <cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_CLIENTS      4
#define S_MAX_QUERIES  900 /* bound of the whole run, all clients together */
#define S_CYCLES       6   /* SIGTERM + start of a replica */
#define S_MAX_ANSWERED 4
#define S_POOL         "pool"

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {S_POOL, "replay", "teacher", 1, 2, 3, 150},
};

/* One query's outcome. */
typedef struct {
    int status;
    char trace[64];
    char answered[S_MAX_ANSWERED][32];
    int n_answered;
    int found[S_MAX_ANSWERED]; /* its feedback event was read */
} s_query_t;

static lyc_kit_t s_kit;
static s_query_t s_queries[S_MAX_QUERIES];
static int s_n_queries;
static volatile int s_stop;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

/* A question of six words drawn from the index, so no two are alike. */
static void s_question(char *buf, size_t cap, int i)
{
    static const char *words[] = {
        "amber",  "basalt", "cedar",  "delta",  "ember",  "fjord", "garnet", "harbor", "iris",
        "jasper", "kelp",   "lagoon", "marble", "nectar", "onyx",  "prism",  "quartz", "raven",
        "sierra", "tundra", "umber",  "violet", "willow", "xenon", "yarrow", "zephyr"};
    const size_t n = sizeof words / sizeof words[0];
    unsigned x = (unsigned) i * 2654435761u + 12345u;
    size_t used = (size_t) snprintf(buf, cap, "Scale-down %d:", i);
    for (int w = 0; w < 6 && used < cap; w++) {
        x = x * 1103515245u + 12345u;
        used += (size_t) snprintf(buf + used, cap - used, " %s", words[(x >> 8) % n]);
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "?");
}

static void s_record(s_query_t *q, int status, const cJSON *reply)
{
    const cJSON *ly = cJSON_GetObjectItem(reply, "lyceum");
    const cJSON *item;
    q->status = status;
    snprintf(q->trace, sizeof q->trace, "%s", lyc_kit_str(ly, "trace_id", NULL));
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(ly, "answered_by"))
    {
        if (cJSON_IsString(item) && q->n_answered < S_MAX_ANSWERED)
            snprintf(q->answered[q->n_answered++], sizeof q->answered[0], "%s", item->valuestring);
    }
}

static void *s_client(void *arg)
{
    (void) arg;
    while (!s_stop) {
        pthread_mutex_lock(&s_lock);
        int i = s_n_queries < S_MAX_QUERIES ? s_n_queries++ : -1;
        pthread_mutex_unlock(&s_lock);
        if (i < 0)
            break;
        char question[256];
        cJSON *reply = NULL;
        s_question(question, sizeof question, i);
        int status = lyc_kit_chat(&s_kit, question, "scale", &reply);
        s_record(&s_queries[i], status, reply);
        cJSON_Delete(reply);
    }
    return NULL;
}

/* Replicas of the pool model the router lists, or -1. */
static int s_pool_replicas(void)
{
    char url[160], *text = NULL;
    snprintf(url, sizeof url, "%s/v1/models", s_kit.url);
    if (lyc_test_http("GET", url, NULL, NULL, 0, &text) != 200) {
        free(text);
        return -1;
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    int replicas = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "data"))
    {
        if (strcmp(lyc_kit_str(m, "id", NULL), S_POOL) == 0)
            replicas = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "lyceum"), "replicas")->valueint;
    }
    cJSON_Delete(root);
    return replicas;
}

static int s_wait_replicas(int want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (s_pool_replicas() == want)
            return 0;
        usleep(100000);
    }
    return -1;
}

/* Starts pool#<index> with the kit's command line; returns its pid. */
static int s_start_worker(int index)
{
    char bin[512], config[320], log[320], id[32];
    lyc_test_binary(bin, sizeof bin, "services/worker/lyceum-worker");
    snprintf(config, sizeof config, "%s/cluster.yaml", s_kit.dir);
    snprintf(id, sizeof id, "%s#%d", S_POOL, index);
    snprintf(log, sizeof log, "%s/%s.log", s_kit.dir, id);
    char *argv[] = {bin, "-c", config, "--model", S_POOL, "--id", id, NULL};
    return lyc_test_spawn(argv, log);
}

/* Forgets a kit process the test stopped itself, so lyc_kit_stop skips it. */
static void s_forget(int pid)
{
    for (int i = 0; i < s_kit.npids; i++)
        if (s_kit.pids[i] == pid)
            s_kit.pids[i] = -1;
}

/* Reads the feedback topic until every answer of every query has its event. */
static int s_find_events(int n)
{
    char group[64];
    int missing = 0;
    lyc_test_unique(group, sizeof group, "scale-down");
    const char *topics[] = {"lyceum.feedback"};
    lyc_consumer_config_t cc = {
        .brokers = lyc_test_kafka_brokers(), .group_id = group, .topics = topics, .topic_count = 1};
    lyc_consumer_t *consumer = lyc_consumer_new(&cc);
    ck_assert_ptr_nonnull(consumer);
    for (int i = 0; i < n; i++)
        missing += s_queries[i].n_answered;
    time_t give_up = time(NULL) + 90;
    while (missing > 0 && time(NULL) < give_up) {
        lyc_record_t rec;
        lyc_envelope_t env;
        char err[256];
        if (lyc_consumer_poll(consumer, 200, &rec) != 1 ||
            lyc_envelope_decode(rec.payload, rec.len, &env, err, sizeof err) != 0)
            continue;
        Lyceum__V1__FeedbackEvent *ev = (Lyceum__V1__FeedbackEvent *) env.payload;
        for (int i = 0; env.type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT && i < n; i++) {
            s_query_t *q = &s_queries[i];
            if (strcmp(q->trace, ev->trace_id) != 0)
                continue;
            for (int a = 0; a < q->n_answered; a++)
                if (!q->found[a] && strcmp(q->answered[a], ev->model) == 0) {
                    q->found[a] = 1;
                    missing--;
                }
            break;
        }
        lyc_envelope_clear(&env);
    }
    lyc_consumer_destroy(&consumer);
    return missing;
}

START_TEST(test_replicas_stopped_and_started_under_load_lose_nothing)
{
    static const char *data =
        "{\"prompt\":\"Which ocean is largest?\",\"domain\":\"scale\",\"answers\":{"
        "\"supervisor\":{\"correct\":true,\"text\":\"The Pacific.\"},\"pool\":{\"correct\":true,"
        "\"text\":\"Pacific\"}}}\n";
    /* No domain ever has enough evidence to be familiar: every query is novel, so
     * every model, the scaled one included, answers each of them. */
    ck_assert_int_eq(
        lyc_kit_start(&s_kit, data, s_models, 2, "  learning_sample: 0\n  min_evidence: 1000000\n"),
        0);
    ck_assert_int_eq(s_wait_replicas(3, 30000), 0);

    pthread_t clients[S_CLIENTS];
    for (int c = 0; c < S_CLIENTS; c++)
        ck_assert_int_eq(pthread_create(&clients[c], NULL, s_client, NULL), 0);

    /* The live replicas, oldest first: the kit's three, then the ones started here. */
    int live[3] = {lyc_kit_pid(&s_kit, "pool#0"), lyc_kit_pid(&s_kit, "pool#1"),
                   lyc_kit_pid(&s_kit, "pool#2")};
    int started[S_CYCLES], drained = 0;
    for (int cycle = 0; cycle < S_CYCLES; cycle++) {
        usleep(1200000); /* let calls pile up on every replica */
        int victim = live[cycle % 3];
        ck_assert_int_eq(kill(victim, SIGTERM), 0);
        if (cycle % 2 == 0) { /* as a rolling update: the new pod starts at once */
            started[cycle] = live[cycle % 3] = s_start_worker(3 + cycle);
            drained += lyc_test_stop(victim, 0, 40000) == 0;
        } else { /* as a scale-down followed by a scale-up */
            drained += lyc_test_stop(victim, 0, 40000) == 0;
            started[cycle] = live[cycle % 3] = s_start_worker(3 + cycle);
        }
        s_forget(victim);
        ck_assert_int_gt(started[cycle], 0);
        ck_assert_msg(s_wait_replicas(3, 20000) == 0, "cycle %d: the new replica did not register",
                      cycle);
    }
    usleep(1000000);
    s_stop = 1;
    for (int c = 0; c < S_CLIENTS; c++)
        pthread_join(clients[c], NULL);

    int n = s_n_queries, failed = 0, without_pool = 0;
    for (int i = 0; i < n; i++) {
        const s_query_t *q = &s_queries[i];
        int pool = 0;
        for (int a = 0; a < q->n_answered; a++)
            pool |= strcmp(q->answered[a], S_POOL) == 0;
        failed += q->status != 200;
        without_pool += q->status == 200 && !pool;
    }
    printf("scale-down: %d queries during %d stop/start cycles, %d stopped workers drained "
           "cleanly, %d failed, %d without the scaled model\n",
           n, S_CYCLES, drained, failed, without_pool);
    ck_assert_int_ge(n, 30);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(without_pool, 0);
    ck_assert_int_eq(drained, S_CYCLES);

    int missing = s_find_events(n);
    printf("scale-down: %d answers without their feedback event in Kafka\n", missing);
    ck_assert_int_eq(missing, 0);

    for (int cycle = 0; cycle < S_CYCLES; cycle++)
        for (int k = 0; k < 3; k++)
            if (live[k] == started[cycle])
                lyc_test_stop(started[cycle], SIGTERM, 40000);
    lyc_kit_stop(&s_kit);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("deploy_scale_down");
    TCase *tc = tcase_create("scale_down");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, test_replicas_stopped_and_started_under_load_lose_nothing);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
