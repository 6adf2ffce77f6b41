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
    {"auth", LYC_CFG_STR, S_OFF(auth), "required", 0, 0, "required|open",
     "required: every HTTP route but /healthz and /metrics needs an API key (lyceum keys); "
     "open: none (loopback only)"},
    {"auth_open_anywhere", LYC_CFG_BOOL, S_OFF(auth_open_anywhere), "false", 0, 0, NULL,
     "let auth: open listen on an address that is not loopback"},
    {"budget_default_completion_tokens", LYC_CFG_INT, S_OFF(budget_default_completion_tokens),
     "256", 1, 1000000, NULL,
     "completion tokens a budget estimate assumes when the request sets no max_tokens"},
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
    {"quality_gap", LYC_CFG_DOUBLE, S_OFF(quality_gap), "0.1", 0, 1, NULL,
     "largest loss of mean score against the supervisor that a cheaper model may have in a domain"},
    {"wrong_answer_usd", LYC_CFG_DOUBLE, S_OFF(wrong_answer_usd), "0", 0, 1e6, NULL,
     "what one more wrong answer is worth avoiding, USD: a cheaper model may also lose what "
     "it saves on the query divided by this (long, dear queries go to it sooner); 0: "
     "quality_gap alone"},
    {"gap_z_accept", LYC_CFG_DOUBLE, S_OFF(gap_z_accept), "1.0", 0, 10, NULL,
     "standard errors of the measured gap before a cheaper model takes a domain"},
    {"gap_z_reject", LYC_CFG_DOUBLE, S_OFF(gap_z_reject), "2.0", 0, 10, NULL,
     "standard errors of the measured gap before a cheaper model is ruled out of a domain"},
    {"explore_rate", LYC_CFG_DOUBLE, S_OFF(explore_rate), "0.2", 0, 1, NULL,
     "share of familiar queries every model answers while a domain's evidence is young"},
    {"explore_floor", LYC_CFG_DOUBLE, S_OFF(explore_floor), "0.02", 0, 1, NULL,
     "share of familiar queries every model answers however old the evidence, to stay honest"},
    {"explore_max_pairs", LYC_CFG_INT, S_OFF(explore_max_pairs), "100", 1, 1000000, NULL,
     "paired answers after which an undecided domain is settled on the measured mean gap"},
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
    {"record_queue", LYC_CFG_INT, S_OFF(record_queue), "1024", 0, 1000000, NULL,
     "query records waiting to be written after their replies; when full a query writes its "
     "own before replying; 0: every query does"},
    {"stats_cache_ms", LYC_CFG_INT, S_OFF(stats_cache_ms), "250", 0, 60000, NULL,
     "how long a domain's statistics are reused before Redis is read again (this router's "
     "own changes show at once); 0: read for every query"},
    {.key = NULL}, /* ends the table */
};
