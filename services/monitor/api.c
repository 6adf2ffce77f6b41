/*
 * api.c - the dashboard and the JSON views over HTTP (see api.h).
 */
#include "api.h"

#include "dashboard.h"

#include <stdlib.h>
#include <string.h>

static int s_dashboard(void *arg, const lyc_httpd_request_t *req, lyc_httpd_reply_t *reply)
{
    reply->static_body = lyc_dashboard_html;
    reply->len = (size_t) lyc_dashboard_len;
    reply->content_type = "text/html; charset=utf-8";
    return 0;
}

static int s_view(void *arg, const lyc_httpd_request_t *req, lyc_httpd_reply_t *reply)
{
    lyc_api_t *api = arg;
    const char *name = lyc_httpd_path(req) + strlen("/api/");
    if (strcmp(name, "all") == 0) {
        reply->body = lyc_snapshot_get_all(api->snapshot);
        return reply->body ? 0 : -1;
    }
    int view = lyc_view_parse(name);
    if (view < 0) {
        reply->status = 404;
        reply->static_body = "{\"error\":\"no such view; see GET /api/all\"}";
        return 0;
    }
    reply->body = lyc_snapshot_get(api->snapshot, (lyc_view_t) view);
    return reply->body ? 0 : -1;
}

size_t lyc_api_routes(lyc_api_t *api, lyc_httpd_route_t *routes)
{
    routes[0] = (lyc_httpd_route_t){.path = "/", .handler = s_dashboard, .arg = api};
    routes[1] = (lyc_httpd_route_t){.path = "/index.html", .handler = s_dashboard, .arg = api};
    routes[2] = (lyc_httpd_route_t){.path = "/api/*", .handler = s_view, .arg = api};
    return LYC_API_ROUTES;
}

int lyc_api_health(void *arg, cJSON *detail)
{
    lyc_api_t *api = arg;
    int consumer = atomic_load(api->healthy);
    uint64_t snapshots = lyc_snapshot_version(api->snapshot);
    cJSON_AddStringToObject(detail, "consumer", consumer ? "ok" : "failed");
    cJSON_AddNumberToObject(detail, "snapshots", (double) snapshots);
    return consumer && snapshots > 0 ? 0 : -1;
}
