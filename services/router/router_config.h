/*
 * router_config.h - the router's own settings (section `router:` of the
 * cluster file; environment overrides LYCEUM_ROUTER_<KEY>).
 */
#ifndef LYCEUM_ROUTER_CONFIG_H
#define LYCEUM_ROUTER_CONFIG_H

#include "config.h"

typedef struct {
    char *http_listen;           /* host:port of the OpenAI-compatible front door */
    long http_threads;           /* HTTP worker threads (each runs whole queries) */
    long http_max_body_bytes;    /* largest request body accepted */
    char *workers_bind;          /* ROUTER socket the workers connect to */
    char *tasks_bind;            /* ROUTER socket other services send tasks to */
    char *clients_bind;          /* ROUTER socket of the ZeroMQ client API */
    long clients_threads;        /* threads serving the ZeroMQ client API */
    char *default_tenant;        /* tenant of requests that name none */
    char *auth;                  /* "required": API keys on HTTP; "open": none (loopback demo) */
    int auth_open_anywhere;      /* allow "open" on an address that is not loopback */
    long neighbours;             /* past queries looked at per query */
    double duplicate_similarity; /* cosine at which a past query is the same query */
    double neighbour_similarity; /* cosine at which a past query votes on the domain */
    double domain_vote_share;    /* share of neighbour votes that settles the domain */
    double profile_prior_share;  /* share of a user's queries that makes a domain their usual */
    long min_evidence;           /* scored answers before a model's record in a domain counts */
    double quality_target;       /* lower bound a model must reach to take familiar traffic */
    double quality_gap;          /* largest mean score loss against the supervisor accepted */
    double wrong_answer_usd;     /* > 0: a query's savings / this is also accepted as loss */
    double gap_z_accept;         /* confidence (in standard errors) before a model is trusted */
    double gap_z_reject;         /* confidence before a model is ruled out in a domain */
    double explore_rate;         /* share of familiar queries fanned out while evidence is young */
    double explore_floor;        /* share that is fanned out however old the evidence */
    long explore_max_pairs;      /* paired answers after which a domain is decided on its mean */
    double learning_sample;      /* chance that a student also answers a familiar query */
    double audit_rate;           /* share of familiar queries the judge audits at first */
    double audit_floor;          /* lowest audit share, however sure the record is */
    char *eval_mode;             /* evaluator mode asked for: judge, agreement, reference, or "" */
    double cheap_margin;         /* a cheaper answer within this of the best wins */
    long eval_timeout_ms;        /* how long to wait for the evaluator */
    long task_timeout_ms;        /* default deadline of a model call */
    int record_stats;            /* update per-domain statistics from verdicts */
    long record_queue;           /* records waiting for the recorder; 0: written before replying */
    long stats_cache_ms;         /* how long a domain's statistics are read from the cache */
    /* completion tokens a budget estimate assumes when a request sets no max_tokens */
    long budget_default_completion_tokens;
} lyc_router_config_t;

extern const lyc_cfg_field_t lyc_router_config_table[];

#endif
