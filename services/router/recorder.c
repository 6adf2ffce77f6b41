/*
 * recorder.c - a bounded queue of records and the thread that writes them.
 */
#include "recorder.h"

#include "clock.h"
#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Statistics reloads sent with one batch at most. */
#define S_RELOADS 16
/* How long the thread waits before it tries Redis again after a failed connect. */
#define S_RECONNECT_US 1000000

struct lyc_recorder_t {
    lyc_router_t *router;
    pthread_mutex_t lock;
    pthread_cond_t work;       /* records queued, or stop */
    pthread_cond_t written;    /* a batch was written */
    lyc_query_record_t **ring; /* positions [head, taken) being written, [taken, tail) queued */
    size_t cap;
    uint64_t head, taken, tail;
    int stop;
    int started;
    pthread_t thread;
    lyc_stats_cache_t *stats;
    /* The thread's own connections (NULL while Redis is away). */
    lyc_vecstore_t *store;
    lyc_redis_t *redis;
    int64_t next_connect_us;
    lyc_counter_t *records; /* records written, by how */
    lyc_gauge_t *queued;    /* records queued or being written */
};

static pthread_mutex_t s_holds_lock = PTHREAD_MUTEX_INITIALIZER;

/* Connects the thread's store and Redis when they are missing, at most once
 * a second while Redis is away. */
static void s_connect(lyc_recorder_t *self)
{
    const lyc_settings_t *s = &self->router->settings;
    if ((self->store && self->redis) || lyc_mono_us() < self->next_connect_us)
        return;
    lyc_vecstore_config_t vc = {
        .redis_url = s->redis_url,
        .key_prefix = s->redis_prefix,
        .dim = (size_t) s->embedding_dim,
        .timeout_ms = (int) s->redis_timeout_ms,
        .search_ef = (int) s->redis_search_ef,
        .search_threaded = s->redis_search_threaded,
    };
    if (!self->store)
        self->store = lyc_vecstore_new(&vc);
    if (!self->redis)
        self->redis = lyc_redis_new(s->redis_url, (int) s->redis_timeout_ms);
    if (!self->store || !self->redis)
        self->next_connect_us = lyc_mono_us() + S_RECONNECT_US;
}

/* Writes one batch with the statistics reloads planned for it. */
static void s_write(lyc_recorder_t *self, lyc_query_record_t *const *batch, size_t n,
                    lyc_stats_reload_t *reloads, size_t n_reloads)
{
    const char *argv[S_RELOADS][2];
    lyc_redis_cmd_t extra[S_RELOADS];
    redisReply *replies[S_RELOADS];
    int64_t start = lyc_mono_us();
    for (size_t i = 0; i < n_reloads; i++) {
        argv[i][0] = "HGETALL";
        argv[i][1] = reloads[i].key;
        extra[i] = (lyc_redis_cmd_t){2, argv[i], NULL};
    }
    s_connect(self);
    lyc_record_write(self->router, self->store, self->redis, batch, n, extra, n_reloads, replies);
    for (size_t i = 0; i < n_reloads; i++) {
        lyc_stats_cache_reloaded(self->stats, &reloads[i], replies[i]);
        if (replies[i])
            freeReplyObject(replies[i]);
    }
    for (size_t i = 0; i < n; i++)
        lyc_record_stats_done(batch[i], self->stats);
    const char *how[] = {"queued"};
    lyc_counter_add(self->records, how, (double) n);
    LYC_DEBUG(NULL, "router: recorded %zu queries (%zu statistics reloads) in %lld us", n,
              n_reloads, (long long) (lyc_mono_us() - start));
}

/* Takes and writes batches until stopped with nothing left to write. */
static void *s_thread(void *arg)
{
    lyc_recorder_t *self = arg;
    lyc_query_record_t *batch[LYC_RECORDER_BATCH];
    lyc_stats_reload_t reloads[S_RELOADS];
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (self->taken == self->tail && !self->stop)
            pthread_cond_wait(&self->work, &self->lock);
        if (self->taken == self->tail)
            break; /* stopping, and everything is written */
        size_t n = (size_t) (self->tail - self->taken);
        if (n > LYC_RECORDER_BATCH)
            n = LYC_RECORDER_BATCH;
        for (size_t i = 0; i < n; i++)
            batch[i] = self->ring[(self->taken + i) % self->cap];
        self->taken += n;
        size_t n_reloads = lyc_stats_cache_plan(self->stats, self->router->settings.redis_prefix,
                                                self->taken == self->tail, reloads, S_RELOADS);
        pthread_mutex_unlock(&self->lock);

        s_write(self, batch, n, reloads, n_reloads);

        pthread_mutex_lock(&self->lock);
        self->head += n;
        lyc_gauge_set(self->queued, NULL, (double) (self->tail - self->head));
        pthread_cond_broadcast(&self->written);
        /* Waiters scan [head, tail), so the batch is freed only now. */
        pthread_mutex_unlock(&self->lock);
        for (size_t i = 0; i < n; i++)
            lyc_record_destroy(&batch[i]);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

static void s_destroy(lyc_recorder_t **self_p)
{
    lyc_recorder_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        pthread_mutex_lock(&self->lock);
        size_t left = (size_t) (self->tail - self->head);
        self->stop = 1;
        pthread_cond_broadcast(&self->work);
        pthread_mutex_unlock(&self->lock);
        if (left > 0)
            LYC_INFO(NULL, "router: writing the %zu queued query records before stopping", left);
        pthread_join(self->thread, NULL);
    }
    lyc_stats_cache_destroy(&self->stats);
    lyc_vecstore_destroy(&self->store);
    lyc_redis_destroy(&self->redis);
    pthread_cond_destroy(&self->work);
    pthread_cond_destroy(&self->written);
    pthread_mutex_destroy(&self->lock);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

static lyc_recorder_t *s_new(lyc_router_t *router)
{
    lyc_recorder_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work, &attr);
    pthread_cond_init(&self->written, &attr);
    pthread_condattr_destroy(&attr);
    self->router = router;
    self->cap = (size_t) router->config.record_queue;
    self->stats = lyc_stats_cache_new(router->config.stats_cache_ms);
    self->ring = calloc(self->cap ? self->cap : 1, sizeof *self->ring);
    self->records = lyc_metrics_counter(
        router->metrics, "lyceum_router_records_total",
        "Query records written: after the reply (queued) or before it (inline)", "how");
    self->queued = lyc_metrics_gauge(router->metrics, "lyceum_router_record_queue",
                                     "Query records queued or being written", NULL);
    if (!self->stats || !self->ring)
        goto out_fail;
    if (self->cap > 0) {
        if (pthread_create(&self->thread, NULL, s_thread, self) != 0)
            goto out_fail;
        self->started = 1;
    }
    return self;
out_fail:
    LYC_ERROR(NULL, "router: cannot start the recorder");
    s_destroy(&self);
    return NULL;
}

int lyc_recorder_hold(lyc_router_t *router)
{
    int rc = 0;
    pthread_mutex_lock(&s_holds_lock);
    if (router->recorder_holds == 0 && !(router->recorder = s_new(router)))
        rc = -1;
    else
        router->recorder_holds++;
    pthread_mutex_unlock(&s_holds_lock);
    return rc;
}

void lyc_recorder_release(lyc_router_t *router)
{
    pthread_mutex_lock(&s_holds_lock);
    if (router->recorder_holds > 0 && --router->recorder_holds == 0)
        s_destroy(&router->recorder);
    pthread_mutex_unlock(&s_holds_lock);
}

int lyc_recorder_submit(lyc_recorder_t *self, lyc_query_record_t **record_p)
{
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    if (self->started && !self->stop && self->tail - self->head < self->cap) {
        lyc_record_stats_apply(*record_p, self->stats, 0);
        self->ring[self->tail % self->cap] = *record_p;
        self->tail++;
        lyc_gauge_set(self->queued, NULL, (double) (self->tail - self->head));
        pthread_cond_signal(&self->work);
        *record_p = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    if (rc != 0) {
        const char *how[] = {"inline"};
        lyc_counter_add(self->records, how, 1);
    }
    return rc;
}

lyc_stats_cache_t *lyc_recorder_stats(lyc_recorder_t *self)
{
    return self->stats;
}

/* Waits, with the lock held, until the record at position pos is written
 * or the time is up. */
static void s_await(lyc_recorder_t *self, uint64_t pos)
{
    int64_t limit_us = lyc_mono_us() + 2000 * self->router->settings.redis_timeout_ms;
    struct timespec until = {.tv_sec = limit_us / 1000000, .tv_nsec = (limit_us % 1000000) * 1000};
    while (self->head <= pos)
        if (pthread_cond_timedwait(&self->written, &self->lock, &until) != 0)
            break;
}

void lyc_recorder_await_twin(lyc_recorder_t *self, const char *tenant, const float *vector,
                             size_t dim, double min_cosine)
{
    if (!self || !self->started)
        return;
    double sq = 0;
    for (size_t i = 0; i < dim; i++)
        sq += (double) vector[i] * vector[i];
    double norm = sqrt(sq);
    pthread_mutex_lock(&self->lock);
    /* The newest twin: once it is written, so are the older ones. */
    for (uint64_t pos = self->tail; pos > self->head; pos--) {
        const lyc_query_record_t *r = self->ring[(pos - 1) % self->cap];
        if (strcmp(lyc_record_tenant(r), tenant) == 0 &&
            lyc_record_cosine(r, vector, dim, norm) >= min_cosine) {
            s_await(self, pos - 1);
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
}

void lyc_recorder_await_trace(lyc_recorder_t *self, const char *tenant, const char *trace)
{
    if (!self || !self->started)
        return;
    pthread_mutex_lock(&self->lock);
    for (uint64_t pos = self->tail; pos > self->head; pos--) {
        const lyc_query_record_t *r = self->ring[(pos - 1) % self->cap];
        if (strcmp(lyc_record_trace(r), trace) == 0 && strcmp(lyc_record_tenant(r), tenant) == 0) {
            s_await(self, pos - 1);
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
}
