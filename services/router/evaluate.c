/*
 * evaluate.c - EVAL_REQUEST out, VERDICT back.
 */
#include "evaluate.h"

#include "bus.h"
#include "clock.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static Lyceum__V1__EvalMode s_mode(const char *name)
{
    if (strcmp(name, "judge") == 0)
        return LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE;
    if (strcmp(name, "agreement") == 0)
        return LYCEUM__V1__EVAL_MODE__EVAL_MODE_AGREEMENT;
    if (strcmp(name, "reference") == 0)
        return LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE;
    return LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED;
}

static Lyceum__V1__Verdict *s_wait_verdict(lyc_query_ctx_t *ctx, const char *trace)
{
    int64_t give_up = lyc_mono_us() + ctx->router->config.eval_timeout_ms * 1000;
    zpoller_t *poller = zpoller_new(ctx->evaluator, NULL);
    Lyceum__V1__Verdict *verdict = NULL;
    while (!verdict) {
        int64_t left_ms = (give_up - lyc_mono_us()) / 1000;
        if (left_ms <= 0 || zpoller_wait(poller, (int) left_ms) != ctx->evaluator)
            break;
        lyc_bus_msg_t msg;
        if (lyc_bus_recv(ctx->evaluator, &msg) != 1)
            continue;
        /* A verdict for an earlier query this thread gave up on is dropped. */
        if (msg.env.type == LYCEUM__V1__MESSAGE_TYPE__VERDICT &&
            strcmp(((Lyceum__V1__Verdict *) msg.env.payload)->trace_id, trace) == 0) {
            verdict = (Lyceum__V1__Verdict *) msg.env.payload;
            msg.env.payload = NULL;
        }
        lyc_bus_msg_clear(&msg);
    }
    zpoller_destroy(&poller);
    return verdict;
}

Lyceum__V1__Verdict *lyc_evaluate(lyc_query_ctx_t *ctx, const char *trace,
                                  const Lyceum__V1__ClientQuery *query, const char *tenant,
                                  const char *key_id, const char *domain, const lyc_call_t *calls,
                                  size_t n, int audit)
{
    Lyceum__V1__Answer **answers = calloc(n ? n : 1, sizeof *answers);
    if (!answers)
        return NULL;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (calls[i].answer)
            answers[count++] = calls[i].answer;
    Lyceum__V1__EvalRequest req = LYCEUM__V1__EVAL_REQUEST__INIT;
    req.trace_id = (char *) trace;
    req.tenant = (char *) tenant;
    req.key_id = (char *) key_id;
    req.domain = (char *) domain;
    req.messages = query->messages;
    req.n_messages = query->n_messages;
    req.answers = answers;
    req.n_answers = count;
    req.mode = s_mode(ctx->router->config.eval_mode);
    req.cheap_margin = ctx->router->config.cheap_margin;
    req.audit = audit;
    int rc = lyc_bus_send(ctx->evaluator, NULL, LYCEUM__V1__MESSAGE_TYPE__EVAL_REQUEST, trace,
                          &req.base);
    free(answers);
    if (rc != 0)
        return NULL;
    Lyceum__V1__Verdict *verdict = s_wait_verdict(ctx, trace);
    if (!verdict)
        LYC_WARN(trace, "router: no verdict within %ld ms; choosing without scores",
                 ctx->router->config.eval_timeout_ms);
    return verdict;
}

int lyc_evaluate_fallback(const lyc_call_t *calls, size_t n)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if (!lyc_call_ok(&calls[i]) || calls[i].for_learning)
            continue;
        if (best < 0 || calls[i].role > calls[best].role ||
            (calls[i].role == calls[best].role &&
             calls[i].answer->cost_usd < calls[best].answer->cost_usd))
            best = (int) i;
    }
    return best;
}
