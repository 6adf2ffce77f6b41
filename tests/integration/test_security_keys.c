/*
 * test_security_keys.c - API keys on the HTTP front door, with the real
 * router, evaluator and workers, and keys made by the real `lyceum keys`:
 * no key, a wrong key and a revoked key get 401 error objects; a key of
 * one tenant naming another gets 403; a key sees only its tenant's data;
 * the rate limits answer 429 with Retry-After; keys are stored hashed and
 * never logged; the router refuses to run open off loopback.
 */
#define _GNU_SOURCE /* memmem */
#include "testkit.h"

#include "cluster_kit.h"

#include "apikeys.h"
#include "redis.h"

#include <cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static lyc_kit_t s_kit;

static const char *s_data =
    "{\"prompt\":\"What is the capital of France?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Paris.\"},"
    "\"student\":{\"correct\":false,\"text\":\"Lyon\"}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {"student", "replay", "student", 0.1, 0.2, 1, 0},
    {"memory", "memory", "student", 0, 0, 1, 0},
};

static void s_cluster_up(void)
{
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = sizeof s_models / sizeof s_models[0],
                        .router_extra = "  learning_sample: 0\n",
                        .auth_required = 1};
    ck_assert_int_eq(lyc_kit_start_opts(&s_kit, &o), 0);
    setenv("LYCEUM_REDIS_PREFIX", s_kit.prefix, 1); /* for `lyceum keys` */
}

static void s_cluster_down(void)
{
    lyc_kit_stop(&s_kit);
}

/* Runs `lyceum keys ARGS`; its first stdout line into out. Returns the exit status. */
static int s_keys(char *out, size_t cap, const char *fmt, ...)
{
    char bin[512], args[512], cmd[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    lyc_test_binary(bin, sizeof bin, "services/cli/lyceum");
    snprintf(cmd, sizeof cmd, "%s keys %s 2>/dev/null", bin, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    if (fgets(out, (int) cap, p))
        out[strcspn(out, "\n")] = '\0';
    char sink[512];
    while (fgets(sink, sizeof sink, p))
        ;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A new key of tenant via the CLI, into key (LYC_APIKEY_LEN + 1). */
static void s_new_key(char *key, const char *tenant, const char *extra)
{
    ck_assert_int_eq(s_keys(key, LYC_APIKEY_LEN + 1, "create --tenant %s %s", tenant, extra), 0);
    ck_assert(lyc_apikey_well_formed(key));
}

static int s_ask(const char *key, const char *tenant, const char *question, cJSON **reply)
{
    lyc_kit_ask_t ask = {.key = key, .tenant = tenant, .user = "ann", .domain = "geo"};
    return lyc_kit_ask(&s_kit, &ask, question, reply, NULL);
}

/* The error object of a reply: {"error": {"message", "type", "param", "code"}}. */
static void s_assert_error(const cJSON *r, const char *type, const char *code)
{
    const cJSON *e = cJSON_GetObjectItem(r, "error");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(lyc_kit_str(e, "type", NULL), type);
    ck_assert_str_eq(lyc_kit_str(e, "code", NULL), code);
    ck_assert(strlen(lyc_kit_str(e, "message", NULL)) > 0);
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(e, "param"));
}

static int s_get(const char *path, const char *key, char **body)
{
    char url[200];
    snprintf(url, sizeof url, "%s%s", s_kit.url, path);
    return lyc_kit_http("GET", url, key, NULL, body, NULL);
}

START_TEST(test_no_key_or_a_wrong_one_gets_401)
{
    cJSON *r = NULL;
    ck_assert_int_eq(s_ask(NULL, NULL, "What is the capital of France?", &r), 401);
    s_assert_error(r, "invalid_request_error", "missing_api_key");
    cJSON_Delete(r);
    char wrong[LYC_APIKEY_LEN + 1];
    lyc_apikey_generate(wrong); /* well formed, never stored */
    const char *bad[] = {wrong, "sk-unused-on-loopback", "lyc_short"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(s_ask(bad[i], NULL, "What is the capital of France?", &r), 401);
        s_assert_error(r, "invalid_request_error", "invalid_api_key");
        cJSON_Delete(r);
    }
    ck_assert_int_eq(s_get("/v1/models", NULL, NULL), 401);
    ck_assert_int_eq(s_get("/v1/models", s_kit.api_key, NULL), 200);
    char url[200];
    snprintf(url, sizeof url, "%s/v1/lyceum/feedback", s_kit.url);
    ck_assert_int_eq(
        lyc_kit_http("POST", url, NULL, "{\"trace_id\":\"x\",\"rating\":\"up\"}", NULL, NULL), 401);
    /* health and metrics stay open */
    ck_assert_int_eq(s_get("/healthz", NULL, NULL), 200);
    ck_assert_int_eq(s_get("/metrics", NULL, NULL), 200);
}
END_TEST

START_TEST(test_revoked_key_gets_401)
{
    char key[LYC_APIKEY_LEN + 1], hash[LYC_APIKEY_HASH_HEX + 1], id[LYC_APIKEY_ID_LEN + 1];
    char line[512];
    cJSON *r = NULL;
    s_new_key(key, "revoked-co", "--name temp");
    lyc_apikey_hash(key, hash, id);
    ck_assert_int_eq(s_ask(key, NULL, "What is the capital of France?", &r), 200);
    cJSON_Delete(r);
    ck_assert_int_eq(s_keys(line, sizeof line, "revoke %s", id), 0);
    ck_assert_int_eq(s_keys(line, sizeof line, "revoke 00000000"), 1);
    usleep(1200 * 1000); /* routers cache a key for at most a second */
    ck_assert_int_eq(s_ask(key, NULL, "What is the capital of France?", &r), 401);
    s_assert_error(r, "invalid_request_error", "invalid_api_key");
    cJSON_Delete(r);
    /* still listed, as revoked, and never with the key itself */
    ck_assert_int_eq(s_keys(line, sizeof line, "list --tenant revoked-co --json"), 0);
    cJSON *k = cJSON_Parse(line);
    ck_assert_str_eq(lyc_kit_str(k, "id", NULL), id);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(k, "revoked")));
    ck_assert_ptr_null(strstr(line, key));
    cJSON_Delete(k);
}
END_TEST

START_TEST(test_key_of_one_tenant_cannot_act_for_another)
{
    char alpha[LYC_APIKEY_LEN + 1], bravo[LYC_APIKEY_LEN + 1], body[256], url[200];
    cJSON *r = NULL;
    s_new_key(alpha, "alpha", "");
    s_new_key(bravo, "bravo", "");
    ck_assert_int_eq(s_ask(alpha, "bravo", "What is the capital of France?", &r), 403);
    s_assert_error(r, "permission_error", "tenant_mismatch");
    cJSON_Delete(r);
    /* naming its own tenant is fine; the reply is alpha's */
    ck_assert_int_eq(s_ask(alpha, "alpha", "What is the capital of France?", &r), 200);
    char trace[64];
    snprintf(trace, sizeof trace, "%s", lyc_kit_str(r, "lyceum", "trace_id"));
    cJSON_Delete(r);
    /* bravo sees nothing of alpha's: alpha's trace is unknown to it */
    snprintf(url, sizeof url, "%s/v1/lyceum/feedback", s_kit.url);
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\",\"rating\":\"up\"}", trace);
    ck_assert_int_eq(lyc_kit_http("POST", url, bravo, body, NULL, NULL), 404);
    snprintf(body, sizeof body,
             "{\"trace_id\":\"%s\",\"rating\":\"up\",\"metadata\":{\"tenant\":\"alpha\"}}", trace);
    ck_assert_int_eq(lyc_kit_http("POST", url, bravo, body, NULL, NULL), 403);
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\",\"rating\":\"up\"}", trace);
    ck_assert_int_eq(lyc_kit_http("POST", url, alpha, body, NULL, NULL), 200);
    /* and alpha's past query is not familiar to bravo */
    ck_assert_int_eq(s_ask(bravo, NULL, "What is the capital of France?", &r), 200);
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "novel");
    ck_assert_str_ne(lyc_kit_str(r, "lyceum", "chosen"), "memory");
    cJSON_Delete(r);
}
END_TEST

START_TEST(test_rate_limits_answer_429_with_retry_after)
{
    char key[LYC_APIKEY_LEN + 1];
    cJSON *r = NULL;
    long retry = 0;
    s_new_key(key, "limited", "--rpm 2");
    lyc_kit_ask_t ask = {.key = key, .domain = "geo"};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(lyc_kit_ask(&s_kit, &ask, "What is the capital of France?", &r, &retry),
                         200);
        cJSON_Delete(r);
    }
    ck_assert_int_eq(lyc_kit_ask(&s_kit, &ask, "What is the capital of France?", &r, &retry), 429);
    s_assert_error(r, "requests", "rate_limit_exceeded");
    ck_assert(retry >= 1 && retry <= 2 * 60); /* sliding: up to 1.5 windows */
    cJSON_Delete(r);
    /* tokens: 32 bytes of prompt are 8 tokens, + max_tokens 30 > 20 per minute */
    s_new_key(key, "limited", "--tpm 20");
    ask.max_tokens = 30;
    ck_assert_int_eq(lyc_kit_ask(&s_kit, &ask, "What is the capital of France?", &r, &retry), 429);
    s_assert_error(r, "tokens", "rate_limit_exceeded");
    cJSON_Delete(r);
    ask.max_tokens = 5;
    ck_assert_int_eq(lyc_kit_ask(&s_kit, &ask, "What is the capital of France?", &r, &retry), 200);
    cJSON_Delete(r);
}
END_TEST

/* 1 when some stored value or key name under the kit's prefix contains text. */
static int s_redis_holds(const char *text)
{
    lyc_redis_t *redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    char pattern[128];
    snprintf(pattern, sizeof pattern, "%s:keys:*", s_kit.prefix);
    const char *scan[] = {"KEYS", pattern};
    redisReply *keys = lyc_redis_command(redis, 2, scan, NULL);
    ck_assert_ptr_nonnull(keys);
    int found = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        const char *name = keys->element[i]->str;
        const char *dump[] = {"DUMP", name};
        redisReply *v = lyc_redis_command(redis, 2, dump, NULL);
        found |= strstr(name, text) != NULL ||
                 (v && v->type == REDIS_REPLY_STRING && memmem(v->str, v->len, text, strlen(text)));
        if (v)
            freeReplyObject(v);
    }
    ck_assert_uint_gt(keys->elements, 0);
    freeReplyObject(keys);
    lyc_redis_destroy(&redis);
    return found;
}

START_TEST(test_keys_are_stored_hashed_and_never_logged)
{
    char key[LYC_APIKEY_LEN + 1], hash[LYC_APIKEY_HASH_HEX + 1], id[LYC_APIKEY_ID_LEN + 1];
    char cmd[700];
    cJSON *r = NULL;
    s_new_key(key, "secretive", "");
    lyc_apikey_hash(key, hash, id);
    ck_assert_int_eq(s_ask(key, NULL, "What is the capital of France?", &r), 200);
    cJSON_Delete(r);
    ck_assert(!s_redis_holds(key));
    ck_assert(!s_redis_holds(key + 4)); /* not even without its prefix */
    ck_assert(s_redis_holds(hash));
    snprintf(cmd, sizeof cmd, "! grep -rqF -- '%s' %s", key + 4, s_kit.dir);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
}
END_TEST

/* Starts a router alone on listen with auth open; its exit status after
 * 3 s, or -2 while it still runs (then it is stopped). */
static int s_router_open_on(const char *listen, const char *extra, const char *log)
{
    char path[320], text[1024], bin[512];
    snprintf(path, sizeof path, "%s/open-%d.yaml", s_kit.dir, (int) getpid());
    int port = 17000 + (int) (getpid() % 1000) * 4;
    snprintf(text, sizeof text,
             "redis: {url: \"%s\", prefix: \"%s-open\"}\n"
             "kafka: {brokers: \"%s\", spool_dir: \"%s/spool-open\"}\n"
             "router:\n  auth: open\n%s  http: {listen: \"%s\"}\n"
             "  clients_bind: tcp://127.0.0.1:%d\n  workers_bind: tcp://127.0.0.1:%d\n"
             "  tasks_bind: tcp://127.0.0.1:%d\n",
             lyc_test_redis_url(), s_kit.prefix, lyc_test_kafka_brokers(), s_kit.dir, extra, listen,
             port, port + 1, port + 2);
    ck_assert_int_eq(lyc_test_write_file(path, text), 0);
    lyc_test_binary(bin, sizeof bin, "services/router/lyceum-router");
    char *argv[] = {bin, "-c", path, NULL};
    int pid = lyc_test_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    for (int waited = 0; waited < 3000; waited += 100) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(100000);
    }
    lyc_test_stop(pid, SIGTERM, 10000);
    return -2;
}

START_TEST(test_open_only_on_loopback)
{
    char log[320], cmd[800];
    int port = 17003 + (int) (getpid() % 1000) * 4;
    char listen[64];
    snprintf(log, sizeof log, "%s/open-anywhere.log", s_kit.dir);
    snprintf(listen, sizeof listen, "0.0.0.0:%d", port);
    ck_assert_int_ne(s_router_open_on(listen, "", log), -2);
    snprintf(cmd, sizeof cmd, "grep -q 'refusing to run OPEN without API keys' %s", log);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
    /* on loopback it runs, and says so */
    snprintf(log, sizeof log, "%s/open-loopback.log", s_kit.dir);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    ck_assert_int_eq(s_router_open_on(listen, "", log), -2);
    snprintf(cmd, sizeof cmd,
             "grep -q 'running OPEN without API keys on 127.0.0.1:%d (loopback only)' %s", port,
             log);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
    /* anywhere only when told so */
    snprintf(log, sizeof log, "%s/open-told.log", s_kit.dir);
    snprintf(listen, sizeof listen, "0.0.0.0:%d", port);
    ck_assert_int_eq(s_router_open_on(listen, "  auth_open_anywhere: true\n", log), -2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_keys");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_add_test(tc, test_no_key_or_a_wrong_one_gets_401);
    tcase_add_test(tc, test_revoked_key_gets_401);
    tcase_add_test(tc, test_key_of_one_tenant_cannot_act_for_another);
    tcase_add_test(tc, test_rate_limits_answer_429_with_retry_after);
    tcase_add_test(tc, test_keys_are_stored_hashed_and_never_logged);
    tcase_add_test(tc, test_open_only_on_loopback);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
