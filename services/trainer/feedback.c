/*
 * feedback.c - decoding and checking feedback events.
 */
#include "feedback.h"

#include "vecstore.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 1 when s is 1 to LYC_FEEDBACK_NAME_MAX - 1 bytes without control
 * characters, '"', '\\' (the vector store's label rule) or `also`. */
static int s_label_valid(const char *s, int also)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len >= LYC_FEEDBACK_NAME_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == also)
            return 0;
    return 1;
}

int lyc_feedback_name_valid(const char *s)
{
    return s_label_valid(s, '|');
}

static int s_id_valid(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len >= LYC_FEEDBACK_NAME_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '{' || *p == '}')
            return 0;
    return 1;
}

/* The checks; returns the first problem, or NULL. */
static const char *s_problem(const lyc_feedback_t *ev)
{
    if (!s_id_valid(ev->event_id))
        return "no usable event_id";
    if (!s_id_valid(ev->trace_id))
        return "no usable trace_id";
    if (!lyc_feedback_name_valid(ev->model))
        return "no usable model name";
    if (!s_label_valid(ev->domain, 0))
        return "no usable domain";
    if (!lyc_vecstore_tenant_valid(ev->tenant))
        return "no usable tenant";
    if (!isfinite(ev->score) || ev->score < 0 || ev->score > 1)
        return "score outside [0, 1]";
    if (!isfinite(ev->cost_usd) || ev->cost_usd < 0 || !isfinite(ev->judge_cost_usd) ||
        ev->judge_cost_usd < 0)
        return "cost not a finite non-negative number";
    return NULL;
}

lyc_feedback_t *lyc_feedback_decode(const void *data, size_t len, char *err, size_t errcap)
{
    lyc_envelope_t env;
    char why[256];
    if (!data || len == 0) {
        snprintf(err, errcap, "empty record");
        return NULL;
    }
    if (lyc_envelope_decode(data, len, &env, why, sizeof why) != 0) {
        snprintf(err, errcap, "%s", why);
        return NULL;
    }
    if (env.type != LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT) {
        snprintf(err, errcap, "a %s envelope, not a FEEDBACK_EVENT", lyc_msg_name(env.type));
        lyc_envelope_clear(&env);
        return NULL;
    }
    lyc_feedback_t *ev = (lyc_feedback_t *) env.payload;
    const char *problem = s_problem(ev);
    if (problem) {
        snprintf(err, errcap, "feedback event %.64s: %s",
                 ev->event_id && *ev->event_id ? ev->event_id : "?", problem);
        lyc_envelope_clear(&env);
        return NULL;
    }
    env.payload = NULL; /* the event is the caller's now */
    lyc_envelope_clear(&env);
    return ev;
}

void lyc_feedback_free(lyc_feedback_t **ev_p)
{
    if (!ev_p || !*ev_p)
        return;
    protobuf_c_message_free_unpacked(&(*ev_p)->base, NULL);
    *ev_p = NULL;
}

int lyc_feedback_is_human(const lyc_feedback_t *ev)
{
    return ev->source == LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN;
}

int lyc_feedback_scored(const lyc_feedback_t *ev)
{
    return ev->source != LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_UNSPECIFIED;
}

int lyc_feedback_failed(const lyc_feedback_t *ev)
{
    if (ev->error && ev->error->code != LYCEUM__V1__ERROR_CODE__ERROR_NONE)
        return 1;
    /* A call whose answer never came (the router's deadline passed) carries
     * no error, no usage, no latency and no cost: nothing was scored. */
    return !lyc_feedback_is_human(ev) && !ev->usage && ev->latency_ms == 0 && ev->cost_usd == 0;
}
