/*
 * test_security_bus.c - the bus under CurveZMQ, with the real router,
 * evaluator and workers and keys made by the real `lyceum keys bus`: a
 * worker with an authorized certificate registers and answers; a worker with
 * a valid but unauthorized certificate, and one without any key, never
 * register; a TASK sent to the router's task endpoint without an authorized
 * key is never answered, while an authorized one is; the router logs nothing
 * about the refused attempts. Also: a Redis password taken from a file
 * reaches the server (and is refused by this password-less one).
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "bus.h"
#include "bus_security.h"
#include "clock.h"
#include "redis.h"
#include "settings.h"

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a worker without the key is watched (ms). */
#define T_REFUSED_WINDOW_MS 5000

static lyc_kit_t s_kit;
static char s_keys[256];             /* what `lyceum keys bus` made */
static char s_rogue[300];            /* a valid certificate nobody authorized */
static int s_rogue_pid, s_nokey_pid; /* workers started without the key */
static int64_t s_refused_since_us;   /* when they started */
static long s_router_log_at_start;   /* size of router.log then */

static const char *s_data =
    "{\"prompt\":\"What is the capital of France?\",\"domain\":\"geo\",\"answers\":{"
    "\"answerer\":{\"correct\":true,\"text\":\"Paris.\"},"
    "\"intruder\":{\"correct\":false,\"text\":\"Lyon\"}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"answerer", "replay", "supervisor", 10, 30, 1, 0},
};
static const lyc_kit_model_t s_on_demand[] = {
    {"intruder", "replay", "student", 0.1, 0.2, 1, 0},
};

static long s_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long) st.st_size : 0;
}

/* Makes the keys with `lyceum keys bus` and a rogue certificate beside them. */
static int s_make_keys(void)
{
    char bin[512], cmd[1200], id[40];
    lyc_test_unique(id, sizeof id, "keys");
    snprintf(s_keys, sizeof s_keys, "/tmp/lyceum-%s", id);
    lyc_test_binary(bin, sizeof bin, "services/cli/lyceum");
    snprintf(cmd, sizeof cmd, "%s keys bus %s --clients 1 > %s.out", bin, s_keys, s_keys);
    if (lyc_test_sh(cmd) != 0)
        return -1;
    zcert_t *rogue = zcert_new();
    snprintf(s_rogue, sizeof s_rogue, "%s/rogue.cert", s_keys);
    int rc = rogue ? zcert_save(rogue, s_rogue) : -1;
    zcert_destroy(&rogue);
    snprintf(s_rogue, sizeof s_rogue, "%s/rogue.cert_secret", s_keys);
    return rc;
}

static void s_cluster_up(void)
{
    char bus[1024], env_rogue[400], log[320];
    ck_assert_int_eq(s_make_keys(), 0);
    snprintf(bus, sizeof bus,
             "  curve:\n    enabled: true\n    server_cert: %s/server.cert_secret\n"
             "    server_public: %s/server.cert\n    client_cert: %s/client-1.cert_secret\n"
             "    authorized: %s/authorized\n",
             s_keys, s_keys, s_keys, s_keys);
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = 1,
                        .router_extra = "  learning_sample: 0\n",
                        .bus_extra = bus,
                        .on_demand = s_on_demand,
                        .n_on_demand = 1};
    ck_assert_int_eq(lyc_kit_start_opts(&s_kit, &o), 0);
    snprintf(log, sizeof log, "%s/router.log", s_kit.dir);
    s_router_log_at_start = s_file_size(log);
    /* Two workers of the on-demand model that must never get in. */
    snprintf(env_rogue, sizeof env_rogue, "LYCEUM_BUS_CURVE_CLIENT_CERT=%s", s_rogue);
    const char *rogue_env[] = {env_rogue, NULL};
    const char *nokey_env[] = {"LYCEUM_BUS_CURVE_ENABLED=false", NULL};
    s_refused_since_us = lyc_mono_us();
    s_rogue_pid = lyc_kit_spawn_worker(&s_kit, "intruder", "intruder#rogue", rogue_env);
    s_nokey_pid = lyc_kit_spawn_worker(&s_kit, "intruder", "intruder#nokey", nokey_env);
    ck_assert_int_gt(s_rogue_pid, 0);
    ck_assert_int_gt(s_nokey_pid, 0);
}

static void s_cluster_down(void)
{
    char cmd[400];
    lyc_kit_stop(&s_kit);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.out", s_keys, s_keys);
    lyc_test_sh(cmd);
}

/* GET /healthz; the body (caller frees), NULL when the router does not answer. */
static char *s_healthz(void)
{
    char url[160], *body = NULL;
    snprintf(url, sizeof url, "%s/healthz", s_kit.url);
    if (lyc_kit_http("GET", url, NULL, NULL, &body, NULL) != 200) {
        free(body);
        return NULL;
    }
    return body;
}

/* 1 when /healthz lists model within ms (polling), 0 when it never does. */
static int s_listed_within(const char *model, int ms)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\"id\":\"%s\"", model);
    for (int waited = 0; waited <= ms; waited += 200) {
        char *body = s_healthz();
        int listed = body && strstr(body, needle);
        free(body);
        if (listed)
            return 1;
        usleep(200 * 1000);
    }
    return 0;
}

/* 1 while pid runs (a zombie counts as gone). */
static int s_running(int pid)
{
    char path[64], stat_line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char *got = fgets(stat_line, sizeof stat_line, f);
    fclose(f);
    const char *close = got ? strrchr(stat_line, ')') : NULL;
    return close && close[1] == ' ' && close[2] != 'Z';
}

START_TEST(test_authorized_worker_registers_and_answers)
{
    char *body = s_healthz();
    ck_assert_ptr_nonnull(body);
    ck_assert_msg(strstr(body, "\"id\":\"answerer\"") && strstr(body, "\"workers\":1"), "%s", body);
    free(body);
    cJSON *reply = NULL;
    int status = lyc_kit_chat(&s_kit, "What is the capital of France?", "geo", &reply);
    ck_assert_int_eq(status, 200);
    const cJSON *choices = cJSON_GetObjectItem(reply, "choices");
    const cJSON *first = cJSON_GetArrayItem(choices, 0);
    ck_assert_str_eq(lyc_kit_str(cJSON_GetObjectItem(first, "message"), "content", NULL), "Paris.");
    cJSON_Delete(reply);
}
END_TEST

START_TEST(test_workers_without_the_key_never_register)
{
    /* Watch for the whole window, counted from their start. */
    while (lyc_mono_us() - s_refused_since_us < (int64_t) T_REFUSED_WINDOW_MS * 1000) {
        char *body = s_healthz();
        ck_assert_ptr_nonnull(body);
        ck_assert_msg(!strstr(body, "intruder") && strstr(body, "\"workers\":1"),
                      "a worker without the key got in: %s", body);
        free(body);
        usleep(200 * 1000);
    }
    /* They did not give up: they still run and keep trying. */
    ck_assert_msg(s_running(s_rogue_pid), "the worker with the unauthorized key exited");
    ck_assert_msg(s_running(s_nokey_pid), "the worker without a key exited");

    /* The same model with the authorized key gets in: the key was all that was missing. */
    int pid = lyc_kit_spawn_worker(&s_kit, "intruder", "intruder#good", NULL);
    ck_assert_int_gt(pid, 0);
    int listed = s_listed_within("intruder", 10000);
    lyc_test_stop(pid, SIGTERM, 10000);
    ck_assert_msg(listed, "the authorized worker of the same model did not register");
}
END_TEST

/* A DEALER to the router's task endpoint, secured by sec (NULL: plain), that
 * sends one TASK for model answerer with task_id. */
static zsock_t *s_send_task(const lyc_bus_security_t *sec, const char *task_id)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    ck_assert_ptr_nonnull(sock);
    lyc_bus_socket_setup(sock);
    zsock_set_linger(sock, 0);
    ck_assert_int_eq(lyc_bus_security_client(sec, sock), 0);
    ck_assert_int_eq(zsock_connect(sock, "tcp://127.0.0.1:%d", s_kit.base + 2), 0);
    Lyceum__V1__ChatMessage msg = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *messages[] = {&msg};
    msg.role = "user";
    msg.content = "What is the capital of France?";
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = (char *) task_id;
    task.trace_id = (char *) task_id;
    task.model = "answerer";
    task.n_messages = 1;
    task.messages = messages;
    task.deadline_ms = 3000;
    ck_assert_int_eq(lyc_bus_send(sock, NULL, LYCEUM__V1__MESSAGE_TYPE__TASK, task_id, &task.base),
                     0);
    return sock;
}

/* Settings that use certificate `client` (a path) as this process's key. */
static lyc_bus_security_t *s_client_security(const char *client)
{
    char server_public[300], err[512];
    lyc_settings_t s;
    memset(&s, 0, sizeof s);
    snprintf(server_public, sizeof server_public, "%s/server.cert", s_keys);
    s.bus_curve_enabled = 1;
    s.bus_curve_client_cert = (char *) client;
    s.bus_curve_server_public = server_public;
    lyc_bus_security_t *sec = lyc_bus_security_new(&s, LYC_BUS_SECURITY_CLIENT, err, sizeof err);
    ck_assert_msg(sec != NULL, "%s", err);
    return sec;
}

START_TEST(test_tasks_need_an_authorized_key)
{
    char client[300];
    snprintf(client, sizeof client, "%s/client-1.cert_secret", s_keys);
    lyc_bus_security_t *good = s_client_security(client);
    lyc_bus_security_t *rogue = s_client_security(s_rogue);
    zsock_t *plain = s_send_task(NULL, "task-plain");
    zsock_t *wrong = s_send_task(rogue, "task-rogue");
    zsock_t *right = s_send_task(good, "task-good");
    zpoller_t *poller = zpoller_new(plain, wrong, right, NULL);
    int answered = 0;
    /* Past the task's deadline, so even a time-out reply would have come. */
    int64_t until = lyc_mono_us() + 4500 * 1000;
    while (lyc_mono_us() < until) {
        zsock_t *which = zpoller_wait(poller, 100);
        if (!which)
            continue;
        ck_assert_msg(which == right, "a TASK without an authorized key was answered");
        lyc_bus_msg_t msg;
        ck_assert_int_eq(lyc_bus_recv(right, &msg), 1);
        ck_assert_int_eq(msg.env.type, LYCEUM__V1__MESSAGE_TYPE__ANSWER);
        const Lyceum__V1__Answer *a = (const Lyceum__V1__Answer *) msg.env.payload;
        ck_assert_str_eq(a->task_id, "task-good");
        ck_assert_str_eq(a->content, "Paris.");
        lyc_bus_msg_clear(&msg);
        answered++;
    }
    ck_assert_int_eq(answered, 1);
    zpoller_destroy(&poller);
    zsock_destroy(&plain);
    zsock_destroy(&wrong);
    zsock_destroy(&right);
    lyc_bus_security_destroy(&good);
    lyc_bus_security_destroy(&rogue);
}
END_TEST

START_TEST(test_router_logs_nothing_per_refused_attempt)
{
    /* By now the two refused workers have tried for seconds, and the plain
     * and rogue TASK senders have come and gone. */
    char path[320], line[2048];
    snprintf(path, sizeof path, "%s/router.log", s_kit.dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, s_router_log_at_start, SEEK_SET), 0);
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        ck_assert_msg(!strstr(line, "\"level\":\"error\"") && !strstr(line, "\"level\":\"warn\"") &&
                          !strstr(line, "intruder#rogue") && !strstr(line, "intruder#nokey"),
                      "router logged: %s", line);
    }
    fclose(f);
    ck_assert_int_lt(lines, 20);
}
END_TEST

START_TEST(test_redis_password_comes_from_a_file)
{
    char path[320];
    snprintf(path, sizeof path, "%s/redis.pw", s_keys);
    ck_assert_int_eq(lyc_test_write_file(path, "not-the-password\n"), 0);
    lyc_secret_source_t src = {"redis.password_env", NULL, "redis.password_file", path};
    ck_assert_int_eq(lyc_redis_set_password_source(&src), 0);
    /* This test server has no password: an AUTH is refused, so a NULL shows it was sent. */
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_null(redis);
    src.file = "/nonexistent/redis.pw";
    ck_assert_int_eq(lyc_redis_set_password_source(&src), 0);
    ck_assert_ptr_null(lyc_redis_new(lyc_test_redis_url(), 2000));
    ck_assert_int_eq(lyc_redis_set_password_source(NULL), 0);
    redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(redis);
    lyc_redis_destroy(&redis);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_bus");
    TCase *tc = tcase_create("bus");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_add_test(tc, test_authorized_worker_registers_and_answers);
    tcase_add_test(tc, test_workers_without_the_key_never_register);
    tcase_add_test(tc, test_tasks_need_an_authorized_key);
    tcase_add_test(tc, test_router_logs_nothing_per_refused_attempt);
    tcase_add_test(tc, test_redis_password_comes_from_a_file);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
