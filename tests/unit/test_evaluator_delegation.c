/*
 * test_evaluator_delegation.c - who judges a domain, as a pure function of
 * the trainer's statistics, the roles and the evaluator's record: trusted
 * teachers, ensembles, revoked delegates, models that answered, the
 * spot-check draw, and the spot-check rate's dynamics.
 */
#include "testkit.h"

#include "judge_policy.h"

#include <stdio.h>
#include <string.h>

static lyc_eval_config_t s_config;

static void s_setup(void)
{
    char err[512];
    const char *yaml = "models:\n"
                       "  - {name: big-sup, backend: openai, role: supervisor}\n"
                       "  - {name: teacher-a, backend: replay, role: teacher, price_in: 2}\n"
                       "  - {name: teacher-b, backend: replay, role: teacher, price_in: 1}\n"
                       "  - {name: ta-c, backend: replay, role: ta}\n"
                       "  - {name: student-s, backend: replay}\n";
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_msg(lyc_eval_config_load(&s_config, doc, err, sizeof err) == 0, "%s", err);
    lyc_confdoc_destroy(&doc);
}

static void s_teardown(void)
{
    lyc_eval_config_free(&s_config);
}

/* A record with agree of agree_n answers agreeing with the supervisor. */
static lyc_model_stats_t s_stats(const char *model, double agree_n, double agree)
{
    lyc_model_stats_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.model, sizeof s.model, "%s", model);
    s.n = agree_n;
    s.sum = agree;
    s.agree_n = agree_n;
    s.agree = agree;
    s.pair_n = agree_n;
    return s;
}

static lyc_role_entry_t s_role(const char *model, int role)
{
    lyc_role_entry_t e;
    memset(&e, 0, sizeof e);
    snprintf(e.model, sizeof e.model, "%s", model);
    e.role = role;
    return e;
}

/* ---- the choice ------------------------------------------------------------ */

START_TEST(test_trusted_needs_pairs_bound_and_role)
{
    lyc_judge_choice_t c;
    lyc_model_stats_t stats[] = {
        s_stats("teacher-a", 100, 98),  /* lower bound about 0.93: trusted */
        s_stats("teacher-b", 20, 20),   /* too few pairs */
        s_stats("student-s", 500, 500), /* a student never judges */
        s_stats("big-sup", 500, 500),   /* the supervisor is no delegate */
        s_stats("ta-c", 100, 92),       /* 0.92, lower bound about 0.85: ensemble only */
        s_stats("unlisted", 500, 500),  /* no role at all */
    };
    lyc_judge_choose(&s_config, stats, 6, NULL, 0, NULL, &c);
    ck_assert_uint_eq(c.n_trusted, 1);
    ck_assert_str_eq(c.trusted[0].model, "teacher-a");
    ck_assert_double_eq_tol(c.trusted[0].agreement, 0.98, 1e-12);
    ck_assert_double_gt(c.trusted[0].lower, 0.9);
    ck_assert_uint_eq(c.n_ensemble, 2);
    ck_assert_str_eq(c.ensemble[0].model, "teacher-a");
    ck_assert_str_eq(c.ensemble[1].model, "ta-c");
    ck_assert_str_eq(lyc_judge_in_force(&c, ""), "teacher-a");

    /* Exactly the minimum pairs counts; one fewer does not. */
    stats[1] = s_stats("teacher-b", 30, 30); /* 30 of 30: lower bound about 0.886 */
    stats[0] = s_stats("teacher-a", 29, 29);
    lyc_judge_choose(&s_config, stats, 2, NULL, 0, NULL, &c);
    ck_assert_uint_eq(c.n_trusted, 0);
    stats[1] = s_stats("teacher-b", 60, 60);
    lyc_judge_choose(&s_config, stats, 2, NULL, 0, NULL, &c);
    ck_assert_uint_eq(c.n_trusted, 1);
    ck_assert_str_eq(c.trusted[0].model, "teacher-b");
}
END_TEST

START_TEST(test_stored_roles_override_configured_ones)
{
    lyc_judge_choice_t c;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 99), s_stats("student-s", 100, 99)};
    lyc_role_entry_t roles[] = {s_role("teacher-a", LYCEUM__V1__ROLE__ROLE_STUDENT),
                                s_role("student-s", LYCEUM__V1__ROLE__ROLE_TEACHER)};
    lyc_judge_choose(&s_config, stats, 2, roles, 2, NULL, &c);
    ck_assert_uint_eq(c.n_trusted, 1);
    ck_assert_str_eq(c.trusted[0].model, "student-s");
}
END_TEST

START_TEST(test_equal_teachers_the_cheaper_wins_and_the_stored_one_stays)
{
    lyc_judge_choice_t c;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 99), s_stats("teacher-b", 100, 99)};
    lyc_judge_choose(&s_config, stats, 2, NULL, 0, NULL, &c);
    ck_assert_uint_eq(c.n_trusted, 2);
    ck_assert_str_eq(c.trusted[0].model, "teacher-b"); /* price 1 beats price 2 */
    /* A delegate in force keeps the role while it stays trusted. */
    ck_assert_str_eq(lyc_judge_in_force(&c, "teacher-a"), "teacher-a");
    /* One that is no longer trusted is replaced by the best. */
    ck_assert_str_eq(lyc_judge_in_force(&c, "ta-c"), "teacher-b");
    ck_assert_str_eq(lyc_judge_in_force(&c, LYC_JUDGE_ENSEMBLE), "teacher-b");
}
END_TEST

START_TEST(test_ensemble_where_nobody_is_trusted)
{
    lyc_judge_choice_t c;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 85), s_stats("ta-c", 100, 80),
                                 s_stats("teacher-b", 100, 60)};
    lyc_judge_choose(&s_config, stats, 3, NULL, 0, NULL, &c);
    ck_assert_uint_eq(c.n_trusted, 0);
    ck_assert_uint_eq(c.n_ensemble, 2);
    ck_assert_double_eq(c.ensemble_pairs, 200);
    ck_assert_str_eq(lyc_judge_in_force(&c, ""), LYC_JUDGE_ENSEMBLE);
    ck_assert_str_eq(lyc_judge_in_force(&c, LYC_JUDGE_ENSEMBLE), LYC_JUDGE_ENSEMBLE);
    /* One decent teacher alone is no ensemble: the supervisor judges. */
    lyc_judge_choose(&s_config, stats, 1, NULL, 0, NULL, &c);
    ck_assert_uint_eq(c.n_ensemble, 1);
    ck_assert_str_eq(lyc_judge_in_force(&c, LYC_JUDGE_ENSEMBLE), "");
}
END_TEST

START_TEST(test_revoked_delegate_needs_fresh_evidence)
{
    lyc_judge_choice_t c;
    lyc_judge_state_t state;
    memset(&state, 0, sizeof state);
    snprintf(state.revoked[0].model, sizeof state.revoked[0].model, "teacher-a");
    state.revoked[0].evidence = 100;
    state.n_revoked = 1;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 99)};
    lyc_judge_choose(&s_config, stats, 1, NULL, 0, &state, &c);
    ck_assert_uint_eq(c.n_trusted, 0);
    ck_assert_uint_eq(c.n_ensemble, 0);
    stats[0] = s_stats("teacher-a", 129, 128);
    lyc_judge_choose(&s_config, stats, 1, NULL, 0, &state, &c);
    ck_assert_uint_eq(c.n_trusted, 0);
    stats[0] = s_stats("teacher-a", 130, 129); /* 30 more pairs: trusted again */
    lyc_judge_choose(&s_config, stats, 1, NULL, 0, &state, &c);
    ck_assert_uint_eq(c.n_trusted, 1);

    /* A revoked ensemble likewise. */
    snprintf(state.revoked[0].model, sizeof state.revoked[0].model, LYC_JUDGE_ENSEMBLE);
    state.revoked[0].evidence = 200;
    lyc_model_stats_t pair[] = {s_stats("teacher-a", 100, 85), s_stats("ta-c", 100, 80)};
    lyc_judge_choose(&s_config, pair, 2, NULL, 0, &state, &c);
    ck_assert_uint_eq(c.n_ensemble, 0);
    pair[1] = s_stats("ta-c", 130, 104);
    lyc_judge_choose(&s_config, pair, 2, NULL, 0, &state, &c);
    ck_assert_uint_eq(c.n_ensemble, 2);
}
END_TEST

/* ---- the plan for one query --------------------------------------------------- */

typedef struct {
    Lyceum__V1__EvalRequest req;
    Lyceum__V1__Answer answers[4];
    Lyceum__V1__Answer *ptrs[4];
} s_request_t;

static void s_request(s_request_t *r, const char *trace, const char *const *models, size_t n)
{
    memset(r, 0, sizeof *r);
    lyceum__v1__eval_request__init(&r->req);
    r->req.trace_id = (char *) trace;
    r->req.domain = "physics";
    r->req.answers = r->ptrs;
    for (size_t i = 0; i < n; i++) {
        lyceum__v1__answer__init(&r->answers[i]);
        r->answers[i].model = (char *) models[i];
        r->answers[i].content = "an answer";
        r->ptrs[r->req.n_answers++] = &r->answers[i];
    }
}

START_TEST(test_plan_never_lets_an_answerer_judge)
{
    lyc_judge_choice_t c;
    lyc_judge_plan_t plan;
    s_request_t r;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 99), s_stats("teacher-b", 100, 98)};
    lyc_judge_choose(&s_config, stats, 2, NULL, 0, NULL, &c);

    const char *students[] = {"student-s", "big-sup"};
    s_request(&r, "trace-1", students, 2);
    lyc_judge_plan_make(&s_config, &c, "teacher-a", 0.0, &r.req, &plan);
    ck_assert_int_eq(plan.kind, LYC_JUDGE_BY_DELEGATE);
    ck_assert_uint_eq(plan.n, 1);
    ck_assert_str_eq(plan.judges[0], "teacher-a");
    ck_assert(plan.recorded);
    ck_assert(!plan.spot_check);
    ck_assert_str_eq(plan.supervisor, "big-sup");
    ck_assert_str_eq(plan.domain, "physics");

    /* teacher-a answered: the next trusted model judges, unrecorded. */
    const char *with_a[] = {"student-s", "teacher-a"};
    s_request(&r, "trace-1", with_a, 2);
    lyc_judge_plan_make(&s_config, &c, "teacher-a", 0.0, &r.req, &plan);
    ck_assert_int_eq(plan.kind, LYC_JUDGE_BY_DELEGATE);
    ck_assert_str_eq(plan.judges[0], "teacher-b");
    ck_assert(!plan.recorded);

    /* Both answered: the supervisor. */
    const char *with_both[] = {"teacher-b", "teacher-a"};
    s_request(&r, "trace-1", with_both, 2);
    lyc_judge_plan_make(&s_config, &c, "teacher-a", 1.0, &r.req, &plan);
    ck_assert_int_eq(plan.kind, LYC_JUDGE_BY_SUPERVISOR);
    ck_assert_str_eq(plan.judges[0], "big-sup");
    ck_assert(!plan.spot_check);

    /* No delegate in force: the supervisor. */
    lyc_judge_plan_make(&s_config, &c, "", 1.0, &r.req, &plan);
    ck_assert_int_eq(plan.kind, LYC_JUDGE_BY_SUPERVISOR);
}
END_TEST

START_TEST(test_plan_ensemble_drops_answerers)
{
    lyc_judge_choice_t c;
    lyc_judge_plan_t plan;
    s_request_t r;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 85), s_stats("ta-c", 100, 80),
                                 s_stats("teacher-b", 100, 78)};
    lyc_judge_choose(&s_config, stats, 3, NULL, 0, NULL, &c);
    const char *students[] = {"student-s"};
    s_request(&r, "trace-2", students, 1);
    lyc_judge_plan_make(&s_config, &c, LYC_JUDGE_ENSEMBLE, 0.0, &r.req, &plan);
    ck_assert_int_eq(plan.kind, LYC_JUDGE_BY_ENSEMBLE);
    ck_assert_uint_eq(plan.n, 3);
    ck_assert_str_eq(plan.judges[0], "teacher-a");
    ck_assert_double_eq_tol(plan.weights[0], 0.85, 1e-12);
    ck_assert_double_eq_tol(plan.weights[2], 0.78, 1e-12);
    ck_assert_double_eq_tol(plan.agreement, (0.85 + 0.80 + 0.78) / 3, 1e-12);
    ck_assert_double_eq(plan.evidence, 300);

    const char *with_a[] = {"student-s", "teacher-a"};
    s_request(&r, "trace-2", with_a, 2);
    lyc_judge_plan_make(&s_config, &c, LYC_JUDGE_ENSEMBLE, 0.0, &r.req, &plan);
    ck_assert_uint_eq(plan.n, 2);
    ck_assert_str_eq(plan.judges[0], "ta-c");

    const char *with_two[] = {"ta-c", "teacher-a"};
    s_request(&r, "trace-2", with_two, 2);
    lyc_judge_plan_make(&s_config, &c, LYC_JUDGE_ENSEMBLE, 0.0, &r.req, &plan);
    ck_assert_int_eq(plan.kind, LYC_JUDGE_BY_SUPERVISOR);
}
END_TEST

START_TEST(test_spot_check_draw_follows_the_rate)
{
    lyc_judge_choice_t c;
    lyc_judge_plan_t plan;
    s_request_t r;
    lyc_model_stats_t stats[] = {s_stats("teacher-a", 100, 99)};
    lyc_judge_choose(&s_config, stats, 1, NULL, 0, NULL, &c);
    const char *students[] = {"student-s"};
    int checked[3] = {0};
    const double rates[3] = {0.0, 0.3, 1.0};
    for (int t = 0; t < 1000; t++) {
        char trace[32];
        snprintf(trace, sizeof trace, "trace-%d", t);
        s_request(&r, trace, students, 1);
        for (int k = 0; k < 3; k++) {
            lyc_judge_plan_make(&s_config, &c, "teacher-a", rates[k], &r.req, &plan);
            checked[k] += plan.spot_check;
        }
    }
    ck_assert_int_eq(checked[0], 0);
    ck_assert_int_gt(checked[1], 240);
    ck_assert_int_lt(checked[1], 360);
    ck_assert_int_eq(checked[2], 1000);
    /* The same query always gets the same decision. */
    s_request(&r, "trace-7", students, 1);
    lyc_judge_plan_make(&s_config, &c, "teacher-a", 0.5, &r.req, &plan);
    int first = plan.spot_check;
    lyc_judge_plan_make(&s_config, &c, "teacher-a", 0.5, &r.req, &plan);
    ck_assert_int_eq(plan.spot_check, first);
}
END_TEST

/* ---- spot-check dynamics ---------------------------------------------------- */

START_TEST(test_spot_rate_falls_while_agreement_holds_and_rises_when_it_breaks)
{
    double rate = 0.5;
    rate = lyc_spot_rate_next(rate, 1, 0.05);
    ck_assert_double_eq_tol(rate, 0.45, 1e-12);
    for (int i = 0; i < 100; i++)
        rate = lyc_spot_rate_next(rate, 1, 0.05);
    ck_assert_double_eq_tol(rate, 0.05, 1e-12); /* the floor */
    rate = lyc_spot_rate_next(rate, 0, 0.05);
    ck_assert_double_eq_tol(rate, 0.2, 1e-12); /* 0.05 * 2 + 0.1 */
    rate = lyc_spot_rate_next(rate, 0, 0.05);
    ck_assert_double_eq_tol(rate, 0.5, 1e-12);
    rate = lyc_spot_rate_next(rate, 0, 0.05);
    ck_assert_double_eq(rate, 1.0); /* capped */
}
END_TEST

START_TEST(test_revocation_needs_the_upper_bound_below_the_threshold)
{
    ck_assert(!lyc_spot_should_revoke(0, 0, 0.9));
    ck_assert(!lyc_spot_should_revoke(10, 0, 0.9));
    ck_assert(!lyc_spot_should_revoke(10, 1, 0.9)); /* 9 of 10: could still be 0.9 */
    ck_assert(!lyc_spot_should_revoke(4, 1, 0.9));
    ck_assert(!lyc_spot_should_revoke(2, 2, 0.9)); /* too few checks to tell */
    ck_assert(lyc_spot_should_revoke(3, 2, 0.9));  /* 1 of 3: at most about 0.79 */
    ck_assert(!lyc_spot_should_revoke(3, 1, 0.9)); /* 2 of 3: could be 0.94 */
    ck_assert(lyc_spot_should_revoke(5, 2, 0.9));  /* 3 of 5 */
    ck_assert(lyc_spot_should_revoke(10, 3, 0.9)); /* 7 of 10 */
    ck_assert(!lyc_spot_should_revoke(10, 3, 0.75));
}
END_TEST

START_TEST(test_two_judgements_agree_when_they_pass_the_same_answers)
{
    lyc_grade_t a[3] = {{.score = 0.9, .eligible = 1},
                        {.score = 0.2, .eligible = 1},
                        {.score = 0.0, .eligible = 0}};
    lyc_grade_t b[3] = {{.score = 0.6, .eligible = 1},
                        {.score = 0.45, .eligible = 1},
                        {.score = 1.0, .eligible = 1}};
    ck_assert_int_eq(lyc_judge_grades_agree(a, b, 3), 1);
    b[1].score = 0.5;
    ck_assert_int_eq(lyc_judge_grades_agree(a, b, 3), 0);
    a[0].eligible = a[1].eligible = 0;
    ck_assert_int_eq(lyc_judge_grades_agree(a, b, 3), -1);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_delegation");
    TCase *tc = tcase_create("delegation");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_trusted_needs_pairs_bound_and_role);
    tcase_add_test(tc, test_stored_roles_override_configured_ones);
    tcase_add_test(tc, test_equal_teachers_the_cheaper_wins_and_the_stored_one_stays);
    tcase_add_test(tc, test_ensemble_where_nobody_is_trusted);
    tcase_add_test(tc, test_revoked_delegate_needs_fresh_evidence);
    tcase_add_test(tc, test_plan_never_lets_an_answerer_judge);
    tcase_add_test(tc, test_plan_ensemble_drops_answerers);
    tcase_add_test(tc, test_spot_check_draw_follows_the_rate);
    tcase_add_test(tc, test_spot_rate_falls_while_agreement_holds_and_rises_when_it_breaks);
    tcase_add_test(tc, test_revocation_needs_the_upper_bound_below_the_threshold);
    tcase_add_test(tc, test_two_judgements_agree_when_they_pass_the_same_answers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
