/*
 * agg_learning.c - the peer-learning view: a student's score in a domain
 * before and after its learning moment (agg.h), and the fine-tuning jobs.
 *
 * Derived when read, from every score kept (agg_points_t), so a moment
 * that moves earlier when an older sample arrives late re-splits the same
 * scores: the result depends on the set of events only.
 */
#include "agg_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_job_states[] = {"unspecified", "queued", "running", "succeeded",
                                           "failed",      "gated",  "rejected"};

typedef struct {
    int64_t sum; /* billionths */
    uint64_t n;
} s_mean_t;

/* Adds the scores of model in domain from..to (to 0: no end) to *m. */
static void s_collect(lyc_agg_t *self, const char *model, const char *domain, int64_t from,
                      int64_t to, s_mean_t *m)
{
    char key[LYC_AGG_KEY_MAX];
    const agg_points_t *p = zhashx_lookup(self->points, lyc_agg_key(key, model, domain));
    for (size_t i = 0; p && i < p->n; i++) {
        if (p->v[i].at_us < from || (to && p->v[i].at_us >= to))
            continue;
        m->sum += p->v[i].score;
        m->n++;
    }
}

/* The fine-tuned versions of student: results of its gated jobs in domain,
 * and registry entries naming it as parent. */
static void s_versions(lyc_agg_t *self, const char *student, const char *domain, cJSON *list)
{
    size_t n = 0;
    void **jobs = lyc_agg_sorted(self->jobs, &n);
    for (size_t i = 0; list && i < n; i++) {
        const agg_job_t *j = jobs[i];
        if (j->gated_us && *j->result_model && strcmp(j->student, student) == 0 &&
            strcmp(j->domain, domain) == 0)
            cJSON_AddItemToArray(list, cJSON_CreateString(j->result_model));
    }
    free(jobs);
    void **entries = lyc_agg_sorted(self->entries, &n);
    for (size_t i = 0; list && i < n; i++) {
        const agg_entry_t *e = entries[i];
        int listed = 0;
        for (cJSON *v = list->child; v; v = v->next)
            listed |= strcmp(v->valuestring, e->model) == 0;
        if (!listed && strcmp(e->parent, student) == 0 && !e->candidate)
            cJSON_AddItemToArray(list, cJSON_CreateString(e->model));
    }
    free(entries);
}

/* When student first had a fine-tuned version gated in domain; 0 never. */
static int64_t s_gated(lyc_agg_t *self, const char *student, const char *domain)
{
    int64_t first = 0;
    for (agg_job_t *j = zhashx_first(self->jobs); j; j = zhashx_next(self->jobs))
        if (j->gated_us && strcmp(j->student, student) == 0 && strcmp(j->domain, domain) == 0 &&
            (first == 0 || j->gated_us < first))
            first = j->gated_us;
    return first;
}

static void s_add_mean(cJSON *parent, const char *name, const s_mean_t *m)
{
    cJSON *o = cJSON_AddObjectToObject(parent, name);
    cJSON_AddNumberToObject(o, "n", (double) m->n);
    lyc_agg_add_ratio(o, "mean", lyc_agg_score(m->sum), (double) m->n);
}

/* One student and domain. samples may be NULL (a job without samples). */
static cJSON *s_entry(lyc_agg_t *self, const char *student, const char *domain,
                      const agg_samples_t *samples)
{
    size_t need = (size_t) self->cfg.learning_min_exemplars;
    int64_t ex = samples && samples->n_first >= need ? samples->first[need - 1] : 0;
    int64_t ft = s_gated(self, student, domain);
    int64_t moment = ex && (!ft || ex <= ft) ? ex : ft;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", student);
    cJSON_AddStringToObject(o, "domain", domain);
    cJSON_AddNumberToObject(o, "samples", samples ? (double) samples->count : 0);
    if (moment) {
        cJSON_AddNumberToObject(o, "moment_t", lyc_agg_seconds(moment));
        cJSON_AddStringToObject(o, "moment", moment == ex ? "exemplars" : "finetune");
    } else {
        cJSON_AddNullToObject(o, "moment_t");
        cJSON_AddNullToObject(o, "moment");
    }
    cJSON *versions = cJSON_AddArrayToObject(o, "versions");
    s_versions(self, student, domain, versions);
    s_mean_t before = {0}, after = {0};
    s_collect(self, student, domain, INT64_MIN, moment, &before);
    if (moment) {
        s_collect(self, student, domain, moment, 0, &after);
        for (cJSON *v = versions ? versions->child : NULL; v; v = v->next)
            s_collect(self, v->valuestring, domain, moment, 0, &after);
    }
    s_add_mean(o, "before", &before);
    s_add_mean(o, "after", &after);
    if (before.n && after.n)
        cJSON_AddNumberToObject(o, "delta",
                                lyc_agg_score(after.sum) / (double) after.n -
                                    lyc_agg_score(before.sum) / (double) before.n);
    else
        cJSON_AddNullToObject(o, "delta");
    return o;
}

/* 1 when the sorted samples already list student and domain. */
static int s_listed(void **samples, size_t n, const char *student, const char *domain)
{
    for (size_t i = 0; i < n; i++) {
        const agg_samples_t *s = samples[i];
        if (strcmp(s->student, student) == 0 && strcmp(s->domain, domain) == 0)
            return 1;
    }
    return 0;
}

static void s_entries(lyc_agg_t *self, cJSON *list)
{
    size_t ns = 0, nj = 0;
    void **samples = lyc_agg_sorted(self->samples, &ns);
    void **jobs = lyc_agg_sorted(self->jobs, &nj);
    for (size_t i = 0; list && i < ns; i++) {
        const agg_samples_t *s = samples[i];
        cJSON_AddItemToArray(list, s_entry(self, s->student, s->domain, s));
    }
    for (size_t i = 0; list && i < nj; i++) {
        const agg_job_t *j = jobs[i];
        int earlier = 0; /* one entry per student and domain */
        for (size_t k = 0; k < i; k++)
            earlier |= strcmp(((agg_job_t *) jobs[k])->student, j->student) == 0 &&
                       strcmp(((agg_job_t *) jobs[k])->domain, j->domain) == 0;
        if (!earlier && *j->student && !s_listed(samples, ns, j->student, j->domain))
            cJSON_AddItemToArray(list, s_entry(self, j->student, j->domain, NULL));
    }
    free(samples);
    free(jobs);
}

static cJSON *s_job_json(const agg_job_t *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "job_id", j->job_id);
    cJSON_AddStringToObject(o, "student", j->student);
    cJSON_AddStringToObject(o, "domain", j->domain);
    cJSON_AddStringToObject(o, "state",
                            j->state >= 0 && j->state <= 6 ? s_job_states[j->state] : "unknown");
    cJSON_AddNumberToObject(o, "samples", j->samples);
    cJSON_AddStringToObject(o, "result_model", j->result_model);
    cJSON_AddNumberToObject(o, "gate_score", j->gate_score);
    cJSON_AddStringToObject(o, "dispatcher", j->dispatcher);
    cJSON_AddStringToObject(o, "error", j->error);
    cJSON_AddNumberToObject(o, "created_t", lyc_agg_seconds(j->created_us));
    cJSON_AddNumberToObject(o, "updated_t", lyc_agg_seconds(j->updated_us));
    return o;
}

cJSON *lyc_agg_learning(lyc_agg_t *self)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "min_exemplars", (double) self->cfg.learning_min_exemplars);
    s_entries(self, cJSON_AddArrayToObject(root, "students"));
    cJSON *list = cJSON_AddArrayToObject(root, "jobs");
    size_t n = 0;
    void **jobs = lyc_agg_sorted(self->jobs, &n);
    for (size_t i = 0; list && i < n; i++)
        cJSON_AddItemToArray(list, s_job_json(jobs[i]));
    free(jobs);
    return root;
}
