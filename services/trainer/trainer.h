/*
 * trainer.h - lyceum-trainer, the trainer-dispatcher: consumes the
 * feedback log and turns it into statistics, roles, training data, jobs
 * and new domains.
 *
 * One thread runs the consume loop (lyc_trainer_run): it reads feedback
 * events as a member of the consumer group trainer.group (replicas share
 * the partitions), holds each query's events briefly (tracebuf.h), applies
 * them to the statistics exactly once (apply.h), writes training samples
 * from winning answers (distill.h), clusters unlabelled queries
 * (newdomain.h), re-decides the roles of the domains that got evidence
 * (promote.h) every trainer.role_interval_ms, and commits the offsets of
 * what it applied every trainer.commit_interval_ms and when it stops. A
 * second thread runs fine-tuning and onboarding jobs (jobs.h); libmicrohttpd
 * serves /metrics and /healthz (trainer_http.h).
 *
 * When Redis fails, the loop holds the query it could not apply, stops
 * reading and committing, and retries every half second: nothing is
 * skipped, and nothing is committed that was not applied.
 */
#ifndef LYCEUM_TRAINER_TRAINER_H
#define LYCEUM_TRAINER_TRAINER_H

#include "metrics.h"
#include "settings.h"
#include "trainer_config.h"

typedef struct lyc_trainer_t lyc_trainer_t;

/* Connects to Redis, joins the consumer group, starts the job runner and
 * the HTTP server. settings, config and doc (the cluster file) are borrowed
 * and must outlive the trainer. NULL (logged) when something cannot start. */
lyc_trainer_t *lyc_trainer_new(const lyc_settings_t *settings, const lyc_trainer_config_t *config,
                               const lyc_confdoc_t *doc);

/* Stops the job runner (a running job fails), leaves the consumer group
 * (committing what was applied), flushes the event sink. Accepts NULL;
 * nulls *self_p. */
void lyc_trainer_destroy(lyc_trainer_t **self_p);

/* Runs the consume loop until lyc_trainer_stop(). Returns 0 after a stop,
 * -1 when the consumer failed fatally. */
int lyc_trainer_run(lyc_trainer_t *self);

/* Asks the loop to finish: applies what it holds, commits, returns.
 * Async-signal-safe; any thread. */
void lyc_trainer_stop(lyc_trainer_t *self);

/* The trainer's metrics registry (owned by the trainer). */
lyc_metrics_t *lyc_trainer_metrics(lyc_trainer_t *self);

#endif
