/*
 * test_evaluator_charge.c - what every judgement costs, as a benchmark
 * accounts for it: reference grading is free when the supervisor answered
 * and one call at the judge's prices when it did not; an unaudited
 * reference request is not graded and costs nothing; judge mode counts its
 * calls (with the retry) and agreement makes none.
 */
#include "testkit.h"

#include "evaluate.h"
#include "grade.h"
#include "judge_charge.h"
#include "judge_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERENCE   LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE
#define AGREEMENT   LYCEUM__V1__EVAL_MODE__EVAL_MODE_AGREEMENT
#define JUDGE       LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE
#define UNSPECIFIED LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED
#define RIGHT       LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT
#define WRONG       LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG

static lyc_eval_config_t s_config;
static lyc_embedder_t *s_embedder;

static void s_setup(void)
{
    char err[512];
    const char *yaml = "evaluator:\n"
                       "  judge_timeout_ms: 1000\n"
                       "models:\n"
                       "  - {name: big-sup, backend: openai, role: supervisor, price_in: 10,"
                       " price_out: 30}\n"
                       "  - {name: teacher, backend: replay, role: teacher, price_in: 1,"
                       " price_out: 2}\n"
                       "  - {name: student, backend: replay, price_in: 0.1, price_out: 0.2}\n";
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_msg(lyc_eval_config_load(&s_config, doc, err, sizeof err) == 0, "%s", err);
    lyc_confdoc_destroy(&doc);
    s_embedder = lyc_embedder_new(LYC_EVAL_EMBED_DIM);
    ck_assert_ptr_nonnull(s_embedder);
}

static void s_teardown(void)
{
    lyc_embedder_destroy(&s_embedder);
    lyc_eval_config_free(&s_config);
}

/* ---- a request ------------------------------------------------------------ */

typedef struct {
    Lyceum__V1__EvalRequest req;
    Lyceum__V1__Answer answers[4];
    Lyceum__V1__Answer *ptrs[4];
    Lyceum__V1__Error errors[4];
    Lyceum__V1__ChatMessage turn;
    Lyceum__V1__ChatMessage *turns[1];
} s_request_t;

/* "Capital of France?" (18 bytes), answered by student (cheapest, wrong),
 * teacher (right) and, when `supervisor` is set, big-sup (right). */
static void s_request(s_request_t *r, int mode, int audit, int supervisor)
{
    static const char *models[] = {"student", "teacher", "big-sup"};
    static const char *contents[] = {"Lyon", "Paris", "Paris, France"};
    static const double costs[] = {0.0001, 0.001, 0.03};
    static const int correct[] = {WRONG, RIGHT, RIGHT};

    memset(r, 0, sizeof *r);
    lyceum__v1__eval_request__init(&r->req);
    lyceum__v1__chat_message__init(&r->turn);
    r->turn.role = "user";
    r->turn.content = "Capital of France?";
    r->turns[0] = &r->turn;
    r->req.trace_id = "trace-charge";
    r->req.mode = mode;
    r->req.audit = audit;
    r->req.messages = r->turns;
    r->req.n_messages = 1;
    r->req.answers = r->ptrs;
    for (size_t i = 0; i < (supervisor ? 3u : 2u); i++) {
        Lyceum__V1__Answer *a = &r->answers[i];
        lyceum__v1__answer__init(a);
        a->model = (char *) models[i];
        a->content = (char *) contents[i];
        a->cost_usd = costs[i];
        a->correct = correct[i];
        r->ptrs[r->req.n_answers++] = a;
    }
}

/* The price of one charged call: ceil(bytes / 4) prompt tokens, 20 out. */
static double s_price(size_t bytes, double price_in, double price_out)
{
    return ((double) ((bytes + 3) / 4) * price_in + 20.0 * price_out) / 1e6;
}

/* ---- charged reference grading -------------------------------------------- */

START_TEST(test_charged_tokens_and_price)
{
    s_request_t r;
    s_request(&r, REFERENCE, 1, 1);
    /* 18 + 4 + 5 + 13 = 40 bytes: 10 tokens. */
    ck_assert_uint_eq(lyc_judge_charged_tokens(&r.req), 10);
    ck_assert_double_eq_tol(lyc_judge_charged_cost(&s_config, "big-sup", &r.req),
                            (10 * 10.0 + 20 * 30.0) / 1e6, 1e-15);
    ck_assert_double_eq_tol(lyc_judge_charged_cost(&s_config, "teacher", &r.req),
                            (10 * 1.0 + 20 * 2.0) / 1e6, 1e-15);
    ck_assert_double_eq(lyc_judge_charged_cost(&s_config, "unlisted", &r.req), 0.0);
    r.answers[0].content = "Lyon!"; /* 41 bytes round up to 11 tokens */
    ck_assert_uint_eq(lyc_judge_charged_tokens(&r.req), 11);
}
END_TEST

START_TEST(test_supervisor_answered_is_free)
{
    s_request_t r;
    s_request(&r, REFERENCE, 1, 1);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, NULL, NULL);
    ck_assert_ptr_null(v->error);
    ck_assert_str_eq(v->judged_by, "reference");
    ck_assert_int_eq(v->mode, REFERENCE);
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_uint_eq(v->n_judges, 0);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    ck_assert_str_eq(v->winner, "teacher");
    /* The supervisor's answer is scored like every other. */
    ck_assert_str_eq(v->verdicts[2]->model, "big-sup");
    ck_assert_double_eq(v->verdicts[2]->score, 1.0);
    ck_assert_double_eq(v->verdicts[0]->score, 0.0);
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_supervisor_absent_costs_one_call)
{
    s_request_t r;
    s_request(&r, REFERENCE, 1, 0);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, NULL, NULL);
    ck_assert_str_eq(v->judged_by, "big-sup");
    ck_assert_int_eq(v->mode, REFERENCE);
    ck_assert_uint_eq(v->judge_calls, 1);
    ck_assert_uint_eq(v->n_judges, 1);
    ck_assert_str_eq(v->judges[0], "big-sup");
    /* 18 + 4 + 5 = 27 bytes: 7 prompt tokens. */
    ck_assert_double_eq_tol(v->judge_cost_usd, s_price(27, 10.0, 30.0), 1e-15);
    ck_assert_str_eq(v->winner, "teacher");
    ck_assert_double_eq(v->verdicts[1]->score, 1.0);
    lyc_verdict_destroy(&v);

    /* A supervisor answer that failed is no reference: still charged. */
    s_request(&r, REFERENCE, 1, 1);
    lyceum__v1__error__init(&r.errors[2]);
    r.errors[2].code = LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT;
    r.answers[2].error = &r.errors[2];
    r.answers[2].content = "";
    v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, NULL, NULL);
    ck_assert_str_eq(v->judged_by, "big-sup");
    ck_assert_uint_eq(v->judge_calls, 1);
    ck_assert_double_eq_tol(v->judge_cost_usd, s_price(27, 10.0, 30.0), 1e-15);
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_unaudited_reference_is_not_graded)
{
    s_request_t r;
    s_request(&r, REFERENCE, 0, 1);
    /* A cheaper answer that failed never wins. */
    Lyceum__V1__Answer *memory = &r.answers[3];
    lyceum__v1__answer__init(memory);
    memory->model = "memory";
    memory->content = "";
    lyceum__v1__error__init(&r.errors[3]);
    r.errors[3].code = LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED;
    memory->error = &r.errors[3];
    r.ptrs[r.req.n_answers++] = memory;

    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, NULL, NULL);
    ck_assert_ptr_null(v->error);
    ck_assert_int_eq(v->mode, UNSPECIFIED);
    ck_assert_str_eq(v->judged_by, "none");
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_uint_eq(v->n_judges, 0);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_double_eq(v->verdicts[i]->score, 0.0);
        ck_assert_double_eq(v->verdicts[i]->confidence, 0.0);
        ck_assert_str_eq(v->verdicts[i]->rationale, "not audited");
    }
    ck_assert_double_eq(v->verdicts[3]->confidence, 1.0); /* failed: certainly no answer */
    /* Recorded wrong, but the cheapest answer that came: the router's pick. */
    ck_assert_str_eq(v->winner, "student");
    lyc_verdict_destroy(&v);
}
END_TEST

/* ---- judge and agreement modes ------------------------------------------- */

typedef struct {
    int calls;
    const char *first_reply; /* NULL: a good reply */
} s_stub_t;

/* Scores every label shown in the prompt 0.5. */
static char *s_reply_for(const char *prompt)
{
    static char reply[1024];
    char label[LYC_JUDGE_LABEL_MAX], needle[32];
    size_t n = (size_t) snprintf(reply, sizeof reply, "{\"scores\": [");
    for (size_t i = 0; i < 8; i++) {
        lyc_judge_label(i, label);
        snprintf(needle, sizeof needle, "<answer label=\"%s\">", label);
        if (!strstr(prompt, needle))
            break;
        n += (size_t) snprintf(reply + n, sizeof reply - n, "%s{\"label\": \"%s\", \"score\": 0.5}",
                               i ? ", " : "", label);
    }
    snprintf(reply + n, sizeof reply - n, "]}");
    return reply;
}

static int s_stub_call(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply)
{
    s_stub_t *stub = ctx;
    memset(reply, 0, sizeof *reply);
    reply->cost_usd = 0.004;
    const char *text = stub->calls++ == 0 && stub->first_reply
                           ? stub->first_reply
                           : s_reply_for(task->messages[1]->content);
    reply->content = strdup(text);
    return reply->content ? 0 : -1;
}

START_TEST(test_judge_mode_counts_its_calls)
{
    s_request_t r;
    s_stub_t stub = {.calls = 0, .first_reply = NULL};
    s_request(&r, JUDGE, 1, 1);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, s_stub_call, &stub);
    ck_assert_str_eq(v->judged_by, "big-sup");
    ck_assert_uint_eq(v->judge_calls, 1);
    ck_assert_str_eq(v->judges[0], "big-sup");
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.004, 1e-15);
    lyc_verdict_destroy(&v);

    /* An unreadable first reply: the retry is a second call. */
    stub = (s_stub_t){.calls = 0, .first_reply = "I like the second one."};
    v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, s_stub_call, &stub);
    ck_assert_str_eq(v->judged_by, "big-sup");
    ck_assert_uint_eq(v->judge_calls, 2);
    ck_assert_uint_eq(v->n_judges, 2);
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.008, 1e-15);
    lyc_verdict_destroy(&v);

    /* Not audited: agreement among the answers, free. */
    stub = (s_stub_t){.calls = 0, .first_reply = NULL};
    r.req.audit = 0;
    v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, s_stub_call, &stub);
    ck_assert_int_eq(stub.calls, 0);
    ck_assert_str_eq(v->judged_by, "agreement");
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_agreement_mode_is_free)
{
    s_request_t r;
    s_request(&r, AGREEMENT, 1, 1);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &s_config, s_embedder, NULL, NULL);
    ck_assert_str_eq(v->judged_by, "agreement");
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_uint_eq(v->n_judges, 0);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    lyc_verdict_destroy(&v);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_charge");
    TCase *tc = tcase_create("charge");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_charged_tokens_and_price);
    tcase_add_test(tc, test_supervisor_answered_is_free);
    tcase_add_test(tc, test_supervisor_absent_costs_one_call);
    tcase_add_test(tc, test_unaudited_reference_is_not_graded);
    tcase_add_test(tc, test_judge_mode_counts_its_calls);
    tcase_add_test(tc, test_agreement_mode_is_free);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
