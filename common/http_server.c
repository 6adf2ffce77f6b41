/*
 * http_server.c - the embedded operational HTTP server (see http_server.h).
 *
 * Every request is answered in the first call libmicrohttpd makes for it:
 * only GET and HEAD are served, so there is never a body to wait for.
 */
#include "http_server.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lyc_httpd_t {
    struct MHD_Daemon *daemon;
    char service[LYC_HTTPD_SERVICE_MAX];
    lyc_metrics_t *metrics;
    lyc_httpd_health_fn health;
    void *health_arg;
    lyc_httpd_route_t routes[LYC_HTTPD_MAX_ROUTES];
    size_t n_routes;
    lyc_counter_t *requests;
    lyc_histogram_t *seconds;
    int port;
};

struct lyc_httpd_request_t {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
};

int lyc_httpd_parse_listen(const char *listen, void *sockaddr_in_out)
{
    struct sockaddr_in *addr = sockaddr_in_out;
    char host[256];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || (size_t) (colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t) (colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return -1;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t) port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    return inet_pton(AF_INET, *host ? host : "0.0.0.0", &addr->sin_addr) == 1 ? 0 : -1;
}

/* ---- requests ---------------------------------------------------------- */

const char *lyc_httpd_method(const lyc_httpd_request_t *req)
{
    return req->method;
}

const char *lyc_httpd_path(const lyc_httpd_request_t *req)
{
    return req->path;
}

const char *lyc_httpd_arg(const lyc_httpd_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int lyc_httpd_reply_json(lyc_httpd_reply_t *reply, int status, const cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    if (!text)
        return -1;
    free(reply->body);
    reply->body = text;
    reply->static_body = NULL;
    reply->len = 0;
    reply->status = status;
    reply->content_type = "application/json";
    return 0;
}

/* The route that serves path, or NULL. */
static const lyc_httpd_route_t *s_match(const lyc_httpd_t *self, const char *path)
{
    for (size_t i = 0; i < self->n_routes; i++) {
        const char *want = self->routes[i].path;
        size_t len = strlen(want);
        if (len > 0 && want[len - 1] == '*' ? strncmp(path, want, len - 1) == 0
                                            : strcmp(path, want) == 0)
            return &self->routes[i];
    }
    return NULL;
}

static void s_reply_text(lyc_httpd_reply_t *reply, int status, const char *text)
{
    free(reply->body);
    reply->body = NULL;
    reply->static_body = text;
    reply->len = 0;
    reply->status = status;
    reply->content_type = "application/json";
}

static int s_metrics(lyc_httpd_t *self, lyc_httpd_reply_t *reply)
{
    reply->body = lyc_metrics_render(self->metrics);
    reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return reply->body ? 0 : -1;
}

static int s_healthz(lyc_httpd_t *self, lyc_httpd_reply_t *reply)
{
    cJSON *root = cJSON_CreateObject();
    if (!root || !cJSON_AddStringToObject(root, "status", "ok") ||
        !cJSON_AddStringToObject(root, "service", self->service)) {
        cJSON_Delete(root);
        return -1;
    }
    int healthy = self->health ? self->health(self->health_arg, root) == 0 : 1;
    if (!healthy)
        cJSON_ReplaceItemInObject(root, "status", cJSON_CreateString("unhealthy"));
    int rc = lyc_httpd_reply_json(reply, healthy ? 200 : 503, root);
    cJSON_Delete(root);
    return rc;
}

/* Fills reply for a GET or HEAD of path; *label gets the metric's path label. */
static void s_dispatch(lyc_httpd_t *self, const lyc_httpd_request_t *req, lyc_httpd_reply_t *reply,
                       const char **label)
{
    const lyc_httpd_route_t *route = s_match(self, req->path);
    int rc;
    if (route) {
        *label = route->path;
        rc = route->handler(route->arg, req, reply);
    } else if (strcmp(req->path, "/metrics") == 0 && self->metrics) {
        *label = "/metrics";
        rc = s_metrics(self, reply);
    } else if (strcmp(req->path, "/healthz") == 0) {
        *label = "/healthz";
        rc = s_healthz(self, reply);
    } else {
        *label = "other";
        s_reply_text(reply, 404, "{\"error\":\"not found\"}");
        rc = 0;
    }
    if (rc != 0) {
        LYC_WARN(NULL, "%s: GET %s failed inside its handler", self->service, req->path);
        s_reply_text(reply, 500, "{\"error\":\"internal error\"}");
    }
}

/* Queues the reply (body freed here in every case). */
static enum MHD_Result s_queue(struct MHD_Connection *conn, lyc_httpd_reply_t *reply)
{
    const char *data = reply->body ? reply->body : reply->static_body ? reply->static_body : "";
    size_t len = reply->len ? reply->len : strlen(data);
    struct MHD_Response *resp =
        reply->body ? MHD_create_response_from_buffer(len, (void *) data, MHD_RESPMEM_MUST_FREE)
                    : MHD_create_response_from_buffer(len, (void *) data, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(reply->body);
        return MHD_NO;
    }
    reply->body = NULL; /* the response owns it now */
    MHD_add_response_header(resp, "Content-Type", reply->content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned) reply->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void s_count(lyc_httpd_t *self, const char *label, int status, int64_t started_us)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *labels[] = {label, code};
    lyc_counter_add(self->requests, labels, 1);
    const char *path_label[] = {label};
    lyc_histogram_observe(self->seconds, path_label, (double) (lyc_mono_us() - started_us) / 1e6);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    lyc_httpd_t *self = cls;
    int64_t started_us = lyc_mono_us();
    lyc_httpd_reply_t reply = {.status = 200, .content_type = "application/json"};
    const lyc_httpd_request_t req = {.conn = conn, .method = method, .path = url};
    const char *label = "other";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        s_reply_text(&reply, 405, "{\"error\":\"only GET and HEAD are served\"}");
    else
        s_dispatch(self, &req, &reply, &label);
    int status = reply.status;
    enum MHD_Result rc = s_queue(conn, &reply);
    s_count(self, label, status, started_us);
    return rc;
}

/* ---- the server --------------------------------------------------------- */

static int s_service_valid(const char *name)
{
    if (!name || !*name || strlen(name) >= LYC_HTTPD_SERVICE_MAX)
        return 0;
    for (const char *p = name; *p; p++)
        if (!islower((unsigned char) *p) && *p != '_')
            return 0;
    return 1;
}

/* Declares lyceum_<service>_http_* and the start time. */
static int s_declare(lyc_httpd_t *self)
{
    char name[128];
    snprintf(name, sizeof name, "lyceum_%s_http_requests_total", self->service);
    self->requests = lyc_metrics_counter(self->metrics, name,
                                         "HTTP requests of the operational server by path and "
                                         "status",
                                         "path,status");
    snprintf(name, sizeof name, "lyceum_%s_http_request_seconds", self->service);
    self->seconds = lyc_metrics_histogram(
        self->metrics, name, "Time to answer an HTTP request, by path", "path", NULL, 0);
    snprintf(name, sizeof name, "lyceum_%s_start_time_seconds", self->service);
    lyc_gauge_t *start = lyc_metrics_gauge(
        self->metrics, name, "When the process started, seconds since the epoch", NULL);
    if (!self->requests || !self->seconds || !start)
        return -1;
    return lyc_gauge_set(start, NULL, (double) lyc_wall_us() / 1e6);
}

static int s_start(lyc_httpd_t *self, const lyc_httpd_config_t *config)
{
    struct sockaddr_in addr;
    if (lyc_httpd_parse_listen(config->listen, &addr) != 0) {
        LYC_ERROR(NULL, "%s: http listen address '%s' is not host:port", self->service,
                  config->listen ? config->listen : "(null)");
        return -1;
    }
    unsigned threads = config->threads ? config->threads : LYC_HTTPD_THREADS;
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_EPOLL, 0, NULL, NULL,
        s_handler, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) LYC_HTTPD_TIMEOUT_S, MHD_OPTION_END);
    if (!self->daemon) {
        LYC_ERROR(NULL, "%s: cannot serve HTTP on %s (address taken?)", self->service,
                  config->listen);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int) info->port : (int) ntohs(addr.sin_port);
    return 0;
}

lyc_httpd_t *lyc_httpd_new(const lyc_httpd_config_t *config)
{
    if (!s_service_valid(config->service) || config->n_routes > LYC_HTTPD_MAX_ROUTES ||
        !config->metrics) {
        LYC_ERROR(NULL, "http server: bad service name, no metrics registry or too many routes");
        return NULL;
    }
    lyc_httpd_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->service, sizeof self->service, "%s", config->service);
    self->metrics = config->metrics;
    self->health = config->health;
    self->health_arg = config->health_arg;
    self->n_routes = config->n_routes;
    for (size_t i = 0; i < config->n_routes; i++)
        self->routes[i] = config->routes[i];
    if (s_declare(self) != 0 || s_start(self, config) != 0) {
        lyc_httpd_destroy(&self);
        return NULL;
    }
    LYC_INFO(NULL, "%s: serving /metrics and /healthz on %s (port %d)", self->service,
             config->listen, self->port);
    return self;
}

void lyc_httpd_destroy(lyc_httpd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->daemon)
        MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}

int lyc_httpd_port(const lyc_httpd_t *self)
{
    return self->port;
}
