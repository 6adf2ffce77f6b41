/*
 * dispatch_openai.c - a fine-tuning job through an OpenAI-compatible API:
 * upload, create, poll.
 */
#include "dispatch.h"

#include "clock.h"
#include "http_client.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CALL_TIMEOUT_MS   120000
#define S_UPLOAD_TIMEOUT_MS 600000
#define S_MAX_BODY          (1u << 20)

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t s_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_buf_t *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > S_MAX_BODY)
        return 0;
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* "Authorization: Bearer <key>" into buf, or "" when the variable is unset. */
static const char *s_auth(const lyc_trainer_config_t *config, char *buf, size_t cap)
{
    const char *key = *config->openai_api_key_env ? getenv(config->openai_api_key_env) : NULL;
    if (key && *key)
        snprintf(buf, cap, "Authorization: Bearer %s", key);
    else
        buf[0] = '\0';
    return buf;
}

/* POST /files with the training set; the file id into id. */
static int s_upload(const lyc_trainer_config_t *config, const char *path, char *id, size_t cap,
                    char *err, size_t errcap)
{
    char url[1024], auth[1024];
    snprintf(url, sizeof url, "%s/files", config->openai_base_url);
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errcap, "libcurl cannot start");
        return -1;
    }
    curl_mime *mime = curl_mime_init(curl);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "purpose");
    curl_mime_data(part, "fine-tune", CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filedata(part, path);
    struct curl_slist *headers = NULL;
    if (*s_auth(config, auth, sizeof auth))
        headers = curl_slist_append(headers, auth);
    s_buf_t body = {0};
    long status = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) LYC_HTTP_DEFAULT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) S_UPLOAD_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    cJSON *root = code == CURLE_OK && body.data ? cJSON_Parse(body.data) : NULL;
    const char *file_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id"));
    int rc = -1;
    if (code != CURLE_OK)
        snprintf(err, errcap, "upload to %s failed: %s", url, curl_easy_strerror(code));
    else if (status / 100 != 2 || !file_id)
        snprintf(err, errcap, "upload to %s answered HTTP %ld without a file id", url, status);
    else if (snprintf(id, cap, "%s", file_id) < (int) cap)
        rc = 0;
    cJSON_Delete(root);
    free(body.data);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    curl_easy_cleanup(curl);
    return rc;
}

/* One JSON call (POST when body is not NULL, else GET); the parsed reply. */
static cJSON *s_call(const lyc_trainer_config_t *config, const char *url, const char *body,
                     char *err, size_t errcap)
{
    char auth[1024];
    const char *headers[] = {s_auth(config, auth, sizeof auth), NULL};
    lyc_http_request_t req = {.url = url,
                              .headers = *auth ? headers : NULL,
                              .body = body,
                              .body_len = body ? strlen(body) : 0,
                              .timeout_ms = S_CALL_TIMEOUT_MS};
    lyc_http_response_t resp;
    int rc = body ? lyc_http_post_json(NULL, &req, &resp) : lyc_http_get(NULL, &req, &resp);
    cJSON *root = NULL;
    if (rc != 0)
        snprintf(err, errcap, "%s failed: %s", url, resp.error);
    else if (resp.status / 100 != 2)
        snprintf(err, errcap, "%s answered HTTP %ld: %.200s", url, resp.status,
                 resp.body ? resp.body : "");
    else if (!(root = cJSON_Parse(resp.body)))
        snprintf(err, errcap, "%s answered something that is not JSON", url);
    lyc_http_response_free(&resp);
    return root;
}

static int s_create(const lyc_trainer_config_t *config, const lyc_dispatch_job_t *job,
                    const char *file_id, char *id, size_t cap, char *err, size_t errcap)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/fine_tuning/jobs", config->openai_base_url);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "training_file", file_id);
    cJSON_AddStringToObject(req, "model", job->base_model);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!body) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    cJSON *root = s_call(config, url, body, err, errcap);
    free(body);
    const char *job_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "id"));
    int rc = -1;
    if (root && !job_id)
        snprintf(err, errcap, "%s answered without a job id", url);
    else if (job_id && snprintf(id, cap, "%s", job_id) < (int) cap)
        rc = 0;
    cJSON_Delete(root);
    return rc;
}

/* One status poll: 1 finished (model in result), 0 still running, -1 failed. */
static int s_poll_once(const lyc_trainer_config_t *config, const char *url, char *result,
                       size_t cap, char *err, size_t errcap)
{
    cJSON *root = s_call(config, url, NULL, err, errcap);
    if (!root)
        return 0; /* a failed poll is retried at the next interval */
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
    const char *model =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "fine_tuned_model"));
    int rc = 0;
    if (status && strcmp(status, "succeeded") == 0 && model && *model) {
        snprintf(result, cap, "%s", model);
        rc = 1;
    } else if (status && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0)) {
        cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "message"));
        snprintf(err, errcap, "the fine-tuning job %s: %s", status, msg ? msg : "no reason given");
        rc = -1;
    }
    cJSON_Delete(root);
    return rc;
}

static int s_poll(const lyc_trainer_config_t *config, const char *id,
                  const volatile sig_atomic_t *stop, char *result, size_t cap, char *err,
                  size_t errcap)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/fine_tuning/jobs/%s", config->openai_base_url, id);
    int64_t deadline = lyc_mono_us() + config->job_timeout_ms * 1000LL;
    int64_t next = 0;
    while (!(stop && *stop) && lyc_mono_us() < deadline) {
        if (lyc_mono_us() >= next) {
            int rc = s_poll_once(config, url, result, cap, err, errcap);
            if (rc != 0)
                return rc > 0 ? 0 : -1;
            next = lyc_mono_us() + config->openai_poll_ms * 1000LL;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errcap, "the fine-tuning job %s %s", id,
             stop && *stop ? "was still running at shutdown" : "ran past trainer.job_timeout_ms");
    return -1;
}

int lyc_dispatch_openai(const lyc_trainer_config_t *config, const lyc_dispatch_job_t *job,
                        const volatile sig_atomic_t *stop, char *result, char *external, size_t cap,
                        char *err, size_t errcap)
{
    char file_id[256];
    if (s_upload(config, job->data, file_id, sizeof file_id, err, errcap) != 0)
        return -1;
    if (s_create(config, job, file_id, external, cap, err, errcap) != 0)
        return -1;
    LYC_INFO(NULL, "trainer: job %s is fine-tuning job %s at %s", job->job_id, external,
             config->openai_base_url);
    return s_poll(config, external, stop, result, cap, err, errcap);
}
