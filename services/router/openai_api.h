/*
 * openai_api.h - the OpenAI Chat Completions shapes: request bodies in,
 * replies and error objects out.
 *
 * Pure functions over bytes, so the HTTP layer stays thin and the parser can
 * be fuzzed on its own. A request becomes a ClientQuery; a ClientReply
 * becomes a chat.completion object, or a stream of chat.completion.chunk
 * server-sent events, each with Lyceum's `lyceum` object beside the usual
 * fields.
 */
#ifndef LYCEUM_ROUTER_OPENAI_API_H
#define LYCEUM_ROUTER_OPENAI_API_H

#include "envelope.h"

#include <stddef.h>
#include <stdint.h>

/* An error to send as {"error": {...}} with an HTTP status. */
typedef struct {
    int status;        /* 400, 401, 404, 405, 413, 415, 429, 500, 503 */
    const char *type;  /* "invalid_request_error", "server_error", ... */
    const char *code;  /* machine-readable code or NULL */
    const char *param; /* the offending request field or NULL */
    char message[512]; /* one sentence for the user */
} lyc_api_error_t;

/* Fills *err; returns -1 so callers can `return lyc_api_fail(...)`. */
int lyc_api_fail(lyc_api_error_t *err, int status, const char *type, const char *code,
                 const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Parses a chat completion request. Returns a new ClientQuery (free with
 * lyc_pb_free), or NULL with *err set: malformed JSON, missing or mistyped
 * fields, text that is not UTF-8, or a prompt over max_prompt_bytes. The
 * Lyceum fields come from metadata.tenant, metadata.user, metadata.domain
 * (the top-level `user` also names the user). */
Lyceum__V1__ClientQuery *lyc_api_parse_chat(const char *body, size_t len, size_t max_prompt_bytes,
                                            lyc_api_error_t *err);

/* The chat.completion JSON for reply (caller frees). */
char *lyc_api_render_chat(const Lyceum__V1__ClientReply *reply, int64_t created);

/* The whole server-sent event stream for reply: chunks of the content, a last
 * chunk with finish_reason, usage and `lyceum`, then "data: [DONE]". */
char *lyc_api_render_stream(const Lyceum__V1__ClientReply *reply, int64_t created);

/* {"error": {...}} for err (caller frees). */
char *lyc_api_render_error(const lyc_api_error_t *err);

/* HTTP status and error for a reply that carries an error. */
void lyc_api_error_of_reply(const Lyceum__V1__ClientReply *reply, lyc_api_error_t *err);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int lyc_utf8_valid(const char *s, size_t len);

#endif
