/*
 * grade.c - what the graders share: failed answers, rationales, the grading.
 */
#include "grade.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_error_names[] = {"error",       "bad request",   "timeout",
                                      "backend",     "unavailable",   "abstained",
                                      "over budget", "internal error"};

/* 1 when text holds nothing but white space. */
static int s_blank(const char *text)
{
    for (; text && *text; text++)
        if (!isspace((unsigned char) *text))
            return 0;
    return 1;
}

int lyc_answer_failed(const Lyceum__V1__Answer *answer)
{
    if (answer->error && answer->error->code != LYCEUM__V1__ERROR_CODE__ERROR_NONE)
        return 1;
    return s_blank(answer->content);
}

/* Drops a UTF-8 sequence that a cut left incomplete at the end of text, so
 * the text stays valid UTF-8 (protobuf strings must be). */
static void s_trim_utf8(char *text)
{
    size_t len = strlen(text), lead = len;
    while (lead > 0 && ((unsigned char) text[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    unsigned char c = (unsigned char) text[lead - 1];
    size_t need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (lead - 1 + need > len)
        text[lead - 1] = '\0';
}

void lyc_grade_explain(lyc_grade_t *grade, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(grade->rationale, sizeof grade->rationale, fmt, ap);
    va_end(ap);
    if (n < 0) {
        grade->rationale[0] = '\0';
        return;
    }
    if ((size_t) n >= sizeof grade->rationale)
        s_trim_utf8(grade->rationale);
}

/* Score 0 with full confidence: a failed answer is certainly not an answer.
 * error is NULL for an answer that came back empty. */
static void s_grade_failed(lyc_grade_t *grade, const Lyceum__V1__Error *error)
{
    if (!error || error->code == LYCEUM__V1__ERROR_CODE__ERROR_NONE) {
        *grade = (lyc_grade_t){.score = 0.0, .confidence = 1.0, .eligible = 0};
        lyc_grade_explain(grade, "empty answer");
        return;
    }
    int code = (int) error->code;
    const char *name = code >= 0 && code <= 7 ? s_error_names[code] : s_error_names[0];
    grade->score = 0.0;
    grade->confidence = 1.0;
    grade->eligible = 0;
    if (error->message && *error->message)
        lyc_grade_explain(grade, "%s: %s", name, error->message);
    else
        lyc_grade_explain(grade, "%s", name);
}

void lyc_grading_init(lyc_grading_t *self, const Lyceum__V1__EvalRequest *request,
                      const lyc_eval_config_t *config, const lyc_embedder_t *embedder)
{
    memset(self, 0, sizeof *self);
    self->request = request;
    self->config = config;
    self->embedder = embedder;
    for (size_t i = 0; i < request->n_answers && i < LYC_EVAL_MAX_ANSWERS; i++) {
        const Lyceum__V1__Answer *answer = request->answers[i];
        if (lyc_answer_failed(answer))
            s_grade_failed(&self->grades[i], answer->error);
        else
            self->answered++;
    }
}

void lyc_grading_charge(lyc_grading_t *self, const char *model, double cost_usd)
{
    if (self->judge_calls < LYC_EVAL_MAX_JUDGE_CALLS)
        snprintf(self->judge_models[self->judge_calls], sizeof self->judge_models[0], "%s", model);
    self->judge_calls++;
    self->judge_cost_usd += cost_usd;
}

void lyc_grading_clear(lyc_grading_t *self)
{
    if (!self)
        return;
    free(self->synthesis);
    self->synthesis = NULL;
}
