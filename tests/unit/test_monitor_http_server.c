/*
 * test_monitor_http_server.c - the embedded operational HTTP server every
 * service starts (common/http_server.h): /metrics, /healthz both ways,
 * routes exact and by prefix, query arguments, 404 and 405, the request
 * metrics it keeps, and a taken port.
 */
#include "testkit.h"

#include "http_server.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lyc_metrics_t *s_metrics;
static lyc_httpd_t *s_http;
static int s_healthy;
static char s_base[64];

static int s_health(void *arg, cJSON *detail)
{
    cJSON_AddNumberToObject(detail, "answer", 42);
    return *(int *) arg ? 0 : -1;
}

static int s_hello(void *arg, const lyc_httpd_request_t *req, lyc_httpd_reply_t *reply)
{
    const char *who = lyc_httpd_arg(req, "who");
    char *body = malloc(128);
    snprintf(body, 128, "{\"hello\":\"%s\",\"path\":\"%s\"}", who ? who : "world",
             lyc_httpd_path(req));
    reply->body = body;
    return 0;
}

static int s_page(void *arg, const lyc_httpd_request_t *req, lyc_httpd_reply_t *reply)
{
    reply->static_body = "<html>page</html>";
    reply->content_type = "text/html";
    return 0;
}

static int s_broken(void *arg, const lyc_httpd_request_t *req, lyc_httpd_reply_t *reply)
{
    reply->body = strdup("never sent");
    return -1;
}

static void s_setup(void)
{
    static const lyc_httpd_route_t routes[] = {
        {"/", s_page, NULL}, {"/api/broken", s_broken, NULL}, {"/api/*", s_hello, NULL}};
    s_metrics = lyc_metrics_new();
    s_healthy = 1;
    lyc_httpd_config_t cfg = {.listen = "127.0.0.1:0",
                              .service = "test",
                              .metrics = s_metrics,
                              .health = s_health,
                              .health_arg = &s_healthy,
                              .routes = routes,
                              .n_routes = 3};
    s_http = lyc_httpd_new(&cfg);
    ck_assert_ptr_nonnull(s_http);
    ck_assert_int_gt(lyc_httpd_port(s_http), 0);
    snprintf(s_base, sizeof s_base, "http://127.0.0.1:%d", lyc_httpd_port(s_http));
}

static void s_teardown(void)
{
    lyc_httpd_destroy(&s_http);
    ck_assert_ptr_null(s_http);
    lyc_metrics_destroy(&s_metrics);
}

static int s_get(const char *path, char **body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", s_base, path);
    return lyc_test_http("GET", url, NULL, NULL, 0, body);
}

START_TEST(test_routes)
{
    char *body = NULL;
    ck_assert_int_eq(s_get("/", &body), 200);
    ck_assert_str_eq(body, "<html>page</html>");
    free(body);
    ck_assert_int_eq(s_get("/api/hello?who=ann", &body), 200);
    ck_assert_str_eq(body, "{\"hello\":\"ann\",\"path\":\"/api/hello\"}");
    free(body);
    ck_assert_int_eq(s_get("/api/broken", &body), 500); /* the first matching route wins */
    free(body);
    ck_assert_int_eq(s_get("/nothing/here", &body), 404);
    free(body);
    char url[256];
    snprintf(url, sizeof url, "%s/api/x", s_base);
    ck_assert_int_eq(lyc_test_http("POST", url, "application/json", "{}", 2, &body), 405);
    free(body);
}
END_TEST

START_TEST(test_healthz)
{
    char *body = NULL;
    ck_assert_int_eq(s_get("/healthz", &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"status\":\"ok\""));
    ck_assert_ptr_nonnull(strstr(body, "\"service\":\"test\""));
    ck_assert_ptr_nonnull(strstr(body, "\"answer\":42"));
    free(body);
    s_healthy = 0;
    ck_assert_int_eq(s_get("/healthz", &body), 503);
    ck_assert_ptr_nonnull(strstr(body, "\"status\":\"unhealthy\""));
    free(body);
}
END_TEST

START_TEST(test_metrics_count_requests)
{
    char *body = NULL;
    ck_assert_int_eq(s_get("/api/a", &body), 200);
    free(body);
    ck_assert_int_eq(s_get("/api/b", &body), 200);
    free(body);
    ck_assert_int_eq(s_get("/zzz", &body), 404);
    free(body);
    ck_assert_int_eq(s_get("/metrics", &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "# TYPE lyceum_test_http_requests_total counter"));
    ck_assert_ptr_nonnull(
        strstr(body, "lyceum_test_http_requests_total{path=\"/api/*\",status=\"200\"} 2"));
    ck_assert_ptr_nonnull(
        strstr(body, "lyceum_test_http_requests_total{path=\"other\",status=\"404\"} 1"));
    ck_assert_ptr_nonnull(strstr(body, "# TYPE lyceum_test_http_request_seconds histogram"));
    ck_assert_ptr_nonnull(strstr(body, "lyceum_test_start_time_seconds "));
    free(body);
}
END_TEST

START_TEST(test_bad_config)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", lyc_httpd_port(s_http));
    lyc_httpd_config_t taken = {.listen = listen, .service = "other", .metrics = s_metrics};
    ck_assert_ptr_null(lyc_httpd_new(&taken));
    lyc_httpd_config_t bad = {.listen = "no-port", .service = "other", .metrics = s_metrics};
    ck_assert_ptr_null(lyc_httpd_new(&bad));
    lyc_httpd_config_t name = {
        .listen = "127.0.0.1:0", .service = "Bad-Name", .metrics = s_metrics};
    ck_assert_ptr_null(lyc_httpd_new(&name));
    lyc_httpd_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitor_http_server");
    TCase *tc = tcase_create("http_server");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_routes);
    tcase_add_test(tc, test_healthz);
    tcase_add_test(tc, test_metrics_count_requests);
    tcase_add_test(tc, test_bad_config);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
