/*
 * embed.c - signed feature hashing of words, bigrams and character n-grams.
 *
 * One call makes three passes. s_normalize() copies the text lowercased into
 * scratch space, with every run of separators reduced to one ' ' (word break)
 * or '|' (clause break). s_tokenize() walks the words and puts their features
 * in a bag: an open-addressing table keyed by the 64-bit feature hash that
 * counts repeats. s_bag_project() adds each distinct feature's sublinear
 * weight, signed, to its dimension. The bag lives for one call, so an
 * embedder holds no mutable state and needs no lock.
 */
#include "embed.h"

#include "log.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* lets the compiler inline the short-input hash paths */
#include <xxhash.h>

struct lyc_embedder_t {
    unsigned dim;
};

/* One seed per feature kind, so the word "ab" and the n-gram "ab" land on
 * unrelated dimensions. */
#define S_SEED_WORD   0x9e3779b97f4a7c15ULL
#define S_SEED_BIGRAM 0xc2b2ae3d27d4eb4fULL
#define S_SEED_NEG    0x165667b19e3779f9ULL
#define S_SEED_NGRAM  0x27d4eb2f165667c5ULL

#define S_W_WORD     1.0f
#define S_W_FUNCTION 0.3f
#define S_W_BIGRAM   0.7f
#define S_W_NEG      0.6f
#define S_W_GRAM3    0.4f
#define S_W_GRAM4    0.25f

/* Words after a negation that carry a negated feature. */
#define S_NEG_SCOPE 3

#define S_WORD_BREAK   ' '
#define S_CLAUSE_BREAK '|'

/* A word in one of the lists below, with its length so lookups skip strlen. */
typedef struct {
    const char *text;
    size_t len;
} s_term_t;

/* clang-format off */
#define S_TERM(t) {(t), sizeof(t) - 1}
/* clang-format on */

/* Frequent words that carry little meaning: kept, but light. Negations,
 * numbers and question words are deliberately absent. Both lists are sorted
 * bytewise, for s_in_list()'s bisection. */
static const s_term_t s_function_words[] = {
    S_TERM("a"),    S_TERM("am"),   S_TERM("an"),    S_TERM("and"),  S_TERM("are"),   S_TERM("as"),
    S_TERM("at"),   S_TERM("be"),   S_TERM("been"),  S_TERM("by"),   S_TERM("did"),   S_TERM("do"),
    S_TERM("does"), S_TERM("for"),  S_TERM("i"),     S_TERM("in"),   S_TERM("is"),    S_TERM("it"),
    S_TERM("its"),  S_TERM("me"),   S_TERM("my"),    S_TERM("of"),   S_TERM("on"),    S_TERM("or"),
    S_TERM("that"), S_TERM("the"),  S_TERM("these"), S_TERM("this"), S_TERM("those"), S_TERM("to"),
    S_TERM("was"),  S_TERM("were"), S_TERM("with"),  S_TERM("you"),  S_TERM("your")};

/* Words that open a negation scope (apostrophes are already gone). */
static const s_term_t s_negations[] = {
    S_TERM("arent"),    S_TERM("avoid"),     S_TERM("cannot"),  S_TERM("cant"),
    S_TERM("couldnt"),  S_TERM("didnt"),     S_TERM("disable"), S_TERM("disabled"),
    S_TERM("disables"), S_TERM("disabling"), S_TERM("doesnt"),  S_TERM("dont"),
    S_TERM("except"),   S_TERM("hadnt"),     S_TERM("hasnt"),   S_TERM("havent"),
    S_TERM("isnt"),     S_TERM("neither"),   S_TERM("never"),   S_TERM("no"),
    S_TERM("nobody"),   S_TERM("none"),      S_TERM("nor"),     S_TERM("not"),
    S_TERM("nothing"),  S_TERM("nowhere"),   S_TERM("prevent"), S_TERM("shouldnt"),
    S_TERM("stop"),     S_TERM("unless"),    S_TERM("wasnt"),   S_TERM("werent"),
    S_TERM("without"),  S_TERM("wont"),      S_TERM("wouldnt")};

/* A feature seen `count` times, hashed to `key`. */
typedef struct {
    uint64_t key;
    float weight;
    uint32_t count;
} s_feature_t;

/* Distinct features in order of first sight, found through an
 * open-addressing index of positions (0 empty, else 1 + position). The index
 * is kept at most half full; the feature array holds half its size. */
typedef struct {
    uint32_t *index;
    s_feature_t *features;
    size_t mask; /* index size - 1; the size is a power of two */
    size_t used;
} s_bag_t;

typedef struct {
    s_bag_t *bag;
    uint64_t prev; /* unigram hash of the previous word in this clause, 0 at clause start */
    int neg_left;  /* words still inside the current negation scope */
} s_walk_t;

lyc_embedder_t *lyc_embedder_new(unsigned dim)
{
    if (dim == 0)
        dim = LYC_EMBED_DEFAULT_DIM;
    if (dim > LYC_EMBED_MAX_DIM) {
        LYC_ERROR(NULL, "embedder: dimension %u is above the limit %u", dim, LYC_EMBED_MAX_DIM);
        return NULL;
    }
    lyc_embedder_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "embedder: out of memory");
        return NULL;
    }
    self->dim = dim;
    return self;
}

void lyc_embedder_destroy(lyc_embedder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

unsigned lyc_embedder_dim(const lyc_embedder_t *self)
{
    return self ? self->dim : 0;
}

/* --- normalisation ------------------------------------------------------ */

static int s_is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int s_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII punctuation that ends a clause: bigrams and negation scopes stop here. */
static int s_is_clause_punct(unsigned char c)
{
    return c != '\0' && strchr(".,;:!?()[]{}\n\r", c) != NULL;
}

/* Length of a Unicode space or punctuation sequence at p, 0 if there is none.
 * Covers U+00A0..U+00BF (no-break space, guillemets, inverted marks),
 * U+2000..U+206F (spaces, dashes, quotes, ellipsis) and U+3000..U+303F (CJK
 * punctuation). *clause is set for the ones that end a clause. */
static size_t s_unicode_punct(const unsigned char *p, size_t left, int *clause)
{
    *clause = 0;
    if (left >= 2 && p[0] == 0xC2 && p[1] >= 0xA0 && p[1] <= 0xBF) {
        *clause = p[1] == 0xA1 || p[1] == 0xBF; /* inverted ! and ? */
        return 2;
    }
    if (left >= 3 && p[0] == 0xE2 && p[2] >= 0x80 && p[2] <= 0xBF &&
        (p[1] == 0x80 || (p[1] == 0x81 && p[2] <= 0xAF))) {
        *clause = p[1] == 0x80 && p[2] == 0xA6; /* ellipsis */
        return 3;
    }
    if (left >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] >= 0x80 && p[2] <= 0xBF) {
        *clause = p[2] == 0x81 || p[2] == 0x82; /* ideographic comma and full stop */
        return 3;
    }
    return 0;
}

/* Lowercases the two-byte UTF-8 letter at p into out: Latin-1 capitals
 * (U+00C0..U+00DE but the multiplication sign) and basic Cyrillic ones
 * (U+0400..U+042F). Returns 2 when it wrote, 0 when p is no such letter. */
static size_t s_fold2(const unsigned char *p, size_t left, unsigned char *out)
{
    unsigned shift; /* small letter = capital + shift */
    if (left < 2)
        return 0;
    if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97)
        shift = 0x20;
    else if (p[0] == 0xD0 && p[1] >= 0x80 && p[1] <= 0x8F)
        shift = 0x50;
    else if (p[0] == 0xD0 && p[1] >= 0x90 && p[1] <= 0xAF)
        shift = 0x20;
    else
        return 0;
    unsigned cp = (((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu)) + shift;
    out[0] = (unsigned char) (0xC0 | (cp >> 6));
    out[1] = (unsigned char) (0x80 | (cp & 0x3F));
    return 2;
}

/* Appends a break to out[0..*m), merging it with a break already there
 * (a clause break wins). Leading breaks are dropped. */
static void s_put_break(unsigned char *out, size_t *m, int clause)
{
    if (*m == 0)
        return;
    unsigned char *last = &out[*m - 1];
    if (*last == S_WORD_BREAK || *last == S_CLAUSE_BREAK) {
        if (clause)
            *last = S_CLAUSE_BREAK;
        return;
    }
    out[(*m)++] = clause ? S_CLAUSE_BREAK : S_WORD_BREAK;
}

/* True when the apostrophe at p[0..alen) joins two word characters
 * ("don't" -> "dont"), judged on the output so far and the input after it. */
static int s_joins(const unsigned char *out, size_t m, const unsigned char *p, size_t left,
                   size_t alen)
{
    return m > 0 && s_is_word_byte(out[m - 1]) && left > alen && s_is_word_byte(p[alen]);
}

/* Writes the normalised form of in[0..len) to out (at least len bytes) and
 * returns its length, which is never more than len: lowercase word bytes,
 * '.' only between digits, and single breaks between words. */
static size_t s_normalize(const unsigned char *in, size_t len, unsigned char *out)
{
    size_t m = 0;
    size_t i = 0;
    while (i < len) {
        const unsigned char *p = in + i;
        size_t left = len - i;
        int clause = 0;
        size_t n;
        if (*p == '\'' && s_joins(out, m, p, left, 1)) {
            i += 1;
        } else if (left >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x99 &&
                   s_joins(out, m, p, left, 3)) {
            i += 3; /* U+2019, the typographic apostrophe */
        } else if (*p == '.' && m > 0 && s_is_digit(out[m - 1]) && left > 1 && s_is_digit(p[1])) {
            out[m++] = '.';
            i += 1;
        } else if (*p >= 0x80 && (n = s_unicode_punct(p, left, &clause)) > 0) {
            s_put_break(out, &m, clause);
            i += n;
        } else if (*p >= 0x80 && (n = s_fold2(p, left, out + m)) > 0) {
            m += n;
            i += n;
        } else if (s_is_word_byte(*p)) {
            out[m++] = (*p >= 'A' && *p <= 'Z') ? (unsigned char) (*p + 32) : *p;
            i += 1;
        } else {
            s_put_break(out, &m, s_is_clause_punct(*p));
            i += 1;
        }
    }
    return m;
}

/* --- the bag of features ------------------------------------------------ */

static void s_bag_free(s_bag_t *bag)
{
    free(bag->index);
    free(bag->features);
    bag->index = NULL;
    bag->features = NULL;
}

/* Sizes the bag for a text of text_len bytes: at most about two distinct
 * features per byte, so short texts never grow it and long ones rarely. */
static int s_bag_init(s_bag_t *bag, size_t text_len)
{
    size_t want = text_len < 16384 ? 4 * text_len + 32 : 65536;
    size_t size = 64;
    while (size < want)
        size *= 2;
    bag->index = calloc(size, sizeof *bag->index);
    bag->features = malloc(size / 2 * sizeof *bag->features);
    bag->mask = size - 1;
    bag->used = 0;
    if (bag->index && bag->features)
        return 0;
    s_bag_free(bag);
    return -1;
}

/* Index slot that holds key, or the empty slot where it belongs. */
static uint32_t *s_bag_slot(const s_bag_t *bag, uint32_t *index, size_t mask, uint64_t key)
{
    size_t i = (size_t) (key >> 32) & mask;
    while (index[i] != 0 && bag->features[index[i] - 1].key != key)
        i = (i + 1) & mask;
    return &index[i];
}

/* Doubles the index and the feature array. */
static int s_bag_grow(s_bag_t *bag)
{
    size_t size = (bag->mask + 1) * 2;
    if (size / 2 > UINT32_MAX)
        return -1; /* positions must fit the index */
    s_feature_t *features = realloc(bag->features, size / 2 * sizeof *features);
    if (!features)
        return -1;
    bag->features = features;
    uint32_t *index = calloc(size, sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < bag->used; i++)
        *s_bag_slot(bag, index, size - 1, features[i].key) = (uint32_t) (i + 1);
    free(bag->index);
    bag->index = index;
    bag->mask = size - 1;
    return 0;
}

/* Counts one occurrence of the feature hashed to key. */
static int s_bag_add(s_bag_t *bag, uint64_t key, float weight)
{
    if ((bag->used + 1) * 2 > bag->mask + 1 && s_bag_grow(bag) != 0)
        return -1;
    uint32_t *slot = s_bag_slot(bag, bag->index, bag->mask, key);
    if (*slot == 0) {
        bag->features[bag->used] = (s_feature_t){.key = key, .weight = weight, .count = 0};
        *slot = (uint32_t) ++bag->used;
    }
    s_feature_t *feature = &bag->features[*slot - 1];
    if (feature->count < UINT32_MAX)
        feature->count++;
    return 0;
}

/* Adds every feature to its dimension: the low 32 bits of the hash pick the
 * dimension (multiply-shift, no modulo bias to speak of), the top bit the
 * sign. A feature seen n times weighs weight * (1 + ln n). */
static void s_bag_project(const s_bag_t *bag, float *out, unsigned dim)
{
    for (size_t i = 0; i < bag->used; i++) {
        const s_feature_t *f = &bag->features[i];
        float w = f->count == 1 ? f->weight : f->weight * (1.0f + logf((float) f->count));
        size_t d = (size_t) (((f->key & 0xffffffffULL) * dim) >> 32);
        out[d] += (f->key >> 63) ? -w : w;
    }
}

/* --- words and their features ------------------------------------------- */

/* Bytewise order of w[0..len) against term, shorter first on a tie. */
static int s_term_cmp(const unsigned char *w, size_t len, const s_term_t *term)
{
    size_t n = len < term->len ? len : term->len;
    for (size_t i = 0; i < n; i++) {
        int c = (int) w[i] - (int) (unsigned char) term->text[i];
        if (c != 0)
            return c; /* inline: these words are too short for memcmp's setup to pay */
    }
    return len < term->len ? -1 : len > term->len ? 1 : 0;
}

/* True when w[0..len) is in the sorted list of n terms. */
static int s_in_list(const unsigned char *w, size_t len, const s_term_t *list, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = s_term_cmp(w, len, &list[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* Character 3- and 4-grams of "<word>", counted in code points. The markers
 * are not bytes in the hashed span but bits in the seed, so nothing is copied:
 * "<ab" hashes the span "ab" with the begin bit set. */
static int s_ngrams(s_bag_t *bag, const unsigned char *w, size_t len)
{
    size_t cps[LYC_EMBED_MAX_NGRAM_WORD + 1]; /* byte offset of each code point */
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (w[i] & 0xC0) == 0x80)
            continue; /* UTF-8 continuation byte */
        if (m == LYC_EMBED_MAX_NGRAM_WORD)
            return 0; /* too long to be a word: no n-grams */
        cps[m++] = i;
    }
    cps[m] = len;
    size_t padded = m + 2;
    for (size_t n = 3; n <= 4; n++) {
        for (size_t s = 0; s + n <= padded; s++) {
            int at_end = s + n == padded;
            size_t first = s == 0 ? 0 : s - 1;
            size_t last = at_end ? m - 1 : s + n - 2;
            uint64_t seed = S_SEED_NGRAM + n * 4 + (s == 0) + 2 * (uint64_t) at_end;
            uint64_t h = XXH3_64bits_withSeed(w + cps[first], cps[last + 1] - cps[first], seed);
            if (s_bag_add(bag, h, n == 3 ? S_W_GRAM3 : S_W_GRAM4) != 0)
                return -1;
        }
    }
    return 0;
}

/* All features of one word: unigram, bigram with the previous word of the
 * clause, negated form inside a negation scope, and character n-grams. */
static int s_word(s_walk_t *walk, const unsigned char *w, size_t len)
{
    int function =
        s_in_list(w, len, s_function_words, sizeof s_function_words / sizeof *s_function_words);
    uint64_t h = XXH3_64bits_withSeed(w, len, S_SEED_WORD);
    if (s_bag_add(walk->bag, h, function ? S_W_FUNCTION : S_W_WORD) != 0)
        return -1;
    if (walk->prev != 0 &&
        s_bag_add(walk->bag, XXH3_64bits_withSeed(w, len, walk->prev ^ S_SEED_BIGRAM),
                  S_W_BIGRAM) != 0)
        return -1;
    if (walk->neg_left > 0 && !function) {
        walk->neg_left--;
        if (s_bag_add(walk->bag, XXH3_64bits_withSeed(w, len, S_SEED_NEG), S_W_NEG) != 0)
            return -1;
    }
    if (s_in_list(w, len, s_negations, sizeof s_negations / sizeof *s_negations))
        walk->neg_left = S_NEG_SCOPE;
    walk->prev = h;
    return s_ngrams(walk->bag, w, len);
}

/* Walks the normalised text word by word. A word is a run of digits (with
 * inner '.') or a run of other word bytes, so "gpt4" is "gpt" then "4". */
static int s_tokenize(s_bag_t *bag, const unsigned char *text, size_t len)
{
    s_walk_t walk = {.bag = bag, .prev = 0, .neg_left = 0};
    size_t i = 0;
    while (i < len) {
        if (text[i] == S_WORD_BREAK || text[i] == S_CLAUSE_BREAK) {
            if (text[i] == S_CLAUSE_BREAK)
                walk.prev = 0, walk.neg_left = 0;
            i++;
            continue;
        }
        size_t start = i;
        int digits = s_is_digit(text[i]);
        while (i < len && text[i] != S_WORD_BREAK && text[i] != S_CLAUSE_BREAK &&
               (s_is_digit(text[i]) || text[i] == '.') == digits)
            i++;
        if (s_word(&walk, text + start, i - start) != 0)
            return -1;
    }
    return 0;
}

/* --- public ------------------------------------------------------------- */

int lyc_embedder_embed(const lyc_embedder_t *self, const char *text, size_t len, float *out)
{
    int rc = -1;
    s_bag_t bag;

    if (!self || !out || (!text && len > 0)) {
        LYC_ERROR(NULL, "embedder: NULL argument");
        return -1;
    }
    memset(out, 0, self->dim * sizeof *out);
    if (len == 0)
        return 0;
    unsigned char *norm = malloc(len);
    if (!norm)
        goto out_log;
    size_t norm_len = s_normalize((const unsigned char *) text, len, norm);
    if (s_bag_init(&bag, norm_len) != 0)
        goto out_free_norm;
    if (s_tokenize(&bag, norm, norm_len) != 0)
        goto out_free_bag;
    s_bag_project(&bag, out, self->dim);
    lyc_vec_normalize(out, self->dim);
    rc = 0;
out_free_bag:
    s_bag_free(&bag);
out_free_norm:
    free(norm);
out_log:
    if (rc != 0)
        LYC_ERROR(NULL, "embedder: out of memory embedding %zu bytes", len);
    return rc;
}

float lyc_vec_cosine(const float *a, const float *b, unsigned dim)
{
    double dot = 0, na = 0, nb = 0;
    for (unsigned i = 0; i < dim; i++) {
        dot += (double) a[i] * b[i];
        na += (double) a[i] * a[i];
        nb += (double) b[i] * b[i];
    }
    if (na == 0 || nb == 0)
        return 0.0f;
    double cos = dot / (sqrt(na) * sqrt(nb));
    return (float) (cos > 1 ? 1 : cos < -1 ? -1 : cos);
}

void lyc_vec_normalize(float *v, unsigned dim)
{
    double sum = 0;
    for (unsigned i = 0; i < dim; i++)
        sum += (double) v[i] * v[i];
    if (sum == 0)
        return;
    double inv = 1.0 / sqrt(sum);
    for (unsigned i = 0; i < dim; i++)
        v[i] = (float) (v[i] * inv);
}
