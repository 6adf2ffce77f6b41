/*
 * exemplar_pool.c - lending to and withdrawing from the shared exemplars.
 */
#include "exemplar_pool.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

/* The fields of a record that make an exemplar (past_queries.h names them). */
static const char *const s_exemplar_fields[] = {"conversation", "question", "answer",
                                                "winner",       "domain",   "score"};
#define S_N_EXEMPLAR_FIELDS (sizeof s_exemplar_fields / sizeof s_exemplar_fields[0])

static void s_lent_key(char *buf, size_t cap, const char *prefix, const char *tenant)
{
    snprintf(buf, cap, "%s:{%s}:lent:%s", prefix, LYC_VECSTORE_EXEMPLAR_POOL, tenant);
}

static const char *s_field(const lyc_vecstore_field_t *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return fields[i].value;
    return NULL;
}

int lyc_exemplar_pool_lend(lyc_vecstore_t *store, lyc_redis_t *redis, const char *prefix,
                           const char *tenant, const char *record_id,
                           const lyc_vecstore_field_t *fields, size_t n, const float *vector,
                           size_t dim, const lyc_vecstore_attrs_t *attrs)
{
    if (!lyc_vecstore_tenant_valid(tenant))
        return -1;
    lyc_vecstore_field_t copy[S_N_EXEMPLAR_FIELDS + 1];
    size_t count = 0;
    for (size_t i = 0; i < S_N_EXEMPLAR_FIELDS; i++) {
        const char *value = s_field(fields, n, s_exemplar_fields[i]);
        if (value)
            copy[count++] = (lyc_vecstore_field_t){s_exemplar_fields[i], value};
    }
    copy[count++] = (lyc_vecstore_field_t){LYC_EXEMPLAR_POOL_LENDER, tenant};

    /* Noted as lent first, so a withdrawal never misses a record. */
    char key[512];
    s_lent_key(key, sizeof key, prefix, tenant);
    const char *sadd[] = {"SADD", key, record_id};
    redisReply *r = lyc_redis_command(redis, 3, sadd, NULL);
    if (!r)
        return -1;
    freeReplyObject(r);
    if (lyc_vecstore_record_put(store, LYC_VECSTORE_EXEMPLAR_POOL, record_id, copy, count) != 0 ||
        lyc_vecstore_add(store, LYC_VECSTORE_EXEMPLAR_POOL, record_id, vector, dim, attrs) != 0)
        return -1;
    return 0;
}

int lyc_exemplar_pool_withdraw(lyc_vecstore_t *store, lyc_redis_t *redis, const char *prefix,
                               const char *tenant, size_t *removed)
{
    size_t done = 0;
    if (removed)
        *removed = 0;
    if (!lyc_vecstore_tenant_valid(tenant))
        return -1;
    char key[512];
    s_lent_key(key, sizeof key, prefix, tenant);
    const char *members[] = {"SMEMBERS", key};
    redisReply *ids = lyc_redis_command(redis, 2, members, NULL);
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(ids);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < ids->elements && rc == 0; i++) {
        const redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING)
            continue;
        const char *srem[] = {"SREM", key, id->str};
        redisReply *r = NULL;
        rc = lyc_vecstore_delete(store, LYC_VECSTORE_EXEMPLAR_POOL, id->str);
        if (rc == 0 && (r = lyc_redis_command(redis, 3, srem, NULL)) == NULL)
            rc = -1;
        freeReplyObject(r);
        done += rc == 0;
    }
    freeReplyObject(ids);
    if (removed)
        *removed = done;
    if (rc != 0)
        LYC_ERROR(NULL, "exemplar pool: tenant %s: %zu lent exemplars taken back, then a failure",
                  tenant, done);
    return rc;
}
