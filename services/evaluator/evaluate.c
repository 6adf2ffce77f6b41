/*
 * evaluate.c - checking a request, running its grader, writing the Verdict.
 *
 * Every part of a Verdict made here is allocated with malloc (or left at the
 * protobuf defaults), so protobuf-c's free_unpacked frees it like a decoded
 * one.
 */
#include "evaluate.h"

#include "choose.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces a protobuf string field with a copy of value; -1 out of memory. */
static int s_set(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -1;
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

static Lyceum__V1__Verdict *s_verdict_new(const char *trace)
{
    Lyceum__V1__Verdict *verdict = malloc(sizeof *verdict);
    if (!verdict)
        return NULL;
    lyceum__v1__verdict__init(verdict);
    if (s_set(&verdict->trace_id, trace) != 0)
        lyc_verdict_destroy(&verdict);
    return verdict;
}

static int s_set_error(Lyceum__V1__Verdict *verdict, Lyceum__V1__ErrorCode code,
                       const char *message, int retryable)
{
    verdict->error = malloc(sizeof *verdict->error);
    if (!verdict->error)
        return -1;
    lyceum__v1__error__init(verdict->error);
    verdict->error->code = code;
    verdict->error->retryable = retryable;
    return s_set(&verdict->error->message, message);
}

Lyceum__V1__Verdict *lyc_verdict_error(const char *trace, Lyceum__V1__ErrorCode code,
                                       const char *message, int retryable)
{
    Lyceum__V1__Verdict *verdict = s_verdict_new(trace);
    if (verdict && s_set_error(verdict, code, message, retryable) != 0)
        lyc_verdict_destroy(&verdict);
    return verdict;
}

void lyc_verdict_destroy(Lyceum__V1__Verdict **verdict_p)
{
    if (!verdict_p || !*verdict_p)
        return;
    lyceum__v1__verdict__free_unpacked(*verdict_p, NULL);
    *verdict_p = NULL;
}

/* Why the request cannot be graded, or NULL when it can. */
static const char *s_check(const Lyceum__V1__EvalRequest *req, int mode)
{
    if (req->n_answers == 0)
        return "no answers to grade";
    if (req->n_answers > LYC_EVAL_MAX_ANSWERS)
        return "too many answers (the limit is 64)";
    if (mode < LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE ||
        mode > LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE)
        return "unknown evaluation mode";
    return NULL;
}

/* Runs the grader of mode; -1 out of memory. */
static int s_grade(lyc_grading_t *grading, int mode)
{
    grading->mode = mode;
    if (grading->answered == 0)
        return 0;
    switch (mode) {
    case LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE:
        return lyc_grade_reference(grading);
    case LYCEUM__V1__EVAL_MODE__EVAL_MODE_AGREEMENT:
        return lyc_grade_agreement(grading, "agreement");
    default:
        return lyc_grade_judge(grading);
    }
}

/* Appends one AnswerVerdict per answer, in the request's order. */
static int s_put_grades(Lyceum__V1__Verdict *verdict, const lyc_grading_t *grading)
{
    const Lyceum__V1__EvalRequest *req = grading->request;
    verdict->verdicts = calloc(req->n_answers, sizeof *verdict->verdicts);
    if (!verdict->verdicts)
        return -1;
    for (size_t i = 0; i < req->n_answers; i++) {
        Lyceum__V1__AnswerVerdict *one = malloc(sizeof *one);
        if (!one)
            return -1;
        lyceum__v1__answer_verdict__init(one);
        verdict->verdicts[verdict->n_verdicts++] = one;
        one->score = grading->grades[i].score;
        one->confidence = grading->grades[i].confidence;
        if (s_set(&one->model, req->answers[i]->model) != 0 ||
            s_set(&one->rationale, grading->grades[i].rationale) != 0)
            return -1;
    }
    return 0;
}

/* Chooses the winner and sets winner and final_content (or the error when
 * no answer can win). */
static int s_put_winner(Lyceum__V1__Verdict *verdict, const lyc_grading_t *grading)
{
    const Lyceum__V1__EvalRequest *req = grading->request;
    lyc_choice_t choices[LYC_EVAL_MAX_ANSWERS];

    if (grading->synthesis) {
        if (s_set(&verdict->winner, "synthesis") != 0 ||
            s_set(&verdict->final_content, grading->synthesis) != 0)
            return -1;
        return 0;
    }
    for (size_t i = 0; i < req->n_answers; i++)
        choices[i] = (lyc_choice_t){.model = req->answers[i]->model,
                                    .cost_usd = req->answers[i]->cost_usd,
                                    .score = grading->grades[i].score,
                                    .eligible = grading->grades[i].eligible};
    double margin = req->cheap_margin > 0.0 ? req->cheap_margin : grading->config->cheap_margin;
    int winner = lyc_choose(choices, req->n_answers, margin);
    if (winner < 0)
        return s_set_error(verdict, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, "no model answered",
                           1);
    if (s_set(&verdict->winner, req->answers[winner]->model) != 0 ||
        s_set(&verdict->final_content, req->answers[winner]->content) != 0)
        return -1;
    return 0;
}

/* Sets judge_calls and names the model of each call in judges. */
static int s_put_judges(Lyceum__V1__Verdict *verdict, const lyc_grading_t *grading)
{
    size_t n = grading->judge_calls < LYC_EVAL_MAX_JUDGE_CALLS ? grading->judge_calls
                                                               : LYC_EVAL_MAX_JUDGE_CALLS;
    verdict->judge_calls = grading->judge_calls;
    if (n == 0)
        return 0;
    verdict->judges = calloc(n, sizeof *verdict->judges);
    if (!verdict->judges)
        return -1;
    for (size_t i = 0; i < n; i++) {
        verdict->judges[i] = strdup(grading->judge_models[i]);
        if (!verdict->judges[i])
            return -1;
        verdict->n_judges = i + 1;
    }
    return 0;
}

static Lyceum__V1__Verdict *s_from_grading(const lyc_grading_t *grading, const char *trace)
{
    Lyceum__V1__Verdict *verdict = s_verdict_new(trace);
    if (!verdict)
        return NULL;
    verdict->mode = (Lyceum__V1__EvalMode) grading->mode;
    verdict->judge_cost_usd = grading->judge_cost_usd;
    if (s_set(&verdict->judged_by, grading->judged_by) != 0 ||
        s_put_judges(verdict, grading) != 0 || s_put_grades(verdict, grading) != 0 ||
        s_put_winner(verdict, grading) != 0)
        lyc_verdict_destroy(&verdict);
    return verdict;
}

Lyceum__V1__Verdict *lyc_evaluate(const Lyceum__V1__EvalRequest *req, const char *trace,
                                  const lyc_eval_config_t *config, const lyc_embedder_t *embedder,
                                  lyc_judge_call_fn judge_call, void *judge_ctx)
{
    lyc_judging_t judging = {.call = judge_call, .ctx = judge_ctx, .judges = NULL};
    return lyc_evaluate_with(req, trace, config, embedder, &judging);
}

Lyceum__V1__Verdict *lyc_evaluate_with(const Lyceum__V1__EvalRequest *req, const char *trace,
                                       const lyc_eval_config_t *config,
                                       const lyc_embedder_t *embedder, const lyc_judging_t *judging)
{
    int mode = req->mode != LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED
                   ? (int) req->mode
                   : lyc_eval_mode_parse(config->mode);
    const char *bad = s_check(req, mode);
    lyc_grading_t grading;

    if (bad) {
        LYC_WARN(trace, "evaluator: bad request: %s", bad);
        return lyc_verdict_error(trace, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, bad, 0);
    }
    lyc_grading_init(&grading, req, config, embedder);
    if (judging) {
        grading.judge_call = judging->call;
        grading.judge_ctx = judging->ctx;
        grading.judges = judging->judges;
    }
    Lyceum__V1__Verdict *verdict = NULL;
    if (s_grade(&grading, mode) != 0)
        verdict = lyc_verdict_error(trace, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL,
                                    "out of memory while grading", 1);
    else
        verdict = s_from_grading(&grading, trace);
    lyc_grading_clear(&grading);
    return verdict;
}
