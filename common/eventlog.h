/*
 * eventlog.h - Lyceum's event log on Kafka (librdkafka): a producer that
 * loses nothing it accepted, a consumer-group reader with committed offsets,
 * and a helper that creates topics.
 *
 * Delivery is at least once. The producer writes every accepted record to a
 * local spool (spool.h) before Kafka sees it and forgets it only when the
 * broker has acknowledged it (idempotent producer, acks=all). Records the
 * broker did not take in time - an outage, a full local queue - are produced
 * again from the spool with back-off, and a producer started on the same spool
 * directory after a crash or a restart produces everything still unacknowledged.
 * A record can therefore reach the topic twice (e.g. the broker wrote it but
 * the acknowledgement was lost): consumers drop duplicates by the event id
 * every Lyceum event carries. Order across partitions is not kept, and a
 * resent record may land after newer ones.
 *
 * Threads: each producer and consumer belongs to one thread; librdkafka's own
 * threads only log. Callbacks run inside lyc_producer_poll/flush.
 */
#ifndef LYCEUM_EVENTLOG_H
#define LYCEUM_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lyc_producer lyc_producer_t;
typedef struct lyc_consumer lyc_consumer_t;

/* Defaults the config structs fall back to when a field is 0 or NULL. */
#define LYC_EVENTLOG_CLIENT_ID          "lyceum"
#define LYC_EVENTLOG_SPOOL_MAX_BYTES    (64u << 20)
#define LYC_EVENTLOG_MESSAGE_TIMEOUT_MS 10000
#define LYC_EVENTLOG_CLOSE_TIMEOUT_MS   5000
#define LYC_EVENTLOG_OFFSET_RESET       "earliest"

/* Producer settings. Only brokers and spool_dir are required; every pointer
 * is read during lyc_producer_new and not kept. */
typedef struct {
    const char *brokers;         /* bootstrap.servers, "host:port,..." */
    const char *client_id;       /* client.id; NULL: LYC_EVENTLOG_CLIENT_ID */
    const char *spool_dir;       /* the spool's directory, one producer at a time */
    size_t spool_max_bytes;      /* bound of the spool file; 0: LYC_EVENTLOG_SPOOL_MAX_BYTES */
    bool spool_nosync;           /* skip fdatasync per record: survives a crash of the
                                    process, not of the machine; default off (sync) */
    int message_timeout_ms;      /* how long librdkafka tries before the record goes back to
                                    the spool for a resend; 0: LYC_EVENTLOG_MESSAGE_TIMEOUT_MS */
    int close_timeout_ms;        /* how long destroy waits for deliveries; 0: the default
                                    LYC_EVENTLOG_CLOSE_TIMEOUT_MS, < 0: do not wait */
    const char *const *settings; /* extra librdkafka "key=value" settings (TLS, SASL...) */
    size_t settings_count;
} lyc_producer_config_t;

/* What a producer has done since it was made. */
typedef struct {
    uint64_t accepted;  /* sends that returned 0 */
    uint64_t delivered; /* records the broker acknowledged */
    uint64_t resent;    /* records produced again from the spool (after a failed delivery,
                           a full queue, or a restart) */
    uint64_t rejected;  /* sends that returned -1 */
} lyc_producer_stats_t;

/* Consumer settings. brokers, group_id and at least one topic are required;
 * every pointer is read during lyc_consumer_new and not kept. */
typedef struct {
    const char *brokers;       /* bootstrap.servers */
    const char *client_id;     /* NULL: LYC_EVENTLOG_CLIENT_ID */
    const char *group_id;      /* the consumer group; members share the partitions */
    const char *const *topics; /* topics to subscribe to */
    size_t topic_count;
    const char *auto_offset_reset; /* where a group without a committed offset starts:
                                      "earliest" or "latest"; NULL: "earliest" */
    const char *const *settings;   /* extra librdkafka "key=value" settings */
    size_t settings_count;
} lyc_consumer_config_t;

/* One record read from Kafka. The pointers belong to the consumer and stay
 * valid until the next lyc_consumer_poll or lyc_consumer_destroy. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL when the record has no key */
    size_t key_len;
    const void *payload; /* NULL when the payload is empty */
    size_t len;
    int64_t timestamp_ms; /* producer's time (first acceptance), -1 when unknown */
} lyc_record_t;

/* Checks a list of extra librdkafka settings the way the producer and
 * consumer will apply them: each must be "key=value", a property librdkafka
 * knows with a value it accepts, and not one the event log fixes itself
 * (bootstrap.servers, client.id, acks, enable.idempotence, message.timeout.ms,
 * group.id, enable.auto.commit, auto.offset.reset, ...). Returns 0, or -1 with
 * a message naming the setting in errbuf (errbuf may be NULL). For a
 * service's start-up validation; the constructors run the same check. */
int lyc_eventlog_settings_check(const char *const *settings, size_t count, char *errbuf,
                                size_t errcap);

/* --- producer ---------------------------------------------------------- */

/* Opens the spool and an idempotent librdkafka producer (acks=all). Records
 * left in the spool by an earlier producer are queued for resending; the first
 * poll starts on them. Does not wait for the broker: a producer can be made,
 * and accept records, while Kafka is away. Returns NULL (reason logged, naming
 * a bad setting) on bad config or when the spool cannot be opened. The caller
 * owns the producer. */
lyc_producer_t *lyc_producer_new(const lyc_producer_config_t *config);

/* Waits up to close_timeout_ms for outstanding deliveries, then closes.
 * Records not yet acknowledged stay in the spool for the next producer on the
 * same directory (logged). Accepts NULL and *self_p == NULL; sets *self_p to
 * NULL. */
void lyc_producer_destroy(lyc_producer_t **self_p);

/* Accepts one record for topic. Returns 0 when it is ACCEPTED: written to the
 * spool (synced unless spool_nosync) and handed to librdkafka, or queued for a
 * resend if librdkafka's queue is full; from then on it will be delivered,
 * across outages and restarts. Returns -1 when it is not accepted, with a log
 * line saying why: the spool is full (back-pressure: poll, and send again
 * later), the record is larger than message.max.bytes, or the arguments are
 * bad. key may be NULL when key_len is 0, payload when len is 0; both are
 * copied. The record's timestamp is the time of this call, kept on resends. */
int lyc_producer_send(lyc_producer_t *self, const char *topic, const void *key, size_t key_len,
                      const void *payload, size_t len);

/* Serves delivery reports (acknowledging delivered records in the spool) and
 * resends failed or leftover records whose back-off has passed. Waits up to
 * timeout_ms for events, less when a resend falls due sooner. Call it from the
 * owner's loop, often: nothing is acknowledged or resent without it. Returns 0,
 * or -1 when the librdkafka instance failed fatally and could not be rebuilt
 * (logged; records stay in the spool). */
int lyc_producer_poll(lyc_producer_t *self, int timeout_ms);

/* Polls until every record in the spool is acknowledged or timeout_ms has
 * passed. Returns the number still pending (0 means all delivered). */
size_t lyc_producer_flush(lyc_producer_t *self, int timeout_ms);

/* Records accepted (now or by an earlier producer on this spool) and not yet
 * acknowledged by the broker. */
size_t lyc_producer_pending(const lyc_producer_t *self);

/* Copies the counters into *stats. */
void lyc_producer_stats(const lyc_producer_t *self, lyc_producer_stats_t *stats);

/* --- consumer ---------------------------------------------------------- */

/* Joins the consumer group and subscribes to the topics, with auto-commit off:
 * offsets move only through lyc_consumer_commit. Does not wait for the broker
 * or for partitions to be assigned; that happens inside the polls. Returns
 * NULL (reason logged) on bad config. The caller owns the consumer. */
lyc_consumer_t *lyc_consumer_new(const lyc_consumer_config_t *config);

/* Commits what was returned, leaves the group (so its partitions move to the
 * other members at once) and closes. Accepts NULL and *self_p == NULL; sets
 * *self_p to NULL. */
void lyc_consumer_destroy(lyc_consumer_t **self_p);

/* Waits up to timeout_ms for the next record. Returns 1 with the record in
 * *out, 0 when the time ran out, -1 when the consumer cannot go on (a fatal
 * librdkafka error, bad arguments; logged). Transient errors (broker away,
 * topic not there yet) are logged and waited through, so they never end a
 * poll early. */
int lyc_consumer_poll(lyc_consumer_t *self, int timeout_ms, lyc_record_t *out);

/* Commits, synchronously, the offsets of every record returned so far, so a
 * consumer of the same group starting later continues after them. Returns 0
 * (also when there was nothing new), or -1 (logged). */
int lyc_consumer_commit(lyc_consumer_t *self);

/* --- admin ------------------------------------------------------------- */

/* Creates the topics names[i] with partitions[i] partitions each (replication
 * from the broker's default) and waits up to timeout_ms for the answer. A
 * topic that already exists counts as created. Returns 0, or -1 with the
 * reason in errbuf (may be NULL); also logged. */
int lyc_eventlog_create_topics(const char *brokers, const char *const *names, const int *partitions,
                               size_t n, int timeout_ms, char *errbuf, size_t errcap);

#endif
