/*
 * test_evaluator_judges.c - judge delegation against a real Redis.
 *
 * "Judge delegation: a teacher that agrees with the supervisor takes over
 * judging in its domain; a teacher that stops agreeing loses it." Also: a
 * model never judges a query it answered; charged reference grading at the
 * delegate's price (and free when the supervisor answered); an ensemble
 * where no teacher is trusted alone.
 *
 * The evaluator runs in this process on a free port with one grading thread
 * (so events happen in the order of the requests). The test plays the
 * router (a DEALER sending EVAL_REQUESTs), the router's task endpoint (a
 * ROUTER answering every judge TASK as the model it names would), and the
 * trainer (statistics and roles written with common/stats.h and
 * common/roles.h, the agreement fields with HINCRBYFLOAT as the trainer
 * does), under a key prefix of its own.
 */
#include "testkit.h"

#include "bus.h"
#include "eval_config.h"
#include "evaluator.h"
#include "judge_parse.h"
#include "judges.h"
#include "redis.h"
#include "roles.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JUDGE     LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE
#define REFERENCE LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE
#define T_TASK    LYCEUM__V1__MESSAGE_TYPE__TASK
#define T_ANSWER  LYCEUM__V1__MESSAGE_TYPE__ANSWER
#define T_VERDICT LYCEUM__V1__MESSAGE_TYPE__VERDICT
#define T_REQUEST LYCEUM__V1__MESSAGE_TYPE__EVAL_REQUEST
/* Longest a test waits for one verdict (ms). */
#define S_VERDICT_WAIT_MS 10000

static zsock_t *s_tasks;  /* the router's task endpoint, played by the test */
static zsock_t *s_client; /* the router's DEALER to the evaluator */
static lyc_evaluator_t *s_evaluator;
static lyc_eval_config_t s_config;
static lyc_redis_t *s_redis; /* the trainer's connection, played by the test */
static char s_prefix[64];
static int s_teacher_disagrees; /* teacher-a now scores the other way round */
static int s_tasks_served;

static const char *s_question = "Why is the sky blue?";
static const char *s_right = "Rayleigh scattering favours short wavelengths.";
static const char *s_wrong = "The sky reflects the ocean.";

static void s_setup(void)
{
    char err[512], endpoint[64], tasks_endpoint[64];
    const char *yaml =
        "evaluator:\n"
        "  bind: \"tcp://127.0.0.1:*\"\n"
        "  threads: 1\n"
        "  judge_timeout_ms: 2000\n"
        "  judges_refresh_ms: 100\n"
        "models:\n"
        "  - {name: student-1, backend: replay, price_in: 0.1, price_out: 0.2}\n"
        "  - {name: student-2, backend: replay, price_in: 0.1, price_out: 0.2}\n"
        "  - {name: teacher-a, backend: replay, role: teacher, price_in: 1, price_out: 3}\n"
        "  - {name: ta-b, backend: replay, role: ta, price_in: 0.5, price_out: 1}\n"
        "  - {name: judge-x, backend: openai, role: supervisor, price_in: 10, price_out: 30}\n";
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_msg(lyc_eval_config_load(&s_config, doc, err, sizeof err) == 0, "%s", err);
    lyc_confdoc_destroy(&doc);
    lyc_test_unique(s_prefix, sizeof s_prefix, "lyctest-judges");
    s_redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(s_redis);

    s_tasks = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(s_tasks);
    lyc_bus_socket_setup(s_tasks);
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
    s_teacher_disagrees = 0;
    s_tasks_served = 0;
}

/* Deletes every key the test made (they all start with the prefix). */
static void s_delete_keys(void)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "%s:*", s_prefix);
    const char *argv[] = {"KEYS", pattern};
    redisReply *keys = lyc_redis_command(s_redis, 2, argv, NULL);
    for (size_t i = 0; keys && keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
        const char *del[] = {"DEL", keys->element[i]->str};
        freeReplyObject(lyc_redis_command(s_redis, 2, del, NULL));
    }
    freeReplyObject(keys);
}

static void s_teardown(void)
{
    zsock_destroy(&s_client);
    lyc_evaluator_destroy(&s_evaluator);
    zsock_destroy(&s_tasks);
    s_delete_keys();
    lyc_redis_destroy(&s_redis);
    lyc_eval_config_free(&s_config);
}

/* ---- the trainer's side --------------------------------------------------- */

/* Records `pairs` answers of model in domain that were paired with the
 * supervisor's, `agree` of them agreeing, as the trainer does. */
static void s_write_agreement(const char *domain, const char *model, double pairs, double agree)
{
    char key[256], field[160], value[32];
    ck_assert_int_eq(
        lyc_stats_add(s_redis, s_prefix, "shared", domain, model, agree / pairs, 0.001, 100.0), 0);
    lyc_stats_key(key, sizeof key, s_prefix, "shared", domain);
    const char *names[] = {"agree_n", "agree", "pair_n"};
    const double amounts[] = {pairs, agree, pairs};
    for (int i = 0; i < 3; i++) {
        snprintf(field, sizeof field, "%s|%s", model, names[i]);
        snprintf(value, sizeof value, "%.17g", amounts[i]);
        const char *argv[] = {"HINCRBYFLOAT", key, field, value};
        redisReply *reply = lyc_redis_command(s_redis, 4, argv, NULL);
        ck_assert_ptr_nonnull(reply);
        freeReplyObject(reply);
    }
}

/* A field of the domain's judges record into buf ("" when absent). */
static const char *s_judges_field(const char *domain, const char *field, char *buf, size_t cap)
{
    char key[256];
    lyc_judges_key(key, sizeof key, s_prefix, "shared", domain);
    const char *argv[] = {"HGET", key, field};
    redisReply *reply = lyc_redis_command(s_redis, 3, argv, NULL);
    ck_assert_ptr_nonnull(reply);
    snprintf(buf, cap, "%s", reply->type == REDIS_REPLY_STRING ? reply->str : "");
    freeReplyObject(reply);
    return buf;
}

/* ---- the task endpoint's side ----------------------------------------------- */

/* The scores model gives the right and the wrong answer. */
static void s_scores_of(const char *model, double *right, double *wrong)
{
    *right = 0.9;
    *wrong = 0.1;
    if (strcmp(model, "teacher-a") == 0 && !s_teacher_disagrees) {
        *right = 0.85;
        *wrong = 0.2;
    } else if (strcmp(model, "teacher-a") == 0) {
        *right = 0.1;
        *wrong = 0.9;
    } else if (strcmp(model, "ta-b") == 0) {
        *right = 0.6;
        *wrong = 0.3;
    }
}

/* The judge reply of model to prompt: a score for every label shown. */
static void s_reply(const char *model, const char *prompt, char *out, size_t cap)
{
    char label[LYC_JUDGE_LABEL_MAX], needle[48];
    double right, wrong;
    s_scores_of(model, &right, &wrong);
    size_t n = (size_t) snprintf(out, cap, "{\"scores\": [");
    for (size_t i = 0; i < LYC_JUDGE_MAX_SCORES; i++) {
        lyc_judge_label(i, label);
        snprintf(needle, sizeof needle, "<answer label=\"%s\">\n", label);
        const char *at = strstr(prompt, needle);
        if (!at)
            break;
        int is_right = strncmp(at + strlen(needle), s_right, strlen(s_right)) == 0;
        n += (size_t) snprintf(out + n, cap - n, "%s{\"label\": \"%s\", \"score\": %.2f}",
                               i ? ", " : "", label, is_right ? right : wrong);
    }
    snprintf(out + n, cap - n, "]}");
}

static double s_call_cost(const char *model)
{
    return strcmp(model, "judge-x") == 0 ? 0.01 : strcmp(model, "teacher-a") == 0 ? 0.001 : 0.0005;
}

/* Answers one judge TASK waiting on the task endpoint. */
static void s_serve_task(void)
{
    lyc_bus_msg_t msg;
    char content[2048];
    ck_assert_int_eq(lyc_bus_recv(s_tasks, &msg), 1);
    ck_assert_int_eq(msg.env.type, T_TASK);
    Lyceum__V1__Task *task = (Lyceum__V1__Task *) msg.env.payload;
    ck_assert_uint_eq(task->n_messages, 2);
    s_reply(task->model, task->messages[1]->content, content, sizeof content);
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    answer.task_id = task->task_id;
    answer.trace_id = task->trace_id;
    answer.model = task->model;
    answer.content = content;
    answer.cost_usd = s_call_cost(task->model);
    ck_assert_int_eq(lyc_bus_send(s_tasks, msg.route, T_ANSWER, task->trace_id, &answer.base), 0);
    lyc_bus_msg_clear(&msg);
    s_tasks_served++;
}

/* ---- the router's side ------------------------------------------------------ */

/* Sends a request whose answers come from models: even positions answer
 * right, odd ones wrong (recorded so for reference mode); then serves the
 * judge TASKs until the verdict comes, which the caller frees with
 * lyc_bus_msg_clear(msg). */
static Lyceum__V1__Verdict *s_ask(lyc_bus_msg_t *msg, const char *trace, int mode,
                                  const char *domain, const char *const *models, size_t n)
{
    Lyceum__V1__ChatMessage turn = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *turns[] = {&turn};
    Lyceum__V1__Answer answers[4], *ptrs[4];

    ck_assert_uint_le(n, 4);
    turn.role = "user";
    turn.content = (char *) s_question;
    for (size_t i = 0; i < n; i++) {
        lyceum__v1__answer__init(&answers[i]);
        answers[i].model = (char *) models[i];
        answers[i].content = (char *) (i % 2 ? s_wrong : s_right);
        answers[i].cost_usd = 0.0001 * (double) (i + 1);
        answers[i].correct = i % 2 ? LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG
                                   : LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT;
        ptrs[i] = &answers[i];
    }
    Lyceum__V1__EvalRequest req = LYCEUM__V1__EVAL_REQUEST__INIT;
    req.trace_id = (char *) trace;
    req.tenant = "acme";
    req.domain = (char *) domain;
    req.messages = turns;
    req.n_messages = 1;
    req.answers = ptrs;
    req.n_answers = n;
    req.mode = mode;
    req.audit = 1;
    ck_assert_int_eq(lyc_bus_send(s_client, NULL, T_REQUEST, trace, &req.base), 0);

    zpoller_t *poller = zpoller_new(s_client, s_tasks, NULL);
    ck_assert_ptr_nonnull(poller);
    int64_t give_up = zclock_mono() + S_VERDICT_WAIT_MS;
    for (;;) {
        int64_t left = give_up - zclock_mono();
        ck_assert_msg(left > 0, "no verdict for %s", trace);
        void *which = zpoller_wait(poller, (int) left);
        if (which == s_tasks)
            s_serve_task();
        else if (which == s_client)
            break;
    }
    zpoller_destroy(&poller);
    ck_assert_int_eq(lyc_bus_recv(s_client, msg), 1);
    ck_assert_int_eq(msg->env.type, T_VERDICT);
    Lyceum__V1__Verdict *v = (Lyceum__V1__Verdict *) msg->env.payload;
    ck_assert_str_eq(v->trace_id, trace);
    ck_assert_ptr_null(v->error);
    return v;
}

/* 1 when model is one of the verdict's judges. */
static int s_judged_with(const Lyceum__V1__Verdict *v, const char *model)
{
    for (size_t i = 0; i < v->n_judges; i++)
        if (strcmp(v->judges[i], model) == 0)
            return 1;
    return 0;
}

/* 1 when v is a spot check of teacher-a: both judged, the supervisor's stands. */
static int s_spot_check_of_teacher(const Lyceum__V1__Verdict *v)
{
    if (v->judge_calls != 2 || v->n_judges != 2)
        return 0;
    ck_assert_str_eq(v->judges[0], "teacher-a");
    ck_assert_str_eq(v->judges[1], "judge-x");
    ck_assert_str_eq(v->judged_by, "judge-x");
    return 1;
}

/* ---- tests ------------------------------------------------------------------ */

static const char *const s_students[] = {"student-1", "student-2"};

/* Sends judge-mode requests until teacher-a judges one alone (bounded). */
static void s_until_handed_over(const char *domain)
{
    lyc_bus_msg_t msg;
    char trace[64];
    for (int i = 0; i < 60; i++) {
        snprintf(trace, sizeof trace, "t-%s-wait-%d", domain, i);
        Lyceum__V1__Verdict *v = s_ask(&msg, trace, JUDGE, domain, s_students, 2);
        int handed = strcmp(v->judged_by, "teacher-a") == 0;
        if (handed) {
            /* The teacher's own verdict: one call, at its cost, its scores. */
            ck_assert_uint_eq(v->judge_calls, 1);
            ck_assert_str_eq(v->judges[0], "teacher-a");
            ck_assert_double_eq_tol(v->judge_cost_usd, 0.001, 1e-12);
            ck_assert_double_eq_tol(v->verdicts[0]->score, s_teacher_disagrees ? 0.1 : 0.85, 1e-9);
        }
        lyc_bus_msg_clear(&msg);
        if (handed)
            return;
        zclock_sleep(50);
    }
    ck_abort_msg("judging in %s was never handed over to teacher-a", domain);
}

/* Counts teacher-a's spot checks over judge-mode requests until `want` have
 * happened (bounded); returns how many requests it took. */
static int s_until_spot_checks(const char *domain, const char *tag, int want)
{
    lyc_bus_msg_t msg;
    char trace[64];
    int seen = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(trace, sizeof trace, "t-%s-%s-%d", domain, tag, i);
        Lyceum__V1__Verdict *v = s_ask(&msg, trace, JUDGE, domain, s_students, 2);
        seen += s_spot_check_of_teacher(v);
        lyc_bus_msg_clear(&msg);
        if (seen >= want)
            return i + 1;
    }
    ck_abort_msg("only %d spot checks in %s", seen, domain);
    return -1;
}

START_TEST(test_teacher_takes_over_judging_and_loses_it_when_it_stops_agreeing)
{
    lyc_bus_msg_t msg;
    char buf[512], trace[64];

    /* No evidence yet: the supervisor judges. */
    Lyceum__V1__Verdict *v = s_ask(&msg, "t-physics-first", JUDGE, "physics", s_students, 2);
    ck_assert_str_eq(v->judged_by, "judge-x");
    ck_assert_uint_eq(v->judge_calls, 1);
    ck_assert_str_eq(v->judges[0], "judge-x");
    lyc_bus_msg_clear(&msg);
    ck_assert_str_eq(s_judges_field("physics", "delegate", buf, sizeof buf), "");

    /* The trainer pairs 100 of teacher-a's answers with the supervisor's,
     * 99 agreeing, and confirms its role (which bumps the roles version). */
    s_write_agreement("physics", "teacher-a", 100, 99);
    ck_assert_int_eq(lyc_roles_change(s_redis, s_prefix, "shared", "physics", "teacher-a", 0,
                                      LYCEUM__V1__ROLE__ROLE_TEACHER),
                     1);
    s_until_handed_over("physics");
    ck_assert_str_eq(s_judges_field("physics", "delegate", buf, sizeof buf), "teacher-a");
    ck_assert_ptr_nonnull(
        strstr(s_judges_field("physics", "reason", buf, sizeof buf), "handed over to teacher-a"));

    /* The supervisor spot-checks; agreement lowers the rate. */
    s_until_spot_checks("physics", "agree", 3);
    ck_assert_str_eq(s_judges_field("physics", "disagreements", buf, sizeof buf), "0");
    ck_assert_int_ge(atoi(s_judges_field("physics", "checks", buf, sizeof buf)), 3);
    ck_assert_double_lt(strtod(s_judges_field("physics", "spot_rate", buf, sizeof buf), NULL),
                        0.5 * 0.9 * 0.9 + 1e-9);

    /* A query teacher-a answered is not judged by teacher-a. */
    const char *with_teacher[] = {"teacher-a", "student-2"};
    v = s_ask(&msg, "t-physics-own", JUDGE, "physics", with_teacher, 2);
    ck_assert_str_eq(v->judged_by, "judge-x");
    ck_assert(!s_judged_with(v, "teacher-a"));
    lyc_bus_msg_clear(&msg);

    /* teacher-a stops agreeing: the spot checks catch it and the supervisor
     * takes judging back. */
    s_teacher_disagrees = 1;
    int taken_back = 0;
    for (int i = 0; i < 300 && !taken_back; i++) {
        snprintf(trace, sizeof trace, "t-physics-disagree-%d", i);
        v = s_ask(&msg, trace, JUDGE, "physics", s_students, 2);
        lyc_bus_msg_clear(&msg);
        taken_back = *s_judges_field("physics", "delegate", buf, sizeof buf) == '\0';
    }
    ck_assert_msg(taken_back, "teacher-a kept judging though it disagreed");
    s_judges_field("physics", "reason", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "taken back from teacher-a") && strstr(buf, "spot checks"), "%s",
                  buf);
    ck_assert_str_eq(s_judges_field("physics", "revoked|teacher-a", buf, sizeof buf), "100");

    /* From now on the supervisor judges alone, though the statistics have
     * not changed: the teacher needs fresh evidence. */
    zclock_sleep(150);
    for (int i = 0; i < 5; i++) {
        snprintf(trace, sizeof trace, "t-physics-after-%d", i);
        v = s_ask(&msg, trace, JUDGE, "physics", s_students, 2);
        ck_assert_str_eq(v->judged_by, "judge-x");
        ck_assert_uint_eq(v->judge_calls, 1);
        ck_assert_uint_eq(v->n_judges, 1);
        lyc_bus_msg_clear(&msg);
    }
}
END_TEST

/* USD of one charged judgement by a model at these prices. */
static double s_charged(size_t n_answers, double price_in, double price_out)
{
    size_t bytes = strlen(s_question);
    for (size_t i = 0; i < n_answers; i++)
        bytes += strlen(i % 2 ? s_wrong : s_right);
    return ((double) ((bytes + 3) / 4) * price_in + 20.0 * price_out) / 1e6;
}

START_TEST(test_charged_reference_grading_at_the_delegates_price)
{
    lyc_bus_msg_t msg;
    char trace[64];
    int delegated = 0, checked = 0;

    s_write_agreement("chemistry", "teacher-a", 100, 99);
    for (int i = 0; i < 20; i++) {
        snprintf(trace, sizeof trace, "t-chemistry-%d", i);
        Lyceum__V1__Verdict *v = s_ask(&msg, trace, REFERENCE, "chemistry", s_students, 2);
        ck_assert_int_eq(v->mode, REFERENCE);
        ck_assert_double_eq(v->verdicts[0]->score, 1.0);
        ck_assert_double_eq(v->verdicts[1]->score, 0.0);
        ck_assert_str_eq(v->winner, "student-1");
        if (v->judge_calls == 1) {
            ck_assert_str_eq(v->judged_by, "teacher-a");
            ck_assert_str_eq(v->judges[0], "teacher-a");
            ck_assert_double_eq_tol(v->judge_cost_usd, s_charged(2, 1, 3), 1e-15);
            delegated++;
        } else {
            ck_assert(s_spot_check_of_teacher(v));
            ck_assert_double_eq_tol(v->judge_cost_usd, s_charged(2, 1, 3) + s_charged(2, 10, 30),
                                    1e-15);
            checked++;
        }
        lyc_bus_msg_clear(&msg);
    }
    ck_assert_int_gt(delegated, 0);
    ck_assert_int_gt(checked, 0);
    ck_assert_int_eq(s_tasks_served, 0); /* charged, never called */

    /* The supervisor answered: grading against its answer costs nothing. */
    const char *with_supervisor[] = {"judge-x", "student-2"};
    Lyceum__V1__Verdict *v =
        s_ask(&msg, "t-chemistry-sup", REFERENCE, "chemistry", with_supervisor, 2);
    ck_assert_str_eq(v->judged_by, "reference");
    ck_assert_uint_eq(v->judge_calls, 0);
    ck_assert_double_eq(v->judge_cost_usd, 0.0);
    lyc_bus_msg_clear(&msg);
}
END_TEST

START_TEST(test_ensemble_judges_where_no_teacher_is_trusted_alone)
{
    lyc_bus_msg_t msg;
    char trace[64], buf[256];
    int seen = 0;

    /* 0.85 and 0.80: decent, but neither bound reaches 0.9. */
    s_write_agreement("biology", "teacher-a", 100, 85);
    s_write_agreement("biology", "ta-b", 100, 80);
    for (int i = 0; i < 30 && !seen; i++) {
        snprintf(trace, sizeof trace, "t-biology-%d", i);
        Lyceum__V1__Verdict *v = s_ask(&msg, trace, JUDGE, "biology", s_students, 2);
        seen = strcmp(v->judged_by, "ensemble") == 0;
        if (seen) {
            ck_assert_uint_eq(v->judge_calls, 2);
            ck_assert_str_eq(v->judges[0], "teacher-a");
            ck_assert_str_eq(v->judges[1], "ta-b");
            ck_assert_double_eq_tol(v->judge_cost_usd, 0.0015, 1e-12);
            /* Weighted by agreement: (0.85 * 0.85 + 0.8 * 0.6) / 1.65. */
            ck_assert_double_eq_tol(v->verdicts[0]->score, (0.85 * 0.85 + 0.8 * 0.6) / 1.65, 1e-9);
            ck_assert_double_eq_tol(v->verdicts[1]->score, (0.85 * 0.2 + 0.8 * 0.3) / 1.65, 1e-9);
            ck_assert_str_eq(v->winner, "student-1");
        } else {
            ck_assert_str_eq(v->judged_by, "judge-x"); /* a spot check */
            ck_assert_uint_eq(v->judge_calls, 3);
        }
        lyc_bus_msg_clear(&msg);
    }
    ck_assert(seen);
    ck_assert_str_eq(s_judges_field("biology", "delegate", buf, sizeof buf), "ensemble");
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_judges");
    TCase *tc = tcase_create("judges");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_teacher_takes_over_judging_and_loses_it_when_it_stops_agreeing);
    tcase_add_test(tc, test_charged_reference_grading_at_the_delegates_price);
    tcase_add_test(tc, test_ensemble_judges_where_no_teacher_is_trusted_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
