/*
 * redis_script.c - EVALSHA with SCRIPT LOAD on demand.
 */
#include "redis_script.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest KEYS + ARGV count of one script call. */
#define S_MAX_ARGS 32

/* SCRIPT LOAD; fills script->sha. 0 or -1. */
static int s_load(lyc_redis_t *redis, lyc_redis_script_t *script)
{
    const char *argv[] = {"SCRIPT", "LOAD", script->source};
    redisReply *r = lyc_redis_command(redis, 3, argv, NULL);
    if (!r)
        return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        pthread_mutex_lock(&script->lock);
        memcpy(script->sha, r->str, 41);
        pthread_mutex_unlock(&script->lock);
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

static redisReply *s_evalsha(lyc_redis_t *redis, lyc_redis_script_t *script, int nkeys,
                             const char *const *keys, int nargs, const char *const *args)
{
    const char *argv[S_MAX_ARGS + 3];
    char sha[41], count[16];
    pthread_mutex_lock(&script->lock);
    memcpy(sha, script->sha, sizeof sha);
    pthread_mutex_unlock(&script->lock);
    snprintf(count, sizeof count, "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = count;
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    return lyc_redis_command(redis, 3 + nkeys + nargs, argv, NULL);
}

redisReply *lyc_redis_script_run(lyc_redis_t *redis, lyc_redis_script_t *script, int nkeys,
                                 const char *const *keys, int nargs, const char *const *args)
{
    if (nkeys < 0 || nargs < 0 || nkeys + nargs > S_MAX_ARGS) {
        LYC_ERROR(NULL, "redis script: %d keys and %d arguments are too many", nkeys, nargs);
        return NULL;
    }
    pthread_mutex_lock(&script->lock);
    int loaded = script->sha[0] != '\0';
    pthread_mutex_unlock(&script->lock);
    if (!loaded && s_load(redis, script) != 0)
        return NULL;
    redisReply *r = s_evalsha(redis, script, nkeys, keys, nargs, args);
    /* The server lost its scripts (restart, SCRIPT FLUSH): load once more. */
    if (!r && strncmp(lyc_redis_error(redis), "NOSCRIPT", 8) == 0) {
        LYC_INFO(NULL, "redis script: reloading a script the server forgot");
        if (s_load(redis, script) == 0)
            r = s_evalsha(redis, script, nkeys, keys, nargs, args);
    }
    return r;
}
