/*
 * human_feedback.c - users' scores into the feedback log.
 */
#include "human_feedback.h"

#include "clock.h"
#include "ids.h"
#include "log.h"
#include "recorder.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static int s_parse_score(const cJSON *root, double *score, lyc_api_error_t *err)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(root, "score");
    const cJSON *rating = cJSON_GetObjectItemCaseSensitive(root, "rating");
    if (cJSON_IsNumber(value) && !rating) {
        if (value->valuedouble < 0 || value->valuedouble > 1)
            return lyc_api_fail(err, 400, "invalid_request_error", "invalid_value", "score",
                                "'score' must be a number from 0.0 to 1.0");
        *score = value->valuedouble;
        return 0;
    }
    if (cJSON_IsString(rating) && !value) {
        if (strcmp(rating->valuestring, "up") == 0)
            return *score = 1.0, 0;
        if (strcmp(rating->valuestring, "down") == 0)
            return *score = 0.0, 0;
    }
    return lyc_api_fail(err, 400, "invalid_request_error", "invalid_value", "score",
                        "give either 'score' (0.0-1.0) or 'rating' (\"up\" or \"down\")");
}

int lyc_human_feedback_parse(const char *body, size_t len, const char *default_tenant,
                             lyc_human_feedback_t *out, lyc_api_error_t *err)
{
    memset(out, 0, sizeof *out);
    cJSON *root = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        lyc_api_fail(err, 400, "invalid_request_error", "invalid_value", NULL,
                     "the request body is not a JSON object");
        goto out_free_json;
    }
    const cJSON *trace = cJSON_GetObjectItemCaseSensitive(root, "trace_id");
    if (!cJSON_IsString(trace) || !lyc_id_valid(trace->valuestring)) {
        lyc_api_fail(err, 400, "invalid_request_error", "invalid_value", "trace_id",
                     "'trace_id' must be the lyceum.trace_id of an answer");
        goto out_free_json;
    }
    snprintf(out->trace_id, sizeof out->trace_id, "%s", trace->valuestring);
    const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "metadata"), "tenant");
    const char *name = cJSON_IsString(tenant) ? tenant->valuestring : default_tenant;
    /* Checked before the copy: a name too long for out->tenant must be
     * refused, not cut down to another tenant's name. */
    if (!lyc_vecstore_tenant_valid(name)) {
        lyc_api_fail(
            err, 400, "invalid_request_error", "invalid_value", "metadata.tenant",
            "metadata.tenant must be 1-64 characters of A-Z a-z 0-9 _ . - not starting with _");
        goto out_free_json;
    }
    snprintf(out->tenant, sizeof out->tenant, "%s", name);
    rc = s_parse_score(root, &out->score, err);
out_free_json:
    cJSON_Delete(root);
    return rc;
}

int lyc_human_feedback_record(lyc_query_ctx_t *ctx, const lyc_human_feedback_t *fb,
                              lyc_api_error_t *err)
{
    lyc_vecstore_record_t *record = NULL;
    /* Feedback right after the answer may come before its record is written. */
    lyc_recorder_await_trace(ctx->router->recorder, fb->tenant, fb->trace_id);
    if (lyc_vecstore_record_get(ctx->store, fb->tenant, fb->trace_id, &record) != 0)
        return lyc_api_fail(err, 503, "server_error", "unavailable", NULL,
                            "the query records cannot be read right now; retry");
    if (!record)
        return lyc_api_fail(err, 404, "invalid_request_error", "not_found", "trace_id",
                            "no recorded query with this trace_id for this tenant");
    const char *winner = lyc_vecstore_record_value(record, "winner");
    const char *domain = lyc_vecstore_record_value(record, "domain");
    const char *user = lyc_vecstore_record_value(record, "user");
    char event_id[LYC_ID_LEN];
    lyc_id_new(event_id);
    Lyceum__V1__FeedbackEvent ev = LYCEUM__V1__FEEDBACK_EVENT__INIT;
    ev.event_id = event_id;
    ev.trace_id = (char *) fb->trace_id;
    ev.tenant = (char *) fb->tenant;
    ev.user = (char *) (user ? user : "");
    ev.domain = (char *) (domain ? domain : "general");
    ev.model = (char *) (winner ? winner : "");
    ev.winner_model = ev.model;
    ev.winner = 1;
    ev.score = fb->score;
    ev.confidence = 1.0;
    ev.source = LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN;
    ev.judged_by = "human";
    ev.at_us = lyc_wall_us();
    ev.query_id = (char *) fb->trace_id;
    int rc =
        lyc_event_sink_send(ctx->router->events, ctx->router->settings.topic_feedback, ev.domain,
                            LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, fb->trace_id, &ev.base);
    if (rc == 0) /* before the record goes: ev.model points into it */
        LYC_INFO(fb->trace_id, "router: human feedback %.2f on %s", fb->score, ev.model);
    lyc_vecstore_record_destroy(&record);
    if (rc != 0)
        return lyc_api_fail(err, 503, "server_error", "unavailable", NULL,
                            "the feedback log refused the event; retry");
    return 0;
}
