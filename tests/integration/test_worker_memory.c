/*
 * test_worker_memory.c - the memory student and the exemplar search against
 * the real Redis 8 (LYCEUM_REDIS_URL). Past queries are written the way the
 * router writes them (past_queries.h): the vector of the conversation text
 * and a record with conversation, question, answer, winner, domain, score.
 * Then: a near-same query gets the stored answer, free; a negated or
 * other-number query abstains; another tenant abstains; exemplars come from
 * the same domain only and leave out the near-identical conversation.
 */
#include "testkit.h"

#include "backend.h"
#include "caller.h"
#include "clock.h"
#include "embed.h"
#include "exemplars.h"
#include "meaning.h"
#include "past_queries.h"
#include "prompt.h"
#include "settings.h"
#include "vecstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DIM 256

typedef struct {
    lyc_confdoc_t *doc;
    lyc_settings_t settings;
    lyc_model_config_t model;
    lyc_backend_env_t *env;
    lyc_caller_t *caller;
    lyc_vecstore_t *store; /* the "router" side */
    lyc_embedder_t *embedder;
    char prefix[32];
    char tenant[64];
    char other_tenant[64];
} s_fixture_t;

static s_fixture_t s_f;

/* Writes one past query as the router does. */
static void s_remember(const char *tenant, const char *id, const char *question, const char *answer,
                       const char *winner, const char *domain)
{
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    user.role = "user";
    user.content = (char *) question;
    Lyceum__V1__ChatMessage *messages[] = {&user};
    char *conversation = lyc_conversation_text(messages, 1);
    float vector[S_DIM];
    ck_assert_int_eq(lyc_embedder_embed(s_f.embedder, conversation, strlen(conversation), vector),
                     0);
    lyc_vecstore_attrs_t attrs = {
        .domain = domain, .model = winner, .score = 0.9, .ts_us = lyc_wall_us()};
    ck_assert_int_eq(lyc_vecstore_add(s_f.store, tenant, id, vector, S_DIM, &attrs), 0);
    lyc_vecstore_field_t fields[] = {
        {LYC_REC_CONVERSATION, conversation},
        {LYC_REC_QUESTION, question},
        {LYC_REC_ANSWER, answer},
        {LYC_REC_WINNER, winner},
        {LYC_REC_DOMAIN, domain},
        {LYC_REC_SCORE, "0.9"},
    };
    ck_assert_int_eq(lyc_vecstore_record_put(s_f.store, tenant, id, fields, 6), 0);
    free(conversation);
}

static void s_setup(void)
{
    char err[512], yaml[1024];
    memset(&s_f, 0, sizeof s_f);
    lyc_test_unique(s_f.prefix, sizeof s_f.prefix, "tw");
    lyc_test_unique(s_f.tenant, sizeof s_f.tenant, "acme");
    lyc_test_unique(s_f.other_tenant, sizeof s_f.other_tenant, "globex");
    snprintf(yaml, sizeof yaml,
             "redis:\n  url: %s\n  prefix: %s\nembedding:\n  backend: builtin\n  dim: %d\n"
             "models:\n  - name: memory\n    backend: memory\n    capacity: 1\n"
             "    price_in: 5\n    memory:\n      threshold: 0.9\n",
             lyc_test_redis_url(), s_f.prefix, S_DIM);
    FILE *file = fopen("/tmp/lyc-test-worker-memory.yaml", "w");
    ck_assert_ptr_nonnull(file);
    fputs(yaml, file);
    fclose(file);
    s_f.doc = lyc_settings_load("/tmp/lyc-test-worker-memory.yaml", "LYCEUM_WORKER", &s_f.settings,
                                err, sizeof err);
    ck_assert_msg(s_f.doc != NULL, "%s", err);
    ck_assert_int_eq(lyc_model_config_find(s_f.doc, "memory", &s_f.model, err, sizeof err), 0);
    s_f.env = lyc_backend_env_new(&s_f.model, &s_f.settings, NULL, err, sizeof err);
    ck_assert_msg(s_f.env != NULL, "%s", err);
    s_f.caller = lyc_caller_new(s_f.env, "memory#test");
    ck_assert_ptr_nonnull(s_f.caller);
    lyc_vecstore_config_t config = {
        .redis_url = lyc_test_redis_url(), .key_prefix = s_f.prefix, .dim = S_DIM};
    s_f.store = lyc_vecstore_new(&config);
    s_f.embedder = lyc_embedder_new(S_DIM);
    ck_assert_ptr_nonnull(s_f.store);
    ck_assert_ptr_nonnull(s_f.embedder);

    s_remember(s_f.tenant, "q1", "How do I enable 2FA on my account?",
               "Open Settings > Security and switch on two-factor authentication.", "gpt-4",
               "accounts");
    s_remember(s_f.tenant, "q2", "What is 12*7?", "84", "mixtral", "math");
    s_remember(s_f.tenant, "q3", "What is the derivative of x^2?", "2x", "gpt-4", "math");
    s_remember(s_f.tenant, "q4", "What is the integral of 2x?", "x^2 + C", "gpt-4", "math");
    s_remember(s_f.tenant, "q5", "What is the powerhouse of the cell?", "The mitochondrion.",
               "gpt-4", "biology");
}

static void s_teardown(void)
{
    lyc_vecstore_drop_tenant(s_f.store, s_f.tenant);
    lyc_vecstore_drop_tenant(s_f.store, s_f.other_tenant);
    lyc_vecstore_destroy(&s_f.store);
    lyc_embedder_destroy(&s_f.embedder);
    lyc_caller_destroy(&s_f.caller);
    lyc_backend_env_destroy(&s_f.env);
    lyc_model_config_free(&s_f.model);
    lyc_settings_free(&s_f.settings);
    lyc_confdoc_destroy(&s_f.doc);
    remove("/tmp/lyc-test-worker-memory.yaml");
}

/* Asks the memory student; the answer borrows from static storage. */
static void s_ask(const char *tenant, const char *question, lyc_answer_t *out)
{
    static Lyceum__V1__ChatMessage user;
    static Lyceum__V1__ChatMessage *messages[] = {&user};
    static Lyceum__V1__Task task;
    lyceum__v1__chat_message__init(&user);
    user.role = "user";
    user.content = (char *) question;
    lyceum__v1__task__init(&task);
    task.task_id = "t";
    task.tenant = (char *) tenant;
    task.messages = messages;
    task.n_messages = 1;
    task.deadline_ms = 2000;
    lyceum__v1__answer__init(out);
    lyc_caller_answer(s_f.caller, &task, lyc_mono_us(), out);
}

static void s_expect_abstain(const char *tenant, const char *question)
{
    lyc_answer_t a;
    s_ask(tenant, question, &a);
    ck_assert_msg(a.error && a.error->code == LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED,
                  "'%s' was answered: %s", question, a.content);
    ck_assert_str_eq(a.content, "");
    lyc_answer_release(&a);
}

START_TEST(test_near_same_query_gets_the_stored_answer)
{
    lyc_answer_t a;
    s_ask(s_f.tenant, "how do I enable 2FA on my account", &a);
    ck_assert_msg(a.error == NULL, "%s", a.error ? a.error->message : "");
    ck_assert_str_eq(a.content,
                     "Open Settings > Security and switch on two-factor authentication.");
    ck_assert_double_eq(a.cost_usd, 0.0);
    ck_assert(!a.simulated);
    ck_assert_str_eq(a.worker_id, "memory#test");
    lyc_answer_release(&a);

    s_ask(s_f.tenant, "What is 12 * 7?", &a);
    ck_assert_msg(a.error == NULL, "%s", a.error ? a.error->message : "");
    ck_assert_str_eq(a.content, "84");
    lyc_answer_release(&a);
}
END_TEST

START_TEST(test_changed_meaning_abstains)
{
    s_expect_abstain(s_f.tenant, "How do I disable 2FA on my account?");
    s_expect_abstain(s_f.tenant, "How do I not enable 2FA on my account?");
    s_expect_abstain(s_f.tenant, "What is 12*8?");
    s_expect_abstain(s_f.tenant, "What is the capital of Peru?");
    s_expect_abstain(s_f.tenant, "");
}
END_TEST

START_TEST(test_other_tenant_abstains)
{
    s_expect_abstain(s_f.other_tenant, "How do I enable 2FA on my account?");
    s_expect_abstain(s_f.other_tenant, "What is 12*7?");
    lyc_answer_t a;
    s_ask("bad tenant!", "What is 12*7?", &a);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    lyc_answer_release(&a);
}
END_TEST

START_TEST(test_whole_conversation_is_compared)
{
    /* The same last question after a different earlier turn is another query. */
    Lyceum__V1__ChatMessage sys = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    sys.role = "system";
    sys.content = "Answer in French.";
    user.role = "user";
    user.content = "What is 12*7?";
    Lyceum__V1__ChatMessage *messages[] = {&sys, &user};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = "t";
    task.tenant = s_f.tenant;
    task.messages = messages;
    task.n_messages = 2;
    task.deadline_ms = 2000;
    lyc_answer_t a = LYCEUM__V1__ANSWER__INIT;
    lyc_caller_answer(s_f.caller, &task, lyc_mono_us(), &a);
    ck_assert_ptr_nonnull(a.error);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED);
    lyc_answer_release(&a);
}
END_TEST

START_TEST(test_exemplars_same_domain_without_near_copies)
{
    lyc_past_t *past = lyc_past_new(&s_f.settings);
    ck_assert_ptr_nonnull(past);
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    user.role = "user";
    user.content = "What is 12*7?"; /* q2 is this very question: left out */
    Lyceum__V1__ChatMessage *messages[] = {&user};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.tenant = s_f.tenant;
    task.domain = "math";
    task.messages = messages;
    task.n_messages = 1;

    Lyceum__V1__Exemplar **exemplars = NULL;
    size_t count = 0;
    ck_assert_int_eq(lyc_exemplars_fetch(past, &task, 3, &exemplars, &count), 0);
    ck_assert_uint_eq(count, 2);
    for (size_t i = 0; i < count; i++) {
        ck_assert_str_ne(exemplars[i]->question, "What is 12*7?");
        ck_assert(strcmp(exemplars[i]->answer, "2x") == 0 ||
                  strcmp(exemplars[i]->answer, "x^2 + C") == 0);
        ck_assert_str_eq(exemplars[i]->source_model, "gpt-4");
        ck_assert_double_eq_tol(exemplars[i]->score, 0.9, 1e-9);
    }
    /* They go into the prompt as one system message. */
    task.exemplars = exemplars;
    task.n_exemplars = count;
    lyc_prompt_t *prompt = lyc_prompt_new(&task, NULL);
    ck_assert_uint_eq(lyc_prompt_count(prompt), 2);
    ck_assert_str_eq(lyc_prompt_at(prompt, 0)->role, "system");
    ck_assert_ptr_nonnull(strstr(lyc_prompt_at(prompt, 0)->content, "Here are examples"));
    ck_assert_ptr_nonnull(strstr(lyc_prompt_at(prompt, 0)->content, "\nQ: What is the"));
    lyc_prompt_destroy(&prompt);
    lyc_exemplars_free(exemplars, count);

    /* Another tenant, or no domain: none. */
    task.exemplars = NULL;
    task.n_exemplars = 0;
    task.tenant = s_f.other_tenant;
    ck_assert_int_eq(lyc_exemplars_fetch(past, &task, 3, &exemplars, &count), 0);
    ck_assert_uint_eq(count, 0);
    task.tenant = s_f.tenant;
    task.domain = "";
    ck_assert_int_eq(lyc_exemplars_fetch(past, &task, 3, &exemplars, &count), 0);
    ck_assert_uint_eq(count, 0);
    lyc_past_destroy(&past);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("worker_memory");
    TCase *tc = tcase_create("memory");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_near_same_query_gets_the_stored_answer);
    tcase_add_test(tc, test_changed_meaning_abstains);
    tcase_add_test(tc, test_other_tenant_abstains);
    tcase_add_test(tc, test_whole_conversation_is_compared);
    tcase_add_test(tc, test_exemplars_same_domain_without_near_copies);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
