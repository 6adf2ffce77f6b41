/*
 * jobs.h - the job runner: one thread that takes fine-tuning and
 * onboarding jobs one at a time from a queue and carries each through
 *
 *   QUEUED -> RUNNING -> SUCCEEDED (candidate registered) -> GATED | REJECTED
 *                     -> FAILED
 *
 * A fine-tuning job snapshots the (student, domain) data set into
 * <data_dir>/jobs/<job_id>/, runs the dispatcher (dispatch.h), loads the
 * result ({output}/model.yaml, or the API's fine-tuned model served by the
 * openai backend at the same base URL) and registers it as a candidate
 * (model_registry.h) named <student>-<domain>-v<n>. An onboarding job
 * registers a copy of trainer.onboard_template for a new domain instead.
 * Then the quality gate (gate.h): held-out accuracy >= gate_min_score and
 * at most gate_max_regression below the parent's on the same questions. A
 * candidate that passes becomes active; with spawn_workers a worker starts
 * serving it (spawn.h) from <data_dir>/models/<name>.yaml (cluster_file.h).
 *
 * The thread has its own Redis connection; the queue is fed from the
 * trainer's thread.
 */
#ifndef LYCEUM_TRAINER_JOBS_H
#define LYCEUM_TRAINER_JOBS_H

#include "event_sink.h"
#include "metrics.h"
#include "redis.h"
#include "settings.h"
#include "trainer_config.h"

#include <stddef.h>

typedef struct lyc_jobs_t lyc_jobs_t;

typedef struct {
    const lyc_settings_t *settings;
    const lyc_trainer_config_t *config;
    const lyc_confdoc_t *doc; /* the cluster file: parents and the onboarding template */
    lyc_event_sink_t *sink;
    lyc_metrics_t *metrics;
} lyc_jobs_config_t;

/* Starts the runner; everything in config is borrowed and must outlive it.
 * NULL (logged) when Redis cannot be reached or the thread cannot start. */
lyc_jobs_t *lyc_jobs_new(const lyc_jobs_config_t *config);

/* Stops the running job (its command is killed; it fails), stops the
 * spawned workers, joins the thread. Queued jobs stay QUEUED in Redis.
 * Accepts NULL; nulls *self_p. */
void lyc_jobs_destroy(lyc_jobs_t **self_p);

/* Queues a fine-tuning job of student on domain's data, recording it as
 * QUEUED through redis (the caller's connection). Returns 0 or -1. */
int lyc_jobs_finetune(lyc_jobs_t *self, lyc_redis_t *redis, const char *job_id, const char *student,
                      const char *domain);

/* Queues the onboarding of a student for a new domain, asked the questions
 * of heldout_path (chat-format JSONL). Returns 0 or -1. */
int lyc_jobs_onboard(lyc_jobs_t *self, lyc_redis_t *redis, const char *job_id, const char *domain,
                     const char *heldout_path);

/* Jobs waiting or running. */
size_t lyc_jobs_pending(lyc_jobs_t *self);

#endif
