/*
 * test_trainer_kit.h - what the trainer's integration tests share (header
 * only, included by each test_trainer_*.c): a fresh cluster per test
 * (unique Redis prefix, topics, group, data directory), feedback events
 * produced to Kafka, the trainer run in-process on a thread, and waits on
 * Redis with a time-out.
 */
#ifndef LYCEUM_TEST_TRAINER_KIT_H
#define LYCEUM_TEST_TRAINER_KIT_H

#include "testkit.h"

#include "clock.h"
#include "envelope.h"
#include "eventlog.h"
#include "ids.h"
#include "pb.h"
#include "redis.h"
#include "settings.h"
#include "trainer.h"
#include "trainer_config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KIT_PARTITIONS 3

typedef struct {
    char prefix[64];
    char topic[96];
    char roles_topic[96];
    char registry_topic[96];
    char training_topic[96];
    char group[96];
    char dir[128];     /* scratch: spools, data, cluster file */
    char cluster[256]; /* the cluster file */
    lyc_settings_t settings;
    lyc_trainer_config_t config;
    lyc_confdoc_t *doc;
    lyc_producer_t *producer;
    lyc_redis_t *redis;
    lyc_trainer_t *trainer;
    pthread_t thread;
    int running;
} kit_t;

static inline void kit_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Makes the names, the topics and the cluster file (shared settings, then
 * trainer_yaml: the trainer: section and models:, as YAML text), loads it. */
static inline void kit_init(kit_t *k, const char *name, const char *trainer_yaml)
{
    char err[1024], yaml[16384];
    memset(k, 0, sizeof *k);
    lyc_test_unique(k->prefix, sizeof k->prefix, name);
    snprintf(k->topic, sizeof k->topic, "%s.feedback", k->prefix);
    snprintf(k->roles_topic, sizeof k->roles_topic, "%s.roles", k->prefix);
    snprintf(k->registry_topic, sizeof k->registry_topic, "%s.registry", k->prefix);
    snprintf(k->training_topic, sizeof k->training_topic, "%s.training", k->prefix);
    snprintf(k->group, sizeof k->group, "%s.group", k->prefix);
    snprintf(k->dir, sizeof k->dir, "/tmp/%s", k->prefix);
    snprintf(k->cluster, sizeof k->cluster, "%s/cluster.yaml", k->dir);
    ck_assert_int_eq(mkdir(k->dir, 0755), 0);
    const char *names[] = {k->topic, k->roles_topic, k->registry_topic, k->training_topic};
    const int parts[] = {KIT_PARTITIONS, 1, 1, 1};
    ck_assert_msg(lyc_eventlog_create_topics(lyc_test_kafka_brokers(), names, parts, 4, 20000, err,
                                             sizeof err) == 0,
                  "topics: %s", err);
    snprintf(yaml, sizeof yaml,
             "redis: {url: \"%s\", prefix: \"%s\"}\n"
             "kafka:\n  brokers: \"%s\"\n  spool_dir: \"%s/spool\"\n"
             "  topics: {feedback: \"%s\", roles: \"%s\", registry: \"%s\", training: \"%s\"}\n"
             "log: {level: warn}\n%s",
             lyc_test_redis_url(), k->prefix, lyc_test_kafka_brokers(), k->dir, k->topic,
             k->roles_topic, k->registry_topic, k->training_topic, trainer_yaml);
    ck_assert_int_eq(lyc_test_write_file(k->cluster, yaml), 0);
    k->doc = lyc_settings_load(k->cluster, "LYCEUM_TRAINER", &k->settings, err, sizeof err);
    ck_assert_msg(k->doc != NULL, "%s", err);
    ck_assert_msg(lyc_trainer_config_load(&k->config, k->doc, k->cluster, err, sizeof err) == 0,
                  "%s", err);
    char spool[256];
    snprintf(spool, sizeof spool, "%s/spool/test-producer", k->dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", spool);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
    lyc_producer_config_t pc = {.brokers = lyc_test_kafka_brokers(),
                                .client_id = "lyc-test-trainer",
                                .spool_dir = spool,
                                .spool_nosync = true};
    k->producer = lyc_producer_new(&pc);
    ck_assert_ptr_nonnull(k->producer);
    k->redis = lyc_redis_new(lyc_test_redis_url(), 5000);
    ck_assert_ptr_nonnull(k->redis);
}

static void *kit_thread(void *arg)
{
    kit_t *k = arg;
    lyc_trainer_run(k->trainer);
    return NULL;
}

/* Starts the trainer in-process. */
static inline void kit_start(kit_t *k)
{
    k->trainer = lyc_trainer_new(&k->settings, &k->config, k->doc);
    ck_assert_ptr_nonnull(k->trainer);
    ck_assert_int_eq(pthread_create(&k->thread, NULL, kit_thread, k), 0);
    k->running = 1;
}

static inline void kit_stop(kit_t *k)
{
    if (!k->running)
        return;
    lyc_trainer_stop(k->trainer);
    pthread_join(k->thread, NULL);
    lyc_trainer_destroy(&k->trainer);
    k->running = 0;
}

/* Deletes every key under the test's prefix. */
static inline void kit_drop_keys(kit_t *k)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "%s:*", k->prefix);
    for (int round = 0; round < 100; round++) {
        const char *scan[] = {"SCAN", "0", "MATCH", pattern, "COUNT", "10000"};
        redisReply *r = lyc_redis_command(k->redis, 6, scan, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[1]->elements == 0) {
            freeReplyObject(r);
            return;
        }
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *del[] = {"UNLINK", r->element[1]->element[i]->str};
            freeReplyObject(lyc_redis_command(k->redis, 2, del, NULL));
        }
        freeReplyObject(r);
    }
}

static inline void kit_fini(kit_t *k)
{
    kit_stop(k);
    lyc_producer_flush(k->producer, 10000);
    lyc_producer_destroy(&k->producer);
    kit_drop_keys(k);
    lyc_redis_destroy(&k->redis);
    lyc_trainer_config_free(&k->config);
    lyc_confdoc_destroy(&k->doc);
    lyc_settings_free(&k->settings);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", k->dir);
    lyc_test_sh(cmd);
}

/* One feedback event's fields; what is not set stays empty or 0. */
typedef struct {
    const char *trace;
    const char *tenant;
    const char *domain;
    const char *model;
    double score;
    int supervisor;
    int winner;
    int human;
    int failed;
    const char *query_id;
    const char *event_id; /* NULL: a new one */
} kit_event_t;

/* Produces one event (key: the domain). */
static inline void kit_send(kit_t *k, const kit_event_t *e)
{
    char id[LYC_ID_LEN];
    lyc_id_new(id);
    Lyceum__V1__Usage usage = LYCEUM__V1__USAGE__INIT;
    Lyceum__V1__Error error = LYCEUM__V1__ERROR__INIT;
    Lyceum__V1__FeedbackEvent ev = LYCEUM__V1__FEEDBACK_EVENT__INIT;
    usage.prompt_tokens = 10;
    usage.completion_tokens = 2;
    error.code = LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT;
    error.message = "timed out";
    ev.event_id = (char *) (e->event_id ? e->event_id : id);
    ev.trace_id = (char *) e->trace;
    ev.tenant = (char *) (e->tenant ? e->tenant : "acme");
    ev.domain = (char *) e->domain;
    ev.model = (char *) e->model;
    ev.score = e->score;
    ev.confidence = 0.9;
    ev.source = e->human ? LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN
                         : LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_REFERENCE;
    ev.winner = e->winner != 0;
    ev.cost_usd = e->human ? 0 : 0.001;
    ev.latency_ms = e->human ? 0 : 100;
    ev.usage = e->human ? NULL : &usage;
    ev.error = e->failed ? &error : NULL;
    ev.supervisor = e->supervisor != 0;
    ev.query_id = (char *) (e->query_id ? e->query_id : e->trace);
    ev.at_us = lyc_wall_us();
    size_t len;
    uint8_t *buf =
        lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, e->trace, &ev.base, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(
        lyc_producer_send(k->producer, k->topic, e->domain, strlen(e->domain), buf, len), 0);
    free(buf);
}

/* Sends raw bytes as a record (a malformed event). */
static inline void kit_send_raw(kit_t *k, const char *domain, const void *data, size_t len)
{
    ck_assert_int_eq(lyc_producer_send(k->producer, k->topic, domain, strlen(domain), data, len),
                     0);
}

static inline void kit_flush(kit_t *k)
{
    ck_assert_uint_eq(lyc_producer_flush(k->producer, 20000), 0);
}

/* The number in field of hash key (0 when absent). */
static inline double kit_hget(kit_t *k, const char *key, const char *field)
{
    const char *argv[] = {"HGET", key, field};
    redisReply *r = lyc_redis_command(k->redis, 3, argv, NULL);
    double v = r && r->type == REDIS_REPLY_STRING ? strtod(r->str, NULL) : 0;
    freeReplyObject(r);
    return v;
}

/* The text in field of hash key into buf ("" when absent). */
static inline const char *kit_hget_str(kit_t *k, const char *key, const char *field, char *buf,
                                       size_t cap)
{
    const char *argv[] = {"HGET", key, field};
    redisReply *r = lyc_redis_command(k->redis, 3, argv, NULL);
    snprintf(buf, cap, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return buf;
}

/* The stats hash key of a domain. */
static inline const char *kit_stats_key(kit_t *k, const char *scope, const char *domain, char *buf,
                                        size_t cap)
{
    snprintf(buf, cap, "%s:stats:{%s}:%s", k->prefix, scope, domain);
    return buf;
}

/* Waits until field of key reaches at least value; 0, or -1 after timeout_ms. */
static inline int kit_wait_at_least(kit_t *k, const char *key, const char *field, double value,
                                    int timeout_ms)
{
    int64_t deadline = lyc_mono_us() + timeout_ms * 1000LL;
    while (lyc_mono_us() < deadline) {
        if (kit_hget(k, key, field) >= value - 1e-9)
            return 0;
        kit_sleep_ms(20);
    }
    return -1;
}

#endif
