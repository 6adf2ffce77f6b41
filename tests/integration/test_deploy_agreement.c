/*
 * test_deploy_agreement.c - the three ways to run Lyceum run the same thing.
 *
 * One machine (`lyceum up -c deploy/compose/lyceum.yaml`), docker-compose
 * (docker-compose.yml, as `docker-compose config` resolves it) and
 * Kubernetes (every overlay of deploy/k8s, as Kustomize renders it, through
 * deploy/check.sh render) must agree with the cluster file and with each
 * other on:
 *   - the services: router, evaluator, trainer, monitor, one worker service
 *     (Deployment) per model, and the replicas of each model;
 *   - the commands: the same binary and arguments (the cluster file's path,
 *     the launcher's --id and --http aside);
 *   - the ports: every listen address set from the environment keeps the
 *     port of the cluster file (or of the service's default), health checks
 *     and Kubernetes ports use them, bus.workers lists every router replica;
 *   - the environment: the same variable names per service, each one a
 *     setting the service reads (its --help-config) or one the image's
 *     entrypoint reads; the real-model variant passes every model's API key
 *     variable to every service;
 *   - the image: its runtime stage installs every library the built
 *     binaries link (deploy/check.sh libraries).
 * The launcher side is not a copy of plan.c: the cluster really starts, and
 * the test reads each process's command line from /proc.
 */
#include "testkit.h"

#include "config.h"
#include "model_config.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define S_MAX_MODELS 16
#define S_SERVICES   4 /* router, evaluator, trainer, monitor */

static const char *s_services[S_SERVICES] = {"router", "evaluator", "trainer", "monitor"};

/* What the cluster file says. */
typedef struct {
    char names[S_MAX_MODELS][64];
    long replicas[S_MAX_MODELS];
    char api_key_env[S_MAX_MODELS][64];
    int n;
} s_models_t;

/* ---- helpers: commands, YAML ------------------------------------------ */

/* Runs a shell command and returns its standard output (caller frees). */
static char *s_capture(const char *command)
{
    FILE *p = popen(command, "r");
    ck_assert_msg(p != NULL, "cannot run %s", command);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(mem);
    int status = pclose(p);
    ck_assert_msg(status == 0, "`%s` failed (status %d)", command, status);
    return text;
}

static cJSON *s_yaml_node(yaml_parser_t *parser, yaml_event_t *first);

/* Reads the rest of a mapping or sequence into container. */
static void s_yaml_children(yaml_parser_t *parser, cJSON *container, int is_map)
{
    for (;;) {
        yaml_event_t ev;
        ck_assert_msg(yaml_parser_parse(parser, &ev), "YAML: %s", parser->problem);
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return;
        }
        if (!is_map) {
            cJSON_AddItemToArray(container, s_yaml_node(parser, &ev));
            continue;
        }
        ck_assert_int_eq(ev.type, YAML_SCALAR_EVENT); /* keys are scalars here */
        char *key = strdup((const char *) ev.data.scalar.value);
        yaml_event_delete(&ev);
        ck_assert(yaml_parser_parse(parser, &ev));
        cJSON_AddItemToObject(container, key, s_yaml_node(parser, &ev));
        free(key);
    }
}

/* One node from its first event (consumed): scalars become strings. */
static cJSON *s_yaml_node(yaml_parser_t *parser, yaml_event_t *first)
{
    cJSON *node = NULL;
    switch (first->type) {
    case YAML_SCALAR_EVENT:
        node = cJSON_CreateString((const char *) first->data.scalar.value);
        yaml_event_delete(first);
        return node;
    case YAML_MAPPING_START_EVENT:
        yaml_event_delete(first);
        node = cJSON_CreateObject();
        s_yaml_children(parser, node, 1);
        return node;
    case YAML_SEQUENCE_START_EVENT:
        yaml_event_delete(first);
        node = cJSON_CreateArray();
        s_yaml_children(parser, node, 0);
        return node;
    default:
        ck_abort_msg("unexpected YAML event %d (aliases are not expected here)", first->type);
        return NULL;
    }
}

/* Every document of a YAML stream, as an array. */
static cJSON *s_yaml_parse(const char *text)
{
    yaml_parser_t parser;
    cJSON *docs = cJSON_CreateArray();
    ck_assert(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *) text, strlen(text));
    for (int done = 0; !done;) {
        yaml_event_t ev;
        ck_assert_msg(yaml_parser_parse(&parser, &ev), "YAML: %s", parser.problem);
        done = ev.type == YAML_STREAM_END_EVENT;
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
            ev.type == YAML_SCALAR_EVENT)
            cJSON_AddItemToArray(docs, s_yaml_node(&parser, &ev));
        else
            yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return docs;
}

/* obj.a.b.c... as a node, NULL when absent. */
static const cJSON *s_at(const cJSON *obj, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && obj; k = strtok_r(NULL, ".", &save))
        obj = cJSON_IsArray(obj) ? cJSON_GetArrayItem(obj, atoi(k))
                                 : cJSON_GetObjectItemCaseSensitive(obj, k);
    return obj;
}

static const char *s_str(const cJSON *obj, const char *path)
{
    const cJSON *node = s_at(obj, path);
    return cJSON_IsString(node) ? node->valuestring : NULL;
}

/* The port of "host:port", "tcp://host:port" or "http://host:port/path"; -1. */
static int s_port_of(const char *address)
{
    if (!address)
        return -1;
    const char *start = strstr(address, "://");
    start = start ? start + 3 : address;
    const char *colon = strchr(start, ':');
    return colon ? atoi(colon + 1) : -1;
}

/* Arguments with the cluster file's path as <cluster>, without --id and
 * --http and their values, the program as its base name; "a b c". */
static void s_normalize(char **argv, int argc, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < argc && used < cap; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--id") == 0 || strcmp(arg, "--http") == 0) {
            i++;
            continue;
        }
        if (i == 0 && strrchr(arg, '/'))
            arg = strrchr(arg, '/') + 1;
        if (i > 0 && strcmp(argv[i - 1], "-c") == 0)
            arg = "<cluster>";
        used += (size_t) snprintf(out + used, cap - used, "%s%s", used ? " " : "", arg);
    }
}

static void s_normalize_json(const cJSON *list, char *out, size_t cap)
{
    char *argv[32];
    int argc = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (cJSON_IsString(item) && argc < 32)
            argv[argc++] = item->valuestring;
    }
    s_normalize(argv, argc, out, cap);
}

/* ---- the cluster file and the services' settings ---------------------- */

static void s_load_models(const char *relative, s_models_t *models)
{
    char path[512], err[512];
    lyc_test_source_path(path, sizeof path, relative);
    lyc_confdoc_t *doc = lyc_confdoc_load(path, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    memset(models, 0, sizeof *models);
    models->n = lyc_model_config_count(doc);
    ck_assert(models->n > 0 && models->n <= S_MAX_MODELS);
    for (int i = 0; i < models->n; i++) {
        lyc_model_config_t m;
        ck_assert_msg(lyc_model_config_load(doc, i, &m, err, sizeof err) == 0, "%s", err);
        snprintf(models->names[i], sizeof models->names[i], "%s", m.name);
        snprintf(models->api_key_env[i], sizeof models->api_key_env[i], "%s",
                 m.openai_api_key_env ? m.openai_api_key_env : "");
        models->replicas[i] = m.replicas;
        lyc_model_config_free(&m);
    }
    lyc_confdoc_destroy(&doc);
}

/* The file's value for key, else the default the service prints. */
static const char *s_setting(const char *service, const char *key, char *buf, size_t cap)
{
    char path[512], err[512], bin[512], command[700], dotted[128];
    lyc_test_source_path(path, sizeof path, "deploy/compose/lyceum.yaml");
    lyc_confdoc_t *doc = lyc_confdoc_load(path, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    snprintf(dotted, sizeof dotted, "%s%s%s", service ? service : "", service ? "." : "", key);
    const char *value = lyc_confdoc_get(doc, dotted, NULL);
    buf[0] = '\0';
    if (value)
        snprintf(buf, cap, "%s", value);
    lyc_confdoc_destroy(&doc);
    if (value || !service)
        return buf;
    snprintf(path, sizeof path, "services/%s/lyceum-%s", service, service);
    lyc_test_binary(bin, sizeof bin, path);
    snprintf(command, sizeof command, "%s --help-config | awk '$1 == \"%s\" {print $4; exit}'", bin,
             key);
    char *out = s_capture(command);
    snprintf(buf, cap, "%.*s", (int) strcspn(out, "\n"), out);
    free(out);
    return buf;
}

/* 1 when name is an environment variable the service reads: a setting of
 * its --help-config as LYCEUM_<SERVICE>_<KEY> or LYCEUM_<KEY>, one its
 * --help or --help-config names (e.g. the worker's LYCEUM_WORKER_HTTP_LISTEN
 * for --http), or one the image's entrypoint reads. */
static int s_env_known(const char *service, const char *name)
{
    static const char *entrypoint[] = {"LYCEUM_RUN_ID", "LYCEUM_RUN_DIR", "LYCEUM_CONFIG"};
    for (size_t i = 0; i < sizeof entrypoint / sizeof entrypoint[0]; i++)
        if (strcmp(name, entrypoint[i]) == 0)
            return 1;
    char bin[512], rel[128], command[700], upper[64];
    snprintf(rel, sizeof rel, "services/%s/lyceum-%s", service, service);
    lyc_test_binary(bin, sizeof bin, rel);
    snprintf(command, sizeof command,
             "%s --help-config | awk '$2 ~ /^(string|integer|number|boolean)$/ {print $1}'", bin);
    char *keys = s_capture(command);
    snprintf(command, sizeof command, "(%s --help; %s --help-config) 2>&1 | grep -qw %s", bin, bin,
             name);
    if (lyc_test_sh(command) == 0) {
        free(keys);
        return 1;
    }
    size_t n = 0;
    for (; service[n] && n + 1 < sizeof upper; n++)
        upper[n] = (char) toupper((unsigned char) service[n]);
    upper[n] = '\0';
    int known = 0;
    char *save = NULL;
    for (char *key = strtok_r(keys, "\n", &save); key && !known;
         key = strtok_r(NULL, "\n", &save)) {
        char env[160], *e = env;
        for (const char *k = key; *k && e < env + sizeof env - 1; k++)
            *e++ = (*k == '.' || *k == '-') ? '_' : (char) toupper((unsigned char) *k);
        *e = '\0';
        char with_service[200];
        snprintf(with_service, sizeof with_service, "LYCEUM_%s_%s", upper, env);
        known = strcmp(name, with_service) == 0 ||
                (strncmp(name, "LYCEUM_", 7) == 0 && strcmp(name + 7, env) == 0);
    }
    free(keys);
    return known;
}

/* ---- the three views --------------------------------------------------- */

static cJSON *s_compose(const char *extra_file)
{
    char root[512], command[1200];
    lyc_test_source_path(root, sizeof root, "");
    snprintf(command, sizeof command,
             "cd '%s' && OPENAI_API_KEY=agreement docker-compose -f docker-compose.yml %s%s "
             "config 2>/dev/null",
             root, extra_file ? "-f " : "", extra_file ? extra_file : "");
    char *text = s_capture(command);
    cJSON *docs = s_yaml_parse(text);
    free(text);
    cJSON *config = cJSON_DetachItemFromArray(docs, 0);
    cJSON_Delete(docs);
    return config;
}

static cJSON *s_k8s(const char *overlay)
{
    char script[512], command[700];
    lyc_test_source_path(script, sizeof script, "deploy/check.sh");
    snprintf(command, sizeof command, "bash '%s' render %s 2>/dev/null", script, overlay);
    char *text = s_capture(command);
    cJSON *docs = s_yaml_parse(text);
    free(text);
    return docs;
}

/* The rendered resource of that kind and name (generated names: prefix). */
static const cJSON *s_resource(const cJSON *docs, const char *kind, const char *name, int prefix)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        const char *k = s_str(doc, "kind"), *n = s_str(doc, "metadata.name");
        if (k && n && strcmp(k, kind) == 0 &&
            (prefix ? strncmp(n, name, strlen(name)) == 0 : strcmp(n, name) == 0))
            return doc;
    }
    return NULL;
}

/* The workload of a service: lyceum-<service> (StatefulSet or Deployment). */
static const cJSON *s_workload(const cJSON *docs, const char *service)
{
    char name[96];
    snprintf(name, sizeof name, "lyceum-%s", service);
    const cJSON *w = s_resource(docs, "Deployment", name, 0);
    return w ? w : s_resource(docs, "StatefulSet", name, 0);
}

/* A launched process: its name (pid file) and normalized command line. */
typedef struct {
    char name[96];
    char command[512];
} s_proc_t;

typedef struct {
    s_proc_t procs[64];
    int n;
} s_launch_t;

static void s_read_cmdline(int pid, s_proc_t *p)
{
    char path[64], buf[4096], *argv[32];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "process %s (pid %d) is gone", p->name, pid);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    int argc = 0;
    for (size_t off = 0; off < len && argc < 32; off += strlen(buf + off) + 1)
        argv[argc++] = buf + off;
    s_normalize(argv, argc, p->command, sizeof p->command);
}

/* Sets the environment that moves every listen address of the run to
 * unique loopback ports (the file's ports may be taken on this machine). */
static void s_launch_env(const char *run_dir, int base)
{
    static const char *keys[] = {"LYCEUM_ROUTER_HTTP_LISTEN",  "LYCEUM_ROUTER_CLIENTS_BIND",
                                 "LYCEUM_ROUTER_WORKERS_BIND", "LYCEUM_ROUTER_TASKS_BIND",
                                 "LYCEUM_EVALUATOR_BIND",      "LYCEUM_EVALUATOR_HTTP_LISTEN",
                                 "LYCEUM_TRAINER_HTTP_LISTEN", "LYCEUM_MONITOR_HTTP_LISTEN"};
    char value[96], group[64];
    for (int k = 0; k < 8; k++) {
        int tcp = strstr(keys[k], "BIND") != NULL;
        snprintf(value, sizeof value, "%s127.0.0.1:%d", tcp ? "tcp://" : "", base + k);
        setenv(keys[k], value, 1);
    }
    snprintf(value, sizeof value, "tcp://127.0.0.1:%d", base + 1);
    setenv("LYCEUM_BUS_CLIENTS", value, 1);
    snprintf(value, sizeof value, "tcp://127.0.0.1:%d", base + 2);
    setenv("LYCEUM_BUS_WORKERS", value, 1);
    snprintf(value, sizeof value, "tcp://127.0.0.1:%d", base + 3);
    setenv("LYCEUM_BUS_TASKS", value, 1);
    snprintf(value, sizeof value, "tcp://127.0.0.1:%d", base + 4);
    setenv("LYCEUM_BUS_EVALUATOR", value, 1);
    setenv("LYCEUM_REDIS_URL", lyc_test_redis_url(), 1);
    setenv("LYCEUM_KAFKA_BROKERS", lyc_test_kafka_brokers(), 1);
    setenv("LYCEUM_DEMO_SERVERS", "external", 1);
    setenv("LYCEUM_TRAINER_GROUP", lyc_test_unique(group, sizeof group, "agreement"), 1);
    setenv("LYCEUM_RUN_DIR", run_dir, 1);
}

/* `lyceum up -c deploy/compose/lyceum.yaml`, the processes it started, `down`. */
static void s_launch(s_launch_t *launch)
{
    char id[40], run_dir[128], cli[512], file[512], command[1400], pids[200];
    lyc_test_unique(id, sizeof id, "agreement");
    snprintf(run_dir, sizeof run_dir, "/tmp/lyceum-%s", id);
    s_launch_env(run_dir, 20000 + (getpid() % 1000) * 10);
    lyc_test_binary(cli, sizeof cli, "services/cli/lyceum");
    lyc_test_source_path(file, sizeof file, "deploy/compose/lyceum.yaml");
    snprintf(command, sizeof command, "'%s' up -c '%s' --timeout 90", cli, file);
    int up = lyc_test_sh(command);
    memset(launch, 0, sizeof *launch);
    snprintf(pids, sizeof pids, "%s/pids", run_dir);
    DIR *dir = up == 0 ? opendir(pids) : NULL;
    struct dirent *e;
    while (dir && (e = readdir(dir)) && launch->n < 64) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".pid") != 0)
            continue;
        s_proc_t *p = &launch->procs[launch->n++];
        snprintf(p->name, sizeof p->name, "%.*s", (int) (len - 4), e->d_name);
        char path[400], buf[32] = "";
        snprintf(path, sizeof path, "%s/%s", pids, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(buf, sizeof buf, f))
            s_read_cmdline(atoi(buf), p);
        if (f)
            fclose(f);
    }
    if (dir)
        closedir(dir);
    snprintf(command, sizeof command, "'%s' down", cli);
    lyc_test_sh(command);
    ck_assert_msg(up == 0, "lyceum up -c deploy/compose/lyceum.yaml failed (logs in %s/logs)",
                  run_dir);
}

static int s_has_binary(const char *service)
{
    char rel[128], bin[512];
    snprintf(rel, sizeof rel, "services/%s/lyceum-%s", service, service);
    lyc_test_binary(bin, sizeof bin, rel);
    return access(bin, X_OK) == 0;
}

/* ---- the checks --------------------------------------------------------- */

/* Names of a compose service's environment, sorted, "A B C". */
static void s_env_names(const cJSON *env, char *out, size_t cap);

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void s_sorted_names(const char **names, int n, char *out, size_t cap)
{
    qsort(names, (size_t) n, sizeof *names, s_cmp);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < cap; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            used += (size_t) snprintf(out + used, cap - used, "%s%s", used ? " " : "", names[i]);
}

static void s_env_names(const cJSON *env, char *out, size_t cap)
{
    const char *names[64];
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, env)
    {
        if (n < 64)
            names[n++] = item->string;
    }
    s_sorted_names(names, n, out, cap);
}

/* The environment names a pod's container gets: its env and the ConfigMaps
 * it takes whole (envFrom); Secrets are left out (their keys are not in
 * the manifests). */
static void s_k8s_env_names(const cJSON *docs, const cJSON *container, char *out, size_t cap)
{
    const char *names[64];
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(container, "env"))
    {
        if (n < 64)
            names[n++] = s_str(item, "name");
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(container, "envFrom"))
    {
        const char *map = s_str(item, "configMapRef.name");
        const cJSON *cm = map ? s_resource(docs, "ConfigMap", map, 0) : NULL;
        const cJSON *data = cm ? cJSON_GetObjectItem(cm, "data") : NULL;
        const cJSON *key;
        cJSON_ArrayForEach(key, data)
        {
            if (n < 64)
                names[n++] = key->string;
        }
    }
    s_sorted_names(names, n, out, cap);
}

/* The port a probe or Service names (a number, or a container port's name). */
static int s_named_port(const cJSON *container, const char *port)
{
    if (!port)
        return -1;
    if (isdigit((unsigned char) port[0]))
        return atoi(port);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(container, "ports"))
    {
        if (strcmp(s_str(p, "name") ? s_str(p, "name") : "", port) == 0)
            return atoi(s_str(p, "containerPort"));
    }
    return -1;
}

/* The listen addresses each service sets from its environment, with the
 * port it must keep: the cluster file's, or the service's default. */
typedef struct {
    const char *service;
    const char *env;
    const char *section; /* where the key is in the cluster file */
    const char *key;
    int health; /* this is the port /healthz answers on */
} s_listen_t;

static const s_listen_t s_listens[] = {
    {"router", "LYCEUM_ROUTER_HTTP_LISTEN", "router", "http.listen", 1},
    {"router", "LYCEUM_ROUTER_WORKERS_BIND", "router", "workers_bind", 0},
    {"router", "LYCEUM_ROUTER_TASKS_BIND", "router", "tasks_bind", 0},
    {"router", "LYCEUM_ROUTER_CLIENTS_BIND", "router", "clients_bind", 0},
    {"evaluator", "LYCEUM_EVALUATOR_BIND", "evaluator", "bind", 0},
    {"evaluator", "LYCEUM_EVALUATOR_HTTP_LISTEN", "evaluator", "http_listen", 1},
    {"trainer", "LYCEUM_TRAINER_HTTP_LISTEN", "trainer", "http_listen", 1},
    {"monitor", "LYCEUM_MONITOR_HTTP_LISTEN", "monitor", "http_listen", 1},
    {"worker", "LYCEUM_WORKER_HTTP_LISTEN", NULL, NULL, 1}, /* no file key: 9100 */
    {"*", "LYCEUM_BUS_WORKERS", NULL, "bus.workers", 0},
    {"*", "LYCEUM_BUS_TASKS", NULL, "bus.tasks", 0},
    {"*", "LYCEUM_BUS_EVALUATOR", NULL, "bus.evaluator", 0},
    {"*", "LYCEUM_BUS_CLIENTS", NULL, "bus.clients", 0},
};

static int s_expected_port(const s_listen_t *l)
{
    char buf[256];
    if (!l->key)
        return 9100;
    if (strcmp(l->service, "monitor") == 0 && !s_has_binary("monitor"))
        return 8090; /* the monitor's announced default, until it is built */
    int port = s_port_of(s_setting(l->section, l->key, buf, sizeof buf));
    ck_assert_msg(port > 0, "no port for %s.%s", l->section ? l->section : "", l->key);
    return port;
}

/* The service a compose service or workload name stands for ("worker" for
 * every worker-<model>). */
static const char *s_kind_of(const char *name)
{
    return strncmp(name, "worker-", 7) == 0 ? "worker" : name;
}

/* Checks one service's listen ports in an environment (compose or pod). */
static void s_check_ports(const char *where, const char *name, const cJSON *env_obj,
                          const cJSON *k8s_env, int *health_port)
{
    for (size_t i = 0; i < sizeof s_listens / sizeof s_listens[0]; i++) {
        const s_listen_t *l = &s_listens[i];
        if (strcmp(l->service, "*") != 0 && strcmp(l->service, s_kind_of(name)) != 0)
            continue;
        const char *value = env_obj ? s_str(env_obj, l->env) : NULL;
        const cJSON *item;
        cJSON_ArrayForEach(item, k8s_env)
        {
            if (strcmp(s_str(item, "name"), l->env) == 0)
                value = s_str(item, "value");
        }
        if (strcmp(l->service, "*") == 0 && !value)
            continue; /* shared ones are checked where they are set */
        ck_assert_msg(value != NULL, "%s %s: %s is not set", where, name, l->env);
        int want = s_expected_port(l);
        ck_assert_msg(s_port_of(value) == want, "%s %s: %s=%s, but the cluster file's port is %d",
                      where, name, l->env, value, want);
        if (l->health)
            *health_port = want;
    }
}

static void s_check_compose(const cJSON *compose, const s_models_t *models)
{
    const cJSON *services = cJSON_GetObjectItem(compose, "services");
    char want_env[1024] = "";
    int lyceum_services = 0;
    const cJSON *svc;
    cJSON_ArrayForEach(svc, services)
    {
        const char *image = s_str(svc, "image");
        if (!image || strncmp(image, "lyceum", 6) != 0)
            continue; /* Redis, Kafka, the topic job */
        lyceum_services++;
        const char *name = svc->string;
        int health = -1;
        s_check_ports("compose", name, cJSON_GetObjectItem(svc, "environment"), NULL, &health);
        char needle[64];
        snprintf(needle, sizeof needle, ":%d/healthz", health);
        const cJSON *test = s_at(svc, "healthcheck.test");
        char *text = cJSON_PrintUnformatted(test);
        ck_assert_msg(text && strstr(text, needle), "compose %s: health check %s is not on %s",
                      name, text ? text : "(none)", needle);
        free(text);
        /* The shared variables are the same for every Lyceum service. */
        char names[1024];
        const char *shared[32];
        int n = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(svc, "environment"))
        {
            if (n < 32 && strstr(item->string, "_LISTEN") == NULL &&
                strstr(item->string, "_BIND") == NULL)
                shared[n++] = item->string;
        }
        s_sorted_names(shared, n, names, sizeof names);
        if (!want_env[0])
            snprintf(want_env, sizeof want_env, "%s", names);
        ck_assert_msg(strcmp(names, want_env) == 0, "compose %s: shared environment %s, not %s",
                      name, names, want_env);
    }
    ck_assert_int_eq(lyceum_services, S_SERVICES + models->n);
    for (int s = 0; s < S_SERVICES; s++)
        ck_assert_msg(cJSON_GetObjectItem(services, s_services[s]), "compose has no %s",
                      s_services[s]);
    for (int m = 0; m < models->n; m++) {
        char name[96];
        snprintf(name, sizeof name, "worker-%s", models->names[m]);
        const cJSON *w = cJSON_GetObjectItem(services, name);
        ck_assert_msg(w != NULL, "compose has no service %s for model %s", name, models->names[m]);
        const char *replicas = s_str(w, "deploy.replicas");
        ck_assert_msg(replicas && atol(replicas) == models->replicas[m],
                      "compose %s: deploy.replicas %s, the cluster file says %ld", name,
                      replicas ? replicas : "(none)", models->replicas[m]);
    }
}

/* bus.workers must list every router replica by its stable name. */
static void s_check_router_list(const char *overlay, const cJSON *docs)
{
    const cJSON *router = s_workload(docs, "router");
    const char *replicas = s_str(router, "spec.replicas");
    const cJSON *env = s_resource(docs, "ConfigMap", "lyceum-env", 1);
    const char *list = s_str(env, "data.LYCEUM_BUS_WORKERS");
    char buf[64];
    int want = s_port_of(s_setting("router", "workers_bind", buf, sizeof buf));
    ck_assert(replicas && list);
    int n = atoi(replicas);
    for (int i = 0; i < n; i++) {
        char entry[128];
        snprintf(entry, sizeof entry, "tcp://lyceum-router-%d.lyceum-router-bus:%d", i, want);
        ck_assert_msg(strstr(list, entry), "%s: LYCEUM_BUS_WORKERS=%s lacks %s", overlay, list,
                      entry);
    }
    int entries = 1;
    for (const char *c = list; *c; c++)
        entries += *c == ',';
    ck_assert_msg(entries == n, "%s: %d routers, but LYCEUM_BUS_WORKERS lists %d", overlay, n,
                  entries);
}

/* One Kubernetes workload against the compose service of the same name. */
static void s_check_workload(const char *overlay, const cJSON *docs, const cJSON *compose_svc,
                             const char *name)
{
    const cJSON *w = s_workload(docs, name);
    ck_assert_msg(w != NULL, "%s: no workload lyceum-%s", overlay, name);
    const cJSON *c = s_at(w, "spec.template.spec.containers.0");
    char k8s_cmd[512], compose_cmd[512];
    s_normalize_json(cJSON_GetObjectItem(c, "args"), k8s_cmd, sizeof k8s_cmd);
    s_normalize_json(cJSON_GetObjectItem(compose_svc, "command"), compose_cmd, sizeof compose_cmd);
    ck_assert_msg(strcmp(k8s_cmd, compose_cmd) == 0, "%s lyceum-%s runs '%s', compose '%s'",
                  overlay, name, k8s_cmd, compose_cmd);
    int health = -1;
    s_check_ports(overlay, name, NULL, cJSON_GetObjectItem(c, "env"), &health);
    ck_assert_int_eq(s_named_port(c, s_str(c, "readinessProbe.httpGet.port")), health);
    ck_assert_int_eq(s_named_port(c, s_str(c, "livenessProbe.httpGet.port")), health);
    char k8s_env[1024], compose_env[1024];
    s_k8s_env_names(docs, c, k8s_env, sizeof k8s_env);
    s_env_names(cJSON_GetObjectItem(compose_svc, "environment"), compose_env, sizeof compose_env);
    ck_assert_msg(strcmp(k8s_env, compose_env) == 0, "%s lyceum-%s environment: %s; compose: %s",
                  overlay, name, k8s_env, compose_env);
    /* Every name is one the service reads. */
    char *save = NULL, copy[1024];
    snprintf(copy, sizeof copy, "%s", k8s_env);
    for (char *v = strtok_r(copy, " ", &save); v; v = strtok_r(NULL, " ", &save))
        ck_assert_msg(!s_has_binary(s_kind_of(name)) || s_env_known(s_kind_of(name), v),
                      "%s reads no variable %s", s_kind_of(name), v);
}

static void s_check_k8s(const char *overlay, const cJSON *compose, const s_models_t *models)
{
    cJSON *docs = s_k8s(overlay);
    const cJSON *services = cJSON_GetObjectItem(compose, "services");
    for (int s = 0; s < S_SERVICES; s++) {
        s_check_workload(overlay, docs, cJSON_GetObjectItem(services, s_services[s]),
                         s_services[s]);
        const char *replicas = s_str(s_workload(docs, s_services[s]), "spec.replicas");
        ck_assert_msg(replicas != NULL, "%s lyceum-%s sets no replicas", overlay, s_services[s]);
    }
    for (int m = 0; m < models->n; m++) {
        char name[96], hpa_name[110];
        snprintf(name, sizeof name, "worker-%s", models->names[m]);
        s_check_workload(overlay, docs, cJSON_GetObjectItem(services, name), name);
        snprintf(hpa_name, sizeof hpa_name, "lyceum-%s", name);
        const cJSON *hpa = s_resource(docs, "HorizontalPodAutoscaler", hpa_name, 0);
        ck_assert_msg(hpa != NULL, "%s: no HorizontalPodAutoscaler for %s", overlay, name);
        const char *min = s_str(hpa, "spec.minReplicas");
        ck_assert_msg(min && atol(min) == models->replicas[m],
                      "%s: %s minReplicas %s, the cluster file says %ld", overlay, name,
                      min ? min : "(none)", models->replicas[m]);
        ck_assert_msg(s_resource(docs, "PodDisruptionBudget", hpa_name, 0) != NULL,
                      "%s: no PodDisruptionBudget for %s", overlay, name);
        ck_assert_msg(s_str(s_workload(docs, name), "spec.replicas") == NULL,
                      "%s: %s sets replicas, which its HorizontalPodAutoscaler owns", overlay,
                      name);
    }
    s_check_router_list(overlay, docs);
    cJSON_Delete(docs);
}

/* The launcher ran each compose service's command, replicas included. */
static void s_check_launcher(const s_launch_t *launch, const cJSON *compose,
                             const s_models_t *models)
{
    const cJSON *services = cJSON_GetObjectItem(compose, "services");
    for (int s = 0; s < S_SERVICES; s++) {
        const s_proc_t *p = NULL;
        for (int i = 0; i < launch->n && !p; i++)
            if (strcmp(launch->procs[i].name, s_services[s]) == 0)
                p = &launch->procs[i];
        if (!p && !s_has_binary(s_services[s])) {
            printf("agreement: lyceum-%s is not built; the launcher skipped it\n", s_services[s]);
            continue;
        }
        ck_assert_msg(p != NULL, "lyceum up did not start %s", s_services[s]);
        char want[512];
        const cJSON *svc = cJSON_GetObjectItem(services, s_services[s]);
        s_normalize_json(cJSON_GetObjectItem(svc, "command"), want, sizeof want);
        ck_assert_msg(strcmp(p->command, want) == 0, "lyceum up runs '%s', compose '%s'",
                      p->command, want);
    }
    for (int m = 0; m < models->n; m++) {
        char service[96], want[512], prefix[100];
        snprintf(service, sizeof service, "worker-%s", models->names[m]);
        snprintf(prefix, sizeof prefix, "worker-%s-", models->names[m]);
        s_normalize_json(cJSON_GetObjectItem(cJSON_GetObjectItem(services, service), "command"),
                         want, sizeof want);
        long count = 0;
        for (int i = 0; i < launch->n; i++) {
            if (strncmp(launch->procs[i].name, prefix, strlen(prefix)) != 0)
                continue;
            count++;
            ck_assert_msg(strcmp(launch->procs[i].command, want) == 0,
                          "lyceum up runs '%s', compose '%s'", launch->procs[i].command, want);
        }
        ck_assert_msg(count == models->replicas[m], "lyceum up started %ld %s, the file says %ld",
                      count, service, models->replicas[m]);
    }
}

/* The real-model variant: its file mounted, every API key variable passed. */
static void s_check_models_variant(void)
{
    s_models_t real;
    s_load_models("deploy/compose/lyceum-models.yaml", &real);
    cJSON *compose = s_compose("docker-compose.models.yml");
    const cJSON *svc;
    cJSON_ArrayForEach(svc, cJSON_GetObjectItem(compose, "services"))
    {
        const char *image = s_str(svc, "image");
        if (!image || strncmp(image, "lyceum", 6) != 0)
            continue;
        char *volumes = cJSON_PrintUnformatted(cJSON_GetObjectItem(svc, "volumes"));
        ck_assert_msg(strstr(volumes, "lyceum-models.yaml:/etc/lyceum/lyceum.yaml"),
                      "compose+models %s mounts %s", svc->string, volumes);
        free(volumes);
        for (int m = 0; m < real.n; m++)
            ck_assert_msg(!real.api_key_env[m][0] || s_str(svc, "environment") == NULL ||
                              cJSON_GetObjectItem(cJSON_GetObjectItem(svc, "environment"),
                                                  real.api_key_env[m]),
                          "compose+models %s does not get %s", svc->string, real.api_key_env[m]);
    }
    cJSON_Delete(compose);
    /* The managed overlay serves these models with the same worker Deployments. */
    cJSON *docs = s_k8s("managed");
    for (int m = 0; m < real.n; m++) {
        char name[96];
        snprintf(name, sizeof name, "lyceum-worker-%s", real.names[m]);
        ck_assert_msg(s_resource(docs, "Deployment", name, 0), "managed: no %s", name);
    }
    cJSON_Delete(docs);
}

/* The Dockerfile's runtime packages cover what the binaries of this build link. */
static void s_check_image_libraries(void)
{
    char script[512], command[700];
    lyc_test_source_path(script, sizeof script, "deploy/check.sh");
    snprintf(command, sizeof command, "bash '%s' libraries", script);
    ck_assert_msg(lyc_test_sh(command) == 0, "deploy/Dockerfile's run stage lacks libraries");
}

START_TEST(test_launcher_compose_and_kubernetes_agree)
{
    s_models_t models;
    s_load_models("deploy/compose/lyceum.yaml", &models);
    cJSON *compose = s_compose(NULL);
    s_check_compose(compose, &models);
    s_check_k8s("trial", compose, &models);
    s_check_k8s("managed", compose, &models);
    s_check_models_variant();
    s_check_image_libraries();

    s_launch_t launch;
    s_launch(&launch);
    s_check_launcher(&launch, compose, &models);
    printf("agreement: %d models, %d processes on one machine, docker-compose and the "
           "trial and managed overlays agree\n",
           models.n, launch.n);
    cJSON_Delete(compose);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("deploy_agreement");
    TCase *tc = tcase_create("agreement");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_launcher_compose_and_kubernetes_agree);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
