/*
 * role_policy.h - the role state machine: from a model's record in a domain,
 * its current role and the thresholds, the role it should have next.
 *
 * A pure function, so it is tested on its own. One step at a time:
 *
 *   promote  current -> current + 1 when n >= min_count of the next role and
 *            the Wilson LOWER bound of the mean score >= its threshold (and,
 *            for supervisor, the share agreeing with the supervisor >=
 *            min_agreement over at least min_count paired answers). Never
 *            past supervisor, and only models configured below supervisor.
 *   demote   current -> current - 1 when the Wilson UPPER bound falls below
 *            the current role's threshold minus the hysteresis (a promoted
 *            supervisor also when its agreement falls below min_agreement
 *            minus the hysteresis). Never below student; a configured
 *            supervisor is never demoted.
 *
 * Between the two bounds nothing changes: a model whose mean hovers around a
 * threshold keeps its role instead of flapping, and a few lucky (or
 * unlucky) answers move nothing, because the bounds are wide then.
 */
#ifndef LYCEUM_TRAINER_ROLE_POLICY_H
#define LYCEUM_TRAINER_ROLE_POLICY_H

#include "stats.h"
#include "trainer_config.h"

#include <stddef.h>

/* What the decision looked at, for the RoleChange event and logs. */
typedef struct {
    int role;     /* the role to have now (== current when nothing changes) */
    double n;     /* evidence count */
    double mean;  /* mean score */
    double lower; /* Wilson bounds of the mean */
    double upper;
    double agreement; /* share agreeing with the supervisor */
    char reason[384]; /* one sentence: which bound crossed which threshold */
} lyc_role_decision_t;

/* The thresholds the policy reads (a view of lyc_trainer_config_t). */
typedef struct {
    double z;
    double hysteresis;
    const lyc_role_step_t *steps; /* indexed by role, see trainer_config.h */
} lyc_role_policy_t;

/* Decides for one model: s its record, current its role now (student when
 * 0), configured the role its configuration gives it. Returns 1 when the
 * role changes (out->role differs from current), else 0. */
int lyc_role_decide(const lyc_role_policy_t *policy, const lyc_model_stats_t *s, int current,
                    int configured, lyc_role_decision_t *out);

#endif
