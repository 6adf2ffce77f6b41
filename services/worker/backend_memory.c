/*
 * backend_memory.c - the built-in student: answers a query the tenant has
 * asked before with the answer that won then.
 *
 * It embeds the whole conversation (lyc_conversation_text: every turn, role
 * tagged) with the cluster's embedder and searches the task's tenant's past
 * queries (never another tenant's: each tenant has its own vector set). The
 * nearest few are tried in order while their cosine similarity (vecstore's
 * (1 + cos) / 2 converted back, see past_queries.h) is at least
 * memory.threshold; the first whose recorded conversation the meaning guard
 * (meaning.h) finds the same as this one gives its "answer". Otherwise the
 * student abstains (ERROR_ABSTAINED). Free (usage 0, cost 0) and instant;
 * its answers are marked neither simulated nor graded.
 */
#include "backend.h"

#include "conv_embedder.h"
#include "log.h"
#include "meaning.h"
#include "past_queries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Neighbours tried before the student abstains. */
#define S_CANDIDATES 4

typedef struct {
    const lyc_model_config_t *model;
    lyc_past_t *past;
} s_memory_t;

static int s_prepare(const lyc_model_config_t *model, const lyc_settings_t *settings, void **shared,
                     char *err, size_t errcap)
{
    return lyc_conv_embedder_check(settings, err, errcap);
}

static void *s_new(const lyc_backend_env_t *env)
{
    s_memory_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "memory: out of memory");
        return NULL;
    }
    self->model = lyc_backend_env_model(env);
    self->past = lyc_past_new(lyc_backend_env_settings(env));
    if (!self->past) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_destroy(void *impl)
{
    s_memory_t *self = impl;
    lyc_past_destroy(&self->past);
    free(self);
}

/* The answer of the first hit above the threshold that means the same, or NULL. */
static const char *s_pick(const s_memory_t *self, const char *text, const lyc_past_hit_t *hits,
                          int count, double *best)
{
    *best = count > 0 ? hits[0].cosine : -1.0;
    for (int i = 0; i < count && hits[i].cosine >= self->model->memory_threshold; i++) {
        const char *answer = lyc_vecstore_record_value(hits[i].record, LYC_REC_ANSWER);
        const char *conversation = lyc_vecstore_record_value(hits[i].record, LYC_REC_CONVERSATION);
        if (answer && *answer && conversation && lyc_meaning_same(text, conversation))
            return answer;
    }
    return NULL;
}

static int s_answer(void *impl, const lyc_task_t *task, lyc_answer_t *out)
{
    s_memory_t *self = impl;
    const char *tenant = task->tenant && *task->tenant ? task->tenant : "default";
    if (!lyc_vecstore_tenant_valid(tenant)) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, 0,
                             "memory: invalid tenant name");
        return 0;
    }
    lyc_past_hit_t hits[S_CANDIDATES];
    char *text = NULL;
    int count = lyc_past_search(self->past, task, NULL, S_CANDIDATES, hits, &text);
    if (count < 0) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1,
                             "memory: the vector store failed");
        return 0;
    }
    double best = -1.0;
    const char *answer = s_pick(self, text, hits, count, &best);
    if (answer) {
        if (lyc_answer_set_content(out, answer, strlen(answer)) != 0 ||
            lyc_answer_set_usage(out, 0, 0) != 0)
            lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 1,
                                 "memory: out of memory");
    } else {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED, 0,
                             "memory: no past query means the same (best cosine %.3f, "
                             "threshold %.3f)",
                             best, self->model->memory_threshold);
    }
    lyc_past_hits_clear(hits, (size_t) count);
    free(text);
    return 0;
}

const lyc_backend_ops_t lyc_backend_memory = {
    .name = "memory",
    .prepare = s_prepare,
    .release = NULL,
    .new = s_new,
    .answer = s_answer,
    .destroy = s_destroy,
};
