/*
 * test_trainer_role_policy.c - the role state machine as a pure function:
 * one step at a time, never on too little evidence, hysteresis between
 * promotion and demotion, and the configured supervisor stays supervisor.
 */
#include "testkit.h"

#include "role_policy.h"

#include "lyceum/v1/common.pb-c.h"

#include <string.h>

#define STUDENT    LYCEUM__V1__ROLE__ROLE_STUDENT
#define TA         LYCEUM__V1__ROLE__ROLE_TA
#define TEACHER    LYCEUM__V1__ROLE__ROLE_TEACHER
#define SUPERVISOR LYCEUM__V1__ROLE__ROLE_SUPERVISOR

static lyc_role_step_t s_steps[5];

static lyc_role_policy_t s_policy(void)
{
    memset(s_steps, 0, sizeof s_steps);
    s_steps[TA] = (lyc_role_step_t){20, 0.6, 0};
    s_steps[TEACHER] = (lyc_role_step_t){50, 0.75, 0};
    s_steps[SUPERVISOR] = (lyc_role_step_t){200, 0.85, 0.9};
    return (lyc_role_policy_t){.z = 1.96, .hysteresis = 0.05, .steps = s_steps};
}

static lyc_model_stats_t s_stats(double n, double mean)
{
    lyc_model_stats_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.model, sizeof s.model, "m");
    s.n = n;
    s.sum = n * mean;
    return s;
}

START_TEST(test_promotion_needs_the_count_and_the_bound)
{
    lyc_role_policy_t p = s_policy();
    lyc_role_decision_t d;
    lyc_model_stats_t s = s_stats(19, 1.0);
    ck_assert_int_eq(lyc_role_decide(&p, &s, STUDENT, STUDENT, &d), 0);
    ck_assert_int_eq(d.role, STUDENT);
    s = s_stats(20, 1.0);
    ck_assert_int_eq(lyc_role_decide(&p, &s, STUDENT, STUDENT, &d), 1);
    ck_assert_int_eq(d.role, TA);
    ck_assert_ptr_nonnull(strstr(d.reason, "lower bound"));
    ck_assert_ptr_nonnull(strstr(d.reason, "student -> ta"));
    /* Enough answers, but a mean whose lower bound is below 0.6. */
    s = s_stats(40, 0.62);
    ck_assert_int_eq(lyc_role_decide(&p, &s, STUDENT, STUDENT, &d), 0);
}
END_TEST

START_TEST(test_a_few_perfect_scores_prove_nothing)
{
    lyc_role_policy_t p = s_policy();
    s_steps[TA].min_count = 1; /* even with no count floor, the bound holds it back */
    lyc_role_decision_t d;
    lyc_model_stats_t s = s_stats(3, 1.0);
    ck_assert_int_eq(lyc_role_decide(&p, &s, STUDENT, STUDENT, &d), 0);
    ck_assert(d.lower < 0.6);
}
END_TEST

START_TEST(test_one_step_at_a_time)
{
    lyc_role_policy_t p = s_policy();
    lyc_role_decision_t d;
    lyc_model_stats_t s = s_stats(1000, 1.0);
    s.agree_n = s.agree = 1000;
    ck_assert_int_eq(lyc_role_decide(&p, &s, STUDENT, STUDENT, &d), 1);
    ck_assert_int_eq(d.role, TA);
    ck_assert_int_eq(lyc_role_decide(&p, &s, TA, STUDENT, &d), 1);
    ck_assert_int_eq(d.role, TEACHER);
    ck_assert_int_eq(lyc_role_decide(&p, &s, TEACHER, STUDENT, &d), 1);
    ck_assert_int_eq(d.role, SUPERVISOR);
    ck_assert_ptr_nonnull(strstr(d.reason, "agreement"));
    ck_assert_int_eq(lyc_role_decide(&p, &s, SUPERVISOR, STUDENT, &d), 0);
}
END_TEST

START_TEST(test_supervisor_needs_agreement)
{
    lyc_role_policy_t p = s_policy();
    lyc_role_decision_t d;
    lyc_model_stats_t s = s_stats(1000, 0.97);
    s.agree_n = 1000;
    s.agree = 850;
    ck_assert_int_eq(lyc_role_decide(&p, &s, TEACHER, TEACHER, &d), 0);
    s.agree_n = 100; /* agreement fine but too few paired answers */
    s.agree = 100;
    ck_assert_int_eq(lyc_role_decide(&p, &s, TEACHER, TEACHER, &d), 0);
    /* A promoted supervisor whose agreement falls is demoted. */
    s.agree_n = 1000;
    s.agree = 700;
    ck_assert_int_eq(lyc_role_decide(&p, &s, SUPERVISOR, TEACHER, &d), 1);
    ck_assert_int_eq(d.role, TEACHER);
}
END_TEST

START_TEST(test_hysteresis_keeps_the_role_near_the_threshold)
{
    lyc_role_policy_t p = s_policy();
    lyc_role_decision_t d;
    /* A TA whose mean sits just under the TA threshold: the upper bound is
     * still above 0.6 - 0.05, so it stays. */
    for (double mean = 0.50; mean <= 0.70; mean += 0.01) {
        lyc_model_stats_t s = s_stats(2000, mean);
        int changed = lyc_role_decide(&p, &s, TA, STUDENT, &d);
        double lo, hi;
        lyc_stats_wilson(mean, 2000, 1.96, &lo, &hi);
        if (hi >= 0.55 && lo < 0.75)
            ck_assert_msg(!changed, "mean %.2f changed the role to %d", mean, d.role);
    }
    /* Below the band it goes down, one step. */
    lyc_model_stats_t s = s_stats(2000, 0.50);
    ck_assert_int_eq(lyc_role_decide(&p, &s, TA, STUDENT, &d), 1);
    ck_assert_int_eq(d.role, STUDENT);
    ck_assert_ptr_nonnull(strstr(d.reason, "upper bound"));
    ck_assert_ptr_nonnull(strstr(d.reason, "hysteresis"));
}
END_TEST

START_TEST(test_demotion_needs_evidence_too)
{
    lyc_role_policy_t p = s_policy();
    lyc_role_decision_t d;
    lyc_model_stats_t s = s_stats(1, 0.0); /* one bad answer of a configured teacher */
    ck_assert_int_eq(lyc_role_decide(&p, &s, TEACHER, TEACHER, &d), 0);
    s = s_stats(60, 0.3);
    ck_assert_int_eq(lyc_role_decide(&p, &s, TEACHER, TEACHER, &d), 1);
    ck_assert_int_eq(d.role, TA);
    s = s_stats(0, 0);
    ck_assert_int_eq(lyc_role_decide(&p, &s, STUDENT, STUDENT, &d), 0);
}
END_TEST

START_TEST(test_configured_supervisor_stays)
{
    lyc_role_policy_t p = s_policy();
    lyc_role_decision_t d;
    lyc_model_stats_t s = s_stats(1000, 0.1);
    ck_assert_int_eq(lyc_role_decide(&p, &s, SUPERVISOR, SUPERVISOR, &d), 0);
    ck_assert_int_eq(d.role, SUPERVISOR);
    s = s_stats(1000, 1.0);
    s.agree_n = s.agree = 1000;
    ck_assert_int_eq(lyc_role_decide(&p, &s, SUPERVISOR, SUPERVISOR, &d), 0);
    /* An unknown current role counts as student. */
    ck_assert_int_eq(lyc_role_decide(&p, &s, 0, STUDENT, &d), 1);
    ck_assert_int_eq(d.role, TA);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_role_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, test_promotion_needs_the_count_and_the_bound);
    tcase_add_test(tc, test_a_few_perfect_scores_prove_nothing);
    tcase_add_test(tc, test_one_step_at_a_time);
    tcase_add_test(tc, test_supervisor_needs_agreement);
    tcase_add_test(tc, test_hysteresis_keeps_the_role_near_the_threshold);
    tcase_add_test(tc, test_demotion_needs_evidence_too);
    tcase_add_test(tc, test_configured_supervisor_stays);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
