/*
 * choose.c - the cheapest answer that is good enough.
 */
#include "choose.h"

#include <string.h>

/* Scores and costs this close count as equal (they come out of arithmetic). */
#define S_EPSILON 1e-9

/* 1 when candidate a beats b: cheaper, else higher score, else smaller name. */
static int s_better(const lyc_choice_t *a, const lyc_choice_t *b)
{
    if (a->cost_usd < b->cost_usd - S_EPSILON)
        return 1;
    if (a->cost_usd > b->cost_usd + S_EPSILON)
        return 0;
    if (a->score > b->score + S_EPSILON)
        return 1;
    if (a->score < b->score - S_EPSILON)
        return 0;
    return strcmp(a->model, b->model) < 0;
}

int lyc_choose(const lyc_choice_t *choices, size_t n, double margin)
{
    double best = -1.0;
    int winner = -1;

    if (margin < 0.0)
        margin = 0.0;
    for (size_t i = 0; i < n; i++)
        if (choices[i].eligible && choices[i].score > best)
            best = choices[i].score;
    for (size_t i = 0; i < n; i++) {
        if (!choices[i].eligible || choices[i].score < best - margin - S_EPSILON)
            continue;
        if (winner < 0 || s_better(&choices[i], &choices[winner]))
            winner = (int) i;
    }
    return winner;
}
