/*
 * conv_embedder.h - the cluster's configured embedder, for conversations.
 *
 * The memory student and the exemplar search must embed a conversation
 * exactly as the router embedded the past queries it stored, or similarity
 * means nothing. Both sides therefore embed lyc_conversation_text() (see
 * meaning.h) with the embedder the shared settings name: `builtin` (the
 * hashing embedder, embed.h) or `http` (an OpenAI-compatible endpoint,
 * embed_http.h), with dimension embedding.dim.
 *
 * One per thread (the http client holds a connection).
 */
#ifndef LYCEUM_WORKER_CONV_EMBEDDER_H
#define LYCEUM_WORKER_CONV_EMBEDDER_H

#include <stddef.h>

#include "envelope.h"
#include "settings.h"

typedef struct lyc_conv_embedder_t lyc_conv_embedder_t;

/* Checks the embedding settings without connecting anywhere. Returns 0, or
 * -1 with the reason in err. */
int lyc_conv_embedder_check(const lyc_settings_t *settings, char *err, size_t errcap);

/* An embedder as the settings describe; NULL (logged) on failure. */
lyc_conv_embedder_t *lyc_conv_embedder_new(const lyc_settings_t *settings);

/* Accepts NULL, nulls *self_p. */
void lyc_conv_embedder_destroy(lyc_conv_embedder_t **self_p);

/* Floats in each vector. */
size_t lyc_conv_embedder_dim(const lyc_conv_embedder_t *self);

/* Embeds the conversation text of messages[0..n) into out[0..dim) and hands
 * the text to the caller in *text_p (caller frees). Returns 1 on success,
 * 0 when the text has no words (an all-zero vector: it matches nothing), -1
 * on failure (logged). *text_p is NULL after a failure. */
int lyc_conv_embedder_embed(lyc_conv_embedder_t *self, Lyceum__V1__ChatMessage **messages, size_t n,
                            float *out, char **text_p);

#endif
