/*
 * demo_data.c - generating the demo data set (see demo_data.h).
 *
 * Everything random comes from one splitmix64 stream seeded by the caller,
 * consumed in a fixed order, so a seed names one data set on every machine.
 * Generation runs per domain (a "draft" per question: its prompts, the right
 * answer, a few plausible wrong ones, the sentence around the answer), then
 * the right/wrong pattern per model and domain is dealt from a shuffled deck
 * of exactly round(accuracy * n) right cards, then the whole set is shuffled.
 */
#include "demo_data.h"

#include "demo_facts.h"
#include "paths.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_MAX_COUNT 100000
#define S_WRONGS    3
#define S_ARITH_OPS 3
#define S_UNIT_MIN  2
#define S_UNIT_MAX  99
/* Tokens of the chat framing around every prompt (system line, roles). */
#define S_FRAME_TOKENS 12

const char *const lyc_demo_models[LYC_DEMO_MODELS] = {"supervisor", "teacher", "student"};
const char *const lyc_demo_domains[LYC_DEMO_DOMAINS] = {"arithmetic", "capitals", "units",
                                                        "chemistry"};

enum { S_ARITHMETIC, S_CAPITALS, S_UNITS, S_CHEMISTRY };
enum { S_SUPERVISOR, S_TEACHER, S_STUDENT };

/* Designed accuracy [model][domain]. */
static const double s_accuracy[LYC_DEMO_MODELS][LYC_DEMO_DOMAINS] = {
    {0.98, 0.97, 0.95, 0.97}, /* supervisor: best everywhere */
    {0.90, 0.92, 0.85, 0.80}, /* teacher: good at most */
    {0.95, 0.30, 0.70, 0.50}, /* student: strong in arithmetic, weak in capitals */
};

struct lyc_demo_data_t {
    lyc_demo_question_t *questions;
    size_t count;
};

/* What a domain generator makes for one question. */
typedef struct {
    lyc_demo_question_t *q;
    char wrong[S_WRONGS][64];
} s_draft_t;

/* ---- randomness ------------------------------------------------------ */

static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static size_t s_below(uint64_t *state, size_t n)
{
    return n ? (size_t) (s_next(state) % n) : 0;
}

static void s_shuffle(uint64_t *rng, void *base, size_t n, size_t size)
{
    char tmp[sizeof(lyc_demo_question_t)];
    char *a = base;
    for (size_t i = n; i > 1; i--) {
        size_t j = s_below(rng, i);
        memcpy(tmp, a + (i - 1) * size, size);
        memcpy(a + (i - 1) * size, a + j * size, size);
        memcpy(a + j * size, tmp, size);
    }
}

/* 0..n-1 in a random order: a new array, NULL when out of memory. */
static size_t *s_permutation(uint64_t *rng, size_t n)
{
    size_t *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    s_shuffle(rng, p, n, sizeof *p);
    return p;
}

/* ---- numbers --------------------------------------------------------- */

/* A number with at most two decimals, trailing zeros dropped. */
static void s_format_number(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.2f", v);
    char *dot = strchr(buf, '.');
    if (!dot)
        return;
    char *end = buf + strlen(buf) - 1;
    while (end > dot && *end == '0')
        *end-- = '\0';
    if (end == dot)
        *end = '\0';
}

/* ---- domains --------------------------------------------------------- */

static void s_capital(s_draft_t *d, uint64_t *rng, size_t index)
{
    const lyc_demo_capital_t *c = &lyc_demo_capitals[index];
    lyc_demo_question_t *q = d->q;
    snprintf(q->prompt, sizeof q->prompt, "What is the capital of %s?", c->country);
    snprintf(q->reworded, sizeof q->reworded, "Which city is the capital of %s?", c->country);
    snprintf(q->reference, sizeof q->reference, "%s", c->capital);
    snprintf(q->before, sizeof q->before, "The capital of %s is ", c->country);
    snprintf(q->after, sizeof q->after, ".");
    snprintf(d->wrong[0], sizeof d->wrong[0], "%s", c->decoy);
    for (int w = 1; w < S_WRONGS; w++) {
        size_t other = (index + 1 + s_below(rng, lyc_demo_n_capitals - 1)) % lyc_demo_n_capitals;
        snprintf(d->wrong[w], sizeof d->wrong[w], "%s", lyc_demo_capitals[other].capital);
    }
}

static void s_element(s_draft_t *d, uint64_t *rng, size_t index)
{
    const lyc_demo_element_t *e = &lyc_demo_elements[index];
    lyc_demo_question_t *q = d->q;
    snprintf(q->prompt, sizeof q->prompt, "What is the chemical symbol for %s?", e->element);
    snprintf(q->reworded, sizeof q->reworded, "Which symbol stands for the element %s?",
             e->element);
    snprintf(q->reference, sizeof q->reference, "%s", e->symbol);
    snprintf(q->before, sizeof q->before, "The chemical symbol for %s is ", e->element);
    snprintf(q->after, sizeof q->after, ".");
    snprintf(d->wrong[0], sizeof d->wrong[0], "%s", e->decoy);
    for (int w = 1; w < S_WRONGS; w++) {
        size_t other = (index + 1 + s_below(rng, lyc_demo_n_elements - 1)) % lyc_demo_n_elements;
        snprintf(d->wrong[w], sizeof d->wrong[w], "%s", lyc_demo_elements[other].symbol);
    }
}

/* combo = unit index * values + (value - S_UNIT_MIN). */
static void s_unit(s_draft_t *d, uint64_t *rng, size_t combo)
{
    size_t values = S_UNIT_MAX - S_UNIT_MIN + 1;
    const lyc_demo_unit_t *u = &lyc_demo_units[combo / values];
    int value = (int) (combo % values) + S_UNIT_MIN;
    double right = value * u->factor;
    lyc_demo_question_t *q = d->q;
    (void) rng;
    snprintf(q->prompt, sizeof q->prompt, "How many %s are in %d %s?", u->to, value, u->from);
    snprintf(q->reworded, sizeof q->reworded, "Convert %d %s to %s.", value, u->from, u->to);
    s_format_number(q->reference, sizeof q->reference, right);
    snprintf(q->before, sizeof q->before, "%d %s is ", value, u->from);
    snprintf(q->after, sizeof q->after, " %s.", u->to);
    s_format_number(d->wrong[0], sizeof d->wrong[0], right * 10);
    s_format_number(d->wrong[1], sizeof d->wrong[1], right / 10);
    s_format_number(d->wrong[2], sizeof d->wrong[2], right + value);
}

/* key = op * range^2 + a * range + b. */
static void s_arithmetic(s_draft_t *d, uint64_t *rng, size_t key, size_t range)
{
    static const char ops[S_ARITH_OPS] = {'+', '-', '*'};
    int op = (int) (key / (range * range));
    long a = (long) (key / range % range), b = (long) (key % range);
    long right = op == 0 ? a + b : op == 1 ? a - b : a * b;
    lyc_demo_question_t *q = d->q;
    snprintf(q->prompt, sizeof q->prompt, "What is %ld %c %ld?", a, ops[op], b);
    snprintf(q->reworded, sizeof q->reworded, "Compute %ld %c %ld.", a, ops[op], b);
    snprintf(q->reference, sizeof q->reference, "%ld", right);
    snprintf(q->before, sizeof q->before, "%ld %c %ld = ", a, ops[op], b);
    snprintf(q->after, sizeof q->after, ".");
    long near = 1 + (long) s_below(rng, 3);
    snprintf(d->wrong[0], sizeof d->wrong[0], "%ld", right + near);
    snprintf(d->wrong[1], sizeof d->wrong[1], "%ld", right - near);
    snprintf(d->wrong[2], sizeof d->wrong[2], "%ld", op == 2 ? right + a : right + 10);
}

/* ---- answers --------------------------------------------------------- */

static unsigned s_tokens(const char *text)
{
    return (unsigned) ((strlen(text) + 3) / 4);
}

/* The answer text in a model's style: the supervisor writes the full
 * sentence, the teacher "The answer is X.", the student X alone. */
static void s_styled(const lyc_demo_question_t *q, int model, const char *value, char *buf,
                     size_t cap)
{
    if (model == S_SUPERVISOR)
        snprintf(buf, cap, "%s%s%s", q->before, value, q->after);
    else if (model == S_TEACHER)
        snprintf(buf, cap, "The answer is %s.", value);
    else
        snprintf(buf, cap, "%s", value);
}

/* Fills a model's answer, right or (a random plausible) wrong. */
static void s_answer(s_draft_t *d, uint64_t *rng, int model, int correct)
{
    lyc_demo_question_t *q = d->q;
    lyc_demo_answer_t *a = &q->answers[model];
    const char *value = correct ? q->reference : d->wrong[s_below(rng, S_WRONGS)];
    a->correct = correct;
    s_styled(q, model, value, a->text, sizeof a->text);
    a->completion_tokens = s_tokens(a->text) + 1;
}

/* A deck of n cards, round(share * n) of them 1, shuffled; NULL when out of memory. */
static int *s_deck(uint64_t *rng, size_t n, double share)
{
    int *deck = malloc((n ? n : 1) * sizeof *deck);
    if (!deck)
        return NULL;
    size_t right = (size_t) llround(share * (double) n);
    for (size_t i = 0; i < n; i++)
        deck[i] = i < right;
    s_shuffle(rng, deck, n, sizeof *deck);
    return deck;
}

/* Deals right/wrong to every model for the domain's questions q[0..n). */
static int s_deal(uint64_t *rng, s_draft_t *drafts, size_t n, int domain)
{
    for (int m = 0; m < LYC_DEMO_MODELS; m++) {
        int *deck = s_deck(rng, n, s_accuracy[m][domain]);
        if (!deck)
            return -1;
        for (size_t i = 0; i < n; i++)
            s_answer(&drafts[i], rng, m, deck[i]);
        free(deck);
    }
    return 0;
}

/* ---- generation ------------------------------------------------------ */

/* How many questions each domain gets: a quarter each, the table-bound
 * domains capped by their tables, the rest to arithmetic. */
static void s_quotas(size_t count, size_t quota[LYC_DEMO_DOMAINS])
{
    size_t units_cap = lyc_demo_n_units * (S_UNIT_MAX - S_UNIT_MIN + 1);
    for (int d = 0; d < LYC_DEMO_DOMAINS; d++)
        quota[d] = count / LYC_DEMO_DOMAINS + ((size_t) d < count % LYC_DEMO_DOMAINS);
    size_t caps[LYC_DEMO_DOMAINS] = {0, lyc_demo_n_capitals, units_cap, lyc_demo_n_elements};
    for (int d = 1; d < LYC_DEMO_DOMAINS; d++)
        if (quota[d] > caps[d]) {
            quota[S_ARITHMETIC] += quota[d] - caps[d];
            quota[d] = caps[d];
        }
}

/* The table-bound domains: distinct rows drawn from a permutation. */
static int s_gen_table(uint64_t *rng, s_draft_t *drafts, size_t n, int domain)
{
    size_t rows = domain == S_CAPITALS    ? lyc_demo_n_capitals
                  : domain == S_CHEMISTRY ? lyc_demo_n_elements
                                          : lyc_demo_n_units * (S_UNIT_MAX - S_UNIT_MIN + 1);
    size_t *perm = s_permutation(rng, rows);
    if (!perm)
        return -1;
    for (size_t i = 0; i < n; i++) {
        drafts[i].q->domain = domain;
        if (domain == S_CAPITALS)
            s_capital(&drafts[i], rng, perm[i]);
        else if (domain == S_CHEMISTRY)
            s_element(&drafts[i], rng, perm[i]);
        else
            s_unit(&drafts[i], rng, perm[i]);
    }
    free(perm);
    return 0;
}

/* Arithmetic: distinct (op, a, b) drawn with a bitmap of used keys. Operands
 * stay below 100 unless many questions are wanted. */
static int s_gen_arithmetic(uint64_t *rng, s_draft_t *drafts, size_t n)
{
    size_t range = n <= 2000 ? 100 : 1000;
    size_t keys = S_ARITH_OPS * range * range;
    unsigned char *used = calloc(keys / 8 + 1, 1);
    if (!used)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t key;
        long a, b;
        do {
            int op = (int) s_below(rng, S_ARITH_OPS);
            a = 2 + (long) s_below(rng, range - 2);
            b = 2 + (long) s_below(rng, op == 2 ? 18 : range - 2);
            if (op == 1 && b > a) {
                long t = a;
                a = b;
                b = t;
            }
            key = (size_t) op * range * range + (size_t) a * range + (size_t) b;
        } while (used[key / 8] & (1u << (key % 8)));
        used[key / 8] |= (unsigned char) (1u << (key % 8));
        drafts[i].q->domain = S_ARITHMETIC;
        s_arithmetic(&drafts[i], rng, key, range);
    }
    free(used);
    return 0;
}

static void s_fill_tokens(lyc_demo_question_t *q)
{
    q->prompt_tokens[0] = S_FRAME_TOKENS + s_tokens(q->prompt);
    q->prompt_tokens[1] = S_FRAME_TOKENS + s_tokens(q->reworded);
}

/* Generates every domain into self->questions, in domain order. */
static int s_generate(lyc_demo_data_t *self, uint64_t *rng)
{
    size_t quota[LYC_DEMO_DOMAINS];
    s_quotas(self->count, quota);
    s_draft_t *drafts = calloc(self->count, sizeof *drafts);
    if (!drafts)
        return -1;
    for (size_t i = 0; i < self->count; i++)
        drafts[i].q = &self->questions[i];
    size_t at = 0;
    int rc = 0;
    for (int d = 0; d < LYC_DEMO_DOMAINS && rc == 0; d++) {
        rc = d == S_ARITHMETIC ? s_gen_arithmetic(rng, drafts + at, quota[d])
                               : s_gen_table(rng, drafts + at, quota[d], d);
        if (rc == 0)
            rc = s_deal(rng, drafts + at, quota[d], d);
        at += quota[d];
    }
    for (size_t i = 0; i < self->count; i++)
        s_fill_tokens(&self->questions[i]);
    free(drafts);
    return rc;
}

lyc_demo_data_t *lyc_demo_data_new(uint64_t seed, size_t count)
{
    if (count < LYC_DEMO_DOMAINS || count > S_MAX_COUNT)
        return NULL;
    lyc_demo_data_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->count = count;
    self->questions = calloc(count, sizeof *self->questions);
    uint64_t rng = seed;
    if (!self->questions || s_generate(self, &rng) != 0) {
        lyc_demo_data_destroy(&self);
        return NULL;
    }
    s_shuffle(&rng, self->questions, count, sizeof *self->questions);
    return self;
}

void lyc_demo_data_destroy(lyc_demo_data_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->questions);
    free(*self_p);
    *self_p = NULL;
}

/* ---- access ---------------------------------------------------------- */

double lyc_demo_accuracy(int model, int domain)
{
    if (model < 0 || model >= LYC_DEMO_MODELS || domain < 0 || domain >= LYC_DEMO_DOMAINS)
        return 0.0;
    return s_accuracy[model][domain];
}

int lyc_demo_domain_index(const char *name)
{
    for (int d = 0; d < LYC_DEMO_DOMAINS; d++)
        if (name && strcmp(name, lyc_demo_domains[d]) == 0)
            return d;
    return -1;
}

size_t lyc_demo_data_count(const lyc_demo_data_t *self)
{
    return self->count;
}

const lyc_demo_question_t *lyc_demo_data_get(const lyc_demo_data_t *self, size_t i)
{
    return i < self->count ? &self->questions[i] : NULL;
}

const char *lyc_demo_prompt(const lyc_demo_question_t *q, int variant)
{
    return variant ? q->reworded : q->prompt;
}

/* ---- output ---------------------------------------------------------- */

static cJSON *s_answer_json(const lyc_demo_question_t *q, int model, int variant)
{
    const lyc_demo_answer_t *a = &q->answers[model];
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    cJSON_AddBoolToObject(obj, "correct", a->correct);
    cJSON_AddStringToObject(obj, "text", a->text);
    cJSON_AddNumberToObject(obj, "prompt_tokens", q->prompt_tokens[variant ? 1 : 0]);
    cJSON_AddNumberToObject(obj, "completion_tokens", a->completion_tokens);
    return obj;
}

char *lyc_demo_data_line(const lyc_demo_data_t *self, size_t i, int variant)
{
    const lyc_demo_question_t *q = lyc_demo_data_get(self, i);
    cJSON *root = q ? cJSON_CreateObject() : NULL;
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "prompt", lyc_demo_prompt(q, variant));
    cJSON_AddStringToObject(root, "domain", lyc_demo_domains[q->domain]);
    cJSON_AddStringToObject(root, "reference", q->reference);
    cJSON *answers = cJSON_AddObjectToObject(root, "answers");
    for (int m = 0; m < LYC_DEMO_MODELS && answers; m++)
        cJSON_AddItemToObject(answers, lyc_demo_models[m], s_answer_json(q, m, variant));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

int lyc_demo_data_write(const lyc_demo_data_t *self, const char *path, char *err, size_t errcap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int rc = out ? 0 : -1;
    for (size_t i = 0; i < self->count && rc == 0; i++)
        for (int v = 0; v < 2 && rc == 0; v++) {
            char *line = lyc_demo_data_line(self, i, v);
            rc = line && fprintf(out, "%s\n", line) > 0 ? 0 : -1;
            free(line);
        }
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc != 0) {
        snprintf(err, errcap, "out of memory generating the demo data");
    } else if (lyc_paths_write_file(path, text, len) != 0) {
        snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    free(text);
    return rc;
}

/* ---- grading --------------------------------------------------------- */

/* Compares a and b ignoring case, surrounding space and a final period. */
static int s_same_answer(const char *a, const char *b)
{
    while (isspace((unsigned char) *a))
        a++;
    while (isspace((unsigned char) *b))
        b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la > 0 && (isspace((unsigned char) a[la - 1]) || a[la - 1] == '.'))
        la--;
    while (lb > 0 && (isspace((unsigned char) b[lb - 1]) || b[lb - 1] == '.'))
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

int lyc_demo_is_correct(const lyc_demo_question_t *q, const char *text)
{
    char right[2 * LYC_DEMO_TEXT_MAX];
    if (!text)
        return 0;
    for (int m = 0; m < LYC_DEMO_MODELS; m++) {
        s_styled(q, m, q->reference, right, sizeof right);
        if (s_same_answer(text, right))
            return 1;
    }
    return 0;
}
