/*
 * test_evaluator_judge_parse.c - reading judge replies: clean JSON, fenced,
 * wrapped in prose, truncated, wrong types, out-of-range numbers, missing
 * labels, huge and random input (the parser must never crash or hang).
 */
#include "testkit.h"

#include "judge_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int s_parse(const char *text, lyc_judge_result_t *out)
{
    char err[160];
    return lyc_judge_parse(text, strlen(text), out, err, sizeof err);
}

START_TEST(test_well_formed)
{
    lyc_judge_result_t r;
    ck_assert_int_eq(
        s_parse("{\"scores\": [{\"label\": \"A\", \"score\": 0.9, \"confidence\": 0.8, "
                "\"reason\": \"correct\"}, {\"label\": \"B\", \"score\": 0.2, "
                "\"confidence\": 0.6, \"reason\": \"wrong year\"}], \"best\": \"A\"}",
                &r),
        0);
    ck_assert_uint_eq(r.n_scores, 2);
    const lyc_judge_score_t *a = lyc_judge_result_find(&r, "A");
    const lyc_judge_score_t *b = lyc_judge_result_find(&r, "B");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_double_eq_tol(a->score, 0.9, 1e-9);
    ck_assert_double_eq_tol(a->confidence, 0.8, 1e-9);
    ck_assert_str_eq(a->reason, "correct");
    ck_assert_double_eq_tol(b->score, 0.2, 1e-9);
    ck_assert_str_eq(r.best, "A");
    ck_assert_ptr_null(r.synthesis);
    ck_assert_ptr_null(lyc_judge_result_find(&r, "C"));
    lyc_judge_result_clear(&r);
    lyc_judge_result_clear(&r); /* twice is fine */
}
END_TEST

START_TEST(test_fenced_and_prose_wrapped)
{
    lyc_judge_result_t r;
    ck_assert_int_eq(
        s_parse("```json\n{\"scores\":[{\"label\":\"A\",\"score\":1}],\"best\":\"A\"}\n```", &r),
        0);
    ck_assert_double_eq(r.scores[0].score, 1.0);
    ck_assert_double_eq(r.scores[0].confidence, LYC_JUDGE_DEFAULT_CONFIDENCE);
    lyc_judge_result_clear(&r);

    /* Prose with braces of its own before the object, and after it. */
    ck_assert_int_eq(s_parse("Sure! Scores use {0..1}. Here {is} my {\"note\": 1} grading:\n"
                             "{\"scores\": [{\"label\": \"B\", \"score\": 0.5, \"reason\": \"has "
                             "a } brace and a \\\" quote\"}], \"best\": \"B\"}\nHope it helps {",
                             &r),
                     0);
    ck_assert_uint_eq(r.n_scores, 1);
    ck_assert_str_eq(r.scores[0].label, "B");
    ck_assert_str_eq(r.scores[0].reason, "has a } brace and a \" quote");
    lyc_judge_result_clear(&r);

    /* The object may sit inside another one. */
    ck_assert_int_eq(
        s_parse("{\"result\": {\"scores\": [{\"label\": \"A\", \"score\": 0.3}]}}", &r), 0);
    ck_assert_double_eq_tol(r.scores[0].score, 0.3, 1e-9);
    lyc_judge_result_clear(&r);
}
END_TEST

START_TEST(test_truncated_and_empty)
{
    lyc_judge_result_t r;
    char err[160];
    ck_assert_int_eq(s_parse("{\"scores\": [{\"label\": \"A\", \"score\": 0.9}, {\"label\": \"B\", "
                             "\"sco",
                             &r),
                     -1);
    ck_assert_uint_eq(r.n_scores, 0);
    ck_assert_int_eq(s_parse("", &r), -1);
    ck_assert_int_eq(s_parse("I cannot grade these answers.", &r), -1);
    ck_assert_int_eq(s_parse("{}", &r), -1);
    ck_assert_int_eq(s_parse("{\"scores\": []}", &r), -1);
    ck_assert_int_eq(lyc_judge_parse(NULL, 0, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "empty reply");
    /* The length is honoured: the text need not end in NUL. */
    const char *text = "{\"scores\":[{\"label\":\"A\",\"score\":0.5}]}garbage";
    ck_assert_int_eq(lyc_judge_parse(text, strlen(text) - 7, &r, err, sizeof err), 0);
    lyc_judge_result_clear(&r);
    ck_assert_int_eq(lyc_judge_parse(text, 20, &r, err, sizeof err), -1);
}
END_TEST

START_TEST(test_wrong_types)
{
    lyc_judge_result_t r;
    ck_assert_int_eq(s_parse("{\"scores\": {\"label\": \"A\", \"score\": 1}}", &r), -1);
    ck_assert_int_eq(s_parse("{\"scores\": \"A=1\"}", &r), -1);
    ck_assert_int_eq(s_parse("[{\"scores\": 1}]", &r), -1);
    /* Bad entries are skipped, good ones kept; numbers in strings are read. */
    ck_assert_int_eq(s_parse("{\"scores\": [1, \"A\", null, {\"label\": 7, \"score\": 1},"
                             "{\"label\": \"A\", \"score\": \"high\"},"
                             "{\"label\": \"B\", \"score\": true},"
                             "{\"label\": \"C\", \"score\": \" 0.75 \", \"confidence\": \"x\","
                             " \"reason\": 12},"
                             "{\"label\": \"D\", \"score\": 0.4, \"confidence\": [1]}],"
                             "\"best\": 3, \"synthesis\": {\"text\": \"no\"}}",
                             &r),
                     0);
    ck_assert_uint_eq(r.n_scores, 2);
    ck_assert_str_eq(r.scores[0].label, "C");
    ck_assert_double_eq_tol(r.scores[0].score, 0.75, 1e-9);
    ck_assert_double_eq(r.scores[0].confidence, LYC_JUDGE_DEFAULT_CONFIDENCE);
    ck_assert_str_eq(r.scores[0].reason, "");
    ck_assert_str_eq(r.scores[1].label, "D");
    ck_assert_str_eq(r.best, "");
    ck_assert_ptr_null(r.synthesis);
    lyc_judge_result_clear(&r);
}
END_TEST

START_TEST(test_out_of_range_is_clamped)
{
    lyc_judge_result_t r;
    ck_assert_int_eq(s_parse("{\"scores\": [{\"label\": \"A\", \"score\": 7, \"confidence\": -2},"
                             "{\"label\": \"B\", \"score\": -0.5, \"confidence\": 1e999},"
                             "{\"label\": \"C\", \"score\": 1.0000001}]}",
                             &r),
                     0);
    ck_assert_double_eq(lyc_judge_result_find(&r, "A")->score, 1.0);
    ck_assert_double_eq(lyc_judge_result_find(&r, "A")->confidence, 0.0);
    ck_assert_double_eq(lyc_judge_result_find(&r, "B")->score, 0.0);
    ck_assert_double_eq(lyc_judge_result_find(&r, "B")->confidence, 1.0);
    ck_assert_double_eq(lyc_judge_result_find(&r, "C")->score, 1.0);
    lyc_judge_result_clear(&r);
}
END_TEST

START_TEST(test_labels_missing_duplicated_and_loose)
{
    lyc_judge_result_t r;
    ck_assert_int_eq(s_parse("{\"scores\": [{\"label\": \" answer b \", \"score\": 0.1},"
                             "{\"label\": \"(c)\", \"score\": 0.2},"
                             "{\"label\": \"B\", \"score\": 0.9},"
                             "{\"score\": 0.5},"
                             "{\"label\": \"ABC\", \"score\": 0.5},"
                             "{\"label\": \"A1\", \"score\": 0.5},"
                             "{\"label\": \"aa\", \"score\": 0.6}], \"best\": \"Answer C\"}",
                             &r),
                     0);
    ck_assert_uint_eq(r.n_scores, 3);
    /* The first score of a label wins. */
    ck_assert_double_eq_tol(lyc_judge_result_find(&r, "B")->score, 0.1, 1e-9);
    ck_assert_ptr_nonnull(lyc_judge_result_find(&r, "C"));
    ck_assert_ptr_nonnull(lyc_judge_result_find(&r, "AA"));
    ck_assert_ptr_null(lyc_judge_result_find(&r, "A"));
    ck_assert_str_eq(r.best, "C");
    lyc_judge_result_clear(&r);
}
END_TEST

START_TEST(test_synthesis)
{
    lyc_judge_result_t r;
    ck_assert_int_eq(s_parse("{\"scores\": [{\"label\": \"A\", \"score\": 0.7}], \"best\": "
                             "\"Synthesis\", \"synthesis\": \"Paris, on the Seine.\"}",
                             &r),
                     0);
    ck_assert_str_eq(r.best, "synthesis");
    ck_assert_str_eq(r.synthesis, "Paris, on the Seine.");
    lyc_judge_result_clear(&r);
    ck_assert_ptr_null(r.synthesis);
    ck_assert_int_eq(s_parse("{\"scores\": [{\"label\": \"A\", \"score\": 0.7}], \"synthesis\": "
                             "\"  \\n \"}",
                             &r),
                     0);
    ck_assert_ptr_null(r.synthesis);
    lyc_judge_result_clear(&r);
}
END_TEST

START_TEST(test_labels)
{
    char label[LYC_JUDGE_LABEL_MAX];
    lyc_judge_label(0, label);
    ck_assert_str_eq(label, "A");
    lyc_judge_label(25, label);
    ck_assert_str_eq(label, "Z");
    lyc_judge_label(26, label);
    ck_assert_str_eq(label, "AA");
    lyc_judge_label(LYC_JUDGE_MAX_SCORES - 1, label);
    ck_assert_str_eq(label, "BL");
}
END_TEST

START_TEST(test_long_reason_is_cut_on_a_character)
{
    /* 300 two-byte characters: the cut must not split one. */
    char text[1024];
    size_t n = (size_t) snprintf(text, sizeof text,
                                 "{\"scores\":[{\"label\":\"A\",\"score\":1,"
                                 "\"reason\":\"");
    for (int i = 0; i < 300 && n + 8 < sizeof text; i++) {
        text[n++] = (char) 0xC3;
        text[n++] = (char) 0xA9;
    }
    snprintf(text + n, sizeof text - n, "\"}]}");
    lyc_judge_result_t r;
    ck_assert_int_eq(s_parse(text, &r), 0);
    size_t len = strlen(r.scores[0].reason);
    ck_assert_uint_lt(len, LYC_JUDGE_REASON_MAX);
    ck_assert_uint_eq(len % 2, 0);
    lyc_judge_result_clear(&r);
}
END_TEST

START_TEST(test_huge_input)
{
    /* Above the limit: refused unread. */
    size_t big = LYC_JUDGE_MAX_INPUT + 1;
    char *text = malloc(big);
    ck_assert_ptr_nonnull(text);
    memset(text, ' ', big);
    lyc_judge_result_t r;
    char err[160];
    ck_assert_int_eq(lyc_judge_parse(text, big, &r, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "limit"));

    /* At the limit, full of unbalanced braces: bounded work, then no object. */
    size_t len = LYC_JUDGE_MAX_INPUT;
    memset(text, '{', len);
    clock_t start = clock();
    ck_assert_int_eq(lyc_judge_parse(text, len, &r, err, sizeof err), -1);
    ck_assert_double_lt((double) (clock() - start) / CLOCKS_PER_SEC, 5.0);

    /* A valid object after a megabyte of prose is still found. */
    const char *json = "{\"scores\":[{\"label\":\"A\",\"score\":0.5}]}";
    memset(text, 'x', len);
    memcpy(text + len - strlen(json), json, strlen(json));
    ck_assert_int_eq(lyc_judge_parse(text, len, &r, err, sizeof err), 0);
    lyc_judge_result_clear(&r);

    /* A balanced object nested half a million deep does not exhaust the stack. */
    size_t depth = (len - 6) / 2;
    memcpy(text, "{\"a\":", 5);
    memset(text + 5, '[', depth);
    memset(text + 5 + depth, ']', depth);
    text[5 + 2 * depth] = '}';
    ck_assert_int_eq(lyc_judge_parse(text, 6 + 2 * depth, &r, err, sizeof err), -1);
    free(text);
}
END_TEST

START_TEST(test_random_bytes_never_crash)
{
    static const char alphabet[] = "{}[]\":,.0123456789eE-+ \\abcdefABlrstunx\n";
    const char *seeds[] = {"{\"scores\":[{\"label\":\"A\",\"score\":0.5,\"confidence\":1,"
                           "\"reason\":\"r\"}],\"best\":\"A\",\"synthesis\":\"s\"}"};
    char buf[256];
    unsigned state = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t len = strlen(seeds[0]);
        memcpy(buf, seeds[0], len);
        for (int k = 0; k < 4; k++) {
            state = state * 1103515245u + 12345u;
            size_t at = (state >> 8) % len;
            state = state * 1103515245u + 12345u;
            buf[at] = alphabet[(state >> 8) % (sizeof alphabet - 1)];
        }
        state = state * 1103515245u + 12345u;
        len -= (state >> 8) % 8;
        lyc_judge_result_t r;
        char err[160];
        if (lyc_judge_parse(buf, len, &r, err, sizeof err) == 0) {
            ck_assert_uint_gt(r.n_scores, 0);
            for (size_t i = 0; i < r.n_scores; i++) {
                ck_assert(r.scores[i].score >= 0.0 && r.scores[i].score <= 1.0);
                ck_assert(r.scores[i].confidence >= 0.0 && r.scores[i].confidence <= 1.0);
            }
        }
        lyc_judge_result_clear(&r);
    }
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("evaluator_judge_parse");
    TCase *tc = tcase_create("parse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_well_formed);
    tcase_add_test(tc, test_fenced_and_prose_wrapped);
    tcase_add_test(tc, test_truncated_and_empty);
    tcase_add_test(tc, test_wrong_types);
    tcase_add_test(tc, test_out_of_range_is_clamped);
    tcase_add_test(tc, test_labels_missing_duplicated_and_loose);
    tcase_add_test(tc, test_synthesis);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_long_reason_is_cut_on_a_character);
    tcase_add_test(tc, test_huge_input);
    tcase_add_test(tc, test_random_bytes_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lyc_test_run(s_suite());
}
