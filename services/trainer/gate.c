/*
 * gate.c - held-out questions through a model's backend, graded.
 */
#include "gate.h"

#include "backend.h"
#include "grade.h"
#include "ids.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TURNS 16

/* One held-out line: the turns to ask and the reference answer. */
typedef struct {
    Lyceum__V1__ChatMessage turns[S_MAX_TURNS];
    Lyceum__V1__ChatMessage *ptrs[S_MAX_TURNS];
    size_t n;
    const char *reference;
    cJSON *root; /* owns the strings */
} s_question_t;

/* Parses a line; 0 when it holds a question with a reference, else -1. */
static int s_question(const char *line, s_question_t *q)
{
    memset(q, 0, sizeof *q);
    q->root = cJSON_Parse(line);
    cJSON *messages = cJSON_GetObjectItemCaseSensitive(q->root, "messages");
    int count = cJSON_GetArraySize(messages);
    if (!cJSON_IsArray(messages) || count < 2 || count > S_MAX_TURNS + 1)
        return -1;
    for (int i = 0; i < count; i++) {
        cJSON *m = cJSON_GetArrayItem(messages, i);
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "role"));
        const char *content = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "content"));
        if (!role || !content)
            return -1;
        if (i == count - 1) {
            q->reference = strcmp(role, "assistant") == 0 ? content : NULL;
            break;
        }
        lyceum__v1__chat_message__init(&q->turns[q->n]);
        q->turns[q->n].role = (char *) role;
        q->turns[q->n].content = (char *) content;
        q->ptrs[q->n] = &q->turns[q->n];
        q->n++;
    }
    return q->reference ? 0 : -1;
}

/* Asks one question; 1 right, 0 wrong, with *failed set for an error. */
static int s_ask(lyc_backend_t *backend, const lyc_model_config_t *model, const s_question_t *q,
                 const char *tenant, const char *domain, int *failed)
{
    char task_id[LYC_ID_LEN], trace_id[LYC_ID_LEN];
    lyc_id_new(task_id);
    lyc_id_new(trace_id);
    lyc_task_t task = LYCEUM__V1__TASK__INIT;
    task.task_id = task_id;
    task.trace_id = trace_id;
    task.model = model->name;
    task.messages = (Lyceum__V1__ChatMessage **) q->ptrs;
    task.n_messages = q->n;
    task.tenant = (char *) tenant;
    task.domain = (char *) domain;
    task.deadline_ms = (uint32_t) model->timeout_ms;
    lyc_answer_t answer = LYCEUM__V1__ANSWER__INIT;
    int right = 0;
    *failed = 0;
    if (lyc_backend_answer(backend, &task, &answer) != 0 || answer.error)
        *failed = 1;
    else
        right = lyc_grade_match(answer.content, q->reference);
    lyc_answer_release(&answer);
    return right;
}

/* Asks every question of the open file. */
static void s_ask_all(FILE *in, lyc_backend_t *backend, const lyc_model_config_t *model,
                      const char *tenant, const char *domain, size_t max,
                      const volatile sig_atomic_t *stop, lyc_gate_result_t *out)
{
    char *line = NULL;
    size_t cap = 0;
    while (out->asked < max && !(stop && *stop) && getline(&line, &cap, in) > 0) {
        s_question_t q;
        if (s_question(line, &q) == 0) {
            int failed;
            out->right += (size_t) s_ask(backend, model, &q, tenant, domain, &failed);
            out->failed += (size_t) failed;
            out->asked++;
        }
        cJSON_Delete(q.root);
    }
    free(line);
}

int lyc_gate_evaluate(const lyc_model_config_t *model, const lyc_settings_t *settings,
                      const char *heldout_path, const char *tenant, const char *domain,
                      size_t max_questions, const volatile sig_atomic_t *stop,
                      lyc_gate_result_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    FILE *in = fopen(heldout_path, "r");
    if (!in) {
        snprintf(err, errcap, "cannot read %s: %s", heldout_path, strerror(errno));
        return -1;
    }
    int rc = -1;
    lyc_backend_env_t *env = lyc_backend_env_new(model, settings, NULL, err, errcap);
    if (!env)
        goto out_close;
    lyc_backend_t *backend = lyc_backend_new(env);
    if (!backend) {
        snprintf(err, errcap, "model '%s': its backend cannot be made", model->name);
        goto out_env;
    }
    s_ask_all(in, backend, model, tenant, domain, max_questions, stop, out);
    lyc_backend_destroy(&backend);
    if (out->asked == 0) {
        snprintf(err, errcap, "%s holds no held-out question", heldout_path);
        goto out_env;
    }
    out->score = (double) out->right / (double) out->asked;
    rc = 0;
out_env:
    lyc_backend_env_destroy(&env);
out_close:
    fclose(in);
    return rc;
}
