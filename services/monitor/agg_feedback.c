/*
 * agg_feedback.c - answer calls: per model, per domain and model, per time
 * bucket, per query; the queries' folding when there are too many.
 */
#include "agg_internal.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- records ------------------------------------------------------------- */

void lyc_agg_model_free(void **item)
{
    agg_model_t *m = *item;
    if (m) {
        free(m->name);
        lyc_lathist_destroy(&m->latency);
        free(m);
    }
    *item = NULL;
}

void lyc_agg_cell_free(void **item)
{
    agg_cell_t *c = *item;
    if (c) {
        free(c->domain);
        free(c->model);
        free(c);
    }
    *item = NULL;
}

void lyc_agg_query_free(void **item)
{
    agg_query_t *q = *item;
    if (q) {
        free(q->trace);
        free(q->domain);
        free(q->judged_by);
        free(q);
    }
    *item = NULL;
}

void lyc_agg_domain_free(void **item)
{
    agg_domain_t *d = *item;
    if (d) {
        free(d->domain);
        free(d);
    }
    *item = NULL;
}

void lyc_agg_points_free(void **item)
{
    agg_points_t *p = *item;
    if (p) {
        free(p->model);
        free(p->domain);
        free(p->v);
        free(p);
    }
    *item = NULL;
}

static agg_model_t *s_model(lyc_agg_t *self, const char *name)
{
    agg_model_t *m = zhashx_lookup(self->models, name);
    if (m)
        return m;
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->name = lyc_agg_strdup(name);
    m->latency = lyc_lathist_new();
    void *item = m;
    if (!m->name || !m->latency || zhashx_insert(self->models, name, m) != 0) {
        lyc_agg_model_free(&item);
        return NULL;
    }
    return m;
}

static agg_cell_t *s_cell(lyc_agg_t *self, const char *domain, const char *model)
{
    char key[LYC_AGG_KEY_MAX];
    lyc_agg_key(key, domain, model);
    agg_cell_t *c = zhashx_lookup(self->cells, key);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->domain = lyc_agg_strdup(domain);
    c->model = lyc_agg_strdup(model);
    void *item = c;
    if (!c->domain || !c->model || zhashx_insert(self->cells, key, c) != 0) {
        lyc_agg_cell_free(&item);
        return NULL;
    }
    return c;
}

static agg_query_t *s_query(lyc_agg_t *self, const Lyceum__V1__FeedbackEvent *ev, int64_t at_us)
{
    const char *trace = *ev->trace_id ? ev->trace_id : ev->query_id;
    agg_query_t *q = zhashx_lookup(self->queries, trace);
    if (q)
        return q;
    q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->trace = lyc_agg_strdup(trace);
    q->domain = lyc_agg_strdup(ev->domain);
    q->judged_by = lyc_agg_strdup("");
    q->first_at_us = at_us;
    void *item = q;
    if (!q->trace || !q->domain || !q->judged_by || zhashx_insert(self->queries, trace, q) != 0) {
        lyc_agg_query_free(&item);
        return NULL;
    }
    return q;
}

static agg_points_t *s_points(lyc_agg_t *self, const char *model, const char *domain)
{
    char key[LYC_AGG_KEY_MAX];
    lyc_agg_key(key, model, domain);
    agg_points_t *p = zhashx_lookup(self->points, key);
    if (p)
        return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->model = lyc_agg_strdup(model);
    p->domain = lyc_agg_strdup(domain);
    void *item = p;
    if (!p->model || !p->domain || zhashx_insert(self->points, key, p) != 0) {
        lyc_agg_points_free(&item);
        return NULL;
    }
    return p;
}

/* ---- one answer call ----------------------------------------------------- */

static int s_failed(const Lyceum__V1__FeedbackEvent *ev)
{
    return ev->error && ev->error->code != LYCEUM__V1__ERROR_CODE__ERROR_NONE;
}

static void s_count_model(agg_model_t *m, const Lyceum__V1__FeedbackEvent *ev)
{
    m->calls++;
    m->sup_calls += ev->supervisor;
    m->wins += ev->winner;
    m->for_learning += ev->for_learning;
    m->cost += lyc_agg_pusd(ev->cost_usd);
    m->judge_cost += lyc_agg_pusd(ev->judge_cost_usd);
    if (ev->usage) {
        m->tokens_in += ev->usage->prompt_tokens;
        m->tokens_out += ev->usage->completion_tokens;
    }
    if (s_failed(ev)) {
        unsigned code = (unsigned) ev->error->code;
        m->errors[code < LYC_AGG_ERROR_KINDS ? code : LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL]++;
    } else {
        m->ok++;
    }
    if (!s_failed(ev) || ev->latency_ms > 0)
        lyc_lathist_add(m->latency, ev->latency_ms);
}

/* Lexicographically smaller of two strings: keeps a record independent of
 * the order its events came in, should they ever disagree. */
static int s_set_min(char **field, const char *value)
{
    if (!value || !*value || (**field && strcmp(*field, value) <= 0))
        return 0;
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

static void s_count_query(agg_query_t *q, const Lyceum__V1__FeedbackEvent *ev, int64_t at_us)
{
    q->calls++;
    q->cost += lyc_agg_pusd(ev->cost_usd) + lyc_agg_pusd(ev->judge_cost_usd);
    if (at_us < q->first_at_us)
        q->first_at_us = at_us;
    if (ev->latency_ms > q->max_latency_ms)
        q->max_latency_ms = ev->latency_ms;
    if (ev->supervisor && !s_failed(ev)) {
        int64_t cost = lyc_agg_pusd(ev->cost_usd);
        q->sup_cost = q->sup_answered && q->sup_cost > cost ? q->sup_cost : cost;
        q->sup_answered = 1;
    }
    uint32_t in = ev->usage ? ev->usage->prompt_tokens : 0;
    uint32_t out = ev->usage ? ev->usage->completion_tokens : 0;
    if (in > q->max_prompt)
        q->max_prompt = in;
    if (out > q->max_completion)
        q->max_completion = out;
    if (ev->winner && !s_failed(ev)) {
        q->has_winner = 1;
        q->win_prompt = in;
        q->win_completion = out;
    }
}

static int s_count_bucket(lyc_agg_t *self, const Lyceum__V1__FeedbackEvent *ev, int64_t at_us)
{
    agg_bucket_t *b = lyc_agg_bucket(self, lyc_agg_bucket_start(self, at_us));
    if (!b)
        return -1;
    b->calls++;
    b->sup_calls += ev->supervisor;
    b->errors += s_failed(ev);
    return 0;
}

/* A score for the learning view: successful answers of models that are not
 * the supervisor. */
static int s_count_point(lyc_agg_t *self, const Lyceum__V1__FeedbackEvent *ev, int64_t at_us)
{
    if (s_failed(ev) || ev->supervisor)
        return 0;
    agg_points_t *p = s_points(self, ev->model, ev->domain);
    if (!p)
        return -1;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        agg_point_t *grown = realloc(p->v, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->v = grown;
        p->cap = cap;
    }
    p->v[p->n++] = (agg_point_t){.at_us = at_us, .score = lyc_agg_nscore(ev->score)};
    return 0;
}

static int s_human(lyc_agg_t *self, const Lyceum__V1__FeedbackEvent *ev)
{
    agg_model_t *m = s_model(self, ev->model);
    if (!m)
        return -1;
    m->human_n++;
    m->human_sum += lyc_agg_nscore(ev->score);
    self->human++;
    return 0;
}

/* Figures the aggregate can add up exactly: finite, in range, and money well
 * below what a pico-dollar int64 holds (9.2 million USD). */
static int s_sane(const Lyceum__V1__FeedbackEvent *ev)
{
    static const double max_usd = 1e6;
    return isfinite(ev->score) && ev->score >= 0 && ev->score <= 1 && isfinite(ev->cost_usd) &&
           ev->cost_usd >= 0 && ev->cost_usd <= max_usd && isfinite(ev->judge_cost_usd) &&
           ev->judge_cost_usd >= 0 && ev->judge_cost_usd <= max_usd;
}

int lyc_agg_feedback(lyc_agg_t *self, const Lyceum__V1__FeedbackEvent *ev, int64_t at_us)
{
    /* An event no Lyceum process writes (a corrupt or hostile record) is refused. */
    if (!s_sane(ev))
        return -1;
    if (ev->source == LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN)
        return s_human(self, ev);
    agg_model_t *m = s_model(self, ev->model);
    agg_query_t *q = s_query(self, ev, at_us);
    if (!m || !q)
        return -1;
    s_count_model(m, ev);
    s_count_query(q, ev, at_us);
    q->touched = ++self->tick;
    if (ev->supervisor && !zhashx_lookup(self->sup_seen, ev->model)) {
        char *flag = strdup("1");
        if (!flag || zhashx_insert(self->sup_seen, ev->model, flag) != 0)
            free(flag);
    }
    int rc = s_set_min(&q->domain, ev->domain) | s_set_min(&q->judged_by, ev->judged_by);
    if (!s_failed(ev)) {
        agg_cell_t *c = s_cell(self, ev->domain, ev->model);
        if (!c)
            return -1;
        c->n++;
        c->sum += lyc_agg_nscore(ev->score);
        c->wins += ev->winner;
    }
    rc |= s_count_bucket(self, ev, at_us) | s_count_point(self, ev, at_us);
    lyc_agg_fold_old(self);
    return rc ? -1 : 0;
}

/* ---- queries ------------------------------------------------------------- */

int64_t lyc_agg_sup_only(const lyc_agg_t *self, const agg_query_t *q)
{
    if (q->sup_answered)
        return q->sup_cost;
    uint32_t in = q->has_winner ? q->win_prompt : q->max_prompt;
    uint32_t out = q->has_winner ? q->win_completion : q->max_completion;
    return lyc_agg_pusd((self->cfg.sup_price_in * in + self->cfg.sup_price_out * out) / 1e6);
}

/* Adds one query's figures to a fold. */
static void s_fold_add(const lyc_agg_t *self, agg_fold_t *f, const agg_query_t *q)
{
    f->queries++;
    f->judged += lyc_agg_is_judge_call(q->judged_by);
    f->sup_judged += lyc_agg_is_supervisor(self, q->judged_by);
    f->cost += q->cost;
    f->sup_only += lyc_agg_sup_only(self, q);
}

static agg_domain_t *s_domain(lyc_agg_t *self, const char *name)
{
    agg_domain_t *d = zhashx_lookup(self->domains, name);
    if (d)
        return d;
    d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->domain = lyc_agg_strdup(name);
    void *item = d;
    if (!d->domain || zhashx_insert(self->domains, name, d) != 0) {
        lyc_agg_domain_free(&item);
        return NULL;
    }
    return d;
}

/* Moves one query's figures into the folded totals. */
static void s_fold(lyc_agg_t *self, const agg_query_t *q)
{
    agg_bucket_t *b = lyc_agg_bucket(self, lyc_agg_bucket_start(self, q->first_at_us));
    agg_domain_t *d = s_domain(self, q->domain);
    s_fold_add(self, &self->folded, q);
    if (b)
        s_fold_add(self, &b->folded, q);
    if (d)
        s_fold_add(self, &d->fold, q);
    lyc_lathist_add(self->e2e_fold, q->max_latency_ms);
}

/* Stalest first: the queries whose latest event is oldest in arrival. */
static int s_by_touch(const void *a, const void *b)
{
    const agg_query_t *x = *(agg_query_t *const *) a, *y = *(agg_query_t *const *) b;
    return x->touched < y->touched ? -1 : x->touched > y->touched;
}

void lyc_agg_fold_old(lyc_agg_t *self)
{
    size_t n = zhashx_size(self->queries), keep = self->cfg.max_queries;
    if (n <= keep + keep / 8)
        return; /* fold in batches: sorting is not done per event */
    agg_query_t **all = malloc(n * sizeof *all);
    if (!all)
        return;
    size_t i = 0;
    for (agg_query_t *q = zhashx_first(self->queries); q && i < n; q = zhashx_next(self->queries))
        all[i++] = q;
    qsort(all, i, sizeof *all, s_by_touch);
    for (size_t k = 0; k + keep < i; k++) {
        char key[LYC_AGG_KEY_MAX];
        snprintf(key, sizeof key, "%s", all[k]->trace);
        s_fold(self, all[k]);
        zhashx_delete(self->queries, key); /* frees all[k] */
    }
    free(all);
    lyc_agg_prune(self);
}

/* The bucket of a start time among buckets sorted by start, or NULL. */
static agg_bucket_t *s_find(agg_bucket_t **sorted, size_t n, int64_t start)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid]->start_us == start)
            return sorted[mid];
        if (sorted[mid]->start_us < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int s_by_start(const void *a, const void *b)
{
    const agg_bucket_t *x = *(agg_bucket_t *const *) a, *y = *(agg_bucket_t *const *) b;
    return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

void lyc_agg_scratch(lyc_agg_t *self)
{
    size_t n = zhashx_size(self->buckets), i = 0;
    agg_bucket_t **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return;
    for (agg_bucket_t *b = zhashx_first(self->buckets); b && i < n;
         b = zhashx_next(self->buckets)) {
        memset(&b->scratch, 0, sizeof b->scratch);
        sorted[i++] = b;
    }
    qsort(sorted, i, sizeof *sorted, s_by_start);
    for (agg_domain_t *d = zhashx_first(self->domains); d; d = zhashx_next(self->domains))
        memset(&d->scratch, 0, sizeof d->scratch);
    for (agg_query_t *q = zhashx_first(self->queries); q; q = zhashx_next(self->queries)) {
        agg_bucket_t *b = s_find(sorted, i, lyc_agg_bucket_start(self, q->first_at_us));
        agg_domain_t *d = zhashx_lookup(self->domains, q->domain);
        if (b)
            s_fold_add(self, &b->scratch, q);
        if (d || (d = s_domain(self, q->domain)))
            s_fold_add(self, &d->scratch, q);
    }
    free(sorted);
}

void lyc_agg_prune(lyc_agg_t *self)
{
    size_t n = zhashx_size(self->buckets), keep = self->cfg.max_buckets, i = 0;
    if (n <= 2 * keep)
        return;
    agg_bucket_t **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return;
    for (agg_bucket_t *b = zhashx_first(self->buckets); b && i < n; b = zhashx_next(self->buckets))
        sorted[i++] = b;
    qsort(sorted, i, sizeof *sorted, s_by_start);
    for (size_t k = 0; k + keep < i; k++) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long) sorted[k]->start_us);
        agg_fold_t *f = &sorted[k]->folded;
        self->pruned.queries += f->queries;
        self->pruned.judged += f->judged;
        self->pruned.sup_judged += f->sup_judged;
        self->pruned.cost += f->cost;
        self->pruned.sup_only += f->sup_only;
        zhashx_delete(self->buckets, key);
    }
    free(sorted);
}
