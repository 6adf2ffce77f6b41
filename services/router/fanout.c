/*
 * fanout.c - tasks out through the broker, answers back.
 */
#include "fanout.h"

#include "bus.h"
#include "clock.h"
#include "log.h"
#include "pb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slack over the longest deadline before this side stops waiting for the broker. */
#define S_BROKER_SLACK_MS 2000

int lyc_call_ok(const lyc_call_t *call)
{
    return call->answer && !call->answer->error;
}

static void s_task_id(char *buf, size_t cap, const char *trace, size_t index)
{
    snprintf(buf, cap, "%s:%zu", trace, index);
}

/* Fills in an error answer for a call that got none. */
static void s_fail_call(lyc_call_t *call, const char *trace, Lyceum__V1__ErrorCode code,
                        const char *message)
{
    Lyceum__V1__Answer *a = lyc_pb_new(&lyceum__v1__answer__descriptor);
    Lyceum__V1__Error *e = lyc_pb_new(&lyceum__v1__error__descriptor);
    if (!a || !e) {
        lyc_pb_free(a);
        lyc_pb_free(e);
        return;
    }
    e->code = code;
    e->message = strdup(message);
    e->retryable = 1;
    a->error = e;
    a->model = strdup(call->model);
    a->trace_id = strdup(trace);
    call->answer = a;
}

static int s_send_task(lyc_query_ctx_t *ctx, const char *trace,
                       const Lyceum__V1__ClientQuery *query, const char *tenant, const char *domain,
                       const lyc_call_t *call, size_t index)
{
    char task_id[160];
    s_task_id(task_id, sizeof task_id, trace, index);
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = task_id;
    task.trace_id = (char *) trace;
    task.model = (char *) call->model;
    task.messages = query->messages;
    task.n_messages = query->n_messages;
    task.tenant = (char *) tenant;
    task.domain = (char *) domain;
    task.max_tokens = query->max_tokens;
    task.deadline_ms = (uint32_t) call->timeout_ms;
    task.for_learning = call->for_learning;
    task.temperature = query->temperature;
    task.temperature_set = query->temperature_set;
    task.share_exemplars = ctx->share_exemplars;
    return lyc_bus_send(ctx->broker, NULL, LYCEUM__V1__MESSAGE_TYPE__TASK, trace, &task.base);
}

/* Takes one ANSWER off the broker socket and files it under its call. */
static void s_take_answer(lyc_query_ctx_t *ctx, const char *trace, lyc_call_t *calls, size_t n,
                          size_t *answered)
{
    lyc_bus_msg_t msg;
    if (lyc_bus_recv(ctx->broker, &msg) != 1)
        return;
    Lyceum__V1__Answer *a = (Lyceum__V1__Answer *) msg.env.payload;
    size_t tlen = strlen(trace);
    /* Answers of an earlier query that this thread gave up on are dropped here. */
    if (msg.env.type == LYCEUM__V1__MESSAGE_TYPE__ANSWER && strncmp(a->task_id, trace, tlen) == 0 &&
        a->task_id[tlen] == ':') {
        size_t index = strtoul(a->task_id + tlen + 1, NULL, 10);
        if (index < n && !calls[index].answer) {
            calls[index].answer = a;
            msg.env.payload = NULL;
            (*answered)++;
        }
    }
    lyc_bus_msg_clear(&msg);
}

int lyc_fanout_run(lyc_query_ctx_t *ctx, const char *trace, const Lyceum__V1__ClientQuery *query,
                   const char *tenant, const char *domain, lyc_call_t *calls, size_t first,
                   size_t n)
{
    long longest = 0;
    size_t answered = 0, sent = 0;
    for (size_t i = first; i < n; i++) {
        if (s_send_task(ctx, trace, query, tenant, domain, &calls[i], i) != 0) {
            s_fail_call(&calls[i], trace, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE,
                        "the router's broker did not take the task");
            continue;
        }
        sent++;
        if (calls[i].timeout_ms > longest)
            longest = calls[i].timeout_ms;
    }
    int64_t give_up = lyc_mono_us() + (longest + S_BROKER_SLACK_MS) * 1000;
    zpoller_t *poller = zpoller_new(ctx->broker, NULL);
    while (answered < sent) {
        int64_t left_ms = (give_up - lyc_mono_us()) / 1000;
        if (left_ms <= 0)
            break;
        if (zpoller_wait(poller, (int) left_ms) == ctx->broker)
            s_take_answer(ctx, trace, calls, n, &answered);
        else if (zpoller_terminated(poller))
            break;
    }
    zpoller_destroy(&poller);
    for (size_t i = first; i < n; i++)
        if (!calls[i].answer)
            s_fail_call(&calls[i], trace, LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT,
                        "no answer from the broker in time");
    return 0;
}

void lyc_calls_clear(lyc_call_t *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lyc_pb_free(calls[i].answer);
        calls[i].answer = NULL;
    }
}
