/*
 * auth.h - who is calling the HTTP front door, for which tenant, and how
 * fast they may call.
 *
 * With `router.auth: required` (the default) every route but /healthz and
 * /metrics needs "Authorization: Bearer <key>" with a key made by `lyceum
 * keys create` (apikeys.h). The key's tenant IS the request's tenant: a
 * request naming another tenant in metadata.tenant is refused (403), never
 * served in either tenant. A key's look-up is cached per thread for at most
 * one second, so a revoked key stops working within a second.
 *
 * With `router.auth: open` (the embedded demo on loopback) requests need no
 * key and name their tenant in metadata.tenant; a Lyceum key that is sent
 * anyway is checked and scopes the request as above, while other bearer
 * tokens (the "unused" key an OpenAI client insists on) are ignored. The
 * router refuses to start open on an address other than loopback unless
 * `router.auth_open_anywhere` is set.
 *
 * Errors are OpenAI error objects: 401 invalid_api_key / missing_api_key,
 * 403 permission_error, 429 rate_limit_exceeded with Retry-After.
 */
#ifndef LYCEUM_ROUTER_AUTH_H
#define LYCEUM_ROUTER_AUTH_H

#include "apikeys.h"
#include "openai_api.h"
#include "router.h"

#include <netinet/in.h>

/* The caller of one request. */
typedef struct {
    int authenticated;     /* a valid key was presented */
    lyc_apikey_info_t key; /* that key, when authenticated */
} lyc_auth_t;

/* Checks the auth settings against the listening address at start: logs
 * the "running OPEN" warning, or refuses (logged, -1) open mode on an
 * address that is not loopback. 0 otherwise. */
int lyc_auth_check_listen(const lyc_router_config_t *config, const struct sockaddr_in *addr);

/* Authenticates a request from its Authorization header (NULL: none).
 * 0 with *who filled (who->authenticated 0 in open mode without a key), or
 * -1 with *err: 401 for a missing, unknown or revoked key, 503 when the
 * keys cannot be read. The key itself is never logged, only its id. */
int lyc_auth_request(lyc_query_ctx_t *ctx, const char *authorization, lyc_auth_t *who,
                     lyc_api_error_t *err);

/* The tenant a request acts for, into out (cap bytes): the key's tenant, or
 * in open mode requested (NULL or "": the default tenant). 0, or -1 with
 * *err 403 when requested names a tenant other than the key's. */
int lyc_auth_tenant(const lyc_router_t *router, const lyc_auth_t *who, const char *requested,
                    char *out, size_t cap, lyc_api_error_t *err);

/* Admits a request of `tokens` estimated tokens under the key's rate
 * limits. 0, or -1 with *err (429, or 503 when Redis failed) and
 * *retry_after_s (0 when no Retry-After applies). */
int lyc_auth_admit(lyc_query_ctx_t *ctx, const lyc_auth_t *who, long tokens, lyc_api_error_t *err,
                   long *retry_after_s);

/* After the answer: corrects the key's token count from the estimate to
 * what the request used. */
void lyc_auth_used(lyc_query_ctx_t *ctx, const lyc_auth_t *who, long estimated, long used);

#endif
