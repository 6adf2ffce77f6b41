/*
 * test_router_api.c - the OpenAI request parser and reply renderers: good
 * requests become ClientQuery fields, bad ones get the right status and error.
 */
#include "testkit.h"

#include "human_feedback.h"
#include "openai_api.h"
#include "pb.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static Lyceum__V1__ClientQuery *s_parse(const char *body, lyc_api_error_t *err)
{
    return lyc_api_parse_chat(body, strlen(body), 1 << 20, err);
}

START_TEST(test_parses_a_full_request)
{
    lyc_api_error_t err;
    Lyceum__V1__ClientQuery *q = s_parse(
        "{\"model\":\"lyceum\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi \"},"
        "{\"type\":\"text\",\"text\":\"there\"}]}],\"max_tokens\":64,\"temperature\":0.5,"
        "\"stream\":true,\"user\":\"u0\",\"metadata\":{\"tenant\":\"acme\",\"user\":\"u1\","
        "\"domain\":\"math\"}}",
        &err);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq(q->n_messages, 2);
    ck_assert_str_eq(q->messages[1]->content, "Hi there");
    ck_assert_str_eq(q->model, "lyceum");
    ck_assert_uint_eq(q->max_tokens, 64);
    ck_assert(q->temperature_set && q->temperature == 0.5);
    ck_assert(q->stream);
    ck_assert_str_eq(q->tenant, "acme");
    ck_assert_str_eq(q->user, "u1");
    ck_assert_str_eq(q->domain, "math");
    lyc_pb_free(q);
}
END_TEST

START_TEST(test_rejects_bad_requests_with_status)
{
    static const struct {
        const char *body;
        int status;
        const char *param;
    } cases[] = {
        {"{not json", 400, NULL},
        {"[1,2]", 400, NULL},
        {"{\"model\":\"x\"}", 400, "messages"},
        {"{\"messages\":[]}", 400, "messages"},
        {"{\"messages\":[{\"content\":\"hi\"}]}", 400, "messages"},
        {"{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", 400, "messages"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":42}]}", 400, "messages"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-3}", 400,
         "max_tokens"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", 400,
         "temperature"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"tenant\":7}}", 400,
         "metadata.tenant"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":\"yes\"}", 400,
         "stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lyc_api_error_t err = {0};
        ck_assert_msg(s_parse(cases[i].body, &err) == NULL, "accepted %s", cases[i].body);
        ck_assert_int_eq(err.status, cases[i].status);
        if (cases[i].param)
            ck_assert_str_eq(err.param, cases[i].param);
        ck_assert(strlen(err.message) > 0);
    }
}
END_TEST

START_TEST(test_rejects_non_utf8_and_oversized)
{
    lyc_api_error_t err;
    const char bad[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}";
    ck_assert_ptr_null(s_parse(bad, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert_ptr_nonnull(strstr(err.message, "UTF-8"));

    const char *big = "{\"messages\":[{\"role\":\"user\",\"content\":\"0123456789\"}]}";
    ck_assert_ptr_null(lyc_api_parse_chat(big, strlen(big), 5, &err));
    ck_assert_int_eq(err.status, 413);

    ck_assert(lyc_utf8_valid("h\xc3\xa9llo", 6));
    ck_assert(!lyc_utf8_valid("\xc0\xaf", 2));         /* overlong */
    ck_assert(!lyc_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    ck_assert(!lyc_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    ck_assert(!lyc_utf8_valid("\xe2\x82", 2));         /* truncated */
}
END_TEST

static Lyceum__V1__ClientReply *s_reply(void)
{
    Lyceum__V1__ClientReply *r = lyc_pb_new(&lyceum__v1__client_reply__descriptor);
    r->trace_id = strdup("abc");
    r->content = strdup("Paris is the capital of France, of course. \xc3\xa9\xc3\xa9\xc3\xa9");
    r->path = LYCEUM__V1__PATH__PATH_FAMILIAR;
    r->domain = strdup("geography");
    r->chosen = strdup("teacher");
    r->cost_usd = 0.25;
    lyc_pb_append((void ***) &r->answered_by, &r->n_answered_by, strdup("teacher"));
    Lyceum__V1__ModelScore *s = lyc_pb_new(&lyceum__v1__model_score__descriptor);
    s->model = strdup("teacher");
    s->score = 0.9;
    lyc_pb_append((void ***) &r->scores, &r->n_scores, s);
    r->usage = lyc_pb_new(&lyceum__v1__usage__descriptor);
    r->usage->prompt_tokens = 10;
    r->usage->completion_tokens = 5;
    return r;
}

START_TEST(test_renders_chat_completion)
{
    Lyceum__V1__ClientReply *r = s_reply();
    char *text = lyc_api_render_chat(r, 1700000000);
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "object")->valuestring, "chat.completion");
    ck_assert_str_eq(cJSON_GetObjectItem(root, "id")->valuestring, "chatcmpl-abc");
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(choice, "message"), "content")->valuestring,
        r->content);
    cJSON *usage = cJSON_GetObjectItem(root, "usage");
    ck_assert_int_eq(cJSON_GetObjectItem(usage, "total_tokens")->valueint, 15);
    cJSON *ly = cJSON_GetObjectItem(root, "lyceum");
    ck_assert_str_eq(cJSON_GetObjectItem(ly, "path")->valuestring, "familiar");
    ck_assert_str_eq(cJSON_GetObjectItem(ly, "chosen")->valuestring, "teacher");
    ck_assert_str_eq(cJSON_GetObjectItem(ly, "trace_id")->valuestring, "abc");
    ck_assert_double_eq_tol(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ly, "scores"), "teacher")->valuedouble, 0.9, 1e-9);
    cJSON_Delete(root);
    free(text);
    lyc_pb_free(r);
}
END_TEST

START_TEST(test_renders_stream_that_reassembles)
{
    Lyceum__V1__ClientReply *r = s_reply();
    char *text = lyc_api_render_stream(r, 1700000000);
    char content[512] = "";
    int events = 0, done = 0, last_has_lyceum = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        ck_assert(strncmp(line, "data: ", 6) == 0);
        if (strcmp(line + 6, "[DONE]") == 0) {
            done = 1;
            continue;
        }
        cJSON *chunk = cJSON_Parse(line + 6);
        ck_assert_ptr_nonnull(chunk);
        cJSON *delta = cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(chunk, "choices"), 0), "delta");
        cJSON *piece = cJSON_GetObjectItem(delta, "content");
        if (cJSON_IsString(piece))
            strcat(content, piece->valuestring);
        last_has_lyceum = cJSON_GetObjectItem(chunk, "lyceum") != NULL;
        events++;
        cJSON_Delete(chunk);
    }
    ck_assert(done);
    ck_assert_int_gt(events, 2);
    ck_assert(last_has_lyceum);
    ck_assert_str_eq(content, r->content);
    free(text);
    lyc_pb_free(r);
}
END_TEST

START_TEST(test_error_object_shape)
{
    lyc_api_error_t err;
    lyc_api_fail(&err, 404, "invalid_request_error", "model_not_found", "model", "no %s", "x");
    char *text = lyc_api_render_error(&err);
    cJSON *root = cJSON_Parse(text);
    cJSON *e = cJSON_GetObjectItem(root, "error");
    ck_assert_str_eq(cJSON_GetObjectItem(e, "message")->valuestring, "no x");
    ck_assert_str_eq(cJSON_GetObjectItem(e, "code")->valuestring, "model_not_found");
    ck_assert_str_eq(cJSON_GetObjectItem(e, "param")->valuestring, "model");
    cJSON_Delete(root);
    free(text);
}
END_TEST

/* Regression (found by tests/fuzz/fuzz_feedback_request): a tenant name
 * longer than the 64 bytes of lyc_human_feedback_t.tenant was cut to its
 * first 64 characters, and the feedback went to that other tenant. */
START_TEST(test_feedback_refuses_overlong_tenant)
{
    char body[512], name[100];
    lyc_human_feedback_t fb;
    lyc_api_error_t err;
    memset(name, 'a', 80);
    name[80] = '\0';
    snprintf(body, sizeof body,
             "{\"trace_id\":\"0123456789abcdef0123456789abcdef\",\"score\":1,"
             "\"metadata\":{\"tenant\":\"%s\"}}",
             name);
    ck_assert_int_eq(lyc_human_feedback_parse(body, strlen(body), "default", &fb, &err), -1);
    ck_assert_int_eq(err.status, 400);
    ck_assert_str_eq(err.param, "metadata.tenant");

    name[64] = '\0'; /* exactly the limit is a valid tenant */
    snprintf(body, sizeof body,
             "{\"trace_id\":\"0123456789abcdef0123456789abcdef\",\"rating\":\"up\","
             "\"metadata\":{\"tenant\":\"%s\"}}",
             name);
    ck_assert_int_eq(lyc_human_feedback_parse(body, strlen(body), "default", &fb, &err), 0);
    ck_assert_str_eq(fb.tenant, name);
    ck_assert(fb.score == 1.0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_parses_a_full_request);
    tcase_add_test(tc, test_rejects_bad_requests_with_status);
    tcase_add_test(tc, test_rejects_non_utf8_and_oversized);
    tcase_add_test(tc, test_renders_chat_completion);
    tcase_add_test(tc, test_renders_stream_that_reassembles);
    tcase_add_test(tc, test_error_object_shape);
    tcase_add_test(tc, test_feedback_refuses_overlong_tenant);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
