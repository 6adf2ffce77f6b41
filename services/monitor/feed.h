/*
 * feed.h - the monitor's reader of the event log: a czmq actor that owns
 * the Kafka consumer and the aggregate.
 *
 * It joins a consumer group of its own (a fresh group id per start, offset
 * reset to the earliest), so every start reads the feedback, roles,
 * registry and training topics from the beginning and rebuilds the whole
 * view; the aggregate drops the duplicates an at-least-once log carries.
 * Each record's envelope is decoded (a record that does not decode is
 * counted and skipped, never fatal) and fed to the aggregate. While events
 * arrive, the views are re-rendered into the snapshot at most every
 * snapshot_ms, and once more as soon as the log goes quiet. A consumer
 * that fails for good is replaced, with a fresh aggregate and group, after
 * a pause: the same rebuild from the log as a restart (/healthz says 503
 * until the new one works).
 *
 * Protocol on the actor pipe: the actor signals when it starts, then sends
 * an integer (zsock "i"): 0 when its consumer is made, -1 when it cannot be
 * (and it ends). It stops on "$TERM".
 */
#ifndef LYCEUM_MONITOR_FEED_H
#define LYCEUM_MONITOR_FEED_H

#include "metrics.h"
#include "monitor_config.h"
#include "settings.h"
#include "snapshot.h"

#include <czmq.h>
#include <stdatomic.h>

/* What the actor borrows; everything must outlive it. */
typedef struct {
    const lyc_settings_t *settings;
    const lyc_monitor_config_t *config;
    lyc_snapshot_t *snapshot;
    lyc_metrics_t *metrics;
    atomic_int *healthy; /* set to 1 while the consumer works, 0 after a fatal error */
} lyc_feed_args_t;

/* The actor function: zactor_new(lyc_feed_actor, &args). */
void lyc_feed_actor(zsock_t *pipe, void *args);

/* A fresh consumer group id: "<group_prefix>-<host>-<pid>-<random>". */
void lyc_feed_group(const lyc_monitor_config_t *config, char *buf, size_t cap);

#endif
