/*
 * fuzz_chat_request.c - libFuzzer target for the router's OpenAI front door.
 *
 * The input is a POST /v1/chat/completions body. lyc_api_parse_chat() must
 * either refuse it with a 4xx/5xx error that renders as JSON, or return a
 * ClientQuery that survives everything the router then does with it: the
 * conversation text it embeds, an envelope round trip on the bus, and the
 * reply renderers (plain and streamed) fed with the query's own strings.
 */
#include "envelope.h"
#include "meaning.h"
#include "openai_api.h"
#include "pb.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The router's default limit is larger; a small one reaches the 413 path. */
#define S_MAX_PROMPT_BYTES 4096

/* Aborts (a crash libFuzzer reports) when text is not one parsable JSON value. */
static void s_check_json(const char *text)
{
    if (!text)
        return; /* out of memory */
    cJSON *root = cJSON_Parse(text);
    if (!root)
        abort();
    cJSON_Delete(root);
}

/* Each "data: {...}\n\n" event of a stream must hold one JSON object;
 * frees the stream. */
static void s_check_stream(char *stream)
{
    char *save = NULL;
    if (!stream)
        return;
    for (char *line = strtok_r(stream, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "data: ", 6) != 0)
            abort();
        if (strcmp(line + 6, "[DONE]") != 0)
            s_check_json(line + 6);
    }
    free(stream);
}

static void s_render_error(const lyc_api_error_t *err)
{
    if (err->status < 400 || err->status > 599)
        abort();
    char *text = lyc_api_render_error(err);
    s_check_json(text);
    free(text);
}

/* The bus round trip every query takes from the HTTP thread to the pipeline. */
static void s_round_trip(const Lyceum__V1__ClientQuery *q)
{
    size_t len = 0;
    uint8_t *frame =
        lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__CLIENT_QUERY, "fuzz", &q->base, &len);
    if (!frame)
        return;
    lyc_envelope_t env;
    char why[256];
    if (lyc_envelope_decode(frame, len, &env, why, sizeof why) != 0)
        abort(); /* what we packed must unpack */
    const Lyceum__V1__ClientQuery *back = (const Lyceum__V1__ClientQuery *) env.payload;
    if (back->n_messages != q->n_messages)
        abort();
    lyc_envelope_clear(&env);
    free(frame);
}

/* A reply carrying the query's strings, rendered both ways. */
static void s_render_reply(const Lyceum__V1__ClientQuery *q, char *content)
{
    Lyceum__V1__ClientReply reply = LYCEUM__V1__CLIENT_REPLY__INIT;
    Lyceum__V1__ModelScore score = LYCEUM__V1__MODEL_SCORE__INIT;
    Lyceum__V1__ModelScore *scores[1] = {&score};
    char *by[2] = {q->model, q->user};
    reply.content = content;
    reply.chosen = q->model;
    reply.domain = q->domain;
    reply.trace_id = q->tenant;
    reply.judged_by = q->user;
    reply.answered_by = by;
    reply.n_answered_by = 2;
    score.model = q->model;
    score.score = 0.5;
    reply.scores = scores;
    reply.n_scores = 1;

    char *text = lyc_api_render_chat(&reply, 1700000000);
    s_check_json(text);
    free(text);
    s_check_stream(lyc_api_render_stream(&reply, 1700000000));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lyc_api_error_t err;
    memset(&err, 0, sizeof err);
    Lyceum__V1__ClientQuery *q =
        lyc_api_parse_chat((const char *) data, size, S_MAX_PROMPT_BYTES, &err);
    if (!q) {
        s_render_error(&err);
        return 0;
    }
    if (q->n_messages == 0 || !q->messages)
        abort(); /* a parsed query has at least one message */
    char *text = lyc_conversation_text(q->messages, q->n_messages);
    if (text && !lyc_utf8_valid(text, strlen(text)))
        abort(); /* the parser admits UTF-8 only; the text must stay UTF-8 */
    s_round_trip(q);
    s_render_reply(q, text ? text : "");
    free(text);
    lyc_pb_free(q);
    return 0;
}
