/*
 * profile.c - per-user profiles in Redis hashes.
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_key(char *buf, size_t cap, const char *prefix, const char *tenant, const char *user)
{
    snprintf(buf, cap, "%s:{%s}:profile:%s", prefix, tenant, user);
}

int lyc_profile_record(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *user,
                       const char *domain, double cost_usd)
{
    char key[512], field[300], cost[32];
    s_key(key, sizeof key, prefix, tenant, user);
    snprintf(field, sizeof field, "domain:%s", domain);
    snprintf(cost, sizeof cost, "%.17g", cost_usd);
    const char *a1[] = {"HINCRBY", key, "queries", "1"};
    const char *a2[] = {"HINCRBY", key, field, "1"};
    const char *a3[] = {"HINCRBYFLOAT", key, "cost_usd", cost};
    lyc_redis_cmd_t cmds[] = {{4, a1, NULL}, {4, a2, NULL}, {4, a3, NULL}};
    redisReply *replies[3];
    if (lyc_redis_pipeline(redis, 3, cmds, replies) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        rc |= replies[i]->type == REDIS_REPLY_ERROR ? -1 : 0;
        freeReplyObject(replies[i]);
    }
    return rc;
}

int lyc_profile_prior(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *user,
                      double min_share, char *out, size_t cap)
{
    char key[512];
    s_key(key, sizeof key, prefix, tenant, user);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = lyc_redis_command(redis, 2, argv, NULL);
    if (!reply)
        return -1;
    double queries = 0, best = 0;
    const char *best_name = NULL;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2) {
        const char *field = reply->element[i]->str;
        double value = strtod(reply->element[i + 1]->str, NULL);
        if (strcmp(field, "queries") == 0)
            queries = value;
        else if (strncmp(field, "domain:", 7) == 0 && value > best) {
            best = value;
            best_name = field + 7;
        }
    }
    int found = best_name && queries > 0 && best / queries >= min_share;
    if (found)
        snprintf(out, cap, "%s", best_name);
    freeReplyObject(reply);
    return found;
}
