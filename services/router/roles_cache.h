/*
 * roles_cache.h - the trainer's roles per domain, as the router's query
 * threads see them.
 *
 * The trainer promotes and demotes models per domain (common/roles.h) and
 * bumps a version counter on every change. The router checks that counter
 * at most every LYC_ROLES_POLL_MS (one thread polls; the others use what it
 * read) and reloads a domain's roles only when it moved, so a change reaches
 * routing within a second, without a restart and without a Redis round trip
 * per query. One cache serves every query thread of the process.
 */
#ifndef LYCEUM_ROUTER_ROLES_CACHE_H
#define LYCEUM_ROUTER_ROLES_CACHE_H

#include "redis.h"
#include "registry.h"

#include <stddef.h>

#define LYC_ROLES_POLL_MS 250

/* Overrides models[i].role with the role the trainer gave it in domain (scope
 * "shared" or a tenant), where it gave one. Redis failures leave the
 * configured roles (or the last ones loaded) in place. redis is the calling
 * thread's connection, used when something must be read. Thread-safe. */
void lyc_roles_cache_apply(lyc_redis_t *redis, const char *prefix, const char *scope,
                           const char *domain, lyc_model_info_t *models, size_t n);

#endif
