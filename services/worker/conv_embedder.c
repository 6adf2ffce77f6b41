/*
 * conv_embedder.c - builtin or http embeddings of conversation texts.
 */
#include "conv_embedder.h"

#include "embed.h"
#include "embed_http.h"
#include "log.h"
#include "meaning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lyc_conv_embedder_t {
    lyc_embedder_t *builtin; /* when embedding.backend is builtin */
    lyc_embed_http_t *http;  /* when it is http */
    size_t dim;
};

int lyc_conv_embedder_check(const lyc_settings_t *settings, char *err, size_t errcap)
{
    if (strcmp(settings->embedding_backend, "http") != 0)
        return 0;
    if (!*settings->embedding_url || !*settings->embedding_model) {
        snprintf(err, errcap,
                 "embedding.backend is http: embedding.url and embedding.model "
                 "are required");
        return -1;
    }
    const char *key_env = settings->embedding_api_key_env;
    if (*key_env && !getenv(key_env)) {
        snprintf(err, errcap, "embedding.api_key_env names %s, which is not set", key_env);
        return -1;
    }
    return 0;
}

lyc_conv_embedder_t *lyc_conv_embedder_new(const lyc_settings_t *settings)
{
    lyc_conv_embedder_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "embedder: out of memory");
        return NULL;
    }
    self->dim = (size_t) settings->embedding_dim;
    if (strcmp(settings->embedding_backend, "http") == 0) {
        lyc_embed_http_config_t config = {.base_url = settings->embedding_url,
                                          .model = settings->embedding_model,
                                          .api_key_env = settings->embedding_api_key_env,
                                          .dim = (unsigned) self->dim};
        self->http = lyc_embed_http_new(&config);
    } else {
        self->builtin = lyc_embedder_new((unsigned) self->dim);
    }
    if (!self->http && !self->builtin)
        lyc_conv_embedder_destroy(&self);
    return self;
}

void lyc_conv_embedder_destroy(lyc_conv_embedder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_embedder_destroy(&(*self_p)->builtin);
    lyc_embed_http_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}

size_t lyc_conv_embedder_dim(const lyc_conv_embedder_t *self)
{
    return self->dim;
}

/* 1 when some component of v[0..dim) is not zero. */
static int s_nonzero(const float *v, size_t dim)
{
    for (size_t i = 0; i < dim; i++)
        if (v[i] != 0.0f)
            return 1;
    return 0;
}

int lyc_conv_embedder_embed(lyc_conv_embedder_t *self, Lyceum__V1__ChatMessage **messages, size_t n,
                            float *out, char **text_p)
{
    *text_p = lyc_conversation_text(messages, n);
    if (!*text_p) {
        LYC_ERROR(NULL, "embedder: out of memory");
        return -1;
    }
    size_t len = strlen(*text_p);
    int rc = self->http ? lyc_embed_http_embed(self->http, *text_p, len, out)
                        : lyc_embedder_embed(self->builtin, *text_p, len, out);
    if (rc != 0) {
        free(*text_p);
        *text_p = NULL;
        return -1;
    }
    return s_nonzero(out, self->dim);
}
