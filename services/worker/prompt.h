/*
 * prompt.h - the messages a model is sent for a Task: the model's own system
 * prompt (model_config.h system_prompt, with {domain} replaced by the task's
 * domain) first when it has one, then the conversation, with the task's
 * exemplars (past winning answers of the domain) as one system message.
 *
 * The exemplar message reads
 *
 *     Here are examples of good answers to similar questions:
 *
 *     Q: <question>
 *     A: <answer>
 *
 *     Q: ...
 *
 * and goes after the conversation's leading system messages, so the model's
 * own instructions come first and the examples sit right before the turns
 * they illustrate. Exemplars are added in order while the message stays
 * within LYC_PROMPT_MAX_EXEMPLAR_BYTES; the rest are left out whole, never
 * cut in the middle.
 */
#ifndef LYCEUM_WORKER_PROMPT_H
#define LYCEUM_WORKER_PROMPT_H

#include <stddef.h>

#include "envelope.h"

#define LYC_PROMPT_MAX_EXEMPLAR_BYTES (32 * 1024)

/* One message of the prompt; strings are borrowed from the Task or owned by
 * the prompt (the exemplar message). */
typedef struct {
    const char *role;
    const char *content;
} lyc_prompt_msg_t;

typedef struct lyc_prompt_t lyc_prompt_t;

/* The prompt for task, which must outlive it; system_prompt (NULL or "":
 * none) is the model's. NULL when out of memory. */
lyc_prompt_t *lyc_prompt_new(const Lyceum__V1__Task *task, const char *system_prompt);

/* Accepts NULL, nulls *self_p. */
void lyc_prompt_destroy(lyc_prompt_t **self_p);

size_t lyc_prompt_count(const lyc_prompt_t *self);

/* Message i (0 <= i < count). */
const lyc_prompt_msg_t *lyc_prompt_at(const lyc_prompt_t *self, size_t i);

/* Bytes of every message's content together (for token estimates). */
size_t lyc_prompt_bytes(const lyc_prompt_t *self);

/* The exemplar message for exemplars[0..n) as a new string (caller frees),
 * "" when none fits; NULL when out of memory. */
char *lyc_prompt_exemplar_text(Lyceum__V1__Exemplar *const *exemplars, size_t n);

#endif
