/*
 * backend.h - what answers a Task: a small interface with one implementation
 * per kind of model (openai, replay, memory).
 *
 * Two objects, because a worker serves `capacity` calls at once from as many
 * threads:
 *
 *   lyc_backend_env_t  made once per process from the configuration: checks
 *                      it, and holds what the threads share read-only (the
 *                      loaded replay records, the API key). Making it is where
 *                      a bad configuration is refused, before the worker
 *                      registers anywhere.
 *   lyc_backend_t      one per thread, made from the env: owns what must not
 *                      be shared (a curl handle, a Redis connection).
 *
 * A backend fills only what it knows of the Answer: content, usage, error,
 * simulated, correct (see the lyc_answer_* helpers). The caller (caller.h)
 * fills the rest: ids, model, worker id, latency and the cost, computed
 * from usage and the configured prices. Strings a backend sets are owned by
 * the Answer and freed by lyc_answer_release().
 *
 * The Task a backend sees is prepared by the caller: deadline_ms is the time
 * left from now (never 0), and exemplars hold any fetched for the prompt.
 */
#ifndef LYCEUM_WORKER_BACKEND_H
#define LYCEUM_WORKER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "model_config.h"
#include "settings.h"

typedef Lyceum__V1__Task lyc_task_t;
typedef Lyceum__V1__Answer lyc_answer_t;

typedef struct lyc_backend_env_t lyc_backend_env_t;
typedef struct lyc_backend_t lyc_backend_t;

/* One kind of backend. prepare() and release() manage the shared state
 * (either may be NULL); new() makes a thread's instance; answer() makes one
 * call; destroy() frees an instance. */
typedef struct {
    const char *name;
    /* Checks the configuration and loads what threads share into *shared.
     * Returns 0, or -1 with a reason (naming the setting, file, line) in err. */
    int (*prepare)(const lyc_model_config_t *model, const lyc_settings_t *settings, void **shared,
                   char *err, size_t errcap);
    void (*release)(void *shared);
    /* A thread's instance, or NULL (logged) when it cannot be made. */
    void *(*new)(const lyc_backend_env_t *env);
    /* Answers task into out (zeroed Answer). Returns 0 when out holds an
     * answer or an error for the caller to send; -1 only for a bug. */
    int (*answer)(void *self, const lyc_task_t *task, lyc_answer_t *out);
    void (*destroy)(void *self);
} lyc_backend_ops_t;

extern const lyc_backend_ops_t lyc_backend_openai;
extern const lyc_backend_ops_t lyc_backend_replay;
extern const lyc_backend_ops_t lyc_backend_memory;

/* The ops for model->backend ("openai", "replay", "memory"), or NULL. */
const lyc_backend_ops_t *lyc_backend_ops_find(const char *name);

/* Prepares the backend the model names (or `ops` when not NULL: tests plug in
 * their own). The env borrows model and settings, which must outlive it.
 * Returns NULL with the reason in err when the configuration is refused. */
lyc_backend_env_t *lyc_backend_env_new(const lyc_model_config_t *model,
                                       const lyc_settings_t *settings, const lyc_backend_ops_t *ops,
                                       char *err, size_t errcap);

/* Frees the env; every backend made from it must be destroyed first.
 * Accepts NULL, nulls *self_p. */
void lyc_backend_env_destroy(lyc_backend_env_t **self_p);

const lyc_model_config_t *lyc_backend_env_model(const lyc_backend_env_t *self);
const lyc_settings_t *lyc_backend_env_settings(const lyc_backend_env_t *self);
/* What prepare() loaded, for the kind's own new(). */
void *lyc_backend_env_shared(const lyc_backend_env_t *self);
/* The kind's name ("openai", ...), for registration. */
const char *lyc_backend_env_kind(const lyc_backend_env_t *self);

/* A thread's backend; NULL (logged) when it cannot be made. */
lyc_backend_t *lyc_backend_new(const lyc_backend_env_t *env);

/* Answers one task; see lyc_backend_ops_t.answer. */
int lyc_backend_answer(lyc_backend_t *self, const lyc_task_t *task, lyc_answer_t *out);

/* Accepts NULL, nulls *self_p. */
void lyc_backend_destroy(lyc_backend_t **self_p);

/* ---- helpers for backends: the Answer fields they own ------------------ */

/* Sets out->content to a copy of text[0..len). Returns 0 or -1 (memory). */
int lyc_answer_set_content(lyc_answer_t *out, const char *text, size_t len);

/* Sets out->usage. Returns 0 or -1 (memory). */
int lyc_answer_set_usage(lyc_answer_t *out, uint32_t prompt_tokens, uint32_t completion_tokens);

/* Sets out->error (replacing any) with code, retryable and a message made
 * from fmt. Never fails: when memory runs out the message is left empty. */
void lyc_answer_set_error(lyc_answer_t *out, Lyceum__V1__ErrorCode code, int retryable,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Removes out->error, if any (before a retry). */
void lyc_answer_release_error(lyc_answer_t *out);

/* Frees what the lyc_answer_set_* helpers allocated and zeroes the Answer
 * (borrowed fields such as task_id are only forgotten). */
void lyc_answer_release(lyc_answer_t *out);

/* Tokens of a text when nobody counted them: ceil(bytes / 4). */
uint32_t lyc_tokens_estimate(size_t bytes);

/* USD of a call: tokens times the prices per million tokens. */
double lyc_cost_usd(const lyc_model_config_t *model, uint32_t prompt_tokens,
                    uint32_t completion_tokens);

/* The content of the last message with role "user", or NULL. */
const char *lyc_task_last_user(const lyc_task_t *task);

#endif
