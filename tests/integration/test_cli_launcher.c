/*
 * test_cli_launcher.c - `lyceum up` on a small cluster (router, evaluator,
 * two replay workers and the memory student) in a temporary run dir, on
 * ports of its own and a unique Redis prefix so it never meets another
 * cluster; `ask` gets an answer, `status` shows the replicas, a second `up`
 * finds it running, `down` leaves no process behind.
 *
 * Needs the service binaries of the same build tree and the real Redis and
 * Kafka (LYCEUM_REDIS_URL, LYCEUM_KAFKA_BROKERS).
 */
#define _GNU_SOURCE /* asprintf */
#include "testkit.h"

#include <cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_OUT_MAX (256 * 1024)

static char s_run_dir[256];
static char s_cluster[300];
static char s_lyceum_bin[1024];

/* The test cluster: ports and a Redis prefix of its own. */
#define S_CLUSTER_FMT                                                                              \
    "redis: {url: \"%s\", prefix: \"%s\"}\n"                                                       \
    "kafka: {brokers: \"%s\", spool_dir: \"${LYCEUM_RUN_DIR}/spool\"}\n"                           \
    "bus: {workers: \"tcp://127.0.0.1:15701\", tasks: \"tcp://127.0.0.1:15702\",\n"                \
    "      evaluator: \"tcp://127.0.0.1:15703\", clients: \"tcp://127.0.0.1:15700\"}\n"            \
    "router:\n"                                                                                    \
    "  http: {listen: \"127.0.0.1:18080\"}\n"                                                      \
    "  workers_bind: \"tcp://127.0.0.1:15701\"\n"                                                  \
    "  tasks_bind: \"tcp://127.0.0.1:15702\"\n"                                                    \
    "  clients_bind: \"tcp://127.0.0.1:15700\"\n"                                                  \
    "  eval_mode: reference\n"                                                                     \
    "  auth: open\n"                                                                               \
    "evaluator: {bind: \"tcp://127.0.0.1:15703\", mode: reference}\n"                              \
    "models:\n"                                                                                    \
    "  - name: alpha\n"                                                                            \
    "    backend: replay\n"                                                                        \
    "    role: supervisor\n"                                                                       \
    "    price_in: 10\n"                                                                           \
    "    price_out: 30\n"                                                                          \
    "    replay: {files: [\"${LYCEUM_RUN_DIR}/demo/demo.jsonl\"], format: jsonl,\n"                \
    "             column: supervisor, unknown: simulate}\n"                                        \
    "  - name: beta\n"                                                                             \
    "    backend: replay\n"                                                                        \
    "    role: student\n"                                                                          \
    "    replay: {files: [\"${LYCEUM_RUN_DIR}/demo/demo.jsonl\"], format: jsonl,\n"                \
    "             column: student, unknown: simulate}\n"                                           \
    "  - {name: memory, backend: memory}\n"                                                        \
    "demo: {servers: external, queries: 40, seed: 5}\n"

/* Runs `lyceum <args>` with the test's run dir; returns its exit status and
 * its output (stdout and stderr) in a new string. */
static int s_lyceum(const char *args, char **output)
{
    char command[2048];
    snprintf(command, sizeof command, "LYCEUM_RUN_DIR='%s' '%s' %s 2>&1", s_run_dir, s_lyceum_bin,
             args);
    FILE *p = popen(command, "r");
    ck_assert_ptr_nonnull(p);
    char *text = calloc(1, S_OUT_MAX + 1);
    size_t n = fread(text, 1, S_OUT_MAX, p);
    text[n] = '\0';
    int status = pclose(p);
    fprintf(stderr, "$ lyceum %s\n%s", args, text);
    *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The pids in <run>/pids, into pids[0..cap); returns how many. */
static size_t s_pids(int *pids, size_t cap)
{
    char command[512];
    snprintf(command, sizeof command, "cat '%s'/pids/*.pid 2>/dev/null", s_run_dir);
    FILE *p = popen(command, "r");
    size_t n = 0;
    while (p && n < cap && fscanf(p, "%d", &pids[n]) == 1)
        n++;
    if (p)
        pclose(p);
    return n;
}

static void s_setup(void)
{
    char prefix[64], exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(len, 0);
    exe[len] = '\0';
    snprintf(s_lyceum_bin, sizeof s_lyceum_bin, "%s/../services/cli/lyceum", dirname(exe));
    snprintf(s_run_dir, sizeof s_run_dir, "/tmp/lyceum-cli-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_run_dir));
    snprintf(s_cluster, sizeof s_cluster, "%s.yaml", s_run_dir);
    char *text = NULL;
    ck_assert_int_gt(asprintf(&text, S_CLUSTER_FMT, lyc_test_redis_url(),
                              lyc_test_unique(prefix, sizeof prefix, "lyc-cli-test"),
                              lyc_test_kafka_brokers()),
                     0);
    ck_assert_int_eq(lyc_test_write_file(s_cluster, text), 0);
    free(text);
    unsetenv("LYCEUM_URL");
}

static void s_teardown(void)
{
    char *out = NULL;
    s_lyceum("down", &out);
    free(out);
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s' '%s'", s_run_dir, s_cluster);
    lyc_test_sh(command);
}

START_TEST(test_up_ask_status_down)
{
    char *out = NULL, args[600];
    snprintf(args, sizeof args, "up -c '%s' --timeout 60", s_cluster);
    ck_assert_int_eq(s_lyceum(args, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "Lyceum is up at http://127.0.0.1:18080"));
    free(out);

    ck_assert_int_eq(s_lyceum("ask 'What is 2+2?'", &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "path:"));
    ck_assert_ptr_nonnull(strstr(out, "chosen:"));
    free(out);

    ck_assert_int_eq(s_lyceum("ask --json --domain arithmetic 'What is 3+4?'", &out), 0);
    cJSON *reply = cJSON_Parse(out);
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(reply, "lyceum"));
    cJSON_Delete(reply);
    free(out);

    ck_assert_int_eq(s_lyceum("status", &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "alpha                1/1"));
    ck_assert_ptr_nonnull(strstr(out, "beta                 1/1"));
    ck_assert_ptr_nonnull(strstr(out, "worker-memory-0"));
    free(out);

    ck_assert_int_eq(s_lyceum(args, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "already running"));
    free(out);

    int pids[32];
    size_t n = s_pids(pids, 32);
    ck_assert_uint_ge(n, 5);
    ck_assert_int_eq(s_lyceum("down", &out), 0);
    free(out);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/cmdline", pids[i]);
        FILE *f = fopen(path, "r"); /* gone, or a zombie waiting for init */
        char cmd[64] = "";
        if (f) {
            size_t got = fread(cmd, 1, sizeof cmd - 1, f);
            cmd[got] = '\0';
            fclose(f);
        }
        ck_assert_msg(!strstr(cmd, "lyceum-"), "pid %d (%s) still runs after down", pids[i], cmd);
    }

    ck_assert_int_eq(s_lyceum("status", &out), 3);
    free(out);
    ck_assert_int_eq(s_lyceum("ask 'still there?'", &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "Lyceum is not running"));
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli_launcher");
    TCase *tc = tcase_create("launcher");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_up_ask_status_down);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
