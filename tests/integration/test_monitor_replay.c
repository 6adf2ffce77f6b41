/*
 * test_monitor_replay.c - the real lyceum-monitor binary against the real
 * Kafka: a known stream (with re-sent duplicates) goes to a topic set of
 * its own; the monitor's /api figures equal the figures computed here
 * directly from the stream. A monitor killed (SIGKILL) while the stream is
 * still coming, and started again, rebuilds from the log and shows exactly
 * the figures of a monitor that never stopped.
 */
#include "testkit.h"

#include "clock.h"
#include "envelope.h"
#include "eventlog.h"

#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUERIES       150
#define MODELS        4
#define DOMAINS       3
#define WAIT_MS       40000
#define SUP_PRICE_IN  10.0
#define SUP_PRICE_OUT 30.0

static const char *const s_models[MODELS] = {"sup", "teacher", "student", "memory"};
static const char *const s_domains[DOMAINS] = {"math", "geo", "law"};

/* One answer call of the stream. */
typedef struct {
    char id[24], trace[24];
    const char *domain, *model, *judge;
    int sup, winner, err;
    double score, cost, judge_cost;
    uint32_t lat, in, out;
    int64_t at;
} s_call_t;

static s_call_t s_calls[QUERIES * MODELS];
static size_t s_n;
static char s_topics[4][96], s_dir[128], s_cluster[256];
static int s_port_steady, s_port_restart;

/* ---- the stream ---------------------------------------------------------- */

static void s_make_stream(void)
{
    int64_t t0 = (lyc_wall_us() / 10000000 - 60) * 10000000; /* ten minutes of buckets */
    srand(7);
    s_n = 0;
    for (int q = 0; q < QUERIES; q++) {
        const char *domain = s_domains[rand() % DOMAINS];
        const char *judge = rand() % 3 ? "agreement" : "sup";
        int64_t at = t0 + (int64_t) (rand() % 600) * 1000000;
        int winner = rand() % MODELS;
        for (int m = 0; m < MODELS; m++) {
            if (m > 0 && rand() % 4 == 0)
                continue;
            s_call_t *c = &s_calls[s_n];
            snprintf(c->id, sizeof c->id, "ev%zu-%d", s_n, (int) getpid());
            snprintf(c->trace, sizeof c->trace, "q%d-%d", q, (int) getpid());
            int err = rand() % 12 == 0 ? 1 + rand() % 7 : 0;
            c->domain = domain;
            c->model = s_models[m];
            c->judge = judge;
            c->sup = m == 0;
            c->winner = m == winner && !err;
            c->err = err;
            c->score = (rand() % 101) / 100.0;
            c->cost = (rand() % 1000) / 1e6;
            c->judge_cost = (rand() % 50) / 1e6;
            c->lat = (uint32_t) (rand() % 2000);
            c->in = (uint32_t) (rand() % 400);
            c->out = (uint32_t) (rand() % 100);
            c->at = at;
            s_n++;
        }
    }
}

static uint8_t *s_encode(const s_call_t *c, size_t *len)
{
    Lyceum__V1__FeedbackEvent ev = LYCEUM__V1__FEEDBACK_EVENT__INIT;
    Lyceum__V1__Usage usage = LYCEUM__V1__USAGE__INIT;
    Lyceum__V1__Error error = LYCEUM__V1__ERROR__INIT;
    ev.event_id = (char *) c->id;
    ev.trace_id = ev.query_id = (char *) c->trace;
    ev.domain = (char *) c->domain;
    ev.model = (char *) c->model;
    ev.judged_by = (char *) c->judge;
    ev.supervisor = c->sup;
    ev.winner = c->winner;
    ev.score = c->score;
    ev.cost_usd = c->cost;
    ev.judge_cost_usd = c->judge_cost;
    ev.latency_ms = c->lat;
    usage.prompt_tokens = c->in;
    usage.completion_tokens = c->out;
    ev.usage = &usage;
    if (c->err) {
        error.code = (Lyceum__V1__ErrorCode) c->err;
        ev.error = &error;
    }
    ev.at_us = c->at;
    return lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, c->trace, &ev.base, len);
}

static uint8_t *s_encode_role(int i, size_t *len)
{
    Lyceum__V1__RoleChange rc = LYCEUM__V1__ROLE_CHANGE__INIT;
    rc.model = "student";
    rc.domain = (char *) s_domains[i % DOMAINS];
    rc.from_role = LYCEUM__V1__ROLE__ROLE_STUDENT;
    rc.to_role = LYCEUM__V1__ROLE__ROLE_TA;
    rc.reason = "test promotion";
    rc.evidence_count = 20 + (uint64_t) i;
    rc.mean_score = 0.8;
    rc.at_us = lyc_wall_us() + i;
    return lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, NULL, &rc.base, len);
}

/* Sends calls [from, to) (every fifth one twice: what a re-send after a
 * lost acknowledgement looks like), plus `roles` role changes, and waits
 * until Kafka has them all. */
static void s_produce(size_t from, size_t to, int roles)
{
    char spool[160];
    snprintf(spool, sizeof spool, "%s/spool-%zu", s_dir, from);
    lyc_producer_config_t cfg = {
        .brokers = lyc_test_kafka_brokers(), .spool_dir = spool, .spool_nosync = true};
    lyc_producer_t *p = lyc_producer_new(&cfg);
    ck_assert_ptr_nonnull(p);
    for (size_t i = from; i < to; i++) {
        size_t len = 0;
        uint8_t *data = s_encode(&s_calls[i], &len);
        ck_assert_ptr_nonnull(data);
        for (int k = 0; k < (i % 5 == 0 ? 2 : 1); k++)
            ck_assert_int_eq(lyc_producer_send(p, s_topics[0], s_calls[i].domain,
                                               strlen(s_calls[i].domain), data, len),
                             0);
        free(data);
    }
    for (int i = 0; i < roles; i++) {
        size_t len = 0;
        uint8_t *data = s_encode_role(i, &len);
        ck_assert_int_eq(lyc_producer_send(p, s_topics[1], "student", 7, data, len), 0);
        ck_assert_int_eq(lyc_producer_send(p, s_topics[1], "student", 7, data, len), 0);
        free(data);
    }
    ck_assert_uint_eq(lyc_producer_flush(p, 30000), 0);
    lyc_producer_destroy(&p);
}

/* ---- the monitor --------------------------------------------------------- */

static void s_setup_cluster(void)
{
    static const char *const kinds[] = {"mon-fb", "mon-roles", "mon-reg", "mon-train"};
    static const int partitions[] = {3, 1, 1, 2};
    const char *names[4];
    char err[256] = "";
    for (int i = 0; i < 4; i++) {
        lyc_test_unique(s_topics[i], sizeof s_topics[i], kinds[i]);
        names[i] = s_topics[i];
    }
    ck_assert_msg(lyc_eventlog_create_topics(lyc_test_kafka_brokers(), names, partitions, 4, 15000,
                                             err, sizeof err) == 0,
                  "topics: %s", err);
    snprintf(s_dir, sizeof s_dir, "/tmp/lyc-monitor-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_cluster, sizeof s_cluster, "%s/cluster.yaml", s_dir);
    s_port_steady = 21000 + (int) (getpid() % 4000) * 2;
    s_port_restart = s_port_steady + 1;
    char text[2048];
    snprintf(text, sizeof text,
             "kafka:\n  brokers: \"%s\"\n  spool_dir: \"%s/spool\"\n"
             "  topics: {feedback: %s, roles: %s, registry: %s, training: %s}\n"
             "monitor:\n  bucket_s: 10\n  snapshot_ms: 100\n"
             "models:\n"
             "  - {name: sup, backend: memory, role: supervisor, price_in: %g, price_out: %g}\n"
             "  - {name: teacher, backend: memory, role: teacher}\n",
             lyc_test_kafka_brokers(), s_dir, s_topics[0], s_topics[1], s_topics[2], s_topics[3],
             SUP_PRICE_IN, SUP_PRICE_OUT);
    ck_assert_int_eq(lyc_test_write_file(s_cluster, text), 0);
}

static int s_start_monitor(int port, const char *name)
{
    char listen[64], log[256];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/%s.log", s_dir, name);
    /* the child inherits it; each start sets its own */
    ck_assert_int_eq(setenv("LYCEUM_MONITOR_HTTP_LISTEN", listen, 1), 0);
    char *argv[] = {LYC_MONITOR_BINARY, "-c", s_cluster, NULL};
    int pid = lyc_test_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    ck_assert_msg(lyc_test_wait_http(url, "\"status\":\"ok\"", WAIT_MS) == 0,
                  "monitor %s did not come up (log %s)", name, log);
    return pid;
}

static cJSON *s_view(int port, const char *view)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/%s", port, view);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &body), 200);
    cJSON *tree = cJSON_Parse(body);
    ck_assert_msg(tree != NULL, "/api/%s is not JSON: %s", view, body);
    free(body);
    return tree;
}

static double s_num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsNumber(item), "'%s' is not a number", key);
    return item->valuedouble;
}

/* Waits until the monitor has counted `events` distinct events. */
static void s_wait_events(int port, double events)
{
    int64_t deadline = lyc_mono_us() + (int64_t) WAIT_MS * 1000;
    double seen = -1;
    while (lyc_mono_us() < deadline) {
        cJSON *o = s_view(port, "overview");
        seen = s_num(o, "events");
        cJSON_Delete(o);
        if (seen == events)
            return;
        usleep(200000);
    }
    ck_abort_msg("the monitor on %d counted %g events, not %g", port, seen, events);
}

/* ---- the expected figures ------------------------------------------------ */

typedef struct {
    double calls, sup_calls, queries, judged, sup_judged, errors, timeouts, cost, sup_only;
} s_expect_t;

static void s_expected(s_expect_t *e)
{
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < s_n; i++) {
        const s_call_t *c = &s_calls[i];
        e->calls++;
        e->sup_calls += c->sup;
        e->errors += c->err != 0;
        e->timeouts += c->err == LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT;
        e->cost += c->cost + c->judge_cost;
        if (i > 0 && strcmp(s_calls[i - 1].trace, c->trace) == 0)
            continue; /* the query's figures are done at its first call */
        int sup_ok = 0, won = 0;
        double sup_cost = 0;
        uint32_t win_in = 0, win_out = 0, max_in = 0, max_out = 0;
        for (size_t k = i; k < s_n && strcmp(s_calls[k].trace, c->trace) == 0; k++) {
            const s_call_t *d = &s_calls[k];
            if (d->sup && !d->err) {
                sup_ok = 1;
                sup_cost = d->cost;
            }
            if (d->winner) {
                won = 1;
                win_in = d->in;
                win_out = d->out;
            }
            max_in = d->in > max_in ? d->in : max_in;
            max_out = d->out > max_out ? d->out : max_out;
        }
        e->queries++;
        e->judged += strcmp(c->judge, "agreement") != 0; /* agreement calls no judge */
        e->sup_judged += strcmp(c->judge, "sup") == 0;
        e->sup_only += sup_ok ? sup_cost
                              : (SUP_PRICE_IN * (won ? win_in : max_in) +
                                 SUP_PRICE_OUT * (won ? win_out : max_out)) /
                                    1e6;
    }
}

#define ck_close(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-9, "%s: %.12g != %.12g", #a, (a), (b))

/* The monitor's figures against the stream's. */
static void s_check_figures(int port)
{
    s_expect_t e;
    s_expected(&e);
    cJSON *o = s_view(port, "overview");
    ck_close(s_num(o, "answer_calls"), e.calls);
    ck_close(s_num(o, "supervisor_calls"), e.sup_calls);
    ck_close(s_num(o, "supervisor_answer_share"), e.sup_calls / e.calls);
    ck_close(s_num(o, "queries"), e.queries);
    ck_close(s_num(o, "supervisor_judge_share"), e.sup_judged / e.judged);
    ck_close(s_num(o, "errors"), e.errors);
    ck_close(s_num(o, "timeouts"), e.timeouts);
    ck_close(s_num(o, "cost_usd"), e.cost);
    ck_close(s_num(o, "supervisor_only_usd"), e.sup_only);
    cJSON_Delete(o);
    /* the accuracy map, cell by cell */
    cJSON *d = s_view(port, "domains");
    const cJSON *cell;
    int cells = 0;
    cJSON_ArrayForEach(cell, cJSON_GetObjectItemCaseSensitive(d, "cells"))
    {
        const char *dom = cJSON_GetObjectItemCaseSensitive(cell, "domain")->valuestring;
        const char *model = cJSON_GetObjectItemCaseSensitive(cell, "model")->valuestring;
        double n = 0, sum = 0;
        for (size_t i = 0; i < s_n; i++)
            if (!s_calls[i].err && strcmp(s_calls[i].domain, dom) == 0 &&
                strcmp(s_calls[i].model, model) == 0) {
                n++;
                sum += s_calls[i].score;
            }
        ck_close(s_num(cell, "n"), n);
        ck_close(s_num(cell, "mean"), sum / n);
        cells++;
    }
    ck_assert_int_eq(cells, MODELS * DOMAINS);
    cJSON_Delete(d);
    cJSON *r = s_view(port, "roles");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "changes")), 3);
    cJSON_Delete(r);
}

/* Every view but the overview (whose duplicate count depends on how often
 * a reader met the re-sent records) as one text. */
static char *s_views_text(int port)
{
    static const char *const views[] = {"supervisor_usage", "cost",    "domains", "roles",
                                        "learning",         "latency", "errors"};
    size_t len = 0;
    char *all = calloc(1, 1);
    for (size_t v = 0; v < sizeof views / sizeof views[0]; v++) {
        cJSON *tree = s_view(port, views[v]);
        char *text = cJSON_PrintUnformatted(tree);
        all = realloc(all, len + strlen(text) + 2);
        len += (size_t) sprintf(all + len, "%s\n", text);
        free(text);
        cJSON_Delete(tree);
    }
    return all;
}

START_TEST(test_figures_and_restart)
{
    s_make_stream();
    s_setup_cluster();
    size_t half = s_n / 2;
    s_produce(0, half, 0);
    int steady = s_start_monitor(s_port_steady, "steady");
    int first = s_start_monitor(s_port_restart, "first");
    s_wait_events(s_port_steady, (double) half);
    s_produce(half, half + half / 2, 0);
    /* killed while the stream goes on: nothing it held survives */
    ck_assert_int_eq(kill(first, SIGKILL), 0);
    lyc_test_stop(first, SIGKILL, 5000);
    s_produce(half + half / 2, s_n, 3);
    int second = s_start_monitor(s_port_restart, "second");
    s_wait_events(s_port_steady, (double) s_n + 3);
    s_wait_events(s_port_restart, (double) s_n + 3);
    s_check_figures(s_port_steady);
    s_check_figures(s_port_restart);
    char *a = s_views_text(s_port_steady), *b = s_views_text(s_port_restart);
    if (strcmp(a, b) != 0) {
        char pa[200], pb[200];
        snprintf(pa, sizeof pa, "%s/views-steady.txt", s_dir);
        snprintf(pb, sizeof pb, "%s/views-restarted.txt", s_dir);
        lyc_test_write_file(pa, a);
        lyc_test_write_file(pb, b);
        ck_abort_msg("the restarted monitor's views differ: diff %s %s", pa, pb);
    }
    free(a);
    free(b);
    char url[128], *metrics = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", s_port_restart);
    ck_assert_int_eq(lyc_test_http("GET", url, NULL, NULL, 0, &metrics), 200);
    ck_assert_ptr_nonnull(strstr(metrics, "lyceum_monitor_duplicates_total{topic="));
    ck_assert_ptr_nonnull(strstr(metrics, "lyceum_monitor_events_total{topic="));
    free(metrics);
    ck_assert_int_eq(lyc_test_stop(second, SIGTERM, 10000), 0);
    ck_assert_int_eq(lyc_test_stop(steady, SIGTERM, 10000), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitor_replay");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_figures_and_restart);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
