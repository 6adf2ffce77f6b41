/*
 * test_cli_demo_data.c - the demo data set: deterministic for a seed, every
 * line valid JSON in the replay worker's format, each model's accuracy per
 * domain exactly as designed, right and wrong answers told apart; and the
 * demo workload built on it.
 */
#include "testkit.h"

#include "demo_data.h"
#include "demo_workload.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_COUNT 240
#define S_SEED  42

/* 1 when two data sets render to the same lines. */
static int s_same_lines(const lyc_demo_data_t *a, const lyc_demo_data_t *b)
{
    if (lyc_demo_data_count(a) != lyc_demo_data_count(b))
        return 0;
    for (size_t i = 0; i < lyc_demo_data_count(a); i++)
        for (int v = 0; v < 2; v++) {
            char *la = lyc_demo_data_line(a, i, v), *lb = lyc_demo_data_line(b, i, v);
            int same = la && lb && strcmp(la, lb) == 0;
            free(la);
            free(lb);
            if (!same)
                return 0;
        }
    return 1;
}

START_TEST(test_same_seed_same_data)
{
    lyc_demo_data_t *a = lyc_demo_data_new(S_SEED, S_COUNT);
    lyc_demo_data_t *b = lyc_demo_data_new(S_SEED, S_COUNT);
    lyc_demo_data_t *c = lyc_demo_data_new(S_SEED + 1, S_COUNT);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(lyc_demo_data_count(a), S_COUNT);
    ck_assert(s_same_lines(a, b));
    ck_assert(!s_same_lines(a, c));
    lyc_demo_data_destroy(&a);
    lyc_demo_data_destroy(&b);
    lyc_demo_data_destroy(&c);
    ck_assert_ptr_null(a);
    lyc_demo_data_destroy(NULL);
}
END_TEST

/* Checks one answer object of a line. */
static void s_check_answer(const cJSON *answer)
{
    const cJSON *correct = cJSON_GetObjectItemCaseSensitive(answer, "correct");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(answer, "text");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(answer, "prompt_tokens");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(answer, "completion_tokens");
    ck_assert(cJSON_IsObject(answer));
    ck_assert(cJSON_IsBool(correct));
    ck_assert(cJSON_IsString(text) && *text->valuestring);
    ck_assert(cJSON_IsNumber(in) && in->valuedouble >= 1 &&
              floor(in->valuedouble) == in->valuedouble);
    ck_assert(cJSON_IsNumber(out) && out->valuedouble >= 1 &&
              floor(out->valuedouble) == out->valuedouble);
}

/* Checks one line against the replay format. */
static void s_check_line(const char *line)
{
    cJSON *root = cJSON_Parse(line);
    ck_assert_msg(cJSON_IsObject(root), "not a JSON object: %s", line);
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    const cJSON *domain = cJSON_GetObjectItemCaseSensitive(root, "domain");
    const cJSON *reference = cJSON_GetObjectItemCaseSensitive(root, "reference");
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(root, "answers");
    ck_assert(cJSON_IsString(prompt) && *prompt->valuestring);
    ck_assert(cJSON_IsString(domain) && lyc_demo_domain_index(domain->valuestring) >= 0);
    ck_assert(cJSON_IsString(reference) && *reference->valuestring);
    ck_assert(cJSON_IsObject(answers));
    ck_assert_int_eq(cJSON_GetArraySize(answers), LYC_DEMO_MODELS);
    for (int m = 0; m < LYC_DEMO_MODELS; m++)
        s_check_answer(cJSON_GetObjectItemCaseSensitive(answers, lyc_demo_models[m]));
    ck_assert_ptr_null(strchr(line, '\n'));
    cJSON_Delete(root);
}

START_TEST(test_every_line_is_valid_replay_jsonl)
{
    char path[] = "/tmp/lyceum-test-demo-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lyc_demo_data_t *data = lyc_demo_data_new(S_SEED, S_COUNT);
    char err[256];
    ck_assert_int_eq(lyc_demo_data_write(data, path, err, sizeof err), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    size_t lines = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        ck_assert(len > 0 && line[len - 1] == '\n');
        line[len - 1] = '\0';
        s_check_line(line);
        lines++;
    }
    fclose(f);
    unlink(path);
    ck_assert_uint_eq(lines, 2 * S_COUNT);
    lyc_demo_data_destroy(&data);
}
END_TEST

START_TEST(test_domain_accuracies_as_designed)
{
    lyc_demo_data_t *data = lyc_demo_data_new(S_SEED, S_COUNT);
    size_t asked[LYC_DEMO_DOMAINS] = {0}, right[LYC_DEMO_MODELS][LYC_DEMO_DOMAINS] = {{0}};
    for (size_t i = 0; i < lyc_demo_data_count(data); i++) {
        const lyc_demo_question_t *q = lyc_demo_data_get(data, i);
        asked[q->domain]++;
        for (int m = 0; m < LYC_DEMO_MODELS; m++)
            right[m][q->domain] += (size_t) q->answers[m].correct;
    }
    for (int d = 0; d < LYC_DEMO_DOMAINS; d++) {
        ck_assert_uint_eq(asked[d], S_COUNT / LYC_DEMO_DOMAINS);
        for (int m = 0; m < LYC_DEMO_MODELS; m++)
            ck_assert_uint_eq(right[m][d],
                              (size_t) llround(lyc_demo_accuracy(m, d) * (double) asked[d]));
    }
    /* The design: the student strong in arithmetic, weak in capitals; the supervisor best. */
    int arithmetic = lyc_demo_domain_index("arithmetic"),
        capitals = lyc_demo_domain_index("capitals");
    ck_assert(lyc_demo_accuracy(2, arithmetic) >= 0.9);
    ck_assert(lyc_demo_accuracy(2, capitals) <= 0.4);
    for (int d = 0; d < LYC_DEMO_DOMAINS; d++)
        for (int m = 1; m < LYC_DEMO_MODELS; m++)
            ck_assert(lyc_demo_accuracy(0, d) >= lyc_demo_accuracy(m, d));
    lyc_demo_data_destroy(&data);
}
END_TEST

START_TEST(test_right_and_wrong_answers_told_apart)
{
    lyc_demo_data_t *data = lyc_demo_data_new(7, 1000);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < lyc_demo_data_count(data); i++) {
        const lyc_demo_question_t *q = lyc_demo_data_get(data, i);
        for (int m = 0; m < LYC_DEMO_MODELS; m++)
            ck_assert_msg(lyc_demo_is_correct(q, q->answers[m].text) == q->answers[m].correct,
                          "%s: %s", q->prompt, q->answers[m].text);
        ck_assert(lyc_demo_is_correct(q, q->reference));
        ck_assert(!lyc_demo_is_correct(q, "[replay] teacher: simulated answer (correct)"));
    }
    lyc_demo_data_destroy(&data);
}
END_TEST

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

START_TEST(test_prompts_are_distinct_and_counts_bounded)
{
    size_t n = 20000;
    lyc_demo_data_t *data = lyc_demo_data_new(3, n);
    ck_assert_ptr_nonnull(data);
    const char **prompts = malloc(2 * n * sizeof *prompts);
    ck_assert_ptr_nonnull(prompts);
    for (size_t i = 0; i < n; i++) {
        prompts[2 * i] = lyc_demo_data_get(data, i)->prompt;
        prompts[2 * i + 1] = lyc_demo_data_get(data, i)->reworded;
    }
    qsort(prompts, 2 * n, sizeof *prompts, s_cmp_str);
    for (size_t i = 1; i < 2 * n; i++)
        ck_assert_str_ne(prompts[i - 1], prompts[i]);
    free(prompts);
    lyc_demo_data_destroy(&data);
    ck_assert_ptr_null(lyc_demo_data_new(1, 3));
    ck_assert_ptr_null(lyc_demo_data_new(1, 100001));
}
END_TEST

START_TEST(test_workload_repeats_a_share)
{
    size_t count = 0;
    lyc_demo_item_t *items = lyc_demo_workload(S_COUNT, 0.25, S_SEED, &count);
    ck_assert_ptr_nonnull(items);
    ck_assert_uint_eq(count, S_COUNT + 60);
    int *seen = calloc(S_COUNT, sizeof *seen);
    for (size_t k = 0; k < S_COUNT; k++) {
        ck_assert_uint_eq(items[k].question, k);
        ck_assert_int_eq(items[k].kind, LYC_DEMO_FIRST);
    }
    size_t exact = 0, reworded = 0;
    for (size_t k = S_COUNT; k < count; k++) {
        ck_assert_uint_lt(items[k].question, S_COUNT);
        ck_assert_int_eq(seen[items[k].question]++, 0);
        exact += items[k].kind == LYC_DEMO_EXACT && items[k].variant == 0;
        reworded += items[k].kind == LYC_DEMO_REWORDED && items[k].variant == 1;
    }
    ck_assert_uint_eq(exact, 30);
    ck_assert_uint_eq(reworded, 30);
    size_t again = 0;
    lyc_demo_item_t *same = lyc_demo_workload(S_COUNT, 0.25, S_SEED, &again);
    ck_assert_uint_eq(again, count);
    ck_assert_int_eq(memcmp(items, same, count * sizeof *items), 0);
    free(same);
    free(seen);
    free(items);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli_demo_data");
    TCase *tc = tcase_create("demo_data");
    tcase_add_test(tc, test_same_seed_same_data);
    tcase_add_test(tc, test_every_line_is_valid_replay_jsonl);
    tcase_add_test(tc, test_domain_accuracies_as_designed);
    tcase_add_test(tc, test_right_and_wrong_answers_told_apart);
    tcase_add_test(tc, test_prompts_are_distinct_and_counts_bounded);
    tcase_add_test(tc, test_workload_repeats_a_share);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
