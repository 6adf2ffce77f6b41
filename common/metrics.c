/*
 * metrics.c - a registry of metric families, each a hash table of series
 * keyed by label values, rendered as Prometheus text.
 *
 * The three public family types are one internal type, s_family_t; the
 * distinct handle types only stop a gauge being passed where a counter is
 * meant. A series keeps its label text pre-escaped, so rendering is plain
 * concatenation and an update never formats anything. Lock order: the
 * registry's lock, then a family's; updates take only the family's.
 */
#include "metrics.h"

#include "log.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

static const char *const s_type_names[] = {"counter", "gauge", "histogram"};

/* One combination of label values and its numbers. */
typedef struct {
    char **values;     /* raw label values, one per label name */
    char *labels;      /* rendered: model="a",domain="b" ("" without labels) */
    uint64_t hash;     /* of values, for the index */
    double value;      /* counter, gauge */
    double sum;        /* histogram */
    uint64_t count;    /* histogram observations */
    uint64_t *buckets; /* histogram: observations per bound, not cumulative */
} s_series_t;

typedef struct s_family_t {
    char *name;
    char *help;
    char *label_spec; /* label names as declared, normalised: "model,domain" */
    s_type_t type;
    char **label_names;
    size_t nlabels;
    double *bounds; /* histogram bucket upper bounds, +Inf excluded */
    size_t nbounds;
    pthread_mutex_t lock; /* guards everything below */
    s_series_t **series;  /* in order of creation */
    size_t nseries;
    size_t cap;
    uint32_t *index; /* open addressing: 0 empty, else 1 + position in series */
    size_t mask;     /* index size - 1; the size is a power of two */
    struct s_family_t *next;
} s_family_t;

struct lyc_metrics_t {
    pthread_mutex_t lock; /* guards the family list */
    s_family_t *head;
    s_family_t *tail;
};

/* A string that grows; after a failed allocation every append is a no-op
 * and s_buf_take() returns NULL. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} s_buf_t;

/* Longest number s_format_number() writes: "%.17g" of a double is 24 bytes. */
#define S_NUM_LEN 32

/* A default mutex fails only when misused, which is a bug: assert. */
static void s_lock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    assert(rc == 0);
    (void) rc;
}

static void s_unlock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_unlock(m);
    assert(rc == 0);
    (void) rc;
}

/* --- strings ------------------------------------------------------------ */

static int s_buf_reserve(s_buf_t *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = 1;
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static void s_buf_add(s_buf_t *b, const char *s, size_t n)
{
    if (s_buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void s_buf_puts(s_buf_t *b, const char *s)
{
    s_buf_add(b, s, strlen(s));
}

/* Appends s with backslash and newline escaped, and the double quote too
 * when quote is set (label values; help text keeps its quotes). */
static void s_buf_escaped(s_buf_t *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            s_buf_add(b, "\\\\", 2);
        else if (*s == '\n')
            s_buf_add(b, "\\n", 2);
        else if (*s == '"' && quote)
            s_buf_add(b, "\\\"", 2);
        else
            s_buf_add(b, s, 1);
    }
}

/* Hands over the string ("" if nothing was added); NULL after a failure. */
static char *s_buf_take(s_buf_t *b)
{
    if (s_buf_reserve(b, 0) != 0) {
        free(b->data);
        b->data = NULL;
        return NULL;
    }
    char *data = b->data;
    data[b->len] = '\0';
    b->data = NULL;
    return data;
}

/* Whole numbers (counts, mostly) in plain digits; others in the shortest
 * "%g" form that reads back as exactly v; Prometheus spellings for the
 * infinities and NaN. */
static void s_format_number(char out[S_NUM_LEN], double v)
{
    if (isnan(v)) {
        snprintf(out, S_NUM_LEN, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, S_NUM_LEN, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* integral, below 2^53 */
        snprintf(out, S_NUM_LEN, "%.0f", v);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, S_NUM_LEN, "%.*g", precision, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* --- names -------------------------------------------------------------- */

static int s_name_char(char c, int first, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics (colon set), [a-zA-Z_][a-zA-Z0-9_]*
 * for labels, over s[0..len). */
static int s_valid_name(const char *s, size_t len, int colon)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!s_name_char(s[i], i == 0, colon))
            return 0;
    }
    return 1;
}

static void s_free_strings(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

/* Appends one label name to the family's list, checking it. */
static int s_add_label_name(s_family_t *f, const char *s, size_t len)
{
    const char *why = NULL;
    if (!s_valid_name(s, len, 0))
        why = "is not a valid label name";
    else if (len >= 2 && s[0] == '_' && s[1] == '_')
        why = "is reserved (starts with __)";
    else if (f->type == S_HISTOGRAM && len == 2 && memcmp(s, "le", 2) == 0)
        why = "is reserved on histograms";
    for (size_t i = 0; !why && i < f->nlabels; i++) {
        if (strlen(f->label_names[i]) == len && memcmp(f->label_names[i], s, len) == 0)
            why = "is repeated";
    }
    if (why) {
        LYC_ERROR(NULL, "metrics: %s: label \"%.*s\" %s", f->name, (int) len, s, why);
        return -1;
    }
    char **names = realloc(f->label_names, (f->nlabels + 1) * sizeof *names);
    if (!names)
        return -1;
    f->label_names = names;
    names[f->nlabels] = strndup(s, len);
    if (!names[f->nlabels])
        return -1;
    f->nlabels++;
    return 0;
}

/* Splits "model, domain" into the family's label names and keeps the
 * normalised spec "model,domain" to compare redeclarations with. */
static int s_parse_labels(s_family_t *f, const char *spec)
{
    s_buf_t norm = {0};
    for (const char *p = spec ? spec : ""; *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (s_add_label_name(f, p, trimmed) != 0)
            goto out_free_norm;
        if (f->nlabels > 1)
            s_buf_puts(&norm, ",");
        s_buf_add(&norm, p, trimmed);
        p += len;
        if (*p == ',' && *++p == '\0') {
            LYC_ERROR(NULL, "metrics: %s: label list ends with a comma", f->name);
            goto out_free_norm;
        }
    }
    f->label_spec = s_buf_take(&norm);
    return f->label_spec ? 0 : -1;
out_free_norm:
    free(norm.data);
    return -1;
}

/* --- families ----------------------------------------------------------- */

static void s_series_free(s_series_t *s, size_t nlabels)
{
    if (!s)
        return;
    s_free_strings(s->values, nlabels);
    free(s->labels);
    free(s->buckets);
    free(s);
}

static void s_family_free(s_family_t *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        s_series_free(f->series[i], f->nlabels);
    free(f->series);
    free(f->index);
    free(f->bounds);
    s_free_strings(f->label_names, f->nlabels);
    free(f->label_spec);
    free(f->help);
    free(f->name);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static int s_set_bounds(s_family_t *f, const double *buckets, size_t nbuckets)
{
    static const double latency[] = LYC_METRICS_LATENCY_BUCKETS;
    if (!buckets || nbuckets == 0) {
        buckets = latency;
        nbuckets = sizeof latency / sizeof *latency;
    }
    for (size_t i = 0; i < nbuckets; i++) {
        if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
            LYC_ERROR(NULL, "metrics: %s: bucket bounds must be finite and increasing", f->name);
            return -1;
        }
    }
    f->bounds = malloc(nbuckets * sizeof *f->bounds);
    if (!f->bounds)
        return -1;
    memcpy(f->bounds, buckets, nbuckets * sizeof *f->bounds);
    f->nbounds = nbuckets;
    return 0;
}

static s_series_t *s_series_get(s_family_t *f, const char *const *values);

/* Makes a family, NULL when an argument is bad (logged) or memory runs out. */
static s_family_t *s_family_new(const char *name, const char *help, s_type_t type,
                                const char *labels, const double *buckets, size_t nbuckets)
{
    s_family_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f);
        return NULL;
    }
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help)
        goto out_free_family;
    if (s_parse_labels(f, labels) != 0)
        goto out_free_family;
    if (type == S_HISTOGRAM && s_set_bounds(f, buckets, nbuckets) != 0)
        goto out_free_family;
    if (f->nlabels == 0 && !s_series_get(f, NULL))
        goto out_free_family; /* the one series, shown as zero from the start */
    return f;
out_free_family:
    s_family_free(f);
    return NULL;
}

/* True when a redeclaration matches the family exactly. */
static int s_family_same(const s_family_t *f, s_type_t type, const char *help,
                         const s_family_t *declared)
{
    if (f->type != type || strcmp(f->help, help ? help : "") != 0 ||
        strcmp(f->label_spec, declared->label_spec) != 0 || f->nbounds != declared->nbounds)
        return 0;
    return f->nbounds == 0 || memcmp(f->bounds, declared->bounds, f->nbounds * sizeof(double)) == 0;
}

/* Declares a family: the existing one when it matches, a new one otherwise.
 * The candidate is built first (outside the lock) so a redeclaration is
 * compared in its normalised form. */
static s_family_t *s_declare(lyc_metrics_t *self, const char *name, const char *help, s_type_t type,
                             const char *labels, const double *buckets, size_t nbuckets)
{
    if (!self || !name || !s_valid_name(name, strlen(name), 1)) {
        LYC_ERROR(NULL, "metrics: \"%s\" is not a valid metric name", name ? name : "(null)");
        return NULL;
    }
    s_family_t *made = s_family_new(name, help, type, labels, buckets, nbuckets);
    if (!made) {
        LYC_ERROR(NULL, "metrics: cannot declare %s", name);
        return NULL;
    }
    s_lock(&self->lock);
    s_family_t *found = self->head;
    while (found && strcmp(found->name, name) != 0)
        found = found->next;
    if (!found) {
        if (self->tail)
            self->tail->next = made;
        else
            self->head = made;
        self->tail = made;
        found = made;
        made = NULL;
    } else if (!s_family_same(found, type, help, made)) {
        LYC_ERROR(NULL,
                  "metrics: %s is already declared as a %s with other help, labels or "
                  "buckets",
                  name, s_type_names[found->type]);
        found = NULL;
    }
    s_unlock(&self->lock);
    if (made)
        s_family_free(made);
    return found;
}

lyc_metrics_t *lyc_metrics_new(void)
{
    lyc_metrics_t *self = calloc(1, sizeof *self);
    if (!self || pthread_mutex_init(&self->lock, NULL) != 0) {
        LYC_ERROR(NULL, "metrics: cannot create a registry");
        free(self);
        return NULL;
    }
    return self;
}

void lyc_metrics_destroy(lyc_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_metrics_t *self = *self_p;
    for (s_family_t *f = self->head, *next; f; f = next) {
        next = f->next;
        s_family_free(f);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

lyc_counter_t *lyc_metrics_counter(lyc_metrics_t *self, const char *name, const char *help,
                                   const char *label_names)
{
    return (lyc_counter_t *) s_declare(self, name, help, S_COUNTER, label_names, NULL, 0);
}

lyc_gauge_t *lyc_metrics_gauge(lyc_metrics_t *self, const char *name, const char *help,
                               const char *label_names)
{
    return (lyc_gauge_t *) s_declare(self, name, help, S_GAUGE, label_names, NULL, 0);
}

lyc_histogram_t *lyc_metrics_histogram(lyc_metrics_t *self, const char *name, const char *help,
                                       const char *label_names, const double *buckets,
                                       size_t nbuckets)
{
    return (lyc_histogram_t *) s_declare(self, name, help, S_HISTOGRAM, label_names, buckets,
                                         nbuckets);
}

/* --- series ------------------------------------------------------------- */

static uint64_t s_values_hash(const char *const *values, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = XXH3_64bits_withSeed(values[i], strlen(values[i]) + 1, h); /* NUL separates */
    return h;
}

static int s_values_equal(char *const *a, const char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    }
    return 1;
}

/* Index slot holding the series with these values, or the empty slot where
 * it belongs. */
static uint32_t *s_index_slot(const s_family_t *f, uint64_t hash, const char *const *values)
{
    size_t i = (size_t) hash & f->mask;
    while (f->index[i] != 0) {
        const s_series_t *s = f->series[f->index[i] - 1];
        if (s->hash == hash && s_values_equal(s->values, values, f->nlabels))
            break;
        i = (i + 1) & f->mask;
    }
    return &f->index[i];
}

/* First empty slot for hash in a fresh index (series are all distinct). */
static uint32_t *s_index_free_slot(uint32_t *index, size_t mask, uint64_t hash)
{
    size_t i = (size_t) hash & mask;
    while (index[i] != 0)
        i = (i + 1) & mask;
    return &index[i];
}

/* Makes room for one more series: the array grows by doubling, the index
 * stays at most half full. */
static int s_family_reserve(s_family_t *f)
{
    if (f->nseries == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        s_series_t **series = realloc(f->series, cap * sizeof *series);
        if (!series)
            return -1;
        f->series = series;
        f->cap = cap;
    }
    if (f->index && (f->nseries + 1) * 2 <= f->mask + 1)
        return 0;
    size_t size = f->index ? (f->mask + 1) * 2 : 16;
    if (size / 2 > UINT32_MAX)
        return -1;
    uint32_t *index = calloc(size, sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < f->nseries; i++) {
        *s_index_free_slot(index, size - 1, f->series[i]->hash) = (uint32_t) (i + 1);
    }
    free(f->index);
    f->index = index;
    f->mask = size - 1;
    return 0;
}

/* A new series for these values, with its label text rendered once. */
static s_series_t *s_series_new(const s_family_t *f, const char *const *values, uint64_t hash)
{
    s_buf_t text = {0};
    s_series_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hash = hash;
    s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
    if (!s->values)
        goto out_free_series;
    for (size_t i = 0; i < f->nlabels; i++) {
        s->values[i] = strdup(values[i]);
        if (!s->values[i])
            goto out_free_series;
        s_buf_puts(&text, i ? "," : "");
        s_buf_puts(&text, f->label_names[i]);
        s_buf_puts(&text, "=\"");
        s_buf_escaped(&text, values[i], 1);
        s_buf_puts(&text, "\"");
    }
    s->labels = s_buf_take(&text);
    if (!s->labels)
        goto out_free_series;
    if (f->type == S_HISTOGRAM) {
        s->buckets = calloc(f->nbounds ? f->nbounds : 1, sizeof *s->buckets);
        if (!s->buckets)
            goto out_free_series;
    }
    return s;
out_free_series:
    free(text.data);
    s_series_free(s, f->nlabels);
    return NULL;
}

/* The series for these values, created on first use. Call with f->lock
 * held (or before the family is shared). */
static s_series_t *s_series_get(s_family_t *f, const char *const *values)
{
    uint64_t hash = s_values_hash(values, f->nlabels);
    if (f->index) {
        uint32_t *slot = s_index_slot(f, hash, values);
        if (*slot != 0)
            return f->series[*slot - 1];
    }
    if (s_family_reserve(f) != 0)
        return NULL;
    s_series_t *s = s_series_new(f, values, hash);
    if (!s)
        return NULL;
    f->series[f->nseries++] = s;
    *s_index_slot(f, hash, values) = (uint32_t) f->nseries;
    return s;
}

static int s_labels_ok(const s_family_t *f, const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values || !values[i]) {
            LYC_ERROR(NULL, "metrics: %s: %zu label values expected, got NULL", f->name,
                      f->nlabels);
            return 0;
        }
    }
    return 1;
}

typedef enum { S_ADD, S_SET, S_OBSERVE } s_op_t;

/* Applies one update under the family's lock. */
static int s_update(s_family_t *f, const char *const *values, s_op_t op, double x)
{
    if (!f || !s_labels_ok(f, values))
        return -1;
    s_lock(&f->lock);
    s_series_t *s = s_series_get(f, values);
    if (s && op == S_ADD) {
        s->value += x;
    } else if (s && op == S_SET) {
        s->value = x;
    } else if (s) {
        size_t i = 0;
        while (i < f->nbounds && x > f->bounds[i])
            i++;
        if (i < f->nbounds)
            s->buckets[i]++;
        s->count++;
        s->sum += x;
    }
    s_unlock(&f->lock);
    if (!s)
        LYC_ERROR(NULL, "metrics: %s: out of memory adding a series", f->name);
    return s ? 0 : -1;
}

static int s_refuse(const char *what, double x)
{
    LYC_ERROR(NULL, "metrics: refused %s %g", what, x);
    return -1;
}

int lyc_counter_add(lyc_counter_t *c, const char *const *label_values, double value)
{
    if (!isfinite(value) || value < 0)
        return s_refuse("counter increment", value);
    return s_update((s_family_t *) c, label_values, S_ADD, value);
}

int lyc_gauge_set(lyc_gauge_t *g, const char *const *label_values, double value)
{
    if (!isfinite(value))
        return s_refuse("gauge value", value);
    return s_update((s_family_t *) g, label_values, S_SET, value);
}

int lyc_gauge_add(lyc_gauge_t *g, const char *const *label_values, double delta)
{
    if (!isfinite(delta))
        return s_refuse("gauge delta", delta);
    return s_update((s_family_t *) g, label_values, S_ADD, delta);
}

int lyc_histogram_observe(lyc_histogram_t *h, const char *const *label_values, double value)
{
    if (isnan(value))
        return s_refuse("histogram observation", value);
    return s_update((s_family_t *) h, label_values, S_OBSERVE, value);
}

/* --- rendering ---------------------------------------------------------- */

/* One sample line: name+suffix{labels,le="..."} value */
static void s_sample(s_buf_t *b, const s_family_t *f, const char *suffix, const char *labels,
                     const char *le, double value)
{
    char num[S_NUM_LEN];
    s_buf_puts(b, f->name);
    s_buf_puts(b, suffix);
    if (*labels || le) {
        s_buf_puts(b, "{");
        s_buf_puts(b, labels);
        if (le) {
            s_buf_puts(b, *labels ? ",le=\"" : "le=\"");
            s_buf_puts(b, le);
            s_buf_puts(b, "\"");
        }
        s_buf_puts(b, "}");
    }
    s_format_number(num, value);
    s_buf_puts(b, " ");
    s_buf_puts(b, num);
    s_buf_puts(b, "\n");
}

static void s_render_series(s_buf_t *b, const s_family_t *f, const s_series_t *s)
{
    if (f->type != S_HISTOGRAM) {
        s_sample(b, f, "", s->labels, NULL, s->value);
        return;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < f->nbounds; i++) {
        char le[S_NUM_LEN];
        s_format_number(le, f->bounds[i]);
        cumulative += s->buckets[i];
        s_sample(b, f, "_bucket", s->labels, le, (double) cumulative);
    }
    s_sample(b, f, "_bucket", s->labels, "+Inf", (double) s->count);
    s_sample(b, f, "_sum", s->labels, NULL, s->sum);
    s_sample(b, f, "_count", s->labels, NULL, (double) s->count);
}

static int s_series_cmp(const void *a, const void *b)
{
    const s_series_t *const *x = a;
    const s_series_t *const *y = b;
    return strcmp((*x)->labels, (*y)->labels);
}

/* HELP, TYPE and every series of one family, sorted by label text so the
 * output is stable whatever order the series were made in. */
static int s_render_family(s_buf_t *b, s_family_t *f)
{
    int rc = -1;
    s_lock(&f->lock);
    s_series_t **sorted = malloc((f->nseries ? f->nseries : 1) * sizeof *sorted);
    if (!sorted)
        goto out_unlock;
    if (f->nseries > 0) {
        memcpy(sorted, f->series, f->nseries * sizeof *sorted);
        qsort(sorted, f->nseries, sizeof *sorted, s_series_cmp);
    }
    s_buf_puts(b, "# HELP ");
    s_buf_puts(b, f->name);
    s_buf_puts(b, " ");
    s_buf_escaped(b, f->help, 0);
    s_buf_puts(b, "\n# TYPE ");
    s_buf_puts(b, f->name);
    s_buf_puts(b, " ");
    s_buf_puts(b, s_type_names[f->type]);
    s_buf_puts(b, "\n");
    for (size_t i = 0; i < f->nseries; i++)
        s_render_series(b, f, sorted[i]);
    free(sorted);
    rc = 0;
out_unlock:
    s_unlock(&f->lock);
    return rc;
}

char *lyc_metrics_render(lyc_metrics_t *self)
{
    s_buf_t b = {0};
    if (!self)
        return NULL;
    s_lock(&self->lock);
    for (s_family_t *f = self->head; f && !b.failed; f = f->next) {
        if (s_render_family(&b, f) != 0)
            b.failed = 1;
    }
    s_unlock(&self->lock);
    char *text = s_buf_take(&b);
    if (!text)
        LYC_ERROR(NULL, "metrics: out of memory rendering");
    return text;
}
