/*
 * job_state.h - a fine-tuning or onboarding job's record, in Redis and on
 * the training topic.
 *
 *   <prefix>:jobs:<job_id>   hash: job_id kind student_model domain
 *                            dataset_path heldout_path output_dir samples
 *                            state (QUEUED RUNNING SUCCEEDED FAILED GATED
 *                            REJECTED) dispatcher result_model error
 *                            external_id created_at_us updated_at_us
 *                            gate_score parent_score
 *   <prefix>:jobs:index      sorted set: job ids by creation time
 *
 * Every state change rewrites the hash and sends a TRAINING_JOB event (key:
 * the student model) to settings.topic_training.
 */
#ifndef LYCEUM_TRAINER_JOB_STATE_H
#define LYCEUM_TRAINER_JOB_STATE_H

#include "event_sink.h"
#include "ids.h"
#include "redis.h"

#include <stdint.h>

#define LYC_JOB_PATH_MAX 1024

typedef struct {
    char job_id[LYC_ID_LEN];
    char kind[16];     /* "finetune" or "onboard" */
    char student[128]; /* model trained (onboard: the template copied) */
    char domain[128];
    char dataset[LYC_JOB_PATH_MAX];
    char heldout[LYC_JOB_PATH_MAX];
    char output[LYC_JOB_PATH_MAX];
    unsigned samples;       /* training examples */
    int state;              /* Lyceum__V1__JobState */
    char dispatcher[16];    /* command, openai or onboard */
    char result_model[256]; /* the new version */
    char error[512];
    char external_id[256]; /* the fine-tuning API's job id */
    int64_t created_us;
    int64_t updated_us;
    double gate_score;
    double parent_score; /* -1 when there was no parent to compare with */
} lyc_job_t;

/* The schema's name of a state without its prefix ("GATED"). */
const char *lyc_job_state_name(int state);

/* Sets job->state and updated time, writes the record and sends the event.
 * Returns 0, or -1 (logged) when Redis refused. */
int lyc_job_publish(lyc_redis_t *redis, const char *prefix, lyc_event_sink_t *sink,
                    const char *topic, lyc_job_t *job, int state);

#endif
