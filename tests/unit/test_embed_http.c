/*
 * test_embed_http.c - the /v1/embeddings client and the HTTP client under it,
 * against an in-process libmicrohttpd server that records each request and
 * plays back scripted replies (status, body, delay).
 */
#include "testkit.h"

#include "clock.h"
#include "embed_http.h"
#include "http_client.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPLIES 4
#define KEY_ENV     "LYC_TEST_EMBED_KEY"

typedef struct {
    int status;
    char *body;
    int delay_ms;
} s_reply_t;

/* The test server: scripted replies and what the last request looked like. */
static struct {
    struct MHD_Daemon *daemon;
    char base_url[64];
    pthread_mutex_t lock;
    s_reply_t replies[MAX_REPLIES];
    int nreplies;
    int served;      /* requests answered (or being answered) */
    int connections; /* TCP connections accepted */
    char *method, *url, *auth, *content_type, *body;
} s_srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A request body as it arrives. */
typedef struct {
    char *data;
    size_t len;
} s_upload_t;

/* Adds a reply; the last one repeats once the script runs out. */
static void s_script(int status, const char *body, int delay_ms)
{
    ck_assert_int_lt(s_srv.nreplies, MAX_REPLIES);
    s_reply_t *r = &s_srv.replies[s_srv.nreplies++];
    r->status = status;
    r->body = strdup(body);
    r->delay_ms = delay_ms;
    ck_assert_ptr_nonnull(r->body);
}

static void s_script_clear(void)
{
    for (int i = 0; i < s_srv.nreplies; i++)
        free(s_srv.replies[i].body);
    s_srv.nreplies = 0;
    s_srv.served = 0;
}

static char *s_dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Remembers the request and picks the reply, under the lock. */
static s_reply_t s_record(struct MHD_Connection *conn, const char *url, const char *method,
                          s_upload_t *up)
{
    pthread_mutex_lock(&s_srv.lock);
    free(s_srv.method), free(s_srv.url), free(s_srv.auth), free(s_srv.content_type);
    free(s_srv.body);
    s_srv.method = strdup(method);
    s_srv.url = strdup(url);
    s_srv.auth = s_dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
    s_srv.content_type =
        s_dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
    s_srv.body = up->data ? strdup(up->data) : strdup("");
    int i = s_srv.served < s_srv.nreplies ? s_srv.served : s_srv.nreplies - 1;
    s_reply_t reply = {.status = 500, .body = NULL, .delay_ms = 0};
    if (i >= 0)
        reply = s_srv.replies[i];
    s_srv.served++;
    pthread_mutex_unlock(&s_srv.lock);
    return reply;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls)
{
    s_upload_t *up = *req_cls;
    if (!up) {
        *req_cls = calloc(1, sizeof *up);
        return *req_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        char *data = realloc(up->data, up->len + *upload_data_size + 1);
        if (!data)
            return MHD_NO;
        memcpy(data + up->len, upload_data, *upload_data_size);
        up->len += *upload_data_size;
        data[up->len] = '\0';
        up->data = data;
        *upload_data_size = 0;
        return MHD_YES;
    }
    s_reply_t reply = s_record(conn, url, method, up);
    if (reply.delay_ms > 0)
        usleep((useconds_t) reply.delay_ms * 1000);
    char empty[] = "";
    char *body = reply.body ? reply.body : empty;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_add_response_header(resp, "Content-Type", "application/json");
    if (ret == MHD_YES)
        ret = MHD_queue_response(conn, (unsigned) reply.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                        enum MHD_RequestTerminationCode toe)
{
    s_upload_t *up = *req_cls;
    if (up)
        free(up->data);
    free(up);
    *req_cls = NULL;
}

static void s_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&s_srv.lock);
    s_srv.connections++;
    pthread_mutex_unlock(&s_srv.lock);
}

static void s_server_start(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s_srv.daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, s_handle,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr, MHD_OPTION_NOTIFY_COMPLETED,
        s_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, s_connection, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(s_srv.daemon);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s_srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    snprintf(s_srv.base_url, sizeof s_srv.base_url, "http://127.0.0.1:%u/v1",
             (unsigned) info->port);
}

static void s_server_stop(void)
{
    MHD_stop_daemon(s_srv.daemon);
    s_srv.daemon = NULL;
    s_script_clear();
    free(s_srv.method), free(s_srv.url), free(s_srv.auth), free(s_srv.content_type);
    free(s_srv.body);
    s_srv.method = s_srv.url = s_srv.auth = s_srv.content_type = s_srv.body = NULL;
    s_srv.connections = 0;
}

/* An OpenAI-style embeddings response carrying v[0..n). */
static char *s_embedding_json(const double *v, int n)
{
    size_t cap = (size_t) n * 32 + 256, len = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    len += (size_t) snprintf(out, cap,
                             "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\","
                             "\"index\":0,\"embedding\":[");
    for (int i = 0; i < n; i++)
        len += (size_t) snprintf(out + len, cap - len, "%s%.17g", i ? "," : "", v[i]);
    snprintf(out + len, cap - len, "]}],\"model\":\"test-model\",\"usage\":{\"prompt_tokens\":3}}");
    return out;
}

static void s_script_vector(int status, const double *v, int n, int delay_ms)
{
    char *json = s_embedding_json(v, n);
    s_script(status, json, delay_ms);
    free(json);
}

static lyc_embed_http_t *s_client(unsigned dim, const char *key_env, long timeout_ms)
{
    lyc_embed_http_config_t config = {.base_url = s_srv.base_url,
                                      .model = "test-model",
                                      .api_key_env = key_env,
                                      .dim = dim,
                                      .timeout_ms = timeout_ms,
                                      .backoff_ms = 20};
    return lyc_embed_http_new(&config);
}

static int s_all_zero(const float *v, unsigned dim)
{
    for (unsigned i = 0; i < dim; i++) {
        if (v[i] != 0.0f)
            return 0;
    }
    return 1;
}

static const double s_vec4[] = {3, 4, 0, 0};

/* --- embeddings --------------------------------------------------------- */

START_TEST(test_request_shape_and_parse)
{
    ck_assert_int_eq(setenv(KEY_ENV, "sk-test-123", 1), 0);
    s_script_vector(200, s_vec4, 4, 0);
    lyc_embed_http_t *e = s_client(4, KEY_ENV, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(lyc_embed_http_dim(e), 4);
    const char *text = "Reset my \"password\"\n please \xc3\xa9";
    float out[4];
    ck_assert_int_eq(lyc_embed_http_embed(e, text, strlen(text), out), 0);
    ck_assert_str_eq(lyc_embed_http_error(e), "");
    ck_assert_float_eq_tol(out[0], 0.6f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 0.8f, 1e-6f);
    ck_assert_float_eq(out[2], 0.0f);

    ck_assert_str_eq(s_srv.method, "POST");
    ck_assert_str_eq(s_srv.url, "/v1/embeddings");
    ck_assert_ptr_nonnull(s_srv.auth);
    ck_assert_str_eq(s_srv.auth, "Bearer sk-test-123");
    ck_assert_ptr_nonnull(strstr(s_srv.content_type, "application/json"));
    cJSON *req = cJSON_Parse(s_srv.body);
    ck_assert_ptr_nonnull(req);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(req, "model")), "test-model");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(req, "input")), text);
    cJSON_Delete(req);
    lyc_embed_http_destroy(&e);
    ck_assert_ptr_null(e);
    lyc_embed_http_destroy(&e);
}
END_TEST

START_TEST(test_key_handling)
{
    s_script_vector(200, s_vec4, 4, 0);
    lyc_embed_http_t *e = s_client(4, NULL, 0); /* no key: no header */
    ck_assert_ptr_nonnull(e);
    float out[4];
    ck_assert_int_eq(lyc_embed_http_embed(e, "hi", 2, out), 0);
    ck_assert_ptr_null(s_srv.auth);
    lyc_embed_http_destroy(&e);

    ck_assert_int_eq(unsetenv(KEY_ENV), 0);
    ck_assert_ptr_null(s_client(4, KEY_ENV, 0)); /* named but unset: refuse at start */
    ck_assert_int_eq(setenv(KEY_ENV, "", 1), 0);
    ck_assert_ptr_null(s_client(4, KEY_ENV, 0));
    ck_assert_int_eq(setenv(KEY_ENV, "sk-1\r\nX-Evil: 1", 1), 0);
    ck_assert_ptr_null(s_client(4, KEY_ENV, 0));

    lyc_embed_http_config_t bad = {.base_url = "ftp://x", .model = "m", .dim = 4};
    ck_assert_ptr_null(lyc_embed_http_new(&bad));
    bad.base_url = "http://127.0.0.1:1/v1";
    bad.dim = 0;
    ck_assert_ptr_null(lyc_embed_http_new(&bad));
    bad.dim = 4;
    bad.model = "";
    ck_assert_ptr_null(lyc_embed_http_new(&bad));
    ck_assert_ptr_null(lyc_embed_http_new(NULL));
}
END_TEST

START_TEST(test_dimension_mismatch)
{
    const double three[] = {1, 2, 3};
    s_script_vector(200, three, 3, 0);
    lyc_embed_http_t *e = s_client(4, NULL, 0);
    ck_assert_ptr_nonnull(e);
    float out[4] = {9, 9, 9, 9};
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), -1);
    ck_assert_msg(strstr(lyc_embed_http_error(e), "3 dimensions, expected 4"), "error: %s",
                  lyc_embed_http_error(e));
    ck_assert(s_all_zero(out, 4));
    lyc_embed_http_destroy(&e);
}
END_TEST

/* Each bad body fails with its own message and leaves a zero vector. */
START_TEST(test_malformed_responses)
{
    static const struct {
        const char *body;
        const char *error;
    } cases[] = {
        {"{not json", "malformed JSON"},
        {"", "malformed JSON"},
        {"{\"data\":[]}", "no data[0].embedding"},
        {"{\"data\":[{\"embedding\":\"AAAA\"}]}", "no data[0].embedding"},
        {"[1,2,3,4]", "no data[0].embedding"},
        {"{\"data\":[{\"embedding\":[1,\"x\",3,4]}]}", "value 1 is not a finite number"},
        {"{\"data\":[{\"embedding\":[1,2,3,1e999]}]}", "value 3 is not a finite number"},
        {"{\"data\":[{\"embedding\":[0,0,0,0]}]}", "all zeros"},
    };
    lyc_embed_http_t *e = s_client(4, NULL, 0);
    ck_assert_ptr_nonnull(e);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s_script_clear();
        s_script(200, cases[i].body, 0);
        float out[4] = {9, 9, 9, 9};
        ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), -1);
        ck_assert_msg(strstr(lyc_embed_http_error(e), cases[i].error), "body %s: error %s",
                      cases[i].body, lyc_embed_http_error(e));
        ck_assert(s_all_zero(out, 4));
    }
    lyc_embed_http_destroy(&e);
}
END_TEST

START_TEST(test_retry_once_then_succeed)
{
    lyc_embed_http_t *e = s_client(4, NULL, 0);
    ck_assert_ptr_nonnull(e);
    float out[4];
    s_script(500, "{\"error\":\"overloaded\"}", 0);
    s_script_vector(200, s_vec4, 4, 0);
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), 0);
    ck_assert_int_eq(s_srv.served, 2);
    ck_assert_float_eq_tol(out[1], 0.8f, 1e-6f);

    s_script_clear();
    s_script(429, "{\"error\":\"slow down\"}", 0);
    s_script_vector(200, s_vec4, 4, 0);
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), 0);
    ck_assert_int_eq(s_srv.served, 2);
    lyc_embed_http_destroy(&e);
}
END_TEST

START_TEST(test_retry_gives_up)
{
    lyc_embed_http_t *e = s_client(4, NULL, 0);
    ck_assert_ptr_nonnull(e);
    float out[4];
    s_script(503, "{\"error\":\"down\"}", 0);
    s_script(503, "{\"error\":\"still down\"}", 0);
    s_script_vector(200, s_vec4, 4, 0);
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), -1);
    ck_assert_int_eq(s_srv.served, 2); /* one retry, not two */
    ck_assert_msg(strstr(lyc_embed_http_error(e), "HTTP 503"), "%s", lyc_embed_http_error(e));
    ck_assert_ptr_nonnull(strstr(lyc_embed_http_error(e), "still down"));

    s_script_clear();
    s_script(400, "{\"error\":\"bad input\"}", 0); /* a client error is not retried */
    s_script_vector(200, s_vec4, 4, 0);
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), -1);
    ck_assert_int_eq(s_srv.served, 1);
    ck_assert_ptr_nonnull(strstr(lyc_embed_http_error(e), "HTTP 400"));
    lyc_embed_http_destroy(&e);
}
END_TEST

START_TEST(test_timeout)
{
    s_script_vector(200, s_vec4, 4, 1500);
    lyc_embed_http_t *e = s_client(4, NULL, 300);
    ck_assert_ptr_nonnull(e);
    float out[4];
    int64_t t0 = lyc_mono_us();
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), -1);
    int64_t ms = (lyc_mono_us() - t0) / 1000;
    ck_assert_msg(ms >= 250 && ms < 1200, "took %lld ms", (long long) ms);
    ck_assert_msg(strstr(lyc_embed_http_error(e), "timed out"), "%s", lyc_embed_http_error(e));
    ck_assert(s_all_zero(out, 4));
    lyc_embed_http_destroy(&e);
}
END_TEST

START_TEST(test_empty_and_odd_text)
{
    s_script_vector(200, s_vec4, 4, 0);
    lyc_embed_http_t *e = s_client(4, NULL, 0);
    ck_assert_ptr_nonnull(e);
    float out[4] = {9, 9, 9, 9};
    ck_assert_int_eq(lyc_embed_http_embed(e, "", 0, out), 0);
    ck_assert(s_all_zero(out, 4));
    ck_assert_int_eq(s_srv.served, 0); /* no request for nothing */

    const char odd[] = "caf\xc3\xff\0x \xed\xa0\x80";
    ck_assert_int_eq(lyc_embed_http_embed(e, odd, sizeof odd - 1, out), 0);
    cJSON *req = cJSON_Parse(s_srv.body);
    ck_assert_ptr_nonnull(req);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(req, "input")),
                     "caf\xef\xbf\xbd\xef\xbf\xbd x \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    cJSON_Delete(req);
    ck_assert_int_eq(lyc_embed_http_embed(e, NULL, 1, out), -1);
    ck_assert_int_eq(lyc_embed_http_embed(NULL, "x", 1, out), -1);
    lyc_embed_http_destroy(&e);
}
END_TEST

START_TEST(test_connection_refused)
{
    lyc_embed_http_config_t config = {
        .base_url = "http://127.0.0.1:1/v1/", .model = "m", .dim = 4, .timeout_ms = 2000};
    lyc_embed_http_t *e = lyc_embed_http_new(&config);
    ck_assert_ptr_nonnull(e);
    float out[4];
    ck_assert_int_eq(lyc_embed_http_embed(e, "hello", 5, out), -1);
    ck_assert_ptr_nonnull(strstr(lyc_embed_http_error(e), "http://127.0.0.1:1/v1/embeddings"));
    lyc_embed_http_destroy(&e);
}
END_TEST

/* --- the HTTP client itself --------------------------------------------- */

static lyc_http_request_t s_get(const char *path)
{
    static char url[128];
    snprintf(url, sizeof url, "%s%s", s_srv.base_url, path);
    return (lyc_http_request_t){.url = url, .timeout_ms = 2000};
}

START_TEST(test_http_keepalive_and_status)
{
    s_script(200, "{\"ok\":true}", 0);
    s_script(404, "{\"error\":\"no\"}", 0);
    lyc_http_t *h = lyc_http_new();
    ck_assert_ptr_nonnull(h);
    lyc_http_request_t req = s_get("/a?key=secret");
    lyc_http_response_t resp;
    ck_assert_int_eq(lyc_http_get(h, &req, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"ok\":true}");
    ck_assert_uint_eq(resp.body_len, 11);
    ck_assert_str_eq(s_srv.method, "GET");
    lyc_http_response_free(&resp);
    ck_assert_ptr_null(resp.body);
    ck_assert_int_eq(lyc_http_get(h, &req, &resp), 0); /* a 404 is a response, not a failure */
    ck_assert_int_eq(resp.status, 404);
    lyc_http_response_free(&resp);
    ck_assert_int_eq(s_srv.connections, 1); /* the second call reused the connection */
    lyc_http_destroy(&h);
    ck_assert_ptr_null(h);
    lyc_http_destroy(&h);
    lyc_http_response_free(NULL);
}
END_TEST

START_TEST(test_http_response_cap)
{
    char *big = malloc(10001);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    s_script(200, big, 0);
    free(big);
    lyc_http_request_t req = s_get("/big");
    req.max_response = 1000;
    lyc_http_response_t resp;
    ck_assert_int_eq(lyc_http_get(NULL, &req, &resp), -1); /* NULL: a one-off handle */
    ck_assert_msg(strstr(resp.error, "larger than 1000 bytes"), "%s", resp.error);
    ck_assert_ptr_null(resp.body);
    lyc_http_response_free(&resp);
    req.max_response = 10000; /* exactly the size: fine */
    ck_assert_int_eq(lyc_http_get(NULL, &req, &resp), 0);
    ck_assert_uint_eq(resp.body_len, 10000);
    ck_assert_uint_eq(strlen(resp.body), 10000);
    lyc_http_response_free(&resp);
}
END_TEST

START_TEST(test_http_post_and_bad_requests)
{
    s_script(201, "", 0);
    lyc_http_t *h = lyc_http_new();
    ck_assert_ptr_nonnull(h);
    const char *headers[] = {"X-Trace: abc", NULL};
    lyc_http_request_t req = s_get("/post");
    req.headers = headers;
    req.body = "{\"a\":1}";
    req.body_len = 7;
    lyc_http_response_t resp;
    ck_assert_int_eq(lyc_http_post_json(h, &req, &resp), 0);
    ck_assert_int_eq(resp.status, 201);
    ck_assert_str_eq(resp.body, "");
    ck_assert_str_eq(s_srv.body, "{\"a\":1}");
    ck_assert_str_eq(s_srv.method, "POST");
    lyc_http_response_free(&resp);

    const char *evil[] = {"X-A: 1\r\nX-B: 2", NULL};
    req.headers = evil;
    ck_assert_int_eq(lyc_http_post_json(h, &req, &resp), -1);
    ck_assert_ptr_nonnull(strstr(resp.error, "line break"));
    req.headers = NULL;
    req.url = "ftp://127.0.0.1/x";
    ck_assert_int_eq(lyc_http_post_json(h, &req, &resp), -1);
    ck_assert_int_eq(resp.status, 0);
    req.url = NULL;
    ck_assert_int_eq(lyc_http_post_json(h, &req, &resp), -1);
    ck_assert_int_eq(lyc_http_post_json(h, NULL, &resp), -1);
    lyc_http_response_free(&resp);
    lyc_http_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("embed_http");
    TCase *tc = tcase_create("embeddings");
    tcase_add_checked_fixture(tc, s_server_start, s_server_stop);
    tcase_add_test(tc, test_request_shape_and_parse);
    tcase_add_test(tc, test_key_handling);
    tcase_add_test(tc, test_dimension_mismatch);
    tcase_add_test(tc, test_malformed_responses);
    tcase_add_test(tc, test_retry_once_then_succeed);
    tcase_add_test(tc, test_retry_gives_up);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_empty_and_odd_text);
    tcase_add_test(tc, test_connection_refused);
    suite_add_tcase(s, tc);
    TCase *http = tcase_create("http");
    tcase_add_checked_fixture(http, s_server_start, s_server_stop);
    tcase_add_test(http, test_http_keepalive_and_status);
    tcase_add_test(http, test_http_response_cap);
    tcase_add_test(http, test_http_post_and_bad_requests);
    suite_add_tcase(s, http);
    return lyc_test_run(s);
}
