/*
 * cluster_kit.c - starting and stopping a test cluster of built binaries.
 */
#include "cluster_kit.h"

#include "testkit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t s_models_yaml(const lyc_kit_t *kit, const lyc_kit_model_t *m, size_t n, char *out,
                            size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        len += (size_t) snprintf(out + len, cap - len,
                                 "  - name: %s\n    backend: %s\n    role: %s\n    price_in: %g\n"
                                 "    price_out: %g\n    replicas: %d\n    timeout_ms: 10000\n",
                                 m[i].name, m[i].backend, m[i].role, m[i].price_in, m[i].price_out,
                                 m[i].replicas > 0 ? m[i].replicas : 1);
        if (strcmp(m[i].backend, "replay") == 0 && len < cap)
            len += (size_t) snprintf(out + len, cap - len,
                                     "    replay: {files: [\"%s/data.jsonl\"], format: jsonl, "
                                     "unknown: simulate, latency_ms: %ld}\n",
                                     kit->dir, m[i].latency_ms);
    }
    return len;
}

static int s_write_config(lyc_kit_t *kit, const char *data, const lyc_kit_model_t *models, size_t n,
                          const char *router_extra)
{
    char path[320], models_yaml[8192];
    size_t cap = 16384;
    char *text = malloc(cap);
    if (!text)
        return -1;
    snprintf(path, sizeof path, "%s/data.jsonl", kit->dir);
    lyc_test_write_file(path, data);
    s_models_yaml(kit, models, n, models_yaml, sizeof models_yaml);
    int b = kit->base;
    snprintf(text, cap,
             "redis: {url: \"%s\", prefix: \"%s\"}\n"
             "kafka: {brokers: \"%s\", spool_dir: \"%s/spool\"}\n"
             "bus:\n  clients: tcp://127.0.0.1:%d\n  workers: tcp://127.0.0.1:%d\n"
             "  tasks: tcp://127.0.0.1:%d\n  evaluator: tcp://127.0.0.1:%d\n"
             "router:\n  http: {listen: \"127.0.0.1:%d\", threads: 4, max_body_bytes: 65536}\n"
             "  clients_bind: tcp://127.0.0.1:%d\n  workers_bind: tcp://127.0.0.1:%d\n"
             "  tasks_bind: tcp://127.0.0.1:%d\n  eval_mode: reference\n%s"
             "evaluator:\n  bind: tcp://127.0.0.1:%d\n  mode: reference\n"
             "models:\n%s",
             lyc_test_redis_url(), kit->prefix, lyc_test_kafka_brokers(), kit->dir, b, b + 1, b + 2,
             b + 3, b + 4, b, b + 1, b + 2, router_extra ? router_extra : "", b + 3, models_yaml);
    snprintf(path, sizeof path, "%s/cluster.yaml", kit->dir);
    int rc = lyc_test_write_file(path, text);
    free(text);
    return rc;
}

static void s_spawn(lyc_kit_t *kit, const char *binary, const char *name, const char *model,
                    const char *id)
{
    char bin[512], config[320], log[320];
    lyc_test_binary(bin, sizeof bin, binary);
    snprintf(config, sizeof config, "%s/cluster.yaml", kit->dir);
    snprintf(log, sizeof log, "%s/%s.log", kit->dir, name);
    char *argv[] = {
        bin,         "-c", config, model ? "--model" : NULL, (char *) model, (char *) "--id",
        (char *) id, NULL};
    if (kit->npids == LYC_KIT_MAX_PROCS)
        return;
    snprintf(kit->names[kit->npids], sizeof kit->names[0], "%s", name);
    kit->pids[kit->npids++] = lyc_test_spawn(argv, log);
}

static int s_wait_models(const lyc_kit_t *kit, const lyc_kit_model_t *models, size_t n)
{
    char url[160];
    snprintf(url, sizeof url, "%s/v1/models", kit->url);
    for (size_t i = 0; i < n; i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "\"id\":\"%s\"", models[i].name);
        if (lyc_test_wait_http(url, needle, 30000) != 0)
            return -1;
    }
    return 0;
}

int lyc_kit_start(lyc_kit_t *kit, const char *replay_jsonl, const lyc_kit_model_t *models,
                  size_t n_models, const char *router_extra)
{
    char id[40], cmd[400];
    memset(kit, 0, sizeof *kit);
    kit->base = 20000 + (getpid() % 2000) * 5; /* below the ephemeral port range */
    lyc_test_unique(id, sizeof id, "kit");
    snprintf(kit->prefix, sizeof kit->prefix, "%s", id);
    snprintf(kit->dir, sizeof kit->dir, "/tmp/lyceum-%s", id);
    snprintf(kit->url, sizeof kit->url, "http://127.0.0.1:%d", kit->base + 4);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", kit->dir);
    if (lyc_test_sh(cmd) != 0 || s_write_config(kit, replay_jsonl, models, n_models, router_extra))
        return -1;
    s_spawn(kit, "services/router/lyceum-router", "router", NULL, NULL);
    s_spawn(kit, "services/evaluator/lyceum-evaluator", "evaluator", NULL, NULL);
    for (size_t i = 0; i < n_models; i++) {
        for (int r = 0; r < (models[i].replicas > 0 ? models[i].replicas : 1); r++) {
            char name[64];
            snprintf(name, sizeof name, "%s#%d", models[i].name, r);
            s_spawn(kit, "services/worker/lyceum-worker", name, models[i].name, name);
        }
    }
    printf("cluster: %s, router %s, Redis %s, Kafka %s\n", kit->dir, kit->url, lyc_test_redis_url(),
           lyc_test_kafka_brokers());
    if (s_wait_models(kit, models, n_models) != 0) {
        snprintf(cmd, sizeof cmd, "tail -n 15 %s/*.log", kit->dir);
        lyc_test_sh(cmd);
        return -1;
    }
    return 0;
}

void lyc_kit_stop(lyc_kit_t *kit)
{
    for (int i = kit->npids - 1; i >= 0; i--)
        if (kit->pids[i] > 0)
            lyc_test_stop(kit->pids[i], SIGTERM, 10000);
    kit->npids = 0;
}

int lyc_kit_pid(const lyc_kit_t *kit, const char *name)
{
    for (int i = 0; i < kit->npids; i++)
        if (strcmp(kit->names[i], name) == 0)
            return kit->pids[i];
    return -1;
}

int lyc_kit_chat(const lyc_kit_t *kit, const char *question, const char *domain, cJSON **reply)
{
    char body[2048], url[160], meta[256] = "";
    if (domain)
        snprintf(meta, sizeof meta, ",\"metadata\":{\"domain\":\"%s\",\"user\":\"ann\"}", domain);
    snprintf(body, sizeof body,
             "{\"model\":\"lyceum\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]%s}",
             question, meta);
    snprintf(url, sizeof url, "%s/v1/chat/completions", kit->url);
    char *text = NULL;
    int status = lyc_test_http("POST", url, "application/json", body, strlen(body), &text);
    *reply = text ? cJSON_Parse(text) : NULL;
    free(text);
    return status;
}

const char *lyc_kit_str(const cJSON *obj, const char *key1, const char *key2)
{
    const cJSON *item = cJSON_GetObjectItem(obj, key1);
    if (key2)
        item = cJSON_GetObjectItem(item, key2);
    return cJSON_IsString(item) ? item->valuestring : "";
}

int lyc_kit_has(const cJSON *array, const char *value)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (cJSON_IsString(item) && strcmp(item->valuestring, value) == 0)
            return 1;
    }
    return 0;
}
