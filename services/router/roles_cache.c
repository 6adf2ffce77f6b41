/*
 * roles_cache.c - a small per-thread cache of domain roles, invalidated by
 * the trainer's version counter.
 */
#include "roles_cache.h"

#include "clock.h"
#include "roles.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOTS 32

typedef struct {
    char key[320];             /* scope and domain */
    long long version;         /* roles:version when loaded */
    lyc_role_entry_t *entries; /* owned */
    size_t count;
} s_slot_t;

/* One cache per query thread; threads never share it. */
static __thread s_slot_t s_slots[S_SLOTS];
static __thread size_t s_next_victim;
static __thread long long s_version = -1;
static __thread int64_t s_checked_us;

static pthread_key_t s_exit_key;
static pthread_once_t s_exit_once = PTHREAD_ONCE_INIT;

/* Runs when a query thread ends: frees what its cache holds. */
static void s_on_thread_exit(void *unused)
{
    (void) unused;
    for (size_t i = 0; i < S_SLOTS; i++) {
        free(s_slots[i].entries);
        memset(&s_slots[i], 0, sizeof s_slots[i]);
    }
}

static void s_make_exit_key(void)
{
    pthread_key_create(&s_exit_key, s_on_thread_exit);
}

/* The version counter, read at most every LYC_ROLES_POLL_MS. */
static long long s_current_version(lyc_redis_t *redis, const char *prefix)
{
    int64_t now = lyc_mono_us();
    if (s_version >= 0 && now - s_checked_us < LYC_ROLES_POLL_MS * 1000)
        return s_version;
    long long v;
    if (lyc_roles_version(redis, prefix, &v) == 0)
        s_version = v;
    s_checked_us = now;
    return s_version;
}

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

void lyc_roles_cache_apply(lyc_redis_t *redis, const char *prefix, const char *scope,
                           const char *domain, lyc_model_info_t *models, size_t n)
{
    char key[320];
    pthread_once(&s_exit_once, s_make_exit_key);
    if (!pthread_getspecific(s_exit_key))
        pthread_setspecific(s_exit_key, s_slots); /* any non-NULL value arms the destructor */
    snprintf(key, sizeof key, "%s|%s", scope, domain);
    long long version = s_current_version(redis, prefix);
    s_slot_t *slot = s_lookup(key);
    if (slot->version != version) {
        lyc_role_entry_t *entries = NULL;
        size_t count = 0;
        if (lyc_roles_load(redis, prefix, scope, domain, &entries, &count) != 0)
            return; /* keep what we had: the configured roles, or the last load */
        free(slot->entries);
        slot->entries = entries;
        slot->count = count;
        slot->version = version;
    }
    for (size_t i = 0; i < n; i++) {
        int role = lyc_roles_find(slot->entries, slot->count, models[i].name);
        if (role > 0)
            models[i].role = role;
    }
}
