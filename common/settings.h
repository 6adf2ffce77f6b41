/*
 * settings.h - the settings every Lyceum process shares, and the cluster file.
 *
 * A cluster is described by one YAML file that every process reads (the same
 * file serves `lyceum up`, docker-compose and Kubernetes):
 *
 *   redis:      {url, prefix, timeout_ms, password_env, password_file,
 *                tls_ca_file, tls_ca_dir, tls_cert_file, tls_key_file, tls_server_name}
 *   kafka:      {brokers, spool_dir, spool_max_mb, message_timeout_ms, topics: {...},
 *                settings: ["key=value", ...], sasl_password_env, sasl_password_file}
 *   embedding:  {backend: builtin|http, dim, url, model, api_key_env}
 *   bus:        {workers, tasks, evaluator, clients}   addresses processes connect to
 *               {curve: {enabled, server_cert, server_public, client_cert, authorized}}
 *   log:        {level}
 *   router:, evaluator:, trainer:, monitor:             each process's own section
 *   models:     a list of models, see model_config.h
 *
 * Each process loads the shared part with lyc_settings_load() and then its
 * own section with lyc_config_apply(table, ..., "router.", "LYCEUM_ROUTER").
 * Every key can be overridden from the environment (see config.h), e.g.
 * LYCEUM_REDIS_URL or LYCEUM_KAFKA_BROKERS for all processes at once.
 *
 * Secrets never sit in the file: passwords come from an environment variable
 * or a file the file names (redis.password_env/_file, kafka.sasl_password_env
 * /_file, see secret.h), the bus keys from certificate files (bus_security.h),
 * the Redis TLS client key from redis.tls_key_file.
 * kafka.settings is a list passed to every producer and consumer (TLS, SASL);
 * it has no environment override.
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

    /* Security: where secrets are kept, never the secrets (secret.h, bus_security.h). */
    char *redis_password_env;       /* variable holding the password (instead of the URL's) */
    char *redis_password_file;      /* file holding the password (instead of the URL's) */
    char *redis_tls_ca_file;        /* rediss://: CAs to trust (PEM) */
    char *redis_tls_ca_dir;         /* rediss://: directory of CA certificates */
    char *redis_tls_cert_file;      /* rediss://: client certificate (mutual TLS) */
    char *redis_tls_key_file;       /* rediss://: file holding its private key */
    char *redis_tls_server_name;    /* rediss://: name expected in the certificate (SNI) */
    char *kafka_sasl_password_env;  /* variable holding sasl.password */
    char *kafka_sasl_password_file; /* file holding sasl.password */
    char **kafka_settings;          /* kafka.settings, extra librdkafka "key=value" (a list, so
                                       not in the table: lyc_settings_load reads it) */
    size_t kafka_settings_count;
    int bus_curve_enabled;         /* CurveZMQ on every tcp bus socket */
    char *bus_curve_server_cert;   /* binders: the server's secret certificate */
    char *bus_curve_server_public; /* connectors: the server's public certificate */
    char *bus_curve_client_cert;   /* connectors: this process's secret certificate */
    char *bus_curve_authorized;    /* binders: directory of authorized client public certs */
} lyc_settings_t;

/* The table behind lyc_settings_t, for --help-config. */
extern const lyc_cfg_field_t lyc_settings_table[];

/* Loads the cluster file (path NULL: embedded defaults only) into *settings and
 * returns the parsed document for the process's own section (the caller
 * destroys it), or NULL with the reason in err. env_prefix names the process
 * for overrides, e.g. "LYCEUM_ROUTER". Also sets the log level and where this
 * process's Redis connections take their password (lyc_redis_set_password_source).
 *
 * Validates what it can without reading a secret: redis.url parses (rediss://
 * is refused by a build without TLS, see redis.h), redis.tls_* go with a
 * rediss:// URL and the client certificate with its key, kafka.settings is a
 * list of settings librdkafka accepts and holds no password, at most one
 * source per secret. Secrets and certificates are read where they are used.
 * Also sets where this process's Redis connections take their TLS files
 * (lyc_redis_set_tls). */
lyc_confdoc_t *lyc_settings_load(const char *path, const char *env_prefix, lyc_settings_t *settings,
                                 char *err, size_t errcap);

/* Frees what lyc_settings_load set. */
void lyc_settings_free(lyc_settings_t *settings);

/* The extra librdkafka settings of one producer or consumer. */
typedef struct {
    const char **items; /* "key=value", owned; the type the eventlog configs take */
    size_t count;
} lyc_kafka_extra_t;

/* Assembles the extra settings of a producer or consumer: kafka.settings, then
 * "sasl.password=<secret>" when kafka.sasl_password_env or _file is set (read
 * now), then the caller's own settings (own may be NULL when own_count is 0).
 * Returns 0 with *out filled (release it with lyc_kafka_extra_clear, which
 * wipes the password), or -1 with the reason in err, naming the setting and
 * never the secret. */
int lyc_settings_kafka_extra(const lyc_settings_t *settings, const char *const *own,
                             size_t own_count, lyc_kafka_extra_t *out, char *err, size_t errcap);

/* Wipes and frees what lyc_settings_kafka_extra made; accepts a cleared one. */
void lyc_kafka_extra_clear(lyc_kafka_extra_t *extra);

#endif
