/*
 * judge_prompt.h - the prompt that asks the judge model to grade all answers.
 *
 * One prompt grades every answer at once, so the judge compares them and its
 * cost is paid once per query. The answers are labelled A, B, C... in an order
 * shuffled by the trace id (the same query always gets the same order, but no
 * model sits in first place every time: judges favour the first answer) and
 * model names never appear, so the judge cannot favour a brand. The reply is
 * requested as JSON only (see judge_parse.h for what is accepted).
 *
 * Sizes are bounded: each turn and each answer is cut to a fixed number of
 * bytes and only the latest turns that fit a budget are shown.
 */
#ifndef LYCEUM_EVALUATOR_JUDGE_PROMPT_H
#define LYCEUM_EVALUATOR_JUDGE_PROMPT_H

#include "lyceum/v1/evaluation.pb-c.h"

#include <stddef.h>

/* Bytes of one answer or turn shown to the judge; the rest is cut. */
#define LYC_JUDGE_PROMPT_MAX_TEXT (16 * 1024)
/* Bytes of conversation shown; older turns are left out first. */
#define LYC_JUDGE_PROMPT_MAX_CONVERSATION (48 * 1024)

/* Writes a permutation of 0..n-1 into order[n], shuffled by a hash of the
 * trace id: the same trace id always gives the same order. */
void lyc_judge_shuffle(const char *trace_id, size_t *order, size_t n);

/* The system instruction of the judge call (static string). */
const char *lyc_judge_prompt_system(void);

/* Builds the user turn: the conversation of req, then the answers
 * req->answers[shown[0]], [shown[1]], ... labelled A, B, ... (n at most
 * LYC_JUDGE_MAX_SCORES), then the reply format, asking for a synthesis when
 * `synthesis` is set, with a stricter instruction after an unreadable reply
 * when `strict` is set. Returns a new string (the caller frees it) or NULL
 * when out of memory. */
char *lyc_judge_prompt_build(const Lyceum__V1__EvalRequest *req, const size_t *shown, size_t n,
                             int synthesis, int strict);

#endif
