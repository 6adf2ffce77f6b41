/*
 * eventlog.c - the event log over librdkafka: spooled idempotent producer,
 * consumer-group reader, topic creation.
 *
 * The producer's life of a record: lyc_producer_send appends it to the spool
 * and produces it with its spool seq as the message opaque. The delivery
 * report either acknowledges the seq in the spool or puts it on the retry
 * queue; lyc_producer_poll produces queued seqs again, reading them back from
 * the spool, once the back-off (250 ms doubling to 5 s, reset by any success)
 * has passed. A new producer queues everything its spool still holds. A seq is
 * in librdkafka or on the retry queue, never both, so a record is never in
 * flight twice from one producer. After a fatal librdkafka error (idempotence
 * state lost) the instance is rebuilt and every pending seq is queued again.
 */
#include "eventlog.h"

#include "clock.h"
#include "log.h"
#include "spool.h"

#include <assert.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(void *) >= sizeof(uint64_t),
               "spool seqs travel to the delivery report as message opaques");

#define S_BACKOFF_MIN_US 250000  /* first resend delay after failed deliveries */
#define S_BACKOFF_MAX_US 5000000 /* the delay doubles up to this */
#define S_QUEUE_FULL_US  10000   /* retry delay when librdkafka's queue is full */
#define S_RESEND_BATCH   1000    /* resends per poll, so a poll stays short */
#define S_FLUSH_SLICE_MS 100     /* flush polls in slices of this */
#define S_REFUSAL_LOG_US 1000000 /* at most one "spool full" line per second */
#define S_ERRSTR         512     /* librdkafka's errstr size */

/* Settings the event log sets itself; the pass-through list may not touch them. */
static const char *const s_fixed_keys[] = {
    "bootstrap.servers",
    "metadata.broker.list",
    "client.id",
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "enable.partition.eof",
};

/* --- settings ---------------------------------------------------------- */

static void s_errf(char *errbuf, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_errf(char *errbuf, size_t errcap, const char *fmt, ...)
{
    if (!errbuf || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errcap, fmt, ap);
    va_end(ap);
}

/* librdkafka's log lines, as Lyceum log lines (called from librdkafka threads;
 * lyc_log_write is one write(2) per line). */
static void s_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    lyc_log_level_t lvl = level <= 2   ? LYC_LOG_ERROR
                          : level <= 4 ? LYC_LOG_WARN
                          : level <= 6 ? LYC_LOG_INFO
                                       : LYC_LOG_DEBUG;
    LYC_LOG(lvl, NULL, "kafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

/* A client-level error librdkafka recovers from by itself. Connection
 * failures are already in librdkafka's own log line, so they go to debug. */
static void s_log_transient(rd_kafka_t *rk, int err, const char *reason)
{
    lyc_log_level_t level = err == RD_KAFKA_RESP_ERR__TRANSPORT ? LYC_LOG_DEBUG : LYC_LOG_WARN;
    LYC_LOG(level, NULL, "event log %s: %s: %s", rd_kafka_name(rk),
            rd_kafka_err2name((rd_kafka_resp_err_t) err), reason);
}

static int s_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errbuf,
                 size_t errcap)
{
    char errstr[S_ERRSTR];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
        return 0;
    s_errf(errbuf, errcap, "setting '%s=%s' rejected: %s", key, value, errstr);
    return -1;
}

static bool s_fixed(const char *key)
{
    for (size_t i = 0; i < sizeof s_fixed_keys / sizeof s_fixed_keys[0]; i++) {
        if (strcmp(key, s_fixed_keys[i]) == 0)
            return true;
    }
    return false;
}

/* Applies one "key=value" pass-through setting. */
static int s_apply_setting(rd_kafka_conf_t *conf, const char *setting, char *errbuf, size_t errcap)
{
    const char *eq = setting ? strchr(setting, '=') : NULL;
    if (!eq || eq == setting) {
        s_errf(errbuf, errcap, "setting '%s' is not key=value", setting ? setting : "(null)");
        return -1;
    }
    char *key = strndup(setting, (size_t) (eq - setting));
    if (!key) {
        s_errf(errbuf, errcap, "out of memory");
        return -1;
    }
    int rc = -1;
    if (s_fixed(key))
        s_errf(errbuf, errcap, "setting '%s' is fixed by the event log and cannot be changed", key);
    else
        rc = s_set(conf, key, eq + 1, errbuf, errcap);
    free(key);
    return rc;
}

static int s_apply_settings(rd_kafka_conf_t *conf, const char *const *settings, size_t count,
                            char *errbuf, size_t errcap)
{
    if (count > 0 && !settings) {
        s_errf(errbuf, errcap, "%zu settings announced but none given", count);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (s_apply_setting(conf, settings[i], errbuf, errcap) != 0)
            return -1;
    }
    return 0;
}

int lyc_eventlog_settings_check(const char *const *settings, size_t count, char *errbuf,
                                size_t errcap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = s_apply_settings(conf, settings, count, errbuf, errcap);
    rd_kafka_conf_destroy(conf);
    return rc;
}

/* A configuration with the pass-through settings, the brokers, the client id
 * and the log callback; NULL with the reason in errbuf. */
static rd_kafka_conf_t *s_conf_new(const char *brokers, const char *client_id,
                                   const char *const *settings, size_t count, char *errbuf,
                                   size_t errcap)
{
    if (!brokers || !*brokers) {
        s_errf(errbuf, errcap, "no brokers given");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (s_apply_settings(conf, settings, count, errbuf, errcap) != 0 ||
        s_set(conf, "bootstrap.servers", brokers, errbuf, errcap) != 0 ||
        s_set(conf, "client.id", client_id ? client_id : LYC_EVENTLOG_CLIENT_ID, errbuf, errcap) !=
            0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, s_on_log);
    return conf;
}

/* --- the producer's retry queue: seqs waiting for a resend, oldest first -- */

typedef struct {
    uint64_t *seqs;
    size_t head, tail, cap;
} s_queue_t;

static int s_queue_push(s_queue_t *q, uint64_t seq)
{
    if (q->tail == q->cap && q->head > 0) {
        memmove(q->seqs, q->seqs + q->head, (q->tail - q->head) * sizeof *q->seqs);
        q->tail -= q->head;
        q->head = 0;
    }
    if (q->tail == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        uint64_t *grown = realloc(q->seqs, cap * sizeof *grown);
        if (!grown)
            return -1;
        q->seqs = grown;
        q->cap = cap;
    }
    q->seqs[q->tail++] = seq;
    return 0;
}

static bool s_queue_empty(const s_queue_t *q)
{
    return q->head == q->tail;
}

static uint64_t s_queue_peek(const s_queue_t *q)
{
    return q->seqs[q->head];
}

static void s_queue_pop(s_queue_t *q)
{
    if (++q->head == q->tail)
        q->head = q->tail = 0;
}

/* --- producer ---------------------------------------------------------- */

struct lyc_producer {
    rd_kafka_t *rk;
    rd_kafka_conf_t *conf; /* template: rebuilding after a fatal error starts from a copy */
    lyc_spool_t *spool;
    char *spool_dir;
    uint64_t spool_max_bytes;
    size_t max_message_bytes; /* message.max.bytes: larger records are refused */
    int close_timeout_ms;
    s_queue_t retry;
    int64_t retry_at_us; /* monotonic time the retry queue may be worked on */
    int64_t backoff_us;
    int round_scheduled;            /* a resend round is due at retry_at_us */
    bool fatal;                     /* librdkafka raised a fatal error: rebuild before producing */
    bool closing;                   /* the instance is going away: ignore its delivery reports */
    uint64_t failed;                /* failed deliveries since the last summary line */
    rd_kafka_resp_err_t failed_err; /* the last of them */
    int64_t refusal_logged_us;
    uint64_t refusals_unlogged;
    lyc_producer_stats_t stats;
};

/* const-correct callers, non-const librdkafka varargs. */
static void *s_unconst(const void *p)
{
    return (void *) (uintptr_t) p;
}

static rd_kafka_resp_err_t s_produce(lyc_producer_t *self, uint64_t seq, const char *topic,
                                     const void *key, size_t key_len, const void *payload,
                                     size_t len, int64_t timestamp_ms)
{
    return rd_kafka_producev(
        self->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(s_unconst(key), key_len), RD_KAFKA_V_VALUE(s_unconst(payload), len),
        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_OPAQUE((void *) (uintptr_t) seq),
        RD_KAFKA_V_END);
}

/* Delivery report: acknowledge in the spool, or queue for a resend. */
static void s_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    lyc_producer_t *self = opaque;
    uint64_t seq = (uint64_t) (uintptr_t) m->_private;
    if (self->closing)
        return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (lyc_spool_ack(self->spool, seq) == 0)
            self->stats.delivered++;
        self->backoff_us = S_BACKOFF_MIN_US;
        return;
    }
    self->failed++;
    self->failed_err = m->err;
    if (s_queue_push(&self->retry, seq) != 0)
        LYC_ERROR(NULL,
                  "event log: out of memory; record %" PRIu64 " waits in spool %s for "
                  "the next start",
                  seq, self->spool_dir);
}

static void s_producer_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    lyc_producer_t *self = opaque;
    if (err != RD_KAFKA_RESP_ERR__FATAL) {
        s_log_transient(rk, err, reason);
        return;
    }
    char errstr[S_ERRSTR];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, errstr, sizeof errstr);
    LYC_ERROR(NULL, "event log %s: fatal error %s: %s; rebuilding the client", rd_kafka_name(rk),
              rd_kafka_err2name(orig), errstr);
    self->fatal = true;
}

/* After a poll: one summary line for the failed deliveries, and the back-off. */
static void s_after_deliveries(lyc_producer_t *self)
{
    if (self->failed == 0)
        return;
    LYC_WARN(NULL,
             "event log: %" PRIu64 " records not delivered (%s); resending from spool %s "
             "in %" PRId64 " ms",
             self->failed, rd_kafka_err2str(self->failed_err), self->spool_dir,
             self->backoff_us / 1000);
    /* Failures of one outage arrive over many polls: the first schedules the
     * round, later ones join it instead of pushing it back. The back-off
     * grows per round (s_resend_due), not per failed record. */
    int64_t now = lyc_mono_us();
    if (!self->round_scheduled) {
        self->retry_at_us = now + self->backoff_us;
        self->round_scheduled = 1;
    }
    self->failed = 0;
}

/* Produces seq again from the spool. A seq that is no longer pending, or
 * cannot be read (logged by the spool), is done for this process. */
static rd_kafka_resp_err_t s_resend(lyc_producer_t *self, uint64_t seq)
{
    lyc_spool_record_t rec;
    if (lyc_spool_read(self->spool, seq, &rec) != 0)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = s_produce(self, seq, rec.topic, rec.key, rec.key_len, rec.payload,
                                        rec.payload_len, rec.timestamp_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        self->stats.resent++;
    return err;
}

/* Works on the retry queue once its back-off has passed. */
static void s_resend_due(lyc_producer_t *self)
{
    int64_t now = lyc_mono_us();
    if (s_queue_empty(&self->retry) || now < self->retry_at_us || self->fatal)
        return;
    if (self->round_scheduled) {
        /* A round starts: if its records fail again, the next one waits longer. */
        self->round_scheduled = 0;
        self->backoff_us =
            self->backoff_us * 2 > S_BACKOFF_MAX_US ? S_BACKOFF_MAX_US : self->backoff_us * 2;
    }
    for (int n = 0; n < S_RESEND_BATCH && !s_queue_empty(&self->retry); n++) {
        rd_kafka_resp_err_t err = s_resend(self, s_queue_peek(&self->retry));
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            self->retry_at_us = now + S_QUEUE_FULL_US;
            return;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            LYC_WARN(NULL, "event log: resend failed (%s); trying again in %" PRId64 " ms",
                     rd_kafka_err2str(err), self->backoff_us / 1000);
            self->retry_at_us = now + self->backoff_us;
            return;
        }
        s_queue_pop(&self->retry);
    }
}

/* Queues every pending record of the spool for a resend now. */
static void s_requeue_all(lyc_producer_t *self)
{
    self->retry.head = self->retry.tail = 0;
    for (uint64_t seq = lyc_spool_next(self->spool, 0); seq;
         seq = lyc_spool_next(self->spool, seq)) {
        if (s_queue_push(&self->retry, seq) != 0) {
            LYC_ERROR(NULL,
                      "event log: out of memory queueing spool %s; the rest waits for "
                      "the next start",
                      self->spool_dir);
            break;
        }
    }
    self->retry_at_us = lyc_mono_us();
}

/* A fresh librdkafka instance from the configuration template. */
static int s_producer_start(lyc_producer_t *self)
{
    char errstr[S_ERRSTR];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(self->conf);
    self->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!self->rk) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new owns conf only on success */
        LYC_ERROR(NULL, "event log: cannot create the producer: %s", errstr);
        return -1;
    }
    return 0;
}

/* Drops the librdkafka instance without waiting; its records stay pending. */
static void s_producer_stop(lyc_producer_t *self)
{
    if (!self->rk)
        return;
    self->closing = true;
    rd_kafka_resp_err_t err =
        rd_kafka_purge(self->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        LYC_WARN(NULL, "event log: purge before close failed: %s", rd_kafka_err2str(err));
    rd_kafka_poll(self->rk, 0); /* serves the purged reports, which closing ignores */
    rd_kafka_destroy(self->rk);
    self->rk = NULL;
    self->closing = false;
}

/* After a fatal error: a new instance (new producer id), everything pending again. */
static int s_rebuild(lyc_producer_t *self)
{
    s_producer_stop(self);
    if (s_producer_start(self) != 0)
        return -1;
    self->fatal = false;
    s_requeue_all(self);
    LYC_INFO(NULL, "event log: producer rebuilt; resending %zu records from spool %s",
             lyc_spool_pending(self->spool), self->spool_dir);
    return 0;
}

/* The producer's librdkafka configuration, kept as the template. */
static int s_producer_conf(lyc_producer_t *self, const lyc_producer_config_t *cfg)
{
    char errbuf[S_ERRSTR], timeout[24], max[32];
    size_t max_len = sizeof max;
    int ms = cfg->message_timeout_ms ? cfg->message_timeout_ms : LYC_EVENTLOG_MESSAGE_TIMEOUT_MS;
    snprintf(timeout, sizeof timeout, "%d", ms);
    rd_kafka_conf_t *conf = s_conf_new(cfg->brokers, cfg->client_id, cfg->settings,
                                       cfg->settings_count, errbuf, sizeof errbuf);
    if (!conf)
        goto out_log;
    if (s_set(conf, "enable.idempotence", "true", errbuf, sizeof errbuf) != 0 ||
        s_set(conf, "acks", "all", errbuf, sizeof errbuf) != 0 ||
        s_set(conf, "message.timeout.ms", timeout, errbuf, sizeof errbuf) != 0)
        goto out_destroy_conf;
    if (rd_kafka_conf_get(conf, "message.max.bytes", max, &max_len) != RD_KAFKA_CONF_OK) {
        snprintf(errbuf, sizeof errbuf, "cannot read message.max.bytes");
        goto out_destroy_conf;
    }
    self->max_message_bytes = (size_t) strtoull(max, NULL, 10);
    rd_kafka_conf_set_dr_msg_cb(conf, s_on_delivery);
    rd_kafka_conf_set_error_cb(conf, s_producer_on_error);
    rd_kafka_conf_set_opaque(conf, self);
    self->conf = conf;
    return 0;

out_destroy_conf:
    rd_kafka_conf_destroy(conf);
out_log:
    LYC_ERROR(NULL, "event log producer: %s", errbuf);
    return -1;
}

static int s_producer_config_check(const lyc_producer_config_t *cfg)
{
    if (!cfg || !cfg->spool_dir || !*cfg->spool_dir || cfg->message_timeout_ms < 0) {
        LYC_ERROR(NULL, "event log producer: needs a config with a spool_dir and "
                        "message_timeout_ms >= 0");
        return -1;
    }
    return 0;
}

lyc_producer_t *lyc_producer_new(const lyc_producer_config_t *cfg)
{
    if (s_producer_config_check(cfg) != 0)
        return NULL;
    lyc_producer_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "event log producer: out of memory");
        return NULL;
    }
    self->close_timeout_ms = -1; /* a half-made producer closes without waiting */
    self->backoff_us = S_BACKOFF_MIN_US;
    self->spool_max_bytes =
        cfg->spool_max_bytes ? cfg->spool_max_bytes : LYC_EVENTLOG_SPOOL_MAX_BYTES;
    self->spool_dir = strdup(cfg->spool_dir);
    if (!self->spool_dir || s_producer_conf(self, cfg) != 0)
        goto out_destroy;
    self->spool = lyc_spool_new(cfg->spool_dir, self->spool_max_bytes, !cfg->spool_nosync);
    if (!self->spool || s_producer_start(self) != 0)
        goto out_destroy;
    s_requeue_all(self);
    self->close_timeout_ms =
        cfg->close_timeout_ms ? cfg->close_timeout_ms : LYC_EVENTLOG_CLOSE_TIMEOUT_MS;
    LYC_INFO(NULL, "event log producer %s: brokers %s, spool %s, %zu records to resend",
             rd_kafka_name(self->rk), cfg->brokers, self->spool_dir,
             lyc_spool_pending(self->spool));
    return self;

out_destroy:
    lyc_producer_destroy(&self);
    return NULL;
}

void lyc_producer_destroy(lyc_producer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_producer_t *self = *self_p;
    if (self->rk && self->close_timeout_ms > 0)
        lyc_producer_flush(self, self->close_timeout_ms);
    if (self->spool && lyc_spool_pending(self->spool) > 0)
        LYC_WARN(NULL,
                 "event log: closing with %zu records undelivered; they stay in spool %s "
                 "for the next start",
                 lyc_spool_pending(self->spool), self->spool_dir);
    s_producer_stop(self);
    if (self->conf)
        rd_kafka_conf_destroy(self->conf);
    lyc_spool_destroy(&self->spool);
    free(self->retry.seqs);
    free(self->spool_dir);
    free(self);
    *self_p = NULL;
}

static int s_send_check(lyc_producer_t *self, const char *topic, const void *key, size_t key_len,
                        const void *payload, size_t len)
{
    size_t topic_len = topic ? strlen(topic) : 0;
    if (topic_len == 0 || topic_len > LYC_SPOOL_TOPIC_MAX || (!key && key_len) ||
        (!payload && len)) {
        LYC_ERROR(NULL,
                  "event log: record refused: bad arguments (topic of %zu bytes, key of "
                  "%zu bytes%s, payload of %zu bytes%s)",
                  topic_len, key_len, !key && key_len ? " but NULL" : "", len,
                  !payload && len ? " but NULL" : "");
        return -1;
    }
    if (key_len + len > self->max_message_bytes) {
        LYC_ERROR(NULL,
                  "event log: record for %s refused: %zu bytes of key and payload exceed "
                  "message.max.bytes (%zu)",
                  topic, key_len + len, self->max_message_bytes);
        return -1;
    }
    return 0;
}

/* Says why the spool refused a record, at most once a second under pressure. */
static void s_log_refusal(lyc_producer_t *self, const char *topic, size_t need)
{
    int64_t now = lyc_mono_us();
    if (self->refusal_logged_us && now - self->refusal_logged_us < S_REFUSAL_LOG_US) {
        self->refusals_unlogged++;
        return;
    }
    uint64_t bytes = lyc_spool_bytes(self->spool);
    if (bytes + need > self->spool_max_bytes)
        LYC_WARN(NULL,
                 "event log: record for %s refused: spool %s is full (%" PRIu64 " of %" PRIu64
                 " bytes, %zu records pending; %" PRIu64 " more refused since the last line)",
                 topic, self->spool_dir, bytes, self->spool_max_bytes,
                 lyc_spool_pending(self->spool), self->refusals_unlogged);
    else
        LYC_WARN(NULL, "event log: record for %s refused: spool %s cannot write (see above)", topic,
                 self->spool_dir);
    self->refusal_logged_us = now;
    self->refusals_unlogged = 0;
}

int lyc_producer_send(lyc_producer_t *self, const char *topic, const void *key, size_t key_len,
                      const void *payload, size_t len)
{
    if (!self)
        return -1;
    if (s_send_check(self, topic, key, key_len, payload, len) != 0) {
        self->stats.rejected++;
        return -1;
    }
    uint64_t seq;
    int64_t now_ms = lyc_wall_us() / 1000;
    if (lyc_spool_append(self->spool, topic, key, key_len, payload, len, now_ms, &seq) != 0) {
        s_log_refusal(self, topic, lyc_spool_record_size(strlen(topic), key_len, len));
        self->stats.rejected++;
        return -1;
    }
    self->stats.accepted++;
    rd_kafka_resp_err_t err = self->fatal
                                  ? RD_KAFKA_RESP_ERR__FATAL
                                  : s_produce(self, seq, topic, key, key_len, payload, len, now_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    /* Accepted all the same: the spool has it, the retry queue takes it. */
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        LYC_WARN(NULL, "event log: produce to %s deferred: %s", topic, rd_kafka_err2str(err));
    if (s_queue_push(&self->retry, seq) != 0)
        LYC_ERROR(NULL,
                  "event log: out of memory; record %" PRIu64 " waits in spool %s for the "
                  "next start",
                  seq, self->spool_dir);
    int64_t delay = err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? S_QUEUE_FULL_US : self->backoff_us;
    if (self->retry_at_us < lyc_mono_us() + delay)
        self->retry_at_us = lyc_mono_us() + delay;
    return 0;
}

/* How long a poll may block: no longer than until the next resend is due. */
static int s_wait_ms(const lyc_producer_t *self, int timeout_ms)
{
    if (timeout_ms <= 0 || s_queue_empty(&self->retry))
        return timeout_ms < 0 ? 0 : timeout_ms;
    int64_t due_ms = (self->retry_at_us - lyc_mono_us() + 999) / 1000;
    if (due_ms <= 0)
        return 0;
    return due_ms < timeout_ms ? (int) due_ms : timeout_ms;
}

int lyc_producer_poll(lyc_producer_t *self, int timeout_ms)
{
    assert(self); /* a NULL here is a bug in the caller */
    if (self->fatal && s_rebuild(self) != 0)
        return -1;
    s_resend_due(self);
    rd_kafka_poll(self->rk, s_wait_ms(self, timeout_ms));
    s_after_deliveries(self);
    s_resend_due(self);
    return 0;
}

size_t lyc_producer_flush(lyc_producer_t *self, int timeout_ms)
{
    assert(self); /* a NULL here is a bug in the caller */
    int64_t deadline = lyc_mono_us() + (int64_t) timeout_ms * 1000;
    while (lyc_spool_pending(self->spool) > 0) {
        int64_t left_ms = (deadline - lyc_mono_us()) / 1000;
        if (left_ms <= 0)
            break;
        int slice = left_ms < S_FLUSH_SLICE_MS ? (int) left_ms : S_FLUSH_SLICE_MS;
        if (lyc_producer_poll(self, slice) != 0)
            break;
    }
    return lyc_spool_pending(self->spool);
}

size_t lyc_producer_pending(const lyc_producer_t *self)
{
    assert(self); /* a NULL here is a bug in the caller */
    return lyc_spool_pending(self->spool);
}

void lyc_producer_stats(const lyc_producer_t *self, lyc_producer_stats_t *stats)
{
    assert(self); /* a NULL here is a bug in the caller */
    *stats = self->stats;
}

/* --- consumer ---------------------------------------------------------- */

struct lyc_consumer {
    rd_kafka_t *rk;
    rd_kafka_message_t *held; /* the record last returned; freed on the next poll */
    bool fatal;
};

static void s_consumer_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    lyc_consumer_t *self = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        LYC_ERROR(NULL, "event log %s: fatal error: %s", rd_kafka_name(rk), reason);
        self->fatal = true;
        return;
    }
    s_log_transient(rk, err, reason);
}

/* The consumer's librdkafka configuration; NULL with the reason in errbuf. */
static rd_kafka_conf_t *s_consumer_conf(lyc_consumer_t *self, const lyc_consumer_config_t *cfg,
                                        char *errbuf, size_t errcap)
{
    const char *reset = cfg->auto_offset_reset ? cfg->auto_offset_reset : LYC_EVENTLOG_OFFSET_RESET;
    rd_kafka_conf_t *conf = s_conf_new(cfg->brokers, cfg->client_id, cfg->settings,
                                       cfg->settings_count, errbuf, errcap);
    if (!conf)
        return NULL;
    if (s_set(conf, "group.id", cfg->group_id, errbuf, errcap) != 0 ||
        s_set(conf, "enable.auto.commit", "false", errbuf, errcap) != 0 ||
        s_set(conf, "auto.offset.reset", reset, errbuf, errcap) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, s_consumer_on_error);
    rd_kafka_conf_set_opaque(conf, self);
    return conf;
}

static int s_subscribe(lyc_consumer_t *self, const lyc_consumer_config_t *cfg)
{
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new((int) cfg->topic_count);
    for (size_t i = 0; i < cfg->topic_count; i++)
        rd_kafka_topic_partition_list_add(topics, cfg->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(self->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LYC_ERROR(NULL, "event log consumer: cannot subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static int s_consumer_config_check(const lyc_consumer_config_t *cfg)
{
    bool ok = cfg && cfg->group_id && *cfg->group_id && cfg->topics && cfg->topic_count > 0;
    for (size_t i = 0; ok && i < cfg->topic_count; i++)
        ok = cfg->topics[i] && *cfg->topics[i];
    if (!ok)
        LYC_ERROR(NULL, "event log consumer: needs a config with a group_id and topics");
    return ok ? 0 : -1;
}

lyc_consumer_t *lyc_consumer_new(const lyc_consumer_config_t *cfg)
{
    char errbuf[S_ERRSTR];
    if (s_consumer_config_check(cfg) != 0)
        return NULL;
    lyc_consumer_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "event log consumer: out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = s_consumer_conf(self, cfg, errbuf, sizeof errbuf);
    if (!conf)
        goto out_log;
    self->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, sizeof errbuf);
    if (!self->rk) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new owns conf only on success */
        goto out_log;
    }
    rd_kafka_poll_set_consumer(self->rk); /* errors and logs arrive in consumer polls */
    if (s_subscribe(self, cfg) != 0)
        goto out_destroy;
    LYC_INFO(NULL, "event log consumer %s: group %s, %zu topics from %s", rd_kafka_name(self->rk),
             cfg->group_id, cfg->topic_count, cfg->brokers);
    return self;

out_log:
    LYC_ERROR(NULL, "event log consumer: %s", errbuf);
out_destroy:
    lyc_consumer_destroy(&self);
    return NULL;
}

void lyc_consumer_destroy(lyc_consumer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_consumer_t *self = *self_p;
    if (self->held)
        rd_kafka_message_destroy(self->held);
    if (self->rk) {
        if (!self->fatal)
            lyc_consumer_commit(self); /* logs its own failure */
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(self->rk);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            LYC_WARN(NULL, "event log consumer: close: %s", rd_kafka_err2str(err));
        rd_kafka_destroy(self->rk);
    }
    free(self);
    *self_p = NULL;
}

static void s_record_fill(const rd_kafka_message_t *m, lyc_record_t *out)
{
    rd_kafka_timestamp_type_t type;
    *out = (lyc_record_t){
        .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition,
        .offset = m->offset,
        .key = m->key_len ? m->key : NULL,
        .key_len = m->key_len,
        .payload = m->len ? m->payload : NULL,
        .len = m->len,
        .timestamp_ms = rd_kafka_message_timestamp(m, &type),
    };
}

int lyc_consumer_poll(lyc_consumer_t *self, int timeout_ms, lyc_record_t *out)
{
    if (!self || !out || self->fatal)
        return -1;
    if (self->held) {
        rd_kafka_message_destroy(self->held);
        self->held = NULL;
    }
    int64_t deadline = lyc_mono_us() + (int64_t) (timeout_ms > 0 ? timeout_ms : 0) * 1000;
    for (;;) {
        int64_t left_ms = (deadline - lyc_mono_us() + 999) / 1000;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(self->rk, left_ms > 0 ? (int) left_ms : 0);
        if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s_record_fill(m, out);
            self->held = m;
            return 1;
        }
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                self->fatal = true;
            LYC_WARN(NULL, "event log %s: %s", rd_kafka_name(self->rk), rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        if (self->fatal)
            return -1;
        if (left_ms <= 0)
            return 0;
    }
}

int lyc_consumer_commit(lyc_consumer_t *self)
{
    assert(self); /* a NULL here is a bug in the caller */
    rd_kafka_resp_err_t err = rd_kafka_commit(self->rk, NULL, 0);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return 0;
    LYC_ERROR(NULL, "event log %s: commit failed: %s", rd_kafka_name(self->rk),
              rd_kafka_err2str(err));
    return -1;
}

/* --- admin ------------------------------------------------------------- */

static void s_new_topics_destroy(rd_kafka_NewTopic_t **topics, size_t n)
{
    if (topics)
        rd_kafka_NewTopic_destroy_array(topics, n);
    free(topics);
}

static rd_kafka_NewTopic_t **s_new_topics(const char *const *names, const int *partitions, size_t n,
                                          char *errbuf, size_t errcap)
{
    char errstr[S_ERRSTR];
    rd_kafka_NewTopic_t **topics = calloc(n, sizeof *topics);
    if (!topics) {
        s_errf(errbuf, errcap, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        topics[i] = rd_kafka_NewTopic_new(names[i] ? names[i] : "", partitions[i], -1, errstr,
                                          sizeof errstr);
        if (!topics[i]) {
            s_errf(errbuf, errcap, "topic '%s': %s", names[i] ? names[i] : "(null)", errstr);
            s_new_topics_destroy(topics, i);
            return NULL;
        }
    }
    return topics;
}

/* Reads a CreateTopics answer: every topic created or already there. */
static int s_create_topics_result(rd_kafka_event_t *ev, int timeout_ms, char *errbuf, size_t errcap)
{
    if (!ev) {
        s_errf(errbuf, errcap, "no answer to CreateTopics within %d ms", timeout_ms);
        return -1;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s_errf(errbuf, errcap, "CreateTopics failed: %s", rd_kafka_event_error_string(ev));
        return -1;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            s_errf(errbuf, errcap, "topic '%s': %s", rd_kafka_topic_result_name(res[i]),
                   rd_kafka_topic_result_error_string(res[i]));
            return -1;
        }
    }
    return 0;
}

/* Sends CreateTopics on rk and waits for the answer. */
static int s_create_topics(rd_kafka_t *rk, rd_kafka_NewTopic_t **topics, size_t n, int timeout_ms,
                           char *errbuf, size_t errcap)
{
    char errstr[S_ERRSTR];
    rd_kafka_AdminOptions_t *options =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof errstr) ||
        rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof errstr)) {
        s_errf(errbuf, errcap, "bad timeout %d ms: %s", timeout_ms, errstr);
        rd_kafka_AdminOptions_destroy(options);
        return -1;
    }
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, topics, n, options, queue);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, timeout_ms + 1000);
    int rc = s_create_topics_result(ev, timeout_ms, errbuf, errcap);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(options);
    return rc;
}

/* A throw-away client for admin requests; NULL with the reason in errbuf. */
static rd_kafka_t *s_admin_client(const char *brokers, char *errbuf, size_t errcap)
{
    rd_kafka_conf_t *conf = s_conf_new(brokers, NULL, NULL, 0, errbuf, errcap);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errcap);
    if (!rk)
        rd_kafka_conf_destroy(conf); /* rd_kafka_new owns conf only on success */
    return rk;
}

int lyc_eventlog_create_topics(const char *brokers, const char *const *names, const int *partitions,
                               size_t n, int timeout_ms, char *errbuf, size_t errcap)
{
    char why[S_ERRSTR];
    int rc = -1;
    if (!names || !partitions || n == 0 || timeout_ms <= 0) {
        snprintf(why, sizeof why, "needs names, partition counts and a time-out");
        goto out_log;
    }
    rd_kafka_t *rk = s_admin_client(brokers, why, sizeof why);
    if (!rk)
        goto out_log;
    rd_kafka_NewTopic_t **topics = s_new_topics(names, partitions, n, why, sizeof why);
    if (topics)
        rc = s_create_topics(rk, topics, n, timeout_ms, why, sizeof why);
    s_new_topics_destroy(topics, n);
    rd_kafka_destroy(rk);
    if (rc == 0)
        return 0;
out_log:
    LYC_ERROR(NULL, "event log: cannot create topics: %s", why);
    s_errf(errbuf, errcap, "%s", why);
    return -1;
}
