/*
 * redis_script.h - Lua scripts run on Redis by their SHA1 (EVALSHA), loaded
 * on first use and again after the server forgot them (a restart, SCRIPT
 * FLUSH), so callers send the script's text only once per server.
 *
 * A script is a static object shared by every thread of the process:
 *
 *   static lyc_redis_script_t s_reserve = LYC_REDIS_SCRIPT("return 1");
 *   redisReply *r = lyc_redis_script_run(redis, &s_reserve, 1, keys, 2, args);
 *
 * Scripts are what makes a check-and-change atomic across processes (budgets,
 * rate limits): Redis runs each one without interleaving other commands.
 */
#ifndef LYCEUM_REDIS_SCRIPT_H
#define LYCEUM_REDIS_SCRIPT_H

#include "redis.h"

#include <pthread.h>

typedef struct {
    const char *source;   /* the Lua text */
    char sha[41];         /* its SHA1 once loaded, "" before */
    pthread_mutex_t lock; /* guards sha */
} lyc_redis_script_t;

#define LYC_REDIS_SCRIPT(text)                                                                     \
    {                                                                                              \
        (text), "", PTHREAD_MUTEX_INITIALIZER                                                      \
    }

/* Runs the script with nkeys KEYS and nargs ARGV (text arguments). Returns
 * the reply (caller frees with freeReplyObject), or NULL when Redis failed
 * or the script raised an error (logged). */
redisReply *lyc_redis_script_run(lyc_redis_t *redis, lyc_redis_script_t *script, int nkeys,
                                 const char *const *keys, int nargs, const char *const *args);

#endif
