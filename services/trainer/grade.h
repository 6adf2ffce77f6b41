/*
 * grade.h - is an answer the reference answer? The quality gate's grader.
 *
 * Two rules, the first that applies decides:
 *   multiple choice  the reference is one letter A-J (alone or as "(B)",
 *                    "B.", "B)"): the answer is right when the first choice
 *                    letter it states is that letter ("B", "(B) Paris",
 *                    "The answer is B.")
 *   text             both normalised (lower case, punctuation to spaces,
 *                    whitespace collapsed, a leading "the answer is"
 *                    dropped) are equal
 */
#ifndef LYCEUM_TRAINER_GRADE_H
#define LYCEUM_TRAINER_GRADE_H

#include <stddef.h>

/* 1 when answer matches reference, else 0 (NULL counts as empty). */
int lyc_grade_match(const char *answer, const char *reference);

/* text normalised as above into out (cap bytes). */
void lyc_grade_normalize(const char *text, char *out, size_t cap);

/* The choice letter (upper case) a reference names, or 0 when it is not a
 * lone letter A-J. */
char lyc_grade_choice(const char *reference);

#endif
