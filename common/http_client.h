/*
 * http_client.h - small HTTP client for OpenAI-compatible JSON calls.
 *
 * A lyc_http_t wraps one libcurl easy handle. Reusing it keeps connections
 * alive between calls to the same host, which saves a TCP (and TLS)
 * handshake per model call. A handle belongs to one thread: create one per
 * thread and never share it (like a hiredis context). For a one-off call,
 * pass NULL as the handle and a temporary one is made and freed.
 *
 * Every call has a connect time-out and a total time-out, and a cap on the
 * response size: a larger response is an error, never unbounded memory.
 * Like a hiredis context, a failed call explains itself in the response
 * (resp->error) and leaves the logging to the caller, who knows what the
 * call was for; this module logs failures at debug level only. Header lines
 * are never logged, so "Authorization: Bearer ..." stays out of the logs;
 * URLs are logged without their query string.
 */
#ifndef LYCEUM_HTTP_CLIENT_H
#define LYCEUM_HTTP_CLIENT_H

#include <stddef.h>

/* Used when a request leaves the field at 0. */
#define LYC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define LYC_HTTP_DEFAULT_TIMEOUT_MS         30000
#define LYC_HTTP_DEFAULT_MAX_RESPONSE       (16u * 1024 * 1024)

/* Room for an error message, terminating NUL included (libcurl's size). */
#define LYC_HTTP_ERROR_LEN 256

typedef struct lyc_http_t lyc_http_t;

/* What to send. The request only borrows its strings. */
typedef struct {
    const char *url;            /* http:// or https:// only */
    const char *const *headers; /* "Name: value" lines, NULL-terminated array; may be NULL */
    const char *body;           /* POST body; may be NULL when body_len is 0 */
    size_t body_len;            /* bytes of body */
    long connect_timeout_ms;    /* 0: LYC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;            /* whole call, connect included; 0: LYC_HTTP_DEFAULT_TIMEOUT_MS */
    size_t max_response;        /* largest body accepted; 0: LYC_HTTP_DEFAULT_MAX_RESPONSE */
} lyc_http_request_t;

/* What came back. The caller owns body and frees it with
 * lyc_http_response_free(). */
typedef struct {
    long status;                    /* HTTP status; 0 when no response arrived */
    char *body;                     /* NUL-terminated (and binary-safe: see body_len) */
    size_t body_len;                /* bytes of body, NUL excluded */
    char error[LYC_HTTP_ERROR_LEN]; /* why the call failed; "" on success */
} lyc_http_response_t;

/* Creates a handle. Initialises libcurl once per process (thread-safe).
 * Returns NULL, with the reason logged, when libcurl cannot start. The
 * caller owns the handle and frees it with lyc_http_destroy(). */
lyc_http_t *lyc_http_new(void);

/* Closes the handle's connections, frees it and sets *self_p to NULL;
 * accepts NULL and *self_p NULL. */
void lyc_http_destroy(lyc_http_t **self_p);

/* POSTs req->body with "Content-Type: application/json" (plus req->headers)
 * and waits for the whole response, at most req->timeout_ms.
 * Returns 0 when a response arrived, whatever its status: the caller decides
 * what a 4xx or 5xx means (retry, report). Returns -1 when none did (cannot
 * connect, time-out, response above max_response, bad arguments); then
 * resp->error says why, resp->status is 0 or the status already received,
 * and resp->body is NULL. resp is overwritten either way and must be freed
 * with lyc_http_response_free() (harmless after a failure).
 * self may be NULL for a one-off call on a temporary handle. */
int lyc_http_post_json(lyc_http_t *self, const lyc_http_request_t *req, lyc_http_response_t *resp);

/* GETs req->url; as lyc_http_post_json() otherwise (req->body is ignored). */
int lyc_http_get(lyc_http_t *self, const lyc_http_request_t *req, lyc_http_response_t *resp);

/* Frees resp->body and empties resp; accepts NULL. resp itself is the
 * caller's (usually on the stack). */
void lyc_http_response_free(lyc_http_response_t *resp);

#endif
