/*
 * event_sink.c - a locked producer and its poll thread.
 */
#include "event_sink.h"

#include "eventlog.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lyc_event_sink_t {
    lyc_producer_t *producer;
    pthread_mutex_t lock;
    pthread_t poller;
    atomic_int stop;
    int started;
};

/* Serves delivery reports and resends, taking the lock only briefly. */
static void *s_poll_thread(void *arg)
{
    lyc_event_sink_t *self = arg;
    while (!atomic_load(&self->stop)) {
        pthread_mutex_lock(&self->lock);
        lyc_producer_poll(self->producer, 0);
        pthread_mutex_unlock(&self->lock);
        usleep(5000);
    }
    return NULL;
}

static int s_mkdirs(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

lyc_event_sink_t *lyc_event_sink_new(const lyc_settings_t *settings, const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", settings->kafka_spool_dir, name);
    if (s_mkdirs(dir) != 0) {
        LYC_ERROR(NULL, "event sink: cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    char err[512];
    lyc_kafka_extra_t extra;
    if (lyc_settings_kafka_extra(settings, NULL, 0, &extra, err, sizeof err) != 0) {
        LYC_ERROR(NULL, "event sink: %s", err);
        return NULL;
    }
    lyc_event_sink_t *self = calloc(1, sizeof *self);
    if (!self) {
        lyc_kafka_extra_clear(&extra);
        return NULL;
    }
    lyc_producer_config_t config = {
        .brokers = settings->kafka_brokers,
        .client_id = name,
        .spool_dir = dir,
        .spool_max_bytes = (size_t) settings->kafka_spool_max_mb << 20,
        .spool_nosync = !settings->kafka_spool_sync,
        .message_timeout_ms = (int) settings->kafka_message_timeout_ms,
        .settings = extra.items,
        .settings_count = extra.count,
    };
    pthread_mutex_init(&self->lock, NULL);
    self->producer = lyc_producer_new(&config);
    lyc_kafka_extra_clear(&extra); /* the producer keeps no pointer to it */
    if (!self->producer || pthread_create(&self->poller, NULL, s_poll_thread, self) != 0) {
        lyc_event_sink_destroy(&self, 0);
        return NULL;
    }
    self->started = 1;
    return self;
}

void lyc_event_sink_destroy(lyc_event_sink_t **self_p, int flush_ms)
{
    if (!self_p || !*self_p)
        return;
    lyc_event_sink_t *self = *self_p;
    if (self->started) {
        atomic_store(&self->stop, 1);
        pthread_join(self->poller, NULL);
    }
    if (self->producer) {
        size_t left = lyc_producer_flush(self->producer, flush_ms);
        if (left > 0)
            LYC_WARN(NULL, "event sink: %zu events not yet delivered stay in the spool", left);
    }
    lyc_producer_destroy(&self->producer);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int lyc_event_sink_send(lyc_event_sink_t *self, const char *topic, const char *key,
                        lyc_msg_type_t type, const char *trace, const ProtobufCMessage *msg)
{
    size_t len = 0;
    uint8_t *data = lyc_envelope_encode(type, trace, msg, &len);
    if (!data) {
        LYC_ERROR(trace, "event sink: cannot pack %s", lyc_msg_name(type));
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    int rc = lyc_producer_send(self->producer, topic, key, key ? strlen(key) : 0, data, len);
    pthread_mutex_unlock(&self->lock);
    free(data);
    return rc;
}

size_t lyc_event_sink_pending(lyc_event_sink_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = lyc_producer_pending(self->producer);
    pthread_mutex_unlock(&self->lock);
    return n;
}

uint64_t lyc_event_sink_accepted(lyc_event_sink_t *self)
{
    lyc_producer_stats_t stats;
    pthread_mutex_lock(&self->lock);
    lyc_producer_stats(self->producer, &stats);
    pthread_mutex_unlock(&self->lock);
    return stats.accepted;
}
