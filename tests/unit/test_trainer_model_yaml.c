/*
 * test_trainer_model_yaml.c - model entries to YAML and back, the cluster
 * file a worker serves a new model from, and the command template.
 */
#include "testkit.h"

#include "cluster_file.h"
#include "dispatch.h"
#include "model_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_load_emit_round_trip)
{
    const char *text = "name: stu-v1\n"
                       "backend: replay\n"
                       "price_in: 0.5\n"
                       "replay:\n"
                       "  files: [\"a.jsonl\", \"/abs/b.jsonl\"]\n"
                       "  format: jsonl\n";
    lyc_model_config_t m, back;
    char err[512];
    ck_assert_msg(lyc_model_yaml_load(text, "model.yaml", NULL, "/out", &m, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(m.name, "stu-v1");
    ck_assert_str_eq(m.replay_files[0], "/out/a.jsonl");
    ck_assert_str_eq(m.replay_files[1], "/abs/b.jsonl");
    ck_assert_ptr_null(m.replay_files[2]);
    ck_assert_double_eq(m.price_in, 0.5);
    char *yaml = lyc_model_yaml_emit(&m, 0);
    ck_assert_ptr_nonnull(yaml);
    ck_assert_msg(lyc_model_yaml_load(yaml, "emitted", NULL, NULL, &back, err, sizeof err) == 0,
                  "%s\n%s", err, yaml);
    ck_assert_str_eq(back.name, "stu-v1");
    ck_assert_str_eq(back.replay_format, "jsonl");
    ck_assert_str_eq(back.replay_files[1], "/abs/b.jsonl");
    free(yaml);
    lyc_model_config_free(&back);
    lyc_model_config_free(&m);
}
END_TEST

START_TEST(test_default_name_and_errors)
{
    lyc_model_config_t m;
    char err[512];
    ck_assert_int_eq(
        lyc_model_yaml_load("backend: memory\n", "x", "given", NULL, &m, err, sizeof err), 0);
    ck_assert_str_eq(m.name, "given");
    lyc_model_config_free(&m);
    ck_assert_int_eq(lyc_model_yaml_load("backend: memory\n", "x", NULL, NULL, &m, err, sizeof err),
                     -1);
    lyc_model_config_free(&m);
    ck_assert_int_eq(
        lyc_model_yaml_load("name: a\nbackend: nope\n", "x", NULL, NULL, &m, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "backend"));
    lyc_model_config_free(&m);
    ck_assert_int_eq(lyc_model_yaml_load("name: a\nbackend: replay\nbogus: 1\n", "x", NULL, NULL,
                                         &m, err, sizeof err),
                     -1);
    lyc_model_config_free(&m);
}
END_TEST

START_TEST(test_cluster_file_loads_as_a_worker_would)
{
    char err[512], path[] = "/tmp/lyc-test-cluster-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lyc_settings_t settings, back;
    lyc_confdoc_t *doc = lyc_settings_load(NULL, NULL, &settings, err, sizeof err);
    ck_assert_ptr_nonnull(doc);
    lyc_confdoc_destroy(&doc);
    free(settings.redis_prefix);
    settings.redis_prefix = strdup("lyc-\"quoted\"");
    lyc_model_config_t m;
    ck_assert_int_eq(lyc_model_yaml_load("name: new-v1\nbackend: replay\nreplay: {files: "
                                         "[\"/x/r.jsonl\"], format: jsonl}\n",
                                         "m", NULL, NULL, &m, err, sizeof err),
                     0);
    ck_assert_int_eq(lyc_cluster_file_write(path, &settings, &m), 0);
    doc = lyc_settings_load(path, NULL, &back, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_str_eq(back.redis_prefix, "lyc-\"quoted\"");
    ck_assert_str_eq(back.topic_feedback, settings.topic_feedback);
    lyc_model_config_t found;
    ck_assert_int_eq(lyc_model_config_find(doc, "new-v1", &found, err, sizeof err), 0);
    ck_assert_str_eq(found.replay_files[0], "/x/r.jsonl");
    lyc_model_config_free(&found);
    lyc_confdoc_destroy(&doc);
    lyc_settings_free(&back);
    lyc_settings_free(&settings);
    lyc_model_config_free(&m);
    unlink(path);
}
END_TEST

START_TEST(test_command_template)
{
    lyc_dispatch_job_t job = {.job_id = "j1",
                              .data = "/d/train.jsonl",
                              .heldout = "/d/held out.jsonl",
                              .base_model = "it's",
                              .domain = "geo",
                              .output = "/o",
                              .name = "n"};
    char *cmd = lyc_dispatch_expand("train {data} {heldout} {base_model} {unknown} {output}", &job);
    ck_assert_str_eq(cmd, "train '/d/train.jsonl' '/d/held out.jsonl' 'it'\\''s' {unknown} '/o'");
    free(cmd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_model_yaml");
    TCase *tc = tcase_create("model_yaml");
    tcase_add_test(tc, test_load_emit_round_trip);
    tcase_add_test(tc, test_default_name_and_errors);
    tcase_add_test(tc, test_cluster_file_loads_as_a_worker_would);
    tcase_add_test(tc, test_command_template);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
