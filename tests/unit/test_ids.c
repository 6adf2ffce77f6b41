/*
 * test_ids.c - ids are well-formed and do not repeat.
 */
#include "testkit.h"

#include "ids.h"

#include <string.h>

START_TEST(test_ids_are_hex_and_distinct)
{
    char a[LYC_ID_LEN], b[LYC_ID_LEN];
    lyc_id_new(a);
    lyc_id_new(b);
    ck_assert(lyc_id_valid(a));
    ck_assert(lyc_id_valid(b));
    ck_assert_str_ne(a, b);
    ck_assert(!lyc_id_valid("xyz"));
    ck_assert(!lyc_id_valid(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("ids");
    tcase_add_test(tc, test_ids_are_hex_and_distinct);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
