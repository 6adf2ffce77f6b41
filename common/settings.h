/*
 * settings.h - the settings every Lyceum process shares, and the cluster file.
 *
 * A cluster is described by one YAML file that every process reads (the same
 * file serves `lyceum up`, docker-compose and Kubernetes):
 *
 *   redis:      {url, prefix, timeout_ms}
 *   kafka:      {brokers, spool_dir, spool_max_mb, message_timeout_ms, topics: {...}}
 *   embedding:  {backend: builtin|http, dim, url, model, api_key_env}
 *   bus:        {workers, tasks, evaluator, clients}   addresses processes connect to
 *   log:        {level}
 *   router:, evaluator:, trainer:, monitor:             each process's own section
 *   models:     a list of models, see model_config.h
 *
 * Each process loads the shared part with lyc_settings_load() and then its
 * own section with lyc_config_apply(table, ..., "router.", "LYCEUM_ROUTER").
 * Every key can be overridden from the environment (see config.h), e.g.
 * LYCEUM_REDIS_URL or LYCEUM_KAFKA_BROKERS for all processes at once.
 */
#ifndef LYCEUM_SETTINGS_H
#define LYCEUM_SETTINGS_H

#include "config.h"

typedef struct {
    char *redis_url;               /* redis://host:port of the Redis 8 server */
    char *redis_prefix;            /* key prefix of every Lyceum key */
    long redis_timeout_ms;         /* connect and command time-out */
    long redis_search_ef;          /* VSIM EF: recall against speed (0: Redis' default) */
    int redis_search_threaded;     /* run VSIM on Redis' threads (for many-core servers) */
    char *kafka_brokers;           /* bootstrap servers */
    char *kafka_spool_dir;         /* where producers keep their spools */
    long kafka_spool_max_mb;       /* bound of one producer's spool */
    long kafka_message_timeout_ms; /* after this a record goes back to the spool */
    int kafka_spool_sync;          /* fdatasync each spooled event (survives power loss, slower) */
    char *topic_feedback;          /* feedback events (one per scored answer) */
    char *topic_roles;             /* role changes */
    char *topic_registry;          /* model registry entries */
    char *topic_training;          /* training samples and jobs */
    char *embedding_backend;       /* builtin or http */
    long embedding_dim;            /* vector dimension */
    char *embedding_url;           /* http: base URL of an OpenAI-compatible API */
    char *embedding_model;         /* http: model name */
    char *embedding_api_key_env;   /* http: environment variable holding the key */
    char *bus_workers;   /* where workers connect (router's worker endpoint), comma-separated */
    char *bus_tasks;     /* where services send tasks to models (router's task endpoint) */
    char *bus_evaluator; /* where routers send evaluation requests */
    char *bus_clients;   /* router's ZeroMQ client API */
    char *log_level;     /* debug, info, warn or error */
} lyc_settings_t;

/* The table behind lyc_settings_t, for --help-config. */
extern const lyc_cfg_field_t lyc_settings_table[];

/* Loads the cluster file (path NULL: embedded defaults only) into *settings and
 * returns the parsed document for the process's own section (the caller
 * destroys it), or NULL with the reason in err. env_prefix names the process
 * for overrides, e.g. "LYCEUM_ROUTER". Also sets the log level. */
lyc_confdoc_t *lyc_settings_load(const char *path, const char *env_prefix, lyc_settings_t *settings,
                                 char *err, size_t errcap);

/* Frees what lyc_settings_load set. */
void lyc_settings_free(lyc_settings_t *settings);

#endif
