/*
 * test_trainer_dispatch_openai.c - the openai dispatcher against a fake
 * fine-tuning API (libmicrohttpd on loopback): the training file is
 * uploaded as multipart with purpose fine-tune, the job is created for the
 * base model, polled until it succeeds, and its fine_tuned_model returned;
 * a failed job's reason comes back as the error.
 */
#include "testkit.h"

#include "dispatch.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int uploads;     /* POST /files seen with the file's content */
    int created;     /* POST /fine_tuning/jobs seen naming file-1 and the base model */
    int polls;       /* GET /fine_tuning/jobs/ftjob-1 */
    int fail;        /* the job fails instead */
    char auth[128];  /* the Authorization header of the last call */
    char body[4096]; /* the request body being received */
    size_t len;
} s_api_t;

static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **state)
{
    s_api_t *api = cls;
    if (!*state) { /* first call: headers only */
        *state = api;
        api->len = 0;
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        snprintf(api->auth, sizeof api->auth, "%s", auth ? auth : "");
        return MHD_YES;
    }
    if (*size) {
        size_t n =
            *size < sizeof api->body - api->len - 1 ? *size : sizeof api->body - api->len - 1;
        memcpy(api->body + api->len, data, n);
        api->len += n;
        api->body[api->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/files") == 0) {
        api->uploads += strstr(api->body, "fine-tune") && strstr(api->body, "hello-data");
        return s_reply(conn, 200, "{\"id\": \"file-1\", \"object\": \"file\"}");
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/fine_tuning/jobs") == 0) {
        api->created += strstr(api->body, "\"training_file\":\"file-1\"") &&
                        strstr(api->body, "\"model\":\"base-mini\"");
        return s_reply(conn, 200, "{\"id\": \"ftjob-1\", \"status\": \"queued\"}");
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/fine_tuning/jobs/ftjob-1") == 0) {
        if (++api->polls < 3)
            return s_reply(conn, 200, "{\"id\": \"ftjob-1\", \"status\": \"running\"}");
        if (api->fail)
            return s_reply(conn, 200,
                           "{\"status\": \"failed\", \"error\": {\"message\": "
                           "\"bad data\"}}");
        return s_reply(conn, 200,
                       "{\"status\": \"succeeded\", \"fine_tuned_model\": "
                       "\"ft:base-mini:lyceum:1\"}");
    }
    return s_reply(conn, 404, "{}");
}

static void s_run(int fail, int expect_rc, const char *expect)
{
    s_api_t api;
    memset(&api, 0, sizeof api);
    api.fail = fail;
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                            s_handler, &api, MHD_OPTION_END);
    ck_assert_ptr_nonnull(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char base[64], data[] = "/tmp/lyc-test-ft-data-XXXXXX";
    snprintf(base, sizeof base, "http://127.0.0.1:%u/v1", (unsigned) info->port);
    int fd = mkstemp(data);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "hello-data\n", 11), 11);
    close(fd);
    setenv("LYC_TEST_FT_KEY", "sk-test", 1);
    lyc_trainer_config_t c;
    memset(&c, 0, sizeof c);
    c.openai_base_url = base;
    c.openai_api_key_env = "LYC_TEST_FT_KEY";
    c.openai_poll_ms = 20;
    c.job_timeout_ms = 10000;
    lyc_dispatch_job_t job = {.job_id = "j", .data = data, .base_model = "base-mini"};
    char result[128] = "", external[128] = "", err[256] = "";
    int rc = lyc_dispatch_openai(&c, &job, NULL, result, external, sizeof result, err, sizeof err);
    ck_assert_int_eq(rc, expect_rc);
    ck_assert_int_eq(api.uploads, 1);
    ck_assert_int_eq(api.created, 1);
    ck_assert_int_eq(api.polls, 3);
    ck_assert_str_eq(api.auth, "Bearer sk-test");
    ck_assert_str_eq(external, "ftjob-1");
    ck_assert_ptr_nonnull(strstr(rc == 0 ? result : err, expect));
    MHD_stop_daemon(d);
    unlink(data);
}

START_TEST(test_upload_create_poll)
{
    s_run(0, 0, "ft:base-mini:lyceum:1");
}
END_TEST

START_TEST(test_failed_job)
{
    s_run(1, -1, "bad data");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_dispatch_openai");
    TCase *tc = tcase_create("openai");
    tcase_add_test(tc, test_upload_create_poll);
    tcase_add_test(tc, test_failed_job);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
