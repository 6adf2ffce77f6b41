/*
 * test_evaluator_bus.c - the evaluator over real ZeroMQ sockets.
 *
 * The evaluator runs in this process (lyceum_evaluator_lib, its own threads)
 * on a free TCP port; the test plays both its neighbours: the router that
 * sends EVAL_REQUESTs (a DEALER) and the router's task endpoint that receives
 * the judge's TASKs and answers them (a ROUTER with canned judge answers).
 */
#include "testkit.h"

#include "bus.h"
#include "eval_config.h"
#include "evaluator.h"
#include "judge_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JUDGE     LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE
#define REFERENCE LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE
#define T_TASK    LYCEUM__V1__MESSAGE_TYPE__TASK
#define T_ANSWER  LYCEUM__V1__MESSAGE_TYPE__ANSWER
#define T_VERDICT LYCEUM__V1__MESSAGE_TYPE__VERDICT
#define T_REQUEST LYCEUM__V1__MESSAGE_TYPE__EVAL_REQUEST

static zsock_t *s_tasks;  /* the router's task endpoint, played by the test */
static zsock_t *s_client; /* the router's DEALER to the evaluator */
static lyc_evaluator_t *s_evaluator;
static lyc_eval_config_t s_config;
static char s_tasks_endpoint[64];

static const char *s_contents[] = {"Because of Rayleigh scattering.", "The sky reflects the ocean.",
                                   "Rayleigh scattering favours short wavelengths."};

static void s_setup(void)
{
    char err[512], endpoint[64];
    const char *yaml = "evaluator:\n"
                       "  bind: \"tcp://127.0.0.1:*\"\n"
                       "  threads: 2\n"
                       "  judge_timeout_ms: 1500\n"
                       "models:\n"
                       "  - {name: student, backend: replay}\n"
                       "  - {name: teacher, backend: replay, role: teacher}\n"
                       "  - {name: judge-x, backend: openai, role: supervisor}\n";
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_msg(lyc_eval_config_load(&s_config, doc, err, sizeof err) == 0, "%s", err);
    lyc_confdoc_destroy(&doc);

    s_tasks = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(s_tasks);
    lyc_bus_socket_setup(s_tasks);
    zsock_set_rcvtimeo(s_tasks, 5000);
    int port = zsock_bind(s_tasks, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    snprintf(s_tasks_endpoint, sizeof s_tasks_endpoint, "tcp://127.0.0.1:%d", port);

    lyc_evaluator_links_t links = {.tasks_endpoint = s_tasks_endpoint};
    s_evaluator = lyc_evaluator_new(&s_config, &links);
    ck_assert_ptr_nonnull(s_evaluator);
    ck_assert_int_gt(lyc_evaluator_port(s_evaluator), 0);
    snprintf(endpoint, sizeof endpoint, ">tcp://127.0.0.1:%d", lyc_evaluator_port(s_evaluator));
    s_client = zsock_new_dealer(endpoint);
    ck_assert_ptr_nonnull(s_client);
    lyc_bus_socket_setup(s_client);
    zsock_set_rcvtimeo(s_client, 10000);
}

static void s_teardown(void)
{
    zsock_destroy(&s_client);
    lyc_evaluator_destroy(&s_evaluator);
    ck_assert_ptr_null(s_evaluator);
    zsock_destroy(&s_tasks);
    lyc_eval_config_free(&s_config);
}

/* ---- the router's side ------------------------------------------------------ */

/* Sends an EVAL_REQUEST: three answers (student cheapest, judge-x dearest)
 * and one abstention. */
static void s_send_request(const char *trace, int mode, int audit)
{
    Lyceum__V1__ChatMessage turn = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *turns[] = {&turn};
    Lyceum__V1__Answer answers[4], *ptrs[4];
    Lyceum__V1__Error abstained = LYCEUM__V1__ERROR__INIT;
    const char *models[] = {"student", "teacher", "judge-x", "memory"};
    const double costs[] = {0.0001, 0.002, 0.03, 0.0};

    turn.role = "user";
    turn.content = "Why is the sky blue?";
    abstained.code = LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED;
    abstained.message = "memory miss";
    for (int i = 0; i < 4; i++) {
        lyceum__v1__answer__init(&answers[i]);
        answers[i].model = (char *) models[i];
        answers[i].content = i < 3 ? (char *) s_contents[i] : "";
        answers[i].cost_usd = costs[i];
        answers[i].error = i == 3 ? &abstained : NULL;
        answers[i].correct = i == 0 ? LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT : 0;
        ptrs[i] = &answers[i];
    }
    Lyceum__V1__EvalRequest req = LYCEUM__V1__EVAL_REQUEST__INIT;
    req.trace_id = (char *) trace;
    req.tenant = "acme";
    req.messages = turns;
    req.n_messages = 1;
    req.answers = ptrs;
    req.n_answers = 4;
    req.mode = mode;
    req.audit = audit;
    ck_assert_int_eq(lyc_bus_send(s_client, NULL, T_REQUEST, trace, &req.base), 0);
}

/* Receives the verdict for trace; the caller frees it with lyc_bus_msg_clear. */
static Lyceum__V1__Verdict *s_recv_verdict(lyc_bus_msg_t *msg, const char *trace)
{
    ck_assert_int_eq(lyc_bus_recv(s_client, msg), 1);
    ck_assert_int_eq(msg->env.type, T_VERDICT);
    ck_assert_str_eq(msg->env.trace_id, trace);
    Lyceum__V1__Verdict *v = (Lyceum__V1__Verdict *) msg->env.payload;
    ck_assert_str_eq(v->trace_id, trace);
    return v;
}

/* ---- the task endpoint's side -------------------------------------------------- */

/* Receives the next judge TASK (route kept in msg for the answer). */
static Lyceum__V1__Task *s_recv_task(lyc_bus_msg_t *msg)
{
    ck_assert_int_eq(lyc_bus_recv(s_tasks, msg), 1);
    ck_assert_int_eq(msg->env.type, T_TASK);
    Lyceum__V1__Task *task = (Lyceum__V1__Task *) msg->env.payload;
    ck_assert_str_eq(task->model, "judge-x");
    ck_assert_uint_eq(task->deadline_ms, 1500);
    ck_assert_uint_eq(task->n_messages, 2);
    ck_assert_str_eq(task->tenant, "acme");
    return task;
}

/* 1 when no TASK arrives within ms. */
static int s_no_task_within(int ms)
{
    lyc_bus_msg_t msg;
    zsock_set_rcvtimeo(s_tasks, ms);
    int rc = lyc_bus_recv(s_tasks, &msg);
    zsock_set_rcvtimeo(s_tasks, 5000);
    if (rc == 1)
        lyc_bus_msg_clear(&msg);
    return rc == -1;
}

/* Answers the task in msg as the judge model would, then clears msg. */
static void s_answer(lyc_bus_msg_t *msg, const char *content, double cost, int error)
{
    Lyceum__V1__Task *task = (Lyceum__V1__Task *) msg->env.payload;
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    Lyceum__V1__Error err = LYCEUM__V1__ERROR__INIT;
    answer.task_id = task->task_id;
    answer.trace_id = task->trace_id;
    answer.model = task->model;
    answer.content = (char *) content;
    answer.cost_usd = cost;
    if (error) {
        err.code = error;
        err.message = "no live worker serves judge-x";
        answer.error = &err;
    }
    ck_assert_int_eq(lyc_bus_send(s_tasks, msg->route, T_ANSWER, task->trace_id, &answer.base), 0);
    lyc_bus_msg_clear(msg);
}

/* A good judge reply for the prompt of task: scores[i] for s_contents[i]. */
static void s_good_reply(const Lyceum__V1__Task *task, const double *scores, char *out, size_t cap)
{
    const char *prompt = task->messages[1]->content;
    char label[LYC_JUDGE_LABEL_MAX], needle[256];
    size_t n = (size_t) snprintf(out, cap, "Sure.\n```json\n{\"scores\": [");
    for (size_t i = 0; i < 3; i++) {
        size_t l = 0;
        for (; l < 3; l++) {
            lyc_judge_label(l, label);
            snprintf(needle, sizeof needle, "<answer label=\"%s\">\n%s\n", label, s_contents[i]);
            if (strstr(prompt, needle))
                break;
        }
        ck_assert_uint_lt(l, 3);
        n += (size_t) snprintf(out + n, cap - n,
                               "%s{\"label\": \"%s\", \"score\": %.2f, \"confidence\": 0.9, "
                               "\"reason\": \"ok\"}",
                               i ? "," : "", label, scores[i]);
    }
    snprintf(out + n, cap - n, "], \"best\": \"A\"}\n```\n");
}

static const double s_scores[] = {0.9, 0.2, 0.92};

/* ---- tests ------------------------------------------------------------------ */

START_TEST(test_judge_retried_once_after_malformed_reply)
{
    lyc_bus_msg_t first, second, reply;
    char good[2048];

    s_send_request("trace-retry", JUDGE, 1);
    Lyceum__V1__Task *task = s_recv_task(&first);
    ck_assert_str_eq(task->trace_id, "trace-retry");
    const char *prompt = task->messages[1]->content;
    ck_assert_ptr_nonnull(strstr(prompt, "Why is the sky blue?"));
    ck_assert_ptr_null(strstr(prompt, "student"));
    ck_assert_ptr_null(strstr(prompt, "judge-x"));
    ck_assert_ptr_null(strstr(prompt, "could not be read"));
    char first_id[64];
    snprintf(first_id, sizeof first_id, "%s", task->task_id);
    s_answer(&first, "The first answer is clearly the best one.", 0.01, 0);

    task = s_recv_task(&second);
    ck_assert_str_ne(task->task_id, first_id);
    ck_assert_ptr_nonnull(strstr(task->messages[1]->content, "could not be read"));
    s_good_reply(task, s_scores, good, sizeof good);
    s_answer(&second, good, 0.02, 0);

    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-retry");
    ck_assert_ptr_null(v->error);
    ck_assert_str_eq(v->judged_by, "judge-x");
    ck_assert_int_eq(v->mode, JUDGE);
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.03, 1e-12);
    ck_assert_uint_eq(v->judge_calls, 2); /* the call and its stricter retry */
    ck_assert_uint_eq(v->n_judges, 2);
    ck_assert_str_eq(v->judges[0], "judge-x");
    ck_assert_str_eq(v->judges[1], "judge-x");
    /* 0.90 is within 0.05 of 0.92 and the student is cheapest. */
    ck_assert_str_eq(v->winner, "student");
    ck_assert_str_eq(v->final_content, s_contents[0]);
    ck_assert_uint_eq(v->n_verdicts, 4);
    ck_assert_str_eq(v->verdicts[1]->model, "teacher");
    ck_assert_double_eq_tol(v->verdicts[1]->score, 0.2, 1e-9);
    ck_assert_str_eq(v->verdicts[3]->model, "memory");
    ck_assert_double_eq(v->verdicts[3]->score, 0.0);
    ck_assert_double_eq(v->verdicts[3]->confidence, 1.0);
    lyc_bus_msg_clear(&reply);
}
END_TEST

START_TEST(test_judge_malformed_twice_falls_back_to_agreement)
{
    lyc_bus_msg_t task, reply;

    s_send_request("trace-fallback", JUDGE, 1);
    s_recv_task(&task);
    s_answer(&task, "{\"scores\": [{\"label\": \"A\", \"score\": 0.9}", 0.01, 0);
    s_recv_task(&task);
    s_answer(&task, "Sorry, I cannot help with grading.", 0.015, 0);

    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-fallback");
    ck_assert_ptr_null(v->error);
    ck_assert_str_eq(v->judged_by, "agreement-fallback");
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.025, 1e-12);
    /* Agreement trusts judge-x, the supervisor. */
    ck_assert_double_eq(v->verdicts[2]->score, 1.0);
    ck_assert_str_ne(v->winner, "memory");
    ck_assert(s_no_task_within(200));
    lyc_bus_msg_clear(&reply);
}
END_TEST

START_TEST(test_judge_unavailable_or_late_falls_back)
{
    lyc_bus_msg_t task, reply;

    /* Unavailable: no retry. */
    s_send_request("trace-unavailable", JUDGE, 1);
    s_recv_task(&task);
    s_answer(&task, "", 0.0, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE);
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-unavailable");
    ck_assert_str_eq(v->judged_by, "agreement-fallback");
    ck_assert(s_no_task_within(200));
    lyc_bus_msg_clear(&reply);

    /* Late: the verdict comes after the deadline and its grace... */
    int64_t start = zclock_mono();
    s_send_request("trace-late", JUDGE, 1);
    s_recv_task(&task);
    v = s_recv_verdict(&reply, "trace-late");
    int64_t took = zclock_mono() - start;
    ck_assert_str_eq(v->judged_by, "agreement-fallback");
    ck_assert_int_ge(took, 1500);
    ck_assert_int_lt(took, 5000);
    lyc_bus_msg_clear(&reply);

    /* ...and the late answer is ignored by the next judgement. */
    char stale[2048];
    s_good_reply((Lyceum__V1__Task *) task.env.payload, (double[]){0.1, 0.1, 0.1}, stale,
                 sizeof stale);
    s_answer(&task, stale, 0.5, 0);
    s_send_request("trace-after", JUDGE, 1);
    s_recv_task(&task);
    char good[2048];
    s_good_reply((Lyceum__V1__Task *) task.env.payload, s_scores, good, sizeof good);
    s_answer(&task, good, 0.02, 0);
    v = s_recv_verdict(&reply, "trace-after");
    ck_assert_str_eq(v->judged_by, "judge-x");
    ck_assert_double_eq_tol(v->judge_cost_usd, 0.02, 1e-12);
    ck_assert_double_eq_tol(v->verdicts[2]->score, 0.92, 1e-9);
    lyc_bus_msg_clear(&reply);
}
END_TEST

START_TEST(test_unaudited_and_reference_requests_skip_the_judge)
{
    lyc_bus_msg_t reply;

    s_send_request("trace-familiar", JUDGE, 0);
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-familiar");
    ck_assert_str_eq(v->judged_by, "agreement");
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    ck_assert_uint_eq(v->n_verdicts, 4);
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_uint_eq(v->n_judges, 0);
    lyc_bus_msg_clear(&reply);

    /* Reference mode, not audited: not graded, nothing charged, and the
     * cheapest answer wins. */
    s_send_request("trace-bench", REFERENCE, 0);
    v = s_recv_verdict(&reply, "trace-bench");
    ck_assert_str_eq(v->judged_by, "none");
    ck_assert_int_eq(v->mode, LYCEUM__V1__EVAL_MODE__EVAL_MODE_UNSPECIFIED);
    ck_assert_double_eq(v->verdicts[0]->score, 0.0);
    ck_assert_double_eq(v->verdicts[0]->confidence, 0.0);
    ck_assert_str_eq(v->verdicts[0]->rationale, "not audited");
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_str_eq(v->winner, "student");
    lyc_bus_msg_clear(&reply);

    /* Audited, and the supervisor answered: graded against it, free. */
    s_send_request("trace-bench-audited", REFERENCE, 1);
    v = s_recv_verdict(&reply, "trace-bench-audited");
    ck_assert_str_eq(v->judged_by, "reference");
    ck_assert_int_eq(v->mode, REFERENCE);
    ck_assert_double_eq(v->verdicts[0]->score, 1.0); /* recorded right */
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_str_eq(v->winner, "student");
    lyc_bus_msg_clear(&reply);
    ck_assert(s_no_task_within(200));
}
END_TEST

START_TEST(test_requests_are_graded_concurrently)
{
    lyc_bus_msg_t t1, t2, r1, r2;
    char good[2048];

    s_send_request("trace-one", JUDGE, 1);
    s_send_request("trace-two", JUDGE, 1);
    /* Both judge calls are out before either is answered: two threads. */
    Lyceum__V1__Task *a = s_recv_task(&t1);
    Lyceum__V1__Task *b = s_recv_task(&t2);
    ck_assert_str_ne(a->trace_id, b->trace_id);
    /* Answer the second first; each verdict keeps its trace id. */
    s_good_reply(b, (double[]){0.1, 0.2, 0.95}, good, sizeof good);
    char second_trace[64];
    snprintf(second_trace, sizeof second_trace, "%s", b->trace_id);
    s_answer(&t2, good, 0.02, 0);
    Lyceum__V1__Verdict *v = s_recv_verdict(&r2, second_trace);
    ck_assert_str_eq(v->winner, "judge-x");
    s_good_reply(a, s_scores, good, sizeof good);
    char first_trace[64];
    snprintf(first_trace, sizeof first_trace, "%s", a->trace_id);
    s_answer(&t1, good, 0.02, 0);
    v = s_recv_verdict(&r1, first_trace);
    ck_assert_str_eq(v->winner, "student");
    lyc_bus_msg_clear(&r1);
    lyc_bus_msg_clear(&r2);
}
END_TEST

START_TEST(test_bad_input_gets_bad_request_and_the_service_goes_on)
{
    lyc_bus_msg_t reply;

    /* No answers. */
    Lyceum__V1__EvalRequest empty = LYCEUM__V1__EVAL_REQUEST__INIT;
    empty.trace_id = "trace-empty";
    ck_assert_int_eq(lyc_bus_send(s_client, NULL, T_REQUEST, "trace-empty", &empty.base), 0);
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-empty");
    ck_assert_ptr_nonnull(v->error);
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    lyc_bus_msg_clear(&reply);

    /* Unknown mode. */
    s_send_request("trace-mode", 77, 1);
    v = s_recv_verdict(&reply, "trace-mode");
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    lyc_bus_msg_clear(&reply);

    /* The wrong message type. */
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    ck_assert_int_eq(lyc_bus_send(s_client, NULL, T_TASK, "trace-type", &task.base), 0);
    v = s_recv_verdict(&reply, "trace-type");
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    lyc_bus_msg_clear(&reply);

    /* Garbage is dropped without a reply; the next request is served. */
    zframe_t *junk = zframe_new("\x0a\xff\xff\xff\xff\x0f", 6);
    ck_assert_int_eq(zframe_send(&junk, s_client, 0), 0);
    s_send_request("trace-after-junk", REFERENCE, 1);
    v = s_recv_verdict(&reply, "trace-after-junk");
    ck_assert_ptr_null(v->error);
    lyc_bus_msg_clear(&reply);
}
END_TEST

START_TEST(test_busy_when_every_thread_and_the_queue_are_taken)
{
    /* A second evaluator with one thread and room for one waiting request. */
    lyc_eval_config_t small = s_config;
    small.threads = 1;
    small.queue_max = 1;
    char endpoint[64];
    lyc_evaluator_links_t links = {.tasks_endpoint = s_tasks_endpoint};
    lyc_evaluator_t *evaluator = lyc_evaluator_new(&small, &links);
    ck_assert_ptr_nonnull(evaluator);
    zsock_t *client = s_client;
    snprintf(endpoint, sizeof endpoint, ">tcp://127.0.0.1:%d", lyc_evaluator_port(evaluator));
    s_client = zsock_new_dealer(endpoint);
    lyc_bus_socket_setup(s_client);
    zsock_set_rcvtimeo(s_client, 10000);

    lyc_bus_msg_t task, reply;
    char good[2048];
    s_send_request("trace-busy-1", JUDGE, 1);
    s_recv_task(&task);                       /* the thread is now waiting for the judge */
    s_send_request("trace-busy-2", JUDGE, 1); /* queued */
    s_send_request("trace-busy-3", JUDGE, 1); /* no room */
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-busy-3");
    ck_assert_ptr_nonnull(v->error);
    ck_assert_int_eq(v->error->code, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE);
    ck_assert(v->error->retryable);
    lyc_bus_msg_clear(&reply);
    /* The queued request is graded once the thread is free. */
    s_good_reply((Lyceum__V1__Task *) task.env.payload, s_scores, good, sizeof good);
    s_answer(&task, good, 0.02, 0);
    v = s_recv_verdict(&reply, "trace-busy-1");
    ck_assert_str_eq(v->judged_by, "judge-x");
    lyc_bus_msg_clear(&reply);
    s_recv_task(&task);
    s_good_reply((Lyceum__V1__Task *) task.env.payload, s_scores, good, sizeof good);
    s_answer(&task, good, 0.02, 0);
    v = s_recv_verdict(&reply, "trace-busy-2");
    ck_assert_str_eq(v->judged_by, "judge-x");
    lyc_bus_msg_clear(&reply);

    zsock_destroy(&s_client);
    s_client = client;
    lyc_evaluator_destroy(&evaluator);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_bus");
    TCase *tc = tcase_create("bus");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_judge_retried_once_after_malformed_reply);
    tcase_add_test(tc, test_judge_malformed_twice_falls_back_to_agreement);
    tcase_add_test(tc, test_judge_unavailable_or_late_falls_back);
    tcase_add_test(tc, test_unaudited_and_reference_requests_skip_the_judge);
    tcase_add_test(tc, test_requests_are_graded_concurrently);
    tcase_add_test(tc, test_bad_input_gets_bad_request_and_the_service_goes_on);
    tcase_add_test(tc, test_busy_when_every_thread_and_the_queue_are_taken);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
