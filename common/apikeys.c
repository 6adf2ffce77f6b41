/*
 * apikeys.c - making, hashing, finding and revoking API keys; tenant settings.
 */
#include "apikeys.h"

#include "log.h"
#include "vecstore.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

/* Ids tried before giving up on a clash of public ids (32 bits each). */
#define S_CREATE_TRIES 8

static pthread_once_t s_sodium_once = PTHREAD_ONCE_INIT;

static void s_sodium_init(void)
{
    int rc = sodium_init();
    assert(rc >= 0); /* fails only without a usable random source */
    (void) rc;
}

static void s_random(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        assert(n > 0); /* getrandom only fails on a broken kernel */
        got += (size_t) n;
    }
}

void lyc_apikey_generate(char out[LYC_APIKEY_LEN + 1])
{
    unsigned char raw[LYC_APIKEY_RAW_BYTES];
    pthread_once(&s_sodium_once, s_sodium_init);
    s_random(raw, sizeof raw);
    memcpy(out, LYC_APIKEY_PREFIX, 4);
    sodium_bin2base64(out + 4, LYC_APIKEY_LEN + 1 - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

int lyc_apikey_well_formed(const char *key)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_";
    if (!key || strncmp(key, LYC_APIKEY_PREFIX, 4) != 0 || strlen(key) != LYC_APIKEY_LEN)
        return 0;
    return strspn(key + 4, alphabet) == LYC_APIKEY_LEN - 4;
}

void lyc_apikey_hash(const char *key, char hex[LYC_APIKEY_HASH_HEX + 1],
                     char id[LYC_APIKEY_ID_LEN + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    pthread_once(&s_sodium_once, s_sodium_init);
    crypto_hash_sha256(digest, (const unsigned char *) key, strlen(key));
    sodium_bin2hex(hex, LYC_APIKEY_HASH_HEX + 1, digest, sizeof digest);
    if (id)
        snprintf(id, LYC_APIKEY_ID_LEN + 1, "%.*s", LYC_APIKEY_ID_LEN, hex);
}

int lyc_apikey_id_valid(const char *id)
{
    return id && strlen(id) == LYC_APIKEY_ID_LEN &&
           strspn(id, "0123456789abcdef") == LYC_APIKEY_ID_LEN;
}

const char *lyc_apikey_from_bearer(const char *header, size_t *len)
{
    if (!header)
        return NULL;
    while (*header == ' ' || *header == '\t')
        header++;
    if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
        return NULL;
    const char *key = header + 6;
    while (*key == ' ' || *key == '\t')
        key++;
    size_t n = strcspn(key, " \t\r\n");
    const char *rest = key + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (n == 0 || *rest)
        return NULL;
    *len = n;
    return key;
}

void lyc_tenant_defaults(lyc_tenant_t *t)
{
    memset(t, 0, sizeof *t);
    t->share_stats = 1;
}

/* ---- Redis --------------------------------------------------------------- */

static void s_key_hash(char *buf, size_t cap, const char *prefix, const char *hash)
{
    snprintf(buf, cap, "%s:keys:%s", prefix, hash);
}

static void s_key_id(char *buf, size_t cap, const char *prefix, const char *id)
{
    snprintf(buf, cap, "%s:keys:id:%s", prefix, id);
}

static void s_key_tenant(char *buf, size_t cap, const char *prefix, const char *tenant)
{
    snprintf(buf, cap, "%s:keys:tenant:%s", prefix, tenant);
}

/* Fills *info from an HGETALL reply of a key hash. */
static void s_info_from_reply(const redisReply *r, const char *hash, lyc_apikey_info_t *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->hash, sizeof info->hash, "%s", hash);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        if (!f || !v)
            continue;
        if (strcmp(f, "tenant") == 0)
            snprintf(info->tenant, sizeof info->tenant, "%s", v);
        else if (strcmp(f, "name") == 0)
            snprintf(info->name, sizeof info->name, "%s", v);
        else if (strcmp(f, "id") == 0)
            snprintf(info->id, sizeof info->id, "%s", v);
        else if (strcmp(f, "created") == 0)
            info->created = strtoll(v, NULL, 10);
        else if (strcmp(f, "revoked") == 0)
            info->revoked = strtoll(v, NULL, 10);
        else if (strcmp(f, "budget_day_usd") == 0)
            info->budget_day_usd = strtod(v, NULL);
        else if (strcmp(f, "budget_month_usd") == 0)
            info->budget_month_usd = strtod(v, NULL);
        else if (strcmp(f, "rpm") == 0)
            info->rpm = strtol(v, NULL, 10);
        else if (strcmp(f, "tpm") == 0)
            info->tpm = strtol(v, NULL, 10);
    }
}

/* HGETALL of the key hash; 1 found (tenant set), 0 absent, -1 failed. */
static int s_load_hash(lyc_redis_t *redis, const char *prefix, const char *hash,
                       lyc_apikey_info_t *info)
{
    char key[256];
    s_key_hash(key, sizeof key, prefix, hash);
    const char *argv[] = {"HGETALL", key};
    redisReply *r = lyc_redis_command(redis, 2, argv, NULL);
    if (!r)
        return -1;
    int found = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        s_info_from_reply(r, hash, info);
        found = *info->tenant != '\0';
    }
    freeReplyObject(r);
    return found;
}

/* Claims the public id: SET <id key> <hash> NX. 1 claimed, 0 taken, -1 failed. */
static int s_claim_id(lyc_redis_t *redis, const char *prefix, const char *id, const char *hash)
{
    char key[256];
    s_key_id(key, sizeof key, prefix, id);
    const char *argv[] = {"SET", key, hash, "NX"};
    redisReply *r = lyc_redis_command(redis, 4, argv, NULL);
    if (!r)
        return -1;
    int claimed = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return claimed;
}

/* Stores the key hash and its index entries in one MULTI/EXEC. */
static int s_store(lyc_redis_t *redis, const char *prefix, const lyc_apikey_info_t *i)
{
    char hkey[256], tkey[256], tenants[256], created[32], day[32], month[32], rpm[32], tpm[32];
    s_key_hash(hkey, sizeof hkey, prefix, i->hash);
    s_key_tenant(tkey, sizeof tkey, prefix, i->tenant);
    snprintf(tenants, sizeof tenants, "%s:keys:tenants", prefix);
    snprintf(created, sizeof created, "%lld", (long long) i->created);
    snprintf(day, sizeof day, "%.17g", i->budget_day_usd);
    snprintf(month, sizeof month, "%.17g", i->budget_month_usd);
    snprintf(rpm, sizeof rpm, "%ld", i->rpm);
    snprintf(tpm, sizeof tpm, "%ld", i->tpm);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    const char *hset[] = {"HSET",
                          hkey,
                          "tenant",
                          i->tenant,
                          "name",
                          i->name,
                          "id",
                          i->id,
                          "created",
                          created,
                          "revoked",
                          "0",
                          "budget_day_usd",
                          day,
                          "budget_month_usd",
                          month,
                          "rpm",
                          rpm,
                          "tpm",
                          tpm};
    const char *sadd1[] = {"SADD", tkey, i->id}, *sadd2[] = {"SADD", tenants, i->tenant};
    lyc_redis_cmd_t cmds[] = {{1, multi, NULL},
                              {(int) (sizeof hset / sizeof hset[0]), hset, NULL},
                              {3, sadd1, NULL},
                              {3, sadd2, NULL},
                              {1, exec, NULL}};
    redisReply *replies[5];
    if (lyc_redis_pipeline(redis, 5, cmds, replies) != 0)
        return -1;
    int rc = replies[4]->type == REDIS_REPLY_ARRAY ? 0 : -1;
    for (int k = 0; k < 5; k++)
        freeReplyObject(replies[k]);
    if (rc != 0)
        LYC_ERROR(NULL, "apikeys: Redis refused to store key %s", i->id);
    return rc;
}

static void s_unclaim_id(lyc_redis_t *redis, const char *prefix, const char *id)
{
    char key[256];
    s_key_id(key, sizeof key, prefix, id);
    const char *argv[] = {"DEL", key};
    redisReply *r = lyc_redis_command(redis, 2, argv, NULL);
    if (r)
        freeReplyObject(r);
}

int lyc_apikey_create(lyc_redis_t *redis, const char *prefix, const lyc_apikey_info_t *spec,
                      char key_out[LYC_APIKEY_LEN + 1], lyc_apikey_info_t *info_out)
{
    lyc_apikey_info_t info = *spec;
    if (!lyc_vecstore_tenant_valid(info.tenant)) {
        LYC_ERROR(NULL, "apikeys: '%s' is not a valid tenant name", info.tenant);
        return -1;
    }
    info.created = (int64_t) time(NULL);
    info.revoked = 0;
    for (int attempt = 0; attempt < S_CREATE_TRIES; attempt++) {
        lyc_apikey_generate(key_out);
        lyc_apikey_hash(key_out, info.hash, info.id);
        int claimed = s_claim_id(redis, prefix, info.id, info.hash);
        if (claimed < 0)
            goto out_fail;
        if (claimed == 0)
            continue; /* another key has this public id: draw again */
        if (s_store(redis, prefix, &info) != 0) {
            s_unclaim_id(redis, prefix, info.id);
            goto out_fail;
        }
        if (info_out)
            *info_out = info;
        LYC_INFO(NULL, "apikeys: key %s created for tenant %s", info.id, info.tenant);
        return 0;
    }
    LYC_ERROR(NULL, "apikeys: no free key id after %d tries", S_CREATE_TRIES);
out_fail:
    sodium_memzero(key_out, LYC_APIKEY_LEN + 1);
    return -1;
}

int lyc_apikey_lookup(lyc_redis_t *redis, const char *prefix, const char *key,
                      lyc_apikey_info_t *info)
{
    char hash[LYC_APIKEY_HASH_HEX + 1];
    if (!lyc_apikey_well_formed(key))
        return 0;
    lyc_apikey_hash(key, hash, NULL);
    return s_load_hash(redis, prefix, hash, info);
}

/* The hash of key id: 1 found, 0 unknown, -1 failed. */
static int s_hash_of_id(lyc_redis_t *redis, const char *prefix, const char *id,
                        char hash[LYC_APIKEY_HASH_HEX + 1])
{
    char key[256];
    if (!lyc_apikey_id_valid(id))
        return 0;
    s_key_id(key, sizeof key, prefix, id);
    const char *argv[] = {"GET", key};
    redisReply *r = lyc_redis_command(redis, 2, argv, NULL);
    if (!r)
        return -1;
    int found = r->type == REDIS_REPLY_STRING && r->len == LYC_APIKEY_HASH_HEX;
    if (found)
        memcpy(hash, r->str, LYC_APIKEY_HASH_HEX + 1);
    freeReplyObject(r);
    return found;
}

int lyc_apikey_get(lyc_redis_t *redis, const char *prefix, const char *id, lyc_apikey_info_t *info)
{
    char hash[LYC_APIKEY_HASH_HEX + 1];
    int found = s_hash_of_id(redis, prefix, id, hash);
    return found == 1 ? s_load_hash(redis, prefix, hash, info) : found;
}

int lyc_apikey_revoke(lyc_redis_t *redis, const char *prefix, const char *id)
{
    lyc_apikey_info_t info;
    int found = lyc_apikey_get(redis, prefix, id, &info);
    if (found != 1 || info.revoked)
        return found;
    char key[256], now[32];
    s_key_hash(key, sizeof key, prefix, info.hash);
    snprintf(now, sizeof now, "%lld", (long long) time(NULL));
    const char *argv[] = {"HSET", key, "revoked", now};
    redisReply *r = lyc_redis_command(redis, 4, argv, NULL);
    if (!r)
        return -1;
    freeReplyObject(r);
    LYC_INFO(NULL, "apikeys: key %s of tenant %s revoked", info.id, info.tenant);
    return 1;
}

/* SMEMBERS into a new reply (caller frees), or NULL. */
static redisReply *s_members(lyc_redis_t *redis, const char *key)
{
    const char *argv[] = {"SMEMBERS", key};
    redisReply *r = lyc_redis_command(redis, 2, argv, NULL);
    if (r && r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Appends every key of one tenant to *out. */
static int s_list_tenant(lyc_redis_t *redis, const char *prefix, const char *tenant,
                         lyc_apikey_info_t **out, size_t *count)
{
    char key[256];
    s_key_tenant(key, sizeof key, prefix, tenant);
    redisReply *ids = s_members(redis, key);
    if (!ids)
        return -1;
    int rc = 0;
    lyc_apikey_info_t *grown = realloc(*out, (*count + ids->elements + 1) * sizeof **out);
    if (!grown)
        rc = -1;
    else
        *out = grown;
    for (size_t i = 0; rc == 0 && i < ids->elements; i++) {
        int found = lyc_apikey_get(redis, prefix, ids->element[i]->str, &(*out)[*count]);
        if (found < 0)
            rc = -1;
        else if (found == 1)
            (*count)++;
    }
    freeReplyObject(ids);
    return rc;
}

int lyc_apikey_list(lyc_redis_t *redis, const char *prefix, const char *tenant,
                    lyc_apikey_info_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (tenant)
        return s_list_tenant(redis, prefix, tenant, out, count);
    char key[256];
    snprintf(key, sizeof key, "%s:keys:tenants", prefix);
    redisReply *tenants = s_members(redis, key);
    if (!tenants)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < tenants->elements; i++)
        rc = s_list_tenant(redis, prefix, tenants->element[i]->str, out, count);
    freeReplyObject(tenants);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

static void s_tenant_field(lyc_tenant_t *t, const char *f, const char *v)
{
    if (strcmp(f, "budget_day_usd") == 0)
        t->budget_day_usd = strtod(v, NULL);
    else if (strcmp(f, "budget_month_usd") == 0)
        t->budget_month_usd = strtod(v, NULL);
    else if (strcmp(f, "on_budget") == 0)
        t->on_budget_cheapest = strcmp(v, "cheapest") == 0;
    else if (strcmp(f, "share_stats") == 0)
        t->share_stats = strcmp(v, "0") != 0;
    else if (strcmp(f, "share_exemplars") == 0)
        t->share_exemplars = strcmp(v, "0") != 0;
}

int lyc_tenant_load(lyc_redis_t *redis, const char *prefix, const char *tenant, lyc_tenant_t *t)
{
    char key[256];
    lyc_tenant_defaults(t);
    snprintf(key, sizeof key, "%s:tenant:%s", prefix, tenant);
    const char *argv[] = {"HGETALL", key};
    redisReply *r = lyc_redis_command(redis, 2, argv, NULL);
    if (!r)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->str && r->element[i + 1]->str)
            s_tenant_field(t, r->element[i]->str, r->element[i + 1]->str);
    freeReplyObject(r);
    return 0;
}

int lyc_tenant_set(lyc_redis_t *redis, const char *prefix, const char *tenant,
                   const char *const *names, const char *const *values, size_t count)
{
    char key[256];
    if (count == 0)
        return 0;
    snprintf(key, sizeof key, "%s:tenant:%s", prefix, tenant);
    size_t argc = 2 + 2 * count;
    const char **argv = calloc(argc, sizeof *argv);
    if (!argv)
        return -1;
    argv[0] = "HSET";
    argv[1] = key;
    for (size_t i = 0; i < count; i++) {
        argv[2 + 2 * i] = names[i];
        argv[3 + 2 * i] = values[i];
    }
    redisReply *r = lyc_redis_command(redis, (int) argc, argv, NULL);
    free(argv);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}
