/*
 * judge_charge.h - what a judgement costs when no judge model was called.
 *
 * Benchmarks grade recorded answers in reference mode: the grader knows
 * which answers are right, but a real deployment would have paid a judge
 * model for that knowledge. So every reference judgement is charged as one
 * call of the judging model at its configured prices (models: price_in and
 * price_out, USD per million tokens):
 *
 *   prompt tokens      ceil(bytes of the conversation and of every answer / 4)
 *   completion tokens  LYC_JUDGE_CHARGED_COMPLETION_TOKENS
 *
 * Four bytes per token is the usual estimate for English text with BPE
 * tokenisers; the completion is a short verdict. The judge's instructions
 * are not counted: they are the same for every judge and small next to the
 * answers. When the supervisor itself answered the query, grading against
 * its answer costs nothing more, and nothing is charged.
 */
#ifndef LYCEUM_EVALUATOR_JUDGE_CHARGE_H
#define LYCEUM_EVALUATOR_JUDGE_CHARGE_H

#include "eval_config.h"

#include "lyceum/v1/evaluation.pb-c.h"

#include <stddef.h>

/* Completion tokens charged for one judgement: a short JSON verdict. */
#define LYC_JUDGE_CHARGED_COMPLETION_TOKENS 20
/* Bytes per prompt token in the estimate. */
#define LYC_JUDGE_CHARGED_BYTES_PER_TOKEN 4

/* Prompt tokens one judgement of req is charged: the bytes of every turn's
 * content and every answer's content (failed ones are empty), divided by
 * LYC_JUDGE_CHARGED_BYTES_PER_TOKEN, rounded up. */
size_t lyc_judge_charged_tokens(const Lyceum__V1__EvalRequest *req);

/* USD of one charged judgement of req by model at its configured prices; 0
 * when the model is not in the models list (it has no price). */
double lyc_judge_charged_cost(const lyc_eval_config_t *config, const char *model,
                              const Lyceum__V1__EvalRequest *req);

/* 1 when a supervisor (lyc_eval_config_is_supervisor) gave an answer to req
 * that did not fail, else 0. */
int lyc_supervisor_answered(const lyc_eval_config_t *config, const Lyceum__V1__EvalRequest *req);

#endif
