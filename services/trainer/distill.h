/*
 * distill.h - winning answers into fine-tuning data for the students.
 *
 * A winning answer (FeedbackEvent.winner, not a user's score, no error,
 * score >= trainer.exemplar_min_score) is read back from its query record
 * (<prefix>:{<tenant>}:rec:<query_id>: question, answer, winner) and
 * becomes one line in the chat fine-tuning format
 *
 *   {"messages":[{"role":"system","content":<system_prompt>},
 *                {"role":"user","content":<question>},
 *                {"role":"assistant","content":<answer>}]}
 *
 * for every student of the domain: the models whose role there is student
 * or TA (roles.h, else their configured role), among the configured models
 * and those with statistics in the domain; not the winner itself, and not a
 * memory-backend model (it learns from the records directly). The line goes
 * to <data_dir>/<student>/<domain>/train.jsonl, or every holdout_every-th
 * one to heldout.jsonl, and a TRAINING_SAMPLE event (key: student) goes to
 * the training topic.
 *
 * Per (student, domain), in Redis:
 *   <prefix>:trainer:{<student>}:data:<domain>   hash: total train heldout
 *                                                pending job job_at
 *   <prefix>:trainer:{<student>}:sampled:<query_id>   marker (sample_ttl_s)
 * One Lua script per sample sets the marker (so a replayed event adds no
 * second line), counts, and, when `pending` reaches finetune_min_samples
 * and no job of the pair is running, resets it and starts a job (jobs.h).
 */
#ifndef LYCEUM_TRAINER_DISTILL_H
#define LYCEUM_TRAINER_DISTILL_H

#include "event_sink.h"
#include "feedback.h"
#include "jobs.h"
#include "metrics.h"
#include "redis.h"
#include "settings.h"
#include "trainer_config.h"
#include "vecstore.h"

typedef struct lyc_distill_t lyc_distill_t;

typedef struct {
    const lyc_settings_t *settings;
    const lyc_trainer_config_t *config;
    lyc_redis_t *redis;    /* the trainer thread's */
    lyc_vecstore_t *store; /* the trainer thread's */
    lyc_event_sink_t *sink;
    lyc_jobs_t *jobs; /* NULL: no fine-tuning */
    lyc_metrics_t *metrics;
} lyc_distill_config_t;

/* Everything in config is borrowed. NULL when out of memory. */
lyc_distill_t *lyc_distill_new(const lyc_distill_config_t *config);

/* Accepts NULL; nulls *self_p. */
void lyc_distill_destroy(lyc_distill_t **self_p);

/* Turns ev into samples when it is a winning answer worth learning;
 * anything else is ignored. Returns the number of samples written, or -1
 * when Redis failed (logged). */
int lyc_distill_event(lyc_distill_t *self, const lyc_feedback_t *ev);

/* The counter hash of (student, domain) into buf. */
void lyc_distill_counter_key(char *buf, size_t cap, const char *prefix, const char *student,
                             const char *domain);

/* <data_dir>/<student>/<domain>/<file> (path-safe names) into buf. */
void lyc_distill_path(char *buf, size_t cap, const char *data_dir, const char *student,
                      const char *domain, const char *file);

/* The chat fine-tuning line for one example (a new string the caller
 * frees), or NULL when out of memory. */
char *lyc_distill_line(const char *system_prompt, const char *question, const char *answer);

#endif
