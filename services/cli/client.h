/*
 * client.h - the lyceum tool's HTTP calls to the router's front door:
 * GET /healthz (with the live models and their replicas, open without a key)
 * and POST /v1/chat/completions with the reply's `lyceum` object parsed.
 *
 * A client wraps one lyc_http_t (keep-alive) and belongs to one thread.
 */
#ifndef LYCEUM_CLI_CLIENT_H
#define LYCEUM_CLI_CLIENT_H

#include <stddef.h>

#define LYC_CLIENT_NAME_MAX   64
#define LYC_CLIENT_MAX_MODELS 64

typedef struct lyc_client_t lyc_client_t;

/* A model as GET /healthz (and GET /v1/models) lists it. */
typedef struct {
    char name[LYC_CLIENT_NAME_MAX];
    char backend[16];
    int role; /* lyceum.v1.Role number */
    int replicas;
    int in_flight;
} lyc_client_model_t;

/* One query. Strings are borrowed; NULL or "" leaves a field out. */
typedef struct {
    const char *prompt;
    const char *domain;
    const char *tenant;
    const char *user;
    const char *model; /* "lyceum" (routing) when NULL */
    long timeout_ms;   /* 0: 120 s */
} lyc_client_query_t;

/* A model's score in a reply. */
typedef struct {
    char model[LYC_CLIENT_NAME_MAX];
    double score;
} lyc_client_score_t;

/* The reply to one query. Strings are owned by the reply; free it with
 * lyc_client_reply_free(). */
typedef struct {
    long status;     /* HTTP status, 0 when no response came */
    int unreachable; /* the router could not be reached at all */
    char *raw;       /* the response body as received */
    char *content;   /* the answer (NULL on failure) */
    char path[16];   /* novel or familiar */
    char domain[LYC_CLIENT_NAME_MAX];
    char chosen[LYC_CLIENT_NAME_MAX];
    char answered_by[LYC_CLIENT_MAX_MODELS][LYC_CLIENT_NAME_MAX];
    size_t n_answered_by;
    lyc_client_score_t scores[LYC_CLIENT_MAX_MODELS];
    size_t n_scores;
    double cost_usd;
    char judged_by[LYC_CLIENT_NAME_MAX];
    unsigned judge_calls;
    char judges[LYC_CLIENT_MAX_MODELS][LYC_CLIENT_NAME_MAX]; /* one per judging call */
    size_t n_judges;
    char trace_id[64];
    unsigned prompt_tokens;
    unsigned completion_tokens;
    char error[512]; /* why it failed; "" on success */
} lyc_client_reply_t;

/* A client of the router at base_url ("http://127.0.0.1:8080"); NULL when
 * libcurl cannot start. The caller destroys it. */
lyc_client_t *lyc_client_new(const char *base_url);

/* Accepts NULL, nulls *self_p. */
void lyc_client_destroy(lyc_client_t **self_p);

/* The base URL given to lyc_client_new(). */
const char *lyc_client_url(const lyc_client_t *self);

/* 0 when GET /healthz answers 200 within timeout_ms, else -1. */
int lyc_client_healthz(lyc_client_t *self, long timeout_ms);

/* Fills out[0..cap) with the models GET /healthz lists (the "lyceum"
 * entry left out) and *n with their number. Returns 0, or -1 with the
 * reason in err. */
int lyc_client_models(lyc_client_t *self, long timeout_ms, lyc_client_model_t *out, size_t cap,
                      size_t *n, char *err, size_t errcap);

/* Sends one query. Returns 0 when a 200 reply was parsed into *reply, else
 * -1 with reply->error (and reply->unreachable when nothing answered).
 * *reply is overwritten either way; free it with lyc_client_reply_free(). */
int lyc_client_ask(lyc_client_t *self, const lyc_client_query_t *query, lyc_client_reply_t *reply);

/* The JSON body of a query (caller frees), or NULL when out of memory. */
char *lyc_client_query_body(const lyc_client_query_t *query);

/* Frees what the reply owns and empties it; accepts NULL. */
void lyc_client_reply_free(lyc_client_reply_t *reply);

/* The text the router is not running gets. */
#define LYC_CLIENT_NOT_RUNNING "Lyceum is not running: start it with `lyceum up` or `lyceum demo`"

#endif
