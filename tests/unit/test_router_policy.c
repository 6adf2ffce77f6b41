/*
 * test_router_policy.c - the familiar-path policy: the cheapest model whose
 * lower confidence bound meets the target, never on too little evidence;
 * with paired evidence, the measured gap to the supervisor against the loss
 * accepted, which grows with what a cheaper model saves on the query.
 */
#include "testkit.h"

#include "decide.h"

#include <string.h>

static lyc_router_config_t s_config(void)
{
    lyc_router_config_t c;
    memset(&c, 0, sizeof c);
    c.min_evidence = 10;
    c.quality_target = 0.7;
    return c;
}

static lyc_model_info_t s_model(const char *name, const char *backend, double price)
{
    lyc_model_info_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.backend, sizeof m.backend, "%s", backend);
    m.price_in = m.price_out = price;
    m.replicas = 1;
    return m;
}

static lyc_model_stats_t s_stats(const char *model, double n, double mean, double cost_each)
{
    lyc_model_stats_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.model, sizeof s.model, "%s", model);
    s.n = n;
    s.sum = mean * n;
    s.cost = cost_each * n;
    return s;
}

START_TEST(test_cheapest_model_that_meets_the_target)
{
    lyc_router_config_t c = s_config();
    lyc_model_info_t models[] = {s_model("sup", "replay", 30), s_model("teach", "replay", 2),
                                 s_model("stud", "replay", 0.2)};
    lyc_model_stats_t stats[] = {s_stats("sup", 100, 0.95, 0.003),
                                 s_stats("teach", 100, 0.9, 0.0002),
                                 s_stats("stud", 100, 0.5, 0.00002)};
    lyc_decision_t d;
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 3, models, 3, NULL, &d));
    ck_assert_str_eq(d.chosen, "teach");
    ck_assert_double_eq(d.chosen_evidence, 100);
}
END_TEST

START_TEST(test_no_choice_on_too_little_evidence)
{
    lyc_router_config_t c = s_config();
    lyc_model_info_t models[] = {s_model("stud", "replay", 0.2)};
    lyc_model_stats_t stats[] = {s_stats("stud", 9, 1.0, 0)};
    lyc_decision_t d;
    memset(&d, 0, sizeof d);
    ck_assert(!lyc_decide_policy(&c, stats, 1, models, 1, NULL, &d));
}
END_TEST

START_TEST(test_best_bound_when_none_meets_target_and_memory_excluded)
{
    lyc_router_config_t c = s_config();
    lyc_model_info_t models[] = {s_model("a", "replay", 1), s_model("b", "replay", 2),
                                 s_model("memory", "memory", 0)};
    lyc_model_stats_t stats[] = {s_stats("a", 20, 0.5, 0.001), s_stats("b", 50, 0.6, 0.002),
                                 s_stats("memory", 500, 1.0, 0)};
    lyc_decision_t d;
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 3, models, 3, NULL, &d));
    ck_assert_str_eq(d.chosen, "b");
}
END_TEST

START_TEST(test_dead_models_are_skipped)
{
    lyc_router_config_t c = s_config();
    lyc_model_info_t models[] = {s_model("teach", "replay", 2)};
    models[0].replicas = 0;
    lyc_model_stats_t stats[] = {s_stats("teach", 100, 0.9, 0.0002)};
    lyc_decision_t d;
    memset(&d, 0, sizeof d);
    ck_assert(!lyc_decide_policy(&c, stats, 1, models, 1, NULL, &d));
}
END_TEST

/* GPT-4 and Mixtral at RouteLLM's prices, one completion token each. */
static void s_pair_models(lyc_model_info_t models[2], lyc_model_stats_t stats[2], double gap)
{
    models[0] = s_model("sup", "replay", 24.7);
    models[0].role = LYCEUM__V1__ROLE__ROLE_SUPERVISOR;
    models[1] = s_model("stud", "replay", 0.24);
    stats[0] = s_stats("sup", 200, 0.8, 0.0025);
    stats[1] = s_stats("stud", 200, 0.8 - gap, 0.00003);
    for (int i = 0; i < 2; i++) {
        stats[i].tok_n = 200;
        stats[i].tok_in = 200 * 100;
        stats[i].tok_out = 200;
    }
    /* 200 pairs, a fifth of them discordant: gap about 0.12 +- 0.03. */
    stats[1].pair_n = 200;
    stats[1].gap_sum = gap * 200;
    stats[1].gap_sumsq = 0.2 * 200;
}

START_TEST(test_paired_gap_against_quality_gap)
{
    lyc_router_config_t c = s_config();
    c.gap_z_accept = 0.5;
    c.gap_z_reject = 2.0;
    c.explore_max_pairs = 1000;
    lyc_model_info_t models[2];
    lyc_model_stats_t stats[2];
    lyc_decision_t d;
    s_pair_models(models, stats, 0.12);

    c.quality_gap = 0.2; /* 0.12 + 0.5 se is below: the student takes the domain */
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 2, models, 2, NULL, &d));
    ck_assert_str_eq(d.chosen, "stud");
    ck_assert_double_eq(d.chosen_evidence, 200);

    c.quality_gap = 0.02; /* 0.12 - 2 se is above: ruled out, the supervisor answers */
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 2, models, 2, NULL, &d));
    ck_assert_str_eq(d.chosen, "sup");

    c.quality_gap = 0.12; /* on the line: keep exploring */
    memset(&d, 0, sizeof d);
    ck_assert(!lyc_decide_policy(&c, stats, 2, models, 2, NULL, &d));
}
END_TEST

START_TEST(test_long_queries_go_to_the_cheaper_model_sooner)
{
    lyc_router_config_t c = s_config();
    c.gap_z_accept = 0.5;
    c.gap_z_reject = 2.0;
    c.explore_max_pairs = 1000;
    c.quality_gap = 0;
    c.wrong_answer_usd = 0.025;
    lyc_model_info_t models[2];
    lyc_model_stats_t stats[2];
    lyc_decision_t d;
    s_pair_models(models, stats, 0.12);

    /* 50 prompt tokens: Mixtral saves about 0.0012 USD, worth a loss of 0.05 */
    lyc_decide_query_t short_q = {.prompt_tokens = 50, .default_completion = 256};
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 2, models, 2, &short_q, &d));
    ck_assert_str_eq(d.chosen, "sup");

    /* 500 prompt tokens: it saves about 0.012 USD, worth a loss of 0.49 */
    lyc_decide_query_t long_q = {.prompt_tokens = 500, .default_completion = 256};
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 2, models, 2, &long_q, &d));
    ck_assert_str_eq(d.chosen, "stud");

    /* Without a price on wrong answers, length changes nothing. */
    c.wrong_answer_usd = 0;
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 2, models, 2, &long_q, &d));
    ck_assert_str_eq(d.chosen, "sup");

    /* Completion tokens count too: unmeasured, the default is assumed. */
    c.wrong_answer_usd = 0.025;
    stats[0].tok_n = stats[1].tok_n = 0;
    memset(&d, 0, sizeof d);
    ck_assert(lyc_decide_policy(&c, stats, 2, models, 2, &short_q, &d));
    ck_assert_str_eq(d.chosen, "stud"); /* 256 completion tokens make it dear */
}
END_TEST

START_TEST(test_wilson_bounds)
{
    double lo, hi;
    lyc_stats_wilson(0.9, 100, 1.96, &lo, &hi);
    ck_assert(lo > 0.82 && lo < 0.84);
    ck_assert(hi > 0.94 && hi < 0.96);
    lyc_stats_wilson(1.0, 3, 1.96, &lo, &hi);
    ck_assert(lo < 0.5); /* three lucky answers prove little */
    lyc_stats_wilson(0.5, 0, 1.96, &lo, &hi);
    ck_assert(lo == 0 && hi == 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, test_cheapest_model_that_meets_the_target);
    tcase_add_test(tc, test_no_choice_on_too_little_evidence);
    tcase_add_test(tc, test_best_bound_when_none_meets_target_and_memory_excluded);
    tcase_add_test(tc, test_dead_models_are_skipped);
    tcase_add_test(tc, test_paired_gap_against_quality_gap);
    tcase_add_test(tc, test_long_queries_go_to_the_cheaper_model_sooner);
    tcase_add_test(tc, test_wilson_bounds);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
