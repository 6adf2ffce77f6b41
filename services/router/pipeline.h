/*
 * pipeline.h - one query, end to end: embed, decide, fan out, evaluate,
 * answer, record. Used by both front doors (HTTP and the ZeroMQ client API).
 */
#ifndef LYCEUM_ROUTER_PIPELINE_H
#define LYCEUM_ROUTER_PIPELINE_H

#include "apikeys.h"
#include "router.h"

/* Names the front door accepts for "let Lyceum choose". */
int lyc_pipeline_auto_model(const char *model);

/* Runs the query. Returns a new ClientReply (lyc_pb_free); a failure is in
 * reply->error, never a crash. NULL only when memory runs out. */
Lyceum__V1__ClientReply *lyc_pipeline_run(lyc_query_ctx_t *ctx,
                                          const Lyceum__V1__ClientQuery *query);

/* lyc_pipeline_run for a caller with an API key (NULL: none): the key's
 * tenant is the query's, and its budgets apply beside the tenant's. */
Lyceum__V1__ClientReply *lyc_pipeline_run_as(lyc_query_ctx_t *ctx,
                                             const Lyceum__V1__ClientQuery *query,
                                             const lyc_apikey_info_t *key);

#endif
