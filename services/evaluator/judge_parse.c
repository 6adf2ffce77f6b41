/*
 * judge_parse.c - finding and reading the JSON object in a judge's reply.
 */
#include "judge_parse.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lyc_judge_label(size_t index, char out[LYC_JUDGE_LABEL_MAX])
{
    if (index < 26) {
        out[0] = (char) ('A' + index);
        out[1] = '\0';
        return;
    }
    out[0] = (char) ('A' + index / 26 - 1);
    out[1] = (char) ('A' + index % 26);
    out[2] = '\0';
}

/* Finds the end of the balanced object that opens at data[start] ('{'),
 * skipping braces inside JSON strings. Returns the index of its closing '}',
 * or -1 when the input ends first (a truncated reply). */
static long s_object_end(const char *data, size_t len, size_t start)
{
    int in_string = 0, escaped = 0;
    long depth = 0;

    for (size_t i = start; i < len; i++) {
        char c = data[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '{')
            depth++;
        else if (c == '}' && --depth == 0)
            return (long) i;
    }
    return -1;
}

/* Parses data[start..end] as JSON from a NUL-terminated copy (cJSON is then
 * never asked to stop at a length). Returns the object or NULL. */
static cJSON *s_parse_span(const char *data, size_t start, size_t end)
{
    size_t n = end - start + 1;
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, data + start, n);
    copy[n] = '\0';
    cJSON *json = cJSON_ParseWithLength(copy, n + 1);
    free(copy);
    if (json && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

/* The first balanced object that parses and holds a "scores" array, trying
 * at most LYC_JUDGE_MAX_CANDIDATES opening braces. */
static cJSON *s_find_object(const char *data, size_t len)
{
    size_t pos = 0;
    for (int tries = 0; tries < LYC_JUDGE_MAX_CANDIDATES; tries++) {
        const char *open = memchr(data + pos, '{', len - pos);
        if (!open)
            return NULL;
        size_t start = (size_t) (open - data);
        long end = s_object_end(data, len, start);
        if (end >= 0) {
            cJSON *json = s_parse_span(data, start, (size_t) end);
            if (json && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(json, "scores")))
                return json;
            cJSON_Delete(json);
        }
        pos = start + 1;
    }
    return NULL;
}

static double s_clamp01(double v)
{
    if (isnan(v))
        return 0.0;
    return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

/* A number, or a string holding one ("0.8"); -1 when neither. */
static int s_number(const cJSON *item, double *out)
{
    if (cJSON_IsNumber(item)) {
        *out = s_clamp01(item->valuedouble);
        return 0;
    }
    if (!cJSON_IsString(item) || !item->valuestring)
        return -1;
    char *end = NULL;
    double v = strtod(item->valuestring, &end);
    if (end == item->valuestring)
        return -1;
    while (isspace((unsigned char) *end))
        end++;
    if (*end)
        return -1;
    *out = s_clamp01(v);
    return 0;
}

/* Normalises a label: "b", " B ", "Answer B", "(B)" -> "B". -1 unless the
 * rest is one or two ASCII letters. */
static int s_label(const char *text, char out[LYC_JUDGE_LABEL_MAX])
{
    const char *p = text;
    size_t n = 0;

    while (*p && (isspace((unsigned char) *p) || *p == '('))
        p++;
    if (strncasecmp(p, "answer", 6) == 0)
        for (p += 6; *p && isspace((unsigned char) *p);)
            p++;
    while (isalpha((unsigned char) p[n]) && n < 3)
        n++;
    if (n == 0 || n > 2)
        return -1;
    for (const char *q = p + n; *q; q++)
        if (!isspace((unsigned char) *q) && *q != ')')
            return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char) toupper((unsigned char) p[i]);
    out[n] = '\0';
    return 0;
}

/* Copies src into dst[cap], cut on a UTF-8 character boundary. */
static void s_copy_utf8(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char) src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Reads one element of "scores" into *out; -1 when it has no usable label
 * or score. */
static int s_read_score(const cJSON *item, lyc_judge_score_t *out)
{
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(item, "label");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(item, "reason");

    if (!cJSON_IsObject(item) || !cJSON_IsString(label) || s_label(label->valuestring, out->label))
        return -1;
    if (s_number(cJSON_GetObjectItemCaseSensitive(item, "score"), &out->score) != 0)
        return -1;
    if (s_number(cJSON_GetObjectItemCaseSensitive(item, "confidence"), &out->confidence) != 0)
        out->confidence = LYC_JUDGE_DEFAULT_CONFIDENCE;
    out->reason[0] = '\0';
    if (cJSON_IsString(reason) && reason->valuestring)
        s_copy_utf8(out->reason, sizeof out->reason, reason->valuestring);
    return 0;
}

static void s_read_scores(const cJSON *scores, lyc_judge_result_t *out)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, scores)
    {
        if (out->n_scores == LYC_JUDGE_MAX_SCORES)
            return;
        lyc_judge_score_t *slot = &out->scores[out->n_scores];
        if (s_read_score(item, slot) == 0 && !lyc_judge_result_find(out, slot->label))
            out->n_scores++;
    }
}

/* "best" as a label or "synthesis"; left empty when it is neither. */
static void s_read_best(const cJSON *best, lyc_judge_result_t *out)
{
    if (!cJSON_IsString(best) || !best->valuestring)
        return;
    if (strcasecmp(best->valuestring, "synthesis") == 0)
        snprintf(out->best, sizeof out->best, "synthesis");
    else if (s_label(best->valuestring, out->best) != 0)
        out->best[0] = '\0';
}

static int s_read_synthesis(const cJSON *synthesis, lyc_judge_result_t *out)
{
    if (!cJSON_IsString(synthesis) || !synthesis->valuestring)
        return 0;
    const char *p = synthesis->valuestring;
    while (isspace((unsigned char) *p))
        p++;
    if (!*p)
        return 0;
    out->synthesis = strdup(synthesis->valuestring);
    return out->synthesis ? 0 : -1;
}

int lyc_judge_parse(const char *data, size_t len, lyc_judge_result_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (!data || len == 0) {
        snprintf(err, errcap, "empty reply");
        return -1;
    }
    if (len > LYC_JUDGE_MAX_INPUT) {
        snprintf(err, errcap, "reply of %zu bytes is above the %d-byte limit", len,
                 LYC_JUDGE_MAX_INPUT);
        return -1;
    }
    cJSON *json = s_find_object(data, len);
    if (!json) {
        snprintf(err, errcap, "no JSON object with a \"scores\" array");
        return -1;
    }
    s_read_scores(cJSON_GetObjectItemCaseSensitive(json, "scores"), out);
    s_read_best(cJSON_GetObjectItemCaseSensitive(json, "best"), out);
    int rc = s_read_synthesis(cJSON_GetObjectItemCaseSensitive(json, "synthesis"), out);
    cJSON_Delete(json);
    if (rc != 0 || out->n_scores == 0) {
        snprintf(err, errcap, rc ? "out of memory" : "no readable score in \"scores\"");
        lyc_judge_result_clear(out);
        return -1;
    }
    return 0;
}

void lyc_judge_result_clear(lyc_judge_result_t *result)
{
    if (!result)
        return;
    free(result->synthesis);
    memset(result, 0, sizeof *result);
}

const lyc_judge_score_t *lyc_judge_result_find(const lyc_judge_result_t *result, const char *label)
{
    for (size_t i = 0; i < result->n_scores; i++)
        if (strcmp(result->scores[i].label, label) == 0)
            return &result->scores[i];
    return NULL;
}
