/*
 * grade_reference.c - grading against what is known to be right (benchmarks).
 *
 * Replayed answers carry their recorded correctness (Answer.correct), which
 * is the ground truth and wins over everything. Otherwise the request's
 * reference answer is compared with the normalised answer text: equal is
 * right; for a multiple-choice reference (one letter A-D) the first
 * standalone letter of the answer decides; else token-overlap F1 is the
 * score, with half confidence since overlap is only a proxy.
 *
 * An answer with neither a record nor a reference to compare with is graded
 * by agreement among the answers, so a request always gets grades.
 *
 * The grader knows the truth, but a deployment would have paid a judge for
 * it, so a reference judgement is charged (judge_charge.h) to the judge the
 * request's plan names (judges.h): the supervisor, a delegate, or each
 * member of an ensemble; and to the supervisor as well on a spot check.
 * The delegate's verdict is simulated from the reference: this models a
 * judge exactly as good as the supervisor, while the measured agreement
 * says it is only that good on average. Spot checks are simulated the same
 * way: a spot check disagrees with probability one minus the delegate's
 * measured agreement (drawn from a hash of the trace id), so the spot-check
 * rate and take-backs behave as they would with the real judge on average.
 * Nothing is charged when the supervisor answered the query itself: grading
 * against its own answer costs nothing more; nor when no judge is known at
 * all (no supervisor configured, no delegate), since no price applies.
 *
 * A request not sampled for audit (a familiar-path query) is not graded at
 * all: every given answer gets score 0 and confidence 0, and the cheapest
 * one wins, as the router would have returned it anyway.
 */
#include "grade.h"

#include "judge_charge.h"
#include "judge_policy.h"
#include "judges.h"
#include "text_match.h"

#include <stdio.h>

/* Salt of the simulated spot-check outcome (lyc_judge_unit). */
#define S_SALT_SIMULATED 0x53696D756CULL

/* Full confidence for a decided grade. */
static void s_decided(lyc_grade_t *grade, double score, const char *why)
{
    grade->score = score;
    grade->confidence = 1.0;
    grade->eligible = 1;
    lyc_grade_explain(grade, "%s", why);
}

/* Multiple choice: the answer's letter against the reference's. */
static int s_grade_letter(lyc_grade_t *grade, const char *content, int want)
{
    int got = lyc_text_choice_letter(content);
    if (!got)
        return -1;
    grade->score = got == want ? 1.0 : 0.0;
    grade->confidence = got == want ? 1.0 : 0.9;
    grade->eligible = 1;
    lyc_grade_explain(grade, "chose %c, the reference is %c", got, want);
    return 0;
}

static void s_grade_text(lyc_grade_t *grade, const char *content, const char *reference)
{
    int letter = lyc_text_reference_letter(reference);

    if (lyc_text_same(content, reference)) {
        s_decided(grade, 1.0, "matches the reference");
        return;
    }
    if (letter && s_grade_letter(grade, content, letter) == 0)
        return;
    grade->score = lyc_text_f1(content, reference);
    grade->confidence = 0.5;
    grade->eligible = 1;
    lyc_grade_explain(grade, "token overlap %.2f with the reference", grade->score);
}

/* 1 when some given answer has neither a record nor a reference. */
static int s_needs_agreement(const Lyceum__V1__EvalRequest *req)
{
    if (req->reference && *req->reference)
        return 0;
    for (size_t i = 0; i < req->n_answers && i < LYC_EVAL_MAX_ANSWERS; i++)
        if (!lyc_answer_failed(req->answers[i]) &&
            req->answers[i]->correct == LYCEUM__V1__CORRECTNESS__CORRECTNESS_UNKNOWN)
            return 1;
    return 0;
}

/* Grades one given answer by its record or the reference; 0 when it had
 * neither (its grade is then left as agreement made it). */
static int s_grade_one(lyc_grade_t *grade, const Lyceum__V1__Answer *answer, const char *reference)
{
    if (answer->correct == LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT) {
        s_decided(grade, 1.0, "recorded as correct");
        return 1;
    }
    if (answer->correct == LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG) {
        s_decided(grade, 0.0, "recorded as wrong");
        return 1;
    }
    if (!reference || !*reference)
        return 0;
    s_grade_text(grade, answer->content, reference);
    return 1;
}

/* Every given answer: score 0, confidence 0, eligible (the cheapest wins). */
static void s_not_audited(lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    for (size_t i = 0; i < req->n_answers && i < LYC_EVAL_MAX_ANSWERS; i++) {
        if (lyc_answer_failed(req->answers[i]))
            continue;
        lyc_grade_t *grade = &self->grades[i];
        *grade = (lyc_grade_t){.score = 0.0, .confidence = 0.0, .eligible = 1};
        lyc_grade_explain(grade, "not audited");
    }
    self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED;
    snprintf(self->judged_by, sizeof self->judged_by, "%s", LYC_EVAL_NOT_GRADED);
}

/* Charges one judgement to every judge of the plan, and to the supervisor
 * on a spot check, whose simulated outcome is reported. */
static void s_charge(lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    lyc_judge_plan_t plan;

    if (lyc_supervisor_answered(self->config, req))
        return;
    lyc_judges_plan(self->judges, self->config, req, &plan);
    if (plan.n == 0)
        return;
    for (size_t j = 0; j < plan.n; j++)
        lyc_grading_charge(self, plan.judges[j],
                           lyc_judge_charged_cost(self->config, plan.judges[j], req));
    const char *judged_by =
        plan.kind == LYC_JUDGE_BY_ENSEMBLE ? LYC_JUDGE_ENSEMBLE : plan.judges[0];
    if (plan.spot_check) {
        lyc_grading_charge(self, plan.supervisor,
                           lyc_judge_charged_cost(self->config, plan.supervisor, req));
        int agreed = lyc_judge_unit(req->trace_id, S_SALT_SIMULATED) < plan.agreement;
        lyc_judges_report(self->judges, &plan, agreed, req->trace_id);
        judged_by = plan.supervisor;
    }
    snprintf(self->judged_by, sizeof self->judged_by, "%s", judged_by);
}

int lyc_grade_reference(lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    size_t graded = 0;

    if (!req->audit) {
        s_not_audited(self);
        return 0;
    }
    if (s_needs_agreement(req) && lyc_grade_agreement(self, "agreement") != 0)
        return -1;
    for (size_t i = 0; i < req->n_answers && i < LYC_EVAL_MAX_ANSWERS; i++)
        if (!lyc_answer_failed(req->answers[i]))
            graded += (size_t) s_grade_one(&self->grades[i], req->answers[i], req->reference);
    if (graded > 0 || self->answered == 0) {
        self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE;
        snprintf(self->judged_by, sizeof self->judged_by, "reference");
        if (graded > 0)
            s_charge(self);
    }
    return 0;
}
