/*
 * grade.c - exact, normalised and multiple-choice matching.
 */
#include "grade.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void lyc_grade_normalize(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    int space = 1; /* drops leading spaces */
    for (const unsigned char *p = (const unsigned char *) (text ? text : ""); *p && n + 1 < cap;
         p++) {
        unsigned char c = *p;
        if (c >= 0x80 || isalnum(c)) {
            out[n++] = (char) (c < 0x80 ? tolower(c) : c);
            space = 0;
        } else if (!space) {
            out[n++] = ' ';
            space = 1;
        }
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    if (cap > 0)
        out[n] = '\0';
    static const char lead[] = "the answer is ";
    if (strncmp(out, lead, sizeof lead - 1) == 0)
        memmove(out, out + sizeof lead - 1, strlen(out + sizeof lead - 1) + 1);
}

char lyc_grade_choice(const char *reference)
{
    char norm[16];
    if (!reference || strlen(reference) > 8)
        return 0;
    lyc_grade_normalize(reference, norm, sizeof norm);
    if (strlen(norm) == 1 && norm[0] >= 'a' && norm[0] <= 'j')
        return (char) toupper((unsigned char) norm[0]);
    return 0;
}

/* 1 when the word before p (in norm) is one that introduces a choice. */
static int s_after_cue(const char *norm, const char *p)
{
    static const char *const cues[] = {"is ", "option ", "answer ", "choice ", NULL};
    for (const char *const *c = cues; *c; c++) {
        size_t len = strlen(*c);
        if ((size_t) (p - norm) >= len && strncmp(p - len, *c, len) == 0)
            return 1;
    }
    return 0;
}

/* 1 when the one-letter word at p of norm states a choice. "a" and "i" are
 * also English words: "a" counts as the first word ("A) Paris"), "i" only
 * alone, and either as the last word right after a cue ("the answer is a"). */
static int s_states_choice(const char *norm, const char *p)
{
    if (p[0] < 'a' || p[0] > 'j')
        return 0;
    if (p[0] != 'a' && p[0] != 'i')
        return 1;
    if ((p == norm && p[0] == 'a') || strlen(norm) == 1)
        return 1;
    return p[1] == '\0' && s_after_cue(norm, p);
}

/* The choice letter an answer states, upper case, or 0: its first
 * one-letter word that states a choice. */
static char s_first_choice(const char *norm)
{
    const char *p = norm;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len == 1 && s_states_choice(norm, p))
            return (char) toupper((unsigned char) p[0]);
        p += len;
        while (*p == ' ')
            p++;
    }
    return 0;
}

int lyc_grade_match(const char *answer, const char *reference)
{
    size_t cap = (answer ? strlen(answer) : 0) + (reference ? strlen(reference) : 0) + 32;
    char *a = malloc(cap), *r = malloc(cap);
    int match = 0;
    if (!a || !r)
        goto out_free;
    lyc_grade_normalize(answer, a, cap);
    char choice = lyc_grade_choice(reference);
    if (choice) {
        match = s_first_choice(a) == choice;
        goto out_free;
    }
    lyc_grade_normalize(reference, r, cap);
    match = *r && strcmp(a, r) == 0;
out_free:
    free(a);
    free(r);
    return match;
}
