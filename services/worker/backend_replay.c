/*
 * backend_replay.c - answers from recorded outcomes (replay_data.h).
 *
 * The look-up key is the task's last user message, whitespace-normalised;
 * the rest of the prompt (system messages, exemplars) does not change which
 * record answers, but it does count in the prompt tokens, as it would with
 * a real model.
 *
 * Answer text: the recorded text, or, when the recording has none (RouteLLM
 * MMLU has only correctness), a placeholder
 *     "[replay] <model>: recorded answer (correct)"
 * marked simulated. Answer.correct carries the recorded correctness, which
 * the evaluator's reference grader uses.
 *
 * Tokens: prompt tokens as recorded, else ceil(prompt bytes / 4); completion
 * tokens as recorded, else ceil(text bytes / 4), and 1 for a placeholder
 * (an MMLU answer is one letter).
 *
 * replay.latency_ms makes every answer take that long, like a real model's
 * (for demos, and for tests of what happens while calls are in flight).
 *
 * A query with no record: replay.unknown `abstain` -> ERROR_ABSTAINED;
 * `simulate` -> a placeholder marked simulated whose correctness is drawn
 * from a hash of (model, normalised query): right with probability
 * replay.simulate_accuracy, and the same every time the query comes back.
 */
#include "backend.h"

#include "clock.h"
#include "log.h"
#include "prompt.h"
#include "replay_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct {
    const lyc_model_config_t *model;
    const lyc_replay_data_t *data;
    int simulate; /* replay.unknown is simulate */
} s_replay_t;

static const char *s_column(const lyc_model_config_t *model)
{
    return model->replay_column && *model->replay_column ? model->replay_column : model->name;
}

static int s_prepare(const lyc_model_config_t *model, const lyc_settings_t *settings, void **shared,
                     char *err, size_t errcap)
{
    char why[768];
    int64_t start = lyc_mono_us();
    lyc_replay_data_t *data = lyc_replay_data_load(model->replay_files, model->replay_format,
                                                   s_column(model), why, sizeof why);
    if (!data) {
        snprintf(err, errcap, "model '%s': %s", model->name, why);
        return -1;
    }
    LYC_INFO(NULL,
             "replay: model %s loaded %zu records (column '%s', %zu duplicates skipped) from %zu "
             "files in %.0f ms",
             model->name, lyc_replay_data_count(data), s_column(model),
             lyc_replay_data_duplicates(data), lyc_replay_data_files(data),
             (double) (lyc_mono_us() - start) / 1000.0);
    *shared = data;
    return 0;
}

static void s_release(void *shared)
{
    lyc_replay_data_t *data = shared;
    lyc_replay_data_destroy(&data);
}

static void *s_new(const lyc_backend_env_t *env)
{
    s_replay_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "replay: out of memory");
        return NULL;
    }
    self->model = lyc_backend_env_model(env);
    self->data = lyc_backend_env_shared(env);
    self->simulate = strcmp(self->model->replay_unknown, "simulate") == 0;
    return self;
}

static void s_destroy(void *self)
{
    free(self);
}

/* Uniform in [0, 1) from the model and the normalised query. */
static double s_draw(const char *model, const char *query)
{
    char *key = lyc_replay_normalize(query, strlen(query));
    uint64_t seed = XXH3_64bits(model, strlen(model));
    uint64_t h = key ? XXH3_64bits_withSeed(key, strlen(key), seed) : seed;
    free(key);
    return (double) (h >> 11) * (1.0 / 9007199254740992.0);
}

static const char *s_verdict_name(lyc_replay_correct_t correct)
{
    return correct == LYC_REPLAY_RIGHT   ? "correct"
           : correct == LYC_REPLAY_WRONG ? "wrong"
                                         : "unknown";
}

/* Sets the placeholder text "[replay] <model>: <what> answer (<verdict>)". */
static int s_placeholder(lyc_answer_t *out, const char *model, const char *what,
                         lyc_replay_correct_t correct)
{
    char text[256];
    int n = snprintf(text, sizeof text, "[replay] %s: %s answer (%s)", model, what,
                     s_verdict_name(correct));
    out->simulated = 1;
    return lyc_answer_set_content(out, text, n > 0 && (size_t) n < sizeof text ? (size_t) n : 0);
}

static int s_answer_recorded(const s_replay_t *self, const lyc_replay_record_t *r,
                             size_t prompt_bytes, lyc_answer_t *out)
{
    uint32_t in = r->prompt_tokens ? r->prompt_tokens : lyc_tokens_estimate(prompt_bytes);
    uint32_t completion = r->completion_tokens;
    int rc;
    if (r->text) {
        rc = lyc_answer_set_content(out, r->text, strlen(r->text));
        if (!completion)
            completion = lyc_tokens_estimate(strlen(r->text));
    } else {
        rc = s_placeholder(out, self->model->name, "recorded", r->correct);
        if (!completion)
            completion = 1;
    }
    out->correct = (Lyceum__V1__Correctness) r->correct;
    return rc | lyc_answer_set_usage(out, in, completion);
}

static int s_answer_unknown(const s_replay_t *self, const char *query, size_t prompt_bytes,
                            lyc_answer_t *out)
{
    if (!self->simulate) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED, 0,
                             "replay: no recorded answer for this query");
        return 0;
    }
    double u = s_draw(self->model->name, query);
    lyc_replay_correct_t correct =
        u < self->model->replay_simulate_accuracy ? LYC_REPLAY_RIGHT : LYC_REPLAY_WRONG;
    out->correct = (Lyceum__V1__Correctness) correct;
    return s_placeholder(out, self->model->name, "simulated", correct) |
           lyc_answer_set_usage(out, lyc_tokens_estimate(prompt_bytes), 1);
}

static int s_answer(void *impl, const lyc_task_t *task, lyc_answer_t *out)
{
    const s_replay_t *self = impl;
    const char *query = lyc_task_last_user(task);
    if (!query) {
        lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, 0,
                             "the task has no user message");
        return 0;
    }
    lyc_prompt_t *prompt = lyc_prompt_new(task, self->model->system_prompt);
    if (!prompt)
        goto out_no_memory;
    size_t prompt_bytes = lyc_prompt_bytes(prompt);
    lyc_prompt_destroy(&prompt);
    if (self->model->replay_latency_ms > 0)
        usleep((useconds_t) self->model->replay_latency_ms * 1000);
    const lyc_replay_record_t *record = lyc_replay_data_find(self->data, query);
    int rc = record ? s_answer_recorded(self, record, prompt_bytes, out)
                    : s_answer_unknown(self, query, prompt_bytes, out);
    if (rc != 0)
        goto out_no_memory;
    return 0;
out_no_memory:
    lyc_answer_set_error(out, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 1, "replay: out of memory");
    return 0;
}

const lyc_backend_ops_t lyc_backend_replay = {
    .name = "replay",
    .prepare = s_prepare,
    .release = s_release,
    .new = s_new,
    .answer = s_answer,
    .destroy = s_destroy,
};
