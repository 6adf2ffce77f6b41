/*
 * trainer_http.h - the trainer's HTTP side (libmicrohttpd), for operators:
 *
 *   GET /metrics   Prometheus text exposition of the trainer's registry
 *   GET /healthz   200 {"status":"ok", ...} while the consume loop turns,
 *                  503 when it has not for 30 s (stuck on Redis, stopped)
 */
#ifndef LYCEUM_TRAINER_HTTP_H
#define LYCEUM_TRAINER_HTTP_H

#include "metrics.h"

#include <stdint.h>

typedef struct lyc_trainer_http_t lyc_trainer_http_t;

/* Serves on listen ("host:port"); *heartbeat_us is the monotonic time the
 * loop last turned (read without a lock: a torn read only delays a 503).
 * NULL (logged) when the address is bad or taken. */
lyc_trainer_http_t *lyc_trainer_http_new(const char *listen, lyc_metrics_t *metrics,
                                         const volatile int64_t *heartbeat_us);

/* Stops serving and frees. Accepts NULL; nulls *self_p. */
void lyc_trainer_http_destroy(lyc_trainer_http_t **self_p);

#endif
