/*
 * text_match.h - comparing answer texts without a model: normalisation,
 * multiple-choice letters and token-overlap F1.
 *
 * Reference grading and agreement both need to say "these two answers say the
 * same thing" cheaply and the same way every time. Normalisation follows the
 * usual question-answering benchmarks (SQuAD): lowercase, punctuation removed,
 * the articles a/an/the dropped, whitespace collapsed, so "The Eiffel
 * Tower." and "eiffel tower" match. Bytes of 0x80 and above are kept as they
 * are, so UTF-8 text survives (it is compared exactly, not case-folded).
 */
#ifndef LYCEUM_EVALUATOR_TEXT_MATCH_H
#define LYCEUM_EVALUATOR_TEXT_MATCH_H

#include <stddef.h>

/* Returns the normalised form of text[0..len) as a new string (the caller
 * frees it), or NULL when out of memory. */
char *lyc_text_normalize(const char *text, size_t len);

/* 1 when a and b are equal and non-empty after normalisation, 0 otherwise
 * (also when out of memory). */
int lyc_text_same(const char *a, const char *b);

/* The multiple-choice letter a reference names: 'A'..'D' when the reference
 * is one letter, optionally bracketed or followed by '.' or ')' ("b", "(B)",
 * "C."), else 0. */
int lyc_text_reference_letter(const char *reference);

/* The first standalone capital letter A-D of an answer ("The answer is B."
 * gives 'B'; "Bad" gives nothing), or 0 when there is none. A letter is
 * standalone when neither neighbour is a letter, a digit or an apostrophe. */
int lyc_text_choice_letter(const char *answer);

/* Token-overlap F1 of the normalised texts, 0.0 to 1.0: the harmonic mean of
 * the share of a's tokens found in b and of b's found in a (as multisets).
 * 1.0 when both normalise to nothing, 0.0 when only one does or memory runs
 * out. Runs in O(n log n) in the number of tokens. */
double lyc_text_f1(const char *a, const char *b);

#endif
