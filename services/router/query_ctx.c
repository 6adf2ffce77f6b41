/*
 * query_ctx.c - one thread's connections to Redis, the broker and the evaluators.
 */
#include "router.h"

#include "bus.h"
#include "broker.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A DEALER connected to every address of a comma-separated list; security
 * (NULL for inproc) makes it a CURVE client. */
static zsock_t *s_dealer(const char *endpoints, const lyc_bus_security_t *security)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (!sock)
        return NULL;
    lyc_bus_socket_setup(sock);
    if (lyc_bus_security_client(security, sock) != 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    char *list = strdup(endpoints), *save = NULL;
    for (char *ep = strtok_r(list, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
        while (*ep == ' ')
            ep++;
        if (*ep && zsock_connect(sock, "%s", ep) != 0)
            LYC_ERROR(NULL, "router: cannot connect to %s", ep);
    }
    free(list);
    return sock;
}

lyc_query_ctx_t *lyc_query_ctx_new(lyc_router_t *router)
{
    const lyc_settings_t *s = &router->settings;
    lyc_query_ctx_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->router = router;
    self->seed = (unsigned) time(NULL) ^ (unsigned) (uintptr_t) self ^ (unsigned) getpid();
    lyc_vecstore_config_t vc = {
        .redis_url = s->redis_url,
        .key_prefix = s->redis_prefix,
        .dim = (size_t) s->embedding_dim,
        .timeout_ms = (int) s->redis_timeout_ms,
        .search_ef = (int) s->redis_search_ef,
        .search_threaded = s->redis_search_threaded,
    };
    self->store = lyc_vecstore_new(&vc);
    self->redis = lyc_redis_new(s->redis_url, (int) s->redis_timeout_ms);
    self->broker = s_dealer(LYC_BROKER_INPROC, NULL);
    self->evaluator = s_dealer(s->bus_evaluator, router->security);
    if (strcmp(s->embedding_backend, "http") == 0) {
        lyc_embed_http_config_t ec = {
            .base_url = s->embedding_url,
            .model = s->embedding_model,
            .api_key_env = s->embedding_api_key_env,
            .dim = (unsigned) s->embedding_dim,
        };
        self->embed_http = lyc_embed_http_new(&ec);
        if (!self->embed_http)
            goto out_fail;
    }
    if (!self->store || !self->redis || !self->broker || !self->evaluator)
        goto out_fail;
    return self;
out_fail:
    lyc_query_ctx_destroy(&self);
    return NULL;
}

void lyc_query_ctx_destroy(lyc_query_ctx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_query_ctx_t *self = *self_p;
    lyc_vecstore_destroy(&self->store);
    lyc_redis_destroy(&self->redis);
    lyc_embed_http_destroy(&self->embed_http);
    zsock_destroy(&self->broker);
    zsock_destroy(&self->evaluator);
    free(self);
    *self_p = NULL;
}

int lyc_query_ctx_embed(lyc_query_ctx_t *self, const char *text, float *out)
{
    if (self->embed_http)
        return lyc_embed_http_embed(self->embed_http, text, strlen(text), out);
    return lyc_embedder_embed(self->router->embedder, text, strlen(text), out);
}

const char *lyc_query_ctx_scope(const lyc_query_ctx_t *self)
{
    return self->stats_scope ? self->stats_scope : "shared";
}
