/*
 * trainer.c - the consume loop: read, buffer, apply, decide roles, commit.
 */
#include "trainer.h"

#include "apply.h"
#include "clock.h"
#include "distill.h"
#include "event_sink.h"
#include "eventlog.h"
#include "ingest.h"
#include "jobs.h"
#include "log.h"
#include "newdomain.h"
#include "promote.h"
#include "redis.h"
#include "trainer_http.h"
#include "tracebuf.h"
#include "vecstore.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_POLL_MS       50
#define S_RETRY_MS      500
#define S_SINK_FLUSH_MS 5000
#define S_CLIENT_ID     "lyceum-trainer"

struct lyc_trainer_t {
    const lyc_settings_t *settings;
    const lyc_trainer_config_t *config;
    lyc_metrics_t *metrics;
    lyc_redis_t *redis;
    lyc_vecstore_t *store;
    lyc_event_sink_t *sink;
    lyc_consumer_t *consumer;
    lyc_jobs_t *jobs;
    lyc_apply_t *apply;
    lyc_distill_t *distill;
    lyc_newdomain_t *newdomain;
    lyc_ingest_t *ingest;
    lyc_tracebuf_t *buffer;
    lyc_trainer_http_t *http;
    lyc_trace_group_t *stalled; /* a group Redis refused; retried before anything else */
    int64_t next_commit_us, next_roles_us;
    int uncommitted; /* records read since the last commit */
    volatile int64_t heartbeat_us;
    volatile sig_atomic_t stop;
    lyc_counter_t *events, *commits, *role_changes;
    lyc_gauge_t *lag, *buffered;
};

/* ---- construction -------------------------------------------------------- */

static int s_connect(lyc_trainer_t *self)
{
    const lyc_settings_t *s = self->settings;
    char name[128], host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "%s-%d", host, (int) getpid());
    self->redis = lyc_redis_new(s->redis_url, (int) s->redis_timeout_ms);
    lyc_vecstore_config_t vc = {.redis_url = s->redis_url,
                                .key_prefix = s->redis_prefix,
                                .dim = (size_t) s->embedding_dim,
                                .timeout_ms = (int) s->redis_timeout_ms};
    self->store = self->redis ? lyc_vecstore_new(&vc) : NULL;
    self->sink = self->store ? lyc_event_sink_new(s, "trainer", name) : NULL;
    const char *topics[] = {s->topic_feedback};
    char session[64], instance[320];
    snprintf(session, sizeof session, "session.timeout.ms=%ld", self->config->session_timeout_ms);
    snprintf(instance, sizeof instance, "group.instance.id=%s", self->config->instance_id);
    const char *own[] = {session, instance};
    char err[512];
    lyc_kafka_extra_t extra = {0};
    if (self->sink && lyc_settings_kafka_extra(s, own, *self->config->instance_id ? 2 : 1, &extra,
                                               err, sizeof err) != 0) {
        LYC_ERROR(NULL, "trainer: %s", err);
        return -1;
    }
    lyc_consumer_config_t cc = {.brokers = s->kafka_brokers,
                                .client_id = S_CLIENT_ID,
                                .group_id = self->config->group,
                                .topics = topics,
                                .topic_count = 1,
                                .auto_offset_reset = self->config->offset_reset,
                                .settings = extra.items,
                                .settings_count = extra.count};
    self->consumer = self->sink ? lyc_consumer_new(&cc) : NULL;
    lyc_kafka_extra_clear(&extra);
    return self->consumer ? 0 : -1;
}

static int s_metrics(lyc_trainer_t *self)
{
    lyc_metrics_t *m = self->metrics;
    self->commits = lyc_metrics_counter(m, "lyceum_trainer_commits_total",
                                        "Offset commits of the feedback topic", NULL);
    self->role_changes = lyc_metrics_counter(m, "lyceum_trainer_role_changes_total",
                                             "Role changes made, by direction", "direction");
    self->events = lyc_metrics_counter(m, "lyceum_trainer_events_total",
                                       "Feedback events read, by result (applied, duplicate, "
                                       "malformed)",
                                       "result");
    self->lag = lyc_metrics_gauge(m, "lyceum_trainer_lag_seconds",
                                  "Age of the latest feedback event read", NULL);
    self->buffered = lyc_metrics_gauge(m, "lyceum_trainer_buffered_queries",
                                       "Queries whose events wait to be applied", NULL);
    return self->commits && self->role_changes && self->events && self->lag && self->buffered ? 0
                                                                                              : -1;
}

static int s_parts(lyc_trainer_t *self, const lyc_confdoc_t *doc)
{
    const lyc_trainer_config_t *c = self->config;
    lyc_apply_config_t ac = {.human_weight = c->human_weight,
                             .agree_margin = c->agree_margin,
                             .seen_ttl_s = c->seen_ttl_s,
                             .pair_ttl_s = c->pair_ttl_s};
    lyc_jobs_config_t jc = {.settings = self->settings,
                            .config = c,
                            .doc = doc,
                            .sink = self->sink,
                            .metrics = self->metrics};
    self->apply = lyc_apply_new(self->redis, self->settings->redis_prefix, &ac);
    self->jobs = lyc_jobs_new(&jc);
    lyc_distill_config_t dc = {.settings = self->settings,
                               .config = c,
                               .redis = self->redis,
                               .store = self->store,
                               .sink = self->sink,
                               .jobs = self->jobs,
                               .metrics = self->metrics};
    lyc_newdomain_config_t nc = {.settings = self->settings,
                                 .config = c,
                                 .redis = self->redis,
                                 .store = self->store,
                                 .jobs = self->jobs,
                                 .metrics = self->metrics};
    self->distill = lyc_distill_new(&dc);
    self->newdomain = c->new_domains ? lyc_newdomain_new(&nc) : NULL;
    lyc_ingest_config_t ic = {.config = c,
                              .apply = self->apply,
                              .distill = self->distill,
                              .newdomain = self->newdomain,
                              .metrics = self->metrics};
    self->ingest = lyc_ingest_new(&ic);
    self->buffer = lyc_tracebuf_new(c->trace_quiet_ms * 1000LL, (size_t) c->trace_max_events,
                                    (size_t) c->trace_max_buffered);
    if (!self->apply || !self->jobs || !self->distill || (c->new_domains && !self->newdomain) ||
        !self->ingest || !self->buffer)
        return -1;
    if (*c->http_listen &&
        !(self->http = lyc_trainer_http_new(c->http_listen, self->metrics, &self->heartbeat_us)))
        return -1;
    return 0;
}

lyc_trainer_t *lyc_trainer_new(const lyc_settings_t *settings, const lyc_trainer_config_t *config,
                               const lyc_confdoc_t *doc)
{
    lyc_trainer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->settings = settings;
    self->config = config;
    self->heartbeat_us = lyc_mono_us();
    self->metrics = lyc_metrics_new();
    if (!self->metrics || s_metrics(self) != 0 || s_connect(self) != 0 || s_parts(self, doc) != 0) {
        LYC_ERROR(NULL, "trainer: cannot start");
        lyc_trainer_destroy(&self);
        return NULL;
    }
    LYC_INFO(NULL, "trainer: reading %s as group %s; statistics under %s:stats",
             settings->topic_feedback, config->group, settings->redis_prefix);
    return self;
}

void lyc_trainer_destroy(lyc_trainer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_trainer_t *self = *self_p;
    lyc_trainer_http_destroy(&self->http);
    if (self->stalled || (self->buffer && lyc_tracebuf_count(self->buffer) > 0)) {
        /* Closing commits every offset read: leave the consumer open instead,
         * so what was not applied is read again by whoever takes over. */
        LYC_WARN(NULL, "trainer: events not applied; leaving the group without a commit");
        self->consumer = NULL;
    }
    lyc_consumer_destroy(&self->consumer);
    lyc_jobs_destroy(&self->jobs);
    lyc_ingest_destroy(&self->ingest);
    lyc_newdomain_destroy(&self->newdomain);
    lyc_distill_destroy(&self->distill);
    lyc_apply_destroy(&self->apply);
    lyc_trace_group_destroy(&self->stalled);
    lyc_tracebuf_destroy(&self->buffer);
    lyc_event_sink_destroy(&self->sink, S_SINK_FLUSH_MS);
    lyc_vecstore_destroy(&self->store);
    lyc_redis_destroy(&self->redis);
    lyc_metrics_destroy(&self->metrics);
    free(self);
    *self_p = NULL;
}

void lyc_trainer_stop(lyc_trainer_t *self)
{
    self->stop = 1;
}

lyc_metrics_t *lyc_trainer_metrics(lyc_trainer_t *self)
{
    return self->metrics;
}

/* ---- the loop ------------------------------------------------------------- */

/* Applies a group; on failure keeps it as the stalled one. 0 or -1. */
static int s_ingest(lyc_trainer_t *self, lyc_trace_group_t *group)
{
    if (lyc_ingest_group(self->ingest, group) != 0) {
        self->stalled = group;
        return -1;
    }
    lyc_trace_group_destroy(&group);
    return 0;
}

/* Applies the groups that are ready (all of them with force). 0, or -1
 * when one stalled. */
static int s_release(lyc_trainer_t *self, int force)
{
    lyc_trace_group_t *group;
    int64_t now = lyc_mono_us();
    while (!self->stalled && (group = lyc_tracebuf_take(self->buffer, now, force)))
        if (s_ingest(self, group) != 0)
            return -1;
    return self->stalled ? -1 : 0;
}

/* A group of one event, applied at once (a user's score needs no peers,
 * and an event the buffer cannot hold is not dropped). */
static void s_alone(lyc_trainer_t *self, lyc_feedback_t *ev)
{
    lyc_trace_group_t *group = calloc(1, sizeof *group);
    lyc_feedback_t **events = calloc(1, sizeof *events);
    if (!group || !events) {
        free(group);
        free(events);
        LYC_ERROR(ev->trace_id, "trainer: out of memory; event %s waits for a replay",
                  ev->event_id);
        lyc_feedback_free(&ev);
        self->stop = 1; /* uncommitted: a restart reads it again */
        return;
    }
    events[0] = ev;
    group->events = events;
    group->count = group->cap = 1;
    s_ingest(self, group);
}

static void s_on_record(lyc_trainer_t *self, const lyc_record_t *rec)
{
    char err[320];
    self->uncommitted = 1;
    if (rec->timestamp_ms > 0)
        lyc_gauge_set(self->lag, NULL, (double) (lyc_wall_us() / 1000 - rec->timestamp_ms) / 1e3);
    lyc_feedback_t *ev = lyc_feedback_decode(rec->payload, rec->len, err, sizeof err);
    if (!ev) {
        const char *labels[] = {"malformed"};
        lyc_counter_add(self->events, labels, 1);
        LYC_WARN(NULL, "trainer: skipped malformed record %s[%d]@%lld: %s", rec->topic,
                 (int) rec->partition, (long long) rec->offset, err);
        return;
    }
    if (lyc_feedback_is_human(ev) || lyc_tracebuf_add(self->buffer, &ev, lyc_mono_us()) != 0)
        s_alone(self, ev);
}

/* Decides one dirty domain; nonzero keeps it dirty. */
static int s_decide(const char *scope, const char *domain, void *arg)
{
    lyc_trainer_t *self = arg;
    lyc_promote_ctx_t ctx = {.settings = self->settings,
                             .config = self->config,
                             .redis = self->redis,
                             .sink = self->sink,
                             .changes = self->role_changes};
    return lyc_promote_domain(&ctx, scope, domain) != 0;
}

static void s_commit(lyc_trainer_t *self)
{
    if (s_release(self, 1) != 0 || !self->uncommitted)
        return; /* never commit past what is not applied */
    if (lyc_consumer_commit(self->consumer) == 0) {
        self->uncommitted = 0;
        lyc_counter_add(self->commits, NULL, 1);
    }
}

static void s_timers(lyc_trainer_t *self)
{
    int64_t now = lyc_mono_us();
    if (now >= self->next_commit_us) {
        s_commit(self);
        self->next_commit_us = now + self->config->commit_interval_ms * 1000LL;
    }
    if (now >= self->next_roles_us) {
        lyc_ingest_each_dirty(self->ingest, s_decide, self);
        self->next_roles_us = now + self->config->role_interval_ms * 1000LL;
    }
    lyc_gauge_set(self->buffered, NULL, (double) lyc_tracebuf_count(self->buffer));
}

/* Retries a stalled group; 0 once it went through. */
static int s_unstall(lyc_trainer_t *self)
{
    if (!self->stalled)
        return 0;
    lyc_trace_group_t *group = self->stalled;
    self->stalled = NULL;
    if (s_ingest(self, group) == 0)
        return 0;
    struct timespec ts = {S_RETRY_MS / 1000, (S_RETRY_MS % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return -1;
}

int lyc_trainer_run(lyc_trainer_t *self)
{
    int rc = 0;
    int64_t now = lyc_mono_us();
    self->next_commit_us = now + self->config->commit_interval_ms * 1000LL;
    self->next_roles_us = now + self->config->role_interval_ms * 1000LL;
    while (!self->stop) {
        self->heartbeat_us = lyc_mono_us();
        if (s_unstall(self) != 0)
            continue;
        lyc_record_t rec;
        int got = lyc_consumer_poll(self->consumer, S_POLL_MS, &rec);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 1)
            s_on_record(self, &rec);
        s_release(self, 0);
        s_timers(self);
    }
    s_unstall(self);
    s_commit(self);
    lyc_ingest_each_dirty(self->ingest, s_decide, self);
    LYC_INFO(NULL, "trainer: stopped%s",
             self->stalled ? " with events not applied (Redis down); "
                             "they are read again on restart"
                           : "");
    return rc;
}
