/*
 * test_eventlog.c - the event log against the real Kafka broker named by
 * LYCEUM_KAFKA_BROKERS: records come back through consumer groups, committed
 * offsets hold, and nothing accepted is lost when the broker goes away (the
 * test stops and restarts it with deploy/local/servers.sh) or when a producer
 * is closed while it is away.
 *
 * Every test makes its own topic, spool directory and groups, so runs never
 * see each other's records.
 */
#include "testkit.h"

#include "clock.h"
#include "eventlog.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARTITIONS    3
#define READ_WAIT_MS  30000 /* how long a reader waits for all records */
#define FLUSH_WAIT_MS 60000 /* how long a producer may take after an outage */
#define TAIL_WAIT_MS  1500  /* quiet time that shows nothing more is coming */
#define MESSAGE_WAIT  "3000"

/* Short reconnect back-off so a returning broker is noticed within a second. */
static const char *const s_settings[] = {"reconnect.backoff.ms=100",
                                         "reconnect.backoff.max.ms=1000"};

/* Set in main; a test that stops Kafka creates it, and removes it once Kafka
 * is back, so main can restart Kafka after a test that failed half-way. */
static char s_kafka_stopped_flag[64];

static void s_topic_new(char *buf, size_t cap)
{
    char err[256] = "";
    lyc_test_unique(buf, cap, "lyc-test-eventlog");
    const char *names[] = {buf};
    const int partitions[] = {PARTITIONS};
    ck_assert_msg(lyc_eventlog_create_topics(lyc_test_kafka_brokers(), names, partitions, 1, 15000,
                                             err, sizeof err) == 0,
                  "create topic %s: %s", buf, err);
}

static void s_spool_dir_new(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/lyc-eventlog-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static void s_spool_dir_remove(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
}

static lyc_producer_t *s_producer(const char *spool_dir, int close_timeout_ms)
{
    lyc_producer_config_t cfg = {
        .brokers = lyc_test_kafka_brokers(),
        .client_id = "lyc-test-eventlog",
        .spool_dir = spool_dir,
        .message_timeout_ms = atoi(MESSAGE_WAIT),
        .close_timeout_ms = close_timeout_ms,
        .settings = s_settings,
        .settings_count = sizeof s_settings / sizeof s_settings[0],
    };
    lyc_producer_t *producer = lyc_producer_new(&cfg);
    ck_assert_ptr_nonnull(producer);
    return producer;
}

static lyc_consumer_t *s_consumer(const char *topic, const char *group)
{
    const char *topics[] = {topic};
    lyc_consumer_config_t cfg = {
        .brokers = lyc_test_kafka_brokers(),
        .client_id = "lyc-test-eventlog",
        .group_id = group,
        .topics = topics,
        .topic_count = 1,
        .settings = s_settings,
        .settings_count = sizeof s_settings / sizeof s_settings[0],
    };
    lyc_consumer_t *consumer = lyc_consumer_new(&cfg);
    ck_assert_ptr_nonnull(consumer);
    return consumer;
}

/* Sends records first..first+n-1: key "k<i>", payload "event-<i>". */
static void s_send(lyc_producer_t *producer, const char *topic, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char key[32], payload[64];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(payload, sizeof payload, "event-%d", i);
        ck_assert_int_eq(
            lyc_producer_send(producer, topic, key, strlen(key), payload, strlen(payload)), 0);
        ck_assert_int_eq(lyc_producer_poll(producer, 0), 0);
    }
}

/* What a reader saw of records 0..n-1. */
typedef struct {
    int n;
    int *seen;      /* times each record arrived */
    int distinct;   /* records seen at least once */
    int duplicates; /* arrivals beyond the first */
    int foreign;    /* records that are not ours or do not match their key */
    int first;      /* index of the first record read, -1 if none */
} s_tally_t;

static void s_tally_add(s_tally_t *t, const lyc_record_t *rec)
{
    char key[32], payload[64];
    int i = -1;
    if (rec->len < sizeof payload) {
        memcpy(payload, rec->payload, rec->len);
        payload[rec->len] = '\0';
        if (sscanf(payload, "event-%d", &i) != 1)
            i = -1;
    }
    snprintf(key, sizeof key, "k%d", i);
    if (i < 0 || i >= t->n || rec->key_len != strlen(key) || memcmp(rec->key, key, rec->key_len)) {
        t->foreign++;
        return;
    }
    if (t->first < 0)
        t->first = i;
    if (t->seen[i]++ == 0)
        t->distinct++;
    else
        t->duplicates++;
}

/* Reads with a consumer until want records are seen (or READ_WAIT_MS), then
 * for TAIL_WAIT_MS more to catch duplicates and strays. Commits at the end. */
static void s_read(lyc_consumer_t *consumer, s_tally_t *t, int want)
{
    int64_t deadline = lyc_mono_us() + READ_WAIT_MS * 1000LL;
    int64_t tail_end = 0;
    for (;;) {
        int64_t now = lyc_mono_us();
        if (t->distinct >= want && !tail_end)
            tail_end = now + TAIL_WAIT_MS * 1000LL;
        if ((tail_end && now >= tail_end) || now >= deadline)
            break;
        lyc_record_t rec;
        int rc = lyc_consumer_poll(consumer, 200, &rec);
        ck_assert_int_ge(rc, 0);
        if (rc == 1)
            s_tally_add(t, &rec);
    }
    ck_assert_int_eq(lyc_consumer_commit(consumer), 0);
}

static s_tally_t s_tally(int n)
{
    s_tally_t t = {.n = n, .first = -1};
    t.seen = calloc((size_t) n, sizeof *t.seen);
    ck_assert_ptr_nonnull(t.seen);
    return t;
}

/* Fresh groups that may try before one must have read everything. A fresh
 * group of librdkafka 2.0.2 on a broker that has just (re)started now and
 * then misses a few records of a partition (seen in CI: 46 of 50, 497 of
 * 500) that a second fresh group reads; the log holds them. */
#define FRESH_GROUP_TRIES 3

/* A fresh group reads the topic and must find exactly records 0..n-1, once
 * each; a group that comes up short (but never one that reads a duplicate or
 * a foreign record) is followed by another. */
static void s_expect_all(const char *topic, int n)
{
    for (int attempt = 1;; attempt++) {
        char group[64];
        lyc_test_unique(group, sizeof group, "lyc-test-group");
        lyc_consumer_t *consumer = s_consumer(topic, group);
        s_tally_t t = s_tally(n);
        int64_t start = lyc_mono_us();
        s_read(consumer, &t, n);
        lyc_consumer_destroy(&consumer);
        printf("eventlog: group %s read %d of %d records (%d duplicates, %d foreign) in %.1f s\n",
               group, t.distinct, n, t.duplicates, t.foreign, (lyc_mono_us() - start) / 1e6);
        fflush(stdout);
        ck_assert_int_eq(t.foreign, 0);
        ck_assert_int_eq(t.duplicates, 0);
        int complete = t.distinct == n;
        free(t.seen);
        if (complete)
            return;
        ck_assert_msg(attempt < FRESH_GROUP_TRIES, "%d fresh groups in a row read only part of %d",
                      attempt, n);
    }
}

START_TEST(test_produce_and_read_back)
{
    char topic[96], dir[64];
    const int n = 500;
    s_topic_new(topic, sizeof topic);
    s_spool_dir_new(dir, sizeof dir);
    lyc_producer_t *producer = s_producer(dir, 0);
    s_send(producer, topic, 0, n);
    ck_assert_uint_eq(lyc_producer_flush(producer, FLUSH_WAIT_MS), 0);
    lyc_producer_stats_t stats;
    lyc_producer_stats(producer, &stats);
    ck_assert_uint_eq(stats.accepted, (uint64_t) n);
    ck_assert_uint_eq(stats.delivered, (uint64_t) n);
    ck_assert_uint_eq(stats.rejected, 0);
    lyc_producer_destroy(&producer);
    ck_assert_ptr_null(producer);
    s_expect_all(topic, n);
    s_spool_dir_remove(dir);
}
END_TEST

START_TEST(test_committed_offsets)
{
    char topic[96], dir[64], group[64];
    const int n = 50;
    s_topic_new(topic, sizeof topic);
    s_spool_dir_new(dir, sizeof dir);
    lyc_test_unique(group, sizeof group, "lyc-test-group");
    lyc_producer_t *producer = s_producer(dir, 0);
    s_send(producer, topic, 0, n);
    ck_assert_uint_eq(lyc_producer_flush(producer, FLUSH_WAIT_MS), 0);

    /* The first member reads everything and commits on close. (Should it
     * come up short, see FRESH_GROUP_TRIES: the fresh groups below check
     * that the log holds every record.) */
    lyc_consumer_t *consumer = s_consumer(topic, group);
    s_tally_t t = s_tally(n + 1);
    s_read(consumer, &t, n);
    if (t.distinct != n)
        printf("eventlog: first member of %s read %d of %d records\n", group, t.distinct, n);
    ck_assert_int_eq(t.duplicates, 0);
    lyc_consumer_destroy(&consumer);

    /* One new record; the next member of the group starts after the commit. */
    s_send(producer, topic, n, 1);
    ck_assert_uint_eq(lyc_producer_flush(producer, FLUSH_WAIT_MS), 0);
    consumer = s_consumer(topic, group);
    s_tally_t again = s_tally(n + 1);
    s_read(consumer, &again, 1);
    lyc_consumer_destroy(&consumer);
    printf("eventlog: same group after commit read %d record(s), first %d\n", again.distinct,
           again.first);
    ck_assert_int_eq(again.distinct, 1);
    ck_assert_int_eq(again.first, n);
    ck_assert_int_eq(again.duplicates, 0);

    /* A new group starts from the beginning. */
    s_expect_all(topic, n + 1);
    lyc_producer_destroy(&producer);
    free(t.seen);
    free(again.seen);
    s_spool_dir_remove(dir);
}
END_TEST

START_TEST(test_bad_settings_are_named)
{
    char err[512];
    const char *unknown[] = {"no.such.property=1"};
    const char *bad_value[] = {"socket.timeout.ms=soon"};
    const char *fixed[] = {"acks=1"};
    const char *no_eq[] = {"linger.ms"};
    const char *good[] = {"linger.ms=10", "socket.keepalive.enable=true"};
    ck_assert_int_eq(lyc_eventlog_settings_check(unknown, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no.such.property"));
    ck_assert_int_eq(lyc_eventlog_settings_check(bad_value, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "socket.timeout.ms"));
    ck_assert_int_eq(lyc_eventlog_settings_check(fixed, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "acks"));
    ck_assert_int_eq(lyc_eventlog_settings_check(no_eq, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "linger.ms"));
    ck_assert_int_eq(lyc_eventlog_settings_check(good, 2, err, sizeof err), 0);

    char dir[64];
    s_spool_dir_new(dir, sizeof dir);
    lyc_producer_config_t pcfg = {.brokers = lyc_test_kafka_brokers(),
                                  .spool_dir = dir,
                                  .settings = unknown,
                                  .settings_count = 1};
    ck_assert_ptr_null(lyc_producer_new(&pcfg));
    const char *topics[] = {"lyc-test-none"};
    lyc_consumer_config_t ccfg = {.brokers = lyc_test_kafka_brokers(),
                                  .group_id = "lyc-test-none",
                                  .topics = topics,
                                  .topic_count = 1,
                                  .auto_offset_reset = "sideways"};
    ck_assert_ptr_null(lyc_consumer_new(&ccfg));

    /* Creating a topic that exists already is success. */
    char topic[96];
    s_topic_new(topic, sizeof topic);
    const char *names[] = {topic};
    const int partitions[] = {PARTITIONS};
    ck_assert_int_eq(lyc_eventlog_create_topics(lyc_test_kafka_brokers(), names, partitions, 1,
                                                15000, err, sizeof err),
                     0);
    s_spool_dir_remove(dir);
}
END_TEST

START_TEST(test_full_spool_is_back_pressure)
{
    char topic[96], dir[64];
    s_topic_new(topic, sizeof topic);
    s_spool_dir_new(dir, sizeof dir);
    lyc_producer_config_t cfg = {
        .brokers = lyc_test_kafka_brokers(),
        .spool_dir = dir,
        .spool_max_bytes = 20 * (36 + strlen(topic) + 16), /* about 20 records */
        .settings = s_settings,
        .settings_count = sizeof s_settings / sizeof s_settings[0],
    };
    lyc_producer_t *producer = lyc_producer_new(&cfg);
    ck_assert_ptr_nonnull(producer);

    /* Without polls nothing is acknowledged, so the spool fills up. */
    int accepted = 0;
    while (accepted < 100) {
        char key[32], payload[64];
        snprintf(key, sizeof key, "k%d", accepted);
        snprintf(payload, sizeof payload, "event-%d", accepted);
        if (lyc_producer_send(producer, topic, key, strlen(key), payload, strlen(payload)) != 0)
            break;
        accepted++;
    }
    ck_assert_int_gt(accepted, 10);
    ck_assert_int_lt(accepted, 30);
    lyc_producer_stats_t stats;
    lyc_producer_stats(producer, &stats);
    ck_assert_uint_eq(stats.rejected, 1);
    ck_assert_uint_eq(lyc_producer_pending(producer), (size_t) accepted);

    /* Polling drains it, and the producer accepts again. */
    ck_assert_uint_eq(lyc_producer_flush(producer, FLUSH_WAIT_MS), 0);
    s_send(producer, topic, accepted, 5);
    ck_assert_uint_eq(lyc_producer_flush(producer, FLUSH_WAIT_MS), 0);
    lyc_producer_destroy(&producer);
    s_expect_all(topic, accepted + 5);
    s_spool_dir_remove(dir);
}
END_TEST

static void s_kafka(const char *command)
{
    char script[512], cmd[640];
    lyc_test_source_path(script, sizeof script, "deploy/local/servers.sh");
    snprintf(cmd, sizeof cmd, "bash '%s' %s", script, command);
    int64_t start = lyc_mono_us();
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
    printf("eventlog: %s took %.1f s\n", command, (lyc_mono_us() - start) / 1e6);
}

/* Keeps a producer polling for ms, as its owner's loop would. */
static void s_poll_for(lyc_producer_t *producer, int ms)
{
    int64_t end = lyc_mono_us() + ms * 1000LL;
    while (lyc_mono_us() < end)
        ck_assert_int_eq(lyc_producer_poll(producer, 100), 0);
}

START_TEST(test_outage_loses_nothing)
{
    char topic[96], live_dir[64], closed_dir[64];
    const int n = 200;
    s_topic_new(topic, sizeof topic);
    s_spool_dir_new(live_dir, sizeof live_dir);
    s_spool_dir_new(closed_dir, sizeof closed_dir);

    /* Both producers talk to the broker first (records 0 and 1). */
    lyc_producer_t *live = s_producer(live_dir, 0);
    lyc_producer_t *closed = s_producer(closed_dir, 1000);
    s_send(live, topic, 0, 1);
    s_send(closed, topic, 1, 1);
    ck_assert_uint_eq(lyc_producer_flush(live, FLUSH_WAIT_MS), 0);
    ck_assert_uint_eq(lyc_producer_flush(closed, FLUSH_WAIT_MS), 0);

    FILE *flag = fopen(s_kafka_stopped_flag, "w");
    ck_assert_ptr_nonnull(flag);
    fclose(flag);
    int64_t outage = lyc_mono_us();
    s_kafka("stop-kafka");

    /* While it is away every record is accepted into the spools. */
    s_send(live, topic, 2, n);
    s_send(closed, topic, 2 + n, n);
    ck_assert_uint_eq(lyc_producer_pending(live), (size_t) n);
    ck_assert_uint_eq(lyc_producer_pending(closed), (size_t) n);
    lyc_producer_destroy(&closed); /* waits 1 s, then leaves its records in the spool */

    /* Deliveries time out (message.timeout.ms) and go back to the spool. */
    s_poll_for(live, atoi(MESSAGE_WAIT) + 1500);
    lyc_producer_stats_t stats;
    lyc_producer_stats(live, &stats);
    ck_assert_uint_eq(stats.accepted, (uint64_t) n + 1);
    ck_assert_uint_eq(stats.rejected, 0);
    ck_assert_uint_gt(stats.resent, 0);
    ck_assert_uint_eq(lyc_producer_pending(live), (size_t) n);

    s_kafka("start-kafka");
    ck_assert_int_eq(unlink(s_kafka_stopped_flag), 0);

    /* The live producer drains its spool; a new producer drains the closed one's. */
    int64_t back = lyc_mono_us();
    ck_assert_uint_eq(lyc_producer_flush(live, FLUSH_WAIT_MS), 0);
    printf("eventlog: live producer drained %d records %.1f s after the broker returned "
           "(outage began %.1f s before)\n",
           n, (lyc_mono_us() - back) / 1e6, (back - outage) / 1e6);
    lyc_producer_t *reopened = s_producer(closed_dir, 0);
    ck_assert_uint_eq(lyc_producer_pending(reopened), (size_t) n);
    ck_assert_uint_eq(lyc_producer_flush(reopened, FLUSH_WAIT_MS), 0);
    lyc_producer_stats(reopened, &stats);
    ck_assert_uint_eq(stats.resent, (uint64_t) n);
    ck_assert_uint_eq(stats.delivered, (uint64_t) n);
    printf("eventlog: reopened producer delivered %d records from the spool\n", n);
    lyc_producer_destroy(&reopened);
    lyc_producer_destroy(&live);

    s_expect_all(topic, 2 + 2 * n);
    s_spool_dir_remove(live_dir);
    s_spool_dir_remove(closed_dir);
}
END_TEST

/* Prints who the tests talk to: broker ids and addresses, cluster and controller. */
static void s_print_broker(void)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", lyc_test_kafka_brokers(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, "eventlog: %s\n", err);
        exit(EXIT_FAILURE);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    const struct rd_kafka_metadata *md = NULL;
    if (!rk || rd_kafka_metadata(rk, 0, NULL, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "eventlog: no metadata from Kafka at %s\n", lyc_test_kafka_brokers());
        exit(EXIT_FAILURE);
    }
    char *cluster = rd_kafka_clusterid(rk, 5000);
    printf("eventlog: librdkafka %s, Kafka cluster %s, controller %d, %d broker(s):",
           rd_kafka_version_str(), cluster ? cluster : "?", rd_kafka_controllerid(rk, 5000),
           md->broker_cnt);
    for (int i = 0; i < md->broker_cnt; i++)
        printf(" id %d at %s:%d", md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
    printf(" (metadata from broker %d)\n", md->orig_broker_id);
    fflush(stdout);
    free(cluster);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
}

int main(void)
{
    s_print_broker();
    snprintf(s_kafka_stopped_flag, sizeof s_kafka_stopped_flag, "/tmp/lyc-eventlog-stopped.%d",
             (int) getpid());
    Suite *s = suite_create("eventlog");
    TCase *tc = tcase_create("eventlog");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bad_settings_are_named);
    tcase_add_test(tc, test_produce_and_read_back);
    tcase_add_test(tc, test_committed_offsets);
    tcase_add_test(tc, test_full_spool_is_back_pressure);
    suite_add_tcase(s, tc);
    /* Tagged so a developer can skip the broker restart: CK_EXCLUDE_TAGS=outage. */
    TCase *outage = tcase_create("outage");
    tcase_set_tags(outage, "outage");
    tcase_set_timeout(outage, 150);
    tcase_add_test(outage, test_outage_loses_nothing);
    suite_add_tcase(s, outage);
    int rc = lyc_test_run(s);
    if (access(s_kafka_stopped_flag, F_OK) == 0) {
        fprintf(stderr, "eventlog: a test stopped Kafka and failed; starting it again\n");
        char script[512], cmd[640];
        lyc_test_source_path(script, sizeof script, "deploy/local/servers.sh");
        snprintf(cmd, sizeof cmd, "bash '%s' start-kafka", script);
        if (lyc_test_sh(cmd) != 0)
            rc = EXIT_FAILURE;
        unlink(s_kafka_stopped_flag);
    }
    return rc;
}
