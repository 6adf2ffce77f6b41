/*
 * trainer_http.c - /metrics and /healthz.
 */
#include "trainer_http.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STUCK_US (30 * 1000000LL)

struct lyc_trainer_http_t {
    struct MHD_Daemon *daemon;
    lyc_metrics_t *metrics;
    const volatile int64_t *heartbeat_us;
};

static enum MHD_Result s_send(struct MHD_Connection *conn, unsigned status, const char *type,
                              char *body)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    lyc_trainer_http_t *self = cls;
    if (strcmp(method, "GET") != 0)
        return s_send(conn, 405, "text/plain", strdup("method not allowed\n"));
    if (strcmp(url, "/metrics") == 0)
        return s_send(conn, 200, "text/plain; version=0.0.4", lyc_metrics_render(self->metrics));
    if (strcmp(url, "/healthz") == 0) {
        double idle = (double) (lyc_mono_us() - *self->heartbeat_us) / 1e6;
        int ok = idle * 1e6 < (double) S_STUCK_US;
        char body[128];
        snprintf(body, sizeof body, "{\"status\":\"%s\",\"loop_idle_s\":%.1f}", ok ? "ok" : "stuck",
                 idle);
        return s_send(conn, ok ? 200 : 503, "application/json", strdup(body));
    }
    return s_send(conn, 404, "text/plain", strdup("not found\n"));
}

static int s_parse(const char *listen, struct sockaddr_in *addr)
{
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

lyc_trainer_http_t *lyc_trainer_http_new(const char *listen, lyc_metrics_t *metrics,
                                         const volatile int64_t *heartbeat_us)
{
    struct sockaddr_in addr;
    if (s_parse(listen, &addr) != 0) {
        LYC_ERROR(NULL, "trainer: trainer.http_listen '%s' is not host:port", listen);
        return NULL;
    }
    lyc_trainer_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->metrics = metrics;
    self->heartbeat_us = heartbeat_us;
    self->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         s_handler, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30, MHD_OPTION_END);
    if (!self->daemon) {
        LYC_ERROR(NULL, "trainer: cannot serve HTTP on %s (address taken?)", listen);
        free(self);
        return NULL;
    }
    LYC_INFO(NULL, "trainer: /metrics and /healthz on http://%s", listen);
    return self;
}

void lyc_trainer_http_destroy(lyc_trainer_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}
