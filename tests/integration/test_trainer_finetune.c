/*
 * test_trainer_finetune.c - from winning answers to a live model version,
 * end to end, with the command dispatcher: the trainer turns winning
 * answers into train.jsonl / heldout.jsonl for the student, dispatches a
 * job once enough samples gathered, tests/data/trainer/fake_train.sh
 * "trains" a replay model, the candidate is registered, passes the quality
 * gate on the held-out questions (its parent does not) and goes live in the
 * registry, served by a worker the trainer starts. A model that answers
 * badly is rejected, and a training command that fails fails the job.
 */
#include "test_trainer_kit.h"

#include "apikeys.h"

#include <cjson/cJSON.h>

#define WAIT_MS 40000
#define QUERIES 9

/* The cluster file: a supervisor and a replay student that knows nothing
 * of the questions (its parent score is 0). */
static void s_init(kit_t *k, const char *mode, int spawn, const char *extra)
{
    char yaml[4096], script[512], student[256], data[256];
    lyc_test_source_path(script, sizeof script, "tests/data/trainer/fake_train.sh");
    snprintf(data, sizeof data, "/tmp/lyc-test-ft-%d", (int) getpid());
    snprintf(student, sizeof student, "%s-student.jsonl", data);
    ck_assert_int_eq(lyc_test_write_file(student, "{\"prompt\": \"unrelated\", \"answers\": "
                                                  "{\"stu\": {\"text\": \"x\"}}}\n"),
                     0);
    snprintf(yaml, sizeof yaml,
             "bus: {workers: \"tcp://127.0.0.1:9\", tasks: \"tcp://127.0.0.1:9\"}\n"
             "trainer:\n  http_listen: \"\"\n  commit_interval_ms: 300\n  trace_quiet_ms: 100\n"
             "  new_domains: false\n  data_dir: \"%s-data\"\n"
             "  finetune_min_samples: 6\n  holdout_every: 3\n  dispatcher: command\n"
             "  command: \"sh %s {data} {heldout} {output} {name} %s\"\n"
             "  job_timeout_ms: 20000\n  gate_min_score: 0.8\n  spawn_workers: %s\n%s"
             "models:\n  - {name: sup, backend: memory, role: supervisor}\n"
             "  - name: stu\n    backend: replay\n    price_in: 0.1\n"
             "    replay: {files: [\"%s\"], format: jsonl, unknown: abstain}\n",
             data, script, mode, spawn ? "true" : "false", extra ? extra : "", student);
    kit_init(k, "lyc-test-ft", yaml);
}

/* Stops everything and removes the data directory and the student's file. */
static void s_fini(kit_t *k)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%.*s-student.jsonl'", k->config.data_dir,
             (int) (strlen(k->config.data_dir) - strlen("-data")), k->config.data_dir);
    kit_fini(k);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
}

/* QUERIES recorded queries of domain geo, won by the supervisor. */
static void s_stream(kit_t *k)
{
    for (int i = 0; i < QUERIES; i++) {
        char trace[LYC_ID_LEN], key[256], question[64], answer[64];
        lyc_id_new(trace);
        snprintf(key, sizeof key, "%s:{acme}:rec:%s", k->prefix, trace);
        snprintf(question, sizeof question, "What is the capital of country %d?", i);
        snprintf(answer, sizeof answer, "City %d", i);
        const char *hset[] = {"HSET",   key,   "question", question, "answer", answer,
                              "winner", "sup", "domain",   "geo",    "score",  "1.0"};
        freeReplyObject(lyc_redis_command(k->redis, 12, hset, NULL));
        kit_event_t sup = {.trace = trace,
                           .domain = "geo",
                           .model = "sup",
                           .score = 1.0,
                           .supervisor = 1,
                           .winner = 1};
        kit_event_t stu = {.trace = trace, .domain = "geo", .model = "stu", .score = 0.2};
        kit_send(k, &sup);
        kit_send(k, &stu);
    }
    kit_flush(k);
}

/* Waits for the first job to reach a final state; its id into job_id. */
static const char *s_wait_job(kit_t *k, char *job_id, size_t cap, char *state, size_t scap)
{
    char index[128], key[256];
    snprintf(index, sizeof index, "%s:jobs:index", k->prefix);
    int64_t deadline = lyc_mono_us() + WAIT_MS * 1000LL;
    while (lyc_mono_us() < deadline) {
        const char *argv[] = {"ZRANGE", index, "0", "0"};
        redisReply *r = lyc_redis_command(k->redis, 4, argv, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            snprintf(job_id, cap, "%s", r->element[0]->str);
            snprintf(key, sizeof key, "%s:jobs:%s", k->prefix, job_id);
            kit_hget_str(k, key, "state", state, scap);
            if (strcmp(state, "GATED") == 0 || strcmp(state, "REJECTED") == 0 ||
                strcmp(state, "FAILED") == 0) {
                freeReplyObject(r);
                return state;
            }
        }
        freeReplyObject(r);
        kit_sleep_ms(50);
    }
    return "timeout";
}

static cJSON *s_entry(kit_t *k, const char *model)
{
    char key[128], buf[16384];
    snprintf(key, sizeof key, "%s:registry", k->prefix);
    kit_hget_str(k, key, model, buf, sizeof buf);
    cJSON *entry = cJSON_Parse(buf);
    ck_assert_msg(entry != NULL, "no registry entry for %s", model);
    return entry;
}

static int s_lines(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "exit $(wc -l < '%s')", path);
    return lyc_test_sh(cmd);
}

/* Waits until path contains needle. */
static int s_wait_text(const char *path, const char *needle, int timeout_ms)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q '%s' '%s' 2>/dev/null", needle, path);
    int64_t deadline = lyc_mono_us() + timeout_ms * 1000LL;
    while (lyc_mono_us() < deadline) {
        if (lyc_test_sh(cmd) == 0)
            return 0;
        kit_sleep_ms(100);
    }
    return -1;
}

START_TEST(test_good_model_goes_live)
{
    kit_t k;
    char job[64], state[32], key[256], buf[512], path[512];
    s_init(&k, "good", 1, NULL);
    setenv("LYCEUM_WORKER_LOG_LEVEL", "info", 1); /* the spawned worker says what it loaded */
    kit_start(&k);
    s_stream(&k);
    ck_assert_str_eq(s_wait_job(&k, job, sizeof job, state, sizeof state), "GATED");
    snprintf(key, sizeof key, "%s:jobs:%s", k.prefix, job);
    ck_assert_str_eq(kit_hget_str(&k, key, "student_model", buf, sizeof buf), "stu");
    ck_assert_str_eq(kit_hget_str(&k, key, "dispatcher", buf, sizeof buf), "command");
    ck_assert_double_eq_tol(kit_hget(&k, key, "gate_score"), 1.0, 1e-9);
    ck_assert_double_eq_tol(kit_hget(&k, key, "parent_score"), 0.0, 1e-9);
    ck_assert_double_eq_tol(kit_hget(&k, key, "samples"), 6, 1e-9);
    const char *model = kit_hget_str(&k, key, "result_model", buf, sizeof buf);
    ck_assert_str_eq(model, "stu-geo-v1");

    cJSON *entry = s_entry(&k, "stu-geo-v1");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(entry, "active")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(entry, "candidate")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(entry, "parent_model")), "stu");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(entry, "backend")), "replay");
    ck_assert_double_eq_tol(cJSON_GetNumberValue(cJSON_GetObjectItem(entry, "price_in_per_mtok")),
                            0.1, 1e-9); /* inherited from the parent */
    const char *cluster = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "cluster_file"));
    ck_assert(cluster && *cluster);
    /* It is served with the system prompt its samples were trained with. */
    snprintf(buf, sizeof buf,
             "grep -q 'system_prompt: \"You are an expert assistant for "
             "{domain} questions' '%s'",
             cluster);
    ck_assert_msg(lyc_test_sh(buf) == 0, "no trained-with system_prompt in %s", cluster);
    /* The worker the trainer started serves the new version from that file. */
    snprintf(path, sizeof path, "%s/models/stu-geo-v1.log", k.config.data_dir);
    ck_assert_msg(s_wait_text(path, "model stu-geo-v1 loaded", 15000) == 0,
                  "the worker did not load the model: see %s", path);
    cJSON_Delete(entry);

    /* The data sets: all nine samples, every third held out. */
    snprintf(path, sizeof path, "%s/stu/geo/train.jsonl", k.config.data_dir);
    ck_assert_int_eq(s_lines(path), 6);
    snprintf(path, sizeof path, "%s/stu/geo/heldout.jsonl", k.config.data_dir);
    ck_assert_int_eq(s_lines(path), 3);
    /* The supervisor wins: it is no student of its own answers. */
    snprintf(path, sizeof path, "%s/sup", k.config.data_dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    s_fini(&k);
}
END_TEST

START_TEST(test_bad_model_is_rejected)
{
    kit_t k;
    char job[64], state[32], key[256], buf[512];
    s_init(&k, "bad", 0, NULL);
    kit_start(&k);
    s_stream(&k);
    ck_assert_str_eq(s_wait_job(&k, job, sizeof job, state, sizeof state), "REJECTED");
    snprintf(key, sizeof key, "%s:jobs:%s", k.prefix, job);
    ck_assert_double_eq_tol(kit_hget(&k, key, "gate_score"), 0.0, 1e-9);
    ck_assert_ptr_nonnull(strstr(kit_hget_str(&k, key, "error", buf, sizeof buf), "below"));
    cJSON *entry = s_entry(&k, "stu-geo-v1");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(entry, "active")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(entry, "candidate")));
    cJSON_Delete(entry);
    s_fini(&k);
}
END_TEST

START_TEST(test_failed_command_fails_the_job)
{
    kit_t k;
    char job[64], state[32], key[256], buf[512];
    s_init(&k, "fail", 0, NULL);
    kit_start(&k);
    s_stream(&k);
    ck_assert_str_eq(s_wait_job(&k, job, sizeof job, state, sizeof state), "FAILED");
    snprintf(key, sizeof key, "%s:jobs:%s", k.prefix, job);
    ck_assert_ptr_nonnull(strstr(kit_hget_str(&k, key, "error", buf, sizeof buf), "status 1"));
    /* The pair is free for its next job. */
    snprintf(key, sizeof key, "%s:trainer:{stu}:data:geo", k.prefix);
    kit_sleep_ms(200);
    ck_assert_str_eq(kit_hget_str(&k, key, "job", buf, sizeof buf), "");
    s_fini(&k);
}
END_TEST

START_TEST(test_budget_stops_the_dispatch)
{
    /* The job would cost 5 USD; the paying tenant has 1 USD a day left. */
    kit_t k;
    char job[64], state[32], key[256], buf[512];
    s_init(&k, "good", 0, "  budget_tenant: acme\n  finetune_cost_usd: 5\n");
    kit_start(&k);
    const char *names[] = {"budget_day_usd"}, *values[] = {"1"};
    ck_assert_int_eq(lyc_tenant_set(k.redis, k.prefix, "acme", names, values, 1), 0);
    s_stream(&k);
    ck_assert_str_eq(s_wait_job(&k, job, sizeof job, state, sizeof state), "FAILED");
    snprintf(key, sizeof key, "%s:jobs:%s", k.prefix, job);
    ck_assert_ptr_nonnull(strstr(kit_hget_str(&k, key, "error", buf, sizeof buf), "budget"));
    s_fini(&k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_finetune");
    TCase *tc = tcase_create("finetune");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_good_model_goes_live);
    tcase_add_test(tc, test_bad_model_is_rejected);
    tcase_add_test(tc, test_failed_command_fails_the_job);
    tcase_add_test(tc, test_budget_stops_the_dispatch);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
