/*
 * exemplars.h - past winning answers to show a model (in-context
 * distillation).
 *
 * When a model's `exemplars` setting N is above 0 and the router sent a
 * Task without exemplars, the worker looks up the N past queries of the
 * same tenant AND domain most similar to the conversation (past_queries.h)
 * and turns their "question" and "answer" into Exemplars (with "winner" as
 * source_model and "score" as score); prompt.h puts them in the prompt.
 * When the Task says the tenant shares exemplars (share_exemplars), the
 * search also looks in the pool that sharing tenants lend to
 * (exemplar_pool.h) and takes the nearest of both; a tenant that does not
 * share never sees the pool. The memory student never reads it either.
 *
 * Near-identical past conversations are left out: cosine at least
 * LYC_EXEMPLAR_MAX_COSINE, or the same meaning by the meaning guard. Their
 * answer would be a copy of the answer being asked for, which teaches
 * nothing and would let a student pass an evaluation by echoing.
 * A task without a domain gets no exemplars (the domain is the filter).
 * A failed search logs and gives none: exemplars never fail a call.
 */
#ifndef LYCEUM_WORKER_EXEMPLARS_H
#define LYCEUM_WORKER_EXEMPLARS_H

#include <stddef.h>

#include "envelope.h"
#include "past_queries.h"

#define LYC_EXEMPLAR_MAX_COSINE 0.97

/* Fetches up to n exemplars for task into a new array *out_p of *count_p
 * messages (NULL and 0 when none), which the caller frees with
 * lyc_exemplars_free(). Returns 0, or -1 (logged) when the search failed. */
int lyc_exemplars_fetch(lyc_past_t *past, const Lyceum__V1__Task *task, size_t n,
                        Lyceum__V1__Exemplar ***out_p, size_t *count_p);

/* Frees what lyc_exemplars_fetch() made; accepts NULL. */
void lyc_exemplars_free(Lyceum__V1__Exemplar **exemplars, size_t count);

#endif
