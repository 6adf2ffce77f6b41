/*
 * judge_client.h - judge calls over the router's task endpoint.
 *
 * Each evaluator thread owns one client: a DEALER connected to bus.tasks (the
 * router's task endpoint, which load-balances over the judge model's
 * workers). A call sends one TASK and waits for the ANSWER with the same
 * task_id until the task's deadline plus LYC_JUDGE_GRACE_MS; answers to
 * earlier calls that arrive late are recognised by their task_id and
 * dropped. The wait also watches a cancel socket (the thread's actor pipe),
 * so a service that is stopping does not sit out a slow judge.
 */
#ifndef LYCEUM_EVALUATOR_JUDGE_CLIENT_H
#define LYCEUM_EVALUATOR_JUDGE_CLIENT_H

#include "bus_security.h"
#include "grade.h"

#include <czmq.h>

/* Time allowed past a task's deadline for the router's own time-out reply. */
#define LYC_JUDGE_GRACE_MS 500

typedef struct lyc_judge_client_t lyc_judge_client_t;

/* Connects a DEALER to endpoints (comma-separated, as bus.tasks), a CURVE
 * client when security (may be NULL) says so. cancel may be NULL; when it is
 * readable a call gives up (without reading it). Returns NULL, logged, when
 * the endpoints are malformed or memory runs out. The client borrows cancel
 * and security; the caller destroys the client. */
lyc_judge_client_t *lyc_judge_client_new(const char *endpoints, zsock_t *cancel,
                                         const lyc_bus_security_t *security);

/* Closes the socket and frees the client; accepts NULL, nulls the pointer. */
void lyc_judge_client_destroy(lyc_judge_client_t **self_p);

/* The lyc_judge_call_fn of this client (ctx is the client): gives the task a
 * fresh task_id, sends it and waits as described above. Returns 0 with
 * reply->content, or -1 with reply->error ("unavailable: ...", "timed out",
 * "cancelled"); reply->cost_usd is the Answer's cost whenever one came. */
int lyc_judge_client_call(void *ctx, Lyceum__V1__Task *task, lyc_judge_reply_t *reply);

#endif
