/*
 * http_client.c - libcurl easy handles with time-outs and a response cap.
 *
 * Each call resets the handle (curl_easy_reset keeps the connection cache,
 * so keep-alive survives), sets every option afresh, and collects the body
 * into a buffer that refuses to grow past the caller's cap. Signals are off
 * (CURLOPT_NOSIGNAL) because time-outs in threaded programs must not rely on
 * SIGALRM.
 */
#include "http_client.h"

#include "log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(LYC_HTTP_ERROR_LEN >= CURL_ERROR_SIZE, "error buffer smaller than libcurl's");

struct lyc_http_t {
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE]; /* libcurl writes its detailed message here */
};

/* The response body as it arrives, capped at max bytes. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    int too_big;
    int no_memory;
} s_sink_t;

static pthread_once_t s_global_once = PTHREAD_ONCE_INIT;
static CURLcode s_global_rc = CURLE_FAILED_INIT;

/* libcurl's global state is set up once and kept for the life of the
 * process: curl_global_cleanup() is not thread-safe, and nothing gains from
 * calling it at exit. */
static void s_global_init(void)
{
    s_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

lyc_http_t *lyc_http_new(void)
{
    if (pthread_once(&s_global_once, s_global_init) != 0 || s_global_rc != CURLE_OK) {
        LYC_ERROR(NULL, "http: libcurl failed to initialise: %s", curl_easy_strerror(s_global_rc));
        return NULL;
    }
    lyc_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "http: out of memory");
        return NULL;
    }
    self->curl = curl_easy_init();
    if (!self->curl) {
        LYC_ERROR(NULL, "http: curl_easy_init failed");
        free(self);
        return NULL;
    }
    return self;
}

void lyc_http_destroy(lyc_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curl_easy_cleanup((*self_p)->curl);
    free(*self_p);
    *self_p = NULL;
}

void lyc_http_response_free(lyc_http_response_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* libcurl write callback: appends to the sink, or stops the transfer (by
 * returning less than it was given) once the body would pass the cap. */
static size_t s_sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_sink_t *sink = userdata;
    size_t n = size * nmemb; /* size is always 1 */
    if (n > sink->max - sink->len) {
        sink->too_big = 1;
        return 0;
    }
    if (sink->len + n + 1 > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 4096;
        while (cap < sink->len + n + 1)
            cap *= 2; /* cannot overflow: len + n <= max <= SIZE_MAX / 4 */
        char *data = realloc(sink->data, cap);
        if (!data) {
            sink->no_memory = 1;
            return 0;
        }
        sink->data = data;
        sink->cap = cap;
    }
    memcpy(sink->data + sink->len, ptr, n);
    sink->len += n;
    sink->data[sink->len] = '\0';
    return n;
}

/* Builds the header list: the JSON content headers for a POST, then the
 * caller's lines. A line with CR or LF is refused (header injection). */
static int s_headers(const lyc_http_request_t *req, int post, struct curl_slist **list, char *error)
{
    static const char *const json[] = {"Content-Type: application/json", "Accept: application/json",
                                       "Expect:", NULL};
    for (const char *const *line = post ? json : json + 3; *line; line++) {
        struct curl_slist *grown = curl_slist_append(*list, *line);
        if (!grown)
            goto out_nomem;
        *list = grown;
    }
    for (const char *const *line = req->headers; line && *line; line++) {
        if (strpbrk(*line, "\r\n")) {
            snprintf(error, LYC_HTTP_ERROR_LEN, "header line contains a line break");
            return -1;
        }
        struct curl_slist *grown = curl_slist_append(*list, *line);
        if (!grown)
            goto out_nomem;
        *list = grown;
    }
    return 0;
out_nomem:
    snprintf(error, LYC_HTTP_ERROR_LEN, "out of memory building headers");
    return -1;
}

/* Options every call sets: target, time-outs, size cap, sink, headers. */
static CURLcode s_set_common(lyc_http_t *self, const lyc_http_request_t *req,
                             struct curl_slist *headers, s_sink_t *sink)
{
    CURL *c = self->curl;
    long connect_ms =
        req->connect_timeout_ms > 0 ? req->connect_timeout_ms : LYC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    long total_ms = req->timeout_ms > 0 ? req->timeout_ms : LYC_HTTP_DEFAULT_TIMEOUT_MS;

    CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, req->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) sink->max);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_sink_write);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, self->errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "lyceum/0.1");
    return rc;
}

static CURLcode s_set_method(CURL *c, const lyc_http_request_t *req, int post)
{
    if (!post)
        return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    CURLcode rc = curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    return rc;
}

/* Explains a failed transfer in resp->error, most specific reason first. */
static void s_explain(const lyc_http_t *self, CURLcode code, const s_sink_t *sink,
                      lyc_http_response_t *resp)
{
    if (sink->too_big || code == CURLE_FILESIZE_EXCEEDED)
        snprintf(resp->error, sizeof resp->error, "response larger than %zu bytes", sink->max);
    else if (sink->no_memory)
        snprintf(resp->error, sizeof resp->error, "out of memory reading the response");
    else if (self->errbuf[0])
        snprintf(resp->error, sizeof resp->error, "%s", self->errbuf);
    else
        snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(code));
}

/* Hands the collected body to resp; an empty body becomes "". */
static int s_take_body(s_sink_t *sink, lyc_http_response_t *resp)
{
    if (!sink->data) {
        sink->data = calloc(1, 1);
        if (!sink->data) {
            snprintf(resp->error, sizeof resp->error, "out of memory");
            return -1;
        }
    }
    resp->body = sink->data;
    resp->body_len = sink->len;
    sink->data = NULL;
    return 0;
}

static int s_call(lyc_http_t *self, const lyc_http_request_t *req, int post,
                  lyc_http_response_t *resp)
{
    int rc = -1;
    struct curl_slist *headers = NULL;
    size_t max = req->max_response ? req->max_response : LYC_HTTP_DEFAULT_MAX_RESPONSE;
    s_sink_t sink = {.max = max < SIZE_MAX / 4 ? max : SIZE_MAX / 4};

    if (s_headers(req, post, &headers, resp->error) != 0)
        goto out_free_headers;
    curl_easy_reset(self->curl);
    self->errbuf[0] = '\0';
    CURLcode code = s_set_common(self, req, headers, &sink);
    if (code == CURLE_OK)
        code = s_set_method(self->curl, req, post);
    if (code == CURLE_OK)
        code = curl_easy_perform(self->curl);
    if (curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK)
        resp->status = 0;
    if (code != CURLE_OK) {
        s_explain(self, code, &sink, resp);
        goto out_free_body;
    }
    if (s_take_body(&sink, resp) != 0)
        goto out_free_body;
    rc = 0;
out_free_body:
    free(sink.data);
out_free_headers:
    curl_slist_free_all(headers);
    return rc;
}

/* Checks the arguments, runs the call on self or on a temporary handle.
 * A failed call is logged at debug level only (method, URL without its
 * query, reason): the caller knows what the call was for and logs the
 * failure once, with that context, from resp->error. */
static int s_request(lyc_http_t *self, const lyc_http_request_t *req, int post,
                     lyc_http_response_t *resp)
{
    int rc = -1;
    lyc_http_t *temp = NULL;
    const char *method = post ? "POST" : "GET";

    if (!resp)
        return -1;
    memset(resp, 0, sizeof *resp);
    if (!req || !req->url || (post && !req->body && req->body_len > 0)) {
        snprintf(resp->error, sizeof resp->error, "bad request: no URL or no body");
        LYC_ERROR(NULL, "http: %s: %s", method, resp->error);
        return -1;
    }
    if (!self) {
        temp = lyc_http_new();
        if (!temp) {
            snprintf(resp->error, sizeof resp->error, "cannot create an HTTP handle");
            goto out_log;
        }
        self = temp;
    }
    rc = s_call(self, req, post, resp);
    lyc_http_destroy(&temp);
out_log:
    if (rc != 0)
        LYC_DEBUG(NULL, "http: %s %.*s failed: %s", method, (int) strcspn(req->url, "?"), req->url,
                  resp->error);
    return rc;
}

int lyc_http_post_json(lyc_http_t *self, const lyc_http_request_t *req, lyc_http_response_t *resp)
{
    return s_request(self, req, 1, resp);
}

int lyc_http_get(lyc_http_t *self, const lyc_http_request_t *req, lyc_http_response_t *resp)
{
    return s_request(self, req, 0, resp);
}
