/*
 * router_config.c - the router's settings table.
 */
#include "router_config.h"

#include <stddef.h>

#define S_OFF(field) offsetof(lyc_router_config_t, field)

const lyc_cfg_field_t lyc_router_config_table[] = {
    {"http.listen", LYC_CFG_STR, S_OFF(http_listen), "127.0.0.1:8080", 0, 0, NULL,
     "host:port of the OpenAI-compatible HTTP front door"},
    {"http.threads", LYC_CFG_INT, S_OFF(http_threads), "16", 1, 1024, NULL,
     "HTTP threads; each runs whole queries, so this bounds queries in flight"},
    {"http.max_body_bytes", LYC_CFG_INT, S_OFF(http_max_body_bytes), "1048576", 1024, 1 << 30, NULL,
     "largest request body; bigger ones get 413"},
    {"workers_bind", LYC_CFG_STR, S_OFF(workers_bind), "tcp://127.0.0.1:5701", 0, 0, NULL,
     "where workers connect"},
    {"tasks_bind", LYC_CFG_STR, S_OFF(tasks_bind), "tcp://127.0.0.1:5702", 0, 0, NULL,
     "where other services send tasks to models"},
    {"clients_bind", LYC_CFG_STR, S_OFF(clients_bind), "tcp://127.0.0.1:5700", 0, 0, NULL,
     "ZeroMQ client API"},
    {"clients_threads", LYC_CFG_INT, S_OFF(clients_threads), "4", 1, 256, NULL,
     "threads serving the ZeroMQ client API"},
    {"default_tenant", LYC_CFG_STR, S_OFF(default_tenant), "default", 0, 0, NULL,
     "tenant of requests that name none"},
    {"neighbours", LYC_CFG_INT, S_OFF(neighbours), "8", 1, 100, NULL,
     "past queries looked at for each query"},
    {"duplicate_similarity", LYC_CFG_DOUBLE, S_OFF(duplicate_similarity), "0.95", 0, 1, NULL,
     "cosine at which a past query with the same meaning is the same query"},
    {"neighbour_similarity", LYC_CFG_DOUBLE, S_OFF(neighbour_similarity), "0.35", 0, 1, NULL,
     "cosine at which a past query votes on the domain"},
    {"domain_vote_share", LYC_CFG_DOUBLE, S_OFF(domain_vote_share), "0.6", 0, 1, NULL,
     "share of the neighbours' votes that settles an unlabelled query's domain"},
    {"profile_prior_share", LYC_CFG_DOUBLE, S_OFF(profile_prior_share), "0.5", 0, 1, NULL,
     "share of a user's queries in a domain that makes it their usual domain"},
    {"min_evidence", LYC_CFG_INT, S_OFF(min_evidence), "10", 1, 1000000, NULL,
     "scored answers before a model's record in a domain is established"},
    {"quality_target", LYC_CFG_DOUBLE, S_OFF(quality_target), "0.7", 0, 1, NULL,
     "lower confidence bound a model must reach to take a domain's familiar traffic"},
    {"learning_sample", LYC_CFG_DOUBLE, S_OFF(learning_sample), "0.25", 0, 1, NULL,
     "chance that each student also answers a familiar query, to learn"},
    {"audit_rate", LYC_CFG_DOUBLE, S_OFF(audit_rate), "0.5", 0, 1, NULL,
     "share of familiar queries audited by the judge while a record is young"},
    {"audit_floor", LYC_CFG_DOUBLE, S_OFF(audit_floor), "0.05", 0, 1, NULL,
     "lowest audit share, however established the record"},
    {"eval_mode", LYC_CFG_STR, S_OFF(eval_mode), "", 0, 0, "|judge|agreement|reference",
     "evaluation mode asked of the evaluator (empty: the evaluator's default)"},
    {"cheap_margin", LYC_CFG_DOUBLE, S_OFF(cheap_margin), "0.05", 0, 1, NULL,
     "a cheaper answer within this of the best score wins"},
    {"eval_timeout_ms", LYC_CFG_INT, S_OFF(eval_timeout_ms), "60000", 10, 600000, NULL,
     "how long to wait for the evaluator's verdict"},
    {"task_timeout_ms", LYC_CFG_INT, S_OFF(task_timeout_ms), "30000", 10, 600000, NULL,
     "deadline of a model call when the model sets none"},
    {"record_stats", LYC_CFG_BOOL, S_OFF(record_stats), "true", 0, 0, NULL,
     "update the per-domain statistics in Redis from each verdict"},
    {NULL},
};
