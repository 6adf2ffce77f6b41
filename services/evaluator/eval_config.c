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
    {"http_listen", LYC_CFG_STR, S_OFF(http_listen), "127.0.0.1:8091", 0, 0, NULL,
     "host:port of GET /metrics and /healthz (empty: none; an address in use is logged and "
     "skipped)"},
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
    {"delegate_min_pairs", LYC_CFG_INT, S_OFF(delegate_min_pairs), "30", 1, 1000000000, NULL,
     "answers paired with the supervisor's a teacher needs before it may judge its domain"},
    {"delegate_min_agreement", LYC_CFG_DOUBLE, S_OFF(delegate_min_agreement), "0.9", 0, 1, NULL,
     "Wilson lower bound (95 %) of its agreement with the supervisor a lone judge needs"},
    {"ensemble_min_agreement", LYC_CFG_DOUBLE, S_OFF(ensemble_min_agreement), "0.75", 0, 1, NULL,
     "agreement with the supervisor a teacher needs to sit in an ensemble of judges"},
    {"spot_check_initial", LYC_CFG_DOUBLE, S_OFF(spot_check_initial), "0.5", 0, 1, NULL,
     "share of a new delegate's judgements the supervisor checks"},
    {"spot_check_floor", LYC_CFG_DOUBLE, S_OFF(spot_check_floor), "0.05", 0, 1, NULL,
     "lowest share of a delegate's judgements the supervisor checks"},
    {"stats_scope", LYC_CFG_STR, S_OFF(stats_scope), "shared", 0, 0, NULL,
     "scope of the stats, roles and judges keys the evaluator reads and writes"},
    {"judges_refresh_ms", LYC_CFG_INT, S_OFF(judges_refresh_ms), "5000", 50, 3600000, NULL,
     "how often a domain's stats, roles and judges are reloaded from Redis"},
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

/* Appends name, role and prices of model to out->models; -1 out of memory. */
static int s_models_add(lyc_eval_config_t *out, const lyc_model_config_t *model)
{
    lyc_eval_model_t *grown = realloc(out->models, (out->n_models + 1) * sizeof *grown);
    if (!grown)
        return -1;
    out->models = grown;
    lyc_eval_model_t *entry = &grown[out->n_models];
    entry->name = strdup(model->name);
    if (!entry->name)
        return -1;
    entry->role = lyc_role_parse(model->role);
    entry->price_in = model->price_in;
    entry->price_out = model->price_out;
    out->n_models++;
    return 0;
}

/* Reads models[index]: keeps its role and prices, remembers it when its role
 * is supervisor and notes whether it is the configured judge. */
static int s_load_model(lyc_eval_config_t *out, const lyc_confdoc_t *doc, int index, size_t *count,
                        int *judge_listed, char *err, size_t errcap)
{
    lyc_model_config_t model;
    int rc = -1;

    if (lyc_model_config_load(doc, index, &model, err, errcap) != 0)
        goto out_free_model;
    if (strcmp(model.name, out->judge_model) == 0)
        *judge_listed = 1;
    if (s_models_add(out, &model) != 0 || (model.role && strcmp(model.role, "supervisor") == 0 &&
                                           s_list_add(&out->supervisors, count, model.name) != 0)) {
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
    if (out->spot_check_floor > out->spot_check_initial) {
        snprintf(err, errcap,
                 "%s: key 'evaluator.spot_check_floor' (%g) is above "
                 "'evaluator.spot_check_initial' (%g)",
                 lyc_confdoc_name(doc), out->spot_check_floor, out->spot_check_initial);
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
    for (size_t i = 0; i < config->n_models; i++)
        free(config->models[i].name);
    free(config->models);
    memset(config, 0, sizeof *config);
}

const lyc_eval_model_t *lyc_eval_config_model(const lyc_eval_config_t *config, const char *name)
{
    for (size_t i = 0; name && i < config->n_models; i++)
        if (strcmp(config->models[i].name, name) == 0)
            return &config->models[i];
    return NULL;
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
