/*
 * test_evaluator_config.c - the evaluator's settings: defaults, the judge
 * taken from the supervisor, environment overrides, clear errors, and the
 * delegation settings and model prices.
 */
#include "testkit.h"

#include "eval_config.h"

#include <stdlib.h>
#include <string.h>

static int s_load(const char *yaml, lyc_eval_config_t *config, char *err, size_t errcap)
{
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "cluster.yaml", err, errcap);
    ck_assert_msg(doc != NULL, "%s", err);
    int rc = lyc_eval_config_load(config, doc, err, errcap);
    lyc_confdoc_destroy(&doc);
    return rc;
}

static const char *s_models = "models:\n"
                              "  - name: student-a\n"
                              "    backend: replay\n"
                              "  - name: gpt-big\n"
                              "    backend: openai\n"
                              "    role: supervisor\n";

START_TEST(test_defaults_and_judge_from_supervisor)
{
    lyc_eval_config_t config;
    char err[512];
    ck_assert_int_eq(s_load(s_models, &config, err, sizeof err), 0);
    ck_assert_str_eq(config.bind, "tcp://127.0.0.1:5703");
    ck_assert_int_eq(config.threads, 4);
    ck_assert_str_eq(config.mode, "judge");
    ck_assert_str_eq(config.judge_model, "gpt-big");
    ck_assert_double_eq_tol(config.cheap_margin, 0.05, 1e-12);
    ck_assert_int_eq(config.synthesis, 0);
    ck_assert(lyc_eval_config_is_supervisor(&config, "gpt-big"));
    ck_assert(!lyc_eval_config_is_supervisor(&config, "student-a"));
    ck_assert(!lyc_eval_config_is_supervisor(&config, ""));
    lyc_eval_config_free(&config);
    lyc_eval_config_free(&config); /* twice is fine */
}
END_TEST

START_TEST(test_section_and_environment)
{
    lyc_eval_config_t config;
    char err[512], yaml[1024];
    snprintf(yaml, sizeof yaml,
             "evaluator:\n  mode: agreement\n  judge_model: student-a\n  threads: 2\n"
             "  synthesis: true\n  cheap_margin: 0.1\n%s",
             s_models);
    setenv("LYCEUM_EVALUATOR_THREADS", "7", 1);
    ck_assert_int_eq(s_load(yaml, &config, err, sizeof err), 0);
    unsetenv("LYCEUM_EVALUATOR_THREADS");
    ck_assert_int_eq(config.threads, 7);
    ck_assert_str_eq(config.mode, "agreement");
    ck_assert_str_eq(config.judge_model, "student-a");
    ck_assert(config.synthesis);
    /* The configured judge counts as trusted, and so does the supervisor. */
    ck_assert(lyc_eval_config_is_supervisor(&config, "student-a"));
    ck_assert(lyc_eval_config_is_supervisor(&config, "gpt-big"));
    lyc_eval_config_free(&config);
}
END_TEST

START_TEST(test_errors_name_the_key)
{
    lyc_eval_config_t config;
    char err[512], yaml[1024];
    snprintf(yaml, sizeof yaml, "evaluator:\n  judge_model: nobody\n%s", s_models);
    ck_assert_int_eq(s_load(yaml, &config, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "evaluator.judge_model"));
    ck_assert_ptr_nonnull(strstr(err, "nobody"));
    lyc_eval_config_free(&config);

    ck_assert_int_eq(s_load("evaluator:\n  mode: vibes\n", &config, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "mode"));
    lyc_eval_config_free(&config);

    ck_assert_int_eq(s_load("evaluator:\n  thread: 3\n", &config, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown key 'evaluator.thread'"));
    lyc_eval_config_free(&config);

    ck_assert_int_eq(s_load("evaluator:\n  threads: 0\n", &config, err, sizeof err), -1);
    lyc_eval_config_free(&config);
}
END_TEST

START_TEST(test_no_models_means_no_judge)
{
    lyc_eval_config_t config;
    char err[512];
    ck_assert_int_eq(s_load("log:\n  level: warn\n", &config, err, sizeof err), 0);
    ck_assert_str_eq(config.judge_model, "");
    ck_assert_ptr_null(config.supervisors);
    lyc_eval_config_free(&config);
    ck_assert_int_eq(lyc_eval_mode_parse("reference"), 3);
    ck_assert_int_eq(lyc_eval_mode_parse("nope"), 0);
    ck_assert_str_eq(lyc_eval_mode_name(1), "judge");
    ck_assert_str_eq(lyc_eval_mode_name(9), "unknown");
}
END_TEST

START_TEST(test_delegation_settings_and_prices)
{
    lyc_eval_config_t config;
    char err[512], yaml[1024];
    ck_assert_int_eq(s_load(s_models, &config, err, sizeof err), 0);
    ck_assert_int_eq(config.delegate_min_pairs, 30);
    ck_assert_double_eq_tol(config.delegate_min_agreement, 0.9, 1e-12);
    ck_assert_double_eq_tol(config.ensemble_min_agreement, 0.75, 1e-12);
    ck_assert_double_eq_tol(config.spot_check_initial, 0.5, 1e-12);
    ck_assert_double_eq_tol(config.spot_check_floor, 0.05, 1e-12);
    ck_assert_str_eq(config.stats_scope, "shared");
    ck_assert_int_eq(config.judges_refresh_ms, 5000);
    ck_assert_uint_eq(config.n_models, 2);
    ck_assert_int_eq(lyc_eval_config_model(&config, "gpt-big")->role, 4);
    ck_assert_ptr_null(lyc_eval_config_model(&config, "nobody"));
    lyc_eval_config_free(&config);

    snprintf(yaml, sizeof yaml,
             "evaluator:\n  delegate_min_pairs: 50\n  stats_scope: acme\n"
             "models:\n  - {name: t, backend: replay, role: teacher, price_in: 1.5, "
             "price_out: 2}\n");
    ck_assert_int_eq(s_load(yaml, &config, err, sizeof err), 0);
    ck_assert_int_eq(config.delegate_min_pairs, 50);
    ck_assert_str_eq(config.stats_scope, "acme");
    const lyc_eval_model_t *t = lyc_eval_config_model(&config, "t");
    ck_assert_int_eq(t->role, 3);
    ck_assert_double_eq_tol(t->price_in, 1.5, 1e-12);
    ck_assert_double_eq_tol(t->price_out, 2.0, 1e-12);
    lyc_eval_config_free(&config);

    /* A floor above the initial rate is refused, naming both keys. */
    ck_assert_int_eq(s_load("evaluator:\n  spot_check_floor: 0.6\n", &config, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "evaluator.spot_check_floor"));
    ck_assert_ptr_nonnull(strstr(err, "evaluator.spot_check_initial"));
    lyc_eval_config_free(&config);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_defaults_and_judge_from_supervisor);
    tcase_add_test(tc, test_section_and_environment);
    tcase_add_test(tc, test_errors_name_the_key);
    tcase_add_test(tc, test_no_models_means_no_judge);
    tcase_add_test(tc, test_delegation_settings_and_prices);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
