/*
 * judge_client.c - one TASK out, the matching ANSWER back, within a deadline.
 */
#include "judge_client.h"

#include "bus.h"
#include "clock.h"
#include "ids.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lyc_judge_client_t {
    zsock_t *dealer;   /* owned */
    zsock_t *cancel;   /* borrowed, may be NULL */
    zpoller_t *poller; /* owned: dealer and cancel */
};

lyc_judge_client_t *lyc_judge_client_new(const char *endpoints, zsock_t *cancel,
                                         const lyc_bus_security_t *security)
{
    lyc_judge_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cancel = cancel;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        goto out_free_self;
    lyc_bus_socket_setup(self->dealer);
    if (lyc_bus_security_client(security, self->dealer) != 0)
        goto out_free_self;
    if (zsock_attach(self->dealer, endpoints, false) != 0) {
        LYC_ERROR(NULL, "evaluator: cannot connect to the task endpoint '%s'", endpoints);
        goto out_free_self;
    }
    self->poller = zpoller_new(self->dealer, cancel, NULL);
    if (!self->poller)
        goto out_free_self;
    /* Stopping is the actor's decision ($TERM on cancel), not a signal's. */
    zpoller_set_nonstop(self->poller, true);
    return self;
out_free_self:
    lyc_judge_client_destroy(&self);
    return NULL;
}

void lyc_judge_client_destroy(lyc_judge_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_judge_client_t *self = *self_p;
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->dealer);
    free(self);
    *self_p = NULL;
}

/* Takes the content and cost of the judge's answer; -1 when it is an error. */
static int s_take(const Lyceum__V1__Answer *answer, lyc_judge_reply_t *reply)
{
    reply->cost_usd += answer->cost_usd;
    if (answer->error && answer->error->code != LYCEUM__V1__ERROR_CODE__ERROR_NONE) {
        snprintf(reply->error, sizeof reply->error, "%s (code %d)",
                 *answer->error->message ? answer->error->message : "judge call failed",
                 (int) answer->error->code);
        return -1;
    }
    reply->content = strdup(answer->content);
    if (!reply->content) {
        snprintf(reply->error, sizeof reply->error, "out of memory");
        return -1;
    }
    return 0;
}

/* Reads one message from the dealer: 1 when it is the answer to task_id
 * (taken into reply, *rc set), 0 when it is something else (dropped). */
static int s_read(lyc_judge_client_t *self, const char *task_id, lyc_judge_reply_t *reply, int *rc)
{
    lyc_bus_msg_t msg;
    if (lyc_bus_recv(self->dealer, &msg) != 1)
        return 0;
    const Lyceum__V1__Answer *answer = (const Lyceum__V1__Answer *) msg.env.payload;
    int ours =
        msg.env.type == LYCEUM__V1__MESSAGE_TYPE__ANSWER && strcmp(answer->task_id, task_id) == 0;
    if (ours)
        *rc = s_take(answer, reply);
    else
        LYC_DEBUG(msg.env.trace_id, "evaluator: dropped a late or stray %s",
                  lyc_msg_name(msg.env.type));
    lyc_bus_msg_clear(&msg);
    return ours;
}

/* Waits for the answer to task_id until deadline_us (monotonic). */
static int s_wait(lyc_judge_client_t *self, const char *task_id, int64_t deadline_us,
                  lyc_judge_reply_t *reply)
{
    int rc = -1;
    for (;;) {
        int64_t left_ms = (deadline_us - lyc_mono_us()) / 1000;
        if (left_ms <= 0)
            break;
        void *which = zpoller_wait(self->poller, (int) (left_ms > 60000 ? 60000 : left_ms));
        if (which && which == self->cancel) {
            snprintf(reply->error, sizeof reply->error, "cancelled");
            return -1;
        }
        if (which == self->dealer && s_read(self, task_id, reply, &rc))
            return rc;
    }
    snprintf(reply->error, sizeof reply->error, "timed out: no answer within the deadline");
    return -1;
}

int lyc_judge_client_call(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply)
{
    lyc_judge_client_t *self = ctx;
    char task_id[LYC_ID_LEN];

    memset(reply, 0, sizeof *reply);
    lyc_id_new(task_id);
    task->task_id = task_id;
    int64_t deadline_us = lyc_mono_us() + ((int64_t) task->deadline_ms + LYC_JUDGE_GRACE_MS) * 1000;
    int sent = lyc_bus_send(self->dealer, NULL, LYCEUM__V1__MESSAGE_TYPE__TASK, task->trace_id,
                            &task->base);
    task->task_id = (char *) protobuf_c_empty_string;
    if (sent != 0) {
        snprintf(reply->error, sizeof reply->error, "unavailable: cannot send the task");
        return -1;
    }
    return s_wait(self, task_id, deadline_us, reply);
}
