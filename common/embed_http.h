/*
 * embed_http.h - embeddings from an OpenAI-compatible /v1/embeddings endpoint
 * (OpenAI, Ollama, vLLM, llama.cpp server, TEI, ...).
 *
 * The built-in embedder (embed.h) matches wording; a model endpoint matches
 * meaning. This client POSTs {"model": ..., "input": text} to
 * <base_url>/embeddings, reads data[0].embedding, checks its dimension and
 * scales it to unit length, so both embedders give vectors the vector store
 * can compare by cosine.
 *
 * The API key is read from an environment variable named in the config,
 * never from a config file, and is never logged.
 *
 * An lyc_embed_http_t holds one HTTP handle with keep-alive: it belongs to
 * one thread at a time; make one per thread.
 */
#ifndef LYCEUM_EMBED_HTTP_H
#define LYCEUM_EMBED_HTTP_H

#include <stddef.h>

#define LYC_EMBED_HTTP_DEFAULT_TIMEOUT_MS         10000
#define LYC_EMBED_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define LYC_EMBED_HTTP_DEFAULT_BACKOFF_MS         200

/* Room for an error message, terminating NUL included. */
#define LYC_EMBED_HTTP_ERROR_LEN 256

typedef struct lyc_embed_http_t lyc_embed_http_t;

/* Settings; lyc_embed_http_new() copies what it keeps. */
typedef struct {
    const char *base_url;    /* e.g. "http://127.0.0.1:11434/v1"; "/embeddings" is appended */
    const char *model;       /* model name sent with every request */
    const char *api_key_env; /* NAME of the variable holding the key; NULL or "": no key */
    unsigned dim;            /* dimension every response must have (> 0) */
    long timeout_ms;         /* per attempt; 0: LYC_EMBED_HTTP_DEFAULT_TIMEOUT_MS */
    long connect_timeout_ms; /* 0: LYC_EMBED_HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
    long backoff_ms;         /* wait before the one retry; 0: LYC_EMBED_HTTP_DEFAULT_BACKOFF_MS */
} lyc_embed_http_config_t;

/* Creates a client. Reads the API key from the environment now, so a
 * missing key fails at start rather than on the first query. Returns NULL,
 * with the reason logged, when the config lacks base_url, model or dim, when
 * api_key_env names a variable that is unset, empty or holds a line break,
 * or when memory or libcurl fail. The caller owns the client and frees it
 * with lyc_embed_http_destroy(). */
lyc_embed_http_t *lyc_embed_http_new(const lyc_embed_http_config_t *config);

/* Frees the client, wiping its copy of the key, and sets *self_p to NULL;
 * accepts NULL and *self_p NULL. */
void lyc_embed_http_destroy(lyc_embed_http_t **self_p);

/* Dimension of the vectors this client writes. */
unsigned lyc_embed_http_dim(const lyc_embed_http_t *self);

/* Writes the unit-length embedding of text[0..len) into out[0..dim).
 * Invalid UTF-8 and NUL bytes are replaced (U+FFFD, space) so the request
 * is always valid JSON. Like the built-in embedder, an empty text gives an
 * all-zero vector and returns 0, without a request.
 * A 429 or 5xx answer is retried once after backoff_ms; a time-out is not
 * (its time is already spent), so the worst case is about
 * 2 * timeout_ms + backoff_ms.
 * Returns 0 on success. Returns -1, with out all zeros and the reason in
 * lyc_embed_http_error() and the log, on a transport failure or time-out,
 * a non-2xx status, malformed JSON, a missing or non-numeric embedding,
 * a dimension other than dim, or an all-zero vector. */
int lyc_embed_http_embed(lyc_embed_http_t *self, const char *text, size_t len, float *out);

/* Why the last call failed ("" after a success). Owned by self, valid until
 * the next call. */
const char *lyc_embed_http_error(const lyc_embed_http_t *self);

#endif
