/*
 * apikeys.h - API keys of the HTTP front door, and the tenants they belong to.
 *
 * A key is "lyc_" followed by 32 random bytes (getrandom) in unpadded
 * base64url: 47 characters, shown to its owner once and never stored. Redis
 * holds only its SHA-256, so a copy of the database cannot be used to call
 * the router:
 *
 *   <prefix>:keys:<sha256hex>        hash: tenant, name, id, created, revoked,
 *                                    budget_day_usd, budget_month_usd, rpm, tpm
 *   <prefix>:keys:id:<id>            string: the sha256hex of key <id>
 *   <prefix>:keys:tenant:<tenant>    set: the ids of the tenant's keys
 *   <prefix>:keys:tenants            set: tenants that have keys
 *
 * The id is the first 8 hex digits of the hash: public, safe to log and to
 * print, and what `lyceum keys revoke` takes. Log the id, never the key.
 *
 * A tenant's settings live in one hash, written by `lyceum keys tenant`:
 *
 *   <prefix>:tenant:<tenant>         budget_day_usd, budget_month_usd,
 *                                    on_budget (refuse|cheapest),
 *                                    share_stats (1|0), share_exemplars (1|0)
 *
 * Limits of 0 mean "no limit". A tenant without the hash has no budget,
 * refuses when a budget is reached, shares statistics and keeps its
 * exemplars to itself.
 */
#ifndef LYCEUM_APIKEYS_H
#define LYCEUM_APIKEYS_H

#include "redis.h"

#include <stddef.h>
#include <stdint.h>

#define LYC_APIKEY_PREFIX     "lyc_"
#define LYC_APIKEY_RAW_BYTES  32
#define LYC_APIKEY_LEN        47 /* "lyc_" + 43 base64url characters */
#define LYC_APIKEY_HASH_HEX   64 /* SHA-256 in hex */
#define LYC_APIKEY_ID_LEN     8  /* hex digits of the public id */
#define LYC_APIKEY_NAME_MAX   64 /* bytes of a key's name */
#define LYC_APIKEY_TENANT_MAX 64 /* bytes of a tenant name (as vecstore.h) */

/* What is known about a key (never the key itself). */
typedef struct {
    char id[LYC_APIKEY_ID_LEN + 1];
    char hash[LYC_APIKEY_HASH_HEX + 1];
    char tenant[LYC_APIKEY_TENANT_MAX + 1];
    char name[LYC_APIKEY_NAME_MAX + 1];
    int64_t created;         /* unix seconds */
    int64_t revoked;         /* unix seconds; 0 while the key is valid */
    double budget_day_usd;   /* 0: no limit of the key's own */
    double budget_month_usd; /* 0: no limit */
    long rpm;                /* requests per minute; 0: no limit */
    long tpm;                /* tokens per minute; 0: no limit */
} lyc_apikey_info_t;

/* A tenant's settings. */
typedef struct {
    double budget_day_usd;   /* 0: no limit */
    double budget_month_usd; /* 0: no limit */
    int on_budget_cheapest;  /* 1: answer from the cheapest model; 0: refuse (429) */
    int share_stats;         /* learn from, and feed, the shared statistics */
    int share_exemplars;     /* lend and borrow exemplars across tenants */
} lyc_tenant_t;

/* ---- pure functions (no Redis) ------------------------------------------ */

/* Writes a new random key into out (LYC_APIKEY_LEN + 1 bytes). */
void lyc_apikey_generate(char out[LYC_APIKEY_LEN + 1]);

/* 1 when key has the shape of a Lyceum key (prefix, length, alphabet). */
int lyc_apikey_well_formed(const char *key);

/* SHA-256 of key in lowercase hex into hex (LYC_APIKEY_HASH_HEX + 1 bytes),
 * and its public id (the first 8 digits) into id when not NULL. */
void lyc_apikey_hash(const char *key, char hex[LYC_APIKEY_HASH_HEX + 1],
                     char id[LYC_APIKEY_ID_LEN + 1]);

/* 1 when id is 8 lowercase hex digits. */
int lyc_apikey_id_valid(const char *id);

/* The key of an Authorization header value ("Bearer <key>", scheme matched
 * without case): a pointer into header, or NULL when it is not a bearer
 * token. Surrounding blanks are skipped; *len gets the key's length. */
const char *lyc_apikey_from_bearer(const char *header, size_t *len);

/* The defaults of a tenant without settings. */
void lyc_tenant_defaults(lyc_tenant_t *t);

/* ---- Redis --------------------------------------------------------------- */

/* Makes a key for tenant (a valid tenant name) with the limits and name of
 * *spec (its id, hash, created and revoked are ignored) and stores its hash.
 * The key goes into key_out (LYC_APIKEY_LEN + 1 bytes): show it once, do not
 * keep it. *info_out (may be NULL) gets what was stored. 0, or -1 (logged). */
int lyc_apikey_create(lyc_redis_t *redis, const char *prefix, const lyc_apikey_info_t *spec,
                      char key_out[LYC_APIKEY_LEN + 1], lyc_apikey_info_t *info_out);

/* Looks a presented key up by its hash. 1 with *info filled when it is
 * known (revoked or not: check info->revoked), 0 when unknown or malformed,
 * -1 when Redis failed (logged). */
int lyc_apikey_lookup(lyc_redis_t *redis, const char *prefix, const char *key,
                      lyc_apikey_info_t *info);

/* The key with public id. 1 found, 0 unknown, -1 Redis failed. */
int lyc_apikey_get(lyc_redis_t *redis, const char *prefix, const char *id, lyc_apikey_info_t *info);

/* Marks key id revoked now (a revoked key stays listed). 1 revoked (or was
 * already), 0 unknown id, -1 Redis failed. */
int lyc_apikey_revoke(lyc_redis_t *redis, const char *prefix, const char *id);

/* Every key of tenant (NULL: of every tenant), in a new array *out (caller
 * frees) of *count. 0, or -1 (logged). */
int lyc_apikey_list(lyc_redis_t *redis, const char *prefix, const char *tenant,
                    lyc_apikey_info_t **out, size_t *count);

/* Loads tenant's settings (defaults for fields not set). 0, or -1 (logged). */
int lyc_tenant_load(lyc_redis_t *redis, const char *prefix, const char *tenant, lyc_tenant_t *t);

/* Sets count fields (names as in the header comment, values as text,
 * validated by the caller) of tenant's settings. 0, or -1 (logged). */
int lyc_tenant_set(lyc_redis_t *redis, const char *prefix, const char *tenant,
                   const char *const *names, const char *const *values, size_t count);

#endif
