/*
 * clusters.c - centroids, members and word counts.
 */
#include "clusters.h"

#include "embed.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_WORDS 512
#define S_WORD_MAX  32

typedef struct {
    char word[S_WORD_MAX];
    unsigned count;
} s_word_t;

typedef struct {
    long id;
    char *domain; /* the domain it became, or NULL */
    float *sum;   /* sum of the members' vectors */
    lyc_cluster_member_t *members;
    size_t size;
    s_word_t *words;
    size_t n_words;
} s_cluster_t;

struct lyc_clusters_t {
    unsigned dim;
    double threshold;
    size_t max;
    s_cluster_t *items;
    size_t count;
    long next_id;
};

static const char *const s_common[] = {
    "what",     "which",  "when",   "where", "does",  "with",  "that",      "this",
    "from",     "have",   "your",   "about", "there", "their", "would",     "could",
    "should",   "into",   "than",   "them",  "they",  "will",  "were",      "been",
    "much",     "many",   "some",   "most",  "more",  "user",  "assistant", "system",
    "question", "answer", "please", "tell",  NULL};

lyc_clusters_t *lyc_clusters_new(unsigned dim, double threshold, size_t max_clusters)
{
    if (dim == 0)
        return NULL;
    lyc_clusters_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->dim = dim;
    self->threshold = threshold;
    self->max = max_clusters ? max_clusters : 1;
    self->next_id = 1;
    return self;
}

static void s_free_cluster(s_cluster_t *c)
{
    for (size_t i = 0; c->members && i < c->size; i++) {
        free(c->members[i].tenant);
        free(c->members[i].id);
    }
    free(c->members);
    free(c->sum);
    free(c->words);
    free(c->domain);
}

void lyc_clusters_destroy(lyc_clusters_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_clusters_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_free_cluster(&self->items[i]);
    free(self->items);
    free(self);
    *self_p = NULL;
}

static s_cluster_t *s_find(const lyc_clusters_t *self, long cid)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->items[i].id == cid)
            return &self->items[i];
    return NULL;
}

void lyc_clusters_remove(lyc_clusters_t *self, long cid)
{
    s_cluster_t *c = s_find(self, cid);
    if (!c)
        return;
    s_free_cluster(c);
    *c = self->items[--self->count];
}

/* Cosine of v with the cluster's centroid. */
static double s_cosine(const lyc_clusters_t *self, const s_cluster_t *c, const float *v)
{
    return lyc_vec_cosine(c->sum, v, self->dim);
}

static s_cluster_t *s_nearest(const lyc_clusters_t *self, const float *v)
{
    s_cluster_t *best = NULL;
    double best_cos = -2;
    for (size_t i = 0; i < self->count; i++) {
        double cos = s_cosine(self, &self->items[i], v);
        if (cos > best_cos) {
            best_cos = cos;
            best = &self->items[i];
        }
    }
    return best && best_cos >= self->threshold ? best : NULL;
}

/* Forgets the smallest unlabelled cluster, if there is one. */
static void s_evict(lyc_clusters_t *self)
{
    s_cluster_t *smallest = NULL;
    for (size_t i = 0; i < self->count; i++)
        if (!self->items[i].domain && (!smallest || self->items[i].size < smallest->size))
            smallest = &self->items[i];
    if (smallest)
        lyc_clusters_remove(self, smallest->id);
}

/* A new empty cluster, forgetting the smallest one when full. */
static s_cluster_t *s_start(lyc_clusters_t *self)
{
    if (self->count >= self->max)
        s_evict(self);
    s_cluster_t *grown = realloc(self->items, (self->count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    self->items = grown;
    s_cluster_t *c = &grown[self->count];
    memset(c, 0, sizeof *c);
    if (!(c->sum = calloc(self->dim, sizeof *c->sum)))
        return NULL;
    c->id = self->next_id++;
    self->count++;
    return c;
}

static int s_is_common(const char *word)
{
    for (const char *const *w = s_common; *w; w++)
        if (strcmp(*w, word) == 0)
            return 1;
    return 0;
}

static void s_count_word(s_cluster_t *c, const char *word)
{
    for (size_t i = 0; i < c->n_words; i++) {
        if (strcmp(c->words[i].word, word) == 0) {
            c->words[i].count++;
            return;
        }
    }
    if (c->n_words >= S_MAX_WORDS)
        return;
    s_word_t *grown = realloc(c->words, (c->n_words + 1) * sizeof *grown);
    if (!grown)
        return;
    c->words = grown;
    snprintf(grown[c->n_words].word, S_WORD_MAX, "%s", word);
    grown[c->n_words++].count = 1;
}

static void s_count_words(s_cluster_t *c, const char *text)
{
    char word[S_WORD_MAX];
    size_t n = 0;
    for (const char *p = text ? text : "";; p++) {
        if (*p && isalpha((unsigned char) *p)) {
            if (n + 1 < sizeof word)
                word[n++] = (char) tolower((unsigned char) *p);
            continue;
        }
        word[n] = '\0';
        if (n >= 4 && !s_is_common(word))
            s_count_word(c, word);
        n = 0;
        if (!*p)
            break;
    }
}

static int s_has_member(const s_cluster_t *c, const char *tenant, const char *id)
{
    for (size_t i = 0; i < c->size; i++)
        if (strcmp(c->members[i].id, id) == 0 && strcmp(c->members[i].tenant, tenant) == 0)
            return 1;
    return 0;
}

static int s_add_member(s_cluster_t *c, const char *tenant, const char *id)
{
    lyc_cluster_member_t *grown = realloc(c->members, (c->size + 1) * sizeof *grown);
    if (!grown)
        return -1;
    c->members = grown;
    grown[c->size].tenant = strdup(tenant);
    grown[c->size].id = strdup(id);
    if (!grown[c->size].tenant || !grown[c->size].id) {
        free(grown[c->size].tenant);
        free(grown[c->size].id);
        return -1;
    }
    c->size++;
    return 0;
}

long lyc_clusters_add(lyc_clusters_t *self, const float *v, const char *tenant, const char *id,
                      const char *text, size_t *size)
{
    s_cluster_t *c = s_nearest(self, v);
    if (c && c->domain) { /* a domain already: it only follows the topic */
        for (unsigned i = 0; i < self->dim; i++)
            c->sum[i] += v[i];
        *size = ++c->size;
        return c->id;
    }
    if (c && s_has_member(c, tenant, id)) {
        *size = c->size;
        return c->id;
    }
    if (!c && !(c = s_start(self)))
        return -1;
    if (s_add_member(c, tenant, id) != 0)
        return -1;
    for (unsigned i = 0; i < self->dim; i++)
        c->sum[i] += v[i];
    s_count_words(c, text);
    *size = c->size;
    return c->id;
}

size_t lyc_clusters_members(const lyc_clusters_t *self, long cid,
                            const lyc_cluster_member_t **members)
{
    const s_cluster_t *c = s_find(self, cid);
    *members = c && !c->domain ? c->members : NULL;
    return c && !c->domain ? c->size : 0;
}

void lyc_clusters_top_words(const lyc_clusters_t *self, long cid, int n, char *out, size_t cap)
{
    const s_cluster_t *c = s_find(self, cid);
    size_t len = 0, taken[8] = {0};
    out[0] = '\0';
    for (int k = 0; c && k < n && k < 8; k++) {
        size_t best = c->n_words;
        for (size_t i = 0; i < c->n_words; i++) {
            int used = 0;
            for (int j = 0; j < k; j++)
                used |= taken[j] == i;
            if (!used && (best == c->n_words || c->words[i].count > c->words[best].count))
                best = i;
        }
        if (best == c->n_words || len >= cap)
            break;
        taken[k] = best;
        len += (size_t) snprintf(out + len, len < cap ? cap - len : 0, "%s%s", k ? "-" : "",
                                 c->words[best].word);
    }
}

long lyc_clusters_nearest(const lyc_clusters_t *self, const float *v)
{
    const s_cluster_t *c = s_nearest(self, v);
    return c ? c->id : 0;
}

int lyc_clusters_label(lyc_clusters_t *self, long cid, const char *domain)
{
    s_cluster_t *c = s_find(self, cid);
    char *copy = c ? strdup(domain) : NULL;
    if (!copy)
        return -1;
    for (size_t i = 0; c->members && i < c->size; i++) {
        free(c->members[i].tenant);
        free(c->members[i].id);
    }
    free(c->members);
    free(c->words);
    free(c->domain);
    c->members = NULL;
    c->words = NULL;
    c->n_words = 0;
    c->domain = copy;
    return 0;
}

const char *lyc_clusters_domain(const lyc_clusters_t *self, long cid)
{
    const s_cluster_t *c = s_find(self, cid);
    return c ? c->domain : NULL;
}

long lyc_clusters_add_domain(lyc_clusters_t *self, const float *centroid, const char *domain)
{
    s_cluster_t *c = s_start(self);
    if (!c)
        return -1;
    memcpy(c->sum, centroid, self->dim * sizeof *c->sum);
    if (lyc_clusters_label(self, c->id, domain) != 0) {
        lyc_clusters_remove(self, c->id);
        return -1;
    }
    return c->id;
}

const float *lyc_clusters_centroid(const lyc_clusters_t *self, long cid)
{
    const s_cluster_t *c = s_find(self, cid);
    return c ? c->sum : NULL;
}

size_t lyc_clusters_count(const lyc_clusters_t *self)
{
    return self->count;
}
