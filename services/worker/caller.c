/*
 * caller.c - exemplars, deadline and bookkeeping around one backend call.
 */
#include "caller.h"

#include "clock.h"
#include "exemplars.h"
#include "log.h"
#include "past_queries.h"

#include <stdlib.h>
#include <string.h>

struct lyc_caller_t {
    const lyc_model_config_t *model;
    const char *worker_id;
    lyc_backend_t *backend;
    lyc_past_t *past; /* exemplar search; NULL when the model takes none */
};

lyc_caller_t *lyc_caller_new(const lyc_backend_env_t *env, const char *worker_id)
{
    lyc_caller_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "caller: out of memory");
        return NULL;
    }
    self->model = lyc_backend_env_model(env);
    self->worker_id = worker_id;
    self->backend = lyc_backend_new(env);
    if (!self->backend)
        goto out_fail;
    if (self->model->exemplars > 0 && !(self->past = lyc_past_new(lyc_backend_env_settings(env))))
        goto out_fail;
    return self;
out_fail:
    lyc_caller_destroy(&self);
    return NULL;
}

void lyc_caller_destroy(lyc_caller_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_backend_destroy(&(*self_p)->backend);
    lyc_past_destroy(&(*self_p)->past);
    free(*self_p);
    *self_p = NULL;
}

/* Milliseconds the backend may take: the task's deadline (or the model's
 * time-out) minus what has passed since the task arrived; <= 0 when spent. */
static int64_t s_time_left_ms(const lyc_caller_t *self, const lyc_task_t *task, int64_t received_us)
{
    int64_t deadline_ms = task->deadline_ms ? (int64_t) task->deadline_ms : self->model->timeout_ms;
    return deadline_ms - (lyc_mono_us() - received_us) / 1000;
}

/* Fills the fields every Answer has, whatever the backend did. */
static void s_complete(const lyc_caller_t *self, const lyc_task_t *task, int64_t started_us,
                       lyc_answer_t *out)
{
    out->task_id = task->task_id;
    out->trace_id = task->trace_id;
    out->model = self->model->name;
    out->worker_id = (char *) self->worker_id;
    int64_t latency_ms = (lyc_mono_us() - started_us) / 1000;
    out->latency_ms = latency_ms > UINT32_MAX ? UINT32_MAX : (uint32_t) latency_ms;
    if (out->error && out->content && *out->content && lyc_answer_set_content(out, "", 0) != 0)
        LYC_ERROR(task->trace_id, "caller: out of memory clearing a failed answer's content");
    if (out->usage)
        out->cost_usd =
            lyc_cost_usd(self->model, out->usage->prompt_tokens, out->usage->completion_tokens);
}

void lyc_caller_answer(lyc_caller_t *self, const lyc_task_t *task, int64_t received_us,
                       lyc_answer_t *out)
{
    int64_t started_us = lyc_mono_us();
    lyc_task_t prepared = *task; /* shallow: the backend sees our deadline and exemplars */
    Lyceum__V1__Exemplar **exemplars = NULL;
    size_t n_exemplars = 0;
    if (self->past && task->n_exemplars == 0 &&
        lyc_exemplars_fetch(self->past, task, (size_t) self->model->exemplars, &exemplars,
                            &n_exemplars) == 0 &&
        n_exemplars > 0) {
        prepared.exemplars = exemplars;
        prepared.n_exemplars = n_exemplars;
    }
    int64_t left_ms = s_time_left_ms(self, task, received_us);
    if (left_ms <= 0) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT, 0,
                             "the deadline passed before the call could start");
    } else {
        prepared.deadline_ms = left_ms > UINT32_MAX ? UINT32_MAX : (uint32_t) left_ms;
        if (lyc_backend_answer(self->backend, &prepared, out) != 0)
            lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 0,
                                 "the backend failed unexpectedly");
    }
    lyc_exemplars_free(exemplars, n_exemplars);
    s_complete(self, task, started_us, out);
}
