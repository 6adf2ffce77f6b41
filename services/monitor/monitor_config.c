/*
 * monitor_config.c - the monitor's settings table and the supervisors'
 * resolution from the models list.
 */
#include "monitor_config.h"

#include "model_config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OFF(field) offsetof(lyc_monitor_config_t, field)

const lyc_cfg_field_t lyc_monitor_config_table[] = {
    {"http_listen", LYC_CFG_STR, S_OFF(http_listen), "127.0.0.1:8090", 0, 0, NULL,
     "host:port of the dashboard (/), the JSON API (/api/...), /metrics and /healthz"},
    {"http_threads", LYC_CFG_INT, S_OFF(http_threads), "4", 1, 64, NULL,
     "threads answering HTTP requests"},
    {"group_prefix", LYC_CFG_STR, S_OFF(group_prefix), "lyceum-monitor", 0, 0, NULL,
     "each start joins a fresh consumer group <prefix>-<host>-<pid>-<random> and reads the whole "
     "log from the beginning"},
    {"bucket_s", LYC_CFG_INT, S_OFF(bucket_s), "10", 1, 86400, NULL,
     "width in seconds of one time bucket of the series (supervisor share, cost, errors)"},
    {"max_buckets", LYC_CFG_INT, S_OFF(max_buckets), "720", 2, 100000, NULL,
     "buckets a series shows (the newest)"},
    {"max_queries", LYC_CFG_INT, S_OFF(max_queries), "100000", 10, 10000000, NULL,
     "query records kept; past it those updated least recently are folded into totals (a late "
     "event of a folded query then counts as a new query)"},
    {"recent_queries", LYC_CFG_INT, S_OFF(recent_queries), "300", 1, 100000, NULL,
     "queries /api/cost lists one by one (the newest)"},
    {"seen_max", LYC_CFG_INT, S_OFF(seen_max), "1000000", 16, 100000000, NULL,
     "event ids remembered to drop duplicates (8 bytes each, twice)"},
    {"max_roles", LYC_CFG_INT, S_OFF(max_roles), "10000", 1, 1000000, NULL,
     "role changes kept for the timeline"},
    {"learning_min_exemplars", LYC_CFG_INT, S_OFF(learning_min_exemplars), "5", 1, 1000, NULL,
     "training samples a student must have received in a domain before its scores count as "
     "'after' in /api/learning (a gated fine-tuned version counts at once)"},
    {"supervisors", LYC_CFG_STR, S_OFF(supervisors), "", 0, 0, NULL,
     "comma-separated supervisor models; empty: the models whose role is supervisor"},
    {"supervisor_price_in", LYC_CFG_DOUBLE, S_OFF(supervisor_price_in), "-1", -1, 1e6, NULL,
     "supervisor's USD per million prompt tokens for supervisor-only cost; -1: from models"},
    {"supervisor_price_out", LYC_CFG_DOUBLE, S_OFF(supervisor_price_out), "-1", -1, 1e6, NULL,
     "supervisor's USD per million completion tokens; -1: from models"},
    {"poll_ms", LYC_CFG_INT, S_OFF(poll_ms), "200", 10, 10000, NULL,
     "longest wait of one poll of the event log"},
    {"snapshot_ms", LYC_CFG_INT, S_OFF(snapshot_ms), "500", 50, 60000, NULL,
     "while events arrive, the views are recomputed at most this often"},
    {NULL},
};

/* Appends name to the comma-separated list *list; -1 when out of memory. */
static int s_append(char **list, const char *name)
{
    size_t len = strlen(*list);
    char *grown = realloc(*list, len + strlen(name) + 2);
    if (!grown)
        return -1;
    snprintf(grown + len, strlen(name) + 2, "%s%s", len ? "," : "", name);
    *list = grown;
    return 0;
}

/* Reads models[i]: a supervisor joins the list (when none was configured)
 * and the first one gives the prices (when none were configured). */
static int s_model(lyc_monitor_config_t *out, const lyc_confdoc_t *doc, int i, int from_models,
                   int *priced, char *err, size_t errcap)
{
    lyc_model_config_t model;
    int rc = -1;
    if (lyc_model_config_load(doc, i, &model, err, errcap) != 0)
        goto out_free_model;
    int sup = model.role && strcmp(model.role, "supervisor") == 0;
    if (sup && from_models && s_append(&out->supervisors, model.name) != 0) {
        snprintf(err, errcap, "out of memory");
        goto out_free_model;
    }
    if (sup && !*priced) {
        if (out->supervisor_price_in < 0)
            out->supervisor_price_in = model.price_in;
        if (out->supervisor_price_out < 0)
            out->supervisor_price_out = model.price_out;
        *priced = 1;
    }
    rc = 0;
out_free_model:
    lyc_model_config_free(&model);
    return rc;
}

int lyc_monitor_config_load(lyc_monitor_config_t *out, const lyc_confdoc_t *doc, char *err,
                            size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (lyc_config_apply(lyc_monitor_config_table, out, doc, "monitor.", "LYCEUM_MONITOR", err,
                         errcap) != 0)
        return -1;
    int from_models = *out->supervisors == '\0', priced = 0;
    int n = lyc_model_config_count(doc);
    for (int i = 0; i < n; i++)
        if (s_model(out, doc, i, from_models, &priced, err, errcap) != 0)
            return -1;
    if (out->supervisor_price_in < 0)
        out->supervisor_price_in = 0;
    if (out->supervisor_price_out < 0)
        out->supervisor_price_out = 0;
    return 0;
}

void lyc_monitor_config_free(lyc_monitor_config_t *config)
{
    if (!config)
        return;
    lyc_config_free(lyc_monitor_config_table, config);
    memset(config, 0, sizeof *config);
}
