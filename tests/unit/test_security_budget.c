/*
 * test_security_budget.c - budget and rate-limit arithmetic without Redis:
 * estimates, the limit rule, the counter keys of each window, accounts, and
 * the Retry-After of the sliding window.
 */
#include "testkit.h"

#include "budget.h"
#include "ratelimit.h"

#include <string.h>

START_TEST(test_estimate_uses_prices_and_tokens)
{
    ck_assert_uint_eq(lyc_budget_tokens(0), 0);
    ck_assert_uint_eq(lyc_budget_tokens(1), 1);
    ck_assert_uint_eq(lyc_budget_tokens(4), 1);
    ck_assert_uint_eq(lyc_budget_tokens(5), 2);
    /* 400 bytes = 100 prompt tokens at $10/M, 50 completion tokens at $30/M */
    ck_assert_double_eq_tol(lyc_budget_estimate(10, 30, 400, 50, 256), 0.0025, 1e-15);
    /* without max_tokens the default completion is assumed */
    ck_assert_double_eq_tol(lyc_budget_estimate(10, 30, 400, 0, 256), (1000 + 7680) / 1e6, 1e-15);
    ck_assert_double_eq(lyc_budget_estimate(0, 0, 4000, 0, 256), 0);
}
END_TEST

START_TEST(test_fits_rule)
{
    ck_assert(lyc_budget_fits(0, 0, 5, 0)); /* no limit */
    ck_assert(lyc_budget_fits(0.5, 0.2, 0.3, 1.0));
    ck_assert(!lyc_budget_fits(0.5, 0.2, 0.31, 1.0));
    ck_assert(!lyc_budget_fits(1.0, 0, 0.0001, 1.0)); /* reached: nothing more */
    ck_assert(!lyc_budget_fits(0.9, 0.1, 0.01, 1.0)); /* reservations count */
}
END_TEST

START_TEST(test_counter_keys_per_window)
{
    lyc_budget_account_t a;
    char keys[4][256];
    memset(&a, 0, sizeof a);
    snprintf(a.tenant, sizeof a.tenant, "acme");
    time_t t = 1767225599; /* 2025-12-31T23:59:59Z */
    lyc_budget_keys("lyc", &a, t, keys);
    ck_assert_str_eq(keys[0], "lyc:spend:{acme}:day:20251231");
    ck_assert_str_eq(keys[1], "lyc:spend:{acme}:month:202512");
    ck_assert_str_eq(keys[2], keys[0]); /* no key: the tenant's again */
    ck_assert_str_eq(keys[3], keys[1]);
    snprintf(a.key_id, sizeof a.key_id, "ab12cd34");
    lyc_budget_keys("lyc", &a, t + 1, keys);
    ck_assert_str_eq(keys[0], "lyc:spend:{acme}:day:20260101");
    ck_assert_str_eq(keys[1], "lyc:spend:{acme}:month:202601");
    ck_assert_str_eq(keys[2], "lyc:spend:{acme}:key:ab12cd34:day:20260101");
    ck_assert_str_eq(keys[3], "lyc:spend:{acme}:key:ab12cd34:month:202601");
}
END_TEST

START_TEST(test_account_from_settings)
{
    lyc_tenant_t t;
    lyc_apikey_info_t k;
    lyc_budget_account_t a;
    lyc_tenant_defaults(&t);
    memset(&k, 0, sizeof k);
    lyc_budget_account(&a, "acme", &t, NULL);
    ck_assert(!lyc_budget_limited(&a));
    t.budget_month_usd = 20;
    lyc_budget_account(&a, "acme", &t, NULL);
    ck_assert(lyc_budget_limited(&a));
    ck_assert_double_eq(a.tenant_month_usd, 20);
    lyc_tenant_defaults(&t);
    snprintf(k.id, sizeof k.id, "ab12cd34");
    k.budget_day_usd = 1.5;
    lyc_budget_account(&a, "acme", &t, &k);
    ck_assert(lyc_budget_limited(&a));
    ck_assert_str_eq(a.key_id, "ab12cd34");
    ck_assert_double_eq(a.key_day_usd, 1.5);
}
END_TEST

START_TEST(test_retry_after_of_sliding_window)
{
    /* Half-way through a window, previous 60, current 0, limit 60: the
     * previous window weighs 30, so one more fits at once. */
    ck_assert_int_eq(lyc_ratelimit_retry_ms(60, 0, 1, 60, 30000), 0);
    /* Previous 60, current 30, limit 60, cost 1 at 30 s: 60*0.5 + 31 = 61,
     * one over; the previous window loses one request per second. */
    ck_assert_int_eq(lyc_ratelimit_retry_ms(60, 30, 1, 60, 30000), 1000);
    /* The current window alone is full: wait for the next one, until the
     * current one's weight falls enough (60 * (1 - 59/60) = 1 s into it). */
    ck_assert_int_eq(lyc_ratelimit_retry_ms(0, 60, 1, 60, 45000), 16000);
    /* A request bigger than the limit never fits: one window. */
    ck_assert_int_eq(lyc_ratelimit_retry_ms(0, 0, 100, 60, 0), LYC_RATELIMIT_WINDOW_MS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_budget");
    TCase *tc = tcase_create("budget");
    tcase_add_test(tc, test_estimate_uses_prices_and_tokens);
    tcase_add_test(tc, test_fits_rule);
    tcase_add_test(tc, test_counter_keys_per_window);
    tcase_add_test(tc, test_account_from_settings);
    tcase_add_test(tc, test_retry_after_of_sliding_window);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
