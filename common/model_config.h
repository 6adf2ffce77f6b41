/*
 * model_config.h - one model of the cluster file's `models:` list.
 *
 *   models:
 *     - name: gpt-4-1106-preview      # unique; the name clients and events use
 *       backend: replay               # openai | replay | memory
 *       role: supervisor              # student | ta | teacher | supervisor (starting role)
 *       replicas: 1                   # worker processes `lyceum up` starts
 *       capacity: 8                   # calls one worker serves at once
 *       price_in: 24.7                # USD per million prompt tokens
 *       price_out: 24.7               # USD per million completion tokens
 *       timeout_ms: 30000             # the router waits this long for an answer
 *       exemplars: 0                  # past winning answers put in the prompt
 *       system_prompt: ""             # first system message; {domain} is the task's
 *       openai: {base_url, model, api_key_env, max_retries, max_tokens}
 *       replay: {files: [..], format: routellm|jsonl, column, unknown: abstain|simulate,
 *                simulate_accuracy, latency_ms}
 *       memory: {threshold}
 *
 * The worker of a model and the launcher read it with lyc_model_config_load().
 */
#ifndef LYCEUM_MODEL_CONFIG_H
#define LYCEUM_MODEL_CONFIG_H

#include "config.h"

typedef struct {
    char *name;
    char *backend;
    char *role;
    long replicas;
    long capacity;
    double price_in;
    double price_out;
    long timeout_ms;
    long exemplars;
    char *system_prompt;
    char *openai_base_url;
    char *openai_model;
    char *openai_api_key_env;
    long openai_max_retries;
    long openai_max_tokens;
    char *replay_format;
    char *replay_column;
    char *replay_unknown;
    double replay_simulate_accuracy;
    long replay_latency_ms;
    double memory_threshold;
    /* Not from the table: */
    int index;           /* position in the models list */
    char **replay_files; /* NULL-terminated, owned */
} lyc_model_config_t;

extern const lyc_cfg_field_t lyc_model_config_table[];

/* template_text with every "{domain}" replaced by domain (NULL: ""), as a
 * new string; NULL when out of memory. The system prompt of a model (its
 * system_prompt) for a task, and of the fine-tuning samples made for it. */
char *lyc_model_system_prompt(const char *template_text, const char *domain);

/* Number of models in the document. */
int lyc_model_config_count(const lyc_confdoc_t *doc);

/* Loads models[index] into *out. Returns 0, or -1 with the reason in err
 * (key, file and line). Free with lyc_model_config_free(). */
int lyc_model_config_load(const lyc_confdoc_t *doc, int index, lyc_model_config_t *out, char *err,
                          size_t errcap);

/* Finds the model named name and loads it; -1 with a reason when absent. */
int lyc_model_config_find(const lyc_confdoc_t *doc, const char *name, lyc_model_config_t *out,
                          char *err, size_t errcap);

/* Role names as in the schema ("student" -> LYCEUM__V1__ROLE__ROLE_STUDENT); 0 if unknown. */
int lyc_role_parse(const char *name);
const char *lyc_role_name(int role);

void lyc_model_config_free(lyc_model_config_t *model);

#endif
