/*
 * test_evaluator_choose.c - the final choice: the cheapest answer within the
 * margin of the best wins, ties are stable, failed answers never win, and a
 * request whose answers all failed gets ERROR_UNAVAILABLE.
 */
#include "testkit.h"

#include "choose.h"
#include "evaluate.h"

#include <string.h>

START_TEST(test_cheapest_within_margin_wins)
{
    lyc_choice_t c[] = {
        {.model = "supervisor", .cost_usd = 0.030, .score = 0.90, .eligible = 1},
        {.model = "teacher", .cost_usd = 0.004, .score = 0.87, .eligible = 1},
        {.model = "student", .cost_usd = 0.001, .score = 0.60, .eligible = 1},
    };
    ck_assert_int_eq(lyc_choose(c, 3, 0.05), 1);
    /* A narrower margin leaves only the best. */
    ck_assert_int_eq(lyc_choose(c, 3, 0.01), 0);
    /* A wide one lets the student in. */
    ck_assert_int_eq(lyc_choose(c, 3, 0.5), 2);
    /* Exactly at the margin counts as good enough. */
    c[1].score = 0.85;
    ck_assert_int_eq(lyc_choose(c, 3, 0.05), 1);
    /* A negative margin is no margin. */
    ck_assert_int_eq(lyc_choose(c, 3, -1.0), 0);
}
END_TEST

START_TEST(test_ties_go_to_score_then_name)
{
    lyc_choice_t c[] = {
        {.model = "zeta", .cost_usd = 0.002, .score = 0.80, .eligible = 1},
        {.model = "alpha", .cost_usd = 0.002, .score = 0.82, .eligible = 1},
        {.model = "beta", .cost_usd = 0.002, .score = 0.82, .eligible = 1},
    };
    /* Same cost: the higher score, then the smaller name. */
    ck_assert_int_eq(lyc_choose(c, 3, 0.05), 1);
    c[0].score = 0.82;
    ck_assert_int_eq(lyc_choose(c, 3, 0.05), 1);
    /* The order of the input does not matter. */
    lyc_choice_t r[] = {c[2], c[0], c[1]};
    ck_assert_str_eq(r[lyc_choose(r, 3, 0.05)].model, "alpha");
}
END_TEST

START_TEST(test_failed_and_abstained_never_win)
{
    lyc_choice_t c[] = {
        {.model = "memory", .cost_usd = 0.0, .score = 1.0, .eligible = 0},
        {.model = "broken", .cost_usd = 0.0, .score = 0.0, .eligible = 0},
        {.model = "teacher", .cost_usd = 0.01, .score = 0.3, .eligible = 1},
    };
    ck_assert_int_eq(lyc_choose(c, 3, 0.05), 2);
    c[2].eligible = 0;
    ck_assert_int_eq(lyc_choose(c, 3, 0.05), -1);
    ck_assert_int_eq(lyc_choose(c, 0, 0.05), -1);
}
END_TEST

/* ---- through lyc_evaluate: the Verdict a choice produces ---------------- */

typedef struct {
    Lyceum__V1__EvalRequest req;
    Lyceum__V1__Answer answers[8];
    Lyceum__V1__Answer *ptrs[8];
    Lyceum__V1__Error errors[8];
} s_request_t;

static void s_request_init(s_request_t *r, int mode)
{
    memset(r, 0, sizeof *r);
    lyceum__v1__eval_request__init(&r->req);
    r->req.trace_id = "trace-choose";
    r->req.mode = mode;
    r->req.audit = 1; /* reference mode grades only audited requests */
    r->req.answers = r->ptrs;
}

static Lyceum__V1__Answer *s_add(s_request_t *r, const char *model, const char *content,
                                 double cost, int correct)
{
    size_t i = r->req.n_answers++;
    Lyceum__V1__Answer *a = &r->answers[i];
    lyceum__v1__answer__init(a);
    a->model = (char *) model;
    a->content = (char *) content;
    a->cost_usd = cost;
    a->correct = correct;
    r->ptrs[i] = a;
    return a;
}

static void s_fail(s_request_t *r, Lyceum__V1__Answer *a, int code, const char *message)
{
    Lyceum__V1__Error *e = &r->errors[a - r->answers];
    lyceum__v1__error__init(e);
    e->code = code;
    e->message = (char *) message;
    a->error = e;
    a->content = "";
}

static lyc_eval_config_t s_config(void)
{
    static char mode[] = "reference", judge[] = "", bind[] = "tcp://127.0.0.1:*";
    return (lyc_eval_config_t){.bind = bind,
                               .threads = 1,
                               .mode = mode,
                               .judge_model = judge,
                               .cheap_margin = 0.05,
                               .judge_timeout_ms = 1000,
                               .agreement_threshold = 0.75};
}

#define RIGHT     LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT
#define WRONG     LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG
#define REFERENCE LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE

START_TEST(test_verdict_prefers_the_cheap_right_answer)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_request_init(&r, REFERENCE);
    s_add(&r, "supervisor", "Paris", 0.03, RIGHT);
    s_add(&r, "student", "Lyon", 0.0001, WRONG);
    s_add(&r, "teacher", "Paris, France", 0.002, RIGHT);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "trace-choose", &config, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_null(v->error);
    ck_assert_str_eq(v->trace_id, "trace-choose");
    ck_assert_str_eq(v->winner, "teacher");
    ck_assert_str_eq(v->final_content, "Paris, France");
    ck_assert_str_eq(v->judged_by, "reference");
    ck_assert_int_eq(v->mode, REFERENCE);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    ck_assert_uint_eq(v->n_verdicts, 3);
    ck_assert_str_eq(v->verdicts[1]->model, "student");
    ck_assert_double_eq(v->verdicts[1]->score, 0.0);
    lyc_verdict_destroy(&v);
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_request_margin_overrides_config)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_request_init(&r, REFERENCE);
    r.req.reference = "the quick brown fox jumps";
    s_add(&r, "expensive", "the quick brown fox jumps", 0.03, 0);
    s_add(&r, "cheap", "the quick brown fox", 0.001, 0); /* F1 about 0.89 */
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &config, NULL, NULL, NULL);
    ck_assert_str_eq(v->winner, "expensive");
    lyc_verdict_destroy(&v);
    r.req.cheap_margin = 0.2;
    v = lyc_evaluate(&r.req, "t", &config, NULL, NULL, NULL);
    ck_assert_str_eq(v->winner, "cheap");
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_all_failed_is_unavailable)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_request_init(&r, REFERENCE);
    s_fail(&r, s_add(&r, "memory", "", 0.0, 0), LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED,
           "no similar past query");
    s_fail(&r, s_add(&r, "gpt", "", 0.0, 0), LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT, "");
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &config, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(v->error);
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE);
    ck_assert_str_eq(v->error->message, "no model answered");
    ck_assert(v->error->retryable);
    ck_assert_str_eq(v->winner, "");
    ck_assert_str_eq(v->final_content, "");
    ck_assert_uint_eq(v->n_verdicts, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_double_eq(v->verdicts[i]->score, 0.0);
        ck_assert_double_eq(v->verdicts[i]->confidence, 1.0);
    }
    ck_assert_str_eq(v->verdicts[0]->rationale, "abstained: no similar past query");
    ck_assert_str_eq(v->verdicts[1]->rationale, "timeout");
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_abstention_never_wins_even_when_recorded_right)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_request_init(&r, REFERENCE);
    /* A replayed answer marked right but abstaining: the abstention decides. */
    Lyceum__V1__Answer *memory = s_add(&r, "memory", "", 0.0, RIGHT);
    s_fail(&r, memory, LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED, "miss");
    s_add(&r, "teacher", "42", 0.01, WRONG);
    s_add(&r, "blank", "   ", 0.0, RIGHT);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &config, NULL, NULL, NULL);
    ck_assert_ptr_null(v->error);
    ck_assert_str_eq(v->winner, "teacher");
    ck_assert_double_eq(v->verdicts[0]->score, 0.0);
    ck_assert_str_eq(v->verdicts[2]->rationale, "empty answer");
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_bad_requests)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_request_init(&r, REFERENCE);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &config, NULL, NULL, NULL);
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    ck_assert(!v->error->retryable);
    lyc_verdict_destroy(&v);
    s_add(&r, "m", "x", 0.0, 0);
    r.req.mode = 42;
    v = lyc_evaluate(&r.req, "t", &config, NULL, NULL, NULL);
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    ck_assert_str_eq(v->error->message, "unknown evaluation mode");
    lyc_verdict_destroy(&v);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_choose");
    TCase *tc = tcase_create("choose");
    tcase_add_test(tc, test_cheapest_within_margin_wins);
    tcase_add_test(tc, test_ties_go_to_score_then_name);
    tcase_add_test(tc, test_failed_and_abstained_never_win);
    tcase_add_test(tc, test_verdict_prefers_the_cheap_right_answer);
    tcase_add_test(tc, test_request_margin_overrides_config);
    tcase_add_test(tc, test_all_failed_is_unavailable);
    tcase_add_test(tc, test_abstention_never_wins_even_when_recorded_right);
    tcase_add_test(tc, test_bad_requests);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
