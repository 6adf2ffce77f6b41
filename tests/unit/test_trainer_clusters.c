/*
 * test_trainer_clusters.c - online clustering of embedded questions: one
 * topic gathers in one cluster, another topic starts its own, and the
 * cluster is named by its most frequent words.
 */
#include "testkit.h"

#include "clusters.h"
#include "embed.h"

#include <string.h>

#define DIM 256

static long s_add(lyc_clusters_t *c, lyc_embedder_t *e, const char *id, const char *text,
                  size_t *size)
{
    float v[DIM];
    ck_assert_int_eq(lyc_embedder_embed(e, text, strlen(text), v), 0);
    return lyc_clusters_add(c, v, "t", id, text, size);
}

START_TEST(test_topics_gather)
{
    lyc_embedder_t *e = lyc_embedder_new(DIM);
    lyc_clusters_t *c = lyc_clusters_new(DIM, 0.3, 10);
    size_t size;
    long v1 = s_add(c, e, "1", "How tall is the volcano Etna?", &size);
    long v2 = s_add(c, e, "2", "How tall is the volcano Fuji?", &size);
    long v3 = s_add(c, e, "3", "When did the volcano Vesuvius erupt?", &size);
    ck_assert_int_eq(v1, v2);
    ck_assert_int_eq(v1, v3);
    ck_assert_uint_eq(size, 3);
    long p = s_add(c, e, "4", "Sort a python list of integers in reverse order", &size);
    ck_assert_int_ne(p, v1);
    ck_assert_uint_eq(size, 1);
    /* The same record again is not a second member. */
    s_add(c, e, "2", "How tall is the volcano Fuji?", &size);
    ck_assert_uint_eq(size, 3);
    char words[64];
    lyc_clusters_top_words(c, v1, 2, words, sizeof words);
    ck_assert_msg(strncmp(words, "volcano-", 8) == 0, "top words %s", words);
    const lyc_cluster_member_t *members;
    ck_assert_uint_eq(lyc_clusters_members(c, v1, &members), 3);
    ck_assert_str_eq(members[2].id, "3");
    lyc_clusters_remove(c, v1);
    ck_assert_uint_eq(lyc_clusters_count(c), 1);
    lyc_clusters_destroy(&c);
    lyc_embedder_destroy(&e);
}
END_TEST

START_TEST(test_bounded)
{
    lyc_embedder_t *e = lyc_embedder_new(DIM);
    lyc_clusters_t *c = lyc_clusters_new(DIM, 0.99, 2);
    size_t size;
    s_add(c, e, "1", "alpha beta gamma", &size);
    s_add(c, e, "2", "alpha beta gamma", &size);
    s_add(c, e, "3", "delta epsilon", &size);
    s_add(c, e, "4", "zeta theta iota", &size); /* forgets the smallest */
    ck_assert_uint_eq(lyc_clusters_count(c), 2);
    lyc_clusters_destroy(&c);
    lyc_embedder_destroy(&e);
}
END_TEST

START_TEST(test_a_domain_attracts_its_topic)
{
    lyc_embedder_t *e = lyc_embedder_new(DIM);
    lyc_clusters_t *c = lyc_clusters_new(DIM, 0.3, 1);
    size_t size;
    long v = s_add(c, e, "1", "How tall is the volcano Etna?", &size);
    ck_assert_int_eq(lyc_clusters_label(c, v, "auto-1-volcano"), 0);
    ck_assert_str_eq(lyc_clusters_domain(c, v), "auto-1-volcano");
    const lyc_cluster_member_t *members;
    ck_assert_uint_eq(lyc_clusters_members(c, v, &members), 0);
    ck_assert_int_eq(s_add(c, e, "2", "How tall is the volcano Fuji?", &size), v);
    /* Full, but a labelled cluster is never the one forgotten. */
    long p = s_add(c, e, "3", "Sort a python list of integers in reverse order", &size);
    ck_assert_int_ne(p, v);
    ck_assert_uint_eq(lyc_clusters_count(c), 2);
    /* A domain remembered from an earlier run. */
    float centroid[DIM];
    memcpy(centroid, lyc_clusters_centroid(c, v), sizeof centroid);
    lyc_clusters_t *again = lyc_clusters_new(DIM, 0.3, 10);
    long d = lyc_clusters_add_domain(again, centroid, "auto-1-volcano");
    ck_assert_int_eq(s_add(again, e, "4", "How tall is the volcano Hekla?", &size), d);
    ck_assert_str_eq(lyc_clusters_domain(again, d), "auto-1-volcano");
    lyc_clusters_destroy(&again);
    lyc_clusters_destroy(&c);
    lyc_embedder_destroy(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_clusters");
    TCase *tc = tcase_create("clusters");
    tcase_add_test(tc, test_topics_gather);
    tcase_add_test(tc, test_bounded);
    tcase_add_test(tc, test_a_domain_attracts_its_topic);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
