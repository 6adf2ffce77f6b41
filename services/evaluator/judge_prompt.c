/*
 * judge_prompt.c - building the judge's prompt and the answers' order.
 */
#include "judge_prompt.h"

#include "judge_parse.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* A growing string; `failed` sticks after the first allocation failure so
 * the builder checks once at the end. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} s_buf_t;

static void s_put(s_buf_t *buf, const char *text, size_t len)
{
    if (buf->failed)
        return;
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->len + len + 1)
            cap *= 2;
        char *grown = realloc(buf->data, cap);
        if (!grown) {
            buf->failed = 1;
            return;
        }
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, text, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

static void s_puts(s_buf_t *buf, const char *text)
{
    s_put(buf, text, strlen(text));
}

static void s_printf(s_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_printf(s_buf_t *buf, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf->failed = 1;
    else
        s_put(buf, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
}

/* Length of text cut to at most max bytes on a UTF-8 character boundary. */
static size_t s_cut(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char) text[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Appends text, cut to LYC_JUDGE_PROMPT_MAX_TEXT with a visible mark. */
static void s_put_text(s_buf_t *buf, const char *text)
{
    size_t n = s_cut(text, LYC_JUDGE_PROMPT_MAX_TEXT);
    s_put(buf, text, n);
    if (n < strlen(text))
        s_puts(buf, "\n[... cut ...]");
    s_puts(buf, "\n");
}

/* splitmix64: a small, well-mixed generator; quality matters little here. */
static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void lyc_judge_shuffle(const char *trace_id, size_t *order, size_t n)
{
    const char *trace = trace_id ? trace_id : "";
    uint64_t state = XXH64(trace, strlen(trace), 0x4C7963656D);

    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t) (s_next(&state) % i);
        size_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

const char *lyc_judge_prompt_system(void)
{
    return "You are an impartial judge of answers written by AI assistants. Grade each answer "
           "on correctness, sound reasoning and relevance to the user's last request. Judge "
           "the content, not its length or style. Reply with one JSON object and nothing else.";
}

/* Index of the oldest turn that fits the conversation budget. */
static size_t s_first_turn(const Lyceum__V1__EvalRequest *req)
{
    size_t used = 0, first = req->n_messages;
    while (first > 0) {
        const char *content = req->messages[first - 1]->content;
        size_t cost = s_cut(content, LYC_JUDGE_PROMPT_MAX_TEXT) + 32;
        if (used + cost > LYC_JUDGE_PROMPT_MAX_CONVERSATION && first < req->n_messages)
            break;
        used += cost;
        first--;
    }
    return first;
}

static void s_put_conversation(s_buf_t *buf, const Lyceum__V1__EvalRequest *req)
{
    size_t first = s_first_turn(req);
    s_puts(buf, "<conversation>\n");
    if (first > 0)
        s_printf(buf, "[%zu earlier turns left out]\n", first);
    for (size_t i = first; i < req->n_messages; i++) {
        const Lyceum__V1__ChatMessage *turn = req->messages[i];
        s_printf(buf, "[%.32s]\n", *turn->role ? turn->role : "user");
        s_put_text(buf, turn->content);
    }
    s_puts(buf, "</conversation>\n\n");
}

static void s_put_answers(s_buf_t *buf, const Lyceum__V1__EvalRequest *req, const size_t *shown,
                          size_t n)
{
    char label[LYC_JUDGE_LABEL_MAX];
    for (size_t i = 0; i < n; i++) {
        lyc_judge_label(i, label);
        s_printf(buf, "<answer label=\"%s\">\n", label);
        s_put_text(buf, req->answers[shown[i]]->content);
        s_puts(buf, "</answer>\n\n");
    }
}

static void s_put_format(s_buf_t *buf, size_t n, int synthesis, int strict)
{
    char last[LYC_JUDGE_LABEL_MAX];
    lyc_judge_label(n - 1, last);
    s_puts(buf, "Reply with this JSON object and nothing else:\n"
                "{\"scores\": [{\"label\": \"A\", \"score\": 0.0, \"confidence\": 0.0, "
                "\"reason\": \"one short sentence\"}], ");
    if (synthesis)
        s_puts(buf, "\"best\": \"A\", \"synthesis\": \"\"}\n");
    else
        s_puts(buf, "\"best\": \"A\"}\n");
    s_printf(buf,
             "Give one entry in \"scores\" for each label from A to %s. score: 1.0 for a fully "
             "correct, complete and relevant answer, 0.0 for a wrong or useless one. "
             "confidence: how sure you are of that score, from 0.0 to 1.0. ",
             last);
    s_puts(buf, "\"best\": the label of the best answer.\n");
    if (synthesis)
        s_puts(buf, "\"synthesis\": when combining the answers gives one clearly better than "
                    "every answer, write that answer here and set \"best\" to \"synthesis\"; "
                    "otherwise leave it empty.\n");
    if (strict)
        s_puts(buf, "Your previous reply could not be read. Reply with the JSON object only: "
                    "no prose, no code fences, no comments; every label exactly once; score "
                    "and confidence as plain numbers between 0 and 1.\n");
}

char *lyc_judge_prompt_build(const Lyceum__V1__EvalRequest *req, const size_t *shown, size_t n,
                             int synthesis, int strict)
{
    s_buf_t buf = {0};

    if (n == 0 || n > LYC_JUDGE_MAX_SCORES)
        return NULL;
    s_puts(&buf, "Grade the candidate answers to the conversation below.\n\n");
    s_put_conversation(&buf, req);
    s_put_answers(&buf, req, shown, n);
    s_put_format(&buf, n, synthesis, strict);
    if (buf.failed) {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}
