/*
 * backend.c - the backend interface: the shared env, the per-thread
 * instances and the Answer helpers every backend uses.
 */
#include "backend.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lyc_backend_env_t {
    const lyc_backend_ops_t *ops;
    const lyc_model_config_t *model;
    const lyc_settings_t *settings;
    void *shared; /* what ops->prepare loaded; freed by ops->release */
};

struct lyc_backend_t {
    const lyc_backend_ops_t *ops;
    void *impl;
};

static const lyc_backend_ops_t *const s_kinds[] = {&lyc_backend_openai, &lyc_backend_replay,
                                                   &lyc_backend_memory, NULL};

const lyc_backend_ops_t *lyc_backend_ops_find(const char *name)
{
    for (const lyc_backend_ops_t *const *k = s_kinds; *k; k++)
        if (name && strcmp((*k)->name, name) == 0)
            return *k;
    return NULL;
}

lyc_backend_env_t *lyc_backend_env_new(const lyc_model_config_t *model,
                                       const lyc_settings_t *settings, const lyc_backend_ops_t *ops,
                                       char *err, size_t errcap)
{
    if (!ops)
        ops = lyc_backend_ops_find(model->backend);
    if (!ops) {
        snprintf(err, errcap, "model '%s': unknown backend '%s'", model->name,
                 model->backend ? model->backend : "");
        return NULL;
    }
    lyc_backend_env_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    self->ops = ops;
    self->model = model;
    self->settings = settings;
    if (ops->prepare && ops->prepare(model, settings, &self->shared, err, errcap) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void lyc_backend_env_destroy(lyc_backend_env_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_backend_env_t *self = *self_p;
    if (self->ops->release)
        self->ops->release(self->shared);
    free(self);
    *self_p = NULL;
}

const lyc_model_config_t *lyc_backend_env_model(const lyc_backend_env_t *self)
{
    return self->model;
}

const lyc_settings_t *lyc_backend_env_settings(const lyc_backend_env_t *self)
{
    return self->settings;
}

void *lyc_backend_env_shared(const lyc_backend_env_t *self)
{
    return self->shared;
}

const char *lyc_backend_env_kind(const lyc_backend_env_t *self)
{
    return self->ops->name;
}

lyc_backend_t *lyc_backend_new(const lyc_backend_env_t *env)
{
    lyc_backend_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "backend: out of memory");
        return NULL;
    }
    self->ops = env->ops;
    self->impl = env->ops->new (env);
    if (!self->impl) {
        free(self);
        return NULL;
    }
    return self;
}

int lyc_backend_answer(lyc_backend_t *self, const lyc_task_t *task, lyc_answer_t *out)
{
    return self->ops->answer(self->impl, task, out);
}

void lyc_backend_destroy(lyc_backend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_backend_t *self = *self_p;
    self->ops->destroy(self->impl);
    free(self);
    *self_p = NULL;
}

/* ---- Answer helpers ---------------------------------------------------- */

int lyc_answer_set_content(lyc_answer_t *out, const char *text, size_t len)
{
    char *copy = strndup(text ? text : "", text ? len : 0);
    if (!copy)
        return -1;
    if (out->content && out->content != protobuf_c_empty_string)
        free(out->content);
    out->content = copy;
    return 0;
}

int lyc_answer_set_usage(lyc_answer_t *out, uint32_t prompt_tokens, uint32_t completion_tokens)
{
    if (!out->usage) {
        out->usage = malloc(sizeof *out->usage);
        if (!out->usage)
            return -1;
        lyceum__v1__usage__init(out->usage);
    }
    out->usage->prompt_tokens = prompt_tokens;
    out->usage->completion_tokens = completion_tokens;
    return 0;
}

/* The Answer's Error, made when missing; NULL when out of memory. */
static Lyceum__V1__Error *s_error(lyc_answer_t *out)
{
    if (!out->error) {
        out->error = malloc(sizeof *out->error);
        if (!out->error)
            return NULL;
        lyceum__v1__error__init(out->error);
    }
    return out->error;
}

void lyc_answer_set_error(lyc_answer_t *out, Lyceum__V1__ErrorCode code, int retryable,
                          const char *fmt, ...)
{
    Lyceum__V1__Error *error = s_error(out);
    if (!error) {
        LYC_ERROR(out->trace_id, "backend: out of memory reporting an error");
        return;
    }
    error->code = code;
    error->retryable = retryable != 0;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *message = strdup(buf);
    if (error->message && error->message != protobuf_c_empty_string)
        free(error->message);
    error->message = message ? message : (char *) protobuf_c_empty_string;
}

void lyc_answer_release_error(lyc_answer_t *out)
{
    if (!out->error)
        return;
    if (out->error->message && out->error->message != protobuf_c_empty_string)
        free(out->error->message);
    free(out->error);
    out->error = NULL;
}

void lyc_answer_release(lyc_answer_t *out)
{
    if (out->content && out->content != protobuf_c_empty_string)
        free(out->content);
    free(out->usage);
    lyc_answer_release_error(out);
    lyceum__v1__answer__init(out);
}

uint32_t lyc_tokens_estimate(size_t bytes)
{
    size_t tokens = (bytes + 3) / 4;
    return tokens > UINT32_MAX ? UINT32_MAX : (uint32_t) tokens;
}

double lyc_cost_usd(const lyc_model_config_t *model, uint32_t prompt_tokens,
                    uint32_t completion_tokens)
{
    return ((double) prompt_tokens * model->price_in +
            (double) completion_tokens * model->price_out) /
           1e6;
}

const char *lyc_task_last_user(const lyc_task_t *task)
{
    for (size_t i = task->n_messages; i > 0; i--) {
        const Lyceum__V1__ChatMessage *m = task->messages[i - 1];
        if (m && m->role && strcmp(m->role, "user") == 0)
            return m->content ? m->content : "";
    }
    return NULL;
}
