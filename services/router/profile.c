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

void lyc_profile_update_prepare(lyc_profile_update_t *self, const char *prefix, const char *tenant,
                                const char *user, const char *domain, double cost_usd)
{
    s_key(self->key, sizeof self->key, prefix, tenant, user);
    snprintf(self->field, sizeof self->field, "domain:%s", domain);
    snprintf(self->cost, sizeof self->cost, "%.17g", cost_usd);
    const char *argv[LYC_PROFILE_CMDS][4] = {{"HINCRBY", self->key, "queries", "1"},
                                             {"HINCRBY", self->key, self->field, "1"},
                                             {"HINCRBYFLOAT", self->key, "cost_usd", self->cost}};
    memcpy(self->argv, argv, sizeof argv);
    for (int i = 0; i < LYC_PROFILE_CMDS; i++)
        self->cmds[i] = (lyc_redis_cmd_t){4, self->argv[i], NULL};
}

int lyc_profile_update_check(redisReply *const *replies)
{
    int rc = 0;
    for (int i = 0; i < LYC_PROFILE_CMDS; i++)
        rc |= replies[i]->type == REDIS_REPLY_ERROR ? -1 : 0;
    return rc;
}

int lyc_profile_record(lyc_redis_t *redis, const char *prefix, const char *tenant, const char *user,
                       const char *domain, double cost_usd)
{
    lyc_profile_update_t update;
    redisReply *replies[LYC_PROFILE_CMDS];
    lyc_profile_update_prepare(&update, prefix, tenant, user, domain, cost_usd);
    if (lyc_redis_pipeline(redis, LYC_PROFILE_CMDS, update.cmds, replies) != 0)
        return -1;
    int rc = lyc_profile_update_check(replies);
    for (int i = 0; i < LYC_PROFILE_CMDS; i++)
        freeReplyObject(replies[i]);
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
