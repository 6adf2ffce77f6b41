/*
 * stats_cache.c - domain statistics shared by the query threads, with the
 * router's own changes applied before Redis has them.
 */
#include "stats_cache.h"

#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lyc_stats_entry_t {
    char scope[LYC_STATS_MODEL_MAX];
    char domain[LYC_STATS_MODEL_MAX + 1];
    uint64_t hash; /* of scope and domain; 0: a free slot */
    int loaded;    /* base has been read at least once */
    int64_t loaded_us, used_us;
    lyc_model_stats_t *base; /* the hash as last read */
    size_t n_base;
    lyc_model_stats_t *pend; /* this router's changes not known to be in base */
    size_t n_pend;
    long open;           /* records applied and not yet written */
    long inline_open;    /* of them, written inline by a query thread */
    uint64_t gen;        /* bumped by every apply */
    uint64_t inline_gen; /* bumped by every inline apply */
    int want_reload;     /* stale when read while changes were on their way */
    int reloading;       /* a reload is planned with a batch */
    int loading;         /* a query thread is reading it */
};

struct lyc_stats_cache_t {
    pthread_mutex_t lock;
    int64_t ttl_us;
    lyc_stats_entry_t slots[LYC_STATS_CACHE_SLOTS];
};

lyc_stats_cache_t *lyc_stats_cache_new(long ttl_ms)
{
    lyc_stats_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->ttl_us = (int64_t) ttl_ms * 1000;
    return self;
}

void lyc_stats_cache_destroy(lyc_stats_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_stats_cache_t *self = *self_p;
    for (size_t i = 0; i < LYC_STATS_CACHE_SLOTS; i++) {
        free(self->slots[i].base);
        free(self->slots[i].pend);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* FNV-1a of scope, '|' and domain; never 0. */
static uint64_t s_hash(const char *scope, const char *domain)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = scope; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    h = (h ^ '|') * 1099511628211ULL;
    for (const char *p = domain; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ULL;
    return h ? h : 1;
}

static lyc_stats_entry_t *s_find(lyc_stats_cache_t *self, uint64_t hash, const char *scope,
                                 const char *domain)
{
    for (size_t i = 0; i < LYC_STATS_CACHE_SLOTS; i++) {
        lyc_stats_entry_t *e = &self->slots[i];
        if (e->hash == hash && strcmp(e->scope, scope) == 0 && strcmp(e->domain, domain) == 0)
            return e;
    }
    return NULL;
}

/* A slot for (scope, domain): a free one, else the least recently used that
 * nothing is waiting on. NULL when every slot is busy or a name is too long. */
static lyc_stats_entry_t *s_claim(lyc_stats_cache_t *self, uint64_t hash, const char *scope,
                                  const char *domain)
{
    if (strlen(scope) >= sizeof self->slots[0].scope ||
        strlen(domain) >= sizeof self->slots[0].domain)
        return NULL;
    lyc_stats_entry_t *victim = NULL;
    for (size_t i = 0; i < LYC_STATS_CACHE_SLOTS; i++) {
        lyc_stats_entry_t *e = &self->slots[i];
        if (e->hash == 0) {
            victim = e;
            break;
        }
        if (e->open == 0 && !e->reloading && !e->loading &&
            (!victim || e->used_us < victim->used_us))
            victim = e;
    }
    if (!victim)
        return NULL;
    free(victim->base);
    free(victim->pend);
    memset(victim, 0, sizeof *victim);
    victim->hash = hash;
    snprintf(victim->scope, sizeof victim->scope, "%s", scope);
    snprintf(victim->domain, sizeof victim->domain, "%s", domain);
    return victim;
}

/* The record of model in (*arr, *n), appended (zeroed) when missing; NULL
 * when out of memory. */
static lyc_model_stats_t *s_model(lyc_model_stats_t **arr, size_t *n, const char *model)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].model, model) == 0)
            return &(*arr)[i];
    lyc_model_stats_t *grown = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!grown)
        return NULL;
    *arr = grown;
    lyc_model_stats_t *s = &grown[(*n)++];
    memset(s, 0, sizeof *s);
    snprintf(s->model, sizeof s->model, "%s", model);
    return s;
}

/* to += sign * the router's fields of from (n, sum, cost, ms); 0 or -1. */
static int s_add(lyc_model_stats_t **arr, size_t *n, const lyc_model_stats_t *from, double sign)
{
    lyc_model_stats_t *to = s_model(arr, n, from->model);
    if (!to)
        return -1;
    to->n += sign * from->n;
    to->sum += sign * from->sum;
    to->cost += sign * from->cost;
    to->ms += sign * from->ms;
    if (to->n < 0.5) /* nothing left: no rounding dust either */
        to->n = to->sum = to->cost = to->ms = 0;
    return 0;
}

/* base + pending into a new array for the caller. */
static int s_view(const lyc_stats_entry_t *e, lyc_model_stats_t **out, size_t *count)
{
    *count = 0;
    *out = NULL;
    if (e->n_base > 0) {
        *out = malloc(e->n_base * sizeof **out);
        if (!*out)
            return -1;
        memcpy(*out, e->base, e->n_base * sizeof **out);
        *count = e->n_base;
    }
    for (size_t i = 0; i < e->n_pend; i++) {
        if (e->pend[i].n > 0 && s_add(out, count, &e->pend[i], 1) != 0) {
            free(*out);
            *out = NULL;
            *count = 0;
            return -1;
        }
    }
    return 0;
}

static void s_set_base(lyc_stats_entry_t *e, lyc_model_stats_t *stats, size_t n, int64_t now)
{
    free(e->base);
    e->base = stats;
    e->n_base = n;
    e->loaded = 1;
    e->loaded_us = now;
    e->want_reload = 0;
}

/* A copy of what was read, for a caller whose read could not be cached. */
static int s_copy(const lyc_model_stats_t *stats, size_t n, lyc_model_stats_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (n == 0)
        return 0;
    *out = malloc(n * sizeof **out);
    if (!*out)
        return -1;
    memcpy(*out, stats, n * sizeof **out);
    *count = n;
    return 0;
}

/* Reads the entry from Redis outside the lock (held on entry and on return)
 * and keeps what it read when no change was applied meanwhile. */
static int s_load(lyc_stats_cache_t *self, lyc_stats_entry_t *e, lyc_redis_t *redis,
                  const char *prefix, lyc_model_stats_t **out, size_t *count)
{
    lyc_model_stats_t *stats = NULL;
    size_t n = 0;
    uint64_t gen = e->gen;
    e->loading = 1;
    pthread_mutex_unlock(&self->lock);
    int rc = lyc_stats_load(redis, prefix, e->scope, e->domain, &stats, &n);
    pthread_mutex_lock(&self->lock);
    e->loading = 0;
    if (rc == 0 && e->gen == gen) {
        free(e->pend);
        e->pend = NULL;
        e->n_pend = 0;
        s_set_base(e, stats, n, lyc_mono_us());
        return s_view(e, out, count);
    }
    /* A change came while reading: what was read may or may not hold it. */
    if (e->loaded) {
        free(stats);
        return s_view(e, out, count);
    }
    rc = rc == 0 ? s_copy(stats, n, out, count) : -1;
    free(stats);
    return rc;
}

int lyc_stats_cache_get(lyc_stats_cache_t *self, lyc_redis_t *redis, const char *prefix,
                        const char *scope, const char *domain, lyc_model_stats_t **out,
                        size_t *count)
{
    uint64_t hash = s_hash(scope, domain);
    int64_t now = lyc_mono_us();
    pthread_mutex_lock(&self->lock);
    lyc_stats_entry_t *e = s_find(self, hash, scope, domain);
    if (!e)
        e = s_claim(self, hash, scope, domain);
    if (!e) {
        pthread_mutex_unlock(&self->lock);
        return lyc_stats_load(redis, prefix, scope, domain, out, count);
    }
    e->used_us = now;
    int fresh = e->loaded && now - e->loaded_us < self->ttl_us;
    int rc;
    if (e->loaded && (fresh || e->loading || e->reloading || e->open > 0)) {
        /* Stale with changes on their way: the recorder reloads it with its next batch. */
        if (!fresh && !e->loading)
            e->want_reload = 1;
        rc = s_view(e, out, count);
    } else if (e->open > 0 || e->loading) {
        /* Never read, and not readable exactly now: Redis as it is. */
        pthread_mutex_unlock(&self->lock);
        return lyc_stats_load(redis, prefix, scope, domain, out, count);
    } else {
        rc = s_load(self, e, redis, prefix, out, count);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

lyc_stats_entry_t *lyc_stats_cache_apply(lyc_stats_cache_t *self, const char *scope,
                                         const char *domain, const lyc_stats_delta_t *deltas,
                                         size_t n, int inline_write)
{
    if (n == 0)
        return NULL;
    uint64_t hash = s_hash(scope, domain);
    pthread_mutex_lock(&self->lock);
    lyc_stats_entry_t *e = s_find(self, hash, scope, domain);
    if (!e)
        e = s_claim(self, hash, scope, domain);
    for (size_t i = 0; e && i < n; i++) {
        lyc_model_stats_t d = {
            .n = 1, .sum = deltas[i].score, .cost = deltas[i].cost, .ms = deltas[i].latency_ms};
        snprintf(d.model, sizeof d.model, "%s", deltas[i].model);
        if (s_add(&e->pend, &e->n_pend, &d, 1) != 0) {
            /* Out of memory: the view cannot be trusted; read it again. */
            e->loaded = 0;
            LYC_WARN(NULL, "router: statistics cache out of memory");
            break;
        }
    }
    if (e) {
        e->open++;
        e->gen++;
        if (inline_write) {
            e->inline_open++;
            e->inline_gen++;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return e;
}

void lyc_stats_cache_done(lyc_stats_cache_t *self, lyc_stats_entry_t *entry, int inline_write)
{
    if (!entry)
        return;
    pthread_mutex_lock(&self->lock);
    entry->open--;
    if (inline_write)
        entry->inline_open--;
    pthread_mutex_unlock(&self->lock);
}

size_t lyc_stats_cache_plan(lyc_stats_cache_t *self, const char *prefix, int all_taken,
                            lyc_stats_reload_t *out, size_t max)
{
    size_t n = 0;
    if (!all_taken)
        return 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < LYC_STATS_CACHE_SLOTS && n < max; i++) {
        lyc_stats_entry_t *e = &self->slots[i];
        if (e->hash == 0 || !e->want_reload || !e->loaded || e->reloading || e->loading ||
            e->inline_open > 0)
            continue;
        lyc_stats_reload_t *r = &out[n];
        memset(r, 0, sizeof *r);
        if (s_copy(e->pend, e->n_pend, &r->carried, &r->n_carried) != 0)
            break;
        r->entry = e;
        r->inline_gen = e->inline_gen;
        lyc_stats_key(r->key, sizeof r->key, prefix, e->scope, e->domain);
        e->reloading = 1;
        n++;
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

void lyc_stats_cache_reloaded(lyc_stats_cache_t *self, lyc_stats_reload_t *reload,
                              const redisReply *reply)
{
    lyc_model_stats_t *stats = NULL;
    size_t n = 0;
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && lyc_stats_parse(reply, &stats, &n) == 0;
    pthread_mutex_lock(&self->lock);
    lyc_stats_entry_t *e = reload->entry;
    e->reloading = 0;
    /* An inline write begun since the plan may or may not be in what was read. */
    if (ok && e->inline_gen == reload->inline_gen) {
        for (size_t i = 0; i < reload->n_carried; i++)
            if (s_add(&e->pend, &e->n_pend, &reload->carried[i], -1) != 0)
                e->loaded = 0;
        s_set_base(e, stats, n, lyc_mono_us());
        stats = NULL;
    }
    pthread_mutex_unlock(&self->lock);
    free(stats);
    free(reload->carried);
    memset(reload, 0, sizeof *reload);
}
