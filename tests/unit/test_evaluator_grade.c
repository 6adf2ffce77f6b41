/*
 * test_evaluator_grade.c - the graders: reference (by recorded correctness,
 * by multiple-choice letter, by text), agreement (with and without the
 * supervisor's answer), and the judge with a stand-in judge call (retry,
 * fallback, unavailable judge, unaudited requests, synthesis, hidden names).
 */
#include "testkit.h"

#include "evaluate.h"
#include "grade.h"
#include "judge_parse.h"
#include "judge_prompt.h"
#include "text_match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERENCE LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE
#define AGREEMENT LYCEUM__V1__EVAL_MODE__EVAL_MODE_AGREEMENT
#define JUDGE     LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE
#define RIGHT     LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT
#define WRONG     LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG

/* ---- a request to grade -------------------------------------------------- */

typedef struct {
    Lyceum__V1__EvalRequest req;
    Lyceum__V1__Answer answers[8];
    Lyceum__V1__Answer *ptrs[8];
    Lyceum__V1__Error errors[8];
    Lyceum__V1__ChatMessage turn;
    Lyceum__V1__ChatMessage *turns[1];
} s_request_t;

static void s_request_init(s_request_t *r, int mode, const char *question)
{
    memset(r, 0, sizeof *r);
    lyceum__v1__eval_request__init(&r->req);
    lyceum__v1__chat_message__init(&r->turn);
    r->turn.role = "user";
    r->turn.content = (char *) question;
    r->turns[0] = &r->turn;
    r->req.trace_id = "trace-grade-1";
    r->req.tenant = "acme";
    r->req.mode = mode;
    r->req.audit = 1;
    r->req.messages = r->turns;
    r->req.n_messages = 1;
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

static void s_abstain(s_request_t *r, Lyceum__V1__Answer *a)
{
    Lyceum__V1__Error *e = &r->errors[a - r->answers];
    lyceum__v1__error__init(e);
    e->code = LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED;
    e->message = "memory miss";
    a->error = e;
    a->content = "";
}

static lyc_embedder_t *s_embedder;

static void s_setup(void)
{
    s_embedder = lyc_embedder_new(LYC_EVAL_EMBED_DIM);
    ck_assert_ptr_nonnull(s_embedder);
}

static void s_teardown(void)
{
    lyc_embedder_destroy(&s_embedder);
}

static char *s_supervisors[] = {"big-sup", NULL};

static lyc_eval_config_t s_config(void)
{
    static char mode[] = "judge", judge[] = "big-sup", bind[] = "tcp://127.0.0.1:*";
    return (lyc_eval_config_t){.bind = bind,
                               .threads = 1,
                               .mode = mode,
                               .judge_model = judge,
                               .cheap_margin = 0.05,
                               .judge_timeout_ms = 1000,
                               .agreement_threshold = 0.75,
                               .supervisors = s_supervisors};
}

static void s_grade(lyc_grading_t *g, s_request_t *r, const lyc_eval_config_t *config)
{
    lyc_grading_init(g, &r->req, config, s_embedder);
}

/* ---- text matching ------------------------------------------------------- */

START_TEST(test_text_normalisation)
{
    const char *text = "  The Eiffel-Tower, isn't it?! ";
    char *n = lyc_text_normalize(text, strlen(text));
    ck_assert_str_eq(n, "eiffel tower isnt it");
    free(n);
    n = lyc_text_normalize("A an THE", 8);
    ck_assert_str_eq(n, "");
    free(n);
    n = lyc_text_normalize("Ça coûte 3 €", strlen("Ça coûte 3 €"));
    ck_assert_str_eq(n, "Ça coûte 3 €");
    free(n);
    ck_assert(lyc_text_same("Paris.", "paris"));
    ck_assert(!lyc_text_same("", ""));
    ck_assert(!lyc_text_same("Paris", "Lyon"));
}
END_TEST

START_TEST(test_text_letters_and_f1)
{
    ck_assert_int_eq(lyc_text_reference_letter("b"), 'B');
    ck_assert_int_eq(lyc_text_reference_letter(" (C) "), 'C');
    ck_assert_int_eq(lyc_text_reference_letter("D."), 'D');
    ck_assert_int_eq(lyc_text_reference_letter("E"), 0);
    ck_assert_int_eq(lyc_text_reference_letter("Bob"), 0);
    ck_assert_int_eq(lyc_text_choice_letter("The answer is (B)."), 'B');
    ck_assert_int_eq(lyc_text_choice_letter("Bad Dog, C-3PO"), 'C');
    ck_assert_int_eq(lyc_text_choice_letter("I'd pick D"), 'D');
    ck_assert_int_eq(lyc_text_choice_letter("Ed's Dad"), 0);
    ck_assert_double_eq(lyc_text_f1("a b c", "a b c"), 1.0);
    ck_assert_double_eq(lyc_text_f1("x", ""), 0.0);
    ck_assert_double_eq_tol(lyc_text_f1("red red blue", "red blue green"), 2.0 / 3.0, 1e-9);
}
END_TEST

/* ---- reference ------------------------------------------------------------ */

START_TEST(test_reference_by_recorded_correctness)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    lyc_grading_t g;
    s_request_init(&r, REFERENCE, "2+2?");
    r.req.reference = "5"; /* the record wins over the reference */
    s_add(&r, "a", "4", 0.01, RIGHT);
    s_add(&r, "b", "5", 0.01, WRONG);
    s_grade(&g, &r, &config);
    ck_assert_int_eq(lyc_grade_reference(&g), 0);
    ck_assert_double_eq(g.grades[0].score, 1.0);
    ck_assert_double_eq(g.grades[0].confidence, 1.0);
    ck_assert_double_eq(g.grades[1].score, 0.0);
    ck_assert_double_eq(g.grades[1].confidence, 1.0);
    ck_assert_str_eq(g.grades[1].rationale, "recorded as wrong");
    /* The supervisor did not answer: the judgement is charged to it (at no
     * price here: the configuration lists no models). */
    ck_assert_str_eq(g.judged_by, "big-sup");
    ck_assert_uint_eq(g.judge_calls, 1);
    ck_assert_str_eq(g.judge_models[0], "big-sup");
    ck_assert_int_eq(g.mode, REFERENCE);
    ck_assert_double_eq(g.judge_cost_usd, 0.0);
    lyc_grading_clear(&g);
}
END_TEST

START_TEST(test_reference_by_letter)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    lyc_grading_t g;
    s_request_init(&r, REFERENCE, "Which is a mammal? A) trout B) whale C) eagle D) frog");
    r.req.reference = "B";
    s_add(&r, "right", "The answer is B, the whale.", 0.0, 0);
    s_add(&r, "wrong", "C) eagle", 0.0, 0);
    s_add(&r, "bare", "b", 0.0, 0);
    s_add(&r, "vague", "whales are mammals", 0.0, 0);
    s_grade(&g, &r, &config);
    ck_assert_int_eq(lyc_grade_reference(&g), 0);
    ck_assert_double_eq(g.grades[0].score, 1.0);
    ck_assert_double_eq(g.grades[1].score, 0.0);
    ck_assert_str_eq(g.grades[1].rationale, "chose C, the reference is B");
    ck_assert_double_eq(g.grades[2].score, 1.0); /* equal after normalisation */
    ck_assert_double_eq(g.grades[3].score, 0.0); /* no letter, no overlap */
    ck_assert_double_eq(g.grades[3].confidence, 0.5);
    lyc_grading_clear(&g);
}
END_TEST

START_TEST(test_reference_by_text)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    lyc_grading_t g;
    s_request_init(&r, REFERENCE, "What is the tallest structure in Paris?");
    r.req.reference = "The Eiffel Tower";
    s_add(&r, "exact", "eiffel tower.", 0.0, 0);
    s_add(&r, "partial", "the Eiffel tower in Paris", 0.0, 0);
    s_add(&r, "off", "Montparnasse", 0.0, 0);
    s_abstain(&r, s_add(&r, "memory", "", 0.0, 0));
    s_grade(&g, &r, &config);
    ck_assert_uint_eq(g.answered, 3);
    ck_assert_int_eq(lyc_grade_reference(&g), 0);
    ck_assert_double_eq(g.grades[0].score, 1.0);
    ck_assert_double_eq(g.grades[0].confidence, 1.0);
    ck_assert_double_eq_tol(g.grades[1].score, 2.0 / 3.0, 1e-9); /* P 2/4, R 2/2 */
    ck_assert_double_eq(g.grades[1].confidence, 0.5);
    ck_assert_double_eq(g.grades[2].score, 0.0);
    ck_assert(!g.grades[3].eligible);
    ck_assert_str_eq(g.grades[3].rationale, "abstained: memory miss");
    lyc_grading_clear(&g);
}
END_TEST

START_TEST(test_reference_without_reference_falls_back_to_agreement)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_request_init(&r, REFERENCE, "Capital of France?");
    s_add(&r, "a", "Paris", 0.002, 0);
    s_add(&r, "b", "Paris", 0.001, 0);
    s_add(&r, "c", "Lyon", 0.0005, 0);
    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &config, s_embedder, NULL, NULL);
    ck_assert_str_eq(v->judged_by, "agreement");
    ck_assert_int_eq(v->mode, AGREEMENT);
    ck_assert_str_eq(v->winner, "b");
    lyc_verdict_destroy(&v);
}
END_TEST

/* 1 when text is well-formed UTF-8 (no sequence cut short). */
static int s_valid_utf8(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p;) {
        size_t need = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : 9;
        if (need == 9)
            return 0;
        for (p++; need > 0; need--, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

START_TEST(test_long_error_rationale_is_cut_on_a_character)
{
    lyc_eval_config_t config = s_config();
    char message[512] = "x";
    for (size_t n = 1; n + 2 < sizeof message; n += 2)
        memcpy(message + n, "\xc3\xa9", 2);
    s_request_t r;
    lyc_grading_t g;
    s_request_init(&r, REFERENCE, "?");
    Lyceum__V1__Answer *a = s_add(&r, "memory", "", 0.0, 0);
    s_abstain(&r, a);
    r.errors[0].message = message;
    s_grade(&g, &r, &config);
    /* "abstained: x" is 12 bytes: the 240-byte buffer would end inside an e-acute. */
    ck_assert_uint_eq(strlen(g.grades[0].rationale), LYC_EVAL_RATIONALE_MAX - 2);
    ck_assert(s_valid_utf8(g.grades[0].rationale));
    lyc_grading_clear(&g);
}
END_TEST

/* ---- agreement -------------------------------------------------------------- */

START_TEST(test_agreement_with_supervisor)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    lyc_grading_t g;
    s_request_init(&r, AGREEMENT, "What is the capital of France?");
    s_add(&r, "student", "Berlin is the capital.", 0.0001, 0);
    s_add(&r, "teacher", "The capital of France is Paris.", 0.001, 0);
    s_add(&r, "big-sup", "Paris is the capital of France.", 0.03, 0);
    s_add(&r, "ta", "paris is the capital of france", 0.0005, 0);
    s_grade(&g, &r, &config);
    ck_assert_int_eq(lyc_grade_agreement(&g, "agreement"), 0);
    /* The supervisor is trusted even though it is not the majority's. */
    ck_assert_double_eq(g.grades[2].score, 1.0);
    ck_assert_double_eq(g.grades[3].score, 1.0); /* equal after normalisation */
    ck_assert_double_gt(g.grades[1].score, g.grades[0].score);
    ck_assert_double_lt(g.grades[0].score, 0.75);
    /* Confidence grows with the number of answers that agree with it. */
    double share = 0.0;
    for (size_t i = 0; i < 4; i++)
        share += i != 2 && g.grades[i].score >= 0.75;
    ck_assert_double_eq_tol(g.grades[0].confidence, 0.6 + 0.3 * share / 3.0, 1e-9);
    ck_assert_str_eq(g.judged_by, "agreement");
    lyc_grading_clear(&g);

    Lyceum__V1__Verdict *v = lyc_evaluate(&r.req, "t", &config, s_embedder, NULL, NULL);
    ck_assert_str_eq(v->winner, "ta"); /* as good as the supervisor, far cheaper */
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_agreement_without_supervisor)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    lyc_grading_t g;
    s_request_init(&r, AGREEMENT, "6 times 7?");
    s_add(&r, "a", "17", 0.001, 0);
    s_add(&r, "b", "42", 0.002, 0);
    s_add(&r, "c", "42.", 0.003, 0);
    s_abstain(&r, s_add(&r, "memory", "", 0.0, 0));
    s_grade(&g, &r, &config);
    ck_assert_int_eq(lyc_grade_agreement(&g, "agreement"), 0);
    ck_assert_double_eq(g.grades[1].score, 1.0);
    ck_assert_double_eq(g.grades[2].score, 1.0);
    ck_assert_double_lt(g.grades[0].score, 0.5);
    /* Two of three agree: 0.2 + 0.6 * 1/2. */
    ck_assert_double_eq_tol(g.grades[1].confidence, 0.5, 1e-9);
    ck_assert(!g.grades[3].eligible);
    lyc_grading_clear(&g);

    /* Nobody agrees: low confidence. */
    s_request_init(&r, AGREEMENT, "?");
    s_add(&r, "a", "apples", 0.0, 0);
    s_add(&r, "b", "oranges", 0.0, 0);
    s_grade(&g, &r, &config);
    ck_assert_int_eq(lyc_grade_agreement(&g, "agreement"), 0);
    ck_assert_double_eq_tol(g.grades[0].confidence, 0.2, 1e-9);
    lyc_grading_clear(&g);

    /* A lone answer agrees with nothing. */
    s_request_init(&r, AGREEMENT, "?");
    s_add(&r, "a", "apples", 0.0, 0);
    s_grade(&g, &r, &config);
    ck_assert_int_eq(lyc_grade_agreement(&g, "agreement"), 0);
    ck_assert_double_eq(g.grades[0].score, 1.0);
    ck_assert_double_eq_tol(g.grades[0].confidence, 0.2, 1e-9);
    lyc_grading_clear(&g);
}
END_TEST

/* ---- judge, with a stand-in for the judge call ---------------------------- */

typedef struct {
    const char *replies[3]; /* NULL: a good reply built from `scores` */
    int fail[3];            /* the call fails (unavailable) */
    const char *contents[4];
    double scores[4];
    const char *synthesis;
    int calls;
    char *prompts[3];
    char model[64];
} s_stub_t;

/* The label the prompt gave the answer whose text is content. */
static void s_label_of(const char *prompt, const char *content, char *label)
{
    char needle[256];
    for (size_t i = 0; i < LYC_JUDGE_MAX_SCORES; i++) {
        lyc_judge_label(i, label);
        snprintf(needle, sizeof needle, "<answer label=\"%s\">\n%s\n", label, content);
        if (strstr(prompt, needle))
            return;
    }
    ck_abort_msg("answer '%s' not in the prompt", content);
}

static char *s_good_reply(const s_stub_t *stub, const char *prompt)
{
    static char reply[2048];
    char label[LYC_JUDGE_LABEL_MAX];
    size_t n = (size_t) snprintf(reply, sizeof reply, "Here you go:\n```json\n{\"scores\": [");
    for (size_t i = 0; i < 4 && stub->contents[i]; i++) {
        s_label_of(prompt, stub->contents[i], label);
        n += (size_t) snprintf(reply + n, sizeof reply - n,
                               "%s{\"label\": \"%s\", \"score\": %.2f, \"confidence\": 0.9, "
                               "\"reason\": \"graded %s\"}",
                               i ? ", " : "", label, stub->scores[i], label);
    }
    snprintf(reply + n, sizeof reply - n, "], \"best\": \"%s\", \"synthesis\": \"%s\"}\n```",
             stub->synthesis ? "synthesis" : "A", stub->synthesis ? stub->synthesis : "");
    return reply;
}

static int s_stub_call(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply)
{
    s_stub_t *stub = ctx;
    int i = stub->calls++;
    ck_assert_int_lt(i, 3);
    ck_assert_uint_eq(task->n_messages, 2);
    ck_assert_uint_eq(task->deadline_ms, 1000);
    snprintf(stub->model, sizeof stub->model, "%s", task->model);
    stub->prompts[i] = strdup(task->messages[1]->content);
    memset(reply, 0, sizeof *reply);
    reply->cost_usd = 0.01;
    if (stub->fail[i]) {
        snprintf(reply->error, sizeof reply->error, "unavailable");
        return -1;
    }
    const char *text = stub->replies[i] ? stub->replies[i] : s_good_reply(stub, stub->prompts[i]);
    reply->content = strdup(text);
    return 0;
}

static void s_stub_free(s_stub_t *stub)
{
    for (int i = 0; i < 3; i++)
        free(stub->prompts[i]);
}

static void s_judge_request(s_request_t *r, s_stub_t *stub)
{
    s_request_init(r, JUDGE, "Why is the sky blue?");
    s_add(r, "student-1", "Because of Rayleigh scattering.", 0.001, 0);
    s_add(r, "teacher-7", "The sky reflects the ocean.", 0.002, 0);
    s_add(r, "big-sup", "Rayleigh scattering favours short wavelengths.", 0.03, 0);
    s_abstain(r, s_add(r, "memory", "", 0.0, 0));
    memset(stub, 0, sizeof *stub);
    stub->contents[0] = "Because of Rayleigh scattering.";
    stub->contents[1] = "The sky reflects the ocean.";
    stub->contents[2] = "Rayleigh scattering favours short wavelengths.";
    stub->scores[0] = 0.85;
    stub->scores[1] = 0.1;
    stub->scores[2] = 0.95;
}

static Lyceum__V1__Verdict *s_judge(s_request_t *r, s_stub_t *stub, lyc_eval_config_t *config)
{
    return lyc_evaluate(&r->req, r->req.trace_id, config, s_embedder, s_stub_call, stub);
}

START_TEST(test_judge_scores_and_hides_names)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 1);
    ck_assert_str_eq(stub.model, "big-sup");
    ck_assert_str_eq(v->judged_by, "big-sup");
    ck_assert_int_eq(v->mode, JUDGE);
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.01, 1e-12);
    ck_assert_double_eq_tol(v->verdicts[0]->score, 0.85, 1e-9);
    ck_assert_double_eq_tol(v->verdicts[1]->score, 0.1, 1e-9);
    ck_assert_double_eq_tol(v->verdicts[2]->confidence, 0.9, 1e-9);
    ck_assert_double_eq(v->verdicts[3]->score, 0.0); /* abstained: never shown */
    /* 0.85 is not within 0.05 of 0.95: the supervisor's answer wins. */
    ck_assert_str_eq(v->winner, "big-sup");
    lyc_verdict_destroy(&v);
    /* The prompt shows the conversation and three labelled answers, no names. */
    const char *p = stub.prompts[0];
    ck_assert_ptr_nonnull(strstr(p, "Why is the sky blue?"));
    ck_assert_ptr_nonnull(strstr(p, "<answer label=\"C\">"));
    ck_assert_ptr_null(strstr(p, "<answer label=\"D\">"));
    ck_assert_ptr_null(strstr(p, "student-1"));
    ck_assert_ptr_null(strstr(p, "teacher-7"));
    ck_assert_ptr_null(strstr(p, "big-sup"));
    ck_assert_ptr_null(strstr(p, "synthesis"));
    s_stub_free(&stub);
}
END_TEST

START_TEST(test_judge_order_follows_the_trace)
{
    size_t a[10], b[10], seen[10] = {0};
    lyc_judge_shuffle("trace-x", a, 10);
    lyc_judge_shuffle("trace-x", b, 10);
    ck_assert_mem_eq(a, b, sizeof a);
    for (size_t i = 0; i < 10; i++)
        seen[a[i]]++;
    for (size_t i = 0; i < 10; i++)
        ck_assert_uint_eq(seen[i], 1);
    /* Over many traces, every answer is sometimes shown first. */
    int first[3] = {0};
    for (int t = 0; t < 300; t++) {
        char trace[32];
        snprintf(trace, sizeof trace, "trace-%d", t);
        lyc_judge_shuffle(trace, a, 3);
        first[a[0]]++;
    }
    for (int i = 0; i < 3; i++)
        ck_assert_int_gt(first[i], 50);
}
END_TEST

START_TEST(test_judge_retry_after_malformed_reply)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    stub.replies[0] = "I think answer A is best because it mentions scattering.";
    r.req.cheap_margin = 0.2;
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 2);
    ck_assert_ptr_null(strstr(stub.prompts[0], "could not be read"));
    ck_assert_ptr_nonnull(strstr(stub.prompts[1], "could not be read"));
    ck_assert_str_eq(v->judged_by, "big-sup");
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.02, 1e-12);
    ck_assert_str_eq(v->winner, "student-1"); /* within 0.2 of the best, cheapest */
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);
}
END_TEST

START_TEST(test_judge_falls_back_after_two_malformed_replies)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    stub.replies[0] = "{\"scores\": [{\"label\": \"A\", \"sco";
    stub.replies[1] = "{\"scores\": [{\"label\": \"Q\", \"score\": 1}]}"; /* no label shown */
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 2);
    ck_assert_str_eq(v->judged_by, LYC_EVAL_AGREEMENT_FALLBACK);
    ck_assert_int_eq(v->mode, AGREEMENT);
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.02, 1e-12);
    /* Agreement trusts the supervisor's answer. */
    ck_assert_double_eq(v->verdicts[2]->score, 1.0);
    ck_assert_ptr_null(v->error);
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);
}
END_TEST

START_TEST(test_judge_unavailable_falls_back_at_once)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    stub.fail[0] = 1;
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 1);
    ck_assert_str_eq(v->judged_by, LYC_EVAL_AGREEMENT_FALLBACK);
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.01, 1e-12);
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);

    /* No judge model at all: the same fallback, no call. */
    char none[] = "";
    config.judge_model = none;
    s_judge_request(&r, &stub);
    v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 0);
    ck_assert_str_eq(v->judged_by, LYC_EVAL_AGREEMENT_FALLBACK);
    lyc_verdict_destroy(&v);
}
END_TEST

START_TEST(test_judge_skipped_when_not_audited)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    r.req.audit = 0;
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 0);
    ck_assert_str_eq(v->judged_by, "agreement");
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    lyc_verdict_destroy(&v);

    /* The default mode comes from the configuration. */
    r.req.mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED;
    r.req.audit = 1;
    v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 1);
    ck_assert_int_eq(v->mode, JUDGE);
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);
}
END_TEST

START_TEST(test_judge_missing_label_gets_no_score)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    stub.contents[2] = NULL; /* the judge forgets the third answer */
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_int_eq(stub.calls, 1);
    ck_assert_double_eq(v->verdicts[2]->score, 0.0);
    ck_assert_double_eq(v->verdicts[2]->confidence, 0.0);
    ck_assert_str_eq(v->verdicts[2]->rationale, "the judge gave no score");
    ck_assert_str_eq(v->winner, "student-1");
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);
}
END_TEST

START_TEST(test_judge_synthesis)
{
    lyc_eval_config_t config = s_config();
    s_request_t r;
    s_stub_t stub;
    s_judge_request(&r, &stub);
    stub.synthesis = "Air molecules scatter blue light more (Rayleigh scattering).";
    /* Allowed by the request but not configured: no synthesis. */
    r.req.allow_synthesis = 1;
    Lyceum__V1__Verdict *v = s_judge(&r, &stub, &config);
    ck_assert_str_eq(v->winner, "big-sup");
    ck_assert_ptr_null(strstr(stub.prompts[0], "synthesis"));
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);
    /* Both on: the judge's synthesis wins. */
    config.synthesis = 1;
    s_judge_request(&r, &stub);
    stub.synthesis = "Air molecules scatter blue light more (Rayleigh scattering).";
    r.req.allow_synthesis = 1;
    v = s_judge(&r, &stub, &config);
    ck_assert_ptr_nonnull(strstr(stub.prompts[0], "synthesis"));
    ck_assert_str_eq(v->winner, "synthesis");
    ck_assert_str_eq(v->final_content, stub.synthesis);
    ck_assert_uint_eq(v->n_verdicts, 4);
    lyc_verdict_destroy(&v);
    s_stub_free(&stub);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_grade");
    TCase *text = tcase_create("text");
    tcase_add_test(text, test_text_normalisation);
    tcase_add_test(text, test_text_letters_and_f1);
    suite_add_tcase(s, text);
    TCase *grade = tcase_create("grade");
    tcase_add_checked_fixture(grade, s_setup, s_teardown);
    tcase_add_test(grade, test_reference_by_recorded_correctness);
    tcase_add_test(grade, test_reference_by_letter);
    tcase_add_test(grade, test_reference_by_text);
    tcase_add_test(grade, test_reference_without_reference_falls_back_to_agreement);
    tcase_add_test(grade, test_long_error_rationale_is_cut_on_a_character);
    tcase_add_test(grade, test_agreement_with_supervisor);
    tcase_add_test(grade, test_agreement_without_supervisor);
    tcase_add_test(grade, test_judge_scores_and_hides_names);
    tcase_add_test(grade, test_judge_order_follows_the_trace);
    tcase_add_test(grade, test_judge_retry_after_malformed_reply);
    tcase_add_test(grade, test_judge_falls_back_after_two_malformed_replies);
    tcase_add_test(grade, test_judge_unavailable_falls_back_at_once);
    tcase_add_test(grade, test_judge_skipped_when_not_audited);
    tcase_add_test(grade, test_judge_missing_label_gets_no_score);
    tcase_add_test(grade, test_judge_synthesis);
    suite_add_tcase(s, grade);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
