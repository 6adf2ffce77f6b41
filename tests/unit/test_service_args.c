/*
 * test_service_args.c - the command line every service shares.
 */
#include "testkit.h"

#include "service_args.h"

#include <stdio.h>
#include <stdlib.h>

static const lyc_cfg_field_t s_table[] = {{NULL}};

static const lyc_service_cli_t s_required = {
    .name = "test", .summary = "A test.\n", .table = s_table, .env_prefix = "LYCEUM_TEST"};
static const lyc_service_cli_t s_optional = {.name = "test",
                                             .summary = "A test.\n",
                                             .table = s_table,
                                             .env_prefix = "LYCEUM_TEST",
                                             .config_optional = 1};

/* Parses the words of argv (NULL-terminated) with cli; *path and *code out. */
static int s_parse(const lyc_service_cli_t *cli, char **argv, const char **path, int *code)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    *code = -1;
    return lyc_service_args(cli, argc, argv, path, code);
}

START_TEST(test_config_file_serves)
{
    const char *path = NULL;
    int code;
    char *a[] = {"lyceum-test", "-c", "cluster.yaml", NULL};
    ck_assert_int_eq(s_parse(&s_required, a, &path, &code), 1);
    ck_assert_str_eq(path, "cluster.yaml");
    char *b[] = {"lyceum-test", "--config", "other.yaml", NULL};
    ck_assert_int_eq(s_parse(&s_required, b, &path, &code), 1);
    ck_assert_str_eq(path, "other.yaml");
}
END_TEST

START_TEST(test_help_exits_zero)
{
    const char *path;
    int code;
    char *a[] = {"lyceum-test", "--help", NULL};
    ck_assert_int_eq(s_parse(&s_required, a, &path, &code), 0);
    ck_assert_int_eq(code, 0);
    char *b[] = {"lyceum-test", "--help-config", NULL};
    ck_assert_int_eq(s_parse(&s_required, b, &path, &code), 0);
    ck_assert_int_eq(code, 0);
}
END_TEST

START_TEST(test_bad_command_lines_exit_two)
{
    const char *path;
    int code;
    char *missing[] = {"lyceum-test", NULL};
    ck_assert_int_eq(s_parse(&s_required, missing, &path, &code), 0);
    ck_assert_int_eq(code, LYC_SERVICE_USAGE_EXIT);
    char *unknown[] = {"lyceum-test", "-c", "x.yaml", "--verbose", NULL};
    ck_assert_int_eq(s_parse(&s_required, unknown, &path, &code), 0);
    ck_assert_int_eq(code, LYC_SERVICE_USAGE_EXIT);
    char *extra[] = {"lyceum-test", "-c", "x.yaml", "stray", NULL};
    ck_assert_int_eq(s_parse(&s_required, extra, &path, &code), 0);
    ck_assert_int_eq(code, LYC_SERVICE_USAGE_EXIT);
    char *no_value[] = {"lyceum-test", "-c", NULL};
    ck_assert_int_eq(s_parse(&s_required, no_value, &path, &code), 0);
    ck_assert_int_eq(code, LYC_SERVICE_USAGE_EXIT);
}
END_TEST

START_TEST(test_optional_config_serves_without_one)
{
    const char *path = "unset";
    int code;
    char *a[] = {"lyceum-test", NULL};
    ck_assert_int_eq(s_parse(&s_optional, a, &path, &code), 1);
    ck_assert_ptr_null(path);
    char *b[] = {"lyceum-test", "stray", NULL};
    ck_assert_int_eq(s_parse(&s_optional, b, &path, &code), 0);
    ck_assert_int_eq(code, LYC_SERVICE_USAGE_EXIT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("service_args");
    TCase *tc = tcase_create("args");
    tcase_add_test(tc, test_config_file_serves);
    tcase_add_test(tc, test_help_exits_zero);
    tcase_add_test(tc, test_bad_command_lines_exit_two);
    tcase_add_test(tc, test_optional_config_serves_without_one);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
