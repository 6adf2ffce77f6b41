/*
 * promote.h - applies the role policy (role_policy.h) to one domain:
 * loads its statistics and stored roles, decides for every model, and makes
 * each change with a compare-and-set (roles.h), one step per model per
 * call. Each change is logged and sent as a ROLE_CHANGE event (key: the
 * domain) to settings.topic_roles.
 */
#ifndef LYCEUM_TRAINER_PROMOTE_H
#define LYCEUM_TRAINER_PROMOTE_H

#include "event_sink.h"
#include "metrics.h"
#include "redis.h"
#include "settings.h"
#include "trainer_config.h"

typedef struct {
    const lyc_settings_t *settings;
    const lyc_trainer_config_t *config;
    lyc_redis_t *redis;
    lyc_event_sink_t *sink;
    lyc_counter_t *changes; /* labels: direction (promote, demote); may be NULL */
} lyc_promote_ctx_t;

/* Decides the roles of scope ("shared" or a tenant) and domain. Returns the
 * number of changes made, or -1 when Redis failed (logged). */
int lyc_promote_domain(const lyc_promote_ctx_t *ctx, const char *scope, const char *domain);

#endif
