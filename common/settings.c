/*
 * settings.c - the shared settings table.
 */
#include "settings.h"

#include "log.h"

#include <stddef.h>
#include <string.h>

#define S_OFF(field) offsetof(lyc_settings_t, field)

const lyc_cfg_field_t lyc_settings_table[] = {
    {"redis.url", LYC_CFG_STR, S_OFF(redis_url), "redis://127.0.0.1:6399", 0, 0, NULL,
     "Redis 8 server holding vectors, records, profiles and statistics"},
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

lyc_confdoc_t *lyc_settings_load(const char *path, const char *env_prefix, lyc_settings_t *settings,
                                 char *err, size_t errcap)
{
    memset(settings, 0, sizeof *settings);
    lyc_confdoc_t *doc = path ? lyc_confdoc_load(path, err, errcap) : lyc_confdoc_new_empty();
    if (!doc)
        return NULL;
    if (lyc_config_apply(lyc_settings_table, settings, doc, NULL, env_prefix, err, errcap) != 0)
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
    lyc_config_free(lyc_settings_table, settings);
}
