/*
 * vecstore.c - per-tenant vector sets, query records and counters in Redis 8.
 *
 * Everything a caller names (tenant, record id, domain, model) is checked
 * against a small character set before it reaches a key or a FILTER
 * expression, so no input can address another tenant's keys or inject filter
 * syntax. Vectors travel as little-endian FP32 blobs (binary-safe argv).
 *
 * Redis 8.0.2 has no VSIM WITHATTRIBS (a later addition), so a search is two
 * round trips: VSIM ... WITHSCORES, then one pipelined VGETATTR per hit.
 */
#define _GNU_SOURCE /* asprintf, open_memstream, POLLRDHUP, strndup */

#include "vecstore.h"

#include "log.h"
#include "redis.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LYC_VECSTORE_DEFAULT_PREFIX  "lyc"
#define LYC_VECSTORE_DEFAULT_TIMEOUT 2000    /* ms */
#define LYC_VECSTORE_MAX_EF          1000000 /* VSIM EF upper bound we accept */
#define LYC_VECSTORE_MAX_FIELD       128     /* bytes in a record field or counter name */
#define LYC_VECSTORE_MAX_MIN_SCORE   1e9     /* |min_score| in a filter */
#define LYC_VECSTORE_MAX_EXACT_TS    9007199254740992.0 /* 2^53: exact in JSON numbers */
#define LYC_VECSTORE_SCAN_COUNT      "500"
#define LYC_VECSTORE_BLOB_ARG        3 /* VADD / VSIM: key FP32 <blob> */

#define LYC_VECSTORE_ID_CHARS     "_.:-"
#define LYC_VECSTORE_TENANT_CHARS "_.-"

struct lyc_vecstore_t {
    lyc_redis_t *redis;
    char *prefix;
    size_t dim;
    lyc_vecstore_quant_t quant;
    int search_ef;
    int search_threaded;
    unsigned char *blob; /* dim * 4 bytes: the FP32 argument of VADD / VSIM */
};

static const char *s_quant_tokens[] = {"Q8", "NOQUANT", "BIN"};

/* ------------------------------------------------------------------------ */
/* Checking names and values                                                 */

/* 1 when s is 1..max bytes of ASCII letters, digits and the extra characters. */
static int s_name_ok(const char *s, size_t max, const char *extra)
{
    if (!s)
        return 0;
    size_t len = strnlen(s, max + 1);
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr(extra, c))
            return 0;
    }
    return 1;
}

/* 1 when a domain or model name can sit inside a double-quoted FILTER string
 * literal: Redis' filter parser has no unescaping, so '"' and '\' are refused
 * rather than escaped, and so are control characters. */
static int s_label_ok(const char *s)
{
    size_t len = strnlen(s, LYC_VECSTORE_MAX_LABEL + 1);
    if (len == 0 || len > LYC_VECSTORE_MAX_LABEL)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

int lyc_vecstore_tenant_valid(const char *tenant)
{
    return s_name_ok(tenant, LYC_VECSTORE_MAX_TENANT, LYC_VECSTORE_TENANT_CHARS) &&
           tenant[0] != '_';
}

static int s_check_tenant(const char *tenant)
{
    if (lyc_vecstore_tenant_valid(tenant) ||
        (tenant && strcmp(tenant, LYC_VECSTORE_EXEMPLAR_POOL) == 0))
        return 0;
    LYC_ERROR(NULL,
              "vecstore: bad tenant name \"%.80s\": want 1-%d characters of [A-Za-z0-9_.-], "
              "not starting with '_'",
              tenant ? tenant : "(null)", LYC_VECSTORE_MAX_TENANT);
    return -1;
}

static int s_check_id(const char *record_id)
{
    if (s_name_ok(record_id, LYC_VECSTORE_MAX_ID, LYC_VECSTORE_ID_CHARS))
        return 0;
    LYC_ERROR(NULL, "vecstore: bad record id \"%.160s\": want 1-%d characters of [A-Za-z0-9_.:-]",
              record_id ? record_id : "(null)", LYC_VECSTORE_MAX_ID);
    return -1;
}

/* A domain or model: NULL (absent) or a valid label. */
static int s_check_label(const char *what, const char *label)
{
    if (!label || s_label_ok(label))
        return 0;
    LYC_ERROR(NULL,
              "vecstore: bad %s name \"%.160s\": want 1-%d bytes without control "
              "characters, '\"' or '\\'",
              what, label, LYC_VECSTORE_MAX_LABEL);
    return -1;
}

/* A record field or counter name: 1..LYC_VECSTORE_MAX_FIELD bytes. */
static int s_check_field(const char *what, const char *name)
{
    size_t len = name ? strnlen(name, LYC_VECSTORE_MAX_FIELD + 1) : 0;
    if (len > 0 && len <= LYC_VECSTORE_MAX_FIELD)
        return 0;
    LYC_ERROR(NULL, "vecstore: bad %s name \"%.160s\": want 1-%d bytes", what,
              name ? name : "(null)", LYC_VECSTORE_MAX_FIELD);
    return -1;
}

/* The fields of a record, for lyc_vecstore_record_put and lyc_vecstore_put_new. */
static int s_check_fields(const lyc_vecstore_field_t *fields, size_t count)
{
    if (!fields || count == 0 || count > (size_t) (INT32_MAX / 2 - 2)) {
        LYC_ERROR(NULL, "vecstore: a record takes 1 to %d fields", INT32_MAX / 2 - 2);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (s_check_field("record field", fields[i].name))
            return -1;
        if (!fields[i].value) {
            LYC_ERROR(NULL, "vecstore: record field %s has no value", fields[i].name);
            return -1;
        }
    }
    return 0;
}

static int s_check_attrs(const lyc_vecstore_attrs_t *attrs)
{
    if (!attrs)
        return 0;
    if (s_check_label("domain", attrs->domain) || s_check_label("model", attrs->model))
        return -1;
    if (!isfinite(attrs->score)) {
        LYC_ERROR(NULL, "vecstore: the score must be a finite number");
        return -1;
    }
    if (fabs((double) attrs->ts_us) > LYC_VECSTORE_MAX_EXACT_TS) {
        LYC_ERROR(NULL, "vecstore: timestamp %lld us is out of range", (long long) attrs->ts_us);
        return -1;
    }
    return 0;
}

/* The vector has the store's dimension, finite values and a direction. */
static int s_check_vector(const lyc_vecstore_t *self, const float *vector, size_t dim)
{
    if (!vector) {
        LYC_ERROR(NULL, "vecstore: no vector given");
        return -1;
    }
    if (dim != self->dim) {
        LYC_ERROR(NULL, "vecstore: wrong vector dimension %zu (the store's is %zu)", dim,
                  self->dim);
        return -1;
    }
    int nonzero = 0;
    for (size_t i = 0; i < dim; i++) {
        if (!isfinite(vector[i])) {
            LYC_ERROR(NULL, "vecstore: vector value %zu is not a finite number", i);
            return -1;
        }
        nonzero |= vector[i] != 0.0f;
    }
    if (!nonzero) {
        LYC_ERROR(NULL, "vecstore: the zero vector has no direction to compare");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Keys, arguments and replies                                               */

/* "<prefix>:{<tenant>}:<kind>" or, with an id, "<prefix>:{<tenant>}:<kind>:<id>".
 * Returns a new string, or NULL (logged) when out of memory. */
static char *s_key(const lyc_vecstore_t *self, const char *tenant, const char *kind, const char *id)
{
    char *key = NULL;
    int n = id ? asprintf(&key, "%s:{%s}:%s:%s", self->prefix, tenant, kind, id)
               : asprintf(&key, "%s:{%s}:%s", self->prefix, tenant, kind);
    if (n < 0) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        return NULL;
    }
    return key;
}

/* The vector as Redis' FP32 argument: little-endian float32, in self->blob. */
static void s_blob_into(size_t dim, const float *vector, unsigned char *out)
{
    for (size_t i = 0; i < dim; i++) {
        uint32_t bits;
        memcpy(&bits, &vector[i], sizeof bits);
        bits = htole32(bits);
        memcpy(out + i * sizeof bits, &bits, sizeof bits);
    }
}

static void s_fill_blob(lyc_vecstore_t *self, const float *vector)
{
    s_blob_into(self->dim, vector, self->blob);
}

/* Argument lengths for VADD / VSIM: argv[LYC_VECSTORE_BLOB_ARG] is the vector
 * blob (self->dim floats), every other argument is text. */
static void s_arg_lengths(const lyc_vecstore_t *self, int argc, const char **argv, size_t *argvlen)
{
    for (int i = 0; i < argc; i++)
        argvlen[i] = i == LYC_VECSTORE_BLOB_ARG ? self->dim * sizeof(float) : strlen(argv[i]);
}

/* 0 when none of the replies (nor the elements of an EXEC reply) is an error;
 * else logs the first error with what failed and returns -1. */
static int s_check_replies(const char *what, size_t count, redisReply **replies)
{
    for (size_t i = 0; i < count; i++) {
        const redisReply *r = replies[i];
        for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++) {
            if (r->element[j]->type == REDIS_REPLY_ERROR) {
                r = r->element[j];
                break;
            }
        }
        if (r->type == REDIS_REPLY_ERROR) {
            LYC_ERROR(NULL, "vecstore: %s failed: %s", what, r->str);
            return -1;
        }
    }
    return 0;
}

/* Parses a reply that carries a number as text (HINCRBYFLOAT, HGET, VSIM scores). */
static int s_reply_double(const redisReply *reply, double *value)
{
    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS)
        return -1;
    char *end = NULL;
    *value = strtod(reply->str, &end);
    return end != reply->str && *end == '\0' ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Lifetime                                                                  */

static int s_check_config(const lyc_vecstore_config_t *config)
{
    const char *prefix = config->key_prefix ? config->key_prefix : LYC_VECSTORE_DEFAULT_PREFIX;
    if (!config->redis_url) {
        LYC_ERROR(NULL, "vecstore: no Redis URL configured");
        return -1;
    }
    if (!s_name_ok(prefix, LYC_VECSTORE_MAX_PREFIX, LYC_VECSTORE_ID_CHARS)) {
        LYC_ERROR(NULL,
                  "vecstore: bad key prefix \"%.80s\": want 1-%d characters of "
                  "[A-Za-z0-9_.:-]",
                  prefix, LYC_VECSTORE_MAX_PREFIX);
        return -1;
    }
    if (config->dim == 0 || config->dim > LYC_VECSTORE_MAX_DIM) {
        LYC_ERROR(NULL, "vecstore: dimension %zu is not in 1..%d", config->dim,
                  LYC_VECSTORE_MAX_DIM);
        return -1;
    }
    if ((unsigned) config->quant > LYC_VECSTORE_BIN) {
        LYC_ERROR(NULL, "vecstore: unknown quantization %d", (int) config->quant);
        return -1;
    }
    if (config->search_ef < 0 || config->search_ef > LYC_VECSTORE_MAX_EF ||
        config->timeout_ms < 0) {
        LYC_ERROR(NULL, "vecstore: search EF %d (0..%d) or time-out %d ms (>= 0) out of range",
                  config->search_ef, LYC_VECSTORE_MAX_EF, config->timeout_ms);
        return -1;
    }
    return 0;
}

/* Fails early, with a clear message, when the server has no vector sets. */
static int s_check_server(lyc_vecstore_t *self)
{
    const char *argv[] = {"COMMAND", "INFO", "VADD"};
    redisReply *reply = lyc_redis_command(self->redis, 3, argv, NULL);
    if (!reply)
        return -1;
    int ok = reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
             reply->element[0]->type == REDIS_REPLY_ARRAY;
    freeReplyObject(reply);
    if (!ok) {
        LYC_ERROR(NULL,
                  "vecstore: Redis at %s has no vector sets (VADD): Redis 8 or later "
                  "is needed",
                  lyc_redis_peer(self->redis));
        return -1;
    }
    return 0;
}

lyc_vecstore_t *lyc_vecstore_new(const lyc_vecstore_config_t *config)
{
    assert(config);
    if (s_check_config(config))
        return NULL;
    lyc_vecstore_t *self = calloc(1, sizeof *self);
    if (!self)
        goto out_nomem;
    self->prefix = strdup(config->key_prefix ? config->key_prefix : LYC_VECSTORE_DEFAULT_PREFIX);
    self->blob = malloc(config->dim * sizeof(float));
    if (!self->prefix || !self->blob)
        goto out_destroy;
    self->dim = config->dim;
    self->quant = config->quant;
    self->search_ef = config->search_ef;
    self->search_threaded = config->search_threaded;
    int timeout_ms = config->timeout_ms ? config->timeout_ms : LYC_VECSTORE_DEFAULT_TIMEOUT;
    self->redis = lyc_redis_new(config->redis_url, timeout_ms);
    if (!self->redis || s_check_server(self)) {
        lyc_vecstore_destroy(&self);
        return NULL;
    }
    return self;

out_destroy:
    lyc_vecstore_destroy(&self);
out_nomem:
    LYC_ERROR(NULL, "vecstore: out of memory");
    return NULL;
}

void lyc_vecstore_destroy(lyc_vecstore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_vecstore_t *self = *self_p;
    lyc_redis_destroy(&self->redis);
    free(self->blob);
    free(self->prefix);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------ */
/* Vectors                                                                   */

/* The attributes as a JSON object; a new string for cJSON_free(), or NULL
 * (logged) when out of memory. */
static char *s_attrs_json(const char *tenant, const char *record_id,
                          const lyc_vecstore_attrs_t *attrs)
{
    char *json = NULL;
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        goto out_log;
    if (!cJSON_AddStringToObject(obj, "tenant", tenant) ||
        !cJSON_AddStringToObject(obj, "id", record_id))
        goto out_delete_obj;
    if (attrs) {
        if (attrs->domain && !cJSON_AddStringToObject(obj, "domain", attrs->domain))
            goto out_delete_obj;
        if (attrs->model && !cJSON_AddStringToObject(obj, "model", attrs->model))
            goto out_delete_obj;
        if (!cJSON_AddNumberToObject(obj, "score", attrs->score) ||
            !cJSON_AddNumberToObject(obj, "ts", (double) attrs->ts_us))
            goto out_delete_obj;
    }
    json = cJSON_PrintUnformatted(obj);
out_delete_obj:
    cJSON_Delete(obj);
out_log:
    if (!json)
        LYC_ERROR(NULL, "vecstore: out of memory");
    return json;
}

int lyc_vecstore_add(lyc_vecstore_t *self, const char *tenant, const char *record_id,
                     const float *vector, size_t dim, const lyc_vecstore_attrs_t *attrs)
{
    int rc = -1;
    if (s_check_tenant(tenant) || s_check_id(record_id) || s_check_vector(self, vector, dim) ||
        s_check_attrs(attrs))
        return -1;
    char *key = s_key(self, tenant, "vectors", NULL);
    if (!key)
        return -1;
    char *json = s_attrs_json(tenant, record_id, attrs);
    if (!json)
        goto out_free_key;

    s_fill_blob(self, vector);
    const char *argv[] = {
        "VADD",    key, "FP32", (const char *) self->blob, record_id, s_quant_tokens[self->quant],
        "SETATTR", json};
    size_t argvlen[8];
    s_arg_lengths(self, 8, argv, argvlen);
    redisReply *reply = lyc_redis_command(self->redis, 8, argv, argvlen);
    if (reply) {
        rc = 0;
        freeReplyObject(reply);
    }
    cJSON_free(json);
out_free_key:
    free(key);
    return rc;
}

/* The FILTER expression for filter into *expr_p (a new string), or NULL when
 * the filter has no condition. Strings go between double quotes, which is
 * safe because s_label_ok() refuses '"' and '\'. Numbers are written without
 * an exponent: the filter parser does not read "1e-05". */
static int s_filter_expr(const lyc_vecstore_filter_t *filter, char **expr_p)
{
    *expr_p = NULL;
    if (!filter || (!filter->domain && !filter->model && !filter->has_min_score))
        return 0;
    if (s_check_label("domain", filter->domain) || s_check_label("model", filter->model))
        return -1;
    if (filter->has_min_score && !(fabs(filter->min_score) <= LYC_VECSTORE_MAX_MIN_SCORE)) {
        LYC_ERROR(NULL, "vecstore: the filter's minimum score must be a number within +-%g",
                  LYC_VECSTORE_MAX_MIN_SCORE);
        return -1;
    }
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (!out)
        goto out_nomem;
    const char *sep = "";
    if (filter->domain) {
        fprintf(out, ".domain == \"%s\"", filter->domain);
        sep = " and ";
    }
    if (filter->model) {
        fprintf(out, "%s.model == \"%s\"", sep, filter->model);
        sep = " and ";
    }
    if (filter->has_min_score)
        fprintf(out, "%s.score >= %.15f", sep, filter->min_score);
    int failed = ferror(out);
    if (fclose(out) != 0 || failed) {
        free(buf);
        goto out_nomem;
    }
    *expr_p = buf;
    return 0;

out_nomem:
    LYC_ERROR(NULL, "vecstore: out of memory");
    return -1;
}

/* VSIM key FP32 blob WITHSCORES COUNT k [EF n] [FILTER expr]: the flat reply
 * [element, score, ...], most similar first, or NULL (logged). */
static redisReply *s_vsim(lyc_vecstore_t *self, const char *key, size_t k, const char *expr)
{
    char count[24], ef[24];
    snprintf(count, sizeof count, "%zu", k);
    snprintf(ef, sizeof ef, "%d", self->search_ef);
    const char *argv[12] = {"VSIM",       key,     "FP32", (const char *) self->blob,
                            "WITHSCORES", "COUNT", count};
    int argc = 7;
    if (!self->search_threaded)
        argv[argc++] = "NOTHREAD";
    if (self->search_ef > 0) {
        argv[argc++] = "EF";
        argv[argc++] = ef;
    }
    if (expr) {
        argv[argc++] = "FILTER";
        argv[argc++] = expr;
    }
    size_t argvlen[12];
    s_arg_lengths(self, argc, argv, argvlen);

    redisReply *reply = lyc_redis_command(self->redis, argc, argv, argvlen);
    if (reply && (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0)) {
        LYC_ERROR(NULL, "vecstore: VSIM on %s gave an unexpected reply (type %d)", key,
                  reply->type);
        freeReplyObject(reply);
        reply = NULL;
    }
    return reply;
}

/* Copies an optional string attribute; 0, or -1 when out of memory. */
static int s_copy_label(const cJSON *obj, const char *name, char **out)
{
    const char *value = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));
    *out = value ? strdup(value) : NULL;
    return value && !*out ? -1 : 0;
}

/* Decodes the attribute JSON of a hit into it. Malformed attributes (written
 * by someone else) leave the fields empty with a warning. */
static int s_decode_attrs(lyc_vecstore_hit_t *hit, const char *json, size_t len)
{
    cJSON *obj = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(obj)) {
        LYC_WARN(NULL, "vecstore: record %s has attributes that are not a JSON object",
                 hit->record_id);
        cJSON_Delete(obj);
        return 0;
    }
    int rc = 0;
    if (s_copy_label(obj, "domain", &hit->domain) || s_copy_label(obj, "model", &hit->model))
        rc = -1;
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(obj, "score");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(obj, "ts");
    hit->score = cJSON_IsNumber(score) ? score->valuedouble : 0.0;
    hit->ts_us = cJSON_IsNumber(ts) && fabs(ts->valuedouble) <= LYC_VECSTORE_MAX_EXACT_TS
                     ? (int64_t) ts->valuedouble
                     : 0;
    cJSON_Delete(obj);
    return rc;
}

/* Fills the next hit from VSIM's element and score and VGETATTR's reply.
 * A vector deleted since VSIM (no attributes any more) is left out. */
static int s_add_hit(lyc_vecstore_results_t *results, const redisReply *element,
                     const redisReply *score, const redisReply *attrs)
{
    if (attrs->type != REDIS_REPLY_STRING)
        return 0;
    lyc_vecstore_hit_t *hit = &results->hits[results->count];
    hit->record_id = strndup(element->str, element->len);
    if (!hit->record_id)
        return -1;
    results->count++; /* from here on the hit is freed with the results */
    if (s_reply_double(score, &hit->similarity)) {
        LYC_WARN(NULL, "vecstore: VSIM gave a score that is not a number for %s", hit->record_id);
        hit->similarity = 0.0;
    }
    return s_decode_attrs(hit, attrs->str, attrs->len);
}

/* One VGETATTR command per hit: its argv and lengths. */
typedef struct {
    const char *argv[3];
    size_t argvlen[3];
} s_getattr_t;

/* Fetches the attributes of every VSIM hit in one pipelined round trip and
 * appends the hits to results (which has room for them). */
static int s_collect(lyc_vecstore_t *self, const char *key, const redisReply *vsim,
                     lyc_vecstore_results_t *results)
{
    int rc = -1;
    size_t n = vsim->elements / 2;
    s_getattr_t *getattr = calloc(n, sizeof *getattr);
    lyc_redis_cmd_t *cmds = calloc(n, sizeof *cmds);
    redisReply **replies = calloc(n, sizeof *replies);
    if (!getattr || !cmds || !replies) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_free_arrays;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *element = vsim->element[2 * i];
        getattr[i] = (s_getattr_t){{"VGETATTR", key, element->str},
                                   {strlen("VGETATTR"), strlen(key), element->len}};
        cmds[i] = (lyc_redis_cmd_t){3, getattr[i].argv, getattr[i].argvlen};
    }
    if (lyc_redis_pipeline(self->redis, n, cmds, replies))
        goto out_free_arrays;
    if (s_check_replies("VGETATTR", n, replies))
        goto out_free_replies;
    for (size_t i = 0; i < n; i++) {
        if (s_add_hit(results, vsim->element[2 * i], vsim->element[2 * i + 1], replies[i])) {
            LYC_ERROR(NULL, "vecstore: out of memory");
            goto out_free_replies;
        }
    }
    rc = 0;
out_free_replies:
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
out_free_arrays:
    free(replies);
    free(cmds);
    free(getattr);
    return rc;
}

int lyc_vecstore_search(lyc_vecstore_t *self, const char *tenant, const float *query, size_t dim,
                        size_t k, const lyc_vecstore_filter_t *filter,
                        lyc_vecstore_results_t **results_p)
{
    assert(results_p);
    *results_p = NULL;
    if (s_check_tenant(tenant) || s_check_vector(self, query, dim))
        return -1;
    if (k == 0 || k > LYC_VECSTORE_MAX_K) {
        LYC_ERROR(NULL, "vecstore: k = %zu is not in 1..%d", k, LYC_VECSTORE_MAX_K);
        return -1;
    }
    int rc = -1;
    char *expr = NULL;
    if (s_filter_expr(filter, &expr))
        return -1;
    char *key = s_key(self, tenant, "vectors", NULL);
    if (!key)
        goto out_free_expr;
    s_fill_blob(self, query);
    redisReply *vsim = s_vsim(self, key, k, expr);
    if (!vsim)
        goto out_free_key;
    lyc_vecstore_results_t *results = calloc(1, sizeof *results);
    size_t n = vsim->elements / 2;
    if (results && n > 0)
        results->hits = calloc(n, sizeof *results->hits);
    if (!results || (n > 0 && !results->hits)) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_free_results;
    }
    if (n > 0 && s_collect(self, key, vsim, results))
        goto out_free_results;
    *results_p = results;
    results = NULL;
    rc = 0;
out_free_results:
    lyc_vecstore_results_destroy(&results);
    freeReplyObject(vsim);
out_free_key:
    free(key);
out_free_expr:
    free(expr);
    return rc;
}

void lyc_vecstore_results_destroy(lyc_vecstore_results_t **results_p)
{
    if (!results_p || !*results_p)
        return;
    lyc_vecstore_results_t *results = *results_p;
    for (size_t i = 0; i < results->count; i++) {
        free(results->hits[i].record_id);
        free(results->hits[i].domain);
        free(results->hits[i].model);
    }
    free(results->hits);
    free(results);
    *results_p = NULL;
}

int lyc_vecstore_delete(lyc_vecstore_t *self, const char *tenant, const char *record_id)
{
    if (s_check_tenant(tenant) || s_check_id(record_id))
        return -1;
    int rc = -1;
    char *vkey = s_key(self, tenant, "vectors", NULL);
    char *rkey = s_key(self, tenant, "rec", record_id);
    if (!vkey || !rkey)
        goto out_free_keys;
    const char *multi[] = {"MULTI"};
    const char *vrem[] = {"VREM", vkey, record_id};
    const char *del[] = {"DEL", rkey};
    const char *exec[] = {"EXEC"};
    lyc_redis_cmd_t cmds[] = {{1, multi, NULL}, {3, vrem, NULL}, {2, del, NULL}, {1, exec, NULL}};
    redisReply *replies[4];
    if (lyc_redis_pipeline(self->redis, 4, cmds, replies))
        goto out_free_keys;
    rc = s_check_replies("delete (MULTI VREM DEL EXEC)", 4, replies);
    if (rc == 0 && replies[3]->type != REDIS_REPLY_ARRAY) {
        LYC_ERROR(NULL, "vecstore: delete of %s/%s: EXEC did not run", tenant, record_id);
        rc = -1;
    }
    for (size_t i = 0; i < 4; i++)
        freeReplyObject(replies[i]);
out_free_keys:
    free(rkey);
    free(vkey);
    return rc;
}

int lyc_vecstore_count(lyc_vecstore_t *self, const char *tenant, size_t *count)
{
    *count = 0;
    if (s_check_tenant(tenant))
        return -1;
    char *key = s_key(self, tenant, "vectors", NULL);
    if (!key)
        return -1;
    const char *argv[] = {"VCARD", key};
    redisReply *reply = lyc_redis_command(self->redis, 2, argv, NULL);
    free(key);
    if (!reply)
        return -1;
    int rc = reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0 ? 0 : -1;
    if (rc == 0)
        *count = (size_t) reply->integer;
    else
        LYC_ERROR(NULL, "vecstore: VCARD gave an unexpected reply (type %d)", reply->type);
    freeReplyObject(reply);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Query records                                                             */

int lyc_vecstore_record_put(lyc_vecstore_t *self, const char *tenant, const char *record_id,
                            const lyc_vecstore_field_t *fields, size_t count)
{
    if (s_check_tenant(tenant) || s_check_id(record_id) || s_check_fields(fields, count))
        return -1;
    int rc = -1;
    int argc = (int) (2 + 2 * count);
    char *key = s_key(self, tenant, "rec", record_id);
    const char **argv = calloc((size_t) argc, sizeof *argv);
    if (!key || !argv) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_free_argv;
    }
    argv[0] = "HSET";
    argv[1] = key;
    for (size_t i = 0; i < count; i++) {
        argv[2 + 2 * i] = fields[i].name;
        argv[3 + 2 * i] = fields[i].value;
    }
    redisReply *reply = lyc_redis_command(self->redis, argc, argv, NULL);
    if (reply) {
        rc = 0;
        freeReplyObject(reply);
    }
out_free_argv:
    free(argv);
    free(key);
    return rc;
}

/* A record and its vector as commands for someone else's pipeline: each
 * argument is owned here, so the commands stay valid until destroy. */
struct lyc_vecstore_put_t {
    char *rkey, *vkey, *json;
    unsigned char *blob;
    const char **hset; /* HSET argv */
    const char *vadd[8];
    size_t vadd_len[8];
    lyc_redis_cmd_t cmds[2];
    size_t n_cmds;
};

void lyc_vecstore_put_destroy(lyc_vecstore_put_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_vecstore_put_t *self = *self_p;
    free(self->rkey);
    free(self->vkey);
    cJSON_free(self->json);
    free(self->blob);
    free(self->hset);
    free(self);
    *self_p = NULL;
}

/* VADD of the vector into self->cmds[1]; 0, or -1 (logged). */
static int s_put_vector(lyc_vecstore_put_t *self, const lyc_vecstore_t *store, const char *tenant,
                        const char *record_id, const float *vector,
                        const lyc_vecstore_attrs_t *attrs)
{
    self->vkey = s_key(store, tenant, "vectors", NULL);
    self->json = self->vkey ? s_attrs_json(tenant, record_id, attrs) : NULL;
    self->blob = malloc(store->dim * sizeof(float));
    if (!self->vkey || !self->json || !self->blob) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        return -1;
    }
    s_blob_into(store->dim, vector, self->blob);
    const char *argv[8] = {"VADD",    self->vkey,
                           "FP32",    (const char *) self->blob,
                           record_id, s_quant_tokens[store->quant],
                           "SETATTR", self->json};
    memcpy(self->vadd, argv, sizeof argv);
    s_arg_lengths(store, 8, self->vadd, self->vadd_len);
    self->cmds[self->n_cmds++] = (lyc_redis_cmd_t){8, self->vadd, self->vadd_len};
    return 0;
}

lyc_vecstore_put_t *lyc_vecstore_put_new(const lyc_vecstore_t *store, const char *tenant,
                                         const char *record_id, const lyc_vecstore_field_t *fields,
                                         size_t count, const float *vector, size_t dim,
                                         const lyc_vecstore_attrs_t *attrs)
{
    if (s_check_tenant(tenant) || s_check_id(record_id) || s_check_fields(fields, count) ||
        (vector && (s_check_vector(store, vector, dim) || s_check_attrs(attrs))))
        return NULL;
    lyc_vecstore_put_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        return NULL;
    }
    int argc = (int) (2 + 2 * count);
    self->rkey = s_key(store, tenant, "rec", record_id);
    self->hset = calloc((size_t) argc, sizeof *self->hset);
    if (!self->rkey || !self->hset) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_destroy;
    }
    self->hset[0] = "HSET";
    self->hset[1] = self->rkey;
    for (size_t i = 0; i < count; i++) {
        self->hset[2 + 2 * i] = fields[i].name;
        self->hset[3 + 2 * i] = fields[i].value;
    }
    self->cmds[self->n_cmds++] = (lyc_redis_cmd_t){argc, self->hset, NULL};
    if (vector && s_put_vector(self, store, tenant, record_id, vector, attrs) != 0)
        goto out_destroy;
    return self;

out_destroy:
    lyc_vecstore_put_destroy(&self);
    return NULL;
}

const lyc_redis_cmd_t *lyc_vecstore_put_cmds(const lyc_vecstore_put_t *self, size_t *n_cmds)
{
    *n_cmds = self->n_cmds;
    return self->cmds;
}

int lyc_vecstore_put_check(const lyc_vecstore_put_t *self, redisReply *const *replies)
{
    return s_check_replies(self->n_cmds == 2 ? "HSET and VADD" : "HSET", self->n_cmds,
                           (redisReply **) replies);
}

/* A record holding HGETALL's name/value pairs; NULL (logged) when out of memory. */
static lyc_vecstore_record_t *s_record_from_reply(const redisReply *reply)
{
    size_t n = reply->elements / 2;
    lyc_vecstore_record_t *record = calloc(1, sizeof *record);
    if (!record)
        goto out_nomem;
    record->names = calloc(n, sizeof *record->names);
    record->values = calloc(n, sizeof *record->values);
    if (!record->names || !record->values)
        goto out_destroy;
    for (size_t i = 0; i < n; i++) {
        const redisReply *name = reply->element[2 * i], *value = reply->element[2 * i + 1];
        record->names[i] = strndup(name->str, name->len);
        record->values[i] = strndup(value->str, value->len);
        record->count++;
        if (!record->names[i] || !record->values[i])
            goto out_destroy;
    }
    return record;

out_destroy:
    lyc_vecstore_record_destroy(&record);
out_nomem:
    LYC_ERROR(NULL, "vecstore: out of memory");
    return NULL;
}

int lyc_vecstore_record_get(lyc_vecstore_t *self, const char *tenant, const char *record_id,
                            lyc_vecstore_record_t **record_p)
{
    *record_p = NULL;
    if (s_check_tenant(tenant) || s_check_id(record_id))
        return -1;
    char *key = s_key(self, tenant, "rec", record_id);
    if (!key)
        return -1;
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = lyc_redis_command(self->redis, 2, argv, NULL);
    free(key);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        LYC_ERROR(NULL, "vecstore: HGETALL gave an unexpected reply (type %d)", reply->type);
        rc = -1;
    } else if (reply->elements > 0) {
        *record_p = s_record_from_reply(reply);
        rc = *record_p ? 0 : -1;
    }
    freeReplyObject(reply);
    return rc;
}

const char *lyc_vecstore_record_value(const lyc_vecstore_record_t *record, const char *name)
{
    for (size_t i = 0; record && i < record->count; i++)
        if (strcmp(record->names[i], name) == 0)
            return record->values[i];
    return NULL;
}

void lyc_vecstore_record_destroy(lyc_vecstore_record_t **record_p)
{
    if (!record_p || !*record_p)
        return;
    lyc_vecstore_record_t *record = *record_p;
    for (size_t i = 0; i < record->count; i++) {
        free(record->names[i]);
        free(record->values[i]);
    }
    free(record->names);
    free(record->values);
    free(record);
    *record_p = NULL;
}

/* ------------------------------------------------------------------------ */
/* Counters                                                                  */

/* Runs a counter command (HINCRBYFLOAT or HGET) and parses the number it
 * returns; a missing counter (nil) reads as 0. */
static int s_counter_command(lyc_vecstore_t *self, int argc, const char **argv, double *value)
{
    redisReply *reply = lyc_redis_command(self->redis, argc, argv, NULL);
    if (!reply)
        return -1;
    int rc = 0;
    *value = 0.0;
    if (reply->type != REDIS_REPLY_NIL && s_reply_double(reply, value)) {
        LYC_ERROR(NULL, "vecstore: %s on %s did not give a number", argv[0], argv[1]);
        rc = -1;
    }
    freeReplyObject(reply);
    return rc;
}

int lyc_vecstore_counter_incr(lyc_vecstore_t *self, const char *tenant, const char *name, double by,
                              double *value)
{
    double result;
    if (s_check_tenant(tenant) || s_check_field("counter", name))
        return -1;
    if (!isfinite(by)) {
        LYC_ERROR(NULL, "vecstore: counter %s: the increment must be a finite number", name);
        return -1;
    }
    char *key = s_key(self, tenant, "counters", NULL);
    if (!key)
        return -1;
    char by_text[32];
    snprintf(by_text, sizeof by_text, "%.17g", by);
    const char *argv[] = {"HINCRBYFLOAT", key, name, by_text};
    int rc = s_counter_command(self, 4, argv, &result);
    free(key);
    if (rc == 0 && value)
        *value = result;
    return rc;
}

int lyc_vecstore_counter_get(lyc_vecstore_t *self, const char *tenant, const char *name,
                             double *value)
{
    *value = 0.0;
    if (s_check_tenant(tenant) || s_check_field("counter", name))
        return -1;
    char *key = s_key(self, tenant, "counters", NULL);
    if (!key)
        return -1;
    const char *argv[] = {"HGET", key, name};
    int rc = s_counter_command(self, 3, argv, value);
    free(key);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Dropping a tenant                                                         */

/* UNLINKs the keys of one SCAN batch. */
static int s_unlink_keys(lyc_vecstore_t *self, const redisReply *keys)
{
    if (keys->elements == 0)
        return 0;
    int rc = -1;
    const char **argv = calloc(keys->elements + 1, sizeof *argv);
    size_t *argvlen = calloc(keys->elements + 1, sizeof *argvlen);
    if (!argv || !argvlen) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_free_argv;
    }
    argv[0] = "UNLINK";
    argvlen[0] = strlen("UNLINK");
    for (size_t i = 0; i < keys->elements; i++) {
        argv[i + 1] = keys->element[i]->str;
        argvlen[i + 1] = keys->element[i]->len;
    }
    redisReply *reply = lyc_redis_command(self->redis, (int) keys->elements + 1, argv, argvlen);
    if (reply) {
        rc = 0;
        freeReplyObject(reply);
    }
out_free_argv:
    free(argvlen);
    free(argv);
    return rc;
}

/* One SCAN step from *cursor (a string it replaces) that unlinks what it finds. */
static int s_drop_step(lyc_vecstore_t *self, const char *pattern, char **cursor)
{
    const char *argv[] = {"SCAN", *cursor, "MATCH", pattern, "COUNT", LYC_VECSTORE_SCAN_COUNT};
    redisReply *reply = lyc_redis_command(self->redis, 6, argv, NULL);
    if (!reply)
        return -1;
    int rc = -1;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        LYC_ERROR(NULL, "vecstore: SCAN gave an unexpected reply");
        goto out_free_reply;
    }
    char *next = strdup(reply->element[0]->str);
    if (!next) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_free_reply;
    }
    free(*cursor);
    *cursor = next;
    rc = s_unlink_keys(self, reply->element[1]);
out_free_reply:
    freeReplyObject(reply);
    return rc;
}

int lyc_vecstore_drop_tenant(lyc_vecstore_t *self, const char *tenant)
{
    if (s_check_tenant(tenant))
        return -1;
    int rc = -1;
    /* The prefix and tenant character sets hold no glob characters. */
    char *pattern = s_key(self, tenant, "*", NULL);
    char *cursor = strdup("0");
    if (!pattern || !cursor) {
        LYC_ERROR(NULL, "vecstore: out of memory");
        goto out_free;
    }
    do {
        if (s_drop_step(self, pattern, &cursor))
            goto out_free;
    } while (strcmp(cursor, "0") != 0);
    rc = 0;
out_free:
    free(cursor);
    free(pattern);
    return rc;
}
