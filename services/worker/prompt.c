/*
 * prompt.c - the conversation plus the exemplar message (see prompt.h).
 */
#include "prompt.h"

#include "model_config.h"

#include <stdlib.h>
#include <string.h>

#define S_EXEMPLAR_HEADER "Here are examples of good answers to similar questions:"

struct lyc_prompt_t {
    lyc_prompt_msg_t *messages;
    size_t count;
    char *system;    /* owned: the model's system prompt for the domain, or NULL */
    char *exemplars; /* owned content of the exemplar message, or NULL */
};

/* Copies text[0..n) to out + len; returns the new length. */
static size_t s_append(char *out, size_t len, const char *text, size_t n)
{
    memcpy(out + len, text, n);
    return len + n;
}

char *lyc_prompt_exemplar_text(Lyceum__V1__Exemplar *const *exemplars, size_t n)
{
    size_t header = strlen(S_EXEMPLAR_HEADER);
    char *out = malloc(LYC_PROMPT_MAX_EXEMPLAR_BYTES + 1);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const Lyceum__V1__Exemplar *e = exemplars[i];
        if (!e || !e->question || !e->answer || !*e->question || !*e->answer)
            continue;
        size_t q = strlen(e->question), a = strlen(e->answer);
        size_t head = len == 0 ? header : 0;
        if (len + head + 5 + q + 4 + a > LYC_PROMPT_MAX_EXEMPLAR_BYTES)
            continue;
        len = s_append(out, len, S_EXEMPLAR_HEADER, head);
        len = s_append(out, len, "\n\nQ: ", 5);
        len = s_append(out, len, e->question, q);
        len = s_append(out, len, "\nA: ", 4);
        len = s_append(out, len, e->answer, a);
    }
    out[len] = '\0';
    return out;
}

/* Index after the conversation's leading system messages. */
static size_t s_after_system(const Lyceum__V1__Task *task)
{
    size_t i = 0;
    while (i < task->n_messages && task->messages[i] && task->messages[i]->role &&
           strcmp(task->messages[i]->role, "system") == 0)
        i++;
    return i;
}

lyc_prompt_t *lyc_prompt_new(const Lyceum__V1__Task *task, const char *system_prompt)
{
    lyc_prompt_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->messages = calloc(task->n_messages + 2, sizeof *self->messages);
    if (!self->messages)
        goto out_free_self;
    if (task->n_exemplars > 0) {
        self->exemplars = lyc_prompt_exemplar_text(task->exemplars, task->n_exemplars);
        if (!self->exemplars)
            goto out_free_messages;
    }
    if (system_prompt && *system_prompt) {
        self->system = lyc_model_system_prompt(system_prompt, task->domain);
        if (!self->system)
            goto out_free_messages;
        self->messages[self->count++] = (lyc_prompt_msg_t){"system", self->system};
    }
    size_t insert_at = s_after_system(task);
    for (size_t i = 0; i <= task->n_messages; i++) {
        if (i == insert_at && self->exemplars && *self->exemplars)
            self->messages[self->count++] = (lyc_prompt_msg_t){"system", self->exemplars};
        if (i == task->n_messages)
            break;
        const Lyceum__V1__ChatMessage *m = task->messages[i];
        if (!m)
            continue;
        self->messages[self->count++] =
            (lyc_prompt_msg_t){m->role ? m->role : "user", m->content ? m->content : ""};
    }
    return self;
out_free_messages:
    free(self->exemplars);
    free(self->messages);
out_free_self:
    free(self);
    return NULL;
}

void lyc_prompt_destroy(lyc_prompt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_prompt_t *self = *self_p;
    free(self->messages);
    free(self->system);
    free(self->exemplars);
    free(self);
    *self_p = NULL;
}

size_t lyc_prompt_count(const lyc_prompt_t *self)
{
    return self->count;
}

const lyc_prompt_msg_t *lyc_prompt_at(const lyc_prompt_t *self, size_t i)
{
    return &self->messages[i];
}

size_t lyc_prompt_bytes(const lyc_prompt_t *self)
{
    size_t bytes = 0;
    for (size_t i = 0; i < self->count; i++)
        bytes += strlen(self->messages[i].content);
    return bytes;
}
