/*
 * text_match.c - normalisation, multiple-choice letters and token F1.
 */
#include "text_match.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* 1 for the bytes that make up words: ASCII letters and digits, and every
 * byte of a multi-byte UTF-8 sequence. */
static int s_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

static int s_is_article(const char *word, size_t len)
{
    return (len == 1 && word[0] == 'a') || (len == 2 && memcmp(word, "an", 2) == 0) ||
           (len == 3 && memcmp(word, "the", 3) == 0);
}

/* 1 when text[i] is an apostrophe inside a word ("don't"), which the word
 * keeps out of its normal form ("dont"). */
static int s_inner_apostrophe(const char *text, size_t len, size_t i)
{
    return text[i] == '\'' && i > 0 && i + 1 < len && s_word_byte((unsigned char) text[i - 1]) &&
           s_word_byte((unsigned char) text[i + 1]);
}

/* Copies the word at text[*pos..len) lowercased into out at *olen, preceded
 * by a space when out is not empty, and moves *pos past it; articles are
 * read but not kept. The caller guarantees room: the separator replaces at
 * least one input byte, so out never grows beyond the input. */
static void s_copy_word(const char *text, size_t len, size_t *pos, char *out, size_t *olen)
{
    size_t n = 0;
    char *dst = out + *olen + (*olen > 0);

    for (; *pos < len; (*pos)++) {
        if (s_inner_apostrophe(text, len, *pos))
            continue;
        if (!s_word_byte((unsigned char) text[*pos]))
            break;
        dst[n++] = (char) tolower((unsigned char) text[*pos]);
    }
    if (s_is_article(dst, n))
        return;
    if (*olen > 0)
        out[*olen] = ' ';
    *olen += n + (*olen > 0);
}

char *lyc_text_normalize(const char *text, size_t len)
{
    char *out = malloc(len + 2);
    size_t olen = 0, pos = 0;

    if (!out)
        return NULL;
    while (pos < len) {
        if (s_word_byte((unsigned char) text[pos]))
            s_copy_word(text, len, &pos, out, &olen);
        else
            pos++;
    }
    out[olen] = '\0';
    return out;
}

int lyc_text_same(const char *a, const char *b)
{
    char *na = lyc_text_normalize(a, strlen(a));
    char *nb = lyc_text_normalize(b, strlen(b));
    int same = na && nb && *na && strcmp(na, nb) == 0;
    free(na);
    free(nb);
    return same;
}

/* 1 when the character before/after text[i] leaves a letter standing alone. */
static int s_letter_alone(const char *text, size_t i)
{
    unsigned char before = i > 0 ? (unsigned char) text[i - 1] : ' ';
    unsigned char after = (unsigned char) text[i + 1];
    return !s_word_byte(before) && before != '\'' && !s_word_byte(after) && after != '\'';
}

int lyc_text_reference_letter(const char *reference)
{
    const char *p = reference;
    while (*p && (isspace((unsigned char) *p) || *p == '('))
        p++;
    int letter = toupper((unsigned char) *p);
    if (letter < 'A' || letter > 'D')
        return 0;
    p++;
    while (*p && (isspace((unsigned char) *p) || *p == ')' || *p == '.'))
        p++;
    return *p ? 0 : letter;
}

int lyc_text_choice_letter(const char *answer)
{
    for (size_t i = 0; answer[i]; i++)
        if (answer[i] >= 'A' && answer[i] <= 'D' && s_letter_alone(answer, i))
            return answer[i];
    return 0;
}

/* Splits a normalised string (words separated by one space) in place into
 * an array of words; returns the array (caller frees) and the count. */
static char **s_split(char *text, size_t *count)
{
    size_t n = *text ? 1 : 0;
    for (const char *p = text; *p; p++)
        n += *p == ' ';
    char **words = malloc((n + 1) * sizeof *words);
    if (!words)
        return NULL;
    *count = 0;
    for (char *p = text; *text && p;) {
        words[(*count)++] = p;
        p = strchr(p, ' ');
        if (p)
            *p++ = '\0';
    }
    return words;
}

static int s_cmp_words(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Number of words the two sorted lists share, counting repeats. */
static size_t s_common(char **a, size_t na, char **b, size_t nb)
{
    size_t i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        int c = strcmp(a[i], b[j]);
        common += c == 0;
        i += c <= 0;
        j += c >= 0;
    }
    return common;
}

double lyc_text_f1(const char *a, const char *b)
{
    double f1 = 0.0;
    size_t na = 0, nb = 0;
    char *ta = lyc_text_normalize(a, strlen(a));
    char *tb = lyc_text_normalize(b, strlen(b));
    char **wa = NULL, **wb = NULL;

    if (!ta || !tb)
        goto out_free_texts;
    if (!*ta || !*tb) {
        f1 = (!*ta && !*tb) ? 1.0 : 0.0;
        goto out_free_texts;
    }
    wa = s_split(ta, &na);
    wb = s_split(tb, &nb);
    if (!wa || !wb)
        goto out_free_words;
    qsort(wa, na, sizeof *wa, s_cmp_words);
    qsort(wb, nb, sizeof *wb, s_cmp_words);
    size_t common = s_common(wa, na, wb, nb);
    if (common > 0) {
        double precision = (double) common / (double) na;
        double recall = (double) common / (double) nb;
        f1 = 2.0 * precision * recall / (precision + recall);
    }
out_free_words:
    free(wa);
    free(wb);
out_free_texts:
    free(ta);
    free(tb);
    return f1;
}
