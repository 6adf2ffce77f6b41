/*
 * event_sink.c - a locked producer and its poll thread.
 */
#include "event_sink.h"

#include "eventlog.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct lyc_event_sink_t {
    lyc_producer_t *producer;
    char spool_dir[512];
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

/* 1 when dir/spool.lock exists and no process holds it: the spool's maker
 * is gone. */
static int s_spool_free(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/spool.lock", dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int free_now = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd); /* releases the probe's lock */
    return free_now;
}

/* Opens a producer on dir; NULL (logged) when it cannot. */
static lyc_producer_t *s_producer(const lyc_settings_t *settings, const char *dir,
                                  const char *client_id)
{
    char err[512];
    lyc_kafka_extra_t extra;
    if (lyc_settings_kafka_extra(settings, NULL, 0, &extra, err, sizeof err) != 0) {
        LYC_ERROR(NULL, "event sink: %s", err);
        return NULL;
    }
    lyc_producer_config_t config = {
        .brokers = settings->kafka_brokers,
        .client_id = client_id,
        .spool_dir = dir,
        .spool_max_bytes = (size_t) settings->kafka_spool_max_mb << 20,
        .spool_nosync = !settings->kafka_spool_sync,
        .message_timeout_ms = (int) settings->kafka_message_timeout_ms,
        .settings = extra.items,
        .settings_count = extra.count,
    };
    lyc_producer_t *producer = lyc_producer_new(&config);
    lyc_kafka_extra_clear(&extra); /* the producer keeps no pointer to it */
    return producer;
}

/* 1 when dir's spool file holds anything (events not yet acknowledged, or
 * acknowledgements not yet compacted away). */
static int s_spool_holds_events(const char *dir)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/spool.log", dir);
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Adopts a free spool directory of service under root into self, one that
 * holds events first; 0, or -1 when there is none (or none could be opened). */
static int s_adopt(lyc_event_sink_t *self, const lyc_settings_t *settings, const char *root,
                   const char *service, const char *client_id)
{
    size_t plen = strlen(service);
    for (int pass = 0; pass < 2 && !self->producer; pass++) {
        DIR *d = opendir(root);
        if (!d)
            return -1;
        struct dirent *e;
        while (!self->producer && (e = readdir(d)) != NULL) {
            char dir[512];
            if (strncmp(e->d_name, service, plen) != 0 || e->d_name[plen] != '-')
                continue;
            if (snprintf(dir, sizeof dir, "%s/%s", root, e->d_name) >= (int) sizeof dir ||
                (pass == 0 && !s_spool_holds_events(dir)) || !s_spool_free(dir))
                continue;
            /* Another process starting now may take it first: then go on. */
            self->producer = s_producer(settings, dir, client_id);
            if (self->producer) {
                snprintf(self->spool_dir, sizeof self->spool_dir, "%s", dir);
                LYC_INFO(NULL, "event sink: adopted the spool %s (%zu events to deliver)", dir,
                         lyc_producer_pending(self->producer));
            }
        }
        closedir(d);
    }
    return self->producer ? 0 : -1;
}

lyc_event_sink_t *lyc_event_sink_new(const lyc_settings_t *settings, const char *service,
                                     const char *instance)
{
    const char *root = settings->kafka_spool_dir;
    char name[256];
    snprintf(name, sizeof name, "%s-%s", service, instance);
    if (s_mkdirs(root) != 0) {
        LYC_ERROR(NULL, "event sink: cannot create spool directory %s: %s", root, strerror(errno));
        return NULL;
    }
    lyc_event_sink_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    if (s_adopt(self, settings, root, service, name) != 0) {
        snprintf(self->spool_dir, sizeof self->spool_dir, "%s/%s", root, name);
        if (s_mkdirs(self->spool_dir) != 0)
            LYC_ERROR(NULL, "event sink: cannot create spool directory %s: %s", self->spool_dir,
                      strerror(errno));
        else
            self->producer = s_producer(settings, self->spool_dir, name);
    }
    if (!self->producer || pthread_create(&self->poller, NULL, s_poll_thread, self) != 0) {
        lyc_event_sink_destroy(&self, 0);
        return NULL;
    }
    self->started = 1;
    return self;
}

const char *lyc_event_sink_spool_dir(const lyc_event_sink_t *self)
{
    return self->spool_dir;
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
