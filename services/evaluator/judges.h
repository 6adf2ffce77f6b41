/*
 * judges.h - the record of who judges each domain, shared by the evaluator's
 * threads (one cache per process) and by its replicas (Redis).
 *
 *   <prefix>:judges:{<scope>}:<domain>   hash
 *       delegate         "" (the supervisor judges), a model, or "ensemble"
 *       spot_rate        share of the delegate's judgements the supervisor checks
 *       checks           spot checks since the hand-over
 *       disagreements    of them, how many disagreed
 *       reason           why the last hand-over or take-back happened
 *       changed_us       when (wall clock, microseconds)
 *       revoked|<model>  its paired answers (stats agree_n) when it lost the
 *                        role on spot checks; "ensemble" for an ensemble
 *
 * The scope is evaluator.stats_scope ("shared"), as for the trainer's
 * statistics and roles the decision is made from (judge_policy.h).
 *
 * Reads come from a per-domain cache: a domain's stats, roles and hash are
 * reloaded when the roles version counter moves (polled at most every
 * LYC_JUDGES_VERSION_POLL_MS) or evaluator.judges_refresh_ms has passed, so
 * a request costs no Redis round trip when nothing changed. A reload that
 * finds the stored delegate no longer right hands judging over or takes it
 * back with a compare-and-set (one Lua script), so replicas reloading at the
 * same time make one change, not two; each change is logged with its reason.
 * A spot check updates the hash the same way; replicas running spot checks
 * at the same moment may overwrite each other's spot_rate (last writer
 * wins), which only nudges a sampling rate; the counts are exact.
 *
 * Redis being away never stops judging: the supervisor judges, or the cached
 * delegate until the next reload. Each thread talks to Redis over its own
 * connection (a link); the cache is shared under a mutex.
 */
#ifndef LYCEUM_EVALUATOR_JUDGES_H
#define LYCEUM_EVALUATOR_JUDGES_H

#include "eval_config.h"
#include "judge_policy.h"

#include <stddef.h>

/* How often the roles version counter is read, at most (ms). */
#define LYC_JUDGES_VERSION_POLL_MS 500
/* Domains cached; past it the cache starts over. */
#define LYC_JUDGES_MAX_DOMAINS 4096

typedef struct lyc_judges_t lyc_judges_t;
typedef struct lyc_judges_link_t lyc_judges_link_t;

/* A cache for config (which must outlive it) over the Redis at redis_url
 * with key prefix `prefix` (both copied). Connects nothing yet: each link
 * does. Returns NULL when out of memory. */
lyc_judges_t *lyc_judges_new(const lyc_eval_config_t *config, const char *redis_url,
                             const char *prefix, long timeout_ms);

/* Frees the cache; accepts NULL, nulls the pointer. Destroy the links first. */
void lyc_judges_destroy(lyc_judges_t **self_p);

/* One thread's way to the cache: it owns that thread's Redis connection,
 * made on first use and retried every judges_refresh_ms while it fails.
 * Borrows judges. NULL when out of memory. */
lyc_judges_link_t *lyc_judges_link_new(lyc_judges_t *judges);

/* Closes the connection and frees the link; accepts NULL, nulls the pointer. */
void lyc_judges_link_destroy(lyc_judges_link_t **self_p);

/* Who judges req (judge_policy.h), refreshing its domain first when due;
 * a NULL link, an empty domain or no usable record gives the supervisor of
 * config (which must be the config the link's cache was made with). */
void lyc_judges_plan(lyc_judges_link_t *link, const lyc_eval_config_t *config,
                     const Lyceum__V1__EvalRequest *req, lyc_judge_plan_t *plan);

/* Records a spot check of plan (agreed: the delegate's verdict matched the
 * supervisor's): moves the spot-check rate and takes the role back when the
 * delegate's spot-check agreement is too low. Does nothing for a NULL link
 * or a plan that was not a spot check of the arrangement in force. trace is
 * for the logs. */
void lyc_judges_report(lyc_judges_link_t *link, const lyc_judge_plan_t *plan, int agreed,
                       const char *trace);

/* The hash key of a scope and domain into buf (cap bytes). */
void lyc_judges_key(char *buf, size_t cap, const char *prefix, const char *scope,
                    const char *domain);

#endif
