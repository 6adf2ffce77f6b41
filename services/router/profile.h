/*
 * profile.h - what the router remembers of each tenant's users, in Redis:
 * queries asked, cost, and how often each domain was asked
 * (hash <prefix>:{<tenant>}:profile:<user>, fields "queries", "cost_usd",
 * "domain:<name>"). A user's usual domain is the prior for a query whose
 * domain the neighbours cannot settle.
 */
#ifndef LYCEUM_ROUTER_PROFILE_H
#define LYCEUM_ROUTER_PROFILE_H

#include "redis.h"

#include <stddef.h>

/* Counts one query of user in domain costing cost_usd. 0 or -1 (logged). */
int lyc_profile_record(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *user,
                       const char *domain, double cost_usd);

/* The commands of lyc_profile_record, for a caller that pipelines them with
 * others. The struct holds their arguments: keep it in place until sent. */
#define LYC_PROFILE_CMDS 3
typedef struct {
    char key[512], field[300], cost[32];
    const char *argv[LYC_PROFILE_CMDS][4];
    lyc_redis_cmd_t cmds[LYC_PROFILE_CMDS];
} lyc_profile_update_t;

void lyc_profile_update_prepare(lyc_profile_update_t *self, const char *prefix, const char *tenant,
                                const char *user, const char *domain, double cost_usd);

/* 0 when no reply to self->cmds is an error, else -1. */
int lyc_profile_update_check(redisReply *const *replies);

/* The user's most asked domain into out when it holds at least min_share of
 * their queries. Returns 1 when found, 0 when not, -1 on a Redis failure. */
int lyc_profile_prior(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *user,
                      double min_share, char *out, size_t cap);

#endif
