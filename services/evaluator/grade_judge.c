/*
 * grade_judge.c - grading with the judge model, and falling back to agreement.
 *
 * The judge sees every given answer in one prompt (judge_prompt.h) and
 * replies with JSON (judge_parse.h). A reply that cannot be read gets one
 * retry with a stricter instruction, because models that drift into prose
 * usually comply when told; a second failure, or a judge that is unavailable
 * or late, means grading by agreement (judged_by "agreement-fallback"), so a
 * query is never lost to its judge. What the judge calls cost is counted
 * either way.
 *
 * A request that is not audited (a familiar-path query not sampled) is
 * graded by agreement without calling the judge: that is what keeps the
 * supervisor's share of the work falling.
 */
#include "grade.h"

#include "judge_parse.h"
#include "judge_prompt.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How one judge call ended. */
typedef enum { S_JUDGED, S_UNREADABLE, S_UNREACHABLE, S_NO_MEMORY } s_outcome_t;

/* The answers shown to the judge, in label order. */
typedef struct {
    size_t index[LYC_EVAL_MAX_ANSWERS]; /* request index of label A, B, ... */
    size_t n;
    int synthesis; /* a synthesis is asked for */
} s_panel_t;

/* Picks the given answers and shuffles them by trace id. */
static void s_panel_init(s_panel_t *panel, const lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    size_t given[LYC_EVAL_MAX_ANSWERS], order[LYC_EVAL_MAX_ANSWERS], n = 0;

    for (size_t i = 0; i < req->n_answers && i < LYC_EVAL_MAX_ANSWERS; i++)
        if (!lyc_answer_failed(req->answers[i]))
            given[n++] = i;
    lyc_judge_shuffle(req->trace_id, order, n);
    for (size_t i = 0; i < n; i++)
        panel->index[i] = given[order[i]];
    panel->n = n;
    panel->synthesis = req->allow_synthesis && self->config->synthesis;
}

/* Number of shown answers that the result scores. */
static size_t s_scored(const s_panel_t *panel, const lyc_judge_result_t *result)
{
    char label[LYC_JUDGE_LABEL_MAX];
    size_t scored = 0;
    for (size_t i = 0; i < panel->n; i++) {
        lyc_judge_label(i, label);
        scored += lyc_judge_result_find(result, label) != NULL;
    }
    return scored;
}

/* Sends the prompt to the judge and waits for its reply. */
static s_outcome_t s_call(lyc_grading_t *self, const char *prompt, lyc_judge_reply_t *reply)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    Lyceum__V1__ChatMessage system = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *turns[2] = {&system, &user};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;

    system.role = "system";
    system.content = (char *) lyc_judge_prompt_system();
    user.role = "user";
    user.content = (char *) prompt;
    task.trace_id = req->trace_id;
    task.model = self->config->judge_model;
    task.n_messages = 2;
    task.messages = turns;
    task.tenant = req->tenant;
    task.domain = req->domain;
    task.max_tokens = (uint32_t) self->config->judge_max_tokens;
    task.deadline_ms = (uint32_t) self->config->judge_timeout_ms;
    task.temperature = 0.0;
    task.temperature_set = 1;

    int rc = self->judge_call(self->judge_ctx, &task, reply);
    self->judge_cost_usd += reply->cost_usd;
    return rc == 0 ? S_JUDGED : S_UNREACHABLE;
}

/* Asks the judge once and parses what it says into *result. */
static s_outcome_t s_ask(lyc_grading_t *self, const s_panel_t *panel, int strict,
                         lyc_judge_result_t *result)
{
    const char *trace = self->request->trace_id;
    lyc_judge_reply_t reply = {0};
    char err[160];
    s_outcome_t outcome;

    char *prompt =
        lyc_judge_prompt_build(self->request, panel->index, panel->n, panel->synthesis, strict);
    if (!prompt)
        return S_NO_MEMORY;
    outcome = s_call(self, prompt, &reply);
    if (outcome != S_JUDGED) {
        LYC_WARN(trace, "evaluator: judge %s failed: %s", self->config->judge_model, reply.error);
        goto out_free_prompt;
    }
    const char *content = reply.content ? reply.content : "";
    if (lyc_judge_parse(content, strlen(content), result, err, sizeof err) != 0) {
        outcome = S_UNREADABLE;
    } else if (s_scored(panel, result) == 0) {
        snprintf(err, sizeof err, "no score for any label shown");
        lyc_judge_result_clear(result);
        outcome = S_UNREADABLE;
    }
    if (outcome == S_UNREADABLE)
        LYC_WARN(trace, "evaluator: unreadable reply from judge %s%s: %s",
                 self->config->judge_model, strict ? " (strict retry)" : "", err);
out_free_prompt:
    free(reply.content);
    free(prompt);
    return outcome;
}

/* Copies the judge's scores into the grades; answers it left out get none. */
static void s_apply(lyc_grading_t *self, const s_panel_t *panel, lyc_judge_result_t *result)
{
    char label[LYC_JUDGE_LABEL_MAX];

    for (size_t i = 0; i < panel->n; i++) {
        lyc_grade_t *grade = &self->grades[panel->index[i]];
        lyc_judge_label(i, label);
        const lyc_judge_score_t *score = lyc_judge_result_find(result, label);
        if (!score) {
            *grade = (lyc_grade_t){.score = 0.0, .confidence = 0.0, .eligible = 0};
            lyc_grade_explain(grade, "the judge gave no score");
            continue;
        }
        grade->score = score->score;
        grade->confidence = score->confidence;
        grade->eligible = 1;
        lyc_grade_explain(grade, "%s", score->reason[0] ? score->reason : "scored by the judge");
    }
    if (panel->synthesis && result->synthesis && strcmp(result->best, "synthesis") == 0) {
        self->synthesis = result->synthesis;
        result->synthesis = NULL;
    }
    self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE;
    snprintf(self->judged_by, sizeof self->judged_by, "%s", self->config->judge_model);
}

int lyc_grade_judge(lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    lyc_judge_result_t result;
    s_panel_t panel;

    if (!req->audit)
        return lyc_grade_agreement(self, "agreement");
    if (!self->judge_call || !self->config->judge_model || !*self->config->judge_model) {
        LYC_WARN(req->trace_id, "evaluator: no judge model configured; grading by agreement");
        return lyc_grade_agreement(self, LYC_EVAL_AGREEMENT_FALLBACK);
    }
    s_panel_init(&panel, self);
    if (panel.n == 0) {
        self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE;
        return 0;
    }
    s_outcome_t outcome = s_ask(self, &panel, 0, &result);
    if (outcome == S_UNREADABLE)
        outcome = s_ask(self, &panel, 1, &result);
    if (outcome == S_NO_MEMORY)
        return -1;
    if (outcome != S_JUDGED)
        return lyc_grade_agreement(self, LYC_EVAL_AGREEMENT_FALLBACK);
    s_apply(self, &panel, &result);
    lyc_judge_result_clear(&result);
    return 0;
}
