/*
 * openai_api.c - chat completion requests and replies as JSON (cJSON).
 */
#include "openai_api.h"

#include "pb.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lyc_api_fail(lyc_api_error_t *err, int status, const char *type, const char *code,
                 const char *param, const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    err->type = type;
    err->code = code;
    err->param = param;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int lyc_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80)
            continue;
        int extra;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0)
            extra = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            extra = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            extra = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (end - p < extra)
            return 0;
        for (int i = 0; i < extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        p += extra;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

/* ---- requests ---------------------------------------------------------- */

#define S_BAD(err, param, ...)                                                                     \
    lyc_api_fail((err), 400, "invalid_request_error", "invalid_value", (param), __VA_ARGS__)

/* A string field that must be UTF-8; NULL (not an error) when absent. */
static int s_opt_string(const cJSON *obj, const char *name, const char *param, char **out,
                        lyc_api_error_t *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsString(item))
        return S_BAD(err, param, "'%s' must be a string", param);
    if (!lyc_utf8_valid(item->valuestring, strlen(item->valuestring)))
        return S_BAD(err, param, "'%s' is not valid UTF-8", param);
    *out = strdup(item->valuestring);
    return *out ? 0 : lyc_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
}

/* The text of a message's content: a string, or an array of text parts. */
static char *s_content_text(const cJSON *content, lyc_api_error_t *err)
{
    if (!content || cJSON_IsNull(content))
        return strdup("");
    if (cJSON_IsString(content))
        return strdup(content->valuestring);
    if (!cJSON_IsArray(content)) {
        S_BAD(err, "messages", "message content must be a string or an array of parts");
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    const cJSON *part;
    int bad = 0;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 ||
            !cJSON_IsString(value)) {
            bad = 1;
            break;
        }
        fputs(value->valuestring, out);
    }
    fclose(out);
    if (bad) {
        free(text);
        S_BAD(err, "messages", "only text content parts are supported");
        return NULL;
    }
    return text;
}

static int s_role_known(const char *role)
{
    static const char *roles[] = {"system", "developer", "user", "assistant", "tool"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return 1;
    return 0;
}

static Lyceum__V1__ChatMessage *s_parse_message(const cJSON *item, size_t *total,
                                                lyc_api_error_t *err)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
    if (!cJSON_IsObject(item) || !cJSON_IsString(role) || !s_role_known(role->valuestring)) {
        S_BAD(err, "messages",
              "each message needs a role: system, developer, user, assistant or tool");
        return NULL;
    }
    char *text = s_content_text(cJSON_GetObjectItemCaseSensitive(item, "content"), err);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    if (!lyc_utf8_valid(text, len)) {
        free(text);
        S_BAD(err, "messages", "message content is not valid UTF-8");
        return NULL;
    }
    Lyceum__V1__ChatMessage *m = lyc_pb_new(&lyceum__v1__chat_message__descriptor);
    if (!m) {
        free(text);
        return NULL;
    }
    m->role = strdup(role->valuestring);
    m->content = text;
    *total += len;
    return m;
}

static int s_parse_messages(const cJSON *root, Lyceum__V1__ClientQuery *q, size_t max_bytes,
                            lyc_api_error_t *err)
{
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0)
        return lyc_api_fail(err, 400, "invalid_request_error", "missing_required_parameter",
                            "messages", "'messages' must be a non-empty array");
    size_t total = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, messages)
    {
        Lyceum__V1__ChatMessage *m = s_parse_message(item, &total, err);
        if (!m)
            return -1;
        if (lyc_pb_append((void ***) &q->messages, &q->n_messages, m) != 0) {
            lyc_pb_free(m);
            return lyc_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        }
        if (total > max_bytes)
            return lyc_api_fail(err, 413, "invalid_request_error", "context_length_exceeded",
                                "messages", "the prompt is longer than %zu bytes", max_bytes);
    }
    return 0;
}

static int s_parse_numbers(const cJSON *root, Lyceum__V1__ClientQuery *q, lyc_api_error_t *err)
{
    const char *limits[] = {"max_tokens", "max_completion_tokens"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, limits[i]);
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e7)
            return S_BAD(err, limits[i], "'%s' must be a positive integer", limits[i]);
        q->max_tokens = (uint32_t) v->valuedouble;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 2)
            return S_BAD(err, "temperature", "'temperature' must be a number from 0 to 2");
        q->temperature = t->valuedouble;
        q->temperature_set = 1;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsNull(stream)) {
        if (!cJSON_IsBool(stream))
            return S_BAD(err, "stream", "'stream' must be true or false");
        q->stream = cJSON_IsTrue(stream);
    }
    return 0;
}

/* Moves a parsed optional string into a ClientQuery field (keeps the default when NULL). */
static void s_take(char **field, char *value)
{
    if (value)
        *field = value;
}

static int s_parse_lyceum_fields(const cJSON *root, Lyceum__V1__ClientQuery *q,
                                 lyc_api_error_t *err)
{
    char *model, *user, *tenant = NULL, *muser = NULL, *domain = NULL;
    if (s_opt_string(root, "model", "model", &model, err) != 0)
        return -1;
    s_take(&q->model, model);
    if (s_opt_string(root, "user", "user", &user, err) != 0)
        return -1;
    s_take(&q->user, user);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (!meta || cJSON_IsNull(meta))
        return 0;
    if (!cJSON_IsObject(meta))
        return S_BAD(err, "metadata", "'metadata' must be an object");
    if (s_opt_string(meta, "tenant", "metadata.tenant", &tenant, err) != 0)
        return -1;
    s_take(&q->tenant, tenant);
    if (s_opt_string(meta, "user", "metadata.user", &muser, err) != 0)
        return -1;
    if (muser) {
        if (q->user != (char *) protobuf_c_empty_string)
            free(q->user);
        q->user = muser;
    }
    if (s_opt_string(meta, "domain", "metadata.domain", &domain, err) != 0)
        return -1;
    s_take(&q->domain, domain);
    return 0;
}

Lyceum__V1__ClientQuery *lyc_api_parse_chat(const char *body, size_t len, size_t max_prompt_bytes,
                                            lyc_api_error_t *err)
{
    if (!body || len == 0) {
        S_BAD(err, NULL, "the request body is empty; send a JSON object");
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root || !cJSON_IsObject(root)) {
        S_BAD(err, NULL, "the request body is not a JSON object");
        cJSON_Delete(root);
        return NULL;
    }
    Lyceum__V1__ClientQuery *q = lyc_pb_new(&lyceum__v1__client_query__descriptor);
    if (!q) {
        lyc_api_fail(err, 500, "server_error", NULL, NULL, "out of memory");
        goto out_free_json;
    }
    if (s_parse_messages(root, q, max_prompt_bytes, err) != 0 ||
        s_parse_numbers(root, q, err) != 0 || s_parse_lyceum_fields(root, q, err) != 0) {
        lyc_pb_free(q);
        q = NULL;
    }
out_free_json:
    cJSON_Delete(root);
    return q;
}

/* ---- replies ----------------------------------------------------------- */

static const char *s_path_name(Lyceum__V1__Path path)
{
    switch (path) {
    case LYCEUM__V1__PATH__PATH_NOVEL:
        return "novel";
    case LYCEUM__V1__PATH__PATH_FAMILIAR:
        return "familiar";
    default:
        return "none";
    }
}

static cJSON *s_lyceum_object(const Lyceum__V1__ClientReply *reply)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "path", s_path_name(reply->path));
    cJSON_AddStringToObject(obj, "domain", reply->domain);
    cJSON *by = cJSON_AddArrayToObject(obj, "answered_by");
    for (size_t i = 0; i < reply->n_answered_by; i++)
        cJSON_AddItemToArray(by, cJSON_CreateString(reply->answered_by[i]));
    cJSON_AddStringToObject(obj, "chosen", reply->chosen);
    cJSON *scores = cJSON_AddObjectToObject(obj, "scores");
    for (size_t i = 0; i < reply->n_scores; i++)
        cJSON_AddNumberToObject(scores, reply->scores[i]->model, reply->scores[i]->score);
    cJSON_AddNumberToObject(obj, "cost_usd", reply->cost_usd);
    cJSON_AddStringToObject(obj, "judged_by", reply->judged_by);
    cJSON_AddNumberToObject(obj, "judge_calls", reply->judge_calls);
    cJSON *judges = cJSON_AddArrayToObject(obj, "judges");
    for (size_t i = 0; i < reply->n_judges; i++)
        cJSON_AddItemToArray(judges, cJSON_CreateString(reply->judges[i]));
    cJSON_AddStringToObject(obj, "trace_id", reply->trace_id);
    return obj;
}

static cJSON *s_usage_object(const Lyceum__V1__ClientReply *reply)
{
    cJSON *usage = cJSON_CreateObject();
    unsigned in = reply->usage ? reply->usage->prompt_tokens : 0;
    unsigned out = reply->usage ? reply->usage->completion_tokens : 0;
    cJSON_AddNumberToObject(usage, "prompt_tokens", in);
    cJSON_AddNumberToObject(usage, "completion_tokens", out);
    cJSON_AddNumberToObject(usage, "total_tokens", (double) in + out);
    return usage;
}

static cJSON *s_envelope_object(const Lyceum__V1__ClientReply *reply, const char *object,
                                int64_t created)
{
    char id[96];
    snprintf(id, sizeof id, "chatcmpl-%s", reply->trace_id);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "object", object);
    cJSON_AddNumberToObject(root, "created", (double) created);
    cJSON_AddStringToObject(root, "model", *reply->chosen ? reply->chosen : "lyceum");
    return root;
}

char *lyc_api_render_chat(const Lyceum__V1__ClientReply *reply, int64_t created)
{
    cJSON *root = s_envelope_object(reply, "chat.completion", created);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *message = cJSON_AddObjectToObject(choice, "message");
    cJSON_AddStringToObject(message, "role", "assistant");
    cJSON_AddStringToObject(message, "content", reply->content);
    cJSON_AddStringToObject(choice, "finish_reason",
                            *reply->finish_reason ? reply->finish_reason : "stop");
    cJSON_AddItemToArray(choices, choice);
    cJSON_AddItemToObject(root, "usage", s_usage_object(reply));
    cJSON_AddItemToObject(root, "lyceum", s_lyceum_object(reply));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* Appends one "data: {chunk}\n\n" event with the given delta. */
static void s_stream_event(FILE *out, const Lyceum__V1__ClientReply *reply, int64_t created,
                           const char *role, const char *content, size_t len, int last)
{
    cJSON *root = s_envelope_object(reply, "chat.completion.chunk", created);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *delta = cJSON_AddObjectToObject(choice, "delta");
    if (role)
        cJSON_AddStringToObject(delta, "role", role);
    if (content) {
        char *piece = strndup(content, len);
        cJSON_AddStringToObject(delta, "content", piece ? piece : "");
        free(piece);
    }
    if (last) {
        cJSON_AddStringToObject(choice, "finish_reason",
                                *reply->finish_reason ? reply->finish_reason : "stop");
        cJSON_AddItemToObject(root, "usage", s_usage_object(reply));
        cJSON_AddItemToObject(root, "lyceum", s_lyceum_object(reply));
    } else {
        cJSON_AddNullToObject(choice, "finish_reason");
    }
    cJSON_AddItemToArray(choices, choice);
    char *text = cJSON_PrintUnformatted(root);
    fprintf(out, "data: %s\n\n", text ? text : "{}");
    free(text);
    cJSON_Delete(root);
}

/* Length of the next piece of content: about 32 bytes, ending at a UTF-8 boundary. */
static size_t s_piece_len(const char *s, size_t left)
{
    size_t n = left < 32 ? left : 32;
    while (n < left && ((unsigned char) s[n] & 0xc0) == 0x80)
        n++;
    return n;
}

char *lyc_api_render_stream(const Lyceum__V1__ClientReply *reply, int64_t created)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    s_stream_event(out, reply, created, "assistant", "", 0, 0);
    const char *content = reply->content;
    size_t left = strlen(content);
    while (left > 0) {
        size_t n = s_piece_len(content, left);
        s_stream_event(out, reply, created, NULL, content, n, 0);
        content += n;
        left -= n;
    }
    s_stream_event(out, reply, created, NULL, NULL, 0, 1);
    fputs("data: [DONE]\n\n", out);
    fclose(out);
    return text;
}

char *lyc_api_render_error(const lyc_api_error_t *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", err->message);
    cJSON_AddStringToObject(e, "type", err->type ? err->type : "server_error");
    if (err->param)
        cJSON_AddStringToObject(e, "param", err->param);
    else
        cJSON_AddNullToObject(e, "param");
    if (err->code)
        cJSON_AddStringToObject(e, "code", err->code);
    else
        cJSON_AddNullToObject(e, "code");
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

void lyc_api_error_of_reply(const Lyceum__V1__ClientReply *reply, lyc_api_error_t *err)
{
    const Lyceum__V1__Error *e = reply->error;
    const char *message = e && *e->message ? e->message : "the query failed";
    switch (e ? e->code : LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL) {
    case LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST:
        lyc_api_fail(err, 400, "invalid_request_error", "invalid_value", NULL, "%s", message);
        break;
    case LYCEUM__V1__ERROR_CODE__ERROR_BUDGET:
        lyc_api_fail(err, 429, "insufficient_quota", "budget_exceeded", NULL, "%s", message);
        break;
    case LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT:
        lyc_api_fail(err, 504, "server_error", "timeout", NULL, "%s", message);
        break;
    case LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE:
    case LYCEUM__V1__ERROR_CODE__ERROR_BACKEND:
    case LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED:
        lyc_api_fail(err, 503, "server_error", "models_unavailable", NULL, "%s", message);
        break;
    default:
        lyc_api_fail(err, 500, "server_error", NULL, NULL, "%s", message);
    }
}
