/*
 * eval_worker.c - a grading thread: decode, evaluate, encode, hand back.
 */
#include "eval_worker.h"

#include "envelope.h"
#include "evaluate.h"
#include "judge_budget.h"
#include "judge_client.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line per verdict, for the logs. */
static void s_log_verdict(const Lyceum__V1__Verdict *verdict)
{
    if (verdict->error)
        LYC_INFO(verdict->trace_id, "evaluator: verdict error=%d \"%s\" answers=%zu",
                 (int) verdict->error->code, verdict->error->message, verdict->n_verdicts);
    else
        LYC_INFO(verdict->trace_id,
                 "evaluator: verdict winner=%s judged_by=%s mode=%s answers=%zu judge_calls=%u "
                 "judge_cost=%.6f",
                 verdict->winner, verdict->judged_by, lyc_eval_mode_name((int) verdict->mode),
                 verdict->n_verdicts, verdict->judge_calls, verdict->judge_cost_usd);
}

/* What a worker owns: its judge connection, its link to the judges and its
 * budget keeper. */
typedef struct {
    lyc_judge_client_t *client;
    lyc_judges_link_t *link;    /* NULL when there is no judges cache */
    lyc_judge_budget_t *budget; /* NULL without Redis */
} s_judge_t;

/* The verdict for a decoded envelope. */
static Lyceum__V1__Verdict *s_verdict(const lyc_envelope_t *env, const lyc_eval_worker_args_t *args,
                                      s_judge_t *judge)
{
    if (env->type != LYCEUM__V1__MESSAGE_TYPE__EVAL_REQUEST) {
        char why[96];
        snprintf(why, sizeof why, "expected EVAL_REQUEST, got %s", lyc_msg_name(env->type));
        LYC_WARN(env->trace_id, "evaluator: bad request: %s", why);
        return lyc_verdict_error(env->trace_id, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, why, 0);
    }
    const Lyceum__V1__EvalRequest *req = (const Lyceum__V1__EvalRequest *) env->payload;
    const char *trace = *req->trace_id ? req->trace_id : env->trace_id;
    lyc_judge_spend_t spend = {.budget = judge->budget,
                               .config = args->config,
                               .request = req,
                               .call = lyc_judge_client_call,
                               .call_ctx = judge->client};
    lyc_judging_t judging = {.call = lyc_judge_spend_call, .ctx = &spend, .judges = judge->link};
    Lyceum__V1__Verdict *verdict =
        lyc_evaluate_with(req, trace, args->config, args->embedder, &judging);
    if (verdict)
        lyc_judge_spend_finish(&spend, verdict->judge_cost_usd);
    return verdict;
}

/* Appends the packed verdict to reply (which holds the route); -1 on failure. */
static int s_pack(zmsg_t *reply, const Lyceum__V1__Verdict *verdict)
{
    size_t len = 0;
    uint8_t *data = lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__VERDICT, verdict->trace_id,
                                        &verdict->base, &len);
    if (!data)
        return -1;
    int rc = zmsg_addmem(reply, data, len);
    free(data);
    return rc;
}

/* Grades the job in msg (route frames and envelope; consumed) and returns
 * the DONE message for the main thread, or NULL when out of memory. */
static zmsg_t *s_handle(zmsg_t *msg, const lyc_eval_worker_args_t *args, s_judge_t *judge)
{
    lyc_envelope_t env;
    char err[256];

    zframe_t *body = zmsg_last(msg);
    if (!body ||
        lyc_envelope_decode(zframe_data(body), zframe_size(body), &env, err, sizeof err) != 0) {
        LYC_ERROR(NULL, "evaluator: dropped a message: %s", body ? err : "no frames");
        zmsg_destroy(&msg);
        return zmsg_new();
    }
    zmsg_remove(msg, body);
    zframe_destroy(&body);
    Lyceum__V1__Verdict *verdict = s_verdict(&env, args, judge);
    if (!verdict || s_pack(msg, verdict) != 0) {
        LYC_ERROR(env.trace_id, "evaluator: out of memory writing the verdict");
        zmsg_destroy(&msg);
        msg = zmsg_new();
    } else {
        s_log_verdict(verdict);
    }
    lyc_verdict_destroy(&verdict);
    lyc_envelope_clear(&env);
    return msg;
}

/* Runs one JOB message and sends DONE back. */
static void s_job(zsock_t *pipe, zmsg_t *msg, const lyc_eval_worker_args_t *args, s_judge_t *judge)
{
    zmsg_t *done = s_handle(msg, args, judge);
    if (!done || zmsg_pushstr(done, LYC_EVAL_WORKER_DONE) != 0 || zmsg_send(&done, pipe) != 0) {
        /* The main thread would think this worker busy forever: a bug. */
        LYC_ERROR(NULL, "evaluator: worker cannot report back to the main thread");
        zmsg_destroy(&done);
        assert(false);
    }
}

void lyc_eval_worker_actor(zsock_t *pipe, void *args_)
{
    const lyc_eval_worker_args_t *args = args_;

    zsock_signal(pipe, 0);
    s_judge_t judge = {.client = lyc_judge_client_new(args->tasks_endpoint, pipe, args->security),
                       .link = NULL,
                       .budget = NULL};
    if (args->judges)
        judge.link = lyc_judges_link_new(args->judges);
    if (args->redis_url)
        judge.budget =
            lyc_judge_budget_new(args->redis_url, args->redis_prefix, args->redis_timeout_ms);
    int ready = judge.client && (!args->judges || judge.link) && (!args->redis_url || judge.budget);
    if (zsock_send(pipe, "i", ready ? 0 : -1) != 0 || !ready)
        goto out_free_judge;
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg && zmq_errno() == EINTR)
            continue;
        if (!msg)
            break;
        char *command = zmsg_popstr(msg);
        int job = command && strcmp(command, LYC_EVAL_WORKER_JOB) == 0;
        int stop = command && strcmp(command, "$TERM") == 0;
        free(command);
        if (job)
            s_job(pipe, msg, args, &judge);
        else
            zmsg_destroy(&msg);
        if (stop)
            break;
    }
out_free_judge:
    lyc_judge_budget_destroy(&judge.budget);
    lyc_judges_link_destroy(&judge.link);
    lyc_judge_client_destroy(&judge.client);
}
