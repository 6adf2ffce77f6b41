/*
 * grade.h - the three graders and what they share.
 *
 * A grading is one EvalRequest being scored: a grade per answer (in the
 * request's order) plus who judged and what judging cost. Failed answers
 * (Answer.error set, abstentions included) are graded once, up front, by
 * lyc_grading_init: score 0, confidence 1, never eligible to win. The graders
 * then fill the grades of the answers that were given:
 *
 *   reference  recorded correctness, else the request's reference text
 *              (grade_reference.c); benchmarks. Charged as one call of the
 *              judge that would have judged (judge_charge.h) unless the
 *              supervisor answered; a request not sampled for audit is not
 *              graded at all
 *   agreement  similarity to a trusted answer: the supervisor's, else the
 *              majority's (grade_agreement.c); costs nothing
 *   judge      one prompt to each judging model (grade_judge.c): the
 *              supervisor, a delegate or an ensemble (judge_policy.h), with
 *              agreement as the fallback when every judge fails
 *
 * Every judging call, made or charged, is counted in judge_calls and named
 * in judges, so a benchmark can account for it.
 */
#ifndef LYCEUM_EVALUATOR_GRADE_H
#define LYCEUM_EVALUATOR_GRADE_H

#include "embed.h"
#include "eval_config.h"

#include "lyceum/v1/evaluation.pb-c.h"

#include <stddef.h>

/* Most answers one request may carry (the judge labels them A..BL). */
#define LYC_EVAL_MAX_ANSWERS 64
/* A rationale is cut to this many bytes, NUL included. */
#define LYC_EVAL_RATIONALE_MAX 240
/* Dimension of the built-in embeddings agreement compares. Larger than the
 * router's default: answers are often a few words, and fewer hash collisions
 * keep unrelated short answers apart; 64 answers still take only 256 KiB. */
#define LYC_EVAL_EMBED_DIM 1024
/* judged_by for requests graded by agreement because the judge failed. */
#define LYC_EVAL_AGREEMENT_FALLBACK "agreement-fallback"
/* judged_by of a reference-mode request not sampled for audit: not graded. */
#define LYC_EVAL_NOT_GRADED "none"
/* Judging calls one request may make or be charged: an ensemble of five and
 * the supervisor, each with its retry. */
#define LYC_EVAL_MAX_JUDGE_CALLS 12

/* The delegation record of judges.h (a thread's link to it). */
typedef struct lyc_judges_link_t lyc_judges_link_t;

typedef struct {
    double score;      /* 0.0 to 1.0 */
    double confidence; /* 0.0 to 1.0 */
    int eligible;      /* answered without error and graded: may win */
    char rationale[LYC_EVAL_RATIONALE_MAX];
} lyc_grade_t;

/* The result of one judge call, filled by a lyc_judge_call_fn. */
typedef struct {
    char *content;   /* owned; the judge's text, NULL when the call failed */
    double cost_usd; /* what the call cost, also when it failed */
    char error[160]; /* why the call failed */
} lyc_judge_reply_t;

/* Sends task to its model and waits for the answer (at most the task's
 * deadline plus a little). Returns 0 with reply->content set, -1 with
 * reply->error set when the model is unavailable, late or failed, or 1 with
 * reply->error set when the call was not made (the budget refused it; it
 * costs nothing and is not counted). The function owns nothing of task
 * after it returns. */
typedef int (*lyc_judge_call_fn)(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply);

typedef struct {
    const Lyceum__V1__EvalRequest *request;
    const lyc_eval_config_t *config;
    const lyc_embedder_t *embedder;
    lyc_judge_call_fn judge_call; /* NULL: no judge can be reached */
    void *judge_ctx;
    lyc_judges_link_t *judges; /* who judges each domain; NULL: always the supervisor */
    /* Results: */
    lyc_grade_t grades[LYC_EVAL_MAX_ANSWERS]; /* one per request answer */
    size_t answered;                          /* answers without an error */
    int mode;                                 /* how the grades were made (Lyceum__V1__EvalMode) */
    char judged_by[128];                      /* "reference", "agreement", a model name, ... */
    double judge_cost_usd;                    /* what judging cost */
    unsigned judge_calls;                     /* judging calls made or charged */
    char judge_models[LYC_EVAL_MAX_JUDGE_CALLS][128]; /* the model of each call */
    char *synthesis; /* owned; the judge's answer when it wins, else NULL */
} lyc_grading_t;

/* Starts a grading of request (which must have at most LYC_EVAL_MAX_ANSWERS
 * answers and must outlive the grading): grades the failed answers and counts
 * the others. The grading borrows every pointer it is given. */
void lyc_grading_init(lyc_grading_t *self, const Lyceum__V1__EvalRequest *request,
                      const lyc_eval_config_t *config, const lyc_embedder_t *embedder);

/* Frees what the grading owns (the synthesis). */
void lyc_grading_clear(lyc_grading_t *self);

/* Counts one judging call to model that cost cost_usd (made or charged).
 * Calls past LYC_EVAL_MAX_JUDGE_CALLS are costed but not named. */
void lyc_grading_charge(lyc_grading_t *self, const char *model, double cost_usd);

/* 1 when answer failed, abstained (Answer.error set) or came back blank. */
int lyc_answer_failed(const Lyceum__V1__Answer *answer);

/* Writes a rationale into grade (printf-style), cut to fit on a UTF-8
 * character boundary. */
void lyc_grade_explain(lyc_grade_t *grade, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Grades every given answer by agreement (see grade_agreement.c) and sets
 * judged_by to `judged_by`. Returns 0, or -1 when out of memory (the grades
 * are then left ineligible). */
int lyc_grade_agreement(lyc_grading_t *self, const char *judged_by);

/* Grades by recorded correctness or the reference text, falling back to
 * agreement for answers that have neither, and charges the judgement (see
 * above). A request that is not audited gets score 0, confidence 0 and
 * "not audited" for every given answer, mode unspecified and judged_by
 * LYC_EVAL_NOT_GRADED, free. Returns 0, or -1 out of memory. */
int lyc_grade_reference(lyc_grading_t *self);

/* Grades with the judge models of the request's plan, falling back to
 * agreement when the request is not audited (judged_by "agreement", free),
 * or when every judge is unreachable or its reply stays unreadable after one
 * stricter retry. Returns 0, or -1 out of memory. */
int lyc_grade_judge(lyc_grading_t *self);

#endif
