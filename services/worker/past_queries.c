/*
 * past_queries.c - vector search plus record reads over vecstore.
 */
#include "past_queries.h"

#include "conv_embedder.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct lyc_past_t {
    lyc_conv_embedder_t *embedder;
    lyc_vecstore_t *store;
    float *vector; /* the last conversation searched for, dim floats */
    int embedded;  /* vector holds a conversation with words */
};

lyc_past_t *lyc_past_new(const lyc_settings_t *settings)
{
    lyc_past_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "past queries: out of memory");
        return NULL;
    }
    lyc_vecstore_config_t config = {.redis_url = settings->redis_url,
                                    .key_prefix = settings->redis_prefix,
                                    .dim = (size_t) settings->embedding_dim,
                                    .timeout_ms = (int) settings->redis_timeout_ms,
                                    .search_ef = (int) settings->redis_search_ef,
                                    .search_threaded = settings->redis_search_threaded};
    self->embedder = lyc_conv_embedder_new(settings);
    self->store = self->embedder ? lyc_vecstore_new(&config) : NULL;
    self->vector = calloc((size_t) settings->embedding_dim, sizeof *self->vector);
    if (!self->embedder || !self->store || !self->vector)
        lyc_past_destroy(&self);
    return self;
}

void lyc_past_destroy(lyc_past_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_past_t *self = *self_p;
    lyc_conv_embedder_destroy(&self->embedder);
    lyc_vecstore_destroy(&self->store);
    free(self->vector);
    free(self);
    *self_p = NULL;
}

void lyc_past_hits_clear(lyc_past_hit_t *hits, size_t count)
{
    for (size_t i = 0; i < count; i++)
        lyc_vecstore_record_destroy(&hits[i].record);
}

/* Reads the records of the neighbours into hits; returns how many, or -1. */
static int s_read_records(lyc_past_t *self, const char *tenant,
                          const lyc_vecstore_results_t *results, lyc_past_hit_t *hits)
{
    size_t count = 0;
    for (size_t i = 0; i < results->count; i++) {
        lyc_vecstore_record_t *record = NULL;
        if (lyc_vecstore_record_get(self->store, tenant, results->hits[i].record_id, &record) !=
            0) {
            lyc_past_hits_clear(hits, count);
            return -1;
        }
        if (!record)
            continue; /* a vector whose record is gone */
        hits[count].cosine = 2.0 * results->hits[i].similarity - 1.0;
        hits[count].record = record;
        count++;
    }
    return (int) count;
}

/* The neighbours of self->vector in set; count, or -1. */
static int s_search(lyc_past_t *self, const char *set, const char *domain, size_t k,
                    lyc_past_hit_t *hits)
{
    if (k > LYC_PAST_MAX_K)
        k = LYC_PAST_MAX_K;
    lyc_vecstore_filter_t filter = {.domain = domain};
    lyc_vecstore_results_t *results = NULL;
    size_t dim = lyc_conv_embedder_dim(self->embedder);
    if (lyc_vecstore_search(self->store, set, self->vector, dim, k, domain ? &filter : NULL,
                            &results) != 0)
        return -1;
    int count = s_read_records(self, set, results, hits);
    lyc_vecstore_results_destroy(&results);
    return count;
}

int lyc_past_search(lyc_past_t *self, const Lyceum__V1__Task *task, const char *domain, size_t k,
                    lyc_past_hit_t *hits, char **text_p)
{
    const char *tenant = task->tenant && *task->tenant ? task->tenant : "default";
    self->embedded = 0;
    int words = lyc_conv_embedder_embed(self->embedder, task->messages, task->n_messages,
                                        self->vector, text_p);
    if (words <= 0)
        return words;
    self->embedded = 1;
    if (!lyc_vecstore_tenant_valid(tenant)) {
        LYC_WARN(task->trace_id, "past queries: invalid tenant name");
        goto out_free_text;
    }
    int count = s_search(self, tenant, domain, k, hits);
    if (count < 0)
        goto out_free_text;
    return count;
out_free_text:
    self->embedded = 0;
    free(*text_p);
    *text_p = NULL;
    return -1;
}

int lyc_past_search_pool(lyc_past_t *self, const char *domain, size_t k, lyc_past_hit_t *hits)
{
    if (!self->embedded)
        return 0;
    return s_search(self, LYC_VECSTORE_EXEMPLAR_POOL, domain, k, hits);
}
