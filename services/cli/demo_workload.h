/*
 * demo_workload.h - the order in which `lyceum demo` asks the demo questions.
 *
 * Every question once, in the data set's (shuffled, domains mixed) order:
 * novel at first, familiar as each domain's record gets established. Then
 * round(repeat_share * n) distinct questions drawn at random are asked
 * again, alternately word for word (an exact repeat: the memory student and
 * the duplicate shortcut answer it) and reworded (a near-duplicate).
 * Deterministic from the seed.
 */
#ifndef LYCEUM_CLI_DEMO_WORKLOAD_H
#define LYCEUM_CLI_DEMO_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LYC_DEMO_FIRST = 0,   /* the first time the question is asked */
    LYC_DEMO_EXACT = 1,   /* asked again, word for word */
    LYC_DEMO_REWORDED = 2 /* asked again in other words */
} lyc_demo_kind_t;

typedef struct {
    size_t question; /* index into the data set */
    int variant;     /* 0: prompt, 1: reworded */
    lyc_demo_kind_t kind;
} lyc_demo_item_t;

/* The workload for n questions: a new array (caller frees) of *count items,
 * or NULL when out of memory. */
lyc_demo_item_t *lyc_demo_workload(size_t n, double repeat_share, uint64_t seed, size_t *count);

#endif
