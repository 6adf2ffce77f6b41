/*
 * test_spool.c - the event log's spool keeps exactly the unacknowledged
 * records across restarts, respects its bound, survives a damaged file and
 * compacts itself.
 */
#include "testkit.h"

#include "spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOPIC "lyceum.feedback"

static char s_dir[64];

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/lyc-spool-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void s_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
}

static const char *s_file(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/spool.log", s_dir);
    return buf;
}

/* Appends "event-<i>" with key "k<i>" and returns its seq. */
static uint64_t s_append(lyc_spool_t *spool, int i)
{
    char key[32], payload[64];
    snprintf(key, sizeof key, "k%d", i);
    snprintf(payload, sizeof payload, "event-%d", i);
    uint64_t seq = 0;
    ck_assert_int_eq(
        lyc_spool_append(spool, TOPIC, key, strlen(key), payload, strlen(payload), 1000 + i, &seq),
        0);
    ck_assert_uint_gt(seq, 0);
    return seq;
}

/* Checks that seq reads back as the record s_append(i) wrote. */
static void s_expect(lyc_spool_t *spool, uint64_t seq, int i)
{
    char key[32], payload[64];
    snprintf(key, sizeof key, "k%d", i);
    snprintf(payload, sizeof payload, "event-%d", i);
    lyc_spool_record_t rec;
    ck_assert_int_eq(lyc_spool_read(spool, seq, &rec), 0);
    ck_assert_uint_eq(rec.seq, seq);
    ck_assert_str_eq(rec.topic, TOPIC);
    ck_assert_uint_eq(rec.key_len, strlen(key));
    ck_assert_mem_eq(rec.key, key, rec.key_len);
    ck_assert_uint_eq(rec.payload_len, strlen(payload));
    ck_assert_mem_eq(rec.payload, payload, rec.payload_len);
    ck_assert_int_eq(rec.timestamp_ms, 1000 + i);
}

/* Collects the pending seqs in order into out[cap]; returns how many. */
static size_t s_pending_seqs(lyc_spool_t *spool, uint64_t *out, size_t cap)
{
    size_t n = 0;
    for (uint64_t seq = lyc_spool_next(spool, 0); seq; seq = lyc_spool_next(spool, seq)) {
        ck_assert_uint_lt(n, cap);
        out[n++] = seq;
    }
    return n;
}

START_TEST(test_append_ack_replay_round_trip)
{
    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, true);
    ck_assert_ptr_nonnull(spool);
    uint64_t a = s_append(spool, 1), b = s_append(spool, 2), c = s_append(spool, 3);
    ck_assert(a < b && b < c);
    ck_assert_uint_eq(lyc_spool_pending(spool), 3);
    s_expect(spool, b, 2);

    uint64_t empty = 0;
    ck_assert_int_eq(lyc_spool_append(spool, TOPIC, NULL, 0, NULL, 0, 7, &empty), 0);
    lyc_spool_record_t rec;
    ck_assert_int_eq(lyc_spool_read(spool, empty, &rec), 0);
    ck_assert_ptr_null(rec.key);
    ck_assert_ptr_null(rec.payload);
    ck_assert_uint_eq(rec.payload_len, 0);

    ck_assert_int_eq(lyc_spool_ack(spool, b), 0);
    ck_assert_int_eq(lyc_spool_ack(spool, b), -1); /* not pending any more */
    ck_assert_int_eq(lyc_spool_read(spool, b, &rec), -1);
    uint64_t seqs[8];
    ck_assert_uint_eq(s_pending_seqs(spool, seqs, 8), 3);
    ck_assert_uint_eq(seqs[0], a);
    ck_assert_uint_eq(seqs[1], c);
    ck_assert_uint_eq(seqs[2], empty);
    s_expect(spool, a, 1);
    s_expect(spool, c, 3);

    ck_assert_int_eq(lyc_spool_ack(spool, a), 0);
    ck_assert_int_eq(lyc_spool_ack(spool, c), 0);
    ck_assert_int_eq(lyc_spool_ack(spool, empty), 0);
    ck_assert_uint_eq(lyc_spool_pending(spool), 0);
    ck_assert_uint_eq(lyc_spool_bytes(spool), 0); /* all acknowledged: truncated */
    lyc_spool_destroy(&spool);
    ck_assert_ptr_null(spool);
    lyc_spool_destroy(&spool); /* NULL is fine */
}
END_TEST

START_TEST(test_restart_recovers_exactly_the_unacked)
{
    uint64_t seqs[10];
    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    for (int i = 0; i < 10; i++)
        seqs[i] = s_append(spool, i);
    for (int i = 0; i < 10; i += 2)
        ck_assert_int_eq(lyc_spool_ack(spool, seqs[i]), 0);
    lyc_spool_destroy(&spool);

    spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t got[10];
    ck_assert_uint_eq(s_pending_seqs(spool, got, 10), 5);
    for (int k = 0; k < 5; k++) {
        ck_assert_uint_eq(got[k], seqs[2 * k + 1]);
        s_expect(spool, got[k], 2 * k + 1);
    }
    uint64_t later = s_append(spool, 99);
    ck_assert_uint_gt(later, seqs[9]); /* seqs never repeat within a file */
    ck_assert_int_eq(lyc_spool_ack(spool, seqs[1]), 0);
    lyc_spool_destroy(&spool);

    spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    ck_assert_uint_eq(lyc_spool_pending(spool), 5);
    s_expect(spool, later, 99);
    lyc_spool_destroy(&spool);
}
END_TEST

START_TEST(test_bound_is_enforced)
{
    size_t one = lyc_spool_record_size(strlen(TOPIC), 2, 7); /* "k0", "event-0" */
    lyc_spool_t *spool = lyc_spool_new(s_dir, 10 * one, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t seqs[10];
    for (int i = 0; i < 10; i++)
        seqs[i] = s_append(spool, i);
    ck_assert_uint_eq(lyc_spool_bytes(spool), 10 * one);
    uint64_t seq = 0;
    ck_assert_int_eq(lyc_spool_append(spool, TOPIC, "k", 1, "x", 1, 0, &seq), -1);
    ck_assert_uint_eq(lyc_spool_pending(spool), 10);

    /* A record larger than the whole spool can never fit. */
    char big[2048] = {0};
    ck_assert_int_eq(lyc_spool_append(spool, TOPIC, NULL, 0, big, sizeof big, 0, &seq), -1);

    /* Acknowledging makes room again (the ack itself may not pass the bound). */
    ck_assert_int_eq(lyc_spool_ack(spool, seqs[0]), 0);
    ck_assert_int_eq(lyc_spool_ack(spool, seqs[1]), 0);
    ck_assert_uint_le(lyc_spool_bytes(spool), 10 * one);
    s_append(spool, 0); /* same size as the records acknowledged */
    s_append(spool, 1);
    ck_assert_uint_le(lyc_spool_bytes(spool), 10 * one);
    ck_assert_int_eq(lyc_spool_append(spool, TOPIC, "k", 1, "x", 1, 0, &seq), -1);
    ck_assert_uint_eq(lyc_spool_pending(spool), 10);
    lyc_spool_destroy(&spool);

    spool = lyc_spool_new(s_dir, 10 * one, false);
    ck_assert_ptr_nonnull(spool);
    ck_assert_uint_eq(lyc_spool_pending(spool), 10);
    lyc_spool_destroy(&spool);
}
END_TEST

START_TEST(test_bad_arguments_are_refused)
{
    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t seq = 0;
    char long_topic[LYC_SPOOL_TOPIC_MAX + 2];
    memset(long_topic, 't', sizeof long_topic - 1);
    long_topic[sizeof long_topic - 1] = '\0';
    ck_assert_int_eq(lyc_spool_append(spool, NULL, NULL, 0, "x", 1, 0, &seq), -1);
    ck_assert_int_eq(lyc_spool_append(spool, "", NULL, 0, "x", 1, 0, &seq), -1);
    ck_assert_int_eq(lyc_spool_append(spool, long_topic, NULL, 0, "x", 1, 0, &seq), -1);
    ck_assert_int_eq(lyc_spool_append(spool, TOPIC, NULL, 3, "x", 1, 0, &seq), -1);
    ck_assert_int_eq(lyc_spool_append(spool, TOPIC, NULL, 0, NULL, 1, 0, &seq), -1);
    ck_assert_int_eq(lyc_spool_ack(spool, 12345), -1);
    ck_assert_uint_eq(lyc_spool_pending(spool), 0);
    ck_assert_ptr_null(lyc_spool_new(NULL, 1 << 20, false));
    ck_assert_ptr_null(lyc_spool_new(s_dir, 8, false));
    lyc_spool_destroy(&spool);
}
END_TEST

START_TEST(test_second_opener_is_refused)
{
    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    ck_assert_ptr_null(lyc_spool_new(s_dir, 1 << 20, false));
    lyc_spool_destroy(&spool);
    spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool); /* the lock went with the first one */
    lyc_spool_destroy(&spool);
}
END_TEST

/* Writes five records, closes, and returns their seqs and the file size. */
static off_t s_five_records(uint64_t seqs[5])
{
    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    for (int i = 0; i < 5; i++)
        seqs[i] = s_append(spool, i);
    off_t size = (off_t) lyc_spool_bytes(spool);
    lyc_spool_destroy(&spool);
    return size;
}

START_TEST(test_torn_tail_is_skipped)
{
    uint64_t seqs[5];
    char path[128];
    off_t size = s_five_records(seqs);
    ck_assert_int_eq(truncate(s_file(path, sizeof path), size - 3), 0);

    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t got[5];
    ck_assert_uint_eq(s_pending_seqs(spool, got, 5), 4);
    for (int i = 0; i < 4; i++)
        s_expect(spool, got[i], i);
    uint64_t seq = s_append(spool, 5); /* lands after the good records, not the torn bytes */
    lyc_spool_destroy(&spool);

    spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    ck_assert_uint_eq(lyc_spool_pending(spool), 5);
    s_expect(spool, seq, 5);
    lyc_spool_destroy(&spool);
}
END_TEST

START_TEST(test_corrupt_record_and_garbage_tail_are_skipped)
{
    uint64_t seqs[5];
    char path[128];
    off_t size = s_five_records(seqs);
    off_t one = size / 5;
    int fd = open(s_file(path, sizeof path), O_RDWR);
    ck_assert_int_ge(fd, 0);
    char flip = 'X';
    ck_assert_int_eq(pwrite(fd, &flip, 1, one + one - 2), 1); /* inside record 1's payload */
    const char garbage[] = "\x4c\x59\x53\x31 not a record at all";
    ck_assert_int_eq(pwrite(fd, garbage, sizeof garbage, size), (ssize_t) sizeof garbage);
    close(fd);

    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t got[5];
    ck_assert_uint_eq(s_pending_seqs(spool, got, 5), 4);
    ck_assert_uint_eq(got[0], seqs[0]);
    ck_assert_uint_eq(got[1], seqs[2]); /* resynchronised after the bad record */
    s_expect(spool, got[3], 4);
    ck_assert_uint_eq(lyc_spool_bytes(spool), (uint64_t) (4 * one)); /* rewritten clean */
    lyc_spool_destroy(&spool);

    fd = open(s_file(path, sizeof path), O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "junk", 4), 4); /* a file of nothing but junk */
    close(fd);
    spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    ck_assert_uint_eq(lyc_spool_pending(spool), 0);
    ck_assert_uint_eq(lyc_spool_bytes(spool), 0);
    lyc_spool_destroy(&spool);
}
END_TEST

START_TEST(test_compaction)
{
    lyc_spool_t *spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t seqs[20];
    for (int i = 0; i < 20; i++)
        seqs[i] = s_append(spool, i);
    for (int i = 0; i < 20; i++) {
        if (i % 4 != 3)
            ck_assert_int_eq(lyc_spool_ack(spool, seqs[i]), 0);
    }
    uint64_t live = 0;
    for (int i = 3; i < 20; i += 4)
        live += lyc_spool_record_size(strlen(TOPIC), 2 + (i >= 10), 7 + (i >= 10));
    ck_assert_uint_gt(lyc_spool_bytes(spool), live);
    ck_assert_int_eq(lyc_spool_compact(spool), 0);
    ck_assert_uint_eq(lyc_spool_bytes(spool), live);
    for (int i = 3; i < 20; i += 4)
        s_expect(spool, seqs[i], i);
    lyc_spool_destroy(&spool);

    struct stat st;
    char path[128];
    ck_assert_int_eq(stat(s_file(path, sizeof path), &st), 0);
    ck_assert_int_eq(st.st_size, (off_t) live);
    spool = lyc_spool_new(s_dir, 1 << 20, false);
    ck_assert_ptr_nonnull(spool);
    ck_assert_uint_eq(lyc_spool_pending(spool), 5);
    for (int i = 3; i < 20; i += 4)
        s_expect(spool, seqs[i], i);
    for (int i = 3; i < 20; i += 4)
        ck_assert_int_eq(lyc_spool_ack(spool, seqs[i]), 0);
    ck_assert_uint_eq(lyc_spool_bytes(spool), 0);
    lyc_spool_destroy(&spool);
}
END_TEST

START_TEST(test_compacts_by_itself_under_churn)
{
    /* A steady stream with one record always pending never fully drains, so
     * only compaction keeps the file from growing to the bound. */
    size_t max = 64 * 1024;
    lyc_spool_t *spool = lyc_spool_new(s_dir, max, false);
    ck_assert_ptr_nonnull(spool);
    uint64_t held = s_append(spool, 0);
    uint64_t prev = 0;
    for (int i = 1; i < 5000; i++) {
        uint64_t seq = s_append(spool, i);
        if (prev)
            ck_assert_int_eq(lyc_spool_ack(spool, prev), 0);
        prev = seq;
        ck_assert_uint_le(lyc_spool_bytes(spool), max);
    }
    ck_assert_uint_eq(lyc_spool_pending(spool), 2);
    s_expect(spool, held, 0);
    s_expect(spool, prev, 4999);
    lyc_spool_destroy(&spool);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("spool");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_append_ack_replay_round_trip);
    tcase_add_test(tc, test_restart_recovers_exactly_the_unacked);
    tcase_add_test(tc, test_bound_is_enforced);
    tcase_add_test(tc, test_bad_arguments_are_refused);
    tcase_add_test(tc, test_second_opener_is_refused);
    tcase_add_test(tc, test_torn_tail_is_skipped);
    tcase_add_test(tc, test_corrupt_record_and_garbage_tail_are_skipped);
    tcase_add_test(tc, test_compaction);
    tcase_add_test(tc, test_compacts_by_itself_under_churn);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
