/*
 * eval_config.c - the evaluator's settings table and the judge's resolution.
 */
#include "eval_config.h"

#include "log.h"
#include "model_config.h"

#include "lyceum/v1/evaluation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OFF(field) offsetof(lyc_eval_config_t, field)

const lyc_cfg_field_t lyc_eval_config_table[] = {
    {"bind", LYC_CFG_STR, S_OFF(bind), "tcp://127.0.0.1:5703", 0, 0, NULL,
     "where the evaluator's ROUTER binds (routers connect to bus.evaluator)"},
    {"threads", LYC_CFG_INT, S_OFF(threads), "4", 1, 256, NULL,
     "requests graded at once (each thread has its own judge connection)"},
    {"queue_max", LYC_CFG_INT, S_OFF(queue_max), "256", 0, 100000, NULL,
     "requests waiting for a free thread; past it a request gets a retryable busy reply"},
    {"mode", LYC_CFG_STR, S_OFF(mode), "judge", 0, 0, "judge|agreement|reference",
     "how a request that names no mode is graded"},
    {"judge_model", LYC_CFG_STR, S_OFF(judge_model), "", 0, 0, NULL,
     "model that judges (default: the model whose role is supervisor)"},
    {"cheap_margin", LYC_CFG_DOUBLE, S_OFF(cheap_margin), "0.05", 0, 1, NULL,
     "a cheaper answer scoring within this of the best wins (unless the request sets one)"},
    {"judge_timeout_ms", LYC_CFG_INT, S_OFF(judge_timeout_ms), "30000", 10, 600000, NULL,
     "deadline of one judge call; a late judge means grading by agreement"},
    {"judge_max_tokens", LYC_CFG_INT, S_OFF(judge_max_tokens), "0", 0, 1000000, NULL,
     "completion limit of a judge call (0: the judge model's default)"},
    {"synthesis", LYC_CFG_BOOL, S_OFF(synthesis), "false", 0, 0, NULL,
     "the judge may write a better answer from several (when the request allows it)"},
    {"agreement_threshold", LYC_CFG_DOUBLE, S_OFF(agreement_threshold), "0.75", 0, 1, NULL,
     "similarity (0..1) at which two answers count as agreeing"},
    {NULL},
};

/* Appends a copy of name to the NULL-terminated list *list; -1 when out of memory. */
static int s_list_add(char ***list, size_t *count, const char *name)
{
    char **grown = realloc(*list, (*count + 2) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    grown[*count] = strdup(name);
    if (!grown[*count])
        return -1;
    grown[++*count] = NULL;
    return 0;
}

/* Reads models[index]: remembers it when its role is supervisor and notes
 * whether it is the configured judge. */
static int s_load_model(lyc_eval_config_t *out, const lyc_confdoc_t *doc, int index, size_t *count,
                        int *judge_listed, char *err, size_t errcap)
{
    lyc_model_config_t model;
    int rc = -1;

    if (lyc_model_config_load(doc, index, &model, err, errcap) != 0)
        goto out_free_model;
    if (strcmp(model.name, out->judge_model) == 0)
        *judge_listed = 1;
    if (model.role && strcmp(model.role, "supervisor") == 0 &&
        s_list_add(&out->supervisors, count, model.name) != 0) {
        snprintf(err, errcap, "out of memory");
        goto out_free_model;
    }
    rc = 0;
out_free_model:
    lyc_model_config_free(&model);
    return rc;
}

/* Collects the supervisors of the models list; sets *judge_listed when the
 * configured judge is one of the models. */
static int s_load_supervisors(lyc_eval_config_t *out, const lyc_confdoc_t *doc, int *judge_listed,
                              char *err, size_t errcap)
{
    size_t count = 0;
    int n = lyc_model_config_count(doc);

    *judge_listed = 0;
    for (int i = 0; i < n; i++)
        if (s_load_model(out, doc, i, &count, judge_listed, err, errcap) != 0)
            return -1;
    return 0;
}

/* Makes the first supervisor the judge when none is configured. */
static int s_resolve_judge(lyc_eval_config_t *out)
{
    if (*out->judge_model || !out->supervisors || !out->supervisors[0])
        return 0;
    char *name = strdup(out->supervisors[0]);
    if (!name)
        return -1;
    free(out->judge_model);
    out->judge_model = name;
    return 0;
}

int lyc_eval_config_load(lyc_eval_config_t *out, const lyc_confdoc_t *doc, char *err, size_t errcap)
{
    int judge_listed = 0;

    memset(out, 0, sizeof *out);
    if (lyc_config_apply(lyc_eval_config_table, out, doc, "evaluator.", "LYCEUM_EVALUATOR", err,
                         errcap) != 0)
        return -1;
    if (s_load_supervisors(out, doc, &judge_listed, err, errcap) != 0)
        return -1;
    if (*out->judge_model && !judge_listed && lyc_model_config_count(doc) > 0) {
        snprintf(err, errcap, "%s: key 'evaluator.judge_model': no model named '%s' in models",
                 lyc_confdoc_name(doc), out->judge_model);
        return -1;
    }
    if (s_resolve_judge(out) != 0) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

void lyc_eval_config_free(lyc_eval_config_t *config)
{
    if (!config)
        return;
    lyc_config_free(lyc_eval_config_table, config);
    for (char **s = config->supervisors; s && *s; s++)
        free(*s);
    free(config->supervisors);
    memset(config, 0, sizeof *config);
}

int lyc_eval_config_is_supervisor(const lyc_eval_config_t *config, const char *model)
{
    if (!model || !*model)
        return 0;
    if (config->judge_model && strcmp(config->judge_model, model) == 0)
        return 1;
    for (char **s = config->supervisors; s && *s; s++)
        if (strcmp(*s, model) == 0)
            return 1;
    return 0;
}

static const char *s_modes[] = {"unspecified", "judge", "agreement", "reference"};

int lyc_eval_mode_parse(const char *name)
{
    for (int i = 1; i <= 3; i++)
        if (name && strcmp(name, s_modes[i]) == 0)
            return i;
    return LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED;
}

const char *lyc_eval_mode_name(int mode)
{
    return mode >= 0 && mode <= 3 ? s_modes[mode] : "unknown";
}
