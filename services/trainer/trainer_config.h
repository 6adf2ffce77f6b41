/*
 * trainer_config.h - the trainer's settings: one table, read from the
 * `trainer:` section of the cluster file with LYCEUM_TRAINER_* environment
 * overrides, plus what it needs from the `models:` list (each model's
 * configured role and backend).
 */
#ifndef LYCEUM_TRAINER_CONFIG_H
#define LYCEUM_TRAINER_CONFIG_H

#include "config.h"

#include <stddef.h>

/* Thresholds of one promotion step (to TA, to teacher, to supervisor). */
typedef struct {
    long min_count;       /* scored answers needed before the step */
    double promote;       /* Wilson lower bound of the mean score needed */
    double min_agreement; /* share agreeing with the supervisor (supervisor step only) */
} lyc_role_step_t;

/* A model of the cluster file, as the trainer needs it. */
typedef struct {
    char *name;
    char *backend;
    int role; /* configured role (Lyceum__V1__Role) */
} lyc_trainer_model_t;

typedef struct {
    char *group;              /* Kafka consumer group */
    char *offset_reset;       /* earliest | latest */
    long session_timeout_ms;  /* a replica silent this long loses its partitions */
    char *instance_id;        /* static group membership ("" for none) */
    char *http_listen;        /* host:port of /metrics and /healthz; "" for none */
    long commit_interval_ms;  /* offsets are committed this often */
    long trace_quiet_ms;      /* a trace's events are applied after this quiet time */
    long trace_max_events;    /* ... or once this many arrived */
    long trace_max_buffered;  /* traces held at once; past it the oldest is applied */
    long seen_ttl_s;          /* how long an applied event id is remembered */
    long pair_ttl_s;          /* how long a trace's supervisor score waits for its pairs */
    int per_tenant_stats;     /* also keep statistics per tenant */
    double human_weight;      /* a user's score counts this many times */
    double agree_margin;      /* |score - supervisor's| below this agrees */
    long role_interval_ms;    /* touched domains are re-decided this often */
    double confidence_z;      /* z of the Wilson bounds */
    double hysteresis;        /* demotion threshold below the promotion threshold */
    lyc_role_step_t steps[5]; /* indexed by the role stepped up to: 2 ta, 3 teacher, 4 supervisor */
    double exemplar_min_score;  /* a winning answer becomes training data from this score */
    char *data_dir;             /* fine-tuning data, job outputs, worker cluster files */
    char *system_prompt;        /* system message of a training sample; {domain} is replaced */
    long holdout_every;         /* every k-th sample goes to heldout.jsonl */
    long sample_ttl_s;          /* how long a (student, query) sample is remembered */
    long finetune_min_samples;  /* new samples that start a fine-tuning job */
    char *budget_tenant;        /* tenant whose budget pays for fine-tuning ("": none) */
    double finetune_cost_usd;   /* expected cost of one fine-tuning job, reserved before it */
    char *dispatcher;           /* none | command | openai */
    char *command;              /* command template of the command dispatcher */
    long job_timeout_ms;        /* a job running longer is killed / given up */
    char *openai_base_url;      /* fine-tuning API, e.g. https://api.openai.com/v1 */
    char *openai_api_key_env;   /* variable holding its key */
    long openai_poll_ms;        /* job status poll interval */
    double gate_min_score;      /* held-out accuracy a candidate needs */
    double gate_max_regression; /* how much worse than its parent it may be */
    long gate_max_questions;    /* held-out questions asked at most */
    int spawn_workers;          /* start a worker for each model that passed the gate */
    char *worker_binary;        /* lyceum-worker to start; "" finds it */
    int new_domains;            /* cluster unlabelled queries into new domains */
    double cluster_similarity;  /* cosine to join a cluster */
    double known_similarity;    /* cosine to a labelled query that makes a query known */
    long new_domain_min_size;   /* queries that make a cluster a domain */
    long cluster_max;           /* clusters kept at once */
    char *onboard_template;     /* model whose settings a new domain's student copies */
    /* Not from the table: */
    char *cluster_path;          /* the cluster file (worker cluster files copy from it) */
    lyc_trainer_model_t *models; /* the models list */
    size_t n_models;
} lyc_trainer_config_t;

/* The table behind lyc_trainer_config_t, for --help-config. */
extern const lyc_cfg_field_t lyc_trainer_config_table[];

/* Fills *out from the document's `trainer.` section (environment prefix
 * LYCEUM_TRAINER) and its `models:` list, and checks what depends on more
 * than one key (a command dispatcher needs a command, the template must be
 * a listed model, ...). path is the cluster file (NULL: none). Returns 0, or
 * -1 with the reason in err. Free with lyc_trainer_config_free() either way. */
int lyc_trainer_config_load(lyc_trainer_config_t *out, const lyc_confdoc_t *doc, const char *path,
                            char *err, size_t errcap);

/* Frees what lyc_trainer_config_load set; accepts a cleared struct. */
void lyc_trainer_config_free(lyc_trainer_config_t *config);

/* The configured model named name, or NULL. */
const lyc_trainer_model_t *lyc_trainer_config_model(const lyc_trainer_config_t *config,
                                                    const char *name);

#endif
