/*
 * auth.c - API key checks with a one-second per-thread cache, tenant
 * scoping and rate limits.
 */
#include "auth.h"

#include "clock.h"
#include "log.h"
#include "ratelimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Key look-ups remembered per thread, and for how long. */
#define S_CACHE_SLOTS 32
#define S_CACHE_US    1000000

typedef struct {
    char hash[LYC_APIKEY_HASH_HEX + 1]; /* "" for a free slot */
    int found;                          /* the key is known (maybe revoked) */
    lyc_apikey_info_t info;
    int64_t until_us; /* monotonic time the entry stops being used */
} s_cached_t;

static _Thread_local s_cached_t s_cache[S_CACHE_SLOTS];
static _Thread_local unsigned s_cache_next;

static int s_open(const lyc_router_config_t *config)
{
    return strcmp(config->auth, "open") == 0;
}

int lyc_auth_check_listen(const lyc_router_config_t *config, const struct sockaddr_in *addr)
{
    if (!s_open(config))
        return 0;
    int loopback = (ntohl(addr->sin_addr.s_addr) >> 24) == 127;
    if (!loopback && !config->auth_open_anywhere) {
        LYC_ERROR(NULL,
                  "router: refusing to run OPEN without API keys on %s, which is not loopback; "
                  "set router.auth: required (and create keys with `lyceum keys create`), or "
                  "router.auth_open_anywhere: true if you really mean it",
                  config->http_listen);
        return -1;
    }
    LYC_WARN(NULL, "router: running OPEN without API keys on %s%s", config->http_listen,
             loopback ? " (loopback only)" : " (auth_open_anywhere: reachable from the network)");
    return 0;
}

/* The cached look-up of hash, or NULL when absent or stale. */
static const s_cached_t *s_cache_get(const char *hash)
{
    int64_t now = lyc_mono_us();
    for (int i = 0; i < S_CACHE_SLOTS; i++)
        if (s_cache[i].until_us > now && strcmp(s_cache[i].hash, hash) == 0)
            return &s_cache[i];
    return NULL;
}

static void s_cache_put(const char *hash, int found, const lyc_apikey_info_t *info)
{
    s_cached_t *slot = &s_cache[s_cache_next++ % S_CACHE_SLOTS];
    snprintf(slot->hash, sizeof slot->hash, "%s", hash);
    slot->found = found;
    if (found)
        slot->info = *info;
    slot->until_us = lyc_mono_us() + S_CACHE_US;
}

/* Finds the key: 1 known (info filled), 0 unknown, -1 Redis failed. */
static int s_find(lyc_query_ctx_t *ctx, const char *key, lyc_apikey_info_t *info)
{
    char hash[LYC_APIKEY_HASH_HEX + 1];
    lyc_apikey_hash(key, hash, NULL);
    const s_cached_t *hit = s_cache_get(hash);
    if (hit) {
        if (hit->found)
            *info = hit->info;
        return hit->found;
    }
    int found = lyc_apikey_lookup(ctx->redis, ctx->router->settings.redis_prefix, key, info);
    if (found >= 0)
        s_cache_put(hash, found, info);
    return found;
}

static int s_unauthorized(lyc_api_error_t *err, const char *code, const char *message)
{
    return lyc_api_fail(err, 401, "invalid_request_error", code, NULL, "%s", message);
}

/* Checks a presented key (len bytes at key). */
static int s_check_key(lyc_query_ctx_t *ctx, const char *key, size_t len, lyc_auth_t *who,
                       lyc_api_error_t *err)
{
    char copy[LYC_APIKEY_LEN + 1];
    if (len != LYC_APIKEY_LEN)
        return s_unauthorized(err, "invalid_api_key", "Incorrect API key provided.");
    memcpy(copy, key, len);
    copy[len] = '\0';
    if (!lyc_apikey_well_formed(copy))
        return s_unauthorized(err, "invalid_api_key", "Incorrect API key provided.");
    int found = s_find(ctx, copy, &who->key);
    if (found < 0)
        return lyc_api_fail(err, 503, "server_error", "unavailable", NULL,
                            "the API keys cannot be checked right now; retry");
    if (!found)
        return s_unauthorized(err, "invalid_api_key", "Incorrect API key provided.");
    if (who->key.revoked) {
        LYC_INFO(NULL, "router: refused revoked key %s of tenant %s", who->key.id, who->key.tenant);
        return s_unauthorized(err, "invalid_api_key", "This API key has been revoked.");
    }
    who->authenticated = 1;
    return 0;
}

int lyc_auth_request(lyc_query_ctx_t *ctx, const char *authorization, lyc_auth_t *who,
                     lyc_api_error_t *err)
{
    memset(who, 0, sizeof *who);
    size_t len = 0;
    const char *key = lyc_apikey_from_bearer(authorization, &len);
    if (s_open(&ctx->router->config)) {
        /* Open: only a Lyceum key is checked; other tokens are ignored. */
        if (!key || len < 4 || strncmp(key, LYC_APIKEY_PREFIX, 4) != 0)
            return 0;
        return s_check_key(ctx, key, len, who, err);
    }
    if (!key)
        return s_unauthorized(err, "missing_api_key",
                              "You didn't provide an API key. Send it in the Authorization "
                              "header: 'Authorization: Bearer YOUR_KEY'.");
    return s_check_key(ctx, key, len, who, err);
}

int lyc_auth_tenant(const lyc_router_t *router, const lyc_auth_t *who, const char *requested,
                    char *out, size_t cap, lyc_api_error_t *err)
{
    int named = requested && *requested;
    if (!who->authenticated) {
        snprintf(out, cap, "%s", named ? requested : router->config.default_tenant);
        return 0;
    }
    if (named && strcmp(requested, who->key.tenant) != 0) {
        LYC_WARN(NULL, "router: key %s of tenant %s asked to act for another tenant", who->key.id,
                 who->key.tenant);
        return lyc_api_fail(err, 403, "permission_error", "tenant_mismatch", "metadata.tenant",
                            "this API key belongs to another tenant than metadata.tenant names; "
                            "leave metadata.tenant out or use a key of that tenant");
    }
    snprintf(out, cap, "%s", who->key.tenant);
    return 0;
}

int lyc_auth_admit(lyc_query_ctx_t *ctx, const lyc_auth_t *who, long tokens, lyc_api_error_t *err,
                   long *retry_after_s)
{
    *retry_after_s = 0;
    if (!who->authenticated)
        return 0;
    lyc_ratelimit_refusal_t why;
    int rc = lyc_ratelimit_admit(ctx->redis, ctx->router->settings.redis_prefix, who->key.id,
                                 who->key.rpm, who->key.tpm, tokens, &why);
    if (rc < 0)
        return lyc_api_fail(err, 503, "server_error", "unavailable", NULL,
                            "the rate limits cannot be checked right now; retry");
    if (rc == 0)
        return 0;
    *retry_after_s = why.retry_after_s;
    LYC_INFO(NULL, "router: key %s over its %s per minute (%ld)", who->key.id, why.what, why.limit);
    return lyc_api_fail(err, 429, why.what, "rate_limit_exceeded", NULL,
                        "Rate limit reached for this API key: %ld %s per minute. Retry after "
                        "%ld s.",
                        why.limit, why.what, why.retry_after_s);
}

void lyc_auth_used(lyc_query_ctx_t *ctx, const lyc_auth_t *who, long estimated, long used)
{
    if (!who->authenticated || who->key.tpm <= 0 || used == estimated)
        return;
    if (lyc_ratelimit_adjust(ctx->redis, ctx->router->settings.redis_prefix, who->key.id,
                             used - estimated) != 0)
        LYC_WARN(NULL, "router: could not correct the token count of key %s", who->key.id);
}
