/*
 * roles_cache.c - one cache of domain roles for the router process,
 * invalidated by the trainer's version counter.
 */
#include "roles_cache.h"

#include "clock.h"
#include "roles.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOTS 64

typedef struct {
    char key[320];             /* scope and domain */
    long long version;         /* roles:version when loaded */
    lyc_role_entry_t *entries; /* owned */
    size_t count;
} s_slot_t;

/* Everything below is shared by the query threads, under s_lock. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_slot_t s_slots[S_SLOTS];
static size_t s_next_victim;
static long long s_version = -1;
static int64_t s_checked_us;
static int s_polling; /* a thread is reading the version */

/* The version counter, read at most every LYC_ROLES_POLL_MS by one thread;
 * the others go on with what was read last. */
static long long s_current_version(lyc_redis_t *redis, const char *prefix)
{
    int64_t now = lyc_mono_us();
    pthread_mutex_lock(&s_lock);
    long long version = s_version;
    int poll = !s_polling && (s_version < 0 || now - s_checked_us >= LYC_ROLES_POLL_MS * 1000);
    s_polling |= poll;
    pthread_mutex_unlock(&s_lock);
    if (!poll)
        return version;
    long long v;
    int ok = lyc_roles_version(redis, prefix, &v) == 0;
    pthread_mutex_lock(&s_lock);
    if (ok)
        s_version = v;
    s_checked_us = now;
    s_polling = 0;
    version = s_version;
    pthread_mutex_unlock(&s_lock);
    return version;
}

/* The slot of key, or the next victim emptied for it (s_lock held). */
static s_slot_t *s_lookup(const char *key)
{
    for (size_t i = 0; i < S_SLOTS; i++)
        if (s_slots[i].key[0] && strcmp(s_slots[i].key, key) == 0)
            return &s_slots[i];
    s_slot_t *slot = &s_slots[s_next_victim];
    s_next_victim = (s_next_victim + 1) % S_SLOTS;
    free(slot->entries);
    memset(slot, 0, sizeof *slot);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->version = -2; /* never loaded */
    return slot;
}

static void s_override(const s_slot_t *slot, lyc_model_info_t *models, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int role = lyc_roles_find(slot->entries, slot->count, models[i].name);
        if (role > 0)
            models[i].role = role;
    }
}

void lyc_roles_cache_apply(lyc_redis_t *redis, const char *prefix, const char *scope,
                           const char *domain, lyc_model_info_t *models, size_t n)
{
    char key[320];
    snprintf(key, sizeof key, "%s|%s", scope, domain);
    long long version = s_current_version(redis, prefix);
    pthread_mutex_lock(&s_lock);
    s_slot_t *slot = s_lookup(key);
    if (slot->version == version) {
        s_override(slot, models, n);
        pthread_mutex_unlock(&s_lock);
        return;
    }
    pthread_mutex_unlock(&s_lock);

    lyc_role_entry_t *entries = NULL;
    size_t count = 0;
    int loaded = lyc_roles_load(redis, prefix, scope, domain, &entries, &count) == 0;
    pthread_mutex_lock(&s_lock);
    slot = s_lookup(key); /* another thread may have reloaded or evicted it meanwhile */
    if (loaded) {
        free(slot->entries);
        slot->entries = entries;
        slot->count = count;
        slot->version = version;
    }
    /* Not loaded: keep what we had, the configured roles or the last load. */
    s_override(slot, models, n);
    pthread_mutex_unlock(&s_lock);
}
