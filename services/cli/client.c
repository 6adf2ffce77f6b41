/*
 * client.c - HTTP calls to the router (see client.h).
 */
#include "client.h"

#include "http_client.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ASK_TIMEOUT_MS (120 * 1000)
#define S_MAX_REPLY      (4u * 1024 * 1024)

struct lyc_client_t {
    lyc_http_t *http;
    char url[256];
};

lyc_client_t *lyc_client_new(const char *base_url)
{
    lyc_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->http = lyc_http_new();
    if (!self->http || strlen(base_url) >= sizeof self->url) {
        lyc_client_destroy(&self);
        return NULL;
    }
    snprintf(self->url, sizeof self->url, "%s", base_url);
    size_t len = strlen(self->url);
    while (len > 0 && self->url[len - 1] == '/')
        self->url[--len] = '\0';
    return self;
}

void lyc_client_destroy(lyc_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_http_destroy(&(*self_p)->http);
    free(*self_p);
    *self_p = NULL;
}

const char *lyc_client_url(const lyc_client_t *self)
{
    return self->url;
}

/* 1 when a failed call never reached the router. */
static int s_unreachable(const lyc_http_response_t *resp)
{
    return resp->status == 0 &&
           (strstr(resp->error, "connect to") || strstr(resp->error, "Couldn't connect") ||
            strstr(resp->error, "Connection refused"));
}

/* GETs base URL + path; 0 with a 200 response in *resp, else -1. */
static int s_get(lyc_client_t *self, const char *path, long timeout_ms, lyc_http_response_t *resp)
{
    char url[320];
    snprintf(url, sizeof url, "%s%s", self->url, path);
    lyc_http_request_t req = {.url = url,
                              .connect_timeout_ms = timeout_ms < 2000 ? timeout_ms : 2000,
                              .timeout_ms = timeout_ms,
                              .max_response = S_MAX_REPLY};
    if (lyc_http_get(self->http, &req, resp) != 0)
        return -1;
    return resp->status == 200 ? 0 : -1;
}

int lyc_client_healthz(lyc_client_t *self, long timeout_ms)
{
    lyc_http_response_t resp;
    int rc = s_get(self, "/healthz", timeout_ms, &resp);
    lyc_http_response_free(&resp);
    return rc;
}

/* Copies a JSON string member into buf ("" when absent). */
static void s_copy_string(const cJSON *obj, const char *name, char *buf, size_t cap)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    snprintf(buf, cap, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

static double s_number(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(item) ? item->valuedouble : 0.0;
}

static void s_parse_model(const cJSON *item, lyc_client_model_t *m)
{
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(item, "lyceum");
    memset(m, 0, sizeof *m);
    s_copy_string(item, "id", m->name, sizeof m->name);
    s_copy_string(info, "backend", m->backend, sizeof m->backend);
    m->role = (int) s_number(info, "role");
    m->replicas = (int) s_number(info, "replicas");
    m->in_flight = (int) s_number(info, "in_flight");
}

int lyc_client_models(lyc_client_t *self, long timeout_ms, lyc_client_model_t *out, size_t cap,
                      size_t *n, char *err, size_t errcap)
{
    lyc_http_response_t resp;
    int rc = -1;
    *n = 0;
    if (s_get(self, "/healthz", timeout_ms, &resp) != 0) {
        if (resp.status)
            snprintf(err, errcap, "GET %s/healthz: HTTP %ld", self->url, resp.status);
        else
            snprintf(err, errcap, "GET %s/healthz: %s", self->url, resp.error);
        goto out_free_resp;
    }
    cJSON *root = cJSON_ParseWithLength(resp.body, resp.body_len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        snprintf(err, errcap, "GET %s/healthz: the reply has no 'data' list", self->url);
        goto out_free_json;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, data)
    {
        if (!cJSON_GetObjectItemCaseSensitive(item, "lyceum") || *n >= cap)
            continue;
        s_parse_model(item, &out[(*n)++]);
    }
    rc = 0;
out_free_json:
    cJSON_Delete(root);
out_free_resp:
    lyc_http_response_free(&resp);
    return rc;
}

/* ---- queries ----------------------------------------------------------- */

static void s_add_optional(cJSON *obj, const char *name, const char *value)
{
    if (value && *value)
        cJSON_AddStringToObject(obj, name, value);
}

char *lyc_client_query_body(const lyc_client_query_t *query)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "model", query->model && *query->model ? query->model : "lyceum");
    cJSON *messages = cJSON_AddArrayToObject(root, "messages");
    cJSON *message = cJSON_CreateObject();
    cJSON_AddStringToObject(message, "role", "user");
    cJSON_AddStringToObject(message, "content", query->prompt);
    cJSON_AddItemToArray(messages, message);
    s_add_optional(root, "user", query->user);
    if ((query->tenant && *query->tenant) || (query->domain && *query->domain)) {
        cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
        s_add_optional(meta, "tenant", query->tenant);
        s_add_optional(meta, "domain", query->domain);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* Reads the `lyceum` object of a reply. */
static void s_parse_lyceum(const cJSON *obj, lyc_client_reply_t *reply)
{
    s_copy_string(obj, "path", reply->path, sizeof reply->path);
    s_copy_string(obj, "domain", reply->domain, sizeof reply->domain);
    s_copy_string(obj, "chosen", reply->chosen, sizeof reply->chosen);
    s_copy_string(obj, "trace_id", reply->trace_id, sizeof reply->trace_id);
    reply->cost_usd = s_number(obj, "cost_usd");
    s_copy_string(obj, "judged_by", reply->judged_by, sizeof reply->judged_by);
    reply->judge_calls = (unsigned) s_number(obj, "judge_calls");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(obj, "judges"))
    {
        if (cJSON_IsString(item) && reply->n_judges < LYC_CLIENT_MAX_MODELS)
            snprintf(reply->judges[reply->n_judges++], LYC_CLIENT_NAME_MAX, "%s",
                     item->valuestring);
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(obj, "answered_by"))
    {
        if (cJSON_IsString(item) && reply->n_answered_by < LYC_CLIENT_MAX_MODELS)
            snprintf(reply->answered_by[reply->n_answered_by++], LYC_CLIENT_NAME_MAX, "%s",
                     item->valuestring);
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(obj, "scores"))
    {
        if (!cJSON_IsNumber(item) || reply->n_scores >= LYC_CLIENT_MAX_MODELS)
            continue;
        lyc_client_score_t *s = &reply->scores[reply->n_scores++];
        snprintf(s->model, sizeof s->model, "%s", item->string ? item->string : "");
        s->score = item->valuedouble;
    }
}

/* Parses a 200 reply; -1 with reply->error when it is not a chat completion. */
static int s_parse_reply(lyc_client_reply_t *reply)
{
    cJSON *root = cJSON_Parse(reply->raw);
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(choice, "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(message, "content");
    int rc = -1;
    if (!cJSON_IsString(content)) {
        snprintf(reply->error, sizeof reply->error, "the reply has no choices[0].message.content");
        goto out_free_json;
    }
    reply->content = strdup(content->valuestring);
    if (!reply->content) {
        snprintf(reply->error, sizeof reply->error, "out of memory");
        goto out_free_json;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    reply->prompt_tokens = (unsigned) s_number(usage, "prompt_tokens");
    reply->completion_tokens = (unsigned) s_number(usage, "completion_tokens");
    s_parse_lyceum(cJSON_GetObjectItemCaseSensitive(root, "lyceum"), reply);
    rc = 0;
out_free_json:
    cJSON_Delete(root);
    return rc;
}

/* Explains a non-200 reply from its OpenAI-style error object. */
static void s_explain_status(lyc_client_reply_t *reply)
{
    cJSON *root = cJSON_Parse(reply->raw ? reply->raw : "");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    snprintf(reply->error, sizeof reply->error, "the router answered HTTP %ld: %s", reply->status,
             cJSON_IsString(message) ? message->valuestring : "(no error message)");
    cJSON_Delete(root);
}

int lyc_client_ask(lyc_client_t *self, const lyc_client_query_t *query, lyc_client_reply_t *reply)
{
    char url[320];
    memset(reply, 0, sizeof *reply);
    char *body = lyc_client_query_body(query);
    if (!body) {
        snprintf(reply->error, sizeof reply->error, "out of memory");
        return -1;
    }
    snprintf(url, sizeof url, "%s/v1/chat/completions", self->url);
    lyc_http_request_t req = {.url = url,
                              .body = body,
                              .body_len = strlen(body),
                              .timeout_ms =
                                  query->timeout_ms ? query->timeout_ms : S_ASK_TIMEOUT_MS,
                              .max_response = S_MAX_REPLY};
    lyc_http_response_t resp;
    int rc = lyc_http_post_json(self->http, &req, &resp);
    free(body);
    reply->status = resp.status;
    if (rc != 0) {
        reply->unreachable = s_unreachable(&resp);
        snprintf(reply->error, sizeof reply->error, "%s",
                 reply->unreachable ? LYC_CLIENT_NOT_RUNNING : resp.error);
        lyc_http_response_free(&resp);
        return -1;
    }
    reply->raw = resp.body;
    resp.body = NULL;
    lyc_http_response_free(&resp);
    if (reply->status != 200) {
        s_explain_status(reply);
        return -1;
    }
    return s_parse_reply(reply);
}

void lyc_client_reply_free(lyc_client_reply_t *reply)
{
    if (!reply)
        return;
    free(reply->raw);
    free(reply->content);
    memset(reply, 0, sizeof *reply);
}
