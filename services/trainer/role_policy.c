/*
 * role_policy.c - promotion and demotion from confidence bounds.
 */
#include "role_policy.h"

#include "model_config.h"

#include "lyceum/v1/common.pb-c.h"

#include <stdio.h>
#include <string.h>

#define S_STUDENT    LYCEUM__V1__ROLE__ROLE_STUDENT
#define S_SUPERVISOR LYCEUM__V1__ROLE__ROLE_SUPERVISOR

static int s_can_promote(const lyc_role_policy_t *p, const lyc_role_decision_t *d, double agree_n,
                         int next, char *why, size_t cap)
{
    const lyc_role_step_t *step = &p->steps[next];
    if (d->n < (double) step->min_count || d->lower < step->promote)
        return 0;
    if (next == S_SUPERVISOR &&
        (agree_n < (double) step->min_count || d->agreement < step->min_agreement))
        return 0;
    snprintf(why, cap,
             "Wilson lower bound %.3f of the mean score %.3f over %.0f answers reached the %s "
             "threshold %.3f (needs n >= %ld)",
             d->lower, d->mean, d->n, lyc_role_name(next), step->promote, step->min_count);
    if (next == S_SUPERVISOR) {
        size_t len = strlen(why);
        snprintf(why + len, cap - len, " and agreement %.3f with the supervisor >= %.3f",
                 d->agreement, step->min_agreement);
    }
    return 1;
}

static int s_must_demote(const lyc_role_policy_t *p, const lyc_role_decision_t *d, double agree_n,
                         int current, char *why, size_t cap)
{
    const lyc_role_step_t *step = &p->steps[current];
    double floor = step->promote - p->hysteresis;
    if (d->upper < floor) {
        snprintf(why, cap,
                 "Wilson upper bound %.3f of the mean score %.3f over %.0f answers fell below the "
                 "%s threshold %.3f minus hysteresis %.3f",
                 d->upper, d->mean, d->n, lyc_role_name(current), step->promote, p->hysteresis);
        return 1;
    }
    if (current == S_SUPERVISOR && agree_n >= (double) step->min_count &&
        d->agreement < step->min_agreement - p->hysteresis) {
        snprintf(why, cap,
                 "agreement %.3f with the supervisor over %.0f paired answers fell below %.3f "
                 "minus hysteresis %.3f",
                 d->agreement, agree_n, step->min_agreement, p->hysteresis);
        return 1;
    }
    return 0;
}

int lyc_role_decide(const lyc_role_policy_t *policy, const lyc_model_stats_t *s, int current,
                    int configured, lyc_role_decision_t *out)
{
    char why[320] = "";
    memset(out, 0, sizeof *out);
    if (current < S_STUDENT || current > S_SUPERVISOR)
        current = S_STUDENT;
    out->role = current;
    out->n = s->n;
    out->mean = lyc_stats_mean(s);
    out->agreement = lyc_stats_agreement(s);
    lyc_stats_wilson(out->mean, s->n, policy->z, &out->lower, &out->upper);
    if (configured == S_SUPERVISOR)
        return 0; /* the configured supervisor stays supervisor */
    if (current < S_SUPERVISOR &&
        s_can_promote(policy, out, s->agree_n, current + 1, why, sizeof why)) {
        out->role = current + 1;
        snprintf(out->reason, sizeof out->reason, "promoted %s -> %s: %s", lyc_role_name(current),
                 lyc_role_name(out->role), why);
        return 1;
    }
    if (current > S_STUDENT && s_must_demote(policy, out, s->agree_n, current, why, sizeof why)) {
        out->role = current - 1;
        snprintf(out->reason, sizeof out->reason, "demoted %s -> %s: %s", lyc_role_name(current),
                 lyc_role_name(out->role), why);
        return 1;
    }
    return 0;
}
