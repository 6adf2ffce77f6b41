/*
 * test_embed.c - the built-in embedder: deterministic unit vectors that put
 * reworded questions close together and keep numbers and negations apart.
 */
#include "testkit.h"

#include "clock.h"
#include "embed.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 256

static lyc_embedder_t *s_embedder;

static void s_setup(void)
{
    s_embedder = lyc_embedder_new(0);
    ck_assert_ptr_nonnull(s_embedder);
}

static void s_teardown(void)
{
    lyc_embedder_destroy(&s_embedder);
    ck_assert_ptr_null(s_embedder);
}

static void s_embed(const char *text, float *out)
{
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, text, strlen(text), out), 0);
}

static float s_cos(const char *a, const char *b)
{
    float va[DIM], vb[DIM];
    s_embed(a, va);
    s_embed(b, vb);
    return lyc_vec_cosine(va, vb, DIM);
}

static double s_norm(const float *v, unsigned dim)
{
    double sum = 0;
    for (unsigned i = 0; i < dim; i++)
        sum += (double) v[i] * v[i];
    return sqrt(sum);
}

static int s_all_zero(const float *v, unsigned dim)
{
    for (unsigned i = 0; i < dim; i++) {
        if (v[i] != 0.0f)
            return 0;
    }
    return 1;
}

START_TEST(test_new_and_dim)
{
    ck_assert_uint_eq(lyc_embedder_dim(s_embedder), LYC_EMBED_DEFAULT_DIM);
    lyc_embedder_t *e = lyc_embedder_new(64);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(lyc_embedder_dim(e), 64);
    lyc_embedder_destroy(&e);
    ck_assert_ptr_null(e);
    lyc_embedder_destroy(&e);   /* NULL is fine */
    lyc_embedder_destroy(NULL); /* so is no pointer at all */
    ck_assert_ptr_null(lyc_embedder_new(LYC_EMBED_MAX_DIM + 1));
}
END_TEST

START_TEST(test_identical_text_identical_bits)
{
    const char *text = "How do I reset my password? Ça ne marche pas, 3 fois!";
    float a[DIM], b[DIM];
    s_embed(text, a);
    s_embed(text, b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);

    /* A second embedder of the same dimension agrees bit for bit too. */
    lyc_embedder_t *other = lyc_embedder_new(DIM);
    ck_assert_ptr_nonnull(other);
    ck_assert_int_eq(lyc_embedder_embed(other, text, strlen(text), b), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    lyc_embedder_destroy(&other);
}
END_TEST

START_TEST(test_unit_norm)
{
    const char *texts[] = {"x", "How do I reset my password?", "Привет, мир", "42",
                           "a b c d e f g h i j k l m n o p q r s t u v w x y z"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        float v[DIM];
        s_embed(texts[i], v);
        ck_assert_msg(fabs(1.0 - s_norm(v, DIM)) < 1e-5, "norm of '%s' is %f", texts[i],
                      s_norm(v, DIM));
    }
}
END_TEST

START_TEST(test_similar_beats_unrelated)
{
    const char *q = "How do I reset my password?";
    float similar = s_cos(q, "how can I reset my password");
    float unrelated = s_cos(q, "What is the capital of France?");
    printf("embed: similar %.3f, unrelated %.3f\n", similar, unrelated);
    ck_assert_float_gt(similar, 0.7f);
    ck_assert_float_lt(unrelated, 0.3f);
    ck_assert_float_gt(similar, unrelated + 0.4f);
}
END_TEST

START_TEST(test_case_insensitive)
{
    float a[DIM], b[DIM];
    s_embed("HOW Do I RESET my Password?", a);
    s_embed("how do i reset my password?", b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    /* Latin-1 and Cyrillic capitals fold as well. */
    s_embed("ÉCOLE ÜBER ПРИВЕТ ЁЖ", a);
    s_embed("école über привет ёж", b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
}
END_TEST

START_TEST(test_one_word_paraphrase_stays_close)
{
    float c = s_cos("How do I reset my password?", "How do I change my password?");
    ck_assert_float_gt(c, 0.6f);
    ck_assert_float_lt(c, 0.999f);
    c = s_cos("What is the capital of France?", "What is the capital of Germany?");
    ck_assert_float_gt(c, 0.6f);
    ck_assert_float_lt(c, 0.999f);
}
END_TEST

START_TEST(test_numbers_and_negations_keep_apart)
{
    float c = s_cos("Set the timeout to 3 seconds", "Set the timeout to 4 seconds");
    ck_assert_float_lt(c, 0.999f);
    ck_assert_float_gt(c, 0.5f);
    ck_assert_float_lt(s_cos("What is 2+2?", "What is 2+3?"), 0.999f);
    /* A number glued to a word is a word of its own: "gpt4" shares "gpt" with "gpt5". */
    ck_assert_float_lt(s_cos("use gpt4 please", "use gpt5 please"), 0.999f);
    ck_assert_float_lt(s_cos("the service is working", "the service is not working"), 0.9f);
    ck_assert_float_lt(s_cos("enable the cache", "disable the cache"), 0.9f);
    ck_assert_float_lt(s_cos("I do like it", "I don't like it"), 0.9f);
    /* The typographic apostrophe means the same as the ASCII one. */
    ck_assert_float_eq(s_cos("I don't like it", "I don\xe2\x80\x99t like it"), 1.0f);
}
END_TEST

START_TEST(test_empty_and_wordless_text)
{
    float v[DIM];
    memset(v, 0x7f, sizeof v);
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, "", 0, v), 0);
    ck_assert(s_all_zero(v, DIM));
    memset(v, 0x7f, sizeof v);
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, NULL, 0, v), 0);
    ck_assert(s_all_zero(v, DIM));
    s_embed("  ?! ... \n\t -- ", v);
    ck_assert(s_all_zero(v, DIM));
    ck_assert_float_eq(lyc_vec_cosine(v, v, DIM), 0.0f);
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, NULL, 3, v), -1);
    ck_assert_int_eq(lyc_embedder_embed(NULL, "abc", 3, v), -1);
}
END_TEST

START_TEST(test_utf8_and_odd_bytes)
{
    float a[DIM], b[DIM];
    /* Words stay whole: "naïve" is not "na" + "ve". */
    ck_assert_float_lt(s_cos("naïve café", "na ve caf"), 0.5f);
    /* A no-break space separates words like a space does. */
    s_embed("reset\xc2\xa0password", a);
    s_embed("reset password", b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    /* Truncated or invalid UTF-8 and embedded NULs are hashed, not trusted. */
    const char odd[] = "caf\xc3 \xff\xfe abc\0def \xe2\x80";
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, odd, sizeof odd - 1, a), 0);
    ck_assert(fabs(1.0 - s_norm(a, DIM)) < 1e-5);
    /* A 200-code-point word gets its unigram but no n-grams, and still works. */
    char word[401];
    for (int i = 0; i < 200; i++)
        memcpy(word + 2 * i, "é", 2);
    word[400] = '\0';
    s_embed(word, a);
    ck_assert(fabs(1.0 - s_norm(a, DIM)) < 1e-5);
}
END_TEST

START_TEST(test_long_text)
{
    size_t len = 1 << 20;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    unsigned seed = 12345;
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 32;
        text[i] = r < 26 ? (char) ('a' + r) : r < 30 ? ' ' : r == 30 ? '.' : '7';
    }
    float v[DIM];
    int64_t t0 = lyc_mono_us();
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, text, len, v), 0);
    printf("embed: 1 MiB of text in %.1f ms\n", (double) (lyc_mono_us() - t0) / 1000.0);
    ck_assert(fabs(1.0 - s_norm(v, DIM)) < 1e-5);
    /* One 1 MiB word with no break at all. */
    memset(text, 'q', len);
    ck_assert_int_eq(lyc_embedder_embed(s_embedder, text, len, v), 0);
    ck_assert(fabs(1.0 - s_norm(v, DIM)) < 1e-5);
    free(text);
}
END_TEST

#define THREADS 4
static const char *s_thread_text = "Concurrent embedding must not share scratch state, 17 times.";

static void *s_thread_embed(void *arg)
{
    float *ref = arg;
    for (int i = 0; i < 2000; i++) {
        float v[DIM];
        if (lyc_embedder_embed(s_embedder, s_thread_text, strlen(s_thread_text), v) != 0 ||
            memcmp(v, ref, sizeof v) != 0)
            return (void *) 1;
    }
    return NULL;
}

START_TEST(test_concurrent_embeds_agree)
{
    float ref[DIM];
    s_embed(s_thread_text, ref);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, s_thread_embed, ref), 0);
    for (int i = 0; i < THREADS; i++) {
        void *result = (void *) 1;
        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_ptr_null(result);
    }
}
END_TEST

START_TEST(test_vector_helpers)
{
    float a[3] = {3, 0, 4}, b[3] = {0, 0, 0}, c[3] = {-3, 0, -4};
    lyc_vec_normalize(a, 3);
    ck_assert_float_eq_tol(a[0], 0.6f, 1e-6f);
    ck_assert_float_eq_tol(a[2], 0.8f, 1e-6f);
    lyc_vec_normalize(b, 3);
    ck_assert(s_all_zero(b, 3));
    ck_assert_float_eq(lyc_vec_cosine(a, b, 3), 0.0f);
    ck_assert_float_eq_tol(lyc_vec_cosine(a, c, 3), -1.0f, 1e-6f);
    ck_assert_float_eq_tol(lyc_vec_cosine(a, a, 3), 1.0f, 1e-6f);
}
END_TEST

START_TEST(test_speed)
{
    const char *text = "I have been trying to configure the reverse proxy in front of our "
                       "service for two days now, but every request after the 3rd one "
                       "times out with a 504 error. What settings should I check first?";
    size_t len = strlen(text);
    float v[DIM];
    int n = 20000;
    int64_t t0 = lyc_mono_us();
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(lyc_embedder_embed(s_embedder, text, len, v), 0);
    double secs = (double) (lyc_mono_us() - t0) / 1e6;
    printf("embed: %zu-byte text, %.0f embeds/s (%.1f us each), one thread\n", len, n / secs,
           secs * 1e6 / n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("embed");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_new_and_dim);
    tcase_add_test(tc, test_identical_text_identical_bits);
    tcase_add_test(tc, test_unit_norm);
    tcase_add_test(tc, test_similar_beats_unrelated);
    tcase_add_test(tc, test_case_insensitive);
    tcase_add_test(tc, test_one_word_paraphrase_stays_close);
    tcase_add_test(tc, test_numbers_and_negations_keep_apart);
    tcase_add_test(tc, test_empty_and_wordless_text);
    tcase_add_test(tc, test_utf8_and_odd_bytes);
    tcase_add_test(tc, test_long_text);
    tcase_add_test(tc, test_concurrent_embeds_agree);
    tcase_add_test(tc, test_vector_helpers);
    tcase_add_test(tc, test_speed);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
