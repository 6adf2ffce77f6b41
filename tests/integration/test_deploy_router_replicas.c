/*
 * test_deploy_router_replicas.c - two routers behind the same workers, as
 * in overlays/managed of deploy/k8s: either can go and the other keeps
 * serving, and the one that comes back gets its workers again.
 *
 * Each router has its own broker; every worker connects to both (bus.workers
 * lists both router addresses), so both see every worker. Router A reads its
 * addresses from the cluster file, router B from environment overrides of
 * the same file (LYCEUM_ROUTER_HTTP_LISTEN, ..._WORKERS_BIND, ...), as a
 * second pod would. Traffic goes to both; A is killed (SIGKILL) while B
 * serves a steady stream; A is started again and must list every worker
 * again and serve; then B is stopped and A serves alone.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include <cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_PROCS 8

static const char *s_data =
    "{\"prompt\":\"Which metal is liquid at room temperature?\",\"domain\":\"chem\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Mercury.\"},\"teacher\":{\"correct\":true,"
    "\"text\":\"Mercury\"}}}\n";

typedef struct {
    char dir[256];
    int base;               /* ports: router A base..base+3, router B base+4..+7, evaluator +8 */
    lyc_kit_t a, b;         /* only .url is used, by lyc_kit_chat */
    int router_a, router_b; /* pids */
    int others[S_MAX_PROCS];
    int n_others;
} s_cluster_t;

static s_cluster_t s_c;

/* Ports of router r (0: A, 1: B): http, clients, workers, tasks. */
static int s_port(int router, int which)
{
    return s_c.base + router * 4 + which;
}

static int s_write_config(void)
{
    char path[320], text[4096], id[40];
    snprintf(path, sizeof path, "%s/data.jsonl", s_c.dir);
    if (lyc_test_write_file(path, s_data) != 0)
        return -1;
    lyc_test_unique(id, sizeof id, "routers");
    snprintf(text, sizeof text,
             "redis: {url: \"%s\", prefix: \"%s\"}\n"
             "kafka: {brokers: \"%s\", spool_dir: \"%s/spool\"}\n"
             "bus:\n  clients: tcp://127.0.0.1:%d\n"
             "  workers: \"tcp://127.0.0.1:%d,tcp://127.0.0.1:%d\"\n"
             "  tasks: tcp://127.0.0.1:%d\n  evaluator: tcp://127.0.0.1:%d\n"
             "router:\n  http: {listen: \"127.0.0.1:%d\", threads: 4}\n"
             "  clients_bind: tcp://127.0.0.1:%d\n  workers_bind: tcp://127.0.0.1:%d\n"
             "  tasks_bind: tcp://127.0.0.1:%d\n  eval_mode: reference\n  learning_sample: 0\n"
             "  auth: open\n"
             "evaluator:\n  bind: tcp://127.0.0.1:%d\n  mode: reference\n"
             "models:\n"
             "  - {name: supervisor, backend: replay, role: supervisor, price_in: 10, price_out: "
             "30, timeout_ms: 10000,\n"
             "     replay: {files: [\"%s/data.jsonl\"], format: jsonl, unknown: simulate}}\n"
             "  - {name: teacher, backend: replay, role: teacher, replicas: 2, price_in: 1, "
             "price_out: 2, timeout_ms: 10000,\n"
             "     replay: {files: [\"%s/data.jsonl\"], format: jsonl, unknown: simulate, "
             "latency_ms: 50}}\n",
             lyc_test_redis_url(), id, lyc_test_kafka_brokers(), s_c.dir, s_port(0, 1),
             s_port(0, 2), s_port(1, 2), s_port(0, 3), s_c.base + 8, s_port(0, 0), s_port(0, 1),
             s_port(0, 2), s_port(0, 3), s_c.base + 8, s_c.dir, s_c.dir);
    snprintf(path, sizeof path, "%s/cluster.yaml", s_c.dir);
    return lyc_test_write_file(path, text);
}

static int s_spawn(const char *binary, const char *log_name, const char *model, const char *id)
{
    char bin[512], config[320], log[320];
    lyc_test_binary(bin, sizeof bin, binary);
    snprintf(config, sizeof config, "%s/cluster.yaml", s_c.dir);
    snprintf(log, sizeof log, "%s/%s.log", s_c.dir, log_name);
    char *argv[] = {bin,    "-c",        config, model ? "--model" : NULL, (char *) model,
                    "--id", (char *) id, NULL};
    return lyc_test_spawn(argv, log);
}

/* Router B: the same file, its addresses from the environment. */
static int s_spawn_router_b(void)
{
    static const char *keys[] = {"LYCEUM_ROUTER_HTTP_LISTEN", "LYCEUM_ROUTER_CLIENTS_BIND",
                                 "LYCEUM_ROUTER_WORKERS_BIND", "LYCEUM_ROUTER_TASKS_BIND"};
    char value[64];
    for (int k = 0; k < 4; k++) {
        snprintf(value, sizeof value, k == 0 ? "127.0.0.1:%d" : "tcp://127.0.0.1:%d", s_port(1, k));
        setenv(keys[k], value, 1);
    }
    int pid = s_spawn("services/router/lyceum-router", "router-b", NULL, NULL);
    for (int k = 0; k < 4; k++)
        unsetenv(keys[k]);
    return pid;
}

/* 1 when the router at url lists the supervisor and both teacher replicas. */
static int s_sees_workers(const char *url)
{
    char models_url[160], *text = NULL;
    snprintf(models_url, sizeof models_url, "%s/v1/models", url);
    int ok = 0;
    if (lyc_test_http("GET", models_url, NULL, NULL, 0, &text) == 200) {
        cJSON *root = cJSON_Parse(text);
        const cJSON *m;
        int supervisor = 0, teacher = 0;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "data"))
        {
            const cJSON *info = cJSON_GetObjectItem(m, "lyceum");
            int replicas = info ? cJSON_GetObjectItem(info, "replicas")->valueint : 0;
            if (strcmp(lyc_kit_str(m, "id", NULL), "supervisor") == 0)
                supervisor = replicas;
            if (strcmp(lyc_kit_str(m, "id", NULL), "teacher") == 0)
                teacher = replicas;
        }
        ok = supervisor == 1 && teacher == 2;
        cJSON_Delete(root);
    }
    free(text);
    return ok;
}

static int s_wait_workers(const char *url, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (s_sees_workers(url))
            return 0;
        usleep(100000);
    }
    return -1;
}

/* Asks a router; 1 when it answered 200 with at least one model's answer. */
static int s_ask(const lyc_kit_t *router, int i)
{
    char question[128];
    cJSON *reply = NULL;
    snprintf(question, sizeof question, "Router replica question %d about %s?", i,
             i % 2 ? "rivers" : "mountains");
    int status = lyc_kit_chat(router, question, "chem", &reply);
    const cJSON *ly = cJSON_GetObjectItem(reply, "lyceum");
    int ok = status == 200 && cJSON_GetArraySize(cJSON_GetObjectItem(ly, "answered_by")) > 0;
    if (!ok) {
        printf("router %s, query %d: status %d\n", router->url, i, status);
        fflush(stdout);
    }
    cJSON_Delete(reply);
    return ok;
}

typedef struct {
    const lyc_kit_t *router;
    volatile int stop;
    int sent, ok;
} s_stream_t;

static void *s_stream(void *arg)
{
    s_stream_t *st = arg;
    while (!st->stop && st->sent < 500) {
        st->ok += s_ask(st->router, 1000 + st->sent);
        st->sent++;
    }
    return NULL;
}

static void s_setup(void)
{
    char id[40], cmd[320];
    memset(&s_c, 0, sizeof s_c);
    s_c.base = 20000 + (getpid() % 1000) * 10; /* below the ephemeral port range */
    lyc_test_unique(id, sizeof id, "routers");
    snprintf(s_c.dir, sizeof s_c.dir, "/tmp/lyceum-%s", id);
    snprintf(s_c.a.url, sizeof s_c.a.url, "http://127.0.0.1:%d", s_port(0, 0));
    snprintf(s_c.b.url, sizeof s_c.b.url, "http://127.0.0.1:%d", s_port(1, 0));
    snprintf(cmd, sizeof cmd, "mkdir -p %s", s_c.dir);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
    ck_assert_int_eq(s_write_config(), 0);
    s_c.router_a = s_spawn("services/router/lyceum-router", "router-a", NULL, NULL);
    s_c.router_b = s_spawn_router_b();
    s_c.others[s_c.n_others++] =
        s_spawn("services/evaluator/lyceum-evaluator", "evaluator", NULL, NULL);
    s_c.others[s_c.n_others++] =
        s_spawn("services/worker/lyceum-worker", "supervisor#0", "supervisor", "supervisor#0");
    s_c.others[s_c.n_others++] =
        s_spawn("services/worker/lyceum-worker", "teacher#0", "teacher", "teacher#0");
    s_c.others[s_c.n_others++] =
        s_spawn("services/worker/lyceum-worker", "teacher#1", "teacher", "teacher#1");
    printf("two routers: %s and %s, logs in %s\n", s_c.a.url, s_c.b.url, s_c.dir);
    fflush(stdout);
}

static void s_teardown(void)
{
    for (int i = s_c.n_others - 1; i >= 0; i--)
        lyc_test_stop(s_c.others[i], SIGTERM, 40000);
    lyc_test_stop(s_c.router_a, SIGTERM, 10000);
    lyc_test_stop(s_c.router_b, SIGTERM, 10000);
}

START_TEST(test_either_router_can_go)
{
    s_setup();
    ck_assert_msg(s_wait_workers(s_c.a.url, 30000) == 0, "router A does not see every worker");
    ck_assert_msg(s_wait_workers(s_c.b.url, 30000) == 0, "router B does not see every worker");

    /* Both serve, with the same workers. */
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += s_ask(i % 2 ? &s_c.b : &s_c.a, i);
    ck_assert_int_eq(ok, 20);

    /* A dies while B serves a steady stream: B loses nothing. */
    s_stream_t stream = {.router = &s_c.b};
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, s_stream, &stream), 0);
    usleep(1000000);
    lyc_test_stop(s_c.router_a, SIGKILL, 5000);
    usleep(4000000); /* past the workers' liveness time-out for A */
    stream.stop = 1;
    pthread_join(thread, NULL);
    printf("router B served %d/%d queries while router A was killed\n", stream.ok, stream.sent);
    ck_assert_int_gt(stream.sent, 10);
    ck_assert_int_eq(stream.ok, stream.sent);
    ck_assert_msg(s_sees_workers(s_c.b.url), "router B lost workers when router A died");

    /* A comes back: the workers register with it again and it serves. */
    s_c.router_a = s_spawn("services/router/lyceum-router", "router-a", NULL, NULL);
    ck_assert_msg(s_wait_workers(s_c.a.url, 30000) == 0,
                  "the restarted router A did not get its workers back");
    ok = 0;
    for (int i = 0; i < 10; i++)
        ok += s_ask(&s_c.a, 100 + i);
    ck_assert_int_eq(ok, 10);

    /* B stops (as a pod would, SIGTERM) under load on A: A serves alone. */
    s_stream_t stream_a = {.router = &s_c.a};
    ck_assert_int_eq(pthread_create(&thread, NULL, s_stream, &stream_a), 0);
    usleep(1000000);
    ck_assert_int_eq(lyc_test_stop(s_c.router_b, SIGTERM, 10000), 0);
    s_c.router_b = -1;
    usleep(4000000);
    stream_a.stop = 1;
    pthread_join(thread, NULL);
    printf("router A served %d/%d queries while router B stopped\n", stream_a.ok, stream_a.sent);
    ck_assert_int_gt(stream_a.sent, 10);
    ck_assert_int_eq(stream_a.ok, stream_a.sent);
    ck_assert(s_sees_workers(s_c.a.url));
    s_teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("deploy_router_replicas");
    TCase *tc = tcase_create("router_replicas");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, test_either_router_can_go);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
