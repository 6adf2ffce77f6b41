/*
 * test_worker_replay.c - recorded outcomes: RouteLLM CSV with tricky quoting
 * and its errors (file and line), JSONL and its errors, globs, the replay
 * backend's answers (recorded, placeholder, abstain, simulate), and, when
 * the shared dataset is there, all 57 MMLU files.
 */
#include "testkit.h"

#include "backend.h"
#include "clock.h"
#include "replay_data.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char s_path_buf[4][512];

/* Absolute path of a file under tests/data/worker (4 rotating buffers). */
static const char *s_data(const char *name)
{
    static int next;
    char relative[256];
    snprintf(relative, sizeof relative, "tests/data/worker/%s", name);
    char *buf = s_path_buf[next++ % 4];
    return lyc_test_source_path(buf, sizeof s_path_buf[0], relative);
}

/* Loads one file (or glob) for a column; err receives the reason on failure. */
static lyc_replay_data_t *s_load(const char *file, const char *format, const char *column,
                                 char *err, size_t errcap)
{
    char *files[] = {(char *) file, NULL};
    err[0] = '\0';
    return lyc_replay_data_load(files, format, column, err, errcap);
}

START_TEST(test_csv_tricky_quoting)
{
    char err[512];
    lyc_replay_data_t *data =
        s_load(s_data("mmlu_tricky.csv"), "routellm", "model-a", err, sizeof err);
    ck_assert_msg(data != NULL, "%s", err);
    ck_assert_uint_eq(lyc_replay_data_count(data), 5);
    ck_assert_uint_eq(lyc_replay_data_files(data), 1);

    /* Commas and newlines inside quotes; the look-up normalises whitespace. */
    const lyc_replay_record_t *r =
        lyc_replay_data_find(data, "What is 2, 3, or 4?\nA. 2\nB. 3\nAnswer:");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->correct, LYC_REPLAY_RIGHT);
    ck_assert_str_eq(r->domain, "tricky");
    ck_assert_str_eq(r->text, "B, obviously");
    ck_assert_ptr_nonnull(lyc_replay_data_find(data, "  What is 2, 3, or 4? A. 2   B. 3 Answer: "));

    /* Doubled quotes; an empty response column gives no text. */
    r = lyc_replay_data_find(data, "He said \"hello\", then left.\nWho spoke?");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->correct, LYC_REPLAY_WRONG);
    ck_assert_ptr_null(r->text);

    r = lyc_replay_data_find(data, "plain question without quotes");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->correct, LYC_REPLAY_RIGHT); /* "TRUE" */
    ck_assert_str_eq(r->text, "multi\nline \"answer\"");

    r = lyc_replay_data_find(data, "spaced out prompt");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->correct, LYC_REPLAY_RIGHT); /* "1" */
    ck_assert_ptr_nonnull(lyc_replay_data_find(data, "crlf row"));
    ck_assert_ptr_null(lyc_replay_data_find(data, "What is 2, 3, or 5?"));
    ck_assert_ptr_null(lyc_replay_data_find(data, NULL));
    lyc_replay_data_destroy(&data);
    ck_assert_ptr_null(data);

    /* Another column of the same file. */
    data = s_load(s_data("mmlu_tricky.csv"), "routellm", "gpt-4-1106-preview", err, sizeof err);
    ck_assert_msg(data != NULL, "%s", err);
    r = lyc_replay_data_find(data, "What is 2, 3, or 4? A. 2 B. 3 Answer:");
    ck_assert_int_eq(r->correct, LYC_REPLAY_WRONG);
    ck_assert_ptr_null(r->text); /* no gpt-4-1106-preview_response column */
    lyc_replay_data_destroy(&data);
}
END_TEST

START_TEST(test_csv_glob_and_duplicates)
{
    char err[512];
    lyc_replay_data_t *data = s_load(s_data("mmlu_*.csv"), "routellm", "model-a", err, sizeof err);
    ck_assert_msg(data != NULL, "%s", err);
    ck_assert_uint_eq(lyc_replay_data_files(data), 2);
    ck_assert_uint_eq(lyc_replay_data_count(data), 6);
    ck_assert_uint_eq(lyc_replay_data_duplicates(data), 1);
    /* Files load in glob order (mmlu_second before mmlu_tricky): the first record wins. */
    const lyc_replay_record_t *r =
        lyc_replay_data_find(data, "What is 2, 3, or 4? A. 2 B. 3 Answer:");
    ck_assert_str_eq(r->domain, "second");
    ck_assert_int_eq(r->correct, LYC_REPLAY_WRONG);
    lyc_replay_data_destroy(&data);
}
END_TEST

/* Asserts that loading fails with an error containing every given part. */
static void s_expect_error(const char *file, const char *format, const char *part1,
                           const char *part2)
{
    char err[512];
    lyc_replay_data_t *data = s_load(s_data(file), format, "model-a", err, sizeof err);
    ck_assert_msg(data == NULL, "%s loaded but should not", file);
    ck_assert_msg(strstr(err, part1) != NULL, "error '%s' lacks '%s'", err, part1);
    ck_assert_msg(!part2 || strstr(err, part2) != NULL, "error '%s' lacks '%s'", err, part2);
}

START_TEST(test_csv_errors_name_file_and_line)
{
    s_expect_error("bad_verdict.csv", "routellm", "bad_verdict.csv:5:", "True or False");
    s_expect_error("bad_fields.csv", "routellm", "bad_fields.csv:3:", "3 fields");
    s_expect_error("bad_quote.csv", "routellm", "bad_quote.csv:3:", "unterminated");
    s_expect_error("no_column.csv", "routellm", "no_column.csv:1:", "model-a");
    s_expect_error("does_not_exist.csv", "routellm", "does_not_exist.csv", "names no file");

    char err[256];
    char *none[] = {NULL};
    ck_assert_ptr_null(lyc_replay_data_load(none, "routellm", "m", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "replay.files"));
    ck_assert_ptr_null(s_load(s_data("answers.jsonl"), "xml", "model-a", err, sizeof err));
}
END_TEST

START_TEST(test_jsonl_loading)
{
    char err[512];
    lyc_replay_data_t *data = s_load(s_data("answers.jsonl"), "jsonl", "model-a", err, sizeof err);
    ck_assert_msg(data != NULL, "%s", err);
    ck_assert_uint_eq(lyc_replay_data_count(data), 3); /* one line has no model-a answer */

    const lyc_replay_record_t *r = lyc_replay_data_find(data, "What is the capital of France?");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->domain, "geography");
    ck_assert_str_eq(r->reference, "Paris");
    ck_assert_str_eq(r->text, "Paris.");
    ck_assert_int_eq(r->correct, LYC_REPLAY_RIGHT);
    ck_assert_uint_eq(r->prompt_tokens, 12);
    ck_assert_uint_eq(r->completion_tokens, 2);

    r = lyc_replay_data_find(data, "What is 2+2?");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->domain, "answers"); /* from the file name */
    ck_assert_int_eq(r->correct, LYC_REPLAY_WRONG);
    ck_assert_ptr_null(r->text);

    r = lyc_replay_data_find(data, "Unknown correctness");
    ck_assert_int_eq(r->correct, LYC_REPLAY_UNKNOWN);
    ck_assert_ptr_null(lyc_replay_data_find(data, "Only model-b knows this"));
    lyc_replay_data_destroy(&data);
}
END_TEST

START_TEST(test_jsonl_errors_name_file_and_line)
{
    s_expect_error("bad_json.jsonl", "jsonl", "bad_json.jsonl:3:", "not valid JSON");
    s_expect_error("bad_answer.jsonl", "jsonl", "bad_answer.jsonl:2:", "'correct'");
    s_expect_error("no_prompt.jsonl", "jsonl", "no_prompt.jsonl:1:", "'prompt'");
}
END_TEST

/* ---- the backend ------------------------------------------------------ */

typedef struct {
    lyc_confdoc_t *doc;
    lyc_settings_t settings;
    lyc_model_config_t model;
    lyc_backend_env_t *env;
    lyc_backend_t *backend;
} s_fixture_t;

/* A replay model from YAML; returns 0, or -1 with the reason in err. */
static int s_fixture_open(s_fixture_t *f, const char *yaml, char *err, size_t errcap)
{
    memset(f, 0, sizeof *f);
    lyc_confdoc_t *defaults = lyc_settings_load(NULL, NULL, &f->settings, err, errcap);
    ck_assert_ptr_nonnull(defaults);
    lyc_confdoc_destroy(&defaults);
    f->doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, errcap);
    ck_assert_msg(f->doc != NULL, "%s", err);
    ck_assert_int_eq(lyc_model_config_load(f->doc, 0, &f->model, err, errcap), 0);
    f->env = lyc_backend_env_new(&f->model, &f->settings, NULL, err, errcap);
    if (!f->env)
        return -1;
    f->backend = lyc_backend_new(f->env);
    ck_assert_ptr_nonnull(f->backend);
    return 0;
}

static void s_fixture_close(s_fixture_t *f)
{
    lyc_backend_destroy(&f->backend);
    lyc_backend_env_destroy(&f->env);
    lyc_model_config_free(&f->model);
    lyc_settings_free(&f->settings);
    lyc_confdoc_destroy(&f->doc);
}

/* Asks the backend one question (single user turn). */
static void s_ask(s_fixture_t *f, const char *question, lyc_answer_t *out)
{
    Lyceum__V1__ChatMessage sys = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    sys.role = "system";
    sys.content = "Answer with one letter.";
    user.role = "user";
    user.content = (char *) question;
    Lyceum__V1__ChatMessage *messages[] = {&sys, &user};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = "t1";
    task.messages = messages;
    task.n_messages = 2;
    task.deadline_ms = 1000;
    lyceum__v1__answer__init(out);
    ck_assert_int_eq(lyc_backend_answer(f->backend, &task, out), 0);
}

/* A replay model over the two test CSVs; `unknown` is abstain or simulate. */
static char *s_yaml(const char *unknown)
{
    static char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "models:\n"
             "  - name: model-a\n"
             "    backend: replay\n"
             "    replay:\n"
             "      files: ['%s', '%s']\n"
             "      unknown: %s\n"
             "      simulate_accuracy: 0.7\n",
             s_data("mmlu_tricky.csv"), s_data("mmlu_second.csv"), unknown);
    return yaml;
}

START_TEST(test_backend_recorded_answers)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(s_fixture_open(&f, s_yaml("abstain"), err, sizeof err) == 0, "%s", err);
    lyc_answer_t a;

    /* Recorded correctness without text: a placeholder, simulated, 1 token. */
    s_ask(&f, "He said \"hello\",   then left. Who spoke?", &a);
    ck_assert_ptr_null(a.error);
    ck_assert_str_eq(a.content, "[replay] model-a: recorded answer (wrong)");
    ck_assert(a.simulated);
    ck_assert_int_eq(a.correct, LYCEUM__V1__CORRECTNESS__CORRECTNESS_WRONG);
    ck_assert_uint_eq(a.usage->completion_tokens, 1);
    size_t prompt_bytes =
        strlen("Answer with one letter.") + strlen("He said \"hello\",   then left. Who spoke?");
    ck_assert_uint_eq(a.usage->prompt_tokens, (prompt_bytes + 3) / 4);
    lyc_answer_release(&a);

    /* Recorded text: the real answer, not simulated, tokens estimated. */
    s_ask(&f, "plain question without quotes", &a);
    ck_assert_str_eq(a.content, "multi\nline \"answer\"");
    ck_assert(!a.simulated);
    ck_assert_int_eq(a.correct, LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT);
    ck_assert_uint_eq(a.usage->completion_tokens, (strlen("multi\nline \"answer\"") + 3) / 4);
    lyc_answer_release(&a);

    /* Unknown query with unknown: abstain. */
    s_ask(&f, "never recorded", &a);
    ck_assert_ptr_nonnull(a.error);
    ck_assert_int_eq(a.error->code, LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED);
    ck_assert(!a.error->retryable);
    ck_assert_str_eq(a.content, "");
    lyc_answer_release(&a);
    s_fixture_close(&f);
}
END_TEST

START_TEST(test_backend_simulates_unknown_queries)
{
    char err[512];
    s_fixture_t f;
    ck_assert_msg(s_fixture_open(&f, s_yaml("simulate"), err, sizeof err) == 0, "%s", err);

    int right = 0;
    const int n = 2000;
    for (int i = 0; i < n; i++) {
        char question[64];
        snprintf(question, sizeof question, "unseen question number %d", i);
        lyc_answer_t a;
        s_ask(&f, question, &a);
        ck_assert_ptr_null(a.error);
        ck_assert(a.simulated);
        ck_assert_ptr_nonnull(strstr(a.content, "[replay] model-a: simulated answer"));
        right += a.correct == LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT;
        lyc_answer_t again;
        s_ask(&f, question, &again); /* the same query always draws the same */
        ck_assert_int_eq(again.correct, a.correct);
        lyc_answer_release(&again);
        lyc_answer_release(&a);
    }
    double accuracy = (double) right / n;
    ck_assert_msg(accuracy > 0.65 && accuracy < 0.75, "simulated accuracy %.3f", accuracy);
    s_fixture_close(&f);
}
END_TEST

START_TEST(test_backend_refuses_bad_files_at_start)
{
    char err[512];
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "models:\n  - name: model-a\n    backend: replay\n    replay:\n      files: ['%s']\n",
             s_data("bad_verdict.csv"));
    s_fixture_t f;
    ck_assert_int_ne(s_fixture_open(&f, yaml, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "model 'model-a'") && strstr(err, "bad_verdict.csv:5:"), "%s", err);
    s_fixture_close(&f);
}
END_TEST

/* ---- the shared MMLU dataset -------------------------------------------- */

START_TEST(test_full_mmlu_dataset)
{
    char dir[512];
    lyc_test_source_path(dir, sizeof dir, "../shared/datasets/routellm-mmlu");
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("note: %s is absent; skipping the full MMLU load\n", dir);
        return;
    }
    char pattern[600];
    snprintf(pattern, sizeof pattern, "%s/mmlu_*.csv", dir);
    char err[512];
    int64_t start = lyc_mono_us();
    lyc_replay_data_t *data = s_load(pattern, "routellm", "gpt-4-1106-preview", err, sizeof err);
    double ms = (double) (lyc_mono_us() - start) / 1000.0;
    ck_assert_msg(data != NULL, "%s", err);
    printf("MMLU: %zu files, %zu prompts (+%zu duplicates = %zu rows) loaded in %.1f ms\n",
           lyc_replay_data_files(data), lyc_replay_data_count(data),
           lyc_replay_data_duplicates(data),
           lyc_replay_data_count(data) + lyc_replay_data_duplicates(data), ms);
    ck_assert_uint_eq(lyc_replay_data_files(data), 57);
    ck_assert_uint_eq(lyc_replay_data_count(data) + lyc_replay_data_duplicates(data), 14042);
    ck_assert_msg(ms < 3000, "loading took %.1f ms", ms);

    const lyc_replay_record_t *r = lyc_replay_data_find(
        data, "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over "
              "Q.\nA. 0\nB. 4\nC. 2\nD. 6\nAnswer:");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->domain, "abstract_algebra");
    ck_assert_int_eq(r->correct, LYC_REPLAY_RIGHT);
    r = lyc_replay_data_find(data, "Let p = (1, 2, 5, 4)(2, 3) in S_5 . Find the index of <p> in "
                                   "S_5.\nA. 8\nB. 2\nC. 24\nD. 120\nAnswer:");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->correct, LYC_REPLAY_WRONG);
    lyc_replay_data_destroy(&data);

    data = s_load(pattern, "routellm", "mistralai/Mixtral-8x7B-Instruct-v0.1", err, sizeof err);
    ck_assert_msg(data != NULL, "%s", err);
    ck_assert_uint_eq(lyc_replay_data_count(data) + lyc_replay_data_duplicates(data), 14042);
    lyc_replay_data_destroy(&data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("worker_replay");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_csv_tricky_quoting);
    tcase_add_test(tc, test_csv_glob_and_duplicates);
    tcase_add_test(tc, test_csv_errors_name_file_and_line);
    tcase_add_test(tc, test_jsonl_loading);
    tcase_add_test(tc, test_jsonl_errors_name_file_and_line);
    tcase_add_test(tc, test_backend_recorded_answers);
    tcase_add_test(tc, test_backend_simulates_unknown_queries);
    tcase_add_test(tc, test_backend_refuses_bad_files_at_start);
    tcase_add_test(tc, test_full_mmlu_dataset);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
