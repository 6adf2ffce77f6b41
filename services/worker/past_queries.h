/*
 * past_queries.h - a tenant's past queries, as the router recorded them:
 * found by similarity to the current conversation, read with their records.
 *
 * The router records every answered query in the vector store (vecstore.h):
 * the vector of its conversation text and a record whose fields are named
 * below. The memory student reuses a record's answer; the exemplar search
 * shows records' questions and answers to a model. This is the contract
 * between the router (writer) and the workers (readers):
 *
 *   conversation  lyc_conversation_text() of the query's messages: exactly
 *                 the text that was embedded (meaning.h)
 *   question      the query's last user message, as the client sent it
 *   answer        the winning answer's text
 *   winner        the model whose answer won
 *   domain        the query's domain (also the vector's domain attribute,
 *                 which the exemplar search filters on)
 *   score         the winning answer's score, 0.0-1.0, as decimal text
 *
 * Similarity: vecstore reports (1 + cos) / 2; hits here carry the cosine,
 * 2 * similarity - 1, which is what thresholds (memory.threshold) are
 * compared with.
 */
#ifndef LYCEUM_WORKER_PAST_QUERIES_H
#define LYCEUM_WORKER_PAST_QUERIES_H

#include <stddef.h>

#include "envelope.h"
#include "settings.h"
#include "vecstore.h"

#define LYC_REC_CONVERSATION "conversation"
#define LYC_REC_QUESTION     "question"
#define LYC_REC_ANSWER       "answer"
#define LYC_REC_WINNER       "winner"
#define LYC_REC_DOMAIN       "domain"
#define LYC_REC_SCORE        "score"

/* Most neighbours one search looks at. */
#define LYC_PAST_MAX_K 64

/* One past query near the conversation. */
typedef struct {
    double cosine;                 /* 2 * vecstore similarity - 1 */
    lyc_vecstore_record_t *record; /* owned; never NULL in a result */
} lyc_past_hit_t;

typedef struct lyc_past_t lyc_past_t;

/* Connects to the vector store and makes the embedder the settings name.
 * One per thread. NULL (logged) when Redis cannot be reached or the
 * embedder cannot be made. */
lyc_past_t *lyc_past_new(const lyc_settings_t *settings);

/* Accepts NULL, nulls *self_p. */
void lyc_past_destroy(lyc_past_t **self_p);

/* Embeds the task's conversation and finds up to k (<= LYC_PAST_MAX_K) of
 * the task's tenant's past queries, most similar first, restricted to
 * `domain` when not NULL. Neighbours without a record are skipped. Fills
 * hits[0..count) and returns count (0 when the conversation has no words
 * or the tenant nothing), or -1 (logged) when the store fails or the tenant
 * name is invalid. *text_p receives the conversation text (caller frees;
 * NULL after a failure). */
int lyc_past_search(lyc_past_t *self, const Lyceum__V1__Task *task, const char *domain, size_t k,
                    lyc_past_hit_t *hits, char **text_p);

/* Right after a lyc_past_search() that found the conversation words: up to
 * k (<= LYC_PAST_MAX_K) past queries of the exemplar pool (exemplar_pool.h)
 * near the same conversation, restricted to domain when not NULL, without
 * embedding it again. Returns count (0 when the search before had nothing
 * to look for), or -1 (logged). Only for tenants that share exemplars. */
int lyc_past_search_pool(lyc_past_t *self, const char *domain, size_t k, lyc_past_hit_t *hits);

/* Frees the records of hits[0..count). */
void lyc_past_hits_clear(lyc_past_hit_t *hits, size_t count);

#endif
