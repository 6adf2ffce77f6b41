/*
 * test_trainer_grade.c - the gate's grader: normalised text and
 * multiple-choice letters.
 */
#include "testkit.h"

#include "grade.h"

START_TEST(test_text)
{
    ck_assert(lyc_grade_match("Paris.", "paris"));
    ck_assert(lyc_grade_match("  The answer is:  Paris ", "Paris"));
    ck_assert(lyc_grade_match("New-York", "new york"));
    ck_assert(!lyc_grade_match("Lyon", "Paris"));
    ck_assert(!lyc_grade_match("Paris, or maybe Lyon", "Paris"));
    ck_assert(!lyc_grade_match("", ""));
    ck_assert(!lyc_grade_match(NULL, "x"));
}
END_TEST

START_TEST(test_choices)
{
    ck_assert_int_eq(lyc_grade_choice("B"), 'B');
    ck_assert_int_eq(lyc_grade_choice("(c)"), 'C');
    ck_assert_int_eq(lyc_grade_choice("Paris"), 0);
    ck_assert(lyc_grade_match("B", "B"));
    ck_assert(lyc_grade_match("(B) Paris", "B"));
    ck_assert(lyc_grade_match("The answer is B.", "B"));
    ck_assert(lyc_grade_match("A) Paris", "A"));
    ck_assert(lyc_grade_match("I think the answer is a", "A"));
    ck_assert(!lyc_grade_match("It is a capital: C", "A"));
    ck_assert(!lyc_grade_match("C", "B"));
    ck_assert(!lyc_grade_match("no idea", "B"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_grade");
    TCase *tc = tcase_create("grade");
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_choices);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
