/*
 * test_security_shared_exemplars.c - exemplars cross tenants only between
 * tenants that opted in (share_exemplars), and nothing else does.
 *
 * charlie and delta share exemplars, echo does not. The student is given
 * two exemplars per task (exemplars: 2); how many tokens it was sent shows
 * whether an exemplar was in its prompt, since every tenant asks it the same
 * question with the same recorded answer:
 *
 *   delta's student sees charlie's winner (more tokens than the bare
 *   question); echo's never does; charlie's own France winner is in the
 *   pool with only an exemplar's fields; echo's queries are not; delta's
 *   repeat of charlie's question is still novel and never the memory
 *   student's; `lyceum keys tenant charlie --share-exemplars off` takes
 *   back what charlie lent, and delta then sees no exemplar.
 */
#include "testkit.h"

#include "cluster_kit.h"

#include "apikeys.h"
#include "redis.h"
#include "vecstore.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static lyc_kit_t s_kit;

static const char *s_data =
    "{\"prompt\":\"What is the capital of France?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Paris.\"},"
    "\"student\":{\"correct\":false,\"text\":\"Lyon\"}}}\n"
    "{\"prompt\":\"What is the capital of Spain?\",\"domain\":\"geo\",\"answers\":{"
    "\"supervisor\":{\"correct\":true,\"text\":\"Madrid.\"},"
    "\"student\":{\"correct\":true,\"text\":\"Madrid\"}}}\n";

static const lyc_kit_model_t s_models[] = {
    {"supervisor", "replay", "supervisor", 10, 30, 1, 0},
    {"student", "replay", "student", 0.1, 0.2, 1, 0},
    {"memory", "memory", "student", 0, 0, 1, 0},
};
static const char *const s_extra[] = {NULL, "    exemplars: 2\n", NULL};

static lyc_redis_t *s_redis;

static void s_share(const char *tenant, const char *on)
{
    const char *names[] = {"share_exemplars"}, *values[] = {on};
    ck_assert_int_eq(lyc_tenant_set(s_redis, s_kit.prefix, tenant, names, values, 1), 0);
}

static void s_cluster_up(void)
{
    lyc_kit_opts_t o = {.replay_jsonl = s_data,
                        .models = s_models,
                        .n_models = sizeof s_models / sizeof s_models[0],
                        .router_extra = "  learning_sample: 0\n  min_evidence: 1000\n",
                        .worker_metrics = 1,
                        .model_extra = s_extra};
    ck_assert_int_eq(lyc_kit_start_opts(&s_kit, &o), 0);
    s_redis = lyc_redis_new(lyc_test_redis_url(), 2000);
    ck_assert_ptr_nonnull(s_redis);
    s_share("charlie", "1");
    s_share("delta", "1");
    s_share("echo", "0");
}

static void s_cluster_down(void)
{
    lyc_redis_destroy(&s_redis);
    lyc_kit_stop(&s_kit);
}

/* Asks as tenant in domain geo; returns the reply (cJSON_Delete). */
static cJSON *s_ask(const char *tenant, const char *question)
{
    lyc_kit_ask_t ask = {.tenant = tenant, .user = "ann", .domain = "geo"};
    cJSON *r = NULL;
    ck_assert_int_eq(lyc_kit_ask(&s_kit, &ask, question, &r, NULL), 200);
    return r;
}

/* Tokens (prompt and completion) the student used for tenant's question. */
static double s_student_tokens(const char *tenant, const char *question)
{
    double before = lyc_kit_worker_sum(&s_kit, "student", "lyceum_worker_tokens_total");
    cJSON *r = s_ask(tenant, question);
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "novel");
    cJSON_Delete(r);
    double after = lyc_kit_worker_sum(&s_kit, "student", "lyceum_worker_tokens_total");
    ck_assert_double_ge(before, 0);
    return after - before;
}

/* A field of a pool record; NULL when it has none (free()). */
static char *s_pool_field(const char *id, const char *field)
{
    char key[200];
    snprintf(key, sizeof key, "%s:{%s}:rec:%s", s_kit.prefix, LYC_VECSTORE_EXEMPLAR_POOL, id);
    const char *argv[] = {"HGET", key, field};
    redisReply *r = lyc_redis_command(s_redis, 3, argv, NULL);
    ck_assert_ptr_nonnull(r);
    char *value = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return value;
}

/* The ids of the pool's vectors (it is small). */
static redisReply *s_pool_members(void)
{
    char key[160];
    snprintf(key, sizeof key, "%s:{%s}:vectors", s_kit.prefix, LYC_VECSTORE_EXEMPLAR_POOL);
    const char *argv[] = {"VRANDMEMBER", key, "1000"};
    redisReply *r = lyc_redis_command(s_redis, 3, argv, NULL);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* Waits (up to 10 s) until the pool holds n vectors: the router lends a
 * winner when it writes the query's record, after the reply. */
static void s_wait_pool(size_t n)
{
    char key[160];
    snprintf(key, sizeof key, "%s:{%s}:vectors", s_kit.prefix, LYC_VECSTORE_EXEMPLAR_POOL);
    const char *argv[] = {"VCARD", key};
    long long have = 0;
    for (int waited = 0; waited < 10000 && have < (long long) n; waited += 10) {
        redisReply *r = lyc_redis_command(s_redis, 2, argv, NULL);
        ck_assert_ptr_nonnull(r);
        have = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        if (have < (long long) n)
            usleep(10 * 1000);
    }
    ck_assert_int_ge(have, (long long) n);
}

START_TEST(test_exemplars_cross_only_between_sharing_tenants)
{
    /* charlie's France query is recorded and lent to the pool. */
    cJSON *r = s_ask("charlie", "What is the capital of France?");
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "novel");
    char charlie_trace[64];
    snprintf(charlie_trace, sizeof charlie_trace, "%s", lyc_kit_str(r, "lyceum", "trace_id"));
    cJSON_Delete(r);
    s_wait_pool(1);

    /* echo does not share: its student sees the bare question. */
    double echo = s_student_tokens("echo", "What is the capital of Spain?");
    /* delta shares: its student also sees charlie's France exemplar. */
    double delta = s_student_tokens("delta", "What is the capital of Spain?");
    ck_assert_double_gt(echo, 0);
    ck_assert_msg(delta > echo + 4, "delta's student used %.0f tokens, echo's %.0f", delta, echo);

    /* The pool: charlie's and delta's winners, never echo's, with only an
     * exemplar's fields. */
    s_wait_pool(2);
    redisReply *m = s_pool_members();
    ck_assert_uint_eq(m->elements, 2);
    int charlie_seen = 0;
    for (size_t i = 0; i < m->elements; i++) {
        char *lender = s_pool_field(m->element[i]->str, "lender");
        ck_assert_ptr_nonnull(lender);
        ck_assert(strcmp(lender, "charlie") == 0 || strcmp(lender, "delta") == 0);
        charlie_seen += strcmp(m->element[i]->str, charlie_trace) == 0;
        free(lender);
        static const char *const never[] = {"user", "scores", "cost_usd", "path"};
        for (size_t f = 0; f < sizeof never / sizeof never[0]; f++) {
            char *value = s_pool_field(m->element[i]->str, never[f]);
            ck_assert_msg(value == NULL, "the pool holds %s", never[f]);
        }
    }
    freeReplyObject(m);
    ck_assert_int_eq(charlie_seen, 1);
    char *question = s_pool_field(charlie_trace, "question");
    ck_assert_str_eq(question, "What is the capital of France?");
    free(question);

    /* Sharing exemplars never shares answers: charlie's question is new to
     * delta, and the memory student does not answer it from the pool. */
    r = s_ask("delta", "What is the capital of France?");
    ck_assert_str_eq(lyc_kit_str(r, "lyceum", "path"), "novel");
    ck_assert_str_ne(lyc_kit_str(r, "lyceum", "chosen"), "memory");
    cJSON_Delete(r);

    /* charlie stops sharing and takes back what it lent. */
    char cmd[1024], cli[512];
    snprintf(cmd, sizeof cmd,
             "%s keys tenant charlie --share-exemplars off --config %s/cluster.yaml >/dev/null",
             lyc_test_binary(cli, sizeof cli, "services/cli/lyceum"), s_kit.dir);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
    m = s_pool_members();
    for (size_t i = 0; i < m->elements; i++) {
        char *lender = s_pool_field(m->element[i]->str, "lender");
        ck_assert_str_eq(lender, "delta");
        free(lender);
    }
    freeReplyObject(m);
    char *gone = s_pool_field(charlie_trace, "answer");
    ck_assert_ptr_null(gone);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_shared_exemplars");
    TCase *tc = tcase_create("shared_exemplars");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_add_test(tc, test_exemplars_cross_only_between_sharing_tenants);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
