/*
 * test_cli_cluster.c - the cluster file as the lyceum tool reads it: the
 * embedded default and bench files are valid once expanded, variables are
 * replaced, addresses are split, the plan lists the right processes.
 */
#include "testkit.h"

#include "cluster.h"
#include "embedded.h"
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static lyc_cluster_t *s_parse_expanded(const char *text)
{
    char err[512] = "";
    char *expanded = lyc_cluster_expand(text, "/tmp/run", "abcd1234");
    ck_assert_ptr_nonnull(expanded);
    ck_assert_ptr_null(strstr(expanded, "${"));
    lyc_cluster_t *c = lyc_cluster_parse(expanded, strlen(expanded), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    free(expanded);
    return c;
}

START_TEST(test_expand_replaces_both_variables)
{
    char *out = lyc_cluster_expand("a: ${LYCEUM_RUN_DIR}/x\nb: p-${LYCEUM_RUN_ID}\nc: ${HOME}\n",
                                   "/r", "id1");
    ck_assert_str_eq(out, "a: /r/x\nb: p-id1\nc: ${HOME}\n");
    free(out);
}
END_TEST

START_TEST(test_default_cluster_is_the_demo)
{
    lyc_cluster_t *c = s_parse_expanded(lyc_cli_default_cluster);
    ck_assert_uint_eq(lyc_cluster_model_count(c), 4);
    const lyc_cluster_model_t *sup = lyc_cluster_find_role(c, "supervisor");
    ck_assert_ptr_nonnull(sup);
    ck_assert_str_eq(sup->name, "supervisor");
    ck_assert(sup->price_in == 10 && sup->price_out == 30);
    ck_assert_str_eq(lyc_cluster_model(c, 3)->backend, "memory");
    ck_assert_str_eq(lyc_cluster_demo(c)->servers, "local");
    ck_assert_int_eq(lyc_cluster_demo(c)->queries, 240);
    ck_assert_str_eq(lyc_cluster_settings(c)->redis_prefix, "lyc-abcd1234");
    ck_assert_str_eq(lyc_cluster_value(c, "router", "eval_mode", "LYCEUM_ROUTER", ""), "reference");
    char url[128];
    ck_assert_int_eq(lyc_cluster_router_url(c, url, sizeof url), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:8080");
    lyc_cluster_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_bench_cluster_has_four_models)
{
    lyc_cluster_t *c = s_parse_expanded(lyc_cli_bench_cluster);
    ck_assert_uint_eq(lyc_cluster_model_count(c), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(lyc_cluster_model(c, i)->backend, "replay");
    ck_assert_str_ne(lyc_cluster_http_listen(c), "127.0.0.1:8080");
    lyc_cluster_destroy(&c);
}
END_TEST

START_TEST(test_bad_files_are_refused_with_a_reason)
{
    char err[512] = "";
    const char *unknown = "models:\n  - {name: a, backend: replay}\ndemo:\n  colour: red\n";
    ck_assert_ptr_null(lyc_cluster_parse(unknown, strlen(unknown), "f.yaml", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "colour"));
    const char *twice = "models:\n  - {name: a, backend: memory}\n  - {name: a, backend: memory}\n";
    ck_assert_ptr_null(lyc_cluster_parse(twice, strlen(twice), "f.yaml", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    const char *none = "log: {level: info}\n";
    ck_assert_ptr_null(lyc_cluster_parse(none, strlen(none), "f.yaml", err, sizeof err));
}
END_TEST

START_TEST(test_host_port)
{
    char host[64];
    int port = 0;
    ck_assert_int_eq(lyc_cluster_host_port("redis://127.0.0.1:6399", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 6399);
    ck_assert_int_eq(lyc_cluster_host_port("redis://u:p@h:1/2", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "h");
    ck_assert_int_eq(port, 1);
    ck_assert_int_eq(lyc_cluster_host_port("k1:9392,k2:9393", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "k1");
    ck_assert_int_eq(lyc_cluster_host_port("[::1]:8080", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(lyc_cluster_host_port("redis://host", host, sizeof host, &port), -1);
    ck_assert_int_eq(lyc_cluster_host_port("h:99999", host, sizeof host, &port), -1);
}
END_TEST

START_TEST(test_plan_lists_every_replica)
{
    const char *text = "models:\n"
                       "  - {name: big/model, backend: memory, replicas: 2}\n"
                       "  - {name: off, backend: memory, replicas: 0}\n";
    char err[256];
    lyc_cluster_t *c = lyc_cluster_parse(text, strlen(text), "t", err, sizeof err);
    ck_assert_ptr_nonnull(c);
    lyc_plan_t plan;
    ck_assert_int_eq(lyc_plan_make(c, &plan), 0);
    ck_assert_uint_eq(plan.n, 6); /* router, evaluator, trainer, monitor, 2 workers */
    const lyc_plan_proc_t *w = lyc_plan_find(&plan, "worker-big_model-1");
    ck_assert_ptr_nonnull(w);
    ck_assert_str_eq(w->id, "big/model#1");
    char *argv[8];
    lyc_plan_argv(w, "/bin/lyceum-worker", "/r/cluster.yaml", argv);
    ck_assert_str_eq(argv[3], "--model");
    ck_assert_str_eq(argv[4], "big/model");
    ck_assert_str_eq(argv[6], "big/model#1");
    ck_assert_ptr_null(argv[7]);
    ck_assert(lyc_plan_find(&plan, "trainer")->optional);
    ck_assert(!lyc_plan_find(&plan, "router")->optional);
    lyc_plan_free(&plan);
    lyc_cluster_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli_cluster");
    TCase *tc = tcase_create("cluster");
    tcase_add_test(tc, test_expand_replaces_both_variables);
    tcase_add_test(tc, test_default_cluster_is_the_demo);
    tcase_add_test(tc, test_bench_cluster_has_four_models);
    tcase_add_test(tc, test_bad_files_are_refused_with_a_reason);
    tcase_add_test(tc, test_host_port);
    tcase_add_test(tc, test_plan_lists_every_replica);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
