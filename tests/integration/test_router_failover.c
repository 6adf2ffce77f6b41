/*
 * test_router_failover.c - a worker killed mid-query: the query is still
 * answered. With a second replica the broker re-sends the task there; with
 * none left, the model is left out of the query, never fatal to it.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static lyc_kit_t s_kit;

static const char *s_data =
    "{\"prompt\":\"Which planet is largest?\",\"domain\":\"space\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Jupiter.\"},\"slow\":{\"correct\":true,"
    "\"text\":\"Jupiter\"}}}\n"
    "{\"prompt\":\"Which planet is smallest?\",\"domain\":\"space\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Mercury.\"},\"slow\":{\"correct\":true,"
    "\"text\":\"Mercury\"}}}\n";

/* The slow model takes 1.5 s per answer, so a kill lands while it works. */
static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {"slow", "replay", "teacher", 1, 2, 2, 1500},
};

typedef struct {
    const char *question;
    int status;
    cJSON *reply;
} s_query_t;

static void *s_ask(void *arg)
{
    s_query_t *q = arg;
    q->status = lyc_kit_chat(&s_kit, q->question, "space", &q->reply);
    return NULL;
}

/* Asks in a thread, SIGKILLs the named workers 400 ms in, waits for the reply. */
static void s_ask_while_killing(s_query_t *q, const char *victim1, const char *victim2)
{
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, s_ask, q), 0);
    usleep(400000);
    lyc_test_stop(lyc_kit_pid(&s_kit, victim1), SIGKILL, 1000);
    if (victim2)
        lyc_test_stop(lyc_kit_pid(&s_kit, victim2), SIGKILL, 1000);
    pthread_join(thread, NULL);
}

START_TEST(test_killed_replica_is_replaced_then_left_out)
{
    ck_assert_int_eq(lyc_kit_start(&s_kit, s_data, s_models, 2, "  learning_sample: 0\n"), 0);

    /* One replica dies: its task goes to the other, so the slow model still answers. */
    s_query_t q1 = {.question = "Which planet is largest?"};
    s_ask_while_killing(&q1, "slow#0", NULL);
    ck_assert_int_eq(q1.status, 200);
    cJSON *ly = cJSON_GetObjectItem(q1.reply, "lyceum");
    ck_assert(lyc_kit_has(cJSON_GetObjectItem(ly, "answered_by"), "supervisor"));
    ck_assert(lyc_kit_has(cJSON_GetObjectItem(ly, "answered_by"), "slow"));
    cJSON_Delete(q1.reply);

    /* The last replica dies too: the query is answered by the supervisor alone. */
    s_query_t q2 = {.question = "Which planet is smallest?"};
    s_ask_while_killing(&q2, "slow#1", NULL);
    ck_assert_int_eq(q2.status, 200);
    ly = cJSON_GetObjectItem(q2.reply, "lyceum");
    ck_assert(lyc_kit_has(cJSON_GetObjectItem(ly, "answered_by"), "supervisor"));
    ck_assert(!lyc_kit_has(cJSON_GetObjectItem(ly, "answered_by"), "slow"));
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(q2.reply, "choices"), 0);
    ck_assert_str_eq(lyc_kit_str(choice, "message", "content"), "Mercury.");
    cJSON_Delete(q2.reply);
    lyc_kit_stop(&s_kit);
}
END_TEST

START_TEST(test_every_model_failing_is_a_clear_error)
{
    static const lyc_kit_model_t one[] = {{"slow", "replay", "supervisor", 1, 2, 1, 1500}};
    ck_assert_int_eq(lyc_kit_start(&s_kit, s_data, one, 1, NULL), 0);
    s_query_t q = {.question = "Which planet is largest?"};
    s_ask_while_killing(&q, "slow#0", NULL);
    ck_assert_int_eq(q.status, 503);
    cJSON *error = cJSON_GetObjectItem(q.reply, "error");
    ck_assert_ptr_nonnull(strstr(lyc_kit_str(error, "message", NULL), "no model answered"));
    cJSON_Delete(q.reply);
    lyc_kit_stop(&s_kit);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_failover");
    TCase *tc = tcase_create("failover");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_killed_replica_is_replaced_then_left_out);
    tcase_add_test(tc, test_every_model_failing_is_a_clear_error);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
