/*
 * trainer_config.c - the trainer's settings table and its cross-checks.
 */
#include "trainer_config.h"

#include "model_config.h"

#include "lyceum/v1/common.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OFF(field) offsetof(lyc_trainer_config_t, field)
#define S_TA         LYCEUM__V1__ROLE__ROLE_TA
#define S_TEACHER    LYCEUM__V1__ROLE__ROLE_TEACHER
#define S_SUP        LYCEUM__V1__ROLE__ROLE_SUPERVISOR

const lyc_cfg_field_t lyc_trainer_config_table[] = {
    {"group", LYC_CFG_STR, S_OFF(group), "lyceum-trainer", 0, 0, NULL,
     "Kafka consumer group; replicas of one trainer share its partitions"},
    {"offset_reset", LYC_CFG_STR, S_OFF(offset_reset), "earliest", 0, 0, "earliest|latest",
     "where a group without committed offsets starts reading the feedback topic"},
    {"session_timeout_ms", LYC_CFG_INT, S_OFF(session_timeout_ms), "10000", 1000, 300000, NULL,
     "a replica that stops heartbeating (crashed) loses its partitions to the others after this"},
    {"instance_id", LYC_CFG_STR, S_OFF(instance_id), "", 0, 0, NULL,
     "static group membership (e.g. the pod name): a restarted replica with the same id takes "
     "its partitions back at once (\"\": dynamic membership)"},
    {"http_listen", LYC_CFG_STR, S_OFF(http_listen), "127.0.0.1:8092", 0, 0, NULL,
     "host:port of GET /metrics and GET /healthz (\"\": no HTTP server)"},
    {"commit_interval_ms", LYC_CFG_INT, S_OFF(commit_interval_ms), "1000", 10, 600000, NULL,
     "applied events' offsets are committed this often (and on shutdown)"},
    {"trace_quiet_ms", LYC_CFG_INT, S_OFF(trace_quiet_ms), "200", 0, 60000, NULL,
     "a query's events are applied once none arrived for this long"},
    {"trace_max_events", LYC_CFG_INT, S_OFF(trace_max_events), "64", 1, 10000, NULL,
     "... or as soon as this many events of the query arrived"},
    {"trace_max_buffered", LYC_CFG_INT, S_OFF(trace_max_buffered), "10000", 1, 10000000, NULL,
     "queries buffered at once; past it the oldest is applied early"},
    {"seen_ttl_s", LYC_CFG_INT, S_OFF(seen_ttl_s), "172800", 60, 31536000, NULL,
     "how long an applied event id is remembered (a replay or resend within it counts once)"},
    {"pair_ttl_s", LYC_CFG_INT, S_OFF(pair_ttl_s), "600", 10, 604800, NULL,
     "how long a query's supervisor score waits in Redis for late events of the same query"},
    {"per_tenant_stats", LYC_CFG_BOOL, S_OFF(per_tenant_stats), "false", 0, 0, NULL,
     "also keep statistics (and roles) per tenant, besides the shared scope"},
    {"human_weight", LYC_CFG_DOUBLE, S_OFF(human_weight), "3", 0, 1000, NULL,
     "a user's own score counts this many times a judge's"},
    {"agree_margin", LYC_CFG_DOUBLE, S_OFF(agree_margin), "0.5", 0, 1, NULL,
     "a model agrees with the supervisor when their scores differ by less than this"},
    {"role_interval_ms", LYC_CFG_INT, S_OFF(role_interval_ms), "500", 10, 600000, NULL,
     "domains with new evidence have their roles re-decided this often"},
    {"roles.z", LYC_CFG_DOUBLE, S_OFF(confidence_z), "1.96", 0.5, 5, NULL,
     "z of the Wilson confidence bounds (1.96: 95 %)"},
    {"roles.hysteresis", LYC_CFG_DOUBLE, S_OFF(hysteresis), "0.05", 0, 0.5, NULL,
     "demotion when the upper bound falls below the step's threshold minus this"},
    {"roles.ta.min_count", LYC_CFG_INT, S_OFF(steps[S_TA].min_count), "20", 1, 100000000, NULL,
     "scored answers a student needs before it can become a TA"},
    {"roles.ta.promote", LYC_CFG_DOUBLE, S_OFF(steps[S_TA].promote), "0.6", 0, 1, NULL,
     "Wilson lower bound of the mean score a student needs to become a TA"},
    {"roles.teacher.min_count", LYC_CFG_INT, S_OFF(steps[S_TEACHER].min_count), "50", 1, 100000000,
     NULL, "scored answers a TA needs before it can become a teacher"},
    {"roles.teacher.promote", LYC_CFG_DOUBLE, S_OFF(steps[S_TEACHER].promote), "0.75", 0, 1, NULL,
     "Wilson lower bound of the mean score a TA needs to become a teacher"},
    {"roles.supervisor.min_count", LYC_CFG_INT, S_OFF(steps[S_SUP].min_count), "200", 1, 100000000,
     NULL, "scored answers a teacher needs before it can be promoted supervisor"},
    {"roles.supervisor.promote", LYC_CFG_DOUBLE, S_OFF(steps[S_SUP].promote), "0.85", 0, 1, NULL,
     "Wilson lower bound of the mean score a teacher needs to be promoted supervisor"},
    {"roles.supervisor.min_agreement", LYC_CFG_DOUBLE, S_OFF(steps[S_SUP].min_agreement), "0.9", 0,
     1, NULL, "share of its scores agreeing with the supervisor's a teacher needs too"},
    {"exemplar_min_score", LYC_CFG_DOUBLE, S_OFF(exemplar_min_score), "0.8", 0, 1, NULL,
     "a winning answer scored at least this becomes fine-tuning data for the students"},
    {"data_dir", LYC_CFG_STR, S_OFF(data_dir), "/tmp/lyceum-trainer", 0, 0, NULL,
     "fine-tuning data (<student>/<domain>/train.jsonl), job outputs, worker cluster files"},
    {"system_prompt", LYC_CFG_STR, S_OFF(system_prompt),
     "You are an expert assistant for {domain} questions. Answer correctly and concisely.", 0, 0,
     NULL, "system message of every training sample and new student ({domain} is replaced)"},
    {"holdout_every", LYC_CFG_INT, S_OFF(holdout_every), "10", 2, 1000000, NULL,
     "every k-th sample of a (student, domain) goes to heldout.jsonl instead of train.jsonl"},
    {"sample_ttl_s", LYC_CFG_INT, S_OFF(sample_ttl_s), "604800", 60, 31536000, NULL,
     "how long a (student, query) sample is remembered, so a replay adds it once"},
    {"budget_tenant", LYC_CFG_STR, S_OFF(budget_tenant), "", 0, 0, NULL,
     "tenant whose budget (lyceum keys tenant) pays for fine-tuning; empty: no budget check"},
    {"finetune_cost_usd", LYC_CFG_DOUBLE, S_OFF(finetune_cost_usd), "0", 0, 1e6, NULL,
     "expected cost of one fine-tuning job, reserved against the budget before it is dispatched"},
    {"finetune_min_samples", LYC_CFG_INT, S_OFF(finetune_min_samples), "100", 1, 100000000, NULL,
     "new training samples of a (student, domain) that start a fine-tuning job"},
    {"dispatcher", LYC_CFG_STR, S_OFF(dispatcher), "none", 0, 0, "none|command|openai",
     "how fine-tuning jobs run: not at all, a command template, or an OpenAI-compatible API"},
    {"command", LYC_CFG_STR, S_OFF(command), "", 0, 0, NULL,
     "command dispatcher: /bin/sh -c template with {data} {heldout} {base_model} {domain} "
     "{output} {job_id} {name}; it writes {output}/model.yaml"},
    {"job_timeout_ms", LYC_CFG_INT, S_OFF(job_timeout_ms), "3600000", 100, 604800000, NULL,
     "a fine-tuning job running longer is stopped and fails"},
    {"openai.base_url", LYC_CFG_STR, S_OFF(openai_base_url), "", 0, 0, NULL,
     "openai dispatcher: base URL of the fine-tuning API, e.g. https://api.openai.com/v1"},
    {"openai.api_key_env", LYC_CFG_STR, S_OFF(openai_api_key_env), "OPENAI_API_KEY", 0, 0, NULL,
     "openai dispatcher: environment variable holding the API key"},
    {"openai.poll_ms", LYC_CFG_INT, S_OFF(openai_poll_ms), "10000", 10, 3600000, NULL,
     "openai dispatcher: how often a running job's state is asked"},
    {"gate_min_score", LYC_CFG_DOUBLE, S_OFF(gate_min_score), "0.7", 0, 1, NULL,
     "held-out accuracy a candidate needs to go live"},
    {"gate_max_regression", LYC_CFG_DOUBLE, S_OFF(gate_max_regression), "0.05", 0, 1, NULL,
     "a candidate may score at most this much below its parent on the same questions"},
    {"gate_max_questions", LYC_CFG_INT, S_OFF(gate_max_questions), "50", 1, 100000, NULL,
     "held-out questions asked of a candidate at most"},
    {"spawn_workers", LYC_CFG_BOOL, S_OFF(spawn_workers), "false", 0, 0, NULL,
     "start a lyceum-worker for every model that passed the gate"},
    {"worker_binary", LYC_CFG_STR, S_OFF(worker_binary), "", 0, 0, NULL,
     "the lyceum-worker to start (\"\": beside lyceum-trainer, else the build's, else PATH)"},
    {"new_domains", LYC_CFG_BOOL, S_OFF(new_domains), "true", 0, 0, NULL,
     "cluster unlabelled (\"general\") queries far from every known domain into new domains"},
    {"cluster_similarity", LYC_CFG_DOUBLE, S_OFF(cluster_similarity), "0.5", 0, 1, NULL,
     "cosine to a cluster's centroid that makes a query join it"},
    {"known_similarity", LYC_CFG_DOUBLE, S_OFF(known_similarity), "0.6", 0, 1, NULL,
     "cosine to a labelled past query that makes a query part of a known domain"},
    {"new_domain_min_size", LYC_CFG_INT, S_OFF(new_domain_min_size), "20", 2, 1000000, NULL,
     "queries a cluster needs to become a new domain"},
    {"cluster_max", LYC_CFG_INT, S_OFF(cluster_max), "1000", 1, 1000000, NULL,
     "clusters kept at once; the smallest is forgotten past it"},
    {"onboard_template", LYC_CFG_STR, S_OFF(onboard_template), "", 0, 0, NULL,
     "model of the models list whose settings a new domain's student copies (\"\": none)"},
    {NULL},
};

/* Reads the models list: names, backends and configured roles. */
static int s_load_models(lyc_trainer_config_t *out, const lyc_confdoc_t *doc, char *err,
                         size_t errcap)
{
    int count = lyc_model_config_count(doc);
    if (count <= 0)
        return 0;
    out->models = calloc((size_t) count, sizeof *out->models);
    if (!out->models) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        lyc_model_config_t m;
        if (lyc_model_config_load(doc, i, &m, err, errcap) != 0) {
            lyc_model_config_free(&m);
            return -1;
        }
        lyc_trainer_model_t *t = &out->models[out->n_models++];
        t->name = strdup(m.name);
        t->backend = strdup(m.backend);
        t->role = lyc_role_parse(m.role);
        lyc_model_config_free(&m);
        if (!t->name || !t->backend) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* What one key alone cannot say. */
static int s_check(const lyc_trainer_config_t *c, char *err, size_t errcap)
{
    if (strcmp(c->dispatcher, "command") == 0 && !*c->command) {
        snprintf(err, errcap, "trainer.dispatcher is command but trainer.command is empty");
        return -1;
    }
    if (strcmp(c->dispatcher, "openai") == 0 && !*c->openai_base_url) {
        snprintf(err, errcap, "trainer.dispatcher is openai but trainer.openai.base_url is empty");
        return -1;
    }
    if (*c->onboard_template && !lyc_trainer_config_model(c, c->onboard_template)) {
        snprintf(err, errcap, "trainer.onboard_template '%s' is not in the models list",
                 c->onboard_template);
        return -1;
    }
    if (!*c->data_dir) {
        snprintf(err, errcap, "trainer.data_dir must not be empty");
        return -1;
    }
    return 0;
}

int lyc_trainer_config_load(lyc_trainer_config_t *out, const lyc_confdoc_t *doc, const char *path,
                            char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (lyc_config_apply(lyc_trainer_config_table, out, doc, "trainer.", "LYCEUM_TRAINER", err,
                         errcap) != 0)
        return -1;
    if (path && !(out->cluster_path = strdup(path))) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    if (s_load_models(out, doc, err, errcap) != 0)
        return -1;
    return s_check(out, err, errcap);
}

void lyc_trainer_config_free(lyc_trainer_config_t *config)
{
    lyc_config_free(lyc_trainer_config_table, config);
    for (size_t i = 0; i < config->n_models; i++) {
        free(config->models[i].name);
        free(config->models[i].backend);
    }
    free(config->models);
    free(config->cluster_path);
    memset(config, 0, sizeof *config);
}

const lyc_trainer_model_t *lyc_trainer_config_model(const lyc_trainer_config_t *config,
                                                    const char *name)
{
    for (size_t i = 0; i < config->n_models; i++)
        if (strcmp(config->models[i].name, name) == 0)
            return &config->models[i];
    return NULL;
}
