/*
 * agg_train.c - what the trainer publishes: role changes, registry entries,
 * training samples (exemplars) and fine-tuning jobs.
 */
#include "agg_internal.h"

#include "model_config.h"

#include <stdlib.h>
#include <string.h>

void lyc_agg_role_clear(agg_role_t *r)
{
    free(r->model);
    free(r->domain);
    free(r->reason);
    free(r->tenant);
    memset(r, 0, sizeof *r);
}

void lyc_agg_samples_free(void **item)
{
    agg_samples_t *s = *item;
    if (s) {
        free(s->student);
        free(s->domain);
        free(s->first);
        free(s);
    }
    *item = NULL;
}

void lyc_agg_job_free(void **item)
{
    agg_job_t *j = *item;
    if (j) {
        free(j->job_id);
        free(j->student);
        free(j->domain);
        free(j->result_model);
        free(j->dispatcher);
        free(j->error);
        free(j);
    }
    *item = NULL;
}

void lyc_agg_entry_free(void **item)
{
    agg_entry_t *e = *item;
    if (e) {
        free(e->model);
        free(e->backend);
        free(e->version);
        free(e->parent);
        free(e->roles);
        free(e);
    }
    *item = NULL;
}

/* Replaces *field with a copy of value; -1 when out of memory. */
static int s_set(char **field, const char *value)
{
    char *copy = lyc_agg_strdup(value);
    if (!copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* ---- role changes -------------------------------------------------------- */

int lyc_agg_role_change(lyc_agg_t *self, const Lyceum__V1__RoleChange *rc, int64_t at_us)
{
    size_t max = self->cfg.max_roles ? self->cfg.max_roles : 1;
    if (self->n_roles == max) { /* forget the oldest by time */
        size_t oldest = 0;
        for (size_t i = 1; i < self->n_roles; i++)
            if (self->roles[i].at_us < self->roles[oldest].at_us)
                oldest = i;
        lyc_agg_role_clear(&self->roles[oldest]);
        self->roles[oldest] = self->roles[--self->n_roles];
    }
    if (self->n_roles == self->cap_roles) {
        size_t cap = self->cap_roles ? self->cap_roles * 2 : 16;
        agg_role_t *grown = realloc(self->roles, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->roles = grown;
        self->cap_roles = cap;
    }
    agg_role_t *r = &self->roles[self->n_roles];
    memset(r, 0, sizeof *r);
    r->model = lyc_agg_strdup(rc->model);
    r->domain = lyc_agg_strdup(rc->domain);
    r->reason = lyc_agg_strdup(rc->reason);
    r->tenant = lyc_agg_strdup(rc->tenant);
    if (!r->model || !r->domain || !r->reason || !r->tenant) {
        lyc_agg_role_clear(r);
        return -1;
    }
    r->from = (int) rc->from_role;
    r->to = (int) rc->to_role;
    r->evidence = rc->evidence_count;
    r->mean = rc->mean_score;
    r->lower = rc->lower_bound;
    r->upper = rc->upper_bound;
    r->at_us = at_us;
    self->n_roles++;
    return 0;
}

/* ---- registry ------------------------------------------------------------ */

/* "domain=role,..." of an entry. */
static char *s_roles_text(const Lyceum__V1__ModelEntry *e)
{
    size_t cap = 1;
    for (size_t i = 0; i < e->n_roles; i++)
        cap += strlen(e->roles[i]->domain) + 16;
    char *text = calloc(1, cap);
    for (size_t i = 0, used = 0; text && i < e->n_roles; i++)
        used += (size_t) snprintf(text + used, cap - used, "%s%s=%s", i ? "," : "",
                                  e->roles[i]->domain, lyc_role_name((int) e->roles[i]->role));
    return text;
}

/* Which of two announcements of one model stands: the later registration,
 * then the further along (active over plain over candidate), so the result
 * does not depend on arrival order. */
static int s_rank(int64_t registered, int active, int candidate, const char *version,
                  const agg_entry_t *old)
{
    if (registered != old->registered_us)
        return registered > old->registered_us;
    int a = active ? 2 : candidate ? 0 : 1, b = old->active ? 2 : old->candidate ? 0 : 1;
    if (a != b)
        return a > b;
    return strcmp(version, old->version) > 0;
}

int lyc_agg_model_entry(lyc_agg_t *self, const Lyceum__V1__ModelEntry *e)
{
    agg_entry_t *old = zhashx_lookup(self->entries, e->model);
    if (old && !s_rank(e->registered_at_us, e->active, e->candidate, e->version, old))
        return 0;
    agg_entry_t *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    n->model = lyc_agg_strdup(e->model);
    n->backend = lyc_agg_strdup(e->backend);
    n->version = lyc_agg_strdup(e->version);
    n->parent = lyc_agg_strdup(e->parent_model);
    n->roles = s_roles_text(e);
    n->price_in = e->price_in_per_mtok;
    n->price_out = e->price_out_per_mtok;
    n->active = e->active;
    n->candidate = e->candidate;
    n->registered_us = e->registered_at_us;
    void *item = n;
    if (!n->model || !n->backend || !n->version || !n->parent || !n->roles) {
        lyc_agg_entry_free(&item);
        return -1;
    }
    zhashx_update(self->entries, e->model, n); /* frees old */
    return 0;
}

/* ---- training samples ---------------------------------------------------- */

static agg_samples_t *s_samples(lyc_agg_t *self, const char *student, const char *domain)
{
    char key[LYC_AGG_KEY_MAX];
    lyc_agg_key(key, student, domain);
    agg_samples_t *s = zhashx_lookup(self->samples, key);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->student = lyc_agg_strdup(student);
    s->domain = lyc_agg_strdup(domain);
    s->first = calloc((size_t) self->cfg.learning_min_exemplars, sizeof *s->first);
    void *item = s;
    if (!s->student || !s->domain || !s->first || zhashx_insert(self->samples, key, s) != 0) {
        lyc_agg_samples_free(&item);
        return NULL;
    }
    return s;
}

/* Keeps the earliest learning_min_exemplars times, ascending. */
static void s_keep_early(agg_samples_t *s, size_t max, int64_t at_us)
{
    if (s->n_first == max && at_us >= s->first[max - 1])
        return;
    size_t i = s->n_first < max ? s->n_first++ : max - 1;
    while (i > 0 && s->first[i - 1] > at_us) {
        s->first[i] = s->first[i - 1];
        i--;
    }
    s->first[i] = at_us;
}

int lyc_agg_sample(lyc_agg_t *self, const Lyceum__V1__TrainingSample *sample, int64_t at_us)
{
    agg_samples_t *s = s_samples(self, sample->student_model, sample->domain);
    if (!s)
        return -1;
    s->count++;
    s_keep_early(s, (size_t) self->cfg.learning_min_exemplars, at_us);
    return 0;
}

/* ---- fine-tuning jobs ---------------------------------------------------- */

static agg_job_t *s_job(lyc_agg_t *self, const char *job_id)
{
    agg_job_t *j = zhashx_lookup(self->jobs, job_id);
    if (j)
        return j;
    j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->job_id = lyc_agg_strdup(job_id);
    j->student = lyc_agg_strdup("");
    j->domain = lyc_agg_strdup("");
    j->result_model = lyc_agg_strdup("");
    j->dispatcher = lyc_agg_strdup("");
    j->error = lyc_agg_strdup("");
    void *item = j;
    if (!j->job_id || !j->student || !j->domain || !j->result_model || !j->dispatcher ||
        !j->error || zhashx_insert(self->jobs, job_id, j) != 0) {
        lyc_agg_job_free(&item);
        return NULL;
    }
    return j;
}

int lyc_agg_job(lyc_agg_t *self, const Lyceum__V1__TrainingJob *e, int64_t at_us)
{
    agg_job_t *j = s_job(self, e->job_id);
    if (!j)
        return -1;
    if (e->state == LYCEUM__V1__JOB_STATE__JOB_STATE_GATED &&
        (j->gated_us == 0 || at_us < j->gated_us))
        j->gated_us = at_us;
    if (!*j->result_model && *e->result_model && s_set(&j->result_model, e->result_model) != 0)
        return -1;
    if (j->updated_us > at_us || (j->updated_us == at_us && j->state >= (int) e->state))
        return 0; /* an older state: the record keeps the newer one */
    j->state = (int) e->state;
    j->updated_us = at_us;
    j->created_us = e->created_at_us;
    j->samples = e->samples;
    j->gate_score = e->gate_score;
    if (s_set(&j->student, e->student_model) != 0 || s_set(&j->domain, e->domain) != 0 ||
        s_set(&j->dispatcher, e->dispatcher) != 0 || s_set(&j->error, e->error) != 0)
        return -1;
    if (*e->result_model && s_set(&j->result_model, e->result_model) != 0)
        return -1;
    return 0;
}
