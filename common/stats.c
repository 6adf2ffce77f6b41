/*
 * stats.c - per-model, per-domain score records in Redis hashes.
 */
#include "stats.h"

#include "log.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double lyc_stats_mean(const lyc_model_stats_t *s)
{
    return s->n > 0 ? s->sum / s->n : 0.0;
}

void lyc_stats_wilson(double mean, double n, double z, double *lower, double *upper)
{
    if (n <= 0) {
        *lower = 0.0;
        *upper = 1.0;
        return;
    }
    double p = mean < 0 ? 0 : mean > 1 ? 1 : mean;
    double z2 = z * z;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
    *lower = centre - half < 0 ? 0 : centre - half;
    *upper = centre + half > 1 ? 1 : centre + half;
}

double lyc_stats_agreement(const lyc_model_stats_t *s)
{
    return s->agree_n > 0 ? s->agree / s->agree_n : 0.0;
}

int lyc_stats_gap(const lyc_model_stats_t *s, double *mean, double *stderr_out)
{
    *mean = 0;
    *stderr_out = 0;
    if (s->pair_n <= 0)
        return -1;
    *mean = s->gap_sum / s->pair_n;
    if (s->pair_n >= 2) {
        double var = (s->gap_sumsq - s->pair_n * *mean * *mean) / (s->pair_n - 1);
        *stderr_out = var > 0 ? sqrt(var / s->pair_n) : 0;
    }
    return 0;
}

void lyc_stats_key(char *buf, size_t cap, const char *prefix, const char *scope, const char *domain)
{
    snprintf(buf, cap, "%s:stats:{%s}:%s", prefix, scope, domain);
}

static void s_key(char *buf, size_t cap, const char *prefix, const char *scope, const char *domain)
{
    lyc_stats_key(buf, cap, prefix, scope, domain);
}

/* Where each field suffix goes in the record. */
static double *s_field_slot(lyc_model_stats_t *s, const char *suffix)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"n", offsetof(lyc_model_stats_t, n)},
        {"sum", offsetof(lyc_model_stats_t, sum)},
        {"cost", offsetof(lyc_model_stats_t, cost)},
        {"ms", offsetof(lyc_model_stats_t, ms)},
        {"sumsq", offsetof(lyc_model_stats_t, sumsq)},
        {"errors", offsetof(lyc_model_stats_t, errors)},
        {"agree_n", offsetof(lyc_model_stats_t, agree_n)},
        {"agree", offsetof(lyc_model_stats_t, agree)},
        {"pair_n", offsetof(lyc_model_stats_t, pair_n)},
        {"gap_sum", offsetof(lyc_model_stats_t, gap_sum)},
        {"gap_sumsq", offsetof(lyc_model_stats_t, gap_sumsq)},
        {"human_n", offsetof(lyc_model_stats_t, human_n)},
        {"human_sum", offsetof(lyc_model_stats_t, human_sum)},
        {"judge_cost", offsetof(lyc_model_stats_t, judge_cost)},
        {"tok_n", offsetof(lyc_model_stats_t, tok_n)},
        {"tok_in", offsetof(lyc_model_stats_t, tok_in)},
        {"tok_out", offsetof(lyc_model_stats_t, tok_out)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(suffix, fields[i].name) == 0)
            return (double *) ((char *) s + fields[i].offset);
    return NULL;
}

/* Finds or appends model in the array; NULL when out of memory. */
static lyc_model_stats_t *s_slot(lyc_model_stats_t **arr, size_t *count, const char *model,
                                 size_t len)
{
    for (size_t i = 0; i < *count; i++)
        if (strlen((*arr)[i].model) == len && memcmp((*arr)[i].model, model, len) == 0)
            return &(*arr)[i];
    lyc_model_stats_t *grown = realloc(*arr, (*count + 1) * sizeof **arr);
    if (!grown)
        return NULL;
    *arr = grown;
    lyc_model_stats_t *s = &grown[(*count)++];
    memset(s, 0, sizeof *s);
    snprintf(s->model, sizeof s->model, "%.*s", (int) len, model);
    return s;
}

static int s_store_field(lyc_model_stats_t **arr, size_t *count, const char *field,
                         const char *value)
{
    const char *bar = strrchr(field, '|');
    if (!bar || bar == field || (size_t) (bar - field) >= LYC_STATS_MODEL_MAX)
        return 0; /* not ours; ignore */
    lyc_model_stats_t *s = s_slot(arr, count, field, (size_t) (bar - field));
    if (!s)
        return -1;
    double *slot = s_field_slot(s, bar + 1);
    if (slot)
        *slot = strtod(value, NULL);
    return 0;
}

int lyc_stats_parse(const redisReply *reply, lyc_model_stats_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (reply->type != REDIS_REPLY_ARRAY)
        return -1;
    int rc = 0;
    for (size_t i = 0; i + 1 < reply->elements && rc == 0; i += 2)
        rc = s_store_field(out, count, reply->element[i]->str, reply->element[i + 1]->str);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

int lyc_stats_load(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                   lyc_model_stats_t **out, size_t *count)
{
    char key[512];
    *out = NULL;
    *count = 0;
    s_key(key, sizeof key, prefix, scope, domain);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    if (!reply)
        return -1;
    /* A key of another type is an unknown domain, as it always was. */
    int rc = reply->type == REDIS_REPLY_ARRAY ? lyc_stats_parse(reply, out, count) : 0;
    freeReplyObject(reply);
    return rc;
}

void lyc_stats_add_prepare(lyc_stats_add_t *self, const char *prefix, const char *scope,
                           const char *domain, const char *model, double score, double cost,
                           double latency_ms)
{
    static const char *suffixes[4] = {"n", "sum", "cost", "ms"};
    static const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    double amounts[4] = {1.0, score, cost, latency_ms};

    /* One transaction, so a resend after a broken connection cannot count twice. */
    s_key(self->key, sizeof self->key, prefix, scope, domain);
    self->cmds[0] = (lyc_redis_cmd_t){.argc = 1, .argv = multi};
    for (int i = 0; i < 4; i++) {
        snprintf(self->fields[i], sizeof self->fields[i], "%s|%s", model, suffixes[i]);
        snprintf(self->values[i], sizeof self->values[i], "%.17g", amounts[i]);
        self->argv[i][0] = "HINCRBYFLOAT";
        self->argv[i][1] = self->key;
        self->argv[i][2] = self->fields[i];
        self->argv[i][3] = self->values[i];
        self->cmds[i + 1] = (lyc_redis_cmd_t){.argc = 4, .argv = self->argv[i]};
    }
    self->cmds[LYC_STATS_ADD_CMDS - 1] = (lyc_redis_cmd_t){.argc = 1, .argv = exec};
}

int lyc_stats_add_check(const lyc_stats_add_t *self, redisReply *const *replies)
{
    const redisReply *result = replies[LYC_STATS_ADD_CMDS - 1];
    if (result->type == REDIS_REPLY_ARRAY)
        return 0;
    LYC_WARN(NULL, "stats: update of %s failed: %s", self->key,
             result->type == REDIS_REPLY_ERROR ? result->str : "transaction aborted");
    return -1;
}

int lyc_stats_add(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                  const char *model, double score, double cost, double latency_ms)
{
    lyc_stats_add_t add;
    redisReply *replies[LYC_STATS_ADD_CMDS];
    lyc_stats_add_prepare(&add, prefix, scope, domain, model, score, cost, latency_ms);
    if (lyc_redis_pipeline(redis, LYC_STATS_ADD_CMDS, add.cmds, replies) != 0)
        return -1;
    int rc = lyc_stats_add_check(&add, replies);
    for (int i = 0; i < LYC_STATS_ADD_CMDS; i++)
        freeReplyObject(replies[i]);
    return rc;
}
