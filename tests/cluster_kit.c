/*
 * cluster_kit.c - starting and stopping a test cluster of built binaries.
 */
#include "cluster_kit.h"

#include "apikeys.h"
#include "testkit.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Ports of the second router and the workers' /metrics, from kit->base. */
#define S_ROUTER2_PORT 5  /* clients; workers +1, tasks +2, http +3 */
#define S_METRICS_PORT 10 /* of the first worker; one each */

/* One model's entry of the cluster file; extra (may be NULL) ends it. */
static size_t s_model_yaml(const lyc_kit_t *kit, const lyc_kit_model_t *m, const char *extra,
                           char *out, size_t cap)
{
    size_t len = (size_t) snprintf(out, cap,
                                   "  - name: %s\n    backend: %s\n    role: %s\n    price_in: %g\n"
                                   "    price_out: %g\n    replicas: %d\n    timeout_ms: 10000\n",
                                   m->name, m->backend, m->role, m->price_in, m->price_out,
                                   m->replicas > 0 ? m->replicas : 1);
    if (strcmp(m->backend, "replay") == 0 && len < cap)
        len += (size_t) snprintf(out + len, cap - len,
                                 "    replay: {files: [\"%s/data.jsonl\"], format: jsonl, "
                                 "unknown: simulate, latency_ms: %ld}\n",
                                 kit->dir, m->latency_ms);
    if (extra && len < cap)
        len += (size_t) snprintf(out + len, cap - len, "%s", extra);
    return len;
}

static size_t s_models_yaml(const lyc_kit_t *kit, const lyc_kit_opts_t *o, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < o->n_models && len < cap; i++)
        len += s_model_yaml(kit, &o->models[i], o->model_extra ? o->model_extra[i] : NULL,
                            out + len, cap - len);
    for (size_t i = 0; i < o->n_on_demand && len < cap; i++)
        len += s_model_yaml(kit, &o->on_demand[i], NULL, out + len, cap - len);
    return len;
}

/* Test clusters run open on loopback unless router_extra sets router.auth. */
static const char *s_auth_line(const lyc_kit_opts_t *o)
{
    if (o->router_extra && strstr(o->router_extra, "auth:"))
        return "";
    return o->auth_required ? "  auth: required\n" : "  auth: open\n";
}

static int s_write_config(lyc_kit_t *kit, const lyc_kit_opts_t *o)
{
    char path[320], models_yaml[8192], workers[128];
    size_t cap = 16384;
    char *text = malloc(cap);
    if (!text)
        return -1;
    snprintf(path, sizeof path, "%s/data.jsonl", kit->dir);
    lyc_test_write_file(path, o->replay_jsonl);
    s_models_yaml(kit, o, models_yaml, sizeof models_yaml);
    int b = kit->base;
    snprintf(workers, sizeof workers, "tcp://127.0.0.1:%d", b + 1);
    if (o->routers > 1)
        snprintf(workers, sizeof workers, "tcp://127.0.0.1:%d,tcp://127.0.0.1:%d", b + 1,
                 b + S_ROUTER2_PORT + 1);
    snprintf(text, cap,
             "redis: {url: \"%s\", prefix: \"%s\"}\n"
             "kafka: {brokers: \"%s\", spool_dir: \"%s/spool\"}\n"
             "bus:\n  clients: tcp://127.0.0.1:%d\n  workers: \"%s\"\n"
             "  tasks: tcp://127.0.0.1:%d\n  evaluator: tcp://127.0.0.1:%d\n%s"
             "router:\n  http: {listen: \"127.0.0.1:%d\", threads: 4, max_body_bytes: 65536}\n"
             "  clients_bind: tcp://127.0.0.1:%d\n  workers_bind: tcp://127.0.0.1:%d\n"
             "  tasks_bind: tcp://127.0.0.1:%d\n  eval_mode: reference\n%s%s"
             "evaluator:\n  bind: tcp://127.0.0.1:%d\n  mode: reference\n"
             "models:\n%s",
             lyc_test_redis_url(), kit->prefix, lyc_test_kafka_brokers(), kit->dir, b, workers,
             b + 2, b + 3, o->bus_extra ? o->bus_extra : "", b + 4, b, b + 1, b + 2, s_auth_line(o),
             o->router_extra ? o->router_extra : "", b + 3, models_yaml);
    snprintf(path, sizeof path, "%s/cluster.yaml", kit->dir);
    int rc = lyc_test_write_file(path, text);
    free(text);
    return rc;
}

/* Starts one process; http (may be NULL) is a worker's --http address. */
static void s_spawn(lyc_kit_t *kit, const char *binary, const char *name, const char *model,
                    const char *id, const char *http)
{
    char bin[512], config[320], log[320];
    lyc_test_binary(bin, sizeof bin, binary);
    snprintf(config, sizeof config, "%s/cluster.yaml", kit->dir);
    snprintf(log, sizeof log, "%s/%s.log", kit->dir, name);
    char *argv[10] = {bin, "-c", config};
    int argc = 3;
    if (model) {
        argv[argc++] = "--model";
        argv[argc++] = (char *) model;
        argv[argc++] = "--id";
        argv[argc++] = (char *) id;
    }
    if (http) {
        argv[argc++] = "--http";
        argv[argc++] = (char *) http;
    }
    argv[argc] = NULL;
    if (kit->npids == LYC_KIT_MAX_PROCS)
        return;
    snprintf(kit->names[kit->npids], sizeof kit->names[0], "%s", name);
    kit->pids[kit->npids++] = lyc_test_spawn(argv, log);
}

/* The second router: the same file, its addresses from the environment. */
static void s_spawn_router2(lyc_kit_t *kit)
{
    static const char *keys[] = {"LYCEUM_ROUTER_CLIENTS_BIND", "LYCEUM_ROUTER_WORKERS_BIND",
                                 "LYCEUM_ROUTER_TASKS_BIND", "LYCEUM_ROUTER_HTTP_LISTEN"};
    char value[64];
    int port = kit->base + S_ROUTER2_PORT;
    for (int k = 0; k < 4; k++) {
        snprintf(value, sizeof value, k < 3 ? "tcp://127.0.0.1:%d" : "127.0.0.1:%d", port + k);
        setenv(keys[k], value, 1);
    }
    s_spawn(kit, "services/router/lyceum-router", "router2", NULL, NULL, NULL);
    for (int k = 0; k < 4; k++)
        unsetenv(keys[k]);
    snprintf(kit->url2, sizeof kit->url2, "http://127.0.0.1:%d", port + 3);
}

static void s_spawn_workers(lyc_kit_t *kit, const lyc_kit_opts_t *o)
{
    int next_port = kit->base + S_METRICS_PORT;
    for (size_t i = 0; i < o->n_models; i++) {
        for (int r = 0; r < (o->models[i].replicas > 0 ? o->models[i].replicas : 1); r++) {
            char name[64], http[64];
            snprintf(name, sizeof name, "%s#%d", o->models[i].name, r);
            snprintf(http, sizeof http, "127.0.0.1:%d", next_port);
            if (o->worker_metrics && kit->npids < LYC_KIT_MAX_PROCS)
                kit->metrics_ports[kit->npids] = next_port++;
            s_spawn(kit, "services/worker/lyceum-worker", name, o->models[i].name, name,
                    o->worker_metrics ? http : NULL);
        }
    }
}

static int s_wait_models(const lyc_kit_t *kit, const char *base_url, const lyc_kit_model_t *models,
                         size_t n)
{
    char url[160];
    snprintf(url, sizeof url, "%s/v1/models", base_url);
    for (size_t i = 0; i < n; i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "\"id\":\"%s\"", models[i].name);
        int ok = 0;
        for (int waited = 0; !ok && waited < 30000; waited += 100) {
            char *body = NULL;
            ok = lyc_kit_http("GET", url, *kit->api_key ? kit->api_key : NULL, NULL, &body, NULL) ==
                     200 &&
                 body && strstr(body, needle);
            free(body);
            if (!ok)
                usleep(100000);
        }
        if (!ok)
            return -1;
    }
    return 0;
}

/* A key of tenant "default" for the kit's own requests. */
static int s_make_key(lyc_kit_t *kit)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    lyc_apikey_info_t spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.tenant, sizeof spec.tenant, "default");
    snprintf(spec.name, sizeof spec.name, "cluster kit");
    int rc = redis ? lyc_apikey_create(redis, kit->prefix, &spec, kit->api_key, NULL) : -1;
    lyc_redis_destroy(&redis);
    return rc;
}

static int s_start(lyc_kit_t *kit, const lyc_kit_opts_t *o)
{
    char cmd[400];
    if (lyc_test_sh((snprintf(cmd, sizeof cmd, "mkdir -p %s", kit->dir), cmd)) != 0 ||
        s_write_config(kit, o) != 0 || (o->auth_required && s_make_key(kit) != 0))
        return -1;
    s_spawn(kit, "services/router/lyceum-router", "router", NULL, NULL, NULL);
    if (o->routers > 1)
        s_spawn_router2(kit);
    s_spawn(kit, "services/evaluator/lyceum-evaluator", "evaluator", NULL, NULL, NULL);
    s_spawn_workers(kit, o);
    printf("cluster: %s, router %s%s%s, Redis %s, Kafka %s\n", kit->dir, kit->url,
           *kit->url2 ? " and " : "", kit->url2, lyc_test_redis_url(), lyc_test_kafka_brokers());
    if (s_wait_models(kit, kit->url, o->models, o->n_models) != 0 ||
        (*kit->url2 && s_wait_models(kit, kit->url2, o->models, o->n_models) != 0)) {
        snprintf(cmd, sizeof cmd, "tail -n 15 %s/*.log", kit->dir);
        lyc_test_sh(cmd);
        return -1;
    }
    return 0;
}

int lyc_kit_start_opts(lyc_kit_t *kit, const lyc_kit_opts_t *opts)
{
    char id[40];
    memset(kit, 0, sizeof *kit);
    /* below the ephemeral port range; more room per test when it needs more ports */
    int more = opts->routers > 1 || opts->worker_metrics;
    kit->base = more ? 10000 + (getpid() % 400) * 25 : 20000 + (getpid() % 2000) * 5;
    lyc_test_unique(id, sizeof id, "kit");
    snprintf(kit->prefix, sizeof kit->prefix, "%s", id);
    snprintf(kit->dir, sizeof kit->dir, "/tmp/lyceum-%s", id);
    snprintf(kit->url, sizeof kit->url, "http://127.0.0.1:%d", kit->base + 4);
    return s_start(kit, opts);
}

int lyc_kit_start(lyc_kit_t *kit, const char *replay_jsonl, const lyc_kit_model_t *models,
                  size_t n_models, const char *router_extra)
{
    lyc_kit_opts_t opts = {.replay_jsonl = replay_jsonl,
                           .models = models,
                           .n_models = n_models,
                           .router_extra = router_extra};
    return lyc_kit_start_opts(kit, &opts);
}

/* Most environment variables lyc_kit_spawn_worker sets. */
#define S_ENV_MAX 8

int lyc_kit_spawn_worker(lyc_kit_t *kit, const char *model, const char *name,
                         const char *const *env)
{
    char names[S_ENV_MAX][256];
    char *old[S_ENV_MAX] = {NULL};
    size_t n = 0;
    int pid = -1;
    for (; env && env[n]; n++) {
        const char *eq = strchr(env[n], '=');
        if (n == S_ENV_MAX || !eq || (size_t) (eq - env[n]) >= sizeof names[0])
            goto out_restore;
        snprintf(names[n], sizeof names[n], "%.*s", (int) (eq - env[n]), env[n]);
        const char *was = getenv(names[n]);
        old[n] = was ? strdup(was) : NULL;
        if (setenv(names[n], eq + 1, 1) != 0) {
            n++;
            goto out_restore;
        }
    }
    if (kit->npids < LYC_KIT_MAX_PROCS) {
        s_spawn(kit, "services/worker/lyceum-worker", name, model, name, NULL);
        pid = kit->pids[kit->npids - 1];
    }
out_restore:
    for (size_t i = 0; i < n && i < S_ENV_MAX; i++) {
        if (old[i])
            setenv(names[i], old[i], 1);
        else
            unsetenv(names[i]);
        free(old[i]);
    }
    return pid;
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

static size_t s_collect(char *data, size_t size, size_t n, void *arg)
{
    return fwrite(data, size, n, (FILE *) arg) * size;
}

/* Reads Retry-After from the response headers. */
static size_t s_header(char *data, size_t size, size_t n, void *arg)
{
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
        *(long *) arg = strtol(data + 12, NULL, 10);
    return len;
}

int lyc_kit_http(const char *method, const char *url, const char *key, const char *body,
                 char **response, long *retry_after_s)
{
    char *text = NULL, auth[128];
    size_t len = 0;
    long status = 0, retry = 0;
    FILE *out = open_memstream(&text, &len);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &retry);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    fclose(out);
    if (response)
        *response = text;
    else
        free(text);
    if (retry_after_s)
        *retry_after_s = retry;
    return (int) status;
}

int lyc_kit_ask(const lyc_kit_t *kit, const lyc_kit_ask_t *ask, const char *question, cJSON **reply,
                long *retry_after_s)
{
    char url[160], *text = NULL;
    cJSON *req = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "lyceum");
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "role", "user");
    cJSON_AddStringToObject(msg, "content", question);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "messages"), msg);
    if (ask->max_tokens)
        cJSON_AddNumberToObject(req, "max_tokens", ask->max_tokens);
    const char *names[] = {"tenant", "user", "domain"};
    const char *values[] = {ask->tenant, ask->user, ask->domain};
    for (int i = 0; i < 3; i++)
        if (values[i])
            cJSON_AddStringToObject(meta, names[i], values[i]);
    cJSON_AddItemToObject(req, "metadata", meta);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    snprintf(url, sizeof url, "%s/v1/chat/completions", ask->url ? ask->url : kit->url);
    int status = lyc_kit_http("POST", url, ask->key, body, &text, retry_after_s);
    free(body);
    *reply = text ? cJSON_Parse(text) : NULL;
    free(text);
    return status;
}

int lyc_kit_chat(const lyc_kit_t *kit, const char *question, const char *domain, cJSON **reply)
{
    lyc_kit_ask_t ask = {.key = *kit->api_key ? kit->api_key : NULL,
                         .user = domain ? "ann" : NULL,
                         .domain = domain};
    return lyc_kit_ask(kit, &ask, question, reply, NULL);
}

/* Sum of the samples of metric labelled model="<model>" in a /metrics text
 * (lines "name{labels} value"); text is cut into lines in place. */
static double s_metric_sum(char *text, const char *metric, const char *model)
{
    char label[160], *save = NULL;
    double sum = 0;
    size_t mlen = strlen(metric);
    snprintf(label, sizeof label, "model=\"%s\"", model);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *close = strchr(line, '}');
        if (strncmp(line, metric, mlen) != 0 || line[mlen] != '{' || !close)
            continue;
        *close = '\0';
        if (strstr(line + mlen, label))
            sum += strtod(close + 1, NULL);
    }
    return sum;
}

double lyc_kit_worker_sum(const lyc_kit_t *kit, const char *model, const char *metric)
{
    double sum = 0;
    size_t nlen = strlen(model);
    for (int i = 0; i < kit->npids; i++) {
        if (!kit->metrics_ports[i] || strncmp(kit->names[i], model, nlen) != 0 ||
            kit->names[i][nlen] != '#')
            continue;
        char url[96], *text = NULL;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", kit->metrics_ports[i]);
        int status = lyc_kit_http("GET", url, NULL, NULL, &text, NULL);
        if (status == 200 && text)
            sum += s_metric_sum(text, metric, model);
        free(text);
        if (status != 200)
            return -1;
    }
    return sum;
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
