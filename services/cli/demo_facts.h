/*
 * demo_facts.h - the small tables of real facts the demo data is built from
 * (world capitals with a plausible wrong city, chemical symbols with a
 * plausible wrong symbol, unit conversion factors).
 */
#ifndef LYCEUM_CLI_DEMO_FACTS_H
#define LYCEUM_CLI_DEMO_FACTS_H

#include <stddef.h>

typedef struct {
    const char *country; /* as in "the capital of <country>" */
    const char *capital;
    const char *decoy; /* a well-known city that is not the capital */
} lyc_demo_capital_t;

typedef struct {
    const char *element;
    const char *symbol;
    const char *decoy; /* a symbol people confuse it with */
} lyc_demo_element_t;

typedef struct {
    const char *from;
    const char *to;
    double factor; /* 1 <from> = factor <to> */
} lyc_demo_unit_t;

extern const lyc_demo_capital_t lyc_demo_capitals[];
extern const size_t lyc_demo_n_capitals;
extern const lyc_demo_element_t lyc_demo_elements[];
extern const size_t lyc_demo_n_elements;
extern const lyc_demo_unit_t lyc_demo_units[];
extern const size_t lyc_demo_n_units;

#endif
