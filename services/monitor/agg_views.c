/*
 * agg_views.c - the JSON views of agg.h (all but learning, agg_learning.c).
 *
 * Query-level figures are live records plus what was folded out of them;
 * each view recomputes the live part (lyc_agg_scratch) so it never depends
 * on the order events came in.
 */
#include "agg_internal.h"

#include "model_config.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_error_names[LYC_AGG_ERROR_KINDS] = {
    "none", "bad_request", "timeout", "backend", "unavailable", "abstained", "budget", "internal"};

/* ---- helpers ------------------------------------------------------------- */

typedef struct {
    const char *key;
    void *item;
} s_pair_t;

static int s_by_key(const void *a, const void *b)
{
    return strcmp(((const s_pair_t *) a)->key, ((const s_pair_t *) b)->key);
}

void **lyc_agg_sorted(zhashx_t *map, size_t *n)
{
    size_t size = zhashx_size(map), i = 0;
    *n = 0;
    s_pair_t *pairs = size ? malloc(size * sizeof *pairs) : NULL;
    void **items = size ? malloc(size * sizeof *items) : NULL;
    if (!pairs || !items) {
        free(pairs);
        free(items);
        return NULL;
    }
    for (void *item = zhashx_first(map); item && i < size; item = zhashx_next(map))
        pairs[i++] = (s_pair_t){.key = zhashx_cursor(map), .item = item};
    qsort(pairs, i, sizeof *pairs, s_by_key);
    for (size_t k = 0; k < i; k++)
        items[k] = pairs[k].item;
    free(pairs);
    *n = i;
    return items;
}

void lyc_agg_add_ratio(cJSON *obj, const char *name, double sum, double n)
{
    if (n > 0)
        cJSON_AddNumberToObject(obj, name, sum / n);
    else
        cJSON_AddNullToObject(obj, name);
}

double lyc_agg_seconds(int64_t at_us)
{
    return (double) at_us / 1e6;
}

static int s_by_start(const void *a, const void *b)
{
    const agg_bucket_t *x = *(agg_bucket_t *const *) a, *y = *(agg_bucket_t *const *) b;
    return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* Buckets by time, after the scratch figures were recomputed; *first is
 * the index of the first one a series shows (the newest max_buckets). */
static agg_bucket_t **s_buckets(lyc_agg_t *self, size_t *n, size_t *first)
{
    size_t size = zhashx_size(self->buckets), i = 0;
    agg_bucket_t **all = malloc((size ? size : 1) * sizeof *all);
    *n = *first = 0;
    if (!all)
        return NULL;
    lyc_agg_scratch(self);
    for (agg_bucket_t *b = zhashx_first(self->buckets); b && i < size;
         b = zhashx_next(self->buckets))
        all[i++] = b;
    qsort(all, i, sizeof *all, s_by_start);
    *n = i;
    *first = i > self->cfg.max_buckets ? i - self->cfg.max_buckets : 0;
    return all;
}

static void s_fold_sum(agg_fold_t *to, const agg_fold_t *f)
{
    to->queries += f->queries;
    to->judged += f->judged;
    to->sup_judged += f->sup_judged;
    to->cost += f->cost;
    to->sup_only += f->sup_only;
}

/* Folded plus live query figures. */
static agg_fold_t s_query_totals(lyc_agg_t *self)
{
    agg_fold_t t = self->folded;
    for (agg_query_t *q = zhashx_first(self->queries); q; q = zhashx_next(self->queries)) {
        t.queries++;
        t.judged += lyc_agg_is_judge_call(q->judged_by);
        t.sup_judged += lyc_agg_is_supervisor(self, q->judged_by);
        t.cost += q->cost;
        t.sup_only += lyc_agg_sup_only(self, q);
    }
    return t;
}

void lyc_agg_totals(lyc_agg_t *self, lyc_agg_totals_t *out)
{
    memset(out, 0, sizeof *out);
    out->events = self->events;
    out->duplicates = self->duplicates;
    out->ignored = self->ignored;
    for (agg_model_t *m = zhashx_first(self->models); m; m = zhashx_next(self->models)) {
        out->answer_calls += m->calls;
        out->supervisor_calls += m->sup_calls;
        out->errors += m->calls - m->ok;
        out->timeouts += m->errors[LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT];
    }
    agg_fold_t q = s_query_totals(self);
    out->queries = q.queries;
    out->judged = q.judged;
    out->supervisor_judged = q.sup_judged;
    out->cost_usd = lyc_agg_usd(q.cost);
    out->sup_only_usd = lyc_agg_usd(q.sup_only);
}

/* ---- overview ------------------------------------------------------------ */

static void s_add_registry(lyc_agg_t *self, cJSON *root)
{
    cJSON *list = cJSON_AddArrayToObject(root, "registry");
    size_t n = 0;
    void **items = lyc_agg_sorted(self->entries, &n);
    for (size_t i = 0; list && i < n; i++) {
        const agg_entry_t *e = items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", e->model);
        cJSON_AddStringToObject(o, "backend", e->backend);
        cJSON_AddStringToObject(o, "version", e->version);
        cJSON_AddStringToObject(o, "parent", e->parent);
        cJSON_AddStringToObject(o, "roles", e->roles);
        cJSON_AddBoolToObject(o, "active", e->active);
        cJSON_AddBoolToObject(o, "candidate", e->candidate);
        cJSON_AddNumberToObject(o, "price_in_per_mtok", e->price_in);
        cJSON_AddNumberToObject(o, "price_out_per_mtok", e->price_out);
        cJSON_AddItemToArray(list, o);
    }
    free(items);
}

static void s_add_names(zhashx_t *map, cJSON *root, const char *name)
{
    cJSON *list = cJSON_AddArrayToObject(root, name);
    size_t n = 0;
    void **items = lyc_agg_sorted(map, &n);
    for (size_t i = 0; list && i < n; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(((agg_model_t *) items[i])->name));
    free(items);
}

/* Domain names of the accuracy cells, sorted, without repeats. */
static void s_add_domains(lyc_agg_t *self, cJSON *root, const char *name)
{
    cJSON *list = cJSON_AddArrayToObject(root, name);
    size_t n = 0;
    void **items = lyc_agg_sorted(self->cells, &n);
    const char *last = NULL;
    for (size_t i = 0; list && i < n; i++) {
        const agg_cell_t *c = items[i];
        if (!last || strcmp(last, c->domain) != 0)
            cJSON_AddItemToArray(list, cJSON_CreateString(c->domain));
        last = c->domain;
    }
    free(items);
}

cJSON *lyc_agg_overview(lyc_agg_t *self)
{
    lyc_agg_totals_t t;
    lyc_agg_totals(self, &t);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "events", (double) t.events);
    cJSON_AddNumberToObject(root, "duplicates", (double) t.duplicates);
    cJSON_AddNumberToObject(root, "ignored", (double) t.ignored);
    cJSON *types = cJSON_AddObjectToObject(root, "by_type");
    cJSON_AddNumberToObject(types, "feedback",
                            (double) self->by_type[LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT]);
    cJSON_AddNumberToObject(types, "role_change",
                            (double) self->by_type[LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE]);
    cJSON_AddNumberToObject(types, "model_entry",
                            (double) self->by_type[LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY]);
    cJSON_AddNumberToObject(types, "training_sample",
                            (double) self->by_type[LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE]);
    cJSON_AddNumberToObject(types, "training_job",
                            (double) self->by_type[LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB]);
    cJSON_AddNumberToObject(root, "human_feedback", (double) self->human);
    cJSON_AddNumberToObject(root, "answer_calls", (double) t.answer_calls);
    cJSON_AddNumberToObject(root, "supervisor_calls", (double) t.supervisor_calls);
    lyc_agg_add_ratio(root, "supervisor_answer_share", (double) t.supervisor_calls,
                      (double) t.answer_calls);
    cJSON_AddNumberToObject(root, "queries", (double) t.queries);
    cJSON_AddNumberToObject(root, "judged", (double) t.judged);
    cJSON_AddNumberToObject(root, "supervisor_judged", (double) t.supervisor_judged);
    lyc_agg_add_ratio(root, "supervisor_judge_share", (double) t.supervisor_judged,
                      (double) t.judged);
    cJSON_AddNumberToObject(root, "cost_usd", t.cost_usd);
    cJSON_AddNumberToObject(root, "supervisor_only_usd", t.sup_only_usd);
    cJSON_AddNumberToObject(root, "saved_usd", t.sup_only_usd - t.cost_usd);
    lyc_agg_add_ratio(root, "saved_share", t.sup_only_usd - t.cost_usd, t.sup_only_usd);
    cJSON_AddNumberToObject(root, "errors", (double) t.errors);
    cJSON_AddNumberToObject(root, "timeouts", (double) t.timeouts);
    cJSON_AddNumberToObject(root, "first_t", lyc_agg_seconds(self->first_at_us));
    cJSON_AddNumberToObject(root, "last_t", lyc_agg_seconds(self->last_at_us));
    cJSON_AddNumberToObject(root, "bucket_s", lyc_agg_seconds(self->cfg.bucket_us));
    s_add_names(self->models, root, "models");
    s_add_domains(self, root, "domains");
    s_add_registry(self, root);
    return root;
}

/* ---- supervisor usage ---------------------------------------------------- */

static cJSON *s_usage_point(const agg_bucket_t *b)
{
    agg_fold_t q = b->folded;
    s_fold_sum(&q, &b->scratch);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", lyc_agg_seconds(b->start_us));
    cJSON_AddNumberToObject(o, "answer_calls", (double) b->calls);
    cJSON_AddNumberToObject(o, "supervisor_calls", (double) b->sup_calls);
    lyc_agg_add_ratio(o, "answer_share", (double) b->sup_calls, (double) b->calls);
    cJSON_AddNumberToObject(o, "queries", (double) q.queries);
    cJSON_AddNumberToObject(o, "judged", (double) q.judged);
    cJSON_AddNumberToObject(o, "supervisor_judged", (double) q.sup_judged);
    lyc_agg_add_ratio(o, "judge_share", (double) q.sup_judged, (double) q.judged);
    return o;
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The configured supervisors, then those only seen answering as one. */
static void s_add_supervisors(lyc_agg_t *self, cJSON *root)
{
    cJSON *list = cJSON_AddArrayToObject(root, "supervisors");
    for (char **s = self->supervisors; list && s && *s; s++)
        cJSON_AddItemToArray(list, cJSON_CreateString(*s));
    size_t size = zhashx_size(self->sup_seen), n = 0;
    const char **names = malloc((size ? size : 1) * sizeof *names);
    for (void *flag = zhashx_first(self->sup_seen); names && flag && n < size;
         flag = zhashx_next(self->sup_seen))
        names[n++] = zhashx_cursor(self->sup_seen);
    if (names)
        qsort(names, n, sizeof *names, s_by_name);
    for (size_t i = 0; list && names && i < n; i++) {
        int listed = 0;
        for (char **s = self->supervisors; s && *s; s++)
            listed |= strcmp(*s, names[i]) == 0;
        if (!listed)
            cJSON_AddItemToArray(list, cJSON_CreateString(names[i]));
    }
    free(names);
}

/* How many live queries each judge judged, by judge name. */
static void s_add_judges(lyc_agg_t *self, cJSON *root)
{
    zhashx_t *counts = zhashx_new();
    cJSON *judges = cJSON_AddObjectToObject(root, "judged_by");
    if (!counts || !judges) {
        zhashx_destroy(&counts);
        return;
    }
    for (agg_query_t *q = zhashx_first(self->queries); q; q = zhashx_next(self->queries)) {
        const char *name = *q->judged_by ? q->judged_by : "(none)";
        uintptr_t n = (uintptr_t) zhashx_lookup(counts, name);
        zhashx_update(counts, name, (void *) (n + 1));
    }
    size_t size = zhashx_size(counts), n = 0;
    const char **names = malloc((size ? size : 1) * sizeof *names);
    for (void *c = zhashx_first(counts); names && c && n < size; c = zhashx_next(counts))
        names[n++] = zhashx_cursor(counts);
    if (names)
        qsort(names, n, sizeof *names, s_by_name); /* the same text whatever the arrival order */
    for (size_t i = 0; names && i < n; i++)
        cJSON_AddNumberToObject(judges, names[i],
                                (double) (uintptr_t) zhashx_lookup(counts, names[i]));
    free(names);
    zhashx_destroy(&counts);
}

cJSON *lyc_agg_supervisor_usage(lyc_agg_t *self)
{
    size_t n, first;
    agg_bucket_t **all = s_buckets(self, &n, &first);
    cJSON *root = cJSON_CreateObject();
    if (!all || !root) {
        free(all);
        cJSON_Delete(root);
        return NULL;
    }
    lyc_agg_totals_t t;
    lyc_agg_totals(self, &t);
    cJSON_AddNumberToObject(root, "bucket_s", lyc_agg_seconds(self->cfg.bucket_us));
    cJSON *series = cJSON_AddArrayToObject(root, "series");
    for (size_t i = first; series && i < n; i++)
        cJSON_AddItemToArray(series, s_usage_point(all[i]));
    free(all);
    cJSON *totals = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(totals, "answer_calls", (double) t.answer_calls);
    cJSON_AddNumberToObject(totals, "supervisor_calls", (double) t.supervisor_calls);
    lyc_agg_add_ratio(totals, "answer_share", (double) t.supervisor_calls, (double) t.answer_calls);
    cJSON_AddNumberToObject(totals, "queries", (double) t.queries);
    cJSON_AddNumberToObject(totals, "judged", (double) t.judged);
    cJSON_AddNumberToObject(totals, "supervisor_judged", (double) t.supervisor_judged);
    lyc_agg_add_ratio(totals, "judge_share", (double) t.supervisor_judged, (double) t.judged);
    s_add_supervisors(self, root);
    s_add_judges(self, root);
    return root;
}

/* ---- cost ---------------------------------------------------------------- */

static void s_cost_series(lyc_agg_t *self, cJSON *root)
{
    size_t n, first;
    agg_bucket_t **all = s_buckets(self, &n, &first);
    cJSON *series = cJSON_AddArrayToObject(root, "series");
    int64_t cum = self->pruned.cost, cum_sup = self->pruned.sup_only;
    for (size_t i = 0; all && series && i < n; i++) {
        agg_fold_t q = all[i]->folded;
        s_fold_sum(&q, &all[i]->scratch);
        cum += q.cost;
        cum_sup += q.sup_only;
        if (i < first)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "t", lyc_agg_seconds(all[i]->start_us));
        cJSON_AddNumberToObject(o, "queries", (double) q.queries);
        cJSON_AddNumberToObject(o, "cost_usd", lyc_agg_usd(q.cost));
        cJSON_AddNumberToObject(o, "supervisor_only_usd", lyc_agg_usd(q.sup_only));
        cJSON_AddNumberToObject(o, "cumulative_cost_usd", lyc_agg_usd(cum));
        cJSON_AddNumberToObject(o, "cumulative_supervisor_only_usd", lyc_agg_usd(cum_sup));
        cJSON_AddItemToArray(series, o);
    }
    free(all);
}

static void s_cost_models(lyc_agg_t *self, cJSON *root)
{
    cJSON *list = cJSON_AddArrayToObject(root, "models");
    size_t n = 0;
    void **items = lyc_agg_sorted(self->models, &n);
    for (size_t i = 0; list && i < n; i++) {
        const agg_model_t *m = items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->name);
        cJSON_AddNumberToObject(o, "calls", (double) m->calls);
        cJSON_AddNumberToObject(o, "cost_usd", lyc_agg_usd(m->cost));
        cJSON_AddNumberToObject(o, "judge_cost_usd", lyc_agg_usd(m->judge_cost));
        lyc_agg_add_ratio(o, "mean_cost_usd", lyc_agg_usd(m->cost), (double) m->calls);
        cJSON_AddNumberToObject(o, "prompt_tokens", (double) m->tokens_in);
        cJSON_AddNumberToObject(o, "completion_tokens", (double) m->tokens_out);
        cJSON_AddItemToArray(list, o);
    }
    free(items);
}

/* Per domain: folded plus live (the scratch s_buckets just recomputed). */
static void s_cost_domains(lyc_agg_t *self, cJSON *root)
{
    cJSON *list = cJSON_AddArrayToObject(root, "domains");
    size_t n = 0;
    void **items = lyc_agg_sorted(self->domains, &n);
    for (size_t i = 0; list && i < n; i++) {
        const agg_domain_t *d = items[i];
        agg_fold_t f = d->fold;
        s_fold_sum(&f, &d->scratch);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "domain", d->domain);
        cJSON_AddNumberToObject(o, "queries", (double) f.queries);
        cJSON_AddNumberToObject(o, "cost_usd", lyc_agg_usd(f.cost));
        cJSON_AddNumberToObject(o, "supervisor_only_usd", lyc_agg_usd(f.sup_only));
        cJSON_AddItemToArray(list, o);
    }
    free(items);
}

static int s_query_by_time(const void *a, const void *b)
{
    const agg_query_t *x = *(agg_query_t *const *) a, *y = *(agg_query_t *const *) b;
    if (x->first_at_us != y->first_at_us)
        return x->first_at_us < y->first_at_us ? -1 : 1;
    return strcmp(x->trace, y->trace);
}

/* The newest recent_queries queries, oldest first. */
static void s_cost_queries(lyc_agg_t *self, cJSON *root)
{
    cJSON *list = cJSON_AddArrayToObject(root, "queries");
    size_t size = zhashx_size(self->queries), n = 0;
    agg_query_t **all = malloc((size ? size : 1) * sizeof *all);
    for (agg_query_t *q = zhashx_first(self->queries); all && q && n < size;
         q = zhashx_next(self->queries))
        all[n++] = q;
    if (all)
        qsort(all, n, sizeof *all, s_query_by_time);
    size_t from = n > self->cfg.recent_queries ? n - self->cfg.recent_queries : 0;
    for (size_t i = from; list && all && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "trace_id", all[i]->trace);
        cJSON_AddNumberToObject(o, "t", lyc_agg_seconds(all[i]->first_at_us));
        cJSON_AddStringToObject(o, "domain", all[i]->domain);
        cJSON_AddNumberToObject(o, "calls", all[i]->calls);
        cJSON_AddNumberToObject(o, "cost_usd", lyc_agg_usd(all[i]->cost));
        cJSON_AddNumberToObject(o, "supervisor_only_usd",
                                lyc_agg_usd(lyc_agg_sup_only(self, all[i])));
        cJSON_AddBoolToObject(o, "supervisor_answered", all[i]->sup_answered);
        cJSON_AddItemToArray(list, o);
    }
    free(all);
}

cJSON *lyc_agg_cost(lyc_agg_t *self)
{
    lyc_agg_totals_t t;
    lyc_agg_totals(self, &t);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON *totals = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(totals, "queries", (double) t.queries);
    cJSON_AddNumberToObject(totals, "cost_usd", t.cost_usd);
    cJSON_AddNumberToObject(totals, "supervisor_only_usd", t.sup_only_usd);
    cJSON_AddNumberToObject(totals, "saved_usd", t.sup_only_usd - t.cost_usd);
    lyc_agg_add_ratio(totals, "saved_share", t.sup_only_usd - t.cost_usd, t.sup_only_usd);
    lyc_agg_add_ratio(totals, "cost_per_query_usd", t.cost_usd, (double) t.queries);
    cJSON *prices = cJSON_AddObjectToObject(root, "supervisor_prices");
    cJSON_AddNumberToObject(prices, "in_per_mtok", self->cfg.sup_price_in);
    cJSON_AddNumberToObject(prices, "out_per_mtok", self->cfg.sup_price_out);
    s_cost_series(self, root); /* also recomputes the domains' scratch */
    s_cost_models(self, root);
    s_cost_domains(self, root);
    s_cost_queries(self, root);
    return root;
}

/* ---- domain accuracy ----------------------------------------------------- */

static cJSON *s_cell_json(const agg_cell_t *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "domain", c->domain);
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddNumberToObject(o, "n", (double) c->n);
    lyc_agg_add_ratio(o, "mean", lyc_agg_score(c->sum), (double) c->n);
    cJSON_AddNumberToObject(o, "wins", (double) c->wins);
    return o;
}

cJSON *lyc_agg_domains(lyc_agg_t *self)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    s_add_domains(self, root, "domains");
    s_add_names(self->models, root, "models");
    cJSON *cells = cJSON_AddArrayToObject(root, "cells");
    size_t n = 0;
    void **items = lyc_agg_sorted(self->cells, &n);
    for (size_t i = 0; cells && i < n; i++)
        cJSON_AddItemToArray(cells, s_cell_json(items[i]));
    free(items);
    return root;
}

/* ---- roles --------------------------------------------------------------- */

static int s_role_by_time(const void *a, const void *b)
{
    const agg_role_t *x = *(agg_role_t *const *) a, *y = *(agg_role_t *const *) b;
    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    int c = strcmp(x->model, y->model);
    return c ? c : strcmp(x->domain, y->domain);
}

static cJSON *s_role_json(const agg_role_t *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", lyc_agg_seconds(r->at_us));
    cJSON_AddNumberToObject(o, "at_us", (double) r->at_us);
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddStringToObject(o, "domain", r->domain);
    cJSON_AddStringToObject(o, "from", lyc_role_name(r->from));
    cJSON_AddStringToObject(o, "to", lyc_role_name(r->to));
    cJSON_AddStringToObject(o, "direction", r->to > r->from ? "promotion" : "demotion");
    cJSON_AddStringToObject(o, "reason", r->reason);
    cJSON_AddNumberToObject(o, "evidence_count", (double) r->evidence);
    cJSON_AddNumberToObject(o, "mean_score", r->mean);
    cJSON_AddNumberToObject(o, "lower_bound", r->lower);
    cJSON_AddNumberToObject(o, "upper_bound", r->upper);
    cJSON_AddStringToObject(o, "tenant", r->tenant);
    return o;
}

/* The latest change of each model and domain (sorted holds every change by time). */
static void s_current_roles(agg_role_t **sorted, size_t n, cJSON *root)
{
    cJSON *list = cJSON_AddArrayToObject(root, "current");
    for (size_t i = 0; list && i < n; i++) {
        int later = 0;
        for (size_t k = i + 1; k < n && !later; k++)
            later = strcmp(sorted[k]->model, sorted[i]->model) == 0 &&
                    strcmp(sorted[k]->domain, sorted[i]->domain) == 0 &&
                    strcmp(sorted[k]->tenant, sorted[i]->tenant) == 0;
        if (later)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", sorted[i]->model);
        cJSON_AddStringToObject(o, "domain", sorted[i]->domain);
        cJSON_AddStringToObject(o, "tenant", sorted[i]->tenant);
        cJSON_AddStringToObject(o, "role", lyc_role_name(sorted[i]->to));
        cJSON_AddNumberToObject(o, "since_t", lyc_agg_seconds(sorted[i]->at_us));
        cJSON_AddItemToArray(list, o);
    }
}

cJSON *lyc_agg_roles(lyc_agg_t *self)
{
    cJSON *root = cJSON_CreateObject();
    agg_role_t **sorted = malloc((self->n_roles ? self->n_roles : 1) * sizeof *sorted);
    if (!root || !sorted) {
        cJSON_Delete(root);
        free(sorted);
        return NULL;
    }
    for (size_t i = 0; i < self->n_roles; i++)
        sorted[i] = &self->roles[i];
    qsort(sorted, self->n_roles, sizeof *sorted, s_role_by_time);
    cJSON *changes = cJSON_AddArrayToObject(root, "changes");
    for (size_t i = 0; changes && i < self->n_roles; i++)
        cJSON_AddItemToArray(changes, s_role_json(sorted[i]));
    s_current_roles(sorted, self->n_roles, root);
    free(sorted);
    return root;
}

/* ---- latency ------------------------------------------------------------- */

static cJSON *s_latency_json(const lyc_lathist_t *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double) lyc_lathist_count(h));
    cJSON_AddNumberToObject(o, "mean_ms", lyc_lathist_mean(h));
    cJSON_AddNumberToObject(o, "p50_ms", lyc_lathist_quantile(h, 0.50));
    cJSON_AddNumberToObject(o, "p90_ms", lyc_lathist_quantile(h, 0.90));
    cJSON_AddNumberToObject(o, "p99_ms", lyc_lathist_quantile(h, 0.99));
    cJSON_AddNumberToObject(o, "max_ms", lyc_lathist_max(h));
    return o;
}

cJSON *lyc_agg_latency(lyc_agg_t *self)
{
    cJSON *root = cJSON_CreateObject();
    lyc_lathist_t *e2e = lyc_lathist_new();
    if (!root || !e2e) {
        cJSON_Delete(root);
        lyc_lathist_destroy(&e2e);
        return NULL;
    }
    cJSON *list = cJSON_AddArrayToObject(root, "models");
    size_t n = 0;
    void **items = lyc_agg_sorted(self->models, &n);
    for (size_t i = 0; list && i < n; i++) {
        const agg_model_t *m = items[i];
        cJSON *o = s_latency_json(m->latency);
        cJSON_AddStringToObject(o, "model", m->name);
        cJSON_AddItemToArray(list, o);
    }
    free(items);
    lyc_lathist_merge(e2e, self->e2e_fold);
    for (agg_query_t *q = zhashx_first(self->queries); q; q = zhashx_next(self->queries))
        lyc_lathist_add(e2e, q->max_latency_ms);
    cJSON_AddItemToObject(root, "end_to_end", s_latency_json(e2e));
    lyc_lathist_destroy(&e2e);
    return root;
}

/* ---- errors -------------------------------------------------------------- */

static cJSON *s_errors_json(const agg_model_t *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m->name);
    cJSON_AddNumberToObject(o, "calls", (double) m->calls);
    cJSON_AddNumberToObject(o, "errors", (double) (m->calls - m->ok));
    lyc_agg_add_ratio(o, "error_rate", (double) (m->calls - m->ok), (double) m->calls);
    cJSON_AddNumberToObject(o, "timeouts",
                            (double) m->errors[LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT]);
    cJSON *codes = cJSON_AddObjectToObject(o, "by_code");
    for (int k = 1; codes && k < LYC_AGG_ERROR_KINDS; k++)
        cJSON_AddNumberToObject(codes, s_error_names[k], (double) m->errors[k]);
    return o;
}

cJSON *lyc_agg_errors(lyc_agg_t *self)
{
    lyc_agg_totals_t t;
    lyc_agg_totals(self, &t);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON *list = cJSON_AddArrayToObject(root, "models");
    size_t n = 0;
    void **items = lyc_agg_sorted(self->models, &n);
    for (size_t i = 0; list && i < n; i++)
        cJSON_AddItemToArray(list, s_errors_json(items[i]));
    free(items);
    cJSON *totals = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(totals, "calls", (double) t.answer_calls);
    cJSON_AddNumberToObject(totals, "errors", (double) t.errors);
    cJSON_AddNumberToObject(totals, "timeouts", (double) t.timeouts);
    lyc_agg_add_ratio(totals, "error_rate", (double) t.errors, (double) t.answer_calls);
    size_t nb, first;
    agg_bucket_t **all = s_buckets(self, &nb, &first);
    cJSON *series = cJSON_AddArrayToObject(root, "series");
    for (size_t i = first; all && series && i < nb; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "t", lyc_agg_seconds(all[i]->start_us));
        cJSON_AddNumberToObject(o, "calls", (double) all[i]->calls);
        cJSON_AddNumberToObject(o, "errors", (double) all[i]->errors);
        cJSON_AddItemToArray(series, o);
    }
    free(all);
    return root;
}
