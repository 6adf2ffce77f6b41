/*
 * test_trainer_apply.c - applying feedback events to the statistics in the
 * real Redis: exactly once (a replay counts nothing twice), paired with the
 * supervisor in either order, users' scores weighted, failures counted
 * apart; and the roles' compare-and-set with its version counter.
 */
#include "testkit.h"

#include "apply.h"
#include "ids.h"
#include "pb.h"
#include "redis.h"
#include "roles.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char s_prefix[64];
static lyc_redis_t *s_redis;

static lyc_feedback_t *s_event(const char *trace, const char *model, double score)
{
    char id[LYC_ID_LEN];
    lyc_id_new(id);
    lyc_feedback_t *ev = lyc_pb_new(&lyceum__v1__feedback_event__descriptor);
    ev->event_id = strdup(id);
    ev->trace_id = strdup(trace);
    ev->tenant = strdup("acme");
    ev->domain = strdup("geo");
    ev->model = strdup(model);
    ev->score = score;
    ev->confidence = 1.0;
    ev->source = LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_REFERENCE;
    ev->cost_usd = 0.002;
    ev->latency_ms = 40;
    ev->usage = lyc_pb_new(&lyceum__v1__usage__descriptor);
    ev->usage->prompt_tokens = 120;
    ev->usage->completion_tokens = 7;
    return ev;
}

static const lyc_model_stats_t *s_find(const lyc_model_stats_t *s, size_t n, const char *model)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].model, model) == 0)
            return &s[i];
    ck_abort_msg("no statistics for %s", model);
    return NULL;
}

static lyc_apply_t *s_apply(void)
{
    lyc_apply_config_t c = {
        .human_weight = 3, .agree_margin = 0.5, .seen_ttl_s = 600, .pair_ttl_s = 600};
    lyc_test_unique(s_prefix, sizeof s_prefix, "lyc-test-apply");
    lyc_apply_t *a = lyc_apply_new(s_redis, s_prefix, &c);
    ck_assert_ptr_nonnull(a);
    return a;
}

START_TEST(test_exactly_once)
{
    lyc_apply_t *a = s_apply();
    lyc_feedback_t *ev = s_event("t1", "stu", 0.8);
    ck_assert_int_eq(lyc_apply_event(a, "shared", ev, 0), 1);
    ck_assert_int_eq(lyc_apply_event(a, "shared", ev, 0), 0); /* a replay */
    ck_assert_int_eq(lyc_apply_event(a, "acme", ev, 0), 1);   /* another scope: its own */
    lyc_model_stats_t *stats;
    size_t n;
    ck_assert_int_eq(lyc_stats_load(s_redis, s_prefix, "shared", "geo", &stats, &n), 0);
    const lyc_model_stats_t *s = s_find(stats, n, "stu");
    ck_assert_double_eq_tol(s->n, 1, 1e-9);
    ck_assert_double_eq_tol(s->sum, 0.8, 1e-9);
    ck_assert_double_eq_tol(s->sumsq, 0.64, 1e-9);
    ck_assert_double_eq_tol(s->cost, 0.002, 1e-12);
    ck_assert_double_eq_tol(s->ms, 40, 1e-9);
    free(stats);
    lyc_feedback_free(&ev);
    lyc_apply_destroy(&a);
}
END_TEST

START_TEST(test_pairing_in_either_order)
{
    lyc_apply_t *a = s_apply();
    /* Query 1: the student's event comes before the supervisor's. */
    lyc_feedback_t *early = s_event("q1", "stu", 0.2), *sup1 = s_event("q1", "sup", 1.0);
    ck_assert_int_eq(lyc_apply_event(a, "shared", early, 0), 1);
    ck_assert_int_eq(lyc_apply_event(a, "shared", sup1, 1), 1);
    /* Query 2: the usual order. */
    lyc_feedback_t *sup2 = s_event("q2", "sup", 0.9), *late = s_event("q2", "stu", 0.7);
    ck_assert_int_eq(lyc_apply_event(a, "shared", sup2, 1), 1);
    ck_assert_int_eq(lyc_apply_event(a, "shared", late, 0), 1);
    /* Query 3: no supervisor at all. */
    lyc_feedback_t *alone = s_event("q3", "stu", 0.5);
    ck_assert_int_eq(lyc_apply_event(a, "shared", alone, 0), 1);
    lyc_model_stats_t *stats;
    size_t n;
    ck_assert_int_eq(lyc_stats_load(s_redis, s_prefix, "shared", "geo", &stats, &n), 0);
    const lyc_model_stats_t *s = s_find(stats, n, "stu");
    ck_assert_double_eq_tol(s->n, 3, 1e-9);
    ck_assert_double_eq_tol(s->pair_n, 2, 1e-9);
    ck_assert_double_eq_tol(s->gap_sum, 0.8 + 0.2, 1e-9);
    ck_assert_double_eq_tol(s->gap_sumsq, 0.64 + 0.04, 1e-9);
    ck_assert_double_eq_tol(s->agree_n, 2, 1e-9);
    ck_assert_double_eq_tol(s->agree, 1, 1e-9); /* 0.7 vs 0.9 agrees, 0.2 vs 1.0 does not */
    ck_assert_double_eq_tol(lyc_stats_agreement(s), 0.5, 1e-9);
    double gap, se;
    ck_assert_int_eq(lyc_stats_gap(s, &gap, &se), 0);
    ck_assert_double_eq_tol(gap, 0.5, 1e-9);
    ck_assert(se > 0);
    ck_assert_double_eq_tol(s_find(stats, n, "sup")->pair_n, 0, 1e-9);
    free(stats);
    lyc_feedback_t *evs[] = {early, sup1, sup2, late, alone};
    for (int i = 0; i < 5; i++)
        lyc_feedback_free(&evs[i]);
    lyc_apply_destroy(&a);
}
END_TEST

START_TEST(test_human_and_failures)
{
    lyc_apply_t *a = s_apply();
    lyc_feedback_t *human = s_event("h1", "stu", 0.0);
    human->source = LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN;
    lyc_feedback_t *failed = s_event("f1", "stu", 0.0);
    failed->error = lyc_pb_new(&lyceum__v1__error__descriptor);
    failed->error->code = LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED;
    lyc_feedback_t *judged = s_event("j1", "stu", 1.0);
    /* An answer nobody graded (a familiar query not audited): its cost, no score. */
    lyc_feedback_t *unscored = s_event("u1", "stu", 0.0);
    unscored->source = LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_UNSPECIFIED;
    unscored->confidence = 0;
    ck_assert_int_eq(lyc_apply_event(a, "shared", human, 0), 1);
    ck_assert_int_eq(lyc_apply_event(a, "shared", failed, 0), 1);
    ck_assert_int_eq(lyc_apply_event(a, "shared", judged, 0), 1);
    ck_assert_int_eq(lyc_apply_event(a, "shared", unscored, 0), 1);
    lyc_model_stats_t *stats;
    size_t n;
    ck_assert_int_eq(lyc_stats_load(s_redis, s_prefix, "shared", "geo", &stats, &n), 0);
    const lyc_model_stats_t *s = s_find(stats, n, "stu");
    ck_assert_double_eq_tol(s->n, 4, 1e-9); /* the user's score counts three times */
    ck_assert_double_eq_tol(lyc_stats_mean(s), 0.25, 1e-9);
    ck_assert_double_eq_tol(s->human_n, 1, 1e-9);
    ck_assert_double_eq_tol(s->errors, 1, 1e-9);
    ck_assert_double_eq_tol(s->cost, 0.004, 1e-12); /* the judged and the unscored answer's */
    /* Tokens of every answer that came back, scored or not (what a query costs). */
    ck_assert_double_eq_tol(s->tok_n, 2, 1e-9);
    ck_assert_double_eq_tol(s->tok_in, 240, 1e-9);
    ck_assert_double_eq_tol(s->tok_out, 14, 1e-9);
    free(stats);
    lyc_feedback_free(&unscored);
    lyc_feedback_free(&human);
    lyc_feedback_free(&failed);
    lyc_feedback_free(&judged);
    lyc_apply_destroy(&a);
}
END_TEST

START_TEST(test_roles_compare_and_set)
{
    lyc_test_unique(s_prefix, sizeof s_prefix, "lyc-test-roles");
    long long v0, v1;
    ck_assert_int_eq(lyc_roles_version(s_redis, s_prefix, &v0), 0);
    ck_assert_int_eq(v0, 0);
    ck_assert_int_eq(
        lyc_roles_change(s_redis, s_prefix, "shared", "geo", "stu", 0, LYCEUM__V1__ROLE__ROLE_TA),
        1);
    /* A second trainer deciding from the same old state changes nothing. */
    ck_assert_int_eq(
        lyc_roles_change(s_redis, s_prefix, "shared", "geo", "stu", 0, LYCEUM__V1__ROLE__ROLE_TA),
        0);
    ck_assert_int_eq(lyc_roles_change(s_redis, s_prefix, "shared", "geo", "stu",
                                      LYCEUM__V1__ROLE__ROLE_TA, LYCEUM__V1__ROLE__ROLE_TEACHER),
                     1);
    ck_assert_int_eq(lyc_roles_version(s_redis, s_prefix, &v1), 0);
    ck_assert_int_eq(v1, 2);
    lyc_role_entry_t *roles;
    size_t n;
    ck_assert_int_eq(lyc_roles_load(s_redis, s_prefix, "shared", "geo", &roles, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(lyc_roles_find(roles, n, "stu"), LYCEUM__V1__ROLE__ROLE_TEACHER);
    ck_assert_int_eq(lyc_roles_find(roles, n, "other"), 0);
    free(roles);
    ck_assert_int_eq(lyc_roles_load(s_redis, s_prefix, "shared", "none", &roles, &n), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

static void s_drop(void)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "%s:*", s_prefix);
    const char *scan[] = {"SCAN", "0", "MATCH", pattern, "COUNT", "10000"};
    redisReply *r = lyc_redis_command(s_redis, 6, scan, NULL);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->element[1]->elements; i++) {
        const char *del[] = {"UNLINK", r->element[1]->element[i]->str};
        freeReplyObject(lyc_redis_command(s_redis, 2, del, NULL));
    }
    freeReplyObject(r);
}

static void s_setup(void)
{
    s_redis = lyc_redis_new(lyc_test_redis_url(), 5000);
    ck_assert_ptr_nonnull(s_redis);
}

static void s_teardown(void)
{
    s_drop();
    lyc_redis_destroy(&s_redis);
}

int main(void)
{
    Suite *s = suite_create("trainer_apply");
    TCase *tc = tcase_create("apply");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_exactly_once);
    tcase_add_test(tc, test_pairing_in_either_order);
    tcase_add_test(tc, test_human_and_failures);
    tcase_add_test(tc, test_roles_compare_and_set);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
