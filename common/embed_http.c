/*
 * embed_http.c - the /v1/embeddings client: build the request with cJSON,
 * POST it (one retry on 429/5xx), check and normalise the vector.
 *
 * The Authorization header is built once, at creation, from the environment
 * and is wiped when the client is destroyed. Error messages name the URL,
 * model and status, never the key.
 */
#include "embed_http.h"

#include "embed.h"
#include "http_client.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lyc_embed_http_t {
    lyc_http_t *http;
    char *url; /* <base_url>/embeddings */
    char *model;
    char *auth; /* "Authorization: Bearer <key>", or NULL; secret */
    unsigned dim;
    long timeout_ms;
    long connect_timeout_ms;
    long backoff_ms;
    char error[LYC_EMBED_HTTP_ERROR_LEN];
};

/* Records why the call failed and logs it. */
static void s_fail(lyc_embed_http_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_fail(lyc_embed_http_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
    LYC_WARN(NULL, "embed_http: %s", self->error);
}

/* --- creation ----------------------------------------------------------- */

static int s_config_check(const lyc_embed_http_config_t *config)
{
    const char *why = NULL;
    if (!config)
        why = "no config";
    else if (!config->base_url || (strncmp(config->base_url, "http://", 7) != 0 &&
                                   strncmp(config->base_url, "https://", 8) != 0))
        why = "base_url must start with http:// or https://";
    else if (!config->model || !*config->model)
        why = "model is empty";
    else if (config->dim == 0 || config->dim > LYC_EMBED_MAX_DIM)
        why = "dim must be between 1 and LYC_EMBED_MAX_DIM";
    if (why)
        LYC_ERROR(NULL, "embed_http: bad config: %s", why);
    return why ? -1 : 0;
}

/* <base_url>/embeddings, without a doubled slash. */
static char *s_embeddings_url(const char *base_url)
{
    size_t len = strlen(base_url);
    while (len > 0 && base_url[len - 1] == '/')
        len--;
    size_t size = len + sizeof "/embeddings";
    char *url = malloc(size);
    if (url)
        snprintf(url, size, "%.*s/embeddings", (int) len, base_url);
    return url;
}

/* Builds the Authorization header from the variable named env_name. The
 * key's value is never logged, only the variable's name. */
static int s_load_key(lyc_embed_http_t *self, const char *env_name)
{
    static const char prefix[] = "Authorization: Bearer ";
    if (!env_name || !*env_name)
        return 0;
    const char *key = getenv(env_name);
    if (!key || !*key) {
        LYC_ERROR(NULL, "embed_http: environment variable %s (api_key_env) is unset or empty",
                  env_name);
        return -1;
    }
    if (strpbrk(key, "\r\n")) {
        LYC_ERROR(NULL, "embed_http: the key in %s contains a line break", env_name);
        return -1;
    }
    size_t size = sizeof prefix + strlen(key);
    self->auth = malloc(size);
    if (!self->auth) {
        LYC_ERROR(NULL, "embed_http: out of memory");
        return -1;
    }
    snprintf(self->auth, size, "%s%s", prefix, key);
    return 0;
}

lyc_embed_http_t *lyc_embed_http_new(const lyc_embed_http_config_t *config)
{
    if (s_config_check(config) != 0)
        return NULL;
    lyc_embed_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "embed_http: out of memory");
        return NULL;
    }
    self->dim = config->dim;
    self->timeout_ms =
        config->timeout_ms > 0 ? config->timeout_ms : LYC_EMBED_HTTP_DEFAULT_TIMEOUT_MS;
    self->connect_timeout_ms = config->connect_timeout_ms > 0
                                   ? config->connect_timeout_ms
                                   : LYC_EMBED_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    self->backoff_ms =
        config->backoff_ms > 0 ? config->backoff_ms : LYC_EMBED_HTTP_DEFAULT_BACKOFF_MS;
    self->url = s_embeddings_url(config->base_url);
    self->model = strdup(config->model);
    if (!self->url || !self->model) {
        LYC_ERROR(NULL, "embed_http: out of memory");
        goto out_destroy;
    }
    if (s_load_key(self, config->api_key_env) != 0)
        goto out_destroy;
    self->http = lyc_http_new();
    if (!self->http)
        goto out_destroy;
    return self;
out_destroy:
    lyc_embed_http_destroy(&self);
    return NULL;
}

void lyc_embed_http_destroy(lyc_embed_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_embed_http_t *self = *self_p;
    lyc_http_destroy(&self->http);
    if (self->auth)
        explicit_bzero(self->auth, strlen(self->auth));
    free(self->auth);
    free(self->model);
    free(self->url);
    free(self);
    *self_p = NULL;
}

unsigned lyc_embed_http_dim(const lyc_embed_http_t *self)
{
    return self ? self->dim : 0;
}

const char *lyc_embed_http_error(const lyc_embed_http_t *self)
{
    return self ? self->error : "no client";
}

/* --- the request -------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if there is none. */
static size_t s_utf8_seq(const unsigned char *p, size_t left)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        lo = p[0] == 0xE0 ? 0xA0 : 0x80;
        hi = p[0] == 0xED ? 0x9F : 0xBF;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        lo = p[0] == 0xF0 ? 0x90 : 0x80;
        hi = p[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    }
    return n;
}

/* A NUL-terminated copy of text[0..len) that is valid UTF-8: a byte that
 * starts no well-formed sequence becomes U+FFFD, a NUL becomes a space.
 * Caller frees; NULL when out of memory. */
static char *s_utf8_clean(const char *text, size_t len)
{
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    unsigned char *out = malloc(3 * len + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *) text;
    size_t m = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_seq(p + i, len - i);
        if (n == 0) {
            memcpy(out + m, "\xEF\xBF\xBD", 3);
            m += 3;
            i++;
        } else if (p[i] == 0) {
            out[m++] = ' ';
            i++;
        } else {
            memcpy(out + m, p + i, n);
            m += n;
            i += n;
        }
    }
    out[m] = '\0';
    return (char *) out;
}

/* {"model": ..., "input": text} as a string the caller frees with cJSON_free. */
static char *s_request_body(const lyc_embed_http_t *self, const char *text, size_t len)
{
    char *body = NULL;
    char *clean = s_utf8_clean(text, len);
    if (!clean)
        return NULL;
    cJSON *root = cJSON_CreateObject();
    if (root && cJSON_AddStringToObject(root, "model", self->model) &&
        cJSON_AddStringToObject(root, "input", clean))
        body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(clean);
    return body;
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Worth one more try: the server is overloaded or briefly broken. */
static int s_retriable(long status)
{
    return status == 429 || (status >= 500 && status <= 599);
}

/* POSTs body, retrying once on 429/5xx. On success resp holds a 2xx answer. */
static int s_post(lyc_embed_http_t *self, const char *body, lyc_http_response_t *resp)
{
    const char *const headers[] = {self->auth, NULL};
    lyc_http_request_t req = {.url = self->url,
                              .headers = headers,
                              .body = body,
                              .body_len = strlen(body),
                              .connect_timeout_ms = self->connect_timeout_ms,
                              .timeout_ms = self->timeout_ms};
    for (int attempt = 0;; attempt++) {
        if (lyc_http_post_json(self->http, &req, resp) != 0) {
            s_fail(self, "POST %s: %s", self->url, resp->error);
            return -1;
        }
        if (attempt == 1 || !s_retriable(resp->status))
            break;
        LYC_WARN(NULL, "embed_http: HTTP %ld from %s, retrying in %ld ms", resp->status, self->url,
                 self->backoff_ms);
        lyc_http_response_free(resp);
        s_sleep_ms(self->backoff_ms);
    }
    if (resp->status < 200 || resp->status > 299) {
        s_fail(self, "HTTP %ld from %s (model %s): %.160s", resp->status, self->url, self->model,
               resp->body);
        return -1;
    }
    return 0;
}

/* --- the response ------------------------------------------------------- */

/* Copies the embedding array into out after checking that it has exactly
 * dim finite numbers. */
static int s_read_vector(lyc_embed_http_t *self, const cJSON *vec, float *out)
{
    int n = cJSON_GetArraySize(vec);
    if (n < 0 || (unsigned) n != self->dim) {
        s_fail(self, "embedding from %s has %d dimensions, expected %u (model %s)", self->url, n,
               self->dim, self->model);
        return -1;
    }
    unsigned i = 0;
    for (const cJSON *x = vec->child; x; x = x->next, i++) {
        float v = cJSON_IsNumber(x) ? (float) x->valuedouble : NAN;
        if (!isfinite(v)) {
            s_fail(self, "embedding from %s: value %u is not a finite number", self->url, i);
            return -1;
        }
        out[i] = v;
    }
    return 0;
}

static int s_all_zero(const float *v, unsigned dim)
{
    for (unsigned i = 0; i < dim; i++) {
        if (v[i] != 0.0f)
            return 0;
    }
    return 1;
}

/* Reads data[0].embedding from the response into out, unit length. */
static int s_parse(lyc_embed_http_t *self, const lyc_http_response_t *resp, float *out)
{
    int rc = -1;
    cJSON *root = cJSON_ParseWithLength(resp->body, resp->body_len);
    if (!root) {
        s_fail(self, "malformed JSON from %s: %.80s", self->url, resp->body);
        return -1;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *first = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
    const cJSON *vec = first ? cJSON_GetObjectItemCaseSensitive(first, "embedding") : NULL;
    if (!cJSON_IsArray(vec)) {
        s_fail(self, "response from %s has no data[0].embedding array", self->url);
        goto out_free_root;
    }
    if (s_read_vector(self, vec, out) != 0)
        goto out_free_root;
    if (s_all_zero(out, self->dim)) {
        s_fail(self, "embedding from %s is all zeros", self->url);
        goto out_free_root;
    }
    lyc_vec_normalize(out, self->dim);
    rc = 0;
out_free_root:
    cJSON_Delete(root);
    return rc;
}

int lyc_embed_http_embed(lyc_embed_http_t *self, const char *text, size_t len, float *out)
{
    int rc = -1;
    lyc_http_response_t resp = {0};

    if (!self || !out || (!text && len > 0)) {
        LYC_ERROR(NULL, "embed_http: NULL argument");
        return -1;
    }
    self->error[0] = '\0';
    memset(out, 0, self->dim * sizeof *out);
    if (len == 0)
        return 0;
    char *body = s_request_body(self, text, len);
    if (!body) {
        s_fail(self, "out of memory building the request");
        return -1;
    }
    if (s_post(self, body, &resp) != 0)
        goto out_free_resp;
    if (s_parse(self, &resp, out) != 0)
        goto out_free_resp;
    rc = 0;
out_free_resp:
    lyc_http_response_free(&resp);
    cJSON_free(body);
    if (rc != 0)
        memset(out, 0, self->dim * sizeof *out);
    return rc;
}
