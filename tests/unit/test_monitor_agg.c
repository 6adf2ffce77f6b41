/*
 * test_monitor_agg.c - the monitor's aggregate (services/monitor/agg.h):
 * every view of a small hand-built stream against figures worked out by
 * hand (in the comments); duplicates change nothing; the order of events
 * changes nothing; a random stream's totals equal a direct computation,
 * also when old queries are folded out of memory.
 */
#include "testkit.h"

#include "agg.h"
#include "lathist.h"
#include "seen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0    1700000000000000LL /* a multiple of the 10 s bucket */
#define SEC   1000000LL
#define EPS   1e-12
#define TIMEO LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT

/* One FeedbackEvent, as the test writes it. */
typedef struct {
    const char *id, *trace, *domain, *model, *judged_by;
    int sup, winner, err, human;
    double score, cost, judge;
    uint32_t lat, in, out;
    int64_t at;
} s_fb_t;

/* The hand-built stream (bucket 10 s; supervisor "sup" at 10 / 30 USD per Mtok):
 *   q1 t0+1  math  judged by sup:  sup 1.0, teacher 0.9 (wins), student 0.2
 *   q2 t0+12 math  agreement:      teacher 1.0 (wins), student timed out
 *   q3 t0+15 geo   judged by sup:  teacher 0.5 (wins), student 1.0
 *   q4 t0+20 math  agreement:      student 0.8 (wins)
 *   a human's score 0.0 on q1's teacher */
static const s_fb_t s_stream[] = {
    {"e1", "q1", "math", "sup", "sup", 1, 0, 0, 0, 1.0, 0.002, 0.001, 900, 100, 50, T0 + 1 * SEC},
    {"e2", "q1", "math", "teacher", "sup", 0, 1, 0, 0, 0.9, 0.0002, 0.001, 300, 100, 40,
     T0 + 1 * SEC},
    {"e3", "q1", "math", "student", "sup", 0, 0, 0, 0, 0.2, 0.00002, 0.001, 120, 100, 30,
     T0 + 1 * SEC},
    {"e4", "q2", "math", "teacher", "agreement", 0, 1, 0, 0, 1.0, 0.0003, 0, 200, 200, 60,
     T0 + 12 * SEC},
    {"e5", "q2", "math", "student", "agreement", 0, 0, TIMEO, 0, 0.0, 0, 0, 5000, 0, 0,
     T0 + 12 * SEC},
    {"e6", "q3", "geo", "teacher", "sup", 0, 1, 0, 0, 0.5, 0.0001, 0.0005, 250, 50, 20,
     T0 + 15 * SEC},
    {"e7", "q3", "geo", "student", "sup", 0, 0, 0, 0, 1.0, 0.00001, 0.0005, 100, 50, 10,
     T0 + 15 * SEC},
    {"e8", "q4", "math", "student", "agreement", 0, 1, 0, 0, 0.8, 0.00001, 0, 90, 80, 10,
     T0 + 20 * SEC},
    {"e9", "q1", "math", "teacher", "human", 0, 1, 0, 1, 0.0, 0, 0, 0, 0, 0, T0 + 40 * SEC},
};
#define S_STREAM_N (sizeof s_stream / sizeof s_stream[0])

static lyc_agg_t *s_new(size_t max_queries)
{
    lyc_agg_config_t cfg = {.bucket_us = 10 * SEC,
                            .max_buckets = 100,
                            .max_queries = max_queries,
                            .recent_queries = 50,
                            .seen_max = 10000,
                            .max_roles = 100,
                            .learning_min_exemplars = 2,
                            .sup_price_in = 10,
                            .sup_price_out = 30,
                            .supervisors = "sup"};
    lyc_agg_t *agg = lyc_agg_new(&cfg);
    ck_assert_ptr_nonnull(agg);
    return agg;
}

static int s_feed_msg(lyc_agg_t *agg, lyc_msg_type_t type, ProtobufCMessage *msg)
{
    lyc_envelope_t env = {.type = type, .schema_version = 1, .payload = msg, .sent_at_us = T0};
    return lyc_agg_feed(agg, &env);
}

static int s_feed_fb(lyc_agg_t *agg, const s_fb_t *f)
{
    Lyceum__V1__FeedbackEvent ev = LYCEUM__V1__FEEDBACK_EVENT__INIT;
    Lyceum__V1__Usage usage = LYCEUM__V1__USAGE__INIT;
    Lyceum__V1__Error error = LYCEUM__V1__ERROR__INIT;
    ev.event_id = (char *) f->id;
    ev.trace_id = ev.query_id = (char *) f->trace;
    ev.domain = (char *) f->domain;
    ev.model = (char *) f->model;
    ev.judged_by = (char *) f->judged_by;
    ev.supervisor = f->sup;
    ev.role = f->sup ? LYCEUM__V1__ROLE__ROLE_SUPERVISOR : LYCEUM__V1__ROLE__ROLE_STUDENT;
    ev.winner = f->winner;
    ev.score = f->score;
    ev.cost_usd = f->cost;
    ev.judge_cost_usd = f->judge;
    ev.latency_ms = f->lat;
    usage.prompt_tokens = f->in;
    usage.completion_tokens = f->out;
    ev.usage = &usage;
    if (f->err) {
        error.code = (Lyceum__V1__ErrorCode) f->err;
        ev.error = &error;
    }
    ev.source = f->human ? LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN
                         : LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_REFERENCE;
    ev.at_us = f->at;
    return s_feed_msg(agg, LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, &ev.base);
}

static int s_feed_sample(lyc_agg_t *agg, const char *id, const char *student, const char *domain,
                         int64_t at)
{
    Lyceum__V1__TrainingSample s = LYCEUM__V1__TRAINING_SAMPLE__INIT;
    s.sample_id = (char *) id;
    s.student_model = (char *) student;
    s.domain = (char *) domain;
    s.source_model = "teacher";
    s.at_us = at;
    return s_feed_msg(agg, LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE, &s.base);
}

static int s_feed_job(lyc_agg_t *agg, Lyceum__V1__JobState state, int64_t at)
{
    Lyceum__V1__TrainingJob j = LYCEUM__V1__TRAINING_JOB__INIT;
    j.job_id = "job-1";
    j.student_model = "student";
    j.domain = "geo";
    j.samples = 40;
    j.state = state;
    j.dispatcher = "command";
    j.result_model = state >= LYCEUM__V1__JOB_STATE__JOB_STATE_SUCCEEDED ? "student-ft1" : "";
    j.created_at_us = T0 + 13 * SEC;
    j.updated_at_us = at;
    return s_feed_msg(agg, LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB, &j.base);
}

static int s_feed_role(lyc_agg_t *agg)
{
    Lyceum__V1__RoleChange rc = LYCEUM__V1__ROLE_CHANGE__INIT;
    rc.model = "student";
    rc.domain = "math";
    rc.from_role = LYCEUM__V1__ROLE__ROLE_STUDENT;
    rc.to_role = LYCEUM__V1__ROLE__ROLE_TA;
    rc.reason = "lower bound 0.61 crossed 0.6 after 10 answers";
    rc.evidence_count = 10;
    rc.mean_score = 0.8;
    rc.lower_bound = 0.61;
    rc.upper_bound = 0.92;
    rc.at_us = T0 + 30 * SEC;
    return s_feed_msg(agg, LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, &rc.base);
}

/* Feeds the whole stream (feedback, samples at t0+5 and t0+11, the job
 * RUNNING at t0+13 and GATED at t0+14, one role change), forwards or
 * backwards; returns how many calls counted an event. */
static int s_feed_all(lyc_agg_t *agg, int backwards)
{
    int counted = 0;
    for (size_t k = 0; k < S_STREAM_N; k++)
        counted += s_feed_fb(agg, &s_stream[backwards ? S_STREAM_N - 1 - k : k]) == 1;
    counted += s_feed_sample(agg, backwards ? "s2" : "s1", "student", "math",
                             T0 + (backwards ? 11 : 5) * SEC) == 1;
    counted += s_feed_sample(agg, backwards ? "s1" : "s2", "student", "math",
                             T0 + (backwards ? 5 : 11) * SEC) == 1;
    counted += s_feed_job(agg,
                          backwards ? LYCEUM__V1__JOB_STATE__JOB_STATE_GATED
                                    : LYCEUM__V1__JOB_STATE__JOB_STATE_RUNNING,
                          T0 + (backwards ? 14 : 13) * SEC) == 1;
    counted += s_feed_job(agg,
                          backwards ? LYCEUM__V1__JOB_STATE__JOB_STATE_RUNNING
                                    : LYCEUM__V1__JOB_STATE__JOB_STATE_GATED,
                          T0 + (backwards ? 13 : 14) * SEC) == 1;
    counted += s_feed_role(agg) == 1;
    return counted;
}

/* ---- reading views -------------------------------------------------------- */

static double s_num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsNumber(item), "'%s' is not a number", key);
    return item->valuedouble;
}

static const char *s_str(const cJSON *obj, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    ck_assert_msg(s != NULL, "'%s' is not a string", key);
    return s;
}

/* The element of array whose k1 is v1 (and k2 is v2 when k2 is not NULL). */
static const cJSON *s_find(const cJSON *array, const char *k1, const char *v1, const char *k2,
                           const char *v2)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (strcmp(s_str(item, k1), v1) == 0 && (!k2 || strcmp(s_str(item, k2), v2) == 0))
            return item;
    }
    ck_abort_msg("no element with %s=%s", k1, v1);
    return NULL;
}

#define ck_near(a, b)                                                                              \
    ck_assert_msg(fabs((a) - (b)) < EPS, "%.15g != %.15g", (double) (a), (double) (b))

/* ---- the hand-built stream ------------------------------------------------- */

START_TEST(test_overview_by_hand)
{
    lyc_agg_t *agg = s_new(1000);
    ck_assert_int_eq(s_feed_all(agg, 0), (int) S_STREAM_N + 5);
    cJSON *o = lyc_agg_overview(agg);
    ck_assert_ptr_nonnull(o);
    ck_near(s_num(o, "events"), S_STREAM_N + 5);
    ck_near(s_num(o, "answer_calls"), 8); /* the human score is not a call */
    ck_near(s_num(o, "supervisor_calls"), 1);
    ck_near(s_num(o, "supervisor_answer_share"), 1.0 / 8);
    ck_near(s_num(o, "queries"), 4);
    ck_near(s_num(o, "judged"), 2);            /* agreement calls no judge model */
    ck_near(s_num(o, "supervisor_judged"), 2); /* q1 and q3 */
    ck_near(s_num(o, "supervisor_judge_share"), 1.0);
    /* q1 0.00222 + 3 x 0.001 judging, q2 0.0003, q3 0.00011 + 0.001, q4 0.00001 */
    ck_near(s_num(o, "cost_usd"), 0.00664);
    /* q1: the supervisor's own 0.002; q2: (10 x 200 + 30 x 60) / 1e6 = 0.0038 (the winner's
     * tokens); q3: (10 x 50 + 30 x 20) / 1e6 = 0.0011; q4: (10 x 80 + 30 x 10) / 1e6 = 0.0011 */
    ck_near(s_num(o, "supervisor_only_usd"), 0.008);
    ck_near(s_num(o, "saved_usd"), 0.008 - 0.00664);
    ck_near(s_num(o, "errors"), 1);
    ck_near(s_num(o, "timeouts"), 1);
    ck_near(s_num(o, "human_feedback"), 1);
    cJSON_Delete(o);
    lyc_agg_destroy(&agg);
}
END_TEST

START_TEST(test_supervisor_usage_by_hand)
{
    lyc_agg_t *agg = s_new(1000);
    s_feed_all(agg, 0);
    cJSON *u = lyc_agg_supervisor_usage(agg);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(u, "series");
    /* bucket t0: q1's three calls, one to the supervisor, judged by it */
    const cJSON *b0 = cJSON_GetArrayItem(series, 0);
    ck_near(s_num(b0, "t"), T0 / 1e6);
    ck_near(s_num(b0, "answer_calls"), 3);
    ck_near(s_num(b0, "supervisor_calls"), 1);
    ck_near(s_num(b0, "answer_share"), 1.0 / 3);
    ck_near(s_num(b0, "judged"), 1);
    ck_near(s_num(b0, "judge_share"), 1);
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(u, "totals");
    ck_near(s_num(totals, "answer_share"), 1.0 / 8);
    ck_near(s_num(totals, "judge_share"), 1.0); /* q2 and q4 were graded by agreement: no call */
    ck_assert_str_eq(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(u, "supervisors"), 0)->valuestring,
        "sup");
    cJSON_Delete(u);
    lyc_agg_destroy(&agg);
}
END_TEST

START_TEST(test_buckets_by_hand)
{
    lyc_agg_t *agg = s_new(1000);
    s_feed_all(agg, 0);
    cJSON *u = lyc_agg_supervisor_usage(agg);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(u, "series");
    /* three buckets hold answer calls: t0 (q1), t0+10 (q2, q3), t0+20 (q4); the
     * human score at t0+40 is no call, so it makes no bucket */
    ck_assert_int_eq(cJSON_GetArraySize(series), 3);
    const cJSON *b1 = cJSON_GetArrayItem(series, 1), *b2 = cJSON_GetArrayItem(series, 2);
    ck_near(s_num(b1, "answer_calls"), 4);
    ck_near(s_num(b1, "supervisor_calls"), 0);
    ck_near(s_num(b1, "queries"), 2);
    ck_near(s_num(b1, "supervisor_judged"), 1); /* q3; q2's agreement made no judge call */
    ck_near(s_num(b1, "judge_share"), 1.0);
    ck_near(s_num(b2, "answer_calls"), 1);
    /* q4 was graded by agreement: no judge call, so no share to speak of */
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b2, "judge_share")));
    cJSON_Delete(u);
    cJSON *c = lyc_agg_cost(agg);
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(c, "series");
    ck_near(s_num(cJSON_GetArrayItem(cs, 0), "cost_usd"), 0.00522);
    ck_near(s_num(cJSON_GetArrayItem(cs, 1), "cost_usd"), 0.0003 + 0.00111);
    ck_near(s_num(cJSON_GetArrayItem(cs, 1), "supervisor_only_usd"), 0.0038 + 0.0011);
    ck_near(s_num(cJSON_GetArrayItem(cs, 2), "cumulative_cost_usd"), 0.00664);
    ck_near(s_num(cJSON_GetArrayItem(cs, 2), "cumulative_supervisor_only_usd"), 0.008);
    const cJSON *dom = cJSON_GetObjectItemCaseSensitive(c, "domains");
    const cJSON *math = s_find(dom, "domain", "math", NULL, NULL);
    ck_near(s_num(math, "queries"), 3);
    ck_near(s_num(math, "cost_usd"), 0.00522 + 0.0003 + 0.00001);
    ck_near(s_num(math, "supervisor_only_usd"), 0.002 + 0.0038 + 0.0011);
    const cJSON *teacher =
        s_find(cJSON_GetObjectItemCaseSensitive(c, "models"), "model", "teacher", NULL, NULL);
    ck_near(s_num(teacher, "calls"), 3);
    ck_near(s_num(teacher, "cost_usd"), 0.0006);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "queries")), 4);
    cJSON_Delete(c);
    lyc_agg_destroy(&agg);
}
END_TEST

START_TEST(test_domains_by_hand)
{
    lyc_agg_t *agg = s_new(1000);
    s_feed_all(agg, 0);
    cJSON *d = lyc_agg_domains(agg);
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(d, "cells");
    ck_assert_int_eq(cJSON_GetArraySize(cells), 5);
    const cJSON *c = s_find(cells, "domain", "math", "model", "teacher");
    ck_near(s_num(c, "n"), 2);
    ck_near(s_num(c, "mean"), 0.95);
    c = s_find(cells, "domain", "math", "model", "student"); /* the time-out is not scored */
    ck_near(s_num(c, "n"), 2);
    ck_near(s_num(c, "mean"), 0.5);
    c = s_find(cells, "domain", "geo", "model", "student");
    ck_near(s_num(c, "mean"), 1.0);
    ck_near(s_num(s_find(cells, "domain", "math", "model", "sup"), "mean"), 1.0);
    cJSON_Delete(d);
    lyc_agg_destroy(&agg);
}
END_TEST

START_TEST(test_latency_and_errors_by_hand)
{
    lyc_agg_t *agg = s_new(1000);
    s_feed_all(agg, 0);
    cJSON *l = lyc_agg_latency(agg);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(l, "models");
    const cJSON *t = s_find(models, "model", "teacher", NULL, NULL); /* 200 250 300 */
    ck_near(s_num(t, "p50_ms"), 250);
    ck_near(s_num(t, "p90_ms"), 300);
    ck_near(s_num(t, "mean_ms"), 250);
    const cJSON *s = s_find(models, "model", "student", NULL, NULL); /* 90 100 120 5000 */
    ck_near(s_num(s, "count"), 4);
    ck_near(s_num(s, "p50_ms"), 100);
    ck_near(s_num(s, "p90_ms"), 5000);
    ck_near(s_num(s, "max_ms"), 5000);
    const cJSON *e2e = cJSON_GetObjectItemCaseSensitive(l, "end_to_end"); /* 90 250 900 5000 */
    ck_near(s_num(e2e, "count"), 4);
    ck_near(s_num(e2e, "p50_ms"), 250);
    ck_near(s_num(e2e, "p99_ms"), 5000);
    cJSON_Delete(l);
    cJSON *e = lyc_agg_errors(agg);
    s = s_find(cJSON_GetObjectItemCaseSensitive(e, "models"), "model", "student", NULL, NULL);
    ck_near(s_num(s, "calls"), 4);
    ck_near(s_num(s, "errors"), 1);
    ck_near(s_num(s, "timeouts"), 1);
    ck_near(s_num(s, "error_rate"), 0.25);
    ck_near(s_num(cJSON_GetObjectItemCaseSensitive(s, "by_code"), "timeout"), 1);
    ck_near(s_num(cJSON_GetObjectItemCaseSensitive(e, "totals"), "errors"), 1);
    cJSON_Delete(e);
    lyc_agg_destroy(&agg);
}
END_TEST

START_TEST(test_roles_and_learning_by_hand)
{
    lyc_agg_t *agg = s_new(1000);
    s_feed_all(agg, 0);
    cJSON *r = lyc_agg_roles(agg);
    const cJSON *changes = cJSON_GetObjectItemCaseSensitive(r, "changes");
    ck_assert_int_eq(cJSON_GetArraySize(changes), 1);
    const cJSON *c = cJSON_GetArrayItem(changes, 0);
    ck_assert_str_eq(s_str(c, "from"), "student");
    ck_assert_str_eq(s_str(c, "to"), "ta");
    ck_assert_str_eq(s_str(c, "direction"), "promotion");
    ck_near(s_num(c, "evidence_count"), 10);
    ck_near(s_num(c, "lower_bound"), 0.61);
    ck_assert_str_eq(
        s_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "current"), 0), "role"), "ta");
    cJSON_Delete(r);
    cJSON *l = lyc_agg_learning(agg);
    const cJSON *students = cJSON_GetObjectItemCaseSensitive(l, "students");
    ck_assert_int_eq(cJSON_GetArraySize(students), 2);
    /* math: the second sample (t0+11) is the moment; q1's 0.2 before, q4's 0.8 after */
    const cJSON *m = s_find(students, "model", "student", "domain", "math");
    ck_assert_str_eq(s_str(m, "moment"), "exemplars");
    ck_near(s_num(m, "moment_t"), (T0 + 11 * SEC) / 1e6);
    ck_near(s_num(m, "samples"), 2);
    ck_near(s_num(cJSON_GetObjectItemCaseSensitive(m, "before"), "mean"), 0.2);
    ck_near(s_num(cJSON_GetObjectItemCaseSensitive(m, "after"), "mean"), 0.8);
    ck_near(s_num(m, "delta"), 0.6);
    /* geo: the fine-tuned version was gated at t0+14; q3 (t0+15) is after */
    const cJSON *g = s_find(students, "model", "student", "domain", "geo");
    ck_assert_str_eq(s_str(g, "moment"), "finetune");
    ck_near(s_num(cJSON_GetObjectItemCaseSensitive(g, "before"), "n"), 0);
    ck_near(s_num(cJSON_GetObjectItemCaseSensitive(g, "after"), "mean"), 1.0);
    ck_assert_str_eq(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(g, "versions"), 0)->valuestring,
        "student-ft1");
    const cJSON *job = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "jobs"), 0);
    ck_assert_str_eq(s_str(job, "state"), "gated");
    cJSON_Delete(l);
    lyc_agg_destroy(&agg);
}
END_TEST

/* ---- duplicates and order -------------------------------------------------- */

/* Every view of agg as text, joined. */
static char *s_all_views(lyc_agg_t *agg, int with_overview)
{
    cJSON *(*views[])(lyc_agg_t *) = {
        lyc_agg_overview, lyc_agg_supervisor_usage, lyc_agg_cost,    lyc_agg_domains,
        lyc_agg_roles,    lyc_agg_learning,         lyc_agg_latency, lyc_agg_errors};
    size_t cap = 1, len = 0;
    char *all = calloc(1, 1);
    for (size_t v = with_overview ? 0 : 1; v < sizeof views / sizeof views[0]; v++) {
        cJSON *tree = views[v](agg);
        ck_assert_ptr_nonnull(tree);
        char *text = cJSON_PrintUnformatted(tree);
        cap += strlen(text) + 1;
        all = realloc(all, cap);
        len += (size_t) sprintf(all + len, "%s\n", text);
        free(text);
        cJSON_Delete(tree);
    }
    return all;
}

START_TEST(test_duplicates_change_nothing)
{
    lyc_agg_t *once = s_new(1000), *twice = s_new(1000);
    s_feed_all(once, 0);
    s_feed_all(twice, 0);
    ck_assert_int_eq(s_feed_all(twice, 0), 0); /* every event again: none counted */
    ck_assert_int_eq(s_feed_all(twice, 1), 0); /* and again, backwards */
    char *a = s_all_views(once, 0), *b = s_all_views(twice, 0);
    ck_assert_str_eq(a, b);
    lyc_agg_totals_t t;
    lyc_agg_totals(twice, &t);
    ck_assert_uint_eq(t.duplicates, 2 * (S_STREAM_N + 5));
    ck_assert_uint_eq(t.events, S_STREAM_N + 5);
    free(a);
    free(b);
    lyc_agg_destroy(&once);
    lyc_agg_destroy(&twice);
}
END_TEST

START_TEST(test_order_changes_nothing)
{
    lyc_agg_t *fwd = s_new(1000), *bwd = s_new(1000);
    s_feed_all(fwd, 0);
    s_feed_all(bwd, 1);
    char *a = s_all_views(fwd, 1), *b = s_all_views(bwd, 1);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    lyc_agg_destroy(&fwd);
    lyc_agg_destroy(&bwd);
}
END_TEST

/* ---- a random stream against a direct computation -------------------------- */

#define R_QUERIES 300
#define R_MODELS  4
#define R_DOMAINS 3

static const char *const r_models[R_MODELS] = {"sup", "teacher", "student", "memory"};
static const char *const r_domains[R_DOMAINS] = {"math", "geo", "law"};

typedef struct {
    s_fb_t ev[R_QUERIES * R_MODELS];
    char ids[R_QUERIES * R_MODELS][16], traces[R_QUERIES][16];
    size_t n;
} s_random_t;

static void s_random_stream(s_random_t *r, unsigned seed)
{
    srand(seed);
    r->n = 0;
    for (int q = 0; q < R_QUERIES; q++) {
        snprintf(r->traces[q], sizeof r->traces[q], "t%d", q);
        const char *domain = r_domains[rand() % R_DOMAINS];
        const char *judge = rand() % 3 == 0 ? "sup" : "agreement";
        int64_t at = T0 + (int64_t) (rand() % 600) * SEC;
        int winner = rand() % R_MODELS;
        for (int m = 0; m < R_MODELS; m++) {
            if (m != 0 && rand() % 4 == 0)
                continue; /* familiar path: not every model answers */
            s_fb_t *e = &r->ev[r->n];
            snprintf(r->ids[r->n], sizeof r->ids[r->n], "r%zu", r->n);
            int err = rand() % 10 == 0 ? 1 + rand() % 7 : 0;
            *e = (s_fb_t){r->ids[r->n],
                          r->traces[q],
                          domain,
                          r_models[m],
                          judge,
                          m == 0,
                          m == winner && !err,
                          err,
                          0,
                          (rand() % 101) / 100.0,
                          (rand() % 1000) / 1e6,
                          (rand() % 100) / 1e6,
                          (uint32_t) (rand() % 3000),
                          (uint32_t) (rand() % 500),
                          (uint32_t) (rand() % 200),
                          at};
            r->n++;
        }
    }
}

/* What the totals must be, computed straight from the events. */
static void s_expected(const s_random_t *r, lyc_agg_totals_t *t)
{
    memset(t, 0, sizeof *t);
    for (int q = 0; q < R_QUERIES; q++) {
        int seen = 0, sup_ok = 0, won = 0;
        double sup_cost = 0;
        uint32_t win_in = 0, win_out = 0, max_in = 0, max_out = 0;
        const char *judge = NULL;
        for (size_t i = 0; i < r->n; i++) {
            const s_fb_t *e = &r->ev[i];
            if (strcmp(e->trace, r->traces[q]) != 0)
                continue;
            seen = 1;
            judge = e->judged_by;
            t->answer_calls++;
            t->supervisor_calls += e->sup;
            t->errors += e->err != 0;
            t->timeouts += e->err == TIMEO;
            t->cost_usd += e->cost + e->judge;
            if (e->sup && !e->err) {
                sup_ok = 1;
                sup_cost = e->cost;
            }
            if (e->winner) {
                won = 1;
                win_in = e->in;
                win_out = e->out;
            }
            max_in = e->in > max_in ? e->in : max_in;
            max_out = e->out > max_out ? e->out : max_out;
        }
        if (!seen)
            continue;
        t->queries++;
        t->judged += strcmp(judge, "agreement") != 0;
        t->supervisor_judged += strcmp(judge, "sup") == 0;
        t->sup_only_usd +=
            sup_ok ? sup_cost
                   : (10.0 * (won ? win_in : max_in) + 30.0 * (won ? win_out : max_out)) / 1e6;
    }
}

static void s_check_random(size_t max_queries)
{
    static s_random_t r;
    s_random_stream(&r, 42);
    lyc_agg_t *agg = s_new(max_queries);
    for (size_t i = 0; i < r.n; i++)
        ck_assert_int_eq(s_feed_fb(agg, &r.ev[i]), 1);
    for (size_t i = 0; i < r.n; i += 7)
        ck_assert_int_eq(s_feed_fb(agg, &r.ev[i]), 0); /* redelivered */
    lyc_agg_totals_t got, want;
    lyc_agg_totals(agg, &got);
    s_expected(&r, &want);
    ck_assert_uint_eq(got.answer_calls, want.answer_calls);
    ck_assert_uint_eq(got.supervisor_calls, want.supervisor_calls);
    ck_assert_uint_eq(got.queries, want.queries);
    ck_assert_uint_eq(got.judged, want.judged);
    ck_assert_uint_eq(got.supervisor_judged, want.supervisor_judged);
    ck_assert_uint_eq(got.errors, want.errors);
    ck_assert_uint_eq(got.timeouts, want.timeouts);
    ck_assert_msg(fabs(got.cost_usd - want.cost_usd) < 1e-9, "cost %g != %g", got.cost_usd,
                  want.cost_usd);
    ck_assert_msg(fabs(got.sup_only_usd - want.sup_only_usd) < 1e-9, "sup-only %g != %g",
                  got.sup_only_usd, want.sup_only_usd);
    /* the series add up to the totals */
    cJSON *u = lyc_agg_supervisor_usage(agg);
    double calls = 0, judged = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(u, "series"))
    {
        calls += s_num(p, "answer_calls");
        judged += s_num(p, "supervisor_judged");
    }
    ck_near(calls, want.answer_calls);
    ck_near(judged, want.supervisor_judged);
    cJSON_Delete(u);
    lyc_agg_destroy(&agg);
}

START_TEST(test_random_stream_totals)
{
    s_check_random(100000);
}
END_TEST

START_TEST(test_random_stream_totals_when_folding)
{
    s_check_random(20); /* most queries are folded out of memory */
}
END_TEST

/* ---- the building blocks --------------------------------------------------- */

START_TEST(test_lathist_quantiles)
{
    lyc_lathist_t *h = lyc_lathist_new();
    ck_assert_int_eq(lyc_lathist_quantile(h, 0.5), 0);
    for (uint32_t v = 1; v <= 10; v++)
        lyc_lathist_add(h, v * 10);
    ck_assert_int_eq(lyc_lathist_quantile(h, 0.5), 50);
    ck_assert_int_eq(lyc_lathist_quantile(h, 0.9), 90); /* not rounded up to rank 10 */
    ck_assert_int_eq(lyc_lathist_quantile(h, 0.99), 100);
    lyc_lathist_add(h, 1234);   /* 10 ms buckets from 1 s */
    lyc_lathist_add(h, 200000); /* past the last bucket: the max */
    ck_assert_int_eq(lyc_lathist_quantile(h, 1.0), 200000);
    ck_assert_int_eq(lyc_lathist_quantile(h, 11.0 / 12), 1230);
    lyc_lathist_destroy(&h);
    ck_assert_ptr_null(h);
}
END_TEST

START_TEST(test_seen_generations)
{
    lyc_seen_t *s = lyc_seen_new(1000); /* 500 per generation */
    for (uint64_t i = 1; i <= 500; i++)
        ck_assert_int_eq(lyc_seen_add(s, i * 7919), 1);
    ck_assert_int_eq(lyc_seen_add(s, 7919), 0);
    for (uint64_t i = 501; i <= 1000; i++)
        ck_assert_int_eq(lyc_seen_add(s, i * 7919), 1);
    ck_assert_int_eq(lyc_seen_add(s, 7919), 0); /* still in the previous generation */
    for (uint64_t i = 1001; i <= 1500; i++)
        ck_assert_int_eq(lyc_seen_add(s, i * 7919), 1);
    ck_assert_int_eq(lyc_seen_add(s, 7919), 1); /* forgotten two generations on */
    ck_assert_uint_le(lyc_seen_size(s), 1000);
    lyc_seen_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitor_agg");
    TCase *tc = tcase_create("agg");
    tcase_add_test(tc, test_overview_by_hand);
    tcase_add_test(tc, test_supervisor_usage_by_hand);
    tcase_add_test(tc, test_buckets_by_hand);
    tcase_add_test(tc, test_domains_by_hand);
    tcase_add_test(tc, test_latency_and_errors_by_hand);
    tcase_add_test(tc, test_roles_and_learning_by_hand);
    tcase_add_test(tc, test_duplicates_change_nothing);
    tcase_add_test(tc, test_order_changes_nothing);
    tcase_add_test(tc, test_random_stream_totals);
    tcase_add_test(tc, test_random_stream_totals_when_folding);
    tcase_add_test(tc, test_lathist_quantiles);
    tcase_add_test(tc, test_seen_generations);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
