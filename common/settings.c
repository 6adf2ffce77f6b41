/*
 * settings.c - the shared settings table, the checks made at load, and the
 * extra Kafka settings every producer and consumer gets.
 */
#define _GNU_SOURCE /* explicit_bzero */

#include "settings.h"

#include "eventlog.h"
#include "log.h"
#include "redis.h"
#include "secret.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OFF(field) offsetof(lyc_settings_t, field)

const lyc_cfg_field_t lyc_settings_table[] = {
    {"redis.url", LYC_CFG_STR, S_OFF(redis_url), "redis://127.0.0.1:6399", 0, 0, NULL,
     "Redis 8 server holding vectors, records, profiles and statistics"},
    {"redis.password_env", LYC_CFG_STR, S_OFF(redis_password_env), "", 0, 0, NULL,
     "environment variable holding the Redis password (used instead of the URL's)"},
    {"redis.password_file", LYC_CFG_STR, S_OFF(redis_password_file), "", 0, 0, NULL,
     "file holding the Redis password (used instead of the URL's)"},
    {"redis.tls_ca_file", LYC_CFG_STR, S_OFF(redis_tls_ca_file), "", 0, 0, NULL,
     "rediss://: PEM file of the CAs to trust (with tls_ca_dir also empty: the system's)"},
    {"redis.tls_ca_dir", LYC_CFG_STR, S_OFF(redis_tls_ca_dir), "", 0, 0, NULL,
     "rediss://: directory of CA certificates (openssl rehash layout)"},
    {"redis.tls_cert_file", LYC_CFG_STR, S_OFF(redis_tls_cert_file), "", 0, 0, NULL,
     "rediss://: PEM client certificate, for servers that demand one (mutual TLS)"},
    {"redis.tls_key_file", LYC_CFG_STR, S_OFF(redis_tls_key_file), "", 0, 0, NULL,
     "rediss://: file holding the client certificate's PEM private key"},
    {"redis.tls_server_name", LYC_CFG_STR, S_OFF(redis_tls_server_name), "", 0, 0, NULL,
     "rediss://: name sent (SNI) and checked in the server's certificate; empty: the URL's host"},
    {"redis.prefix", LYC_CFG_STR, S_OFF(redis_prefix), "lyc", 0, 0, NULL,
     "prefix of every key Lyceum writes"},
    {"redis.timeout_ms", LYC_CFG_INT, S_OFF(redis_timeout_ms), "2000", 10, 60000, NULL,
     "connect and command time-out"},
    {"redis.search_ef", LYC_CFG_INT, S_OFF(redis_search_ef), "0", 0, 100000, NULL,
     "VSIM EF, recall against speed; 0 leaves Redis' default"},
    {"redis.search_threaded", LYC_CFG_BOOL, S_OFF(redis_search_threaded), "false", 0, 0, NULL,
     "run VSIM on Redis' threads: pays on many cores, costs 3x on two"},
    {"kafka.brokers", LYC_CFG_STR, S_OFF(kafka_brokers), "127.0.0.1:9392", 0, 0, NULL,
     "Kafka bootstrap servers"},
    {"kafka.spool_dir", LYC_CFG_STR, S_OFF(kafka_spool_dir), "/tmp/lyceum-spool", 0, 0, NULL,
     "directory of the producers' local spools (one subdirectory per process)"},
    {"kafka.spool_max_mb", LYC_CFG_INT, S_OFF(kafka_spool_max_mb), "256", 1, 65536, NULL,
     "bound of one producer's spool; past it new events are refused"},
    {"kafka.message_timeout_ms", LYC_CFG_INT, S_OFF(kafka_message_timeout_ms), "10000", 1000,
     3600000, NULL, "after this an undelivered event goes back to the spool for a resend"},
    {"kafka.spool_sync", LYC_CFG_BOOL, S_OFF(kafka_spool_sync), "false", 0, 0, NULL,
     "fdatasync each spooled event: survives power loss, not only a crash, but is slower"},
    {"kafka.settings", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL,
     "list of extra librdkafka \"key=value\" settings (TLS, SASL) of every producer and "
     "consumer, e.g. [\"security.protocol=SASL_SSL\", \"sasl.mechanism=SCRAM-SHA-512\"]"},
    {"kafka.sasl_password_env", LYC_CFG_STR, S_OFF(kafka_sasl_password_env), "", 0, 0, NULL,
     "environment variable holding sasl.password"},
    {"kafka.sasl_password_file", LYC_CFG_STR, S_OFF(kafka_sasl_password_file), "", 0, 0, NULL,
     "file holding sasl.password"},
    {"kafka.topics.feedback", LYC_CFG_STR, S_OFF(topic_feedback), "lyceum.feedback", 0, 0, NULL,
     "topic of feedback events"},
    {"kafka.topics.roles", LYC_CFG_STR, S_OFF(topic_roles), "lyceum.roles", 0, 0, NULL,
     "topic of role changes"},
    {"kafka.topics.registry", LYC_CFG_STR, S_OFF(topic_registry), "lyceum.registry", 0, 0, NULL,
     "topic of model registry entries"},
    {"kafka.topics.training", LYC_CFG_STR, S_OFF(topic_training), "lyceum.training", 0, 0, NULL,
     "topic of training samples and jobs"},
    {"embedding.backend", LYC_CFG_STR, S_OFF(embedding_backend), "builtin", 0, 0, "builtin|http",
     "builtin hashing embedder, or an OpenAI-compatible /v1/embeddings endpoint"},
    {"embedding.dim", LYC_CFG_INT, S_OFF(embedding_dim), "256", 8, 8192, NULL,
     "vector dimension (must match the endpoint's for http)"},
    {"embedding.url", LYC_CFG_STR, S_OFF(embedding_url), "", 0, 0, NULL,
     "http: base URL, e.g. http://127.0.0.1:11434/v1"},
    {"embedding.model", LYC_CFG_STR, S_OFF(embedding_model), "", 0, 0, NULL, "http: model name"},
    {"embedding.api_key_env", LYC_CFG_STR, S_OFF(embedding_api_key_env), "", 0, 0, NULL,
     "http: environment variable holding the API key"},
    {"bus.workers", LYC_CFG_STR, S_OFF(bus_workers), "tcp://127.0.0.1:5701", 0, 0, NULL,
     "router worker endpoints that workers connect to, comma-separated"},
    {"bus.tasks", LYC_CFG_STR, S_OFF(bus_tasks), "tcp://127.0.0.1:5702", 0, 0, NULL,
     "router task endpoint where services send tasks to models"},
    {"bus.evaluator", LYC_CFG_STR, S_OFF(bus_evaluator), "tcp://127.0.0.1:5703", 0, 0, NULL,
     "evaluator endpoints, comma-separated"},
    {"bus.clients", LYC_CFG_STR, S_OFF(bus_clients), "tcp://127.0.0.1:5700", 0, 0, NULL,
     "router ZeroMQ client API"},
    {"bus.curve.enabled", LYC_CFG_BOOL, S_OFF(bus_curve_enabled), "false", 0, 0, NULL,
     "authenticate and encrypt every tcp bus socket with CurveZMQ"},
    {"bus.curve.server_cert", LYC_CFG_STR, S_OFF(bus_curve_server_cert), "", 0, 0, NULL,
     "router and evaluator: the server's secret certificate (lyceum keys bus)"},
    {"bus.curve.server_public", LYC_CFG_STR, S_OFF(bus_curve_server_public), "", 0, 0, NULL,
     "every process that connects: the server's public certificate"},
    {"bus.curve.client_cert", LYC_CFG_STR, S_OFF(bus_curve_client_cert), "", 0, 0, NULL,
     "every process that connects: its own secret certificate"},
    {"bus.curve.authorized", LYC_CFG_STR, S_OFF(bus_curve_authorized), "", 0, 0, NULL,
     "router and evaluator: directory of the client public certificates allowed in"},
    {"log.level", LYC_CFG_STR, S_OFF(log_level), "info", 0, 0, "debug|info|warn|error",
     "lowest level written"},
    {"router", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "the router's section"},
    {"evaluator", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "the evaluator's section"},
    {"trainer", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "the trainer's section"},
    {"monitor", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "the monitor's section"},
    {"models", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "the list of models (model_config.h)"},
    {"demo", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "settings of `lyceum demo` and the benchmarks"},
    {"bench", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "settings of `lyceum bench learning`"},
    {.key = NULL}, /* ends the table */
};

/* librdkafka properties that carry a secret: they never sit in the cluster file. */
static const char *const s_kafka_secrets[] = {"sasl.password", "ssl.key.password",
                                              "ssl.keystore.password", "ssl.key.pem",
                                              "sasl.oauthbearer.client.secret"};

/* The redis.tls_* settings go with a rediss:// URL, the client certificate
 * with its key, and the key stays in its file; then they become the
 * process's (read at each connect, redis.h). */
static int s_check_redis_tls(const lyc_settings_t *s, int url_tls, char *err, size_t errcap)
{
    const char *ca_file = s->redis_tls_ca_file ? s->redis_tls_ca_file : "";
    const char *ca_dir = s->redis_tls_ca_dir ? s->redis_tls_ca_dir : "";
    const char *cert = s->redis_tls_cert_file ? s->redis_tls_cert_file : "";
    const char *key = s->redis_tls_key_file ? s->redis_tls_key_file : "";
    const char *name = s->redis_tls_server_name ? s->redis_tls_server_name : "";
    if (!url_tls && (*ca_file || *ca_dir || *cert || *key || *name)) {
        snprintf(err, errcap,
                 "key 'redis.url': redis.tls_* are set but the URL is redis:// (plain): "
                 "use rediss:// so that the connection is encrypted");
        return -1;
    }
    if (!*cert != !*key) {
        snprintf(err, errcap,
                 "redis.tls_cert_file and redis.tls_key_file go together (mutual TLS): "
                 "set both or neither");
        return -1;
    }
    if (strstr(key, "-----BEGIN")) {
        snprintf(err, errcap,
                 "key 'redis.tls_key_file': names a file; the key itself stays out of the "
                 "cluster file");
        return -1;
    }
    lyc_redis_tls_t tls = {ca_file, ca_dir, cert, key, name};
    if (lyc_redis_set_tls(&tls) != 0) {
        snprintf(err, errcap, "redis.tls_*: path or server name too long");
        return -1;
    }
    return 0;
}

/* The Redis URL parses, the password source is sound, and so are the TLS
 * settings; then they become the process's (read at each connect, redis.h). */
static int s_check_redis(const lyc_settings_t *s, char *err, size_t errcap)
{
    char why[256];
    lyc_redis_url_t url;
    if (lyc_redis_url_parse(s->redis_url, &url, why, sizeof why) != 0) {
        snprintf(err, errcap, "key 'redis.url': %s", why);
        return -1;
    }
    int url_tls = url.tls;
    lyc_redis_url_clear(&url);
    lyc_secret_source_t src = {"redis.password_env", s->redis_password_env, "redis.password_file",
                               s->redis_password_file};
    if (lyc_secret_check(&src, err, errcap) != 0)
        return -1;
    if (lyc_redis_set_password_source(&src) != 0) {
        snprintf(err, errcap, "redis.password_env/_file: name too long");
        return -1;
    }
    return s_check_redis_tls(s, url_tls, err, errcap);
}

/* One kafka.settings item: no secret, and librdkafka accepts it. */
static int s_check_kafka_item(const lyc_confdoc_t *doc, int line, const char *item, char *err,
                              size_t errcap)
{
    char why[512];
    size_t klen = strcspn(item, "=");
    for (size_t k = 0; k < sizeof s_kafka_secrets / sizeof s_kafka_secrets[0]; k++) {
        if (strlen(s_kafka_secrets[k]) == klen && strncmp(item, s_kafka_secrets[k], klen) == 0) {
            snprintf(err, errcap,
                     "%s:%d: key 'kafka.settings': '%s' is a secret and stays out of the "
                     "cluster file: %s",
                     lyc_confdoc_name(doc), line, s_kafka_secrets[k],
                     k == 0 ? "set kafka.sasl_password_env or kafka.sasl_password_file"
                            : "keep the key in a file only the service can read "
                              "(ssl.key.location)");
            return -1;
        }
    }
    if (lyc_eventlog_settings_check(&item, 1, why, sizeof why) != 0) {
        snprintf(err, errcap, "%s:%d: key 'kafka.settings': %s", lyc_confdoc_name(doc), line, why);
        return -1;
    }
    return 0;
}

/* Reads the kafka.settings list into s->kafka_settings, checking each item. */
static int s_load_kafka(const lyc_confdoc_t *doc, lyc_settings_t *s, char *err, size_t errcap)
{
    int line = 0;
    if (lyc_confdoc_get(doc, "kafka.settings", &line)) {
        snprintf(err, errcap, "%s:%d: key 'kafka.settings': expected a list of \"key=value\"",
                 lyc_confdoc_name(doc), line);
        return -1;
    }
    int n = lyc_confdoc_count(doc, "kafka.settings");
    if (n > 0 && !(s->kafka_settings = calloc((size_t) n, sizeof *s->kafka_settings))) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "kafka.settings.%d", i);
        const char *item = lyc_confdoc_get(doc, key, &line);
        if (!item) {
            snprintf(err, errcap, "%s: key 'kafka.settings': item %d is not a \"key=value\" string",
                     lyc_confdoc_name(doc), i);
            return -1;
        }
        if (s_check_kafka_item(doc, line, item, err, errcap) != 0)
            return -1;
        if (!(s->kafka_settings[i] = strdup(item))) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        s->kafka_settings_count++;
    }
    lyc_secret_source_t src = {"kafka.sasl_password_env", s->kafka_sasl_password_env,
                               "kafka.sasl_password_file", s->kafka_sasl_password_file};
    return lyc_secret_check(&src, err, errcap);
}

lyc_confdoc_t *lyc_settings_load(const char *path, const char *env_prefix, lyc_settings_t *settings,
                                 char *err, size_t errcap)
{
    memset(settings, 0, sizeof *settings);
    lyc_confdoc_t *doc = path ? lyc_confdoc_load(path, err, errcap) : lyc_confdoc_new_empty();
    if (!doc)
        return NULL;
    if (lyc_config_apply(lyc_settings_table, settings, doc, NULL, env_prefix, err, errcap) != 0 ||
        s_check_redis(settings, err, errcap) != 0 || s_load_kafka(doc, settings, err, errcap) != 0)
        goto out_fail;
    lyc_log_level_t level;
    if (lyc_log_level_parse(settings->log_level, &level) == 0)
        lyc_log_threshold = level;
    return doc;
out_fail:
    lyc_settings_free(settings);
    lyc_confdoc_destroy(&doc);
    return NULL;
}

void lyc_settings_free(lyc_settings_t *settings)
{
    for (size_t i = 0; i < settings->kafka_settings_count; i++)
        free(settings->kafka_settings[i]);
    free(settings->kafka_settings);
    settings->kafka_settings = NULL;
    settings->kafka_settings_count = 0;
    lyc_config_free(lyc_settings_table, settings);
}

/* Appends a copy of item to out; -1 when memory runs out. */
static int s_extra_add(lyc_kafka_extra_t *out, const char *item)
{
    char *copy = strdup(item);
    if (!copy)
        return -1;
    out->items[out->count++] = copy;
    return 0;
}

int lyc_settings_kafka_extra(const lyc_settings_t *settings, const char *const *own,
                             size_t own_count, lyc_kafka_extra_t *out, char *err, size_t errcap)
{
    lyc_secret_source_t src = {"kafka.sasl_password_env", settings->kafka_sasl_password_env,
                               "kafka.sasl_password_file", settings->kafka_sasl_password_file};
    char *secret = NULL;
    memset(out, 0, sizeof *out);
    if (lyc_secret_read(&src, &secret, err, errcap) < 0)
        return -1;
    size_t cap = settings->kafka_settings_count + (secret ? 1 : 0) + own_count;
    out->items = calloc(cap ? cap : 1, sizeof *out->items);
    int rc = out->items ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < settings->kafka_settings_count; i++)
        rc = s_extra_add(out, settings->kafka_settings[i]);
    if (rc == 0 && secret) {
        char *item = NULL;
        rc = asprintf(&item, "sasl.password=%s", secret) < 0 ? -1 : 0;
        if (rc == 0)
            out->items[out->count++] = item;
    }
    for (size_t i = 0; rc == 0 && i < own_count; i++)
        rc = s_extra_add(out, own[i]);
    lyc_secret_free(&secret);
    if (rc != 0) {
        snprintf(err, errcap, "kafka settings: out of memory");
        lyc_kafka_extra_clear(out);
    }
    return rc;
}

void lyc_kafka_extra_clear(lyc_kafka_extra_t *extra)
{
    if (!extra)
        return;
    for (size_t i = 0; i < extra->count; i++) {
        char *item = (char *) extra->items[i];
        explicit_bzero(item, strlen(item));
        free(item);
    }
    free(extra->items);
    memset(extra, 0, sizeof *extra);
}
