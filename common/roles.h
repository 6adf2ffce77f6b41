/*
 * roles.h - who is student, TA, teacher or supervisor in each domain, as
 * the trainer decided it, in Redis.
 *
 *   <prefix>:roles:{<scope>}:<domain>   hash: model -> role name
 *                                       ("student", "ta", "teacher", "supervisor")
 *   <prefix>:roles:version              counter, INCR on every change of any hash
 *
 * The scope is "shared" (what every tenant's traffic decided) or a tenant's
 * name. A model that has no field keeps the role its configuration gives it
 * (models: role:), so an empty hash means "as configured".
 *
 * Readers (router, evaluator, monitor) poll lyc_roles_version() every few
 * hundred milliseconds and reload the domains they care about with
 * lyc_roles_load() when the number moved: a change is then seen within one
 * poll, without a restart. The trainer is the only writer and changes a
 * role with lyc_roles_change(), a compare-and-set, so two trainers that both
 * decide on the same evidence (a rebalance of the consumer group) make one
 * change, not two.
 */
#ifndef LYCEUM_ROLES_H
#define LYCEUM_ROLES_H

#include "redis.h"

#include <stddef.h>

#define LYC_ROLES_MODEL_MAX 128

/* One model's role in one domain. */
typedef struct {
    char model[LYC_ROLES_MODEL_MAX];
    int role; /* Lyceum__V1__Role; 0 when the stored name is unknown */
} lyc_role_entry_t;

/* The hash key of a scope and domain into buf (cap bytes). */
void lyc_roles_key(char *buf, size_t cap, const char *prefix, const char *scope,
                   const char *domain);

/* Loads every stored role of the domain into *out (caller frees with free())
 * and their number into *count (0 and NULL when none). Returns 0 or -1
 * (logged). */
int lyc_roles_load(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                   lyc_role_entry_t **out, size_t *count);

/* The role of model in entries[0..count), or 0 when it has none stored. */
int lyc_roles_find(const lyc_role_entry_t *entries, size_t count, const char *model);

/* The change counter into *version (0 before the first change). Returns 0
 * or -1 (logged). */
int lyc_roles_version(lyc_redis_t *redis, const char *prefix, long long *version);

/* Sets model's role in the domain to `to` if its stored role is still
 * `expected` (0: no stored role), and bumps the version, atomically (one Lua
 * script). Returns 1 when it changed, 0 when the stored role was not
 * `expected` (someone else changed it first), -1 on failure (logged). */
int lyc_roles_change(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                     const char *model, int expected, int to);

#endif
