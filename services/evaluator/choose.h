/*
 * choose.h - picking the answer the client gets.
 *
 * The point of Lyceum is the supervisor's quality at a fraction of its cost,
 * so the best score does not simply win: every answer that scores within a
 * margin of the best is good enough, and the cheapest of those wins. Ties
 * (equal cost) go to the higher score, then to the model name in byte order,
 * so the same grades always give the same winner.
 */
#ifndef LYCEUM_EVALUATOR_CHOOSE_H
#define LYCEUM_EVALUATOR_CHOOSE_H

#include <stddef.h>

/* One graded answer as the choice sees it. */
typedef struct {
    const char *model; /* model name (not NULL) */
    double cost_usd;   /* what the answer cost */
    double score;      /* its grade, 0.0 to 1.0 */
    int eligible;      /* 0 for failed, abstained or ungraded answers: they never win */
} lyc_choice_t;

/* Returns the index of the winner among choices[0..n), or -1 when none is
 * eligible. margin below 0 counts as 0. */
int lyc_choose(const lyc_choice_t *choices, size_t n, double margin);

#endif
