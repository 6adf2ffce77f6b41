/*
 * test_config.c - configuration: YAML layout, defaults, environment
 * overrides, and errors that name the key, the file and the line.
 */
#include "testkit.h"

#include "config.h"
#include "model_config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *listen;
    long port;
    double margin;
    int stream;
    char *mode;
} s_conf_t;

static const lyc_cfg_field_t s_table[] = {
    {"http.listen", LYC_CFG_STR, offsetof(s_conf_t, listen), "127.0.0.1", 0, 0, NULL, "address"},
    {"http.port", LYC_CFG_INT, offsetof(s_conf_t, port), "8080", 1, 65535, NULL, "port"},
    {"margin", LYC_CFG_DOUBLE, offsetof(s_conf_t, margin), "0.05", 0, 1, NULL, "margin"},
    {"stream", LYC_CFG_BOOL, offsetof(s_conf_t, stream), "false", 0, 0, NULL, "stream"},
    {"mode", LYC_CFG_STR, offsetof(s_conf_t, mode), "judge", 0, 0, "judge|agreement|reference",
     "mode"},
    {"models", LYC_CFG_SECTION, 0, NULL, 0, 0, NULL, "models"},
    {NULL},
};

/* Loads YAML text into a fresh s_conf_t; returns apply's result, error in err. */
static int s_load(const char *yaml, s_conf_t *conf, char *err, size_t cap)
{
    memset(conf, 0, sizeof *conf);
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "router.yaml", err, cap);
    if (!doc)
        return -2;
    int rc = lyc_config_apply(s_table, conf, doc, NULL, "LYCEUM_TESTSVC", err, cap);
    lyc_confdoc_destroy(&doc);
    return rc;
}

START_TEST(test_defaults_and_values)
{
    s_conf_t c;
    char err[512];
    ck_assert_int_eq(s_load("http:\n  port: 9000\nstream: yes\n", &c, err, sizeof err), 0);
    ck_assert_str_eq(c.listen, "127.0.0.1");
    ck_assert_int_eq(c.port, 9000);
    ck_assert_double_eq_tol(c.margin, 0.05, 1e-12);
    ck_assert_int_eq(c.stream, 1);
    ck_assert_str_eq(c.mode, "judge");
    lyc_config_free(s_table, &c);
    ck_assert_ptr_null(c.listen);
}
END_TEST

START_TEST(test_errors_name_key_file_and_line)
{
    s_conf_t c;
    char err[512];
    ck_assert_int_eq(s_load("margin: 0.1\nhttp:\n  port: abc\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "router.yaml:3"));
    ck_assert_ptr_nonnull(strstr(err, "'http.port'"));
    ck_assert_ptr_nonnull(strstr(err, "'abc'"));
    lyc_config_free(s_table, &c);

    ck_assert_int_eq(s_load("http:\n  prot: 80\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "router.yaml:2: unknown key 'http.prot'"));
    lyc_config_free(s_table, &c);

    ck_assert_int_eq(s_load("margin: 3\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'margin'"));
    lyc_config_free(s_table, &c);

    ck_assert_int_eq(s_load("mode: guess\n", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "judge|agreement|reference"));
    lyc_config_free(s_table, &c);

    ck_assert_int_eq(s_load("http: [1, 2\n", &c, err, sizeof err), -2);
    ck_assert_ptr_nonnull(strstr(err, "router.yaml:"));

    ck_assert_int_eq(s_load("a: 1\na: 2\n", &c, err, sizeof err), -2);
    ck_assert_ptr_nonnull(strstr(err, "given twice"));
}
END_TEST

START_TEST(test_environment_overrides)
{
    s_conf_t c;
    char err[512];
    setenv("LYCEUM_TESTSVC_HTTP_PORT", "7000", 1);
    setenv("LYCEUM_MARGIN", "0.2", 1);
    ck_assert_int_eq(s_load("http:\n  port: 9000\n", &c, err, sizeof err), 0);
    ck_assert_int_eq(c.port, 7000);
    ck_assert_double_eq_tol(c.margin, 0.2, 1e-12);
    lyc_config_free(s_table, &c);

    setenv("LYCEUM_TESTSVC_HTTP_PORT", "99999", 1);
    ck_assert_int_eq(s_load("", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "environment variable LYCEUM_TESTSVC_HTTP_PORT"));
    lyc_config_free(s_table, &c);
    unsetenv("LYCEUM_TESTSVC_HTTP_PORT");
    unsetenv("LYCEUM_MARGIN");
}
END_TEST

START_TEST(test_sections_and_lists)
{
    static const char *yaml = "models:\n"
                              "  - name: gpt-4\n"
                              "    price: 24.7\n"
                              "  - name: mixtral\n"
                              "    tags: [a, b]\n";
    char err[512];
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "c.yaml", err, sizeof err);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(lyc_confdoc_count(doc, "models"), 2);
    int line = 0;
    ck_assert_str_eq(lyc_confdoc_get(doc, "models.1.name", &line), "mixtral");
    ck_assert_int_eq(line, 4);
    ck_assert_str_eq(lyc_confdoc_get(doc, "models.1.tags.1", NULL), "b");
    ck_assert_int_eq(lyc_confdoc_count(doc, "models.1.tags"), 2);

    s_conf_t c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(lyc_config_apply(s_table, &c, doc, NULL, NULL, err, sizeof err), 0);
    lyc_config_free(s_table, &c);
    lyc_confdoc_destroy(&doc);
    ck_assert_ptr_null(doc);
}
END_TEST

/* Regression (found by tests/fuzz/fuzz_config): a mapping key such as
 * 2147483647 under a list's key was read as an item index: `index + 1`
 * overflowed, and the model loader allocated and looped over billions of
 * replay files. Only the walker's own indices count now. */
START_TEST(test_count_ignores_huge_mapping_keys)
{
    static const char *yaml = "models: {2147483647: {name: x}, 99999999999: {name: y},\n"
                              "         007: {name: z}, 2x: {name: w}, 1: {name: v}}\n"
                              "list: [a, b, c]\n";
    char err[512];
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "c.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_int_eq(lyc_confdoc_count(doc, "models"), 2);
    ck_assert_int_eq(lyc_confdoc_count(doc, "list"), 3);
    lyc_confdoc_destroy(&doc);
}
END_TEST

/* Regression (found by tests/fuzz/fuzz_config): a mapping inside
 * replay.files left a NULL hole in the file list, which ended the list
 * early, hid the files after it and leaked them. */
START_TEST(test_replay_files_skip_non_strings)
{
    static const char *yaml = "models:\n"
                              "  - name: m\n"
                              "    backend: replay\n"
                              "    replay:\n"
                              "      files: [{a: b}, one.csv, [x], two.csv]\n";
    char err[512];
    lyc_model_config_t model;
    lyc_confdoc_t *doc = lyc_confdoc_parse(yaml, strlen(yaml), "c.yaml", err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_int_eq(lyc_model_config_load(doc, 0, &model, err, sizeof err), 0);
    ck_assert_ptr_nonnull(model.replay_files);
    ck_assert_str_eq(model.replay_files[0], "one.csv");
    ck_assert_str_eq(model.replay_files[1], "two.csv");
    ck_assert_ptr_null(model.replay_files[2]);
    lyc_model_config_free(&model);
    lyc_confdoc_destroy(&doc);
}
END_TEST

START_TEST(test_missing_file)
{
    char err[512];
    ck_assert_ptr_null(lyc_confdoc_load("/nonexistent/lyceum.yaml", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/lyceum.yaml"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_defaults_and_values);
    tcase_add_test(tc, test_errors_name_key_file_and_line);
    tcase_add_test(tc, test_environment_overrides);
    tcase_add_test(tc, test_sections_and_lists);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_count_ignores_huge_mapping_keys);
    tcase_add_test(tc, test_replay_files_skip_non_strings);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
