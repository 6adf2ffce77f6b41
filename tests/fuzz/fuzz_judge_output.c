/*
 * fuzz_judge_output.c - libFuzzer target for the judge model's reply.
 *
 * A judge is a language model: its reply is untrusted text. lyc_judge_parse()
 * must refuse it with a reason or return a result that keeps the promises of
 * judge_parse.h, which the evaluator relies on without checking again:
 * scores and confidences in [0, 1], unique labels of one or two capitals,
 * reasons cut below LYC_JUDGE_REASON_MAX, a "best" that is a label,
 * "synthesis" or empty, and a synthesis that is NULL or not empty.
 */
#include "judge_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_label_ok(const char *label)
{
    size_t n = strnlen(label, LYC_JUDGE_LABEL_MAX);
    if (n == 0 || n > 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (label[i] < 'A' || label[i] > 'Z')
            return 0;
    return 1;
}

static void s_check(const lyc_judge_result_t *r)
{
    if (r->n_scores == 0 || r->n_scores > LYC_JUDGE_MAX_SCORES)
        abort();
    for (size_t i = 0; i < r->n_scores; i++) {
        const lyc_judge_score_t *s = &r->scores[i];
        if (!s_label_ok(s->label))
            abort();
        if (!(s->score >= 0.0 && s->score <= 1.0) ||
            !(s->confidence >= 0.0 && s->confidence <= 1.0))
            abort();
        if (strnlen(s->reason, LYC_JUDGE_REASON_MAX) >= LYC_JUDGE_REASON_MAX)
            abort();
        if (lyc_judge_result_find(r, s->label) != s)
            abort(); /* a second score of the same label was kept */
    }
    size_t best = strnlen(r->best, LYC_JUDGE_BEST_MAX);
    if (best >= LYC_JUDGE_BEST_MAX)
        abort();
    if (best && strcmp(r->best, "synthesis") != 0 && !s_label_ok(r->best))
        abort();
    if (r->synthesis && !r->synthesis[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lyc_judge_result_t result;
    char err[256];
    err[0] = '\0';
    if (lyc_judge_parse((const char *) data, size, &result, err, sizeof err) != 0) {
        if (!err[0] || result.n_scores || result.synthesis)
            abort(); /* a failure names its reason and holds nothing */
        return 0;
    }
    s_check(&result);
    lyc_judge_result_clear(&result);
    if (result.synthesis || result.n_scores)
        abort();
    return 0;
}
