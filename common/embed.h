/*
 * embed.h - the built-in embedder: text to a unit vector with no model and
 * no network.
 *
 * It is a signed feature-hashing embedder. The text is lowercased (ASCII,
 * Latin-1 and Cyrillic letters), cut into words (bytes >= 0x80 count as word
 * characters, so UTF-8 words stay whole; numbers are words of their own and
 * "don't" becomes "dont"), and each of these features is hashed (XXH3) to
 * one dimension with a sign taken from one bit of the hash:
 *
 *   word unigrams        weight 1.0 (0.3 for a short list of function words
 *                        such as "the" or "of"; negations are never demoted)
 *   word bigrams         weight 0.7, within a clause
 *   negation scope       weight 0.6, the three words after "not", "no",
 *                        "never", "dont", "disable", ... within a clause
 *   character 3-grams    weight 0.4, and 4-grams weight 0.25, of each word
 *                        padded with boundary markers ("<ab", "ab>"),
 *                        counted in code points, for words of at most
 *                        LYC_EMBED_MAX_NGRAM_WORD code points
 *
 * A feature seen n times adds weight * (1 + ln n) (sublinear term
 * frequency), and the result is scaled to unit length. The same text always
 * gives bit-identical vectors, on any machine with IEEE floats.
 *
 * Why: the router needs a vector for every query before it can ask Redis
 * whether the query is familiar. This embedder is the default because it
 * costs microseconds and needs nothing; it captures shared wording, not
 * meaning, so "reset my password" and "how can I reset my password" are
 * close, while texts that differ in a number or a negation stay apart.
 * An OpenAI-compatible endpoint (embed_http.h) gives semantic quality.
 */
#ifndef LYCEUM_EMBED_H
#define LYCEUM_EMBED_H

#include <stddef.h>

/* Dimension used when lyc_embedder_new() is given 0. */
#define LYC_EMBED_DEFAULT_DIM 256

/* Largest dimension accepted (a vector this long is already 256 KiB). */
#define LYC_EMBED_MAX_DIM 65536

/* Words longer than this many code points (identifiers, hashes, base64)
 * contribute their unigram and bigrams but no character n-grams, so one long
 * token cannot drown the rest of the text. */
#define LYC_EMBED_MAX_NGRAM_WORD 40

typedef struct lyc_embedder_t lyc_embedder_t;

/* Creates an embedder producing vectors of dim floats (0 means
 * LYC_EMBED_DEFAULT_DIM). Returns NULL, with the reason logged, when dim is
 * above LYC_EMBED_MAX_DIM or memory runs out. The caller owns the result and
 * frees it with lyc_embedder_destroy(). */
lyc_embedder_t *lyc_embedder_new(unsigned dim);

/* Frees the embedder and sets *self_p to NULL; accepts NULL and *self_p NULL. */
void lyc_embedder_destroy(lyc_embedder_t **self_p);

/* Number of floats in each vector this embedder writes. */
unsigned lyc_embedder_dim(const lyc_embedder_t *self);

/* Writes the embedding of text[0..len) into out[0..dim), unit length.
 * The text need not be NUL-terminated and may be any bytes (invalid UTF-8 is
 * hashed as it is). A text with no word in it (empty, only spaces or
 * punctuation) gives an all-zero vector and returns 0: callers that search
 * by cosine should treat it as "matches nothing".
 * Returns 0 on success, -1 (logged) when out of memory or given NULL
 * arguments; out is all zeros after a failure.
 * Thread-safe: the embedder holds no mutable state, so any number of threads
 * may embed with one embedder at once. Each call allocates its own scratch
 * space, proportional to the number of distinct features in the text. */
int lyc_embedder_embed(const lyc_embedder_t *self, const char *text, size_t len, float *out);

/* Cosine similarity of a and b in [-1, 1]; 0 when either is all zeros.
 * Computed in double precision so that near-identical vectors compare
 * sensibly. */
float lyc_vec_cosine(const float *a, const float *b, unsigned dim);

/* Scales v to unit length in place; leaves an all-zero vector unchanged. */
void lyc_vec_normalize(float *v, unsigned dim);

#endif
