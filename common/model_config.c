/*
 * model_config.c - the table of a model's settings.
 */
#define _GNU_SOURCE /* open_memstream */

#include "model_config.h"

#include "envelope.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OFF(field) offsetof(lyc_model_config_t, field)

const lyc_cfg_field_t lyc_model_config_table[] = {
    {"name", LYC_CFG_STR, S_OFF(name), NULL, 0, 0, NULL, "unique model name"},
    {"backend", LYC_CFG_STR, S_OFF(backend), NULL, 0, 0, "openai|replay|memory",
     "what answers: an OpenAI-compatible server, recorded answers, or the memory student"},
    {"role", LYC_CFG_STR, S_OFF(role), "student", 0, 0, "student|ta|teacher|supervisor",
     "starting role in every domain"},
    {"replicas", LYC_CFG_INT, S_OFF(replicas), "1", 0, 64, NULL, "worker processes to run"},
    {"capacity", LYC_CFG_INT, S_OFF(capacity), "8", 1, 1024, NULL,
     "calls one worker serves at once"},
    {"price_in", LYC_CFG_DOUBLE, S_OFF(price_in), "0", 0, 1e6, NULL,
     "USD per million prompt tokens"},
    {"price_out", LYC_CFG_DOUBLE, S_OFF(price_out), "0", 0, 1e6, NULL,
     "USD per million completion tokens"},
    {"timeout_ms", LYC_CFG_INT, S_OFF(timeout_ms), "30000", 1, 600000, NULL,
     "how long the router waits for this model's answer"},
    {"exemplars", LYC_CFG_INT, S_OFF(exemplars), "0", 0, 32, NULL,
     "past winning answers of the domain put in the prompt (in-context distillation)"},
    {"system_prompt", LYC_CFG_STR, S_OFF(system_prompt), "", 0, 0, NULL,
     "system message put first in every prompt, {domain} replaced by the task's domain (a "
     "fine-tuned student is served with the prompt it was trained with); empty: none"},
    {"openai.base_url", LYC_CFG_STR, S_OFF(openai_base_url), "", 0, 0, NULL,
     "base URL of the OpenAI-compatible API, e.g. https://api.openai.com/v1"},
    {"openai.model", LYC_CFG_STR, S_OFF(openai_model), "", 0, 0, NULL,
     "model name at that API (default: name)"},
    {"openai.api_key_env", LYC_CFG_STR, S_OFF(openai_api_key_env), "", 0, 0, NULL,
     "environment variable holding the API key (never the key itself)"},
    {"openai.max_retries", LYC_CFG_INT, S_OFF(openai_max_retries), "3", 0, 10, NULL,
     "retries with back-off on 429 and 5xx"},
    {"openai.max_tokens", LYC_CFG_INT, S_OFF(openai_max_tokens), "0", 0, 1000000, NULL,
     "completion limit when the client gives none (0: the server's default)"},
    {"replay.files", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "recorded outcomes: files or globs"},
    {"replay.format", LYC_CFG_STR, S_OFF(replay_format), "routellm", 0, 0, "routellm|jsonl",
     "RouteLLM CSV (one True/False column per model) or Lyceum JSONL"},
    {"replay.column", LYC_CFG_STR, S_OFF(replay_column), "", 0, 0, NULL,
     "column or key of this model in the files (default: name)"},
    {"replay.unknown", LYC_CFG_STR, S_OFF(replay_unknown), "abstain", 0, 0, "abstain|simulate",
     "what a query with no record gets"},
    {"replay.simulate_accuracy", LYC_CFG_DOUBLE, S_OFF(replay_simulate_accuracy), "0.7", 0, 1, NULL,
     "share of simulated answers marked correct"},
    {"replay.latency_ms", LYC_CFG_INT, S_OFF(replay_latency_ms), "0", 0, 600000, NULL,
     "simulated time a replayed answer takes, as a real model's would"},
    {"memory.threshold", LYC_CFG_DOUBLE, S_OFF(memory_threshold), "0.95", 0, 1, NULL,
     "similarity a past query needs before its answer is reused"},
    {.key = NULL}, /* ends the table */
};

char *lyc_model_system_prompt(const char *template_text, const char *domain)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    for (const char *p = template_text ? template_text : ""; *p; p++) {
        if (strncmp(p, "{domain}", 8) == 0) {
            fputs(domain ? domain : "", out);
            p += 7;
        } else {
            fputc(*p, out);
        }
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

int lyc_model_config_count(const lyc_confdoc_t *doc)
{
    return lyc_confdoc_count(doc, "models");
}

/* Collects models.N.replay.files.* (or a single string) into a NULL-terminated
 * list. Items that are not strings (a mapping in the list) are skipped, so the
 * list has no hole before its end. */
static int s_load_files(const lyc_confdoc_t *doc, const char *prefix, lyc_model_config_t *out)
{
    char key[256];
    snprintf(key, sizeof key, "%sreplay.files", prefix);
    int n = lyc_confdoc_count(doc, key);
    const char *single = lyc_confdoc_get(doc, key, NULL);
    out->replay_files = calloc((size_t) n + 2, sizeof *out->replay_files);
    if (!out->replay_files)
        return -1;
    if (single)
        return (out->replay_files[0] = strdup(single)) ? 0 : -1;
    for (int i = 0, kept = 0; i < n; i++) {
        char item[300];
        snprintf(item, sizeof item, "%s.%d", key, i);
        const char *value = lyc_confdoc_get(doc, item, NULL);
        if (value && !(out->replay_files[kept++] = strdup(value)))
            return -1;
    }
    return 0;
}

int lyc_model_config_load(const lyc_confdoc_t *doc, int index, lyc_model_config_t *out, char *err,
                          size_t errcap)
{
    char prefix[64];
    memset(out, 0, sizeof *out);
    out->index = index;
    snprintf(prefix, sizeof prefix, "models.%d.", index);
    if (lyc_config_apply(lyc_model_config_table, out, doc, prefix, NULL, err, errcap) != 0)
        return -1;
    if (!out->name || !*out->name || !out->backend) {
        snprintf(err, errcap, "%s: models[%d] needs a name and a backend", lyc_confdoc_name(doc),
                 index);
        return -1;
    }
    if (s_load_files(doc, prefix, out) != 0) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

int lyc_model_config_find(const lyc_confdoc_t *doc, const char *name, lyc_model_config_t *out,
                          char *err, size_t errcap)
{
    int count = lyc_model_config_count(doc);
    for (int i = 0; i < count; i++) {
        char key[64];
        snprintf(key, sizeof key, "models.%d.name", i);
        const char *value = lyc_confdoc_get(doc, key, NULL);
        if (value && strcmp(value, name) == 0)
            return lyc_model_config_load(doc, i, out, err, errcap);
    }
    snprintf(err, errcap, "%s: no model named '%s' in models", lyc_confdoc_name(doc), name);
    return -1;
}

static const char *s_roles[] = {"", "student", "ta", "teacher", "supervisor"};

int lyc_role_parse(const char *name)
{
    for (int i = 1; i <= 4; i++)
        if (name && strcmp(name, s_roles[i]) == 0)
            return i;
    return 0;
}

const char *lyc_role_name(int role)
{
    return role >= 1 && role <= 4 ? s_roles[role] : "unspecified";
}

void lyc_model_config_free(lyc_model_config_t *model)
{
    lyc_config_free(lyc_model_config_table, model);
    for (char **f = model->replay_files; f && *f; f++)
        free(*f);
    free(model->replay_files);
    model->replay_files = NULL;
}
