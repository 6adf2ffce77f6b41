/*
 * test_event_sink.c - a process that starts adopts the spool its dead
 * predecessor left, so the events that process had accepted reach Kafka.
 *
 * A router's sink accepts events while Kafka cannot be reached and stops
 * (they stay in its spool). A new router process (another instance name, as
 * after a restart: another pid) adopts that spool and delivers every one of
 * them to the real broker; a sink started while another one lives never
 * takes the living one's spool.
 */
#include "testkit.h"

#include "envelope.h"
#include "event_sink.h"
#include "eventlog.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS 20

static char s_brokers[256];
static char s_topic[64];
static char s_spool_root[64];

static void s_setup(void)
{
    char err[256] = "";
    snprintf(s_brokers, sizeof s_brokers, "%s", lyc_test_kafka_brokers());
    /* The cluster file says where Kafka is; the environment must not. */
    unsetenv("LYCEUM_KAFKA_BROKERS");
    lyc_test_unique(s_topic, sizeof s_topic, "lyc-test-sink");
    const char *names[] = {s_topic};
    const int partitions[] = {1};
    ck_assert_msg(
        lyc_eventlog_create_topics(s_brokers, names, partitions, 1, 15000, err, sizeof err) == 0,
        "%s", err);
    snprintf(s_spool_root, sizeof s_spool_root, "/tmp/lyc-sink-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_spool_root));
}

static void s_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_spool_root);
    lyc_test_sh(cmd);
}

/* Settings of a cluster whose Kafka is at brokers. */
static lyc_confdoc_t *s_settings(const char *brokers, lyc_settings_t *settings)
{
    char path[128], yaml[512], err[512];
    snprintf(path, sizeof path, "%s/cluster.yaml", s_spool_root);
    snprintf(yaml, sizeof yaml,
             "kafka:\n"
             "  brokers: \"%s\"\n"
             "  spool_dir: \"%s/spool\"\n"
             "  message_timeout_ms: 2000\n",
             brokers, s_spool_root);
    ck_assert_int_eq(lyc_test_write_file(path, yaml), 0);
    lyc_confdoc_t *doc = lyc_settings_load(path, "LYCEUM_TEST", settings, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    return doc;
}

/* A RoleChange whose trace id is "sink-<i>". */
static void s_send(lyc_event_sink_t *sink, int i)
{
    char trace[32];
    snprintf(trace, sizeof trace, "sink-%d", i);
    Lyceum__V1__RoleChange change = LYCEUM__V1__ROLE_CHANGE__INIT;
    change.model = "student";
    change.domain = "geo";
    change.reason = trace;
    ck_assert_int_eq(lyc_event_sink_send(sink, s_topic, trace,
                                         LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, trace,
                                         &change.base),
                     0);
}

/* Reads the topic from the start; returns how many distinct events of
 * 0..EVENTS-1 arrived within 30 s. */
static int s_read_back(void)
{
    char group[64];
    lyc_test_unique(group, sizeof group, "lyc-test-sink-reader");
    const char *topics[] = {s_topic};
    lyc_consumer_config_t cfg = {
        .brokers = s_brokers, .group_id = group, .topics = topics, .topic_count = 1};
    lyc_consumer_t *consumer = lyc_consumer_new(&cfg);
    ck_assert_ptr_nonnull(consumer);
    int seen[EVENTS] = {0}, distinct = 0;
    time_t give_up = time(NULL) + 30;
    while (distinct < EVENTS && time(NULL) < give_up) {
        lyc_record_t rec;
        lyc_envelope_t env;
        char err[256];
        if (lyc_consumer_poll(consumer, 200, &rec) != 1 ||
            lyc_envelope_decode(rec.payload, rec.len, &env, err, sizeof err) != 0)
            continue;
        int i = -1;
        if (sscanf(env.trace_id, "sink-%d", &i) == 1 && i >= 0 && i < EVENTS && !seen[i]++)
            distinct++;
        lyc_envelope_clear(&env);
    }
    lyc_consumer_destroy(&consumer);
    return distinct;
}

START_TEST(test_a_new_process_delivers_what_the_old_one_spooled)
{
    lyc_settings_t away, real;
    lyc_confdoc_t *away_doc = s_settings("127.0.0.1:1", &away);

    /* The first router accepts every event, none reaches Kafka. */
    lyc_event_sink_t *first = lyc_event_sink_new(&away, "router", "host-1");
    ck_assert_ptr_nonnull(first);
    char first_dir[512];
    snprintf(first_dir, sizeof first_dir, "%s", lyc_event_sink_spool_dir(first));
    for (int i = 0; i < EVENTS; i++)
        s_send(first, i);
    ck_assert_uint_eq(lyc_event_sink_pending(first), EVENTS);

    /* While it lives, a second router makes its own spool. */
    lyc_event_sink_t *beside = lyc_event_sink_new(&away, "router", "host-2");
    ck_assert_ptr_nonnull(beside);
    ck_assert_str_ne(lyc_event_sink_spool_dir(beside), first_dir);
    ck_assert_uint_eq(lyc_event_sink_pending(beside), 0);
    lyc_event_sink_destroy(&beside, 0);

    lyc_event_sink_destroy(&first, 0); /* stopped: its events stay spooled */
    lyc_settings_free(&away);
    lyc_confdoc_destroy(&away_doc);

    /* A trainer never takes a router's spool... */
    lyc_confdoc_t *real_doc = s_settings(s_brokers, &real);
    lyc_event_sink_t *trainer = lyc_event_sink_new(&real, "trainer", "host-3");
    ck_assert_ptr_nonnull(trainer);
    ck_assert_str_ne(lyc_event_sink_spool_dir(trainer), first_dir);
    lyc_event_sink_destroy(&trainer, 0);

    /* ...a restarted router does (the one holding events, before the
     * empty one host-2 left), and delivers every event. */
    lyc_event_sink_t *next = lyc_event_sink_new(&real, "router", "host-4");
    ck_assert_ptr_nonnull(next);
    ck_assert_str_eq(lyc_event_sink_spool_dir(next), first_dir);
    ck_assert_uint_eq(lyc_event_sink_accepted(next), 0);
    /* One more router takes the empty spool host-2 left, not a new one. */
    lyc_event_sink_t *again = lyc_event_sink_new(&real, "router", "host-5");
    ck_assert_ptr_nonnull(again);
    ck_assert_ptr_nonnull(strstr(lyc_event_sink_spool_dir(again), "/router-host-2"));
    lyc_event_sink_destroy(&again, 0);

    lyc_event_sink_destroy(&next, 15000);
    ck_assert_int_eq(s_read_back(), EVENTS);

    lyc_settings_free(&real);
    lyc_confdoc_destroy(&real_doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("event_sink");
    TCase *tc = tcase_create("adoption");
    tcase_set_timeout(tc, 90);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_a_new_process_delivers_what_the_old_one_spooled);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
