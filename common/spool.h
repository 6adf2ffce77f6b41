/*
 * spool.h - the event log's bounded write-ahead spool on local disk.
 *
 * The producer appends every record here before it hands it to Kafka, and
 * acknowledges it here when the broker has confirmed it. Whatever is not
 * acknowledged survives a broker outage, a crash or a restart of the process:
 * a spool opened on the same directory offers exactly the unacknowledged
 * records again. That is what lets the producer promise "nothing accepted is
 * lost" (at least once: a record can be delivered twice, never zero times).
 *
 * On disk: one append-only file, <dir>/spool.log, of records
 *   [magic u32 | check u32 | type u8 | topic_len u8 | 0 u16 | key_len u32 |
 *    payload_len u32 | seq u64 | timestamp_ms u64] topic key payload
 * (little-endian; check = XXH32 of everything after it). A data record holds
 * an event, an ack record (no body) marks the data record with the same seq as
 * done. A torn or corrupt record is logged and skipped on open, and the file is
 * rewritten without it. When every record is acknowledged the file is
 * truncated to zero; when acknowledged bytes outweigh live ones it is rewritten
 * with only the live records (write to spool.tmp, fsync, rename). A lock file,
 * <dir>/spool.lock (flock), keeps a second process off the same spool.
 *
 * The bound: the file never grows past max_bytes; an append that would pass it
 * fails (back-pressure) after compaction has had its chance.
 *
 * One thread at a time per spool.
 */
#ifndef LYCEUM_SPOOL_H
#define LYCEUM_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lyc_spool lyc_spool_t;

/* Longest topic name a record can carry (Kafka's own limit is 249). */
#define LYC_SPOOL_TOPIC_MAX 255

/* One record read back from the spool. The pointers belong to the spool and
 * stay valid until the next call on it; topic is NUL-terminated. */
typedef struct {
    uint64_t seq;         /* spool sequence number, unique within the spool file */
    int64_t timestamp_ms; /* wall time at append, kept across resends */
    const char *topic;
    const void *key; /* NULL when key_len is 0 */
    size_t key_len;
    const void *payload; /* NULL when payload_len is 0 */
    size_t payload_len;
} lyc_spool_record_t;

/* Opens (creating if needed) the spool in dir, which must exist or be
 * creatable (one level). Reads the file, skipping any torn or corrupt record
 * with a log line, so that exactly the unacknowledged records are pending.
 * sync: fdatasync after each append, so an accepted record survives power loss
 * and not only a crash of the process. Returns NULL (reason logged) when the
 * directory cannot be used, another process holds the spool, or max_bytes is
 * too small to hold any record. The caller owns the spool. */
lyc_spool_t *lyc_spool_new(const char *dir, size_t max_bytes, bool sync);

/* Closes the spool; records not acknowledged stay on disk for the next open.
 * Accepts NULL and *self_p == NULL; sets *self_p to NULL. */
void lyc_spool_destroy(lyc_spool_t **self_p);

/* Appends one data record and returns its seq in *seq_out. Returns 0 when the
 * record is on disk (and synced, if asked), -1 when it is not: the spool is
 * full (back-pressure; logged only at debug so that the caller can rate-limit
 * its own warning), the arguments are bad (logged; empty topic,
 * topic too long, NULL data with a length) or the write failed (logged; the
 * file is cut back so no half record stays behind). key and payload are
 * copied; they may be NULL when their length is 0. */
int lyc_spool_append(lyc_spool_t *self, const char *topic, const void *key, size_t key_len,
                     const void *payload, size_t payload_len, int64_t timestamp_ms,
                     uint64_t *seq_out);

/* Marks the record seq as done. Returns 0, or -1 when seq is not pending
 * (already acknowledged or never appended). When the ack record cannot be
 * written it is logged and the record still counts as done here; after a
 * restart it is offered again (a duplicate, never a loss). May truncate or
 * compact the file. */
int lyc_spool_ack(lyc_spool_t *self, uint64_t seq);

/* Reads the pending record seq into *out (see lyc_spool_record_t for how long
 * it stays valid). Returns 0, or -1 when seq is not pending or the read
 * failed (logged). */
int lyc_spool_read(lyc_spool_t *self, uint64_t seq, lyc_spool_record_t *out);

/* The smallest pending seq greater than after (pass 0 to start), or 0 when
 * there is none. Walks the pending records in append order. */
uint64_t lyc_spool_next(const lyc_spool_t *self, uint64_t after);

/* Rewrites the file with only the pending records. Runs by itself when it
 * pays; public for tests and for a shutdown that wants a small file. Returns 0
 * or -1 (logged; the old file stays intact). */
int lyc_spool_compact(lyc_spool_t *self);

/* Number of records appended and not yet acknowledged. */
size_t lyc_spool_pending(const lyc_spool_t *self);

/* Bytes the spool file takes now (never more than max_bytes). */
uint64_t lyc_spool_bytes(const lyc_spool_t *self);

/* Bytes one data record with these lengths takes in the file: what an append
 * needs from the bound. */
size_t lyc_spool_record_size(size_t topic_len, size_t key_len, size_t payload_len);

#endif
