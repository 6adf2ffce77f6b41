/*
 * ratelimit.h - requests and tokens per minute per API key, shared by every
 * router replica through Redis.
 *
 * A sliding window over two fixed one-minute windows: the use counted is
 * the current window's plus the previous window's weighted by the share of
 * it still inside the last 60 s. That is within a few per cent of an exact
 * sliding log, costs two small hashes per key and one script call per
 * request, and never lets a burst at a window's edge double the rate.
 *
 *   <prefix>:rate:{<key id>}:<minute>   hash: req, tok
 *
 * A request is admitted with an estimate of its tokens (prompt bytes / 4 +
 * max_tokens or a default); once answered, lyc_ratelimit_adjust() corrects
 * the count with the tokens it really used.
 */
#ifndef LYCEUM_RATELIMIT_H
#define LYCEUM_RATELIMIT_H

#include "redis.h"

#include <stdint.h>

#define LYC_RATELIMIT_WINDOW_MS 60000

/* Why a request was refused and when to come back. */
typedef struct {
    const char *what;   /* "requests" or "tokens" */
    long limit;         /* the limit per minute that refused */
    long retry_after_s; /* seconds until the request would pass (>= 1) */
} lyc_ratelimit_refusal_t;

/* The milliseconds until used + cost fits under limit, given the previous
 * and current windows' counts and the time elapsed in the current window
 * (all the sliding-window arithmetic the script does, for tests). A cost
 * above the limit never fits: one window is returned. */
long lyc_ratelimit_retry_ms(double prev, double cur, double cost, double limit, long elapsed_ms);

/* Admits one request of `tokens` estimated tokens for key id under rpm and
 * tpm (0: no limit; both 0: no round trip). 0 admitted (and counted), 1
 * refused (*why filled), -1 Redis failed (logged). */
int lyc_ratelimit_admit(lyc_redis_t *redis, const char *prefix, const char *key_id, long rpm,
                        long tpm, long tokens, lyc_ratelimit_refusal_t *why);

/* Adds delta tokens (may be negative) to key id's current window: the
 * difference between what a request used and its estimate. 0 or -1. */
int lyc_ratelimit_adjust(lyc_redis_t *redis, const char *prefix, const char *key_id,
                         long delta_tokens);

#endif
