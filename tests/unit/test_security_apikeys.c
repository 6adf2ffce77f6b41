/*
 * test_security_apikeys.c - the parts of API keys that need no Redis: the
 * key's shape, its hash and public id, and reading a bearer header.
 */
#include "testkit.h"

#include "apikeys.h"

#include <string.h>

START_TEST(test_generated_keys_are_well_formed_and_distinct)
{
    char a[LYC_APIKEY_LEN + 1], b[LYC_APIKEY_LEN + 1];
    lyc_apikey_generate(a);
    lyc_apikey_generate(b);
    ck_assert_uint_eq(strlen(a), LYC_APIKEY_LEN);
    ck_assert(strncmp(a, "lyc_", 4) == 0);
    ck_assert(lyc_apikey_well_formed(a));
    ck_assert(lyc_apikey_well_formed(b));
    ck_assert_str_ne(a, b);
    /* base64url only: no '+', '/' or padding */
    ck_assert_ptr_null(strpbrk(a + 4, "+/="));
}
END_TEST

START_TEST(test_malformed_keys_are_rejected)
{
    char k[LYC_APIKEY_LEN + 1];
    lyc_apikey_generate(k);
    ck_assert(!lyc_apikey_well_formed(NULL));
    ck_assert(!lyc_apikey_well_formed(""));
    ck_assert(!lyc_apikey_well_formed("lyc_short"));
    ck_assert(!lyc_apikey_well_formed("sk-unused-on-loopback"));
    char bad[LYC_APIKEY_LEN + 2];
    memcpy(bad, k, sizeof k);
    bad[10] = '+';
    ck_assert(!lyc_apikey_well_formed(bad));
    memcpy(bad, k, sizeof k);
    bad[0] = 'L';
    ck_assert(!lyc_apikey_well_formed(bad));
    memcpy(bad, k, sizeof k);
    strcat(bad, "A");
    ck_assert(!lyc_apikey_well_formed(bad));
}
END_TEST

START_TEST(test_hash_is_sha256_and_id_its_prefix)
{
    char hex[LYC_APIKEY_HASH_HEX + 1], id[LYC_APIKEY_ID_LEN + 1];
    /* SHA-256("abc"), FIPS 180-2 */
    lyc_apikey_hash("abc", hex, id);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(id, "ba7816bf");
    ck_assert(lyc_apikey_id_valid(id));
    ck_assert(!lyc_apikey_id_valid("BA7816BF"));
    ck_assert(!lyc_apikey_id_valid("ba7816b"));
    ck_assert(!lyc_apikey_id_valid(NULL));
    /* the same key always hashes the same; another key does not */
    char k[LYC_APIKEY_LEN + 1], h1[LYC_APIKEY_HASH_HEX + 1], h2[LYC_APIKEY_HASH_HEX + 1];
    lyc_apikey_generate(k);
    lyc_apikey_hash(k, h1, NULL);
    lyc_apikey_hash(k, h2, NULL);
    ck_assert_str_eq(h1, h2);
    ck_assert_ptr_null(strstr(h1, k + 4));
}
END_TEST

START_TEST(test_bearer_header)
{
    size_t len = 0;
    const char *k = lyc_apikey_from_bearer("Bearer lyc_abc", &len);
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(len, 7);
    ck_assert(strncmp(k, "lyc_abc", len) == 0);
    k = lyc_apikey_from_bearer("  bearer \t lyc_abc  ", &len);
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(len, 7);
    ck_assert_ptr_null(lyc_apikey_from_bearer(NULL, &len));
    ck_assert_ptr_null(lyc_apikey_from_bearer("", &len));
    ck_assert_ptr_null(lyc_apikey_from_bearer("Bearer", &len));
    ck_assert_ptr_null(lyc_apikey_from_bearer("Bearer   ", &len));
    ck_assert_ptr_null(lyc_apikey_from_bearer("Basic dXNlcjpwYXNz", &len));
    ck_assert_ptr_null(lyc_apikey_from_bearer("Bearerlyc_abc", &len));
    ck_assert_ptr_null(lyc_apikey_from_bearer("Bearer a b", &len));
}
END_TEST

START_TEST(test_tenant_defaults)
{
    lyc_tenant_t t;
    lyc_tenant_defaults(&t);
    ck_assert(t.share_stats);
    ck_assert(!t.share_exemplars);
    ck_assert(!t.on_budget_cheapest);
    ck_assert(t.budget_day_usd == 0 && t.budget_month_usd == 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security_apikeys");
    TCase *tc = tcase_create("apikeys");
    tcase_add_test(tc, test_generated_keys_are_well_formed_and_distinct);
    tcase_add_test(tc, test_malformed_keys_are_rejected);
    tcase_add_test(tc, test_hash_is_sha256_and_id_its_prefix);
    tcase_add_test(tc, test_bearer_header);
    tcase_add_test(tc, test_tenant_defaults);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
