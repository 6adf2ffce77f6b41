/*
 * backend_openai.c - a model behind an OpenAI-compatible Chat Completions API
 * (OpenAI, vLLM, llama.cpp server, Ollama, ...).
 *
 * One call: POST {openai.base_url}/chat/completions with
 *     {"model": openai.model or the model's name, "messages": [...],
 *      "max_tokens": n (the task's, else openai.max_tokens, when > 0),
 *      "temperature": t (when the task sets one)}
 * and "Authorization: Bearer <key>" when openai.api_key_env names a
 * variable (read once at start; a named but unset variable refuses to
 * start; the key is never logged: http_client logs no headers).
 *
 * The whole call, retries included, lives within the task's deadline: each
 * attempt's time-out is the time left. 429, 5xx and transport failures are
 * retried up to openai.max_retries times with exponential back-off
 * (S_BACKOFF_MS doubling, capped at S_BACKOFF_MAX_MS), never sleeping past
 * the deadline. (Retry-After cannot be honoured yet: http_client does not
 * return response headers.) Other 4xx fail at once, not retryable.
 *
 * The reply's choices[0].message.content is the answer, usage.prompt_tokens
 * and usage.completion_tokens the tokens (ceil(bytes / 4) estimates when
 * usage is missing). A body that is not that shape is ERROR_BACKEND for this
 * call, never a crash.
 */
#include "backend.h"

#include "clock.h"
#include "http_client.h"
#include "log.h"
#include "prompt.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_BACKOFF_MS     250  /* first retry waits this long ... */
#define S_BACKOFF_MAX_MS 8000 /* ... doubling up to this */
/* curl may give up a little before its time-out; this close counts as a time-out */
#define S_TIMEOUT_SLACK_US 50000

/* What every thread shares: the URL and the Authorization header. */
typedef struct {
    char *url;
    char *auth; /* "Authorization: Bearer ..."; NULL without a key */
} s_shared_t;

typedef struct {
    const lyc_model_config_t *model;
    const s_shared_t *shared;
    lyc_http_t *http;
} s_openai_t;

/* Outcome of one attempt. */
typedef enum { S_DONE, S_RETRY, S_FAIL } s_step_t;

static void s_release(void *shared)
{
    s_shared_t *s = shared;
    if (!s)
        return;
    if (s->auth) {
        memset(s->auth, 0, strlen(s->auth)); /* do not leave the key in freed memory */
        free(s->auth);
    }
    free(s->url);
    free(s);
}

/* The Authorization header from the variable named by api_key_env. */
static int s_auth_header(const lyc_model_config_t *model, s_shared_t *s, char *err, size_t errcap)
{
    const char *name = model->openai_api_key_env;
    if (!name || !*name)
        return 0;
    const char *key = getenv(name);
    if (!key || !*key) {
        snprintf(err, errcap, "model '%s': openai.api_key_env names %s, which is not set",
                 model->name, name);
        return -1;
    }
    if (strpbrk(key, "\r\n")) {
        snprintf(err, errcap, "model '%s': the variable %s holds a line break", model->name, name);
        return -1;
    }
    size_t len = strlen("Authorization: Bearer ") + strlen(key) + 1;
    if (!(s->auth = malloc(len))) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    snprintf(s->auth, len, "Authorization: Bearer %s", key);
    return 0;
}

static int s_prepare(const lyc_model_config_t *model, const lyc_settings_t *settings, void **shared,
                     char *err, size_t errcap)
{
    const char *base = model->openai_base_url;
    if (!base || (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)) {
        snprintf(err, errcap, "model '%s': openai.base_url must be an http:// or https:// URL",
                 model->name);
        return -1;
    }
    s_shared_t *s = calloc(1, sizeof *s);
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    if (!s || !(s->url = malloc(len + sizeof "/chat/completions"))) {
        snprintf(err, errcap, "out of memory");
        s_release(s);
        return -1;
    }
    snprintf(s->url, len + sizeof "/chat/completions", "%.*s/chat/completions", (int) len, base);
    if (s_auth_header(model, s, err, errcap) != 0) {
        s_release(s);
        return -1;
    }
    *shared = s;
    return 0;
}

static void *s_new(const lyc_backend_env_t *env)
{
    s_openai_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "openai: out of memory");
        return NULL;
    }
    self->model = lyc_backend_env_model(env);
    self->shared = lyc_backend_env_shared(env);
    self->http = lyc_http_new();
    if (!self->http) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_destroy(void *impl)
{
    s_openai_t *self = impl;
    lyc_http_destroy(&self->http);
    free(self);
}

/* The request body as a new string; NULL when out of memory. */
static char *s_request_body(const s_openai_t *self, const lyc_task_t *task,
                            const lyc_prompt_t *prompt)
{
    const lyc_model_config_t *m = self->model;
    cJSON *root = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(root, "messages");
    int ok = root && messages &&
             cJSON_AddStringToObject(root, "model", *m->openai_model ? m->openai_model : m->name);
    for (size_t i = 0; ok && i < lyc_prompt_count(prompt); i++) {
        const lyc_prompt_msg_t *msg = lyc_prompt_at(prompt, i);
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(messages, item) &&
             cJSON_AddStringToObject(item, "role", msg->role) &&
             cJSON_AddStringToObject(item, "content", msg->content);
    }
    long max_tokens = task->max_tokens ? (long) task->max_tokens : m->openai_max_tokens;
    if (ok && max_tokens > 0)
        ok = cJSON_AddNumberToObject(root, "max_tokens", (double) max_tokens) != NULL;
    if (ok && task->temperature_set)
        ok = cJSON_AddNumberToObject(root, "temperature", task->temperature) != NULL;
    char *body = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return body;
}

/* A whole number of tokens from usage.<name>, or -1 when absent or bad. */
static long long s_usage_tokens(const cJSON *usage, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(usage, name);
    if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 4294967295.0)
        return -1;
    return (long long) item->valuedouble;
}

/* Reads a 2xx body into out. Returns 0, or -1 (out holds ERROR_BACKEND). */
static int s_parse_reply(const lyc_http_response_t *resp, size_t prompt_bytes, lyc_answer_t *out)
{
    cJSON *root = cJSON_ParseWithLength(resp->body, resp->body_len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *message =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(message, "content");
    if (!cJSON_IsString(content)) {
        cJSON_Delete(root);
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_BACKEND, 0,
                             "openai: HTTP %ld reply without choices[0].message.content (%s)",
                             resp->status, root ? "unexpected JSON" : "not JSON");
        return -1;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    long long in = s_usage_tokens(usage, "prompt_tokens");
    long long completion = s_usage_tokens(usage, "completion_tokens");
    size_t len = strlen(content->valuestring);
    int rc =
        lyc_answer_set_content(out, content->valuestring, len) |
        lyc_answer_set_usage(out, in >= 0 ? (uint32_t) in : lyc_tokens_estimate(prompt_bytes),
                             completion >= 0 ? (uint32_t) completion : lyc_tokens_estimate(len));
    cJSON_Delete(root);
    if (rc != 0)
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 1, "out of memory");
    return rc ? -1 : 0;
}

/* The server's own error message (error.message), or "". */
static void s_server_message(const lyc_http_response_t *resp, char *buf, size_t cap)
{
    buf[0] = '\0';
    cJSON *root = resp->body ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    if (cJSON_IsString(message))
        snprintf(buf, cap, ": %s", message->valuestring);
    cJSON_Delete(root);
}

/* Classifies one attempt's result; on S_FAIL or a last S_RETRY, out says
 * why. A transport failure at (about) the end of the attempt's time-out,
 * which is the time left before the deadline, is the deadline passing. */
static s_step_t s_classify(int rc, const lyc_http_response_t *resp, int64_t attempt_end_us,
                           size_t prompt_bytes, lyc_answer_t *out)
{
    char server[200];
    if (rc != 0) {
        int timed_out = lyc_mono_us() >= attempt_end_us - S_TIMEOUT_SLACK_US;
        lyc_answer_set_error(out,
                             timed_out ? LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT
                                       : LYCEUM__V1__ERROR_CODE__ERROR_BACKEND,
                             1, "openai: %s", resp->error);
        return timed_out ? S_FAIL : S_RETRY;
    }
    if (resp->status >= 200 && resp->status < 300)
        return s_parse_reply(resp, prompt_bytes, out) == 0 ? S_DONE : S_FAIL;
    s_server_message(resp, server, sizeof server);
    if (resp->status == 429) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_BUDGET, 1,
                             "openai: HTTP 429 rate limited%s", server);
        return S_RETRY;
    }
    int retry = resp->status >= 500;
    lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_BACKEND, retry, "openai: HTTP %ld%s",
                         resp->status, server);
    return retry ? S_RETRY : S_FAIL;
}

/* Sleeps the back-off before retry number `attempt` (1-based). Returns 0,
 * or -1 when the deadline would pass first (then it does not sleep). */
static int s_backoff(int attempt, int64_t deadline_us)
{
    int64_t ms = S_BACKOFF_MS;
    for (int i = 1; i < attempt && ms < S_BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > S_BACKOFF_MAX_MS)
        ms = S_BACKOFF_MAX_MS;
    if (lyc_mono_us() + ms * 1000 >= deadline_us)
        return -1;
    struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

/* The attempts of one call, within the deadline. */
static void s_call(s_openai_t *self, const char *body, int64_t deadline_us, size_t prompt_bytes,
                   const char *trace, lyc_answer_t *out)
{
    const char *headers[] = {self->shared->auth, NULL};
    for (int attempt = 0;; attempt++) {
        int64_t left_ms = (deadline_us - lyc_mono_us()) / 1000;
        if (left_ms <= 0) {
            if (!out->error)
                lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT, 1,
                                     "openai: deadline reached");
            return;
        }
        lyc_http_request_t req = {
            .url = self->shared->url,
            .headers = self->shared->auth ? headers : NULL,
            .body = body,
            .body_len = strlen(body),
            .connect_timeout_ms = left_ms < LYC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS
                                      ? left_ms
                                      : LYC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS,
            .timeout_ms = left_ms,
        };
        lyc_http_response_t resp;
        int64_t attempt_end_us = lyc_mono_us() + left_ms * 1000;
        int rc = lyc_http_post_json(self->http, &req, &resp);
        lyc_answer_release_error(out);
        s_step_t step = s_classify(rc, &resp, attempt_end_us, prompt_bytes, out);
        lyc_http_response_free(&resp);
        if (step != S_RETRY)
            return;
        if (attempt >= self->model->openai_max_retries || s_backoff(attempt + 1, deadline_us) != 0)
            return;
        LYC_DEBUG(trace, "openai: retry %d of %ld after: %s", attempt + 1,
                  self->model->openai_max_retries, out->error->message);
    }
}

static int s_answer(void *impl, const lyc_task_t *task, lyc_answer_t *out)
{
    s_openai_t *self = impl;
    int64_t deadline_us = lyc_mono_us() + (int64_t) task->deadline_ms * 1000;
    lyc_prompt_t *prompt = lyc_prompt_new(task, self->model->system_prompt);
    char *body = prompt ? s_request_body(self, task, prompt) : NULL;
    if (!body) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 1,
                             "openai: out of memory building the request");
        goto out_free_prompt;
    }
    s_call(self, body, deadline_us, lyc_prompt_bytes(prompt), task->trace_id, out);
    free(body);
out_free_prompt:
    lyc_prompt_destroy(&prompt);
    return 0;
}

const lyc_backend_ops_t lyc_backend_openai = {
    .name = "openai",
    .prepare = s_prepare,
    .release = s_release,
    .new = s_new,
    .answer = s_answer,
    .destroy = s_destroy,
};
