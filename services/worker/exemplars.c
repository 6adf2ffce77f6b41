/*
 * exemplars.c - past winning answers of the tenant's domain, as Exemplars.
 */
#include "exemplars.h"

#include "exemplar_pool.h"
#include "log.h"
#include "meaning.h"
#include "pb.h"
#include "vecstore.h"

#include <stdlib.h>
#include <string.h>

/* Neighbours looked at per exemplar wanted (some are skipped). */
#define S_OVERFETCH 3

void lyc_exemplars_free(Lyceum__V1__Exemplar **exemplars, size_t count)
{
    for (size_t i = 0; exemplars && i < count; i++)
        lyc_pb_free(exemplars[i]);
    free(exemplars);
}

/* An Exemplar from a record, or NULL when the record lacks a question or an
 * answer (or memory runs out). */
static Lyceum__V1__Exemplar *s_from_record(const lyc_vecstore_record_t *record)
{
    const char *question = lyc_vecstore_record_value(record, LYC_REC_QUESTION);
    const char *answer = lyc_vecstore_record_value(record, LYC_REC_ANSWER);
    const char *winner = lyc_vecstore_record_value(record, LYC_REC_WINNER);
    const char *score = lyc_vecstore_record_value(record, LYC_REC_SCORE);
    if (!question || !*question || !answer || !*answer)
        return NULL;
    Lyceum__V1__Exemplar *e = lyc_pb_new(&lyceum__v1__exemplar__descriptor);
    if (!e)
        return NULL;
    e->question = strdup(question);
    e->answer = strdup(answer);
    e->source_model = strdup(winner ? winner : "");
    e->score = score ? strtod(score, NULL) : 0.0;
    if (!e->question || !e->answer || !e->source_model) {
        lyc_pb_free(e);
        return NULL;
    }
    return e;
}

/* 1 when the hit is (nearly) the conversation being answered. */
static int s_near_identical(const lyc_past_hit_t *hit, const char *text)
{
    const char *conversation = lyc_vecstore_record_value(hit->record, LYC_REC_CONVERSATION);
    return hit->cosine >= LYC_EXEMPLAR_MAX_COSINE ||
           (conversation && lyc_meaning_same(text, conversation));
}

static int s_by_cosine(const void *a, const void *b)
{
    double ca = ((const lyc_past_hit_t *) a)->cosine, cb = ((const lyc_past_hit_t *) b)->cosine;
    return (ca < cb) - (ca > cb);
}

/* Adds the pool's neighbours to hits[0..found) (room for 2 * LYC_PAST_MAX_K),
 * leaving out what the tenant lent itself (its own set has it), and sorts
 * all by cosine, most similar first.
 * Returns the new count; a failed pool search keeps the tenant's own. */
static int s_add_pool(lyc_past_t *past, const Lyceum__V1__Task *task, size_t k,
                      lyc_past_hit_t *hits, int found)
{
    lyc_past_hit_t pool[LYC_PAST_MAX_K];
    int lent = lyc_past_search_pool(past, task->domain, k, pool);
    if (lent < 0) {
        LYC_WARN(task->trace_id, "exemplars: the shared pool cannot be searched; own ones only");
        return found;
    }
    const char *tenant = *task->tenant ? task->tenant : "default";
    for (int i = 0; i < lent; i++) {
        const char *lender = lyc_vecstore_record_value(pool[i].record, LYC_EXEMPLAR_POOL_LENDER);
        if (lender && strcmp(lender, tenant) == 0)
            lyc_vecstore_record_destroy(&pool[i].record);
        else
            hits[found++] = pool[i];
    }
    qsort(hits, (size_t) found, sizeof *hits, s_by_cosine);
    return found;
}

int lyc_exemplars_fetch(lyc_past_t *past, const Lyceum__V1__Task *task, size_t n,
                        Lyceum__V1__Exemplar ***out_p, size_t *count_p)
{
    *out_p = NULL;
    *count_p = 0;
    if (n == 0 || !task->domain || !*task->domain)
        return 0;
    lyc_past_hit_t hits[2 * LYC_PAST_MAX_K];
    char *text = NULL;
    int found = lyc_past_search(past, task, task->domain, n * S_OVERFETCH, hits, &text);
    if (found < 0) {
        LYC_WARN(task->trace_id, "exemplars: search failed; answering without exemplars");
        return -1;
    }
    if (task->share_exemplars)
        found = s_add_pool(past, task, n * S_OVERFETCH, hits, found);
    Lyceum__V1__Exemplar **list = found > 0 ? calloc(n, sizeof *list) : NULL;
    size_t count = 0;
    for (int i = 0; list && i < found && count < n; i++) {
        if (s_near_identical(&hits[i], text))
            continue;
        Lyceum__V1__Exemplar *e = s_from_record(hits[i].record);
        if (e)
            list[count++] = e;
    }
    lyc_past_hits_clear(hits, (size_t) found);
    free(text);
    if (count == 0) {
        free(list);
        return 0;
    }
    *out_p = list;
    *count_p = count;
    return 0;
}
