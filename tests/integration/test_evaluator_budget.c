/*
 * test_evaluator_budget.c - the evaluator holds its own judge calls to the
 * tenant's and the key's budget, whoever asks it to judge.
 *
 * The evaluator runs in this process on a real Redis (budgets live there);
 * the test sends EVAL_REQUESTs straight to it, as something other than a
 * router could, and plays the router's task endpoint, where every judge call
 * arrives and is counted.
 */
#include "testkit.h"

#include "apikeys.h"
#include "budget.h"
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

/* What the judge model charges per call here. */
#define JUDGE_COST 0.02

static zsock_t *s_tasks;  /* the router's task endpoint, played by the test */
static zsock_t *s_client; /* whoever asks for judging */
static lyc_evaluator_t *s_evaluator;
static lyc_eval_config_t s_config;
static lyc_redis_t *s_redis;
static char s_prefix[64];
static char s_tenant[64];

static const char *s_contents[] = {"Because of Rayleigh scattering.",
                                   "The sky reflects the ocean."};

static void s_setup(void)
{
    char err[512], endpoint[64], tasks_endpoint[64];
    /* judge-x: 10 USD per million prompt tokens, 30 per million completion
     * tokens, at most 256 completion tokens: a judge call is estimated at
     * well under JUDGE_COST, so reservations never refuse early. */
    const char *yaml = "evaluator:\n"
                       "  bind: \"tcp://127.0.0.1:*\"\n"
                       "  threads: 2\n"
                       "  judge_timeout_ms: 1500\n"
                       "  judge_max_tokens: 256\n"
                       "models:\n"
                       "  - {name: student, backend: replay, price_in: 0.1, price_out: 0.2}\n"
                       "  - {name: judge-x, backend: openai, role: supervisor, price_in: 10,\n"
                       "     price_out: 30}\n";
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_msg(lyc_eval_config_load(&s_config, doc, err, sizeof err) == 0, "%s", err);
    lyc_confdoc_destroy(&doc);

    lyc_test_unique(s_prefix, sizeof s_prefix, "lyc-evbudget");
    lyc_test_unique(s_tenant, sizeof s_tenant, "acme");
    s_redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(s_redis);

    s_tasks = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(s_tasks);
    lyc_bus_socket_setup(s_tasks);
    zsock_set_rcvtimeo(s_tasks, 5000);
    int port = zsock_bind(s_tasks, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    snprintf(tasks_endpoint, sizeof tasks_endpoint, "tcp://127.0.0.1:%d", port);

    lyc_evaluator_links_t links = {.tasks_endpoint = tasks_endpoint,
                                   .redis_url = lyc_test_redis_url(),
                                   .redis_prefix = s_prefix,
                                   .redis_timeout_ms = 2000};
    s_evaluator = lyc_evaluator_new(&s_config, &links);
    ck_assert_ptr_nonnull(s_evaluator);
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
    zsock_destroy(&s_tasks);
    lyc_redis_destroy(&s_redis);
    lyc_eval_config_free(&s_config);
}

/* Sets one of the tenant's settings. */
static void s_tenant_set(const char *name, const char *value)
{
    const char *names[] = {name}, *values[] = {value};
    ck_assert_int_eq(lyc_tenant_set(s_redis, s_prefix, s_tenant, names, values, 1), 0);
}

/* The tenant's (key_id NULL) or the key's spend today. */
static double s_spent_today(const char *key_id)
{
    double day = -1, month = -1;
    ck_assert_int_eq(lyc_budget_spent(s_redis, s_prefix, s_tenant, key_id, &day, &month), 0);
    ck_assert_double_eq_tol(day, month, 1e-12);
    return day;
}

/* Sends an EVAL_REQUEST of the tenant with the student's answer and, when
 * with_supervisor, the supervisor's. */
static void s_send(const char *trace, int mode, const char *key_id, int with_supervisor)
{
    Lyceum__V1__ChatMessage turn = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *turns[] = {&turn};
    Lyceum__V1__Answer answers[2], *ptrs[2];
    const char *models[] = {"student", "judge-x"};

    turn.role = "user";
    turn.content = "Why is the sky blue?";
    for (int i = 0; i < 2; i++) {
        lyceum__v1__answer__init(&answers[i]);
        answers[i].model = (char *) models[i];
        answers[i].content = (char *) s_contents[i];
        answers[i].correct = i == 0 ? LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT
                                    : LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG;
        ptrs[i] = &answers[i];
    }
    Lyceum__V1__EvalRequest req = LYCEUM__V1__EVAL_REQUEST__INIT;
    req.trace_id = (char *) trace;
    req.tenant = s_tenant;
    req.key_id = (char *) (key_id ? key_id : "");
    req.messages = turns;
    req.n_messages = 1;
    req.answers = ptrs;
    req.n_answers = with_supervisor ? 2 : 1;
    req.mode = mode;
    req.audit = 1;
    ck_assert_int_eq(lyc_bus_send(s_client, NULL, T_REQUEST, trace, &req.base), 0);
}

/* Receives the verdict for trace; free it with lyc_bus_msg_clear(msg). */
static Lyceum__V1__Verdict *s_recv_verdict(lyc_bus_msg_t *msg, const char *trace)
{
    ck_assert_int_eq(lyc_bus_recv(s_client, msg), 1);
    ck_assert_int_eq(msg->env.type, T_VERDICT);
    Lyceum__V1__Verdict *v = (Lyceum__V1__Verdict *) msg->env.payload;
    ck_assert_str_eq(v->trace_id, trace);
    return v;
}

/* Waits up to ms for a judge TASK; answers it with a good verdict costing
 * JUDGE_COST and returns 1, or returns 0 when none came. */
static int s_judge_one(int ms)
{
    lyc_bus_msg_t msg;
    zsock_set_rcvtimeo(s_tasks, ms);
    int rc = lyc_bus_recv(s_tasks, &msg);
    zsock_set_rcvtimeo(s_tasks, 5000);
    if (rc != 1)
        return 0;
    ck_assert_int_eq(msg.env.type, T_TASK);
    Lyceum__V1__Task *task = (Lyceum__V1__Task *) msg.env.payload;
    ck_assert_str_eq(task->model, "judge-x");
    ck_assert_str_eq(task->tenant, s_tenant);

    char label[LYC_JUDGE_LABEL_MAX], content[512];
    size_t n = (size_t) snprintf(content, sizeof content, "{\"scores\": [");
    for (size_t i = 0; i < 2; i++) {
        lyc_judge_label(i, label);
        n += (size_t) snprintf(content + n, sizeof content - n,
                               "%s{\"label\": \"%s\", \"score\": 0.8, \"confidence\": 0.9}",
                               i ? "," : "", label);
    }
    snprintf(content + n, sizeof content - n, "]}");
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    answer.task_id = task->task_id;
    answer.trace_id = task->trace_id;
    answer.model = task->model;
    answer.content = content;
    answer.cost_usd = JUDGE_COST;
    ck_assert_int_eq(lyc_bus_send(s_tasks, msg.route, T_ANSWER, task->trace_id, &answer.base), 0);
    lyc_bus_msg_clear(&msg);
    return 1;
}

/* One judged request: the judge is called, the verdict says so. */
static void s_judged(const char *trace, const char *key_id)
{
    lyc_bus_msg_t reply;
    s_send(trace, JUDGE, key_id, 1);
    ck_assert_int_eq(s_judge_one(5000), 1);
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, trace);
    ck_assert_ptr_null(v->error);
    ck_assert_str_eq(v->judged_by, "judge-x");
    ck_assert_uint_eq(v->judge_calls, 1);
    ck_assert_double_eq_tol(v->judge_cost_usd, JUDGE_COST, 1e-12);
    lyc_bus_msg_clear(&reply);
}

/* One request the budget keeps from the judge: no TASK, graded by
 * agreement, nothing charged. */
static void s_unjudged(const char *trace, const char *key_id)
{
    lyc_bus_msg_t reply;
    s_send(trace, JUDGE, key_id, 1);
    ck_assert_int_eq(s_judge_one(800), 0);
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, trace);
    ck_assert_ptr_null(v->error);
    ck_assert_str_ne(v->judged_by, "judge-x");
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    ck_assert_str_ne(v->winner, "");
    lyc_bus_msg_clear(&reply);
}

START_TEST(test_judge_calls_stop_at_the_tenant_budget)
{
    /* 0.045 USD a day pays two calls of 0.02; the third's estimate (about
     * 0.0099: the judge prompt's bytes / 4 at 10 USD per million, plus 256
     * completion tokens at 30) no longer fits beside the 0.04 spent. */
    s_tenant_set("budget_day_usd", "0.045");
    s_judged("trace-b1", NULL);
    ck_assert_double_eq_tol(s_spent_today(NULL), 0.02, 1e-9);
    s_judged("trace-b2", NULL);
    ck_assert_double_eq_tol(s_spent_today(NULL), 0.04, 1e-9);
    for (int i = 0; i < 3; i++) {
        char trace[32];
        snprintf(trace, sizeof trace, "trace-b3-%d", i);
        s_unjudged(trace, NULL);
    }
    ck_assert_double_eq_tol(s_spent_today(NULL), 0.04, 1e-9);

    /* A larger budget lets judging resume, and it is charged again. */
    s_tenant_set("budget_day_usd", "1");
    s_judged("trace-b4", NULL);
    ck_assert_double_eq_tol(s_spent_today(NULL), 0.06, 1e-9);
}
END_TEST

START_TEST(test_the_keys_limit_bounds_judging_too)
{
    lyc_apikey_info_t spec = {.budget_day_usd = 0.025}, info;
    char key[LYC_APIKEY_LEN + 1];
    snprintf(spec.tenant, sizeof spec.tenant, "%s", s_tenant);
    snprintf(spec.name, sizeof spec.name, "judge-budget");
    ck_assert_int_eq(lyc_apikey_create(s_redis, s_prefix, &spec, key, &info), 0);

    /* The tenant has no limit; the key's 0.025 pays one call of 0.02. */
    s_judged("trace-k1", info.id);
    ck_assert_double_eq_tol(s_spent_today(info.id), 0.02, 1e-9);
    s_unjudged("trace-k2", info.id);
    ck_assert_double_eq_tol(s_spent_today(info.id), 0.02, 1e-9);
    /* Without the key the tenant's own (unlimited) budget applies. */
    s_judged("trace-k3", NULL);
    ck_assert_double_eq_tol(s_spent_today(NULL), 0.04, 1e-9);
    ck_assert_double_eq_tol(s_spent_today(info.id), 0.02, 1e-9);
}
END_TEST

START_TEST(test_charged_reference_judgements_are_spent)
{
    lyc_bus_msg_t reply;

    /* Without the supervisor's answer, a reference grade is charged as one
     * judge-x call; with it, grading costs nothing. */
    s_send("trace-r1", REFERENCE, NULL, 0);
    Lyceum__V1__Verdict *v = s_recv_verdict(&reply, "trace-r1");
    ck_assert_int_eq(v->mode, REFERENCE);
    ck_assert_uint_eq(v->judge_calls, 1);
    ck_assert_double_gt(v->judge_cost_usd, 0.0);
    double charged = v->judge_cost_usd;
    lyc_bus_msg_clear(&reply);
    ck_assert_double_eq_tol(s_spent_today(NULL), charged, 1e-12);

    s_send("trace-r2", REFERENCE, NULL, 1);
    v = s_recv_verdict(&reply, "trace-r2");
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    lyc_bus_msg_clear(&reply);
    ck_assert_double_eq_tol(s_spent_today(NULL), charged, 1e-12);
    ck_assert_int_eq(s_judge_one(300), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("evaluator_budget");
    TCase *tc = tcase_create("judging");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_judge_calls_stop_at_the_tenant_budget);
    tcase_add_test(tc, test_the_keys_limit_bounds_judging_too);
    tcase_add_test(tc, test_charged_reference_judgements_are_spent);
    suite_add_tcase(suite, tc);
    return lyc_test_run(suite);
}
