/*
 * promote.c - role decisions of one domain, written and announced.
 */
#include "promote.h"

#include "clock.h"
#include "log.h"
#include "model_config.h"
#include "role_policy.h"
#include "roles.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static void s_event(const lyc_promote_ctx_t *ctx, const char *scope, const char *domain,
                    const char *model, int from, const lyc_role_decision_t *d)
{
    Lyceum__V1__RoleChange ev = LYCEUM__V1__ROLE_CHANGE__INIT;
    ev.model = (char *) model;
    ev.domain = (char *) domain;
    ev.from_role = (Lyceum__V1__Role) from;
    ev.to_role = (Lyceum__V1__Role) d->role;
    ev.reason = (char *) d->reason;
    ev.evidence_count = (uint64_t) (d->n + 0.5);
    ev.mean_score = d->mean;
    ev.lower_bound = d->lower;
    ev.upper_bound = d->upper;
    ev.at_us = lyc_wall_us();
    ev.tenant = strcmp(scope, "shared") == 0 ? "" : (char *) scope;
    if (lyc_event_sink_send(ctx->sink, ctx->settings->topic_roles, domain,
                            LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, NULL, &ev.base) != 0)
        LYC_WARN(NULL, "trainer: the ROLE_CHANGE event of %s in %s was not accepted", model,
                 domain);
}

/* Decides for one model; 1 when its role changed, 0 when not, -1 on failure. */
static int s_decide(const lyc_promote_ctx_t *ctx, const lyc_role_policy_t *policy,
                    const char *scope, const char *domain, const lyc_model_stats_t *s, int stored)
{
    const lyc_trainer_model_t *m = lyc_trainer_config_model(ctx->config, s->model);
    int configured = m && m->role ? m->role : LYCEUM__V1__ROLE__ROLE_STUDENT;
    int current = stored ? stored : configured;
    lyc_role_decision_t d;
    if (!lyc_role_decide(policy, s, current, configured, &d))
        return 0;
    int rc = lyc_roles_change(ctx->redis, ctx->settings->redis_prefix, scope, domain, s->model,
                              stored, d.role);
    if (rc <= 0)
        return rc; /* another trainer changed it first, or Redis failed */
    LYC_INFO(NULL, "trainer: %s in %s%s%s: %s", s->model, domain,
             strcmp(scope, "shared") == 0 ? "" : " for tenant ",
             strcmp(scope, "shared") == 0 ? "" : scope, d.reason);
    s_event(ctx, scope, domain, s->model, current, &d);
    if (ctx->changes) {
        const char *labels[] = {d.role > current ? "promote" : "demote"};
        lyc_counter_add(ctx->changes, labels, 1);
    }
    return 1;
}

int lyc_promote_domain(const lyc_promote_ctx_t *ctx, const char *scope, const char *domain)
{
    const char *prefix = ctx->settings->redis_prefix;
    lyc_model_stats_t *stats = NULL;
    lyc_role_entry_t *roles = NULL;
    size_t n_stats = 0, n_roles = 0;
    if (lyc_stats_load(ctx->redis, prefix, scope, domain, &stats, &n_stats) != 0)
        return -1;
    if (lyc_roles_load(ctx->redis, prefix, scope, domain, &roles, &n_roles) != 0) {
        free(stats);
        return -1;
    }
    lyc_role_policy_t policy = {.z = ctx->config->confidence_z,
                                .hysteresis = ctx->config->hysteresis,
                                .steps = ctx->config->steps};
    int changes = 0;
    for (size_t i = 0; i < n_stats && changes >= 0; i++) {
        if (stats[i].n <= 0)
            continue;
        int rc = s_decide(ctx, &policy, scope, domain, &stats[i],
                          lyc_roles_find(roles, n_roles, stats[i].model));
        changes = rc < 0 ? -1 : changes + rc;
    }
    free(roles);
    free(stats);
    return changes;
}
