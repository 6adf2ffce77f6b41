/*
 * test_worker_openai.c - the openai backend against a local OpenAI-compatible
 * server (libmicrohttpd, in this process): the request's shape, retries on
 * 429 and 5xx, giving up after max_retries, no retry on other 4xx, the
 * deadline, garbage replies, usage and cost.
 */
#include "testkit.h"

#include "backend.h"
#include "caller.h"
#include "clock.h"
#include "settings.h"

#include <cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the fake server ---------------------------------------------------- */

#define S_MAX_SCRIPT 8

typedef struct {
    unsigned status;
    const char *body;
    int delay_ms;
} s_reply_t;

/* What the server answers, in order (the last entry repeats), and what it saw. */
static struct {
    pthread_mutex_t lock;
    s_reply_t script[S_MAX_SCRIPT];
    int script_len;
    int requests;
    char path[256];
    char auth[256];
    char *body; /* last request body */
} s_server = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct MHD_Daemon *s_daemon;
static int s_port;

static const char *s_ok_body =
    "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
    "\"The answer is B.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,"
    "\"completion_tokens\":500,\"total_tokens\":1500}}";

static void s_script(int n, const s_reply_t *replies)
{
    pthread_mutex_lock(&s_server.lock);
    memcpy(s_server.script, replies, (size_t) n * sizeof *replies);
    s_server.script_len = n;
    s_server.requests = 0;
    s_server.path[0] = s_server.auth[0] = '\0';
    free(s_server.body);
    s_server.body = NULL;
    pthread_mutex_unlock(&s_server.lock);
}

static int s_requests(void)
{
    pthread_mutex_lock(&s_server.lock);
    int n = s_server.requests;
    pthread_mutex_unlock(&s_server.lock);
    return n;
}

typedef struct {
    char *data;
    size_t len;
} s_upload_t;

/* Records the finished request and picks the scripted reply. */
static s_reply_t s_record(const char *url, struct MHD_Connection *conn, s_upload_t *up)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&s_server.lock);
    snprintf(s_server.path, sizeof s_server.path, "%s", url);
    snprintf(s_server.auth, sizeof s_server.auth, "%s", auth ? auth : "");
    free(s_server.body);
    s_server.body = up->data;
    up->data = NULL;
    int i = s_server.requests < s_server.script_len ? s_server.requests : s_server.script_len - 1;
    s_reply_t reply = s_server.script[i];
    s_server.requests++;
    pthread_mutex_unlock(&s_server.lock);
    return reply;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *data_size, void **state)
{
    s_upload_t *up = *state;
    if (!up) {
        *state = calloc(1, sizeof *up);
        return *state ? MHD_YES : MHD_NO;
    }
    if (*data_size > 0) {
        char *grown = realloc(up->data, up->len + *data_size + 1);
        if (!grown)
            return MHD_NO;
        memcpy(grown + up->len, data, *data_size);
        up->len += *data_size;
        grown[up->len] = '\0';
        up->data = grown;
        *data_size = 0;
        return MHD_YES;
    }
    s_reply_t reply = s_record(url, conn, up);
    if (reply.delay_ms > 0)
        usleep((useconds_t) reply.delay_ms * 1000);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(reply.body), (void *) reply.body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, reply.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **state,
                        enum MHD_RequestTerminationCode code)
{
    s_upload_t *up = *state;
    if (up) {
        free(up->data);
        free(up);
    }
    *state = NULL;
}

static void s_server_start(void)
{
    s_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, s_handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    ck_assert_ptr_nonnull(s_daemon);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s_daemon, MHD_DAEMON_INFO_BIND_PORT);
    s_port = info->port;
}

static void s_server_stop(void)
{
    MHD_stop_daemon(s_daemon);
    s_daemon = NULL;
    free(s_server.body);
    s_server.body = NULL;
}

/* ---- the backend under test ------------------------------------------- */

typedef struct {
    lyc_confdoc_t *doc;
    lyc_settings_t settings;
    lyc_model_config_t model;
    lyc_backend_env_t *env;
    lyc_caller_t *caller;
} s_fixture_t;

/* An openai model at the fake server; extra is more YAML under the model. */
static int s_open(s_fixture_t *f, const char *extra, char *err, size_t errcap)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "models:\n"
             "  - name: gpt-test\n"
             "    backend: openai\n"
             "    price_in: 2.5\n"
             "    price_out: 10\n"
             "    openai:\n"
             "      base_url: http://127.0.0.1:%d/v1/\n"
             "      model: served-name\n"
             "%s",
             s_port, extra);
    memset(f, 0, sizeof *f);
    lyc_confdoc_t *defaults = lyc_settings_load(NULL, NULL, &f->settings, err, errcap);
    ck_assert_ptr_nonnull(defaults);
    lyc_confdoc_destroy(&defaults);
    f->doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, errcap);
    ck_assert_msg(f->doc != NULL, "%s", err);
    ck_assert_msg(lyc_model_config_load(f->doc, 0, &f->model, err, errcap) == 0, "%s", err);
    f->env = lyc_backend_env_new(&f->model, &f->settings, NULL, err, errcap);
    if (!f->env)
        return -1;
    f->caller = lyc_caller_new(f->env, "w-test");
    ck_assert_ptr_nonnull(f->caller);
    return 0;
}

static void s_close(s_fixture_t *f)
{
    lyc_caller_destroy(&f->caller);
    lyc_backend_env_destroy(&f->env);
    lyc_model_config_free(&f->model);
    lyc_settings_free(&f->settings);
    lyc_confdoc_destroy(&f->doc);
}

/* Calls the model with a fixed conversation; deadline in ms. */
static void s_call(s_fixture_t *f, uint32_t deadline_ms, lyc_answer_t *out)
{
    Lyceum__V1__ChatMessage sys = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    sys.role = "system";
    sys.content = "Be brief.";
    user.role = "user";
    user.content = "Which option, \"A\" or B?";
    Lyceum__V1__ChatMessage *messages[] = {&sys, &user};
    Lyceum__V1__Exemplar ex = LYCEUM__V1__EXEMPLAR__INIT;
    ex.question = "Which option, C or D?";
    ex.answer = "D.";
    Lyceum__V1__Exemplar *exemplars[] = {&ex};
    static Lyceum__V1__Task task;
    lyceum__v1__task__init(&task);
    task.task_id = "task-1";
    task.trace_id = "trace-1";
    task.domain = "geo";
    task.messages = messages;
    task.n_messages = 2;
    task.exemplars = exemplars;
    task.n_exemplars = 1;
    task.max_tokens = 64;
    task.temperature = 0.25;
    task.temperature_set = 1;
    task.deadline_ms = deadline_ms;
    lyceum__v1__answer__init(out);
    lyc_caller_answer(f->caller, &task, lyc_mono_us(), out);
    /* The Answer borrows task_id/trace_id from the task; check them now. */
    ck_assert_str_eq(out->task_id, "task-1");
    ck_assert_str_eq(out->trace_id, "trace-1");
    ck_assert_str_eq(out->model, "gpt-test");
    ck_assert_str_eq(out->worker_id, "w-test");
}

START_TEST(test_request_shape_usage_and_cost)
{
    char err[512];
    s_fixture_t f;
    setenv("LYC_TEST_OPENAI_KEY", "sk-test-123", 1);
    ck_assert_msg(s_open(&f, "      api_key_env: LYC_TEST_OPENAI_KEY\n", err, sizeof err) == 0,
                  "%s", err);
    s_reply_t ok[] = {{200, s_ok_body, 0}};
    s_script(1, ok);
    lyc_answer_t a;
    s_call(&f, 5000, &a);
    ck_assert_msg(a.error == NULL, "%s", a.error ? a.error->message : "");
    ck_assert_str_eq(a.content, "The answer is B.");
    ck_assert_uint_eq(a.usage->prompt_tokens, 1000);
    ck_assert_uint_eq(a.usage->completion_tokens, 500);
    ck_assert_double_eq_tol(a.cost_usd, (1000 * 2.5 + 500 * 10.0) / 1e6, 1e-12);
    ck_assert(!a.simulated);
    lyc_answer_release(&a);

    ck_assert_int_eq(s_requests(), 1);
    ck_assert_str_eq(s_server.path, "/v1/chat/completions");
    ck_assert_str_eq(s_server.auth, "Bearer sk-test-123");
    cJSON *body = cJSON_Parse(s_server.body);
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(cJSON_GetObjectItem(body, "model")->valuestring, "served-name");
    ck_assert_int_eq(cJSON_GetObjectItem(body, "max_tokens")->valueint, 64);
    ck_assert_double_eq_tol(cJSON_GetObjectItem(body, "temperature")->valuedouble, 0.25, 1e-9);
    cJSON *messages = cJSON_GetObjectItem(body, "messages");
    ck_assert_int_eq(cJSON_GetArraySize(messages), 3);
    /* The system prompt first, then the exemplars, then the question. */
    cJSON *m0 = cJSON_GetArrayItem(messages, 0), *m1 = cJSON_GetArrayItem(messages, 1);
    cJSON *m2 = cJSON_GetArrayItem(messages, 2);
    ck_assert_str_eq(cJSON_GetObjectItem(m0, "content")->valuestring, "Be brief.");
    ck_assert_str_eq(cJSON_GetObjectItem(m1, "role")->valuestring, "system");
    ck_assert_str_eq(cJSON_GetObjectItem(m1, "content")->valuestring,
                     "Here are examples of good answers to similar questions:\n\n"
                     "Q: Which option, C or D?\nA: D.");
    ck_assert_str_eq(cJSON_GetObjectItem(m2, "role")->valuestring, "user");
    ck_assert_str_eq(cJSON_GetObjectItem(m2, "content")->valuestring, "Which option, \"A\" or B?");
    cJSON_Delete(body);
    s_close(&f);
}
END_TEST

START_TEST(test_the_models_system_prompt_comes_first)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(
        s_open(&f, "    system_prompt: \"You answer {domain} questions.\"\n", err, sizeof err) == 0,
        "%s", err);
    s_reply_t ok[] = {{200, s_ok_body, 0}};
    s_script(1, ok);
    lyc_answer_t a;
    s_call(&f, 5000, &a);
    ck_assert_msg(a.error == NULL, "%s", a.error ? a.error->message : "");
    lyc_answer_release(&a);
    cJSON *body = cJSON_Parse(s_server.body);
    ck_assert_ptr_nonnull(body);
    cJSON *messages = cJSON_GetObjectItem(body, "messages");
    ck_assert_int_eq(cJSON_GetArraySize(messages), 4);
    /* The model's prompt for the task's domain, then the client's own. */
    cJSON *m0 = cJSON_GetArrayItem(messages, 0), *m1 = cJSON_GetArrayItem(messages, 1);
    ck_assert_str_eq(cJSON_GetObjectItem(m0, "role")->valuestring, "system");
    ck_assert_str_eq(cJSON_GetObjectItem(m0, "content")->valuestring, "You answer geo questions.");
    ck_assert_str_eq(cJSON_GetObjectItem(m1, "content")->valuestring, "Be brief.");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(messages, 3), "role")->valuestring,
                     "user");
    cJSON_Delete(body);
    s_close(&f);
}
END_TEST

START_TEST(test_retries_429_then_500_then_ok)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(s_open(&f, "", err, sizeof err) == 0, "%s", err);
    s_reply_t replies[] = {
        {429, "{\"error\":{\"message\":\"slow down\"}}", 0}, {500, "oops", 0}, {200, s_ok_body, 0}};
    s_script(3, replies);
    lyc_answer_t a;
    int64_t start = lyc_mono_us();
    s_call(&f, 10000, &a);
    int64_t took_ms = (lyc_mono_us() - start) / 1000;
    ck_assert_msg(a.error == NULL, "%s", a.error ? a.error->message : "");
    ck_assert_str_eq(a.content, "The answer is B.");
    ck_assert_int_eq(s_requests(), 3);
    ck_assert_str_eq(s_server.auth, ""); /* no api_key_env: no Authorization header */
    ck_assert_msg(took_ms >= 700, "back-off too short: %lld ms", (long long) took_ms);
    ck_assert_uint_ge(a.latency_ms, 700);
    lyc_answer_release(&a);
    s_close(&f);
}
END_TEST

START_TEST(test_gives_up_after_max_retries)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(s_open(&f, "      max_retries: 2\n", err, sizeof err) == 0, "%s", err);
    s_reply_t replies[] = {{503, "{\"error\":{\"message\":\"overloaded\"}}", 0}};
    s_script(1, replies);
    lyc_answer_t a;
    s_call(&f, 10000, &a);
    ck_assert_ptr_nonnull(a.error);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_BACKEND);
    ck_assert(a.error->retryable);
    ck_assert_ptr_nonnull(strstr(a.error->message, "503"));
    ck_assert_ptr_nonnull(strstr(a.error->message, "overloaded"));
    ck_assert_int_eq(s_requests(), 3);
    ck_assert_str_eq(a.content, "");
    lyc_answer_release(&a);

    /* Rate-limited to the end: ERROR_BUDGET, retryable. */
    s_reply_t limited[] = {{429, "{}", 0}};
    s_script(1, limited);
    s_call(&f, 10000, &a);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_BUDGET);
    ck_assert_int_eq(s_requests(), 3);
    lyc_answer_release(&a);

    /* A 401 is not retried. */
    s_reply_t denied[] = {{401, "{\"error\":{\"message\":\"bad key\"}}", 0}};
    s_script(1, denied);
    s_call(&f, 10000, &a);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_BACKEND);
    ck_assert(!a.error->retryable);
    ck_assert_int_eq(s_requests(), 1);
    lyc_answer_release(&a);
    s_close(&f);
}
END_TEST

START_TEST(test_slow_server_times_out_at_the_deadline)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(s_open(&f, "", err, sizeof err) == 0, "%s", err);
    s_reply_t slow[] = {{200, s_ok_body, 2000}};
    s_script(1, slow);
    lyc_answer_t a;
    int64_t start = lyc_mono_us();
    s_call(&f, 400, &a);
    int64_t took_ms = (lyc_mono_us() - start) / 1000;
    ck_assert_ptr_nonnull(a.error);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT);
    ck_assert_msg(took_ms >= 350 && took_ms < 1500, "took %lld ms", (long long) took_ms);
    ck_assert_int_eq(s_requests(), 1); /* no retry once the deadline is spent */
    lyc_answer_release(&a);

    /* Back-off never sleeps past the deadline either. */
    s_reply_t failing[] = {{500, "{}", 0}};
    s_script(1, failing);
    start = lyc_mono_us();
    s_call(&f, 300, &a);
    took_ms = (lyc_mono_us() - start) / 1000;
    ck_assert_ptr_nonnull(a.error);
    ck_assert_msg(took_ms < 300, "took %lld ms", (long long) took_ms);
    ck_assert_int_eq(s_requests(), 2); /* 250 ms back-off fits once, 500 ms does not */
    lyc_answer_release(&a);
    s_close(&f);
}
END_TEST

START_TEST(test_garbage_is_a_backend_error)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(s_open(&f, "", err, sizeof err) == 0, "%s", err);
    const char *garbage[] = {"not json at all", "{\"choices\": []}",
                             "{\"choices\": [{\"message\": {\"content\": null}}]}", "[1,2,3]", ""};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        s_reply_t reply[] = {{200, garbage[i], 0}};
        s_script(1, reply);
        lyc_answer_t a;
        s_call(&f, 5000, &a);
        ck_assert_msg(a.error && a.error->code == LYCEUM__V1__ERROR_CODE__ERROR_BACKEND,
                      "garbage '%s' not reported", garbage[i]);
        ck_assert_int_eq(s_requests(), 1);
        lyc_answer_release(&a);
    }
    /* No usage: tokens are estimated as ceil(bytes / 4). */
    s_reply_t no_usage[] = {
        {200, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"12345\"}}]}", 0}};
    s_script(1, no_usage);
    lyc_answer_t a;
    s_call(&f, 5000, &a);
    ck_assert_ptr_null(a.error);
    ck_assert_str_eq(a.content, "12345");
    ck_assert_uint_eq(a.usage->completion_tokens, 2);
    size_t prompt = strlen("Be brief.") + strlen("Which option, \"A\" or B?") +
                    strlen("Here are examples of good answers to similar questions:\n\n"
                           "Q: Which option, C or D?\nA: D.");
    ck_assert_uint_eq(a.usage->prompt_tokens, (prompt + 3) / 4);
    ck_assert_double_eq_tol(a.cost_usd, (((prompt + 3) / 4) * 2.5 + 2 * 10.0) / 1e6, 1e-12);
    lyc_answer_release(&a);
    s_close(&f);
}
END_TEST

START_TEST(test_configuration_errors)
{
    char err[512];
    s_fixture_t f;
    unsetenv("LYC_TEST_MISSING_KEY");
    ck_assert_int_ne(s_open(&f, "      api_key_env: LYC_TEST_MISSING_KEY\n", err, sizeof err), 0);
    ck_assert_msg(strstr(err, "LYC_TEST_MISSING_KEY") && strstr(err, "not set"), "%s", err);
    s_close(&f);

    /* Nothing listens on port 1: a connection error, retried, then reported. */
    const char *yaml = "models:\n  - name: m\n    backend: openai\n    openai:\n"
                       "      base_url: ftp://example.com\n";
    lyc_settings_t settings;
    lyc_confdoc_t *defaults = lyc_settings_load(NULL, NULL, &settings, err, sizeof err);
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "t.yaml", err, sizeof err);
    lyc_model_config_t model;
    ck_assert_int_eq(lyc_model_config_load(doc, 0, &model, err, sizeof err), 0);
    ck_assert_ptr_null(lyc_backend_env_new(&model, &settings, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "openai.base_url"), "%s", err);
    lyc_model_config_free(&model);
    lyc_confdoc_destroy(&doc);
    lyc_confdoc_destroy(&defaults);
    lyc_settings_free(&settings);
}
END_TEST

START_TEST(test_connection_refused_is_retried_then_reported)
{
    char err[512];
    s_fixture_t f;
    int port = s_port;
    s_port = 1; /* nothing listens there */
    int rc = s_open(&f, "      max_retries: 1\n", err, sizeof err);
    s_port = port;
    ck_assert_msg(rc == 0, "%s", err);
    lyc_answer_t a;
    s_call(&f, 5000, &a);
    ck_assert_ptr_nonnull(a.error);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_BACKEND);
    ck_assert(a.error->retryable);
    ck_assert_uint_ge(a.latency_ms, 250); /* one back-off */
    lyc_answer_release(&a);
    s_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("worker_openai");
    TCase *tc = tcase_create("openai");
    tcase_set_timeout(tc, 60);
    /* Per test, in the forked test process: the server's threads and its
     * script must live where the test runs. */
    tcase_add_checked_fixture(tc, s_server_start, s_server_stop);
    tcase_add_test(tc, test_request_shape_usage_and_cost);
    tcase_add_test(tc, test_the_models_system_prompt_comes_first);
    tcase_add_test(tc, test_retries_429_then_500_then_ok);
    tcase_add_test(tc, test_gives_up_after_max_retries);
    tcase_add_test(tc, test_slow_server_times_out_at_the_deadline);
    tcase_add_test(tc, test_garbage_is_a_backend_error);
    tcase_add_test(tc, test_configuration_errors);
    tcase_add_test(tc, test_connection_refused_is_retried_then_reported);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
