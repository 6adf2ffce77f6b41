/*
 * human_feedback.h - POST /v1/lyceum/feedback: a user's own verdict on an
 * answer, which the trainer weighs above any judge's.
 *
 *   {"trace_id": "...", "score": 0.0-1.0}        or
 *   {"trace_id": "...", "rating": "up"|"down"}   (1.0 / 0.0)
 *   optional: "metadata": {"tenant": "..."}, "comment": "..."
 *
 * The trace must be one of the tenant's recorded queries; the feedback is
 * about the answer that was returned (the record's winner). It becomes a
 * FeedbackEvent with source SCORE_SOURCE_HUMAN on the feedback topic.
 */
#ifndef LYCEUM_ROUTER_HUMAN_FEEDBACK_H
#define LYCEUM_ROUTER_HUMAN_FEEDBACK_H

#include "openai_api.h"
#include "router.h"

/* Parsed feedback. */
typedef struct {
    char trace_id[128];
    char tenant[LYC_VECSTORE_MAX_TENANT + 1];
    double score;
} lyc_human_feedback_t;

/* Parses a feedback body; 0, or -1 with *err set (400). Pure, for fuzzing. */
int lyc_human_feedback_parse(const char *body, size_t len, const char *default_tenant,
                             lyc_human_feedback_t *out, lyc_api_error_t *err);

/* Records the feedback: finds the query record, sends the event. Returns 0,
 * or -1 with *err set (404 unknown trace, 503 when Kafka refuses). */
int lyc_human_feedback_record(lyc_query_ctx_t *ctx, const lyc_human_feedback_t *fb,
                              lyc_api_error_t *err);

#endif
