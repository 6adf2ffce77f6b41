/*
 * feed.c - the event log into the aggregate, the aggregate into the
 * snapshot (see feed.h).
 */
#include "feed.h"

#include "agg.h"
#include "clock.h"
#include "eventlog.h"
#include "ids.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* librdkafka looks for topics created after the start this often (its
 * default, five minutes, would hide a new topic for that long). */
static const char *const s_consumer_settings[] = {"topic.metadata.refresh.interval.ms=5000"};

/* Pause before a failed consumer is made again. */
#define S_RESTART_MS 2000

typedef struct {
    lyc_counter_t *records, *events, *duplicates, *rejected;
    lyc_histogram_t *render_seconds;
    lyc_gauge_t *queries, *calls, *share, *cost, *model_calls, *model_errors, *model_timeouts;
    lyc_gauge_t *latency, *last_event;
} s_metrics_t;

typedef struct {
    lyc_feed_args_t *args;
    lyc_consumer_t *consumer;
    lyc_agg_t *agg;
    s_metrics_t m;
    int dirty;
    int64_t published_us;
    int64_t render_ms; /* how long the last rendering took */
} s_feed_t;

void lyc_feed_group(const lyc_monitor_config_t *config, char *buf, size_t cap)
{
    char host[64] = "localhost", id[LYC_ID_LEN];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    lyc_id_new(id);
    id[12] = '\0';
    snprintf(buf, cap, "%s-%s-%d-%s", config->group_prefix, host, (int) getpid(), id);
}

/* ---- metrics ------------------------------------------------------------- */

static int s_declare(s_feed_t *f, lyc_metrics_t *r)
{
    static const double render[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
    s_metrics_t *m = &f->m;
    m->records = lyc_metrics_counter(r, "lyceum_monitor_records_total",
                                     "Records read from the event log, by topic", "topic");
    m->events = lyc_metrics_counter(r, "lyceum_monitor_events_total",
                                    "Distinct events counted, by topic and type", "topic,type");
    m->duplicates = lyc_metrics_counter(r, "lyceum_monitor_duplicates_total",
                                        "Events dropped as already counted, by topic", "topic");
    m->rejected = lyc_metrics_counter(r, "lyceum_monitor_rejected_total",
                                      "Records not counted, by topic and reason", "topic,reason");
    m->render_seconds = lyc_metrics_histogram(r, "lyceum_monitor_render_seconds",
                                              "Time to render every view into the snapshot", NULL,
                                              render, sizeof render / sizeof render[0]);
    m->queries = lyc_metrics_gauge(r, "lyceum_monitor_queries", "Distinct queries seen", NULL);
    m->calls = lyc_metrics_gauge(r, "lyceum_monitor_answer_calls", "Answer calls seen", NULL);
    m->share =
        lyc_metrics_gauge(r, "lyceum_monitor_supervisor_share",
                          "Share of answer or judge calls that went to the supervisor", "kind");
    m->cost = lyc_metrics_gauge(r, "lyceum_monitor_cost_usd",
                                "USD spent (actual) and the supervisor-only estimate", "kind");
    m->model_calls = lyc_metrics_gauge(r, "lyceum_monitor_model_calls",
                                       "Answer calls per model, from the log", "model");
    m->model_errors = lyc_metrics_gauge(r, "lyceum_monitor_model_errors",
                                        "Failed answer calls per model, from the log", "model");
    m->model_timeouts =
        lyc_metrics_gauge(r, "lyceum_monitor_model_timeouts",
                          "Timed-out answer calls per model, from the log", "model");
    m->latency = lyc_metrics_gauge(r, "lyceum_monitor_model_latency_seconds",
                                   "Answer latency quantiles per model, from the log", "model,q");
    m->last_event = lyc_metrics_gauge(r, "lyceum_monitor_last_event_timestamp_seconds",
                                      "Time of the newest event counted", NULL);
    return m->records && m->events && m->duplicates && m->rejected && m->render_seconds &&
                   m->queries && m->calls && m->share && m->cost && m->model_calls &&
                   m->model_errors && m->model_timeouts && m->latency && m->last_event
               ? 0
               : -1;
}

static double s_num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(item) ? item->valuedouble : 0;
}

static void s_gauge(lyc_gauge_t *g, const char *label, double value)
{
    const char *labels[] = {label};
    lyc_gauge_set(g, label ? labels : NULL, value);
}

/* Copies headline figures of the fresh views into gauges. */
static void s_update_gauges(s_metrics_t *m, cJSON *const trees[LYC_VIEW_COUNT])
{
    const cJSON *o = trees[LYC_VIEW_OVERVIEW];
    s_gauge(m->queries, NULL, s_num(o, "queries"));
    s_gauge(m->calls, NULL, s_num(o, "answer_calls"));
    s_gauge(m->share, "answer", s_num(o, "supervisor_answer_share"));
    s_gauge(m->share, "judge", s_num(o, "supervisor_judge_share"));
    s_gauge(m->cost, "actual", s_num(o, "cost_usd"));
    s_gauge(m->cost, "supervisor_only", s_num(o, "supervisor_only_usd"));
    s_gauge(m->last_event, NULL, s_num(o, "last_t"));
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(trees[LYC_VIEW_ERRORS], "models"))
    {
        const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "model"));
        s_gauge(m->model_calls, model, s_num(item, "calls"));
        s_gauge(m->model_errors, model, s_num(item, "errors"));
        s_gauge(m->model_timeouts, model, s_num(item, "timeouts"));
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(trees[LYC_VIEW_LATENCY], "models"))
    {
        const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "model"));
        const char *q50[] = {model, "0.5"}, *q90[] = {model, "0.9"}, *q99[] = {model, "0.99"};
        lyc_gauge_set(m->latency, q50, s_num(item, "p50_ms") / 1000);
        lyc_gauge_set(m->latency, q90, s_num(item, "p90_ms") / 1000);
        lyc_gauge_set(m->latency, q99, s_num(item, "p99_ms") / 1000);
    }
}

/* ---- the snapshot -------------------------------------------------------- */

static void s_publish(s_feed_t *f)
{
    int64_t started = lyc_mono_us();
    cJSON *trees[LYC_VIEW_COUNT] = {0};
    char *texts[LYC_VIEW_COUNT] = {0};
    for (int v = 0; v < LYC_VIEW_COUNT; v++) {
        trees[v] = lyc_view_render(f->agg, (lyc_view_t) v);
        texts[v] = trees[v] ? cJSON_PrintUnformatted(trees[v]) : NULL;
        if (!texts[v])
            LYC_WARN(NULL, "monitor: out of memory rendering /api/%s", lyc_view_name(v));
    }
    s_update_gauges(&f->m, trees);
    lyc_snapshot_swap(f->args->snapshot, texts);
    for (int v = 0; v < LYC_VIEW_COUNT; v++) {
        cJSON_Delete(trees[v]);
        free(texts[v]); /* NULL unless the swap did not take it */
    }
    f->dirty = 0;
    f->published_us = lyc_mono_us();
    f->render_ms = (f->published_us - started) / 1000;
    lyc_histogram_observe(f->m.render_seconds, NULL, (double) (f->published_us - started) / 1e6);
}

/* ---- records ------------------------------------------------------------- */

static void s_reject(s_feed_t *f, const char *topic, const char *reason)
{
    const char *labels[] = {topic, reason};
    lyc_counter_add(f->m.rejected, labels, 1);
}

static void s_handle(s_feed_t *f, const lyc_record_t *rec)
{
    const char *topic_label[] = {rec->topic};
    lyc_counter_add(f->m.records, topic_label, 1);
    lyc_envelope_t env;
    char err[256];
    if (lyc_envelope_decode(rec->payload, rec->len, &env, err, sizeof err) != 0) {
        LYC_WARN(NULL, "monitor: skipped record %s/%d@%lld: %s", rec->topic, (int) rec->partition,
                 (long long) rec->offset, err);
        s_reject(f, rec->topic, "undecodable");
        return;
    }
    int rc = lyc_agg_feed(f->agg, &env);
    if (rc == 1) {
        const char *labels[] = {rec->topic, lyc_msg_name(env.type)};
        lyc_counter_add(f->m.events, labels, 1);
        f->dirty = 1;
    } else if (rc == 0) {
        lyc_counter_add(f->m.duplicates, topic_label, 1);
    } else {
        s_reject(f, rec->topic, "not_aggregated");
    }
    lyc_envelope_clear(&env);
}

/* ---- the actor ----------------------------------------------------------- */

static lyc_consumer_t *s_consumer(const lyc_feed_args_t *args)
{
    const lyc_settings_t *s = args->settings;
    const char *topics[4];
    const char *all[] = {s->topic_feedback, s->topic_roles, s->topic_registry, s->topic_training};
    size_t n = 0;
    for (size_t i = 0; i < 4; i++) {
        int repeated = 0;
        for (size_t k = 0; k < n; k++)
            repeated |= strcmp(topics[k], all[i]) == 0;
        if (!repeated && *all[i])
            topics[n++] = all[i];
    }
    char group[256], err[512];
    lyc_feed_group(args->config, group, sizeof group);
    lyc_kafka_extra_t extra;
    if (lyc_settings_kafka_extra(s, s_consumer_settings, 1, &extra, err, sizeof err) != 0) {
        LYC_ERROR(NULL, "monitor: %s", err);
        return NULL;
    }
    lyc_consumer_config_t cfg = {.brokers = s->kafka_brokers,
                                 .client_id = "lyceum-monitor",
                                 .group_id = group,
                                 .topics = topics,
                                 .topic_count = n,
                                 .auto_offset_reset = "earliest",
                                 .settings = extra.items,
                                 .settings_count = extra.count};
    lyc_consumer_t *consumer = lyc_consumer_new(&cfg);
    lyc_kafka_extra_clear(&extra);
    return consumer;
}

static lyc_agg_t *s_agg(const lyc_monitor_config_t *c)
{
    lyc_agg_config_t cfg = {.bucket_us = (int64_t) c->bucket_s * 1000000,
                            .max_buckets = (size_t) c->max_buckets,
                            .max_queries = (size_t) c->max_queries,
                            .recent_queries = (size_t) c->recent_queries,
                            .seen_max = (size_t) c->seen_max,
                            .max_roles = (size_t) c->max_roles,
                            .learning_min_exemplars = c->learning_min_exemplars,
                            .sup_price_in = c->supervisor_price_in,
                            .sup_price_out = c->supervisor_price_out,
                            .supervisors = c->supervisors};
    return lyc_agg_new(&cfg);
}

/* 1 when the pipe asks the actor to stop. */
static int s_stop_requested(zsock_t *pipe)
{
    if (!(zsock_events(pipe) & ZMQ_POLLIN))
        return 0;
    char *command = zstr_recv(pipe);
    int stop = !command || strcmp(command, "$TERM") == 0;
    free(command);
    return stop;
}

/* After the consumer failed: a new aggregate and a new consumer group that
 * read the log from the start again, as a restarted monitor would (the old
 * figures stay in the snapshot until new ones are published). */
static void s_restart(s_feed_t *f)
{
    if (atomic_exchange(f->args->healthy, 0))
        LYC_ERROR(NULL, "monitor: the event log consumer failed; rebuilding from the log");
    lyc_consumer_destroy(&f->consumer);
    lyc_agg_destroy(&f->agg);
    zclock_sleep(S_RESTART_MS);
    f->agg = s_agg(f->args->config);
    f->consumer = f->agg ? s_consumer(f->args) : NULL;
    if (f->consumer)
        atomic_store(f->args->healthy, 1);
}

/* One poll of the log; the views are published when due or when quiet. */
static void s_step(s_feed_t *f)
{
    const lyc_monitor_config_t *c = f->args->config;
    lyc_record_t rec;
    int rc = f->consumer ? lyc_consumer_poll(f->consumer, (int) c->poll_ms, &rec) : -1;
    if (rc == 1)
        s_handle(f, &rec);
    if (rc < 0) {
        s_restart(f);
        return;
    }
    /* Rendering waits at least four times its own last duration, so a big
     * aggregate under steady traffic spends most of its time counting. */
    int64_t since_ms = (lyc_mono_us() - f->published_us) / 1000;
    int64_t due_ms = c->snapshot_ms > 4 * f->render_ms ? c->snapshot_ms : 4 * f->render_ms;
    if (f->dirty && (rc == 0 || since_ms >= due_ms))
        s_publish(f);
}

void lyc_feed_actor(zsock_t *pipe, void *arg)
{
    s_feed_t f = {.args = arg};
    zsock_signal(pipe, 0); /* started; the status follows */
    f.agg = s_agg(f.args->config);
    f.consumer = f.agg && s_declare(&f, f.args->metrics) == 0 ? s_consumer(f.args) : NULL;
    if (f.consumer) {
        s_publish(&f); /* empty views until the first events */
        atomic_store(f.args->healthy, 1);
    }
    if (zsock_send(pipe, "i", f.consumer ? 0 : -1) != 0 || !f.consumer)
        goto out_destroy;
    while (!s_stop_requested(pipe))
        s_step(&f);
out_destroy:
    lyc_consumer_destroy(&f.consumer);
    lyc_agg_destroy(&f.agg);
}
