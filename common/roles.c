/*
 * roles.c - per-domain roles in Redis hashes, with a change counter.
 */
#include "roles.h"

#include "log.h"
#include "model_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Compare-and-set of one field plus the version bump, atomically. */
static const char s_change_script[] = "local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''\n"
                                      "if cur ~= ARGV[2] then return 0 end\n"
                                      "redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
                                      "redis.call('INCR', KEYS[2])\n"
                                      "return 1\n";

void lyc_roles_key(char *buf, size_t cap, const char *prefix, const char *scope, const char *domain)
{
    snprintf(buf, cap, "%s:roles:{%s}:%s", prefix, scope, domain);
}

static void s_version_key(char *buf, size_t cap, const char *prefix)
{
    snprintf(buf, cap, "%s:roles:version", prefix);
}

int lyc_roles_load(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                   lyc_role_entry_t **out, size_t *count)
{
    char key[512];
    *out = NULL;
    *count = 0;
    lyc_roles_key(key, sizeof key, prefix, scope, domain);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    if (!reply)
        return -1;
    int rc = 0;
    size_t pairs = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2 : 0;
    if (pairs > 0 && !(*out = calloc(pairs, sizeof **out))) {
        LYC_ERROR(NULL, "roles: out of memory");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < pairs; i++) {
        const redisReply *name = reply->element[2 * i], *value = reply->element[2 * i + 1];
        if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING ||
            name->len >= LYC_ROLES_MODEL_MAX)
            continue;
        lyc_role_entry_t *e = &(*out)[(*count)++];
        memcpy(e->model, name->str, name->len);
        e->model[name->len] = '\0';
        e->role = lyc_role_parse(value->str);
    }
    freeReplyObject(reply);
    return rc;
}

int lyc_roles_find(const lyc_role_entry_t *entries, size_t count, const char *model)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].model, model) == 0)
            return entries[i].role;
    return 0;
}

int lyc_roles_version(lyc_redis_t *redis, const char *prefix, long long *version)
{
    char key[256];
    s_version_key(key, sizeof key, prefix);
    const char *argv[] = {"GET", key};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    if (!reply)
        return -1;
    *version = reply->type == REDIS_REPLY_STRING ? strtoll(reply->str, NULL, 10) : 0;
    freeReplyObject(reply);
    return 0;
}

int lyc_roles_change(lyc_redis_t *redis, const char *prefix, const char *scope, const char *domain,
                     const char *model, int expected, int to)
{
    char key[512], version[256];
    lyc_roles_key(key, sizeof key, prefix, scope, domain);
    s_version_key(version, sizeof version, prefix);
    const char *argv[] = {"EVAL",
                          s_change_script,
                          "2",
                          key,
                          version,
                          model,
                          expected ? lyc_role_name(expected) : "",
                          lyc_role_name(to)};
    redisReply *reply = lyc_redis_command(redis, 8, argv, NULL);
    if (!reply)
        return -1;
    int rc = reply->type == REDIS_REPLY_INTEGER ? (int) reply->integer : -1;
    if (rc < 0)
        LYC_WARN(NULL, "roles: unexpected reply changing %s in %s", model, key);
    freeReplyObject(reply);
    return rc;
}
