/*
 * http.c - routes, request bodies and replies of the HTTP front door.
 */
#include "http.h"

#include "auth.h"
#include "budget.h"
#include "human_feedback.h"
#include "log.h"
#include "openai_api.h"
#include "pb.h"
#include "pipeline.h"
#include "recorder.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct lyc_http_server_t {
    lyc_router_t *router;
    struct MHD_Daemon *daemon;
};

/* A request body being read. */
typedef struct {
    char *data;
    size_t len;
    int too_big;
} s_body_t;

static pthread_key_t s_ctx_key;
static pthread_once_t s_ctx_once = PTHREAD_ONCE_INIT;

static void s_ctx_free(void *ctx)
{
    lyc_query_ctx_destroy((lyc_query_ctx_t **) &ctx);
}

static void s_ctx_key_make(void)
{
    pthread_key_create(&s_ctx_key, s_ctx_free);
}

/* This thread's context, made on first use; NULL when Redis is unreachable. */
static lyc_query_ctx_t *s_thread_ctx(lyc_router_t *router)
{
    pthread_once(&s_ctx_once, s_ctx_key_make);
    lyc_query_ctx_t *ctx = pthread_getspecific(s_ctx_key);
    if (!ctx && (ctx = lyc_query_ctx_new(router)))
        pthread_setspecific(s_ctx_key, ctx);
    return ctx;
}

/* Sends body (consumed) with one extra header (name NULL: none). */
static enum MHD_Result s_send_with(struct MHD_Connection *conn, lyc_router_t *router,
                                   const char *path, int status, const char *type, char *body,
                                   const char *name, const char *value)
{
    const char *text = body ? body : "{}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
    free(body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    if (name)
        MHD_add_response_header(resp, name, value);
    if (strncmp(type, "text/event-stream", 17) == 0)
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned) status, resp);
    MHD_destroy_response(resp);
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *labels[] = {path, code};
    lyc_counter_add(router->m.requests, labels, 1);
    return rc;
}

static enum MHD_Result s_send(struct MHD_Connection *conn, lyc_router_t *router, const char *path,
                              int status, const char *type, char *body)
{
    return s_send_with(conn, router, path, status, type, body, NULL, NULL);
}

static enum MHD_Result s_send_error(struct MHD_Connection *conn, lyc_router_t *router,
                                    const char *path, const lyc_api_error_t *err)
{
    const char *name = err->status == 401 ? "WWW-Authenticate" : NULL;
    return s_send_with(conn, router, path, err->status, "application/json",
                       lyc_api_render_error(err), name, "Bearer");
}

/* A 429 of the rate limits, with the seconds to wait in Retry-After. */
static enum MHD_Result s_send_retry(struct MHD_Connection *conn, lyc_router_t *router,
                                    const char *path, const lyc_api_error_t *err, long retry_s)
{
    char value[24];
    snprintf(value, sizeof value, "%ld", retry_s);
    return s_send_with(conn, router, path, err->status, "application/json",
                       lyc_api_render_error(err), retry_s > 0 ? "Retry-After" : NULL, value);
}

/* The live models as an OpenAI model list, with Lyceum's own details. */
static cJSON *s_model_list(lyc_router_t *router)
{
    lyc_model_info_t *models = NULL;
    size_t n = lyc_registry_snapshot(router->registry, &models);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *lyceum = cJSON_CreateObject();
    cJSON_AddStringToObject(lyceum, "id", "lyceum");
    cJSON_AddStringToObject(lyceum, "object", "model");
    cJSON_AddStringToObject(lyceum, "owned_by", "lyceum");
    cJSON_AddItemToArray(data, lyceum);
    for (size_t i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", models[i].name);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddStringToObject(m, "owned_by", "lyceum");
        cJSON *info = cJSON_AddObjectToObject(m, "lyceum");
        cJSON_AddStringToObject(info, "backend", models[i].backend);
        cJSON_AddNumberToObject(info, "role", models[i].role);
        cJSON_AddNumberToObject(info, "replicas", models[i].replicas);
        cJSON_AddNumberToObject(info, "in_flight", models[i].in_flight);
        cJSON_AddNumberToObject(info, "price_in", models[i].price_in);
        cJSON_AddNumberToObject(info, "price_out", models[i].price_out);
        cJSON_AddItemToArray(data, m);
    }
    free(models);
    return root;
}

static enum MHD_Result s_models(struct MHD_Connection *conn, lyc_router_t *router)
{
    cJSON *root = s_model_list(router);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s_send(conn, router, "/v1/models", 200, "application/json", text);
}

/* Open without a key, for probes and launchers: the status and the live
 * models with their replicas (the same list as /v1/models). */
static enum MHD_Result s_healthz(struct MHD_Connection *conn, lyc_router_t *router)
{
    cJSON *root = s_model_list(router);
    cJSON_AddStringToObject(root, "status", "ok");
    cJSON_AddNumberToObject(root, "workers", lyc_registry_workers(router->registry));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s_send(conn, router, "/healthz", 200, "application/json", text);
}

static enum MHD_Result s_metrics(struct MHD_Connection *conn, lyc_router_t *router)
{
    return s_send(conn, router, "/metrics", 200, "text/plain; version=0.0.4",
                  lyc_metrics_render(router->metrics));
}

static int s_json_content(struct MHD_Connection *conn)
{
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    return type && strncasecmp(type, "application/json", 16) == 0;
}

/* Tokens a request is admitted with: its prompt and its completion limit. */
static long s_token_estimate(const lyc_router_t *router, const Lyceum__V1__ClientQuery *q)
{
    size_t bytes = 0;
    for (size_t i = 0; i < q->n_messages; i++)
        bytes += strlen(q->messages[i]->content);
    long completion =
        q->max_tokens ? (long) q->max_tokens : router->config.budget_default_completion_tokens;
    return (long) lyc_budget_tokens(bytes) + completion;
}

/* Tenant and rate limit checks of an authenticated query; -1 with *err. */
static int s_admit(lyc_query_ctx_t *ctx, const lyc_auth_t *who, const Lyceum__V1__ClientQuery *q,
                   long tokens, lyc_api_error_t *err, long *retry_s)
{
    char tenant[LYC_APIKEY_TENANT_MAX + 1];
    *retry_s = 0;
    if (lyc_auth_tenant(ctx->router, who, q->tenant, tenant, sizeof tenant, err) != 0)
        return -1;
    return lyc_auth_admit(ctx, who, tokens, err, retry_s);
}

static enum MHD_Result s_chat(struct MHD_Connection *conn, lyc_router_t *router, s_body_t *body,
                              const lyc_auth_t *who)
{
    static const char *path = "/v1/chat/completions";
    lyc_api_error_t err;
    if (body->too_big) {
        lyc_api_fail(&err, 413, "invalid_request_error", "request_too_large", NULL,
                     "the request body is larger than %ld bytes",
                     router->config.http_max_body_bytes);
        return s_send_error(conn, router, path, &err);
    }
    if (!s_json_content(conn)) {
        lyc_api_fail(&err, 415, "invalid_request_error", "unsupported_media_type", NULL,
                     "send the request as Content-Type: application/json");
        return s_send_error(conn, router, path, &err);
    }
    Lyceum__V1__ClientQuery *query = lyc_api_parse_chat(
        body->data, body->len, (size_t) router->config.http_max_body_bytes, &err);
    if (!query)
        return s_send_error(conn, router, path, &err);
    lyc_model_info_t info;
    if (!lyc_pipeline_auto_model(query->model) &&
        lyc_registry_find(router->registry, query->model, &info) != 0) {
        lyc_api_fail(&err, 404, "invalid_request_error", "model_not_found", "model",
                     "the model '%s' does not exist; use 'lyceum' or one of GET /v1/models",
                     query->model);
        lyc_pb_free(query);
        return s_send_error(conn, router, path, &err);
    }
    lyc_query_ctx_t *ctx = s_thread_ctx(router);
    long tokens = s_token_estimate(router, query), retry_s = 0;
    if (ctx && s_admit(ctx, who, query, tokens, &err, &retry_s) != 0) {
        lyc_pb_free(query);
        return s_send_retry(conn, router, path, &err, retry_s);
    }
    Lyceum__V1__ClientReply *reply =
        ctx ? lyc_pipeline_run_as(ctx, query, who->authenticated ? &who->key : NULL) : NULL;
    if (reply && reply->usage)
        lyc_auth_used(ctx, who, tokens,
                      (long) reply->usage->prompt_tokens + (long) reply->usage->completion_tokens);
    enum MHD_Result rc;
    if (!reply) {
        lyc_api_fail(&err, 503, "server_error", "unavailable", NULL,
                     "the router cannot reach its stores right now; retry");
        rc = s_send_error(conn, router, path, &err);
    } else if (reply->error) {
        lyc_api_error_of_reply(reply, &err);
        rc = s_send_error(conn, router, path, &err);
    } else if (query->stream) {
        rc = s_send(conn, router, path, 200, "text/event-stream",
                    lyc_api_render_stream(reply, (int64_t) time(NULL)));
    } else {
        rc = s_send(conn, router, path, 200, "application/json",
                    lyc_api_render_chat(reply, (int64_t) time(NULL)));
    }
    lyc_pb_free(reply);
    lyc_pb_free(query);
    return rc;
}

static enum MHD_Result s_feedback(struct MHD_Connection *conn, lyc_router_t *router, s_body_t *body,
                                  const lyc_auth_t *who)
{
    static const char *path = "/v1/lyceum/feedback";
    lyc_api_error_t err;
    lyc_human_feedback_t fb;
    if (body->too_big || !s_json_content(conn)) {
        lyc_api_fail(&err, body->too_big ? 413 : 415, "invalid_request_error", NULL, NULL,
                     "send a small JSON object as Content-Type: application/json");
        return s_send_error(conn, router, path, &err);
    }
    const char *tenant = who->authenticated ? who->key.tenant : router->config.default_tenant;
    char scoped[sizeof fb.tenant];
    if (lyc_human_feedback_parse(body->data, body->len, tenant, &fb, &err) != 0 ||
        lyc_auth_tenant(router, who, fb.tenant, scoped, sizeof scoped, &err) != 0)
        return s_send_error(conn, router, path, &err);
    lyc_query_ctx_t *ctx = s_thread_ctx(router);
    if (!ctx) {
        lyc_api_fail(&err, 503, "server_error", "unavailable", NULL,
                     "the router cannot reach Redis");
        return s_send_error(conn, router, path, &err);
    }
    if (lyc_human_feedback_record(ctx, &fb, &err) != 0)
        return s_send_error(conn, router, path, &err);
    return s_send(conn, router, path, 200, "application/json", strdup("{\"status\":\"recorded\"}"));
}

/* Collects an upload chunk; bodies past the limit are counted, not kept. */
static void s_body_append(s_body_t *body, const char *data, size_t size, size_t limit)
{
    if (body->too_big || body->len + size > limit) {
        body->too_big = 1;
        return;
    }
    char *grown = realloc(body->data, body->len + size + 1);
    if (!grown) {
        body->too_big = 1;
        return;
    }
    memcpy(grown + body->len, data, size);
    body->len += size;
    grown[body->len] = '\0';
    body->data = grown;
}

/* Checks the caller's key; -1 after sending the error. */
static int s_authenticate(struct MHD_Connection *conn, lyc_router_t *router, const char *path,
                          lyc_auth_t *who, enum MHD_Result *rc)
{
    lyc_api_error_t err;
    lyc_query_ctx_t *ctx = s_thread_ctx(router);
    if (!ctx) {
        lyc_api_fail(&err, 503, "server_error", "unavailable", NULL,
                     "the router cannot reach its stores right now; retry");
    } else {
        const char *header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (lyc_auth_request(ctx, header, who, &err) == 0)
            return 0;
    }
    *rc = s_send_error(conn, router, path, &err);
    return -1;
}

/* The routes that need a key (all but /healthz and /metrics). */
static enum MHD_Result s_route_keyed(struct MHD_Connection *conn, lyc_router_t *router,
                                     const char *url, s_body_t *body)
{
    lyc_auth_t who;
    enum MHD_Result rc;
    if (s_authenticate(conn, router, url, &who, &rc) != 0)
        return rc;
    if (strcmp(url, "/v1/chat/completions") == 0)
        return s_chat(conn, router, body, &who);
    if (strcmp(url, "/v1/lyceum/feedback") == 0)
        return s_feedback(conn, router, body, &who);
    return s_models(conn, router);
}

static enum MHD_Result s_route(struct MHD_Connection *conn, lyc_router_t *router, const char *url,
                               const char *method, s_body_t *body)
{
    lyc_api_error_t err;
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if ((strcmp(url, "/v1/chat/completions") == 0 && post) ||
        (strcmp(url, "/v1/lyceum/feedback") == 0 && post) ||
        (strcmp(url, "/v1/models") == 0 && get))
        return s_route_keyed(conn, router, url, body);
    if (strcmp(url, "/healthz") == 0 && get)
        return s_healthz(conn, router);
    if (strcmp(url, "/metrics") == 0 && get)
        return s_metrics(conn, router);
    int known = strcmp(url, "/v1/chat/completions") == 0 || strcmp(url, "/v1/models") == 0 ||
                strcmp(url, "/v1/lyceum/feedback") == 0 || strcmp(url, "/healthz") == 0 ||
                strcmp(url, "/metrics") == 0;
    if (known) {
        lyc_api_fail(&err, 405, "invalid_request_error", "method_not_allowed", NULL,
                     "%s is not allowed on %s", method, url);
        return s_send_error(conn, router, "other", &err);
    }
    lyc_api_fail(&err, 404, "invalid_request_error", "not_found", NULL, "no route %s %s", method,
                 url);
    return s_send_error(conn, router, "other", &err);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    lyc_router_t *router = cls;
    s_body_t *body = *con_cls;
    if (!body) {
        body = calloc(1, sizeof *body);
        *con_cls = body;
        return body ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        s_body_append(body, upload_data, *upload_data_size,
                      (size_t) router->config.http_max_body_bytes);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s_route(conn, router, url, method, body);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode code)
{
    s_body_t *body = *con_cls;
    if (body) {
        free(body->data);
        free(body);
        *con_cls = NULL;
    }
}

int lyc_http_parse_listen(const char *listen, void *out)
{
    struct sockaddr_in *addr = out;
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t) (colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t) (colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t) port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, *host ? host : "0.0.0.0", &addr->sin_addr) == 1 ? 0 : -1;
}

lyc_http_server_t *lyc_http_server_new(lyc_router_t *router)
{
    struct sockaddr_in addr;
    if (lyc_http_parse_listen(router->config.http_listen, &addr) != 0) {
        LYC_ERROR(NULL, "router: http.listen '%s' is not host:port", router->config.http_listen);
        return NULL;
    }
    if (lyc_auth_check_listen(&router->config, &addr) != 0)
        return NULL;
    lyc_http_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->router = router;
    if (lyc_recorder_hold(router) != 0) {
        free(self);
        return NULL;
    }
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_EPOLL, 0, NULL, NULL,
        s_handler, router, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned) router->config.http_threads,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) 120, MHD_OPTION_END);
    if (!self->daemon) {
        LYC_ERROR(NULL, "router: cannot listen on %s", router->config.http_listen);
        lyc_recorder_release(router);
        free(self);
        return NULL;
    }
    LYC_INFO(NULL, "router: serving HTTP on %s with %ld threads", router->config.http_listen,
             router->config.http_threads);
    return self;
}

void lyc_http_server_destroy(lyc_http_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon((*self_p)->daemon);
    /* Every query thread has stopped: the recorder may write what is queued and go. */
    lyc_recorder_release((*self_p)->router);
    free(*self_p);
    *self_p = NULL;
}
