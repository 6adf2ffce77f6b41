/*
 * grade_judge.c - grading with judge models, and falling back to agreement.
 *
 * Who judges comes from the request's plan (judges.h): the supervisor, a
 * delegate, or an ensemble whose scores are averaged, weighted by each
 * member's agreement with the supervisor. Each judge sees every given answer
 * in one prompt (judge_prompt.h) and replies with JSON (judge_parse.h). A
 * reply that cannot be read gets one retry with a stricter instruction,
 * because models that drift into prose usually comply when told.
 *
 * When the plan is a spot check, the supervisor judges too, its verdict is
 * the one used, and the two are compared and reported (judges.h). A
 * delegate or ensemble that fails is replaced by the supervisor; when no
 * judge gives a usable verdict the request is graded by agreement
 * (judged_by "agreement-fallback"), so a query is never lost to its judge.
 * Every call is counted (judge_calls, judges) and its cost added, whatever
 * came of it.
 *
 * A request that is not audited (a familiar-path query not sampled) is
 * graded by agreement without calling a judge: that is what keeps the
 * supervisor's share of the work falling.
 */
#include "grade.h"

#include "judge_parse.h"
#include "judge_policy.h"
#include "judge_prompt.h"
#include "judges.h"
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

/* What one judge, or an ensemble, made of the panel. */
typedef struct {
    lyc_grade_t grades[LYC_EVAL_MAX_ANSWERS]; /* by label: A is grades[0] */
    char *synthesis;                          /* owned; from a single judge only */
} s_judgement_t;

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

/* Sends the prompt to model and waits for its reply; counts the call. */
static s_outcome_t s_call(lyc_grading_t *self, const char *model, const char *prompt,
                          lyc_judge_reply_t *reply)
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
    task.model = (char *) model;
    task.n_messages = 2;
    task.messages = turns;
    task.tenant = req->tenant;
    task.domain = req->domain;
    task.max_tokens = (uint32_t) self->config->judge_max_tokens;
    task.deadline_ms = (uint32_t) self->config->judge_timeout_ms;
    task.temperature = 0.0;
    task.temperature_set = 1;

    int rc = self->judge_call(self->judge_ctx, &task, reply);
    if (rc > 0) /* not made (the budget): nothing to count or charge */
        return S_UNREACHABLE;
    lyc_grading_charge(self, model, reply->cost_usd);
    return rc == 0 ? S_JUDGED : S_UNREACHABLE;
}

/* Asks model once and parses what it says into *result. */
static s_outcome_t s_ask(lyc_grading_t *self, const s_panel_t *panel, const char *model, int strict,
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
    outcome = s_call(self, model, prompt, &reply);
    if (outcome != S_JUDGED) {
        LYC_WARN(trace, "evaluator: judge %s failed: %s", model, reply.error);
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
        LYC_WARN(trace, "evaluator: unreadable reply from judge %s%s: %s", model,
                 strict ? " (strict retry)" : "", err);
out_free_prompt:
    free(reply.content);
    free(prompt);
    return outcome;
}

/* Turns the judge's scores into grades by label; labels it left out get none. */
static void s_take(const s_panel_t *panel, lyc_judge_result_t *result, s_judgement_t *out)
{
    char label[LYC_JUDGE_LABEL_MAX];

    for (size_t i = 0; i < panel->n; i++) {
        lyc_grade_t *grade = &out->grades[i];
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
        out->synthesis = result->synthesis;
        result->synthesis = NULL;
    }
}

/* One judge: a call, and a stricter one when the first reply is unreadable. */
static s_outcome_t s_judge_model(lyc_grading_t *self, const s_panel_t *panel, const char *model,
                                 s_judgement_t *out)
{
    lyc_judge_result_t result;

    memset(out, 0, sizeof *out);
    s_outcome_t outcome = s_ask(self, panel, model, 0, &result);
    if (outcome == S_UNREADABLE)
        outcome = s_ask(self, panel, model, 1, &result);
    if (outcome != S_JUDGED)
        return outcome;
    s_take(panel, &result, out);
    lyc_judge_result_clear(&result);
    return S_JUDGED;
}

/* Weighted sums of the ensemble's grades, one per label. */
typedef struct {
    double weight[LYC_EVAL_MAX_ANSWERS];
    double score[LYC_EVAL_MAX_ANSWERS];
    double confidence[LYC_EVAL_MAX_ANSWERS];
    size_t judges;
} s_sums_t;

static void s_sums_add(s_sums_t *sums, const s_panel_t *panel, const s_judgement_t *one,
                       double weight)
{
    weight = weight > 1e-6 ? weight : 1e-6;
    for (size_t i = 0; i < panel->n; i++) {
        if (!one->grades[i].eligible)
            continue;
        sums->weight[i] += weight;
        sums->score[i] += weight * one->grades[i].score;
        sums->confidence[i] += weight * one->grades[i].confidence;
    }
    sums->judges++;
}

static void s_sums_take(const s_sums_t *sums, const s_panel_t *panel, s_judgement_t *out)
{
    for (size_t i = 0; i < panel->n; i++) {
        lyc_grade_t *grade = &out->grades[i];
        if (sums->weight[i] <= 0.0) {
            *grade = (lyc_grade_t){.score = 0.0, .confidence = 0.0, .eligible = 0};
            lyc_grade_explain(grade, "no judge of the ensemble gave a score");
            continue;
        }
        grade->score = sums->score[i] / sums->weight[i];
        grade->confidence = sums->confidence[i] / sums->weight[i];
        grade->eligible = 1;
        lyc_grade_explain(grade, "agreement-weighted mean of %zu judges", sums->judges);
    }
}

/* Every member of the plan judges; their grades are averaged, weighted by
 * their agreement with the supervisor. Judged when one member was. */
static s_outcome_t s_judge_ensemble(lyc_grading_t *self, const s_panel_t *panel,
                                    const lyc_judge_plan_t *plan, s_judgement_t *out)
{
    s_sums_t sums = {.judges = 0};
    s_judgement_t one;

    memset(out, 0, sizeof *out);
    for (size_t j = 0; j < plan->n; j++) {
        s_outcome_t outcome = s_judge_model(self, panel, plan->judges[j], &one);
        if (outcome == S_NO_MEMORY)
            return S_NO_MEMORY;
        if (outcome != S_JUDGED)
            continue;
        s_sums_add(&sums, panel, &one, plan->weights[j]);
        free(one.synthesis);
    }
    if (sums.judges == 0)
        return S_UNREACHABLE;
    s_sums_take(&sums, panel, out);
    return S_JUDGED;
}

/* The plan's own judges (without the supervisor's spot check). */
static s_outcome_t s_judge_plan(lyc_grading_t *self, const s_panel_t *panel,
                                const lyc_judge_plan_t *plan, s_judgement_t *out)
{
    if (plan->kind == LYC_JUDGE_BY_ENSEMBLE)
        return s_judge_ensemble(self, panel, plan, out);
    return s_judge_model(self, panel, plan->judges[0], out);
}

/* Makes judgement (its synthesis taken) the grades of the request. */
static void s_use(lyc_grading_t *self, const s_panel_t *panel, s_judgement_t *judgement,
                  const char *judged_by)
{
    for (size_t i = 0; i < panel->n; i++)
        self->grades[panel->index[i]] = judgement->grades[i];
    self->synthesis = judgement->synthesis;
    judgement->synthesis = NULL;
    self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE;
    snprintf(self->judged_by, sizeof self->judged_by, "%s", judged_by);
}

/* The supervisor checks a delegate's judgement, or stands in for one that
 * failed; *primary_outcome is the delegate's. Returns the supervisor's. */
static s_outcome_t s_supervise(lyc_grading_t *self, const s_panel_t *panel,
                               const lyc_judge_plan_t *plan, const s_judgement_t *primary,
                               s_outcome_t primary_outcome, s_judgement_t *check)
{
    s_outcome_t outcome = s_judge_model(self, panel, plan->supervisor, check);
    if (outcome != S_JUDGED || primary_outcome != S_JUDGED || !plan->spot_check)
        return outcome;
    int agreed = lyc_judge_grades_agree(primary->grades, check->grades, panel->n);
    if (agreed >= 0)
        lyc_judges_report(self->judges, plan, agreed, self->request->trace_id);
    return outcome;
}

/* Judges the panel by plan; returns S_JUDGED when self holds the grades. */
static s_outcome_t s_judge_all(lyc_grading_t *self, const s_panel_t *panel,
                               const lyc_judge_plan_t *plan)
{
    s_judgement_t primary, check = {.synthesis = NULL};
    s_outcome_t outcome = s_judge_plan(self, panel, plan, &primary);
    s_outcome_t checked = S_UNREACHABLE;

    if (outcome == S_NO_MEMORY)
        return S_NO_MEMORY;
    if (plan->kind != LYC_JUDGE_BY_SUPERVISOR && *plan->supervisor &&
        (plan->spot_check || outcome != S_JUDGED))
        checked = s_supervise(self, panel, plan, &primary, outcome, &check);
    if (checked == S_JUDGED)
        s_use(self, panel, &check, plan->supervisor);
    else if (outcome == S_JUDGED)
        s_use(self, panel, &primary,
              plan->kind == LYC_JUDGE_BY_ENSEMBLE ? LYC_JUDGE_ENSEMBLE : plan->judges[0]);
    free(primary.synthesis);
    free(check.synthesis);
    if (checked == S_NO_MEMORY)
        return S_NO_MEMORY;
    return checked == S_JUDGED ? S_JUDGED : outcome;
}

int lyc_grade_judge(lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    lyc_judge_plan_t plan;
    s_panel_t panel;

    if (!req->audit)
        return lyc_grade_agreement(self, "agreement");
    lyc_judges_plan(self->judges, self->config, req, &plan);
    if (!self->judge_call || plan.n == 0) {
        LYC_WARN(req->trace_id, "evaluator: no judge model configured; grading by agreement");
        return lyc_grade_agreement(self, LYC_EVAL_AGREEMENT_FALLBACK);
    }
    s_panel_init(&panel, self);
    if (panel.n == 0) {
        self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE;
        return 0;
    }
    s_outcome_t outcome = s_judge_all(self, &panel, &plan);
    if (outcome == S_NO_MEMORY)
        return -1;
    if (outcome != S_JUDGED)
        return lyc_grade_agreement(self, LYC_EVAL_AGREEMENT_FALLBACK);
    return 0;
}
