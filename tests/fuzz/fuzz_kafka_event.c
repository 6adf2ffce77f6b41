/*
 * fuzz_kafka_event.c - libFuzzer target for Kafka record values.
 *
 * Anyone who can write to a Lyceum topic can put any bytes in a record, so
 * the consumers' readers must hold. The input is a short stream of records,
 * each a 2-byte little-endian length and that many bytes (the last record
 * takes whatever is left). Each record goes where the consumers send it:
 *
 *   monitor  lyc_envelope_decode() then lyc_agg_feed() into one aggregate
 *            per input (FeedbackEvent, RoleChange, ModelEntry,
 *            TrainingSample, TrainingJob), fed twice (the second must be a
 *            duplicate), and every view rendered at the end;
 *   trainer  lyc_feedback_decode() (FEEDBACK_EVENT checks), the helpers the
 *            trainer calls on a checked event, and its per-trace buffer.
 *
 * Small aggregate bounds make a handful of records reach the eviction paths.
 */
#include "agg.h"
#include "feedback.h"
#include "log.h"
#include "tracebuf.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_RECORDS 16
#define S_SEC         1000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    lyc_log_threshold = LYC_LOG_OFF;
    return 0;
}

static lyc_agg_t *s_agg_new(void)
{
    lyc_agg_config_t cfg = {.bucket_us = 10 * S_SEC,
                            .max_buckets = 4,
                            .max_queries = 4,
                            .recent_queries = 3,
                            .seen_max = 16,
                            .max_roles = 4,
                            .learning_min_exemplars = 2,
                            .sup_price_in = 10,
                            .sup_price_out = 30,
                            .supervisors = "sup,gpt-4"};
    return lyc_agg_new(&cfg);
}

/* The monitor's path: decode, count, count again (a duplicate). */
static void s_monitor(lyc_agg_t *agg, const uint8_t *data, size_t size)
{
    lyc_envelope_t env;
    char why[256];
    if (lyc_envelope_decode(data, size, &env, why, sizeof why) != 0)
        return;
    int first = lyc_agg_feed(agg, &env);
    int again = lyc_agg_feed(agg, &env);
    if (first == 1 && again != 0)
        abort(); /* figures must not count one event twice */
    lyc_envelope_clear(&env);
}

/* The trainer's path: checked decode, helpers, per-trace buffer. */
static void s_trainer(lyc_tracebuf_t *buf, const uint8_t *data, size_t size, int64_t now_us)
{
    char why[256];
    lyc_feedback_t *ev = lyc_feedback_decode(data, size, why, sizeof why);
    if (!ev)
        return;
    if (!lyc_feedback_name_valid(ev->model))
        abort(); /* decode promised a usable model name */
    (void) lyc_feedback_is_human(ev);
    (void) lyc_feedback_failed(ev);
    if (lyc_tracebuf_add(buf, &ev, now_us) != 0)
        lyc_feedback_free(&ev);
}

static void s_render_views(lyc_agg_t *agg)
{
    cJSON *(*views[])(lyc_agg_t *) = {
        lyc_agg_overview, lyc_agg_supervisor_usage, lyc_agg_cost,    lyc_agg_domains,
        lyc_agg_roles,    lyc_agg_learning,         lyc_agg_latency, lyc_agg_errors};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        cJSON *view = views[i](agg);
        char *text = cJSON_PrintUnformatted(view);
        free(text);
        cJSON_Delete(view);
    }
    lyc_agg_totals_t totals;
    lyc_agg_totals(agg, &totals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lyc_agg_t *agg = s_agg_new();
    lyc_tracebuf_t *buf = lyc_tracebuf_new(S_SEC, 4, 2);
    if (!agg || !buf)
        abort();
    size_t pos = 0;
    for (int i = 0; i < S_MAX_RECORDS && pos < size; i++) {
        size_t len = size - pos;
        if (len >= 2) {
            size_t want = (size_t) data[pos] | (size_t) data[pos + 1] << 8;
            pos += 2;
            len = want < size - pos ? want : size - pos;
        }
        s_monitor(agg, data + pos, len);
        s_trainer(buf, data + pos, len, (int64_t) i * S_SEC / 2);
        pos += len;
    }
    lyc_trace_group_t *group;
    while ((group = lyc_tracebuf_take(buf, 100 * S_SEC, 1)) != NULL) {
        if (group->count == 0)
            abort();
        lyc_trace_group_destroy(&group);
    }
    s_render_views(agg);
    lyc_tracebuf_destroy(&buf);
    lyc_agg_destroy(&agg);
    return 0;
}
