/*
 * job_state.c - job records and TRAINING_JOB events.
 */
#include "job_state.h"

#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

const char *lyc_job_state_name(int state)
{
    static const char *const names[] = {"UNSPECIFIED", "QUEUED", "RUNNING", "SUCCEEDED",
                                        "FAILED",      "GATED",  "REJECTED"};
    return state >= 0 && state <= 6 ? names[state] : "UNSPECIFIED";
}

static int s_write(lyc_redis_t *redis, const char *prefix, const lyc_job_t *job)
{
    char key[256], index[256], samples[16], created[24], updated[24], gate[32], parent[32];
    snprintf(key, sizeof key, "%s:jobs:%s", prefix, job->job_id);
    snprintf(index, sizeof index, "%s:jobs:index", prefix);
    snprintf(samples, sizeof samples, "%u", job->samples);
    snprintf(created, sizeof created, "%lld", (long long) job->created_us);
    snprintf(updated, sizeof updated, "%lld", (long long) job->updated_us);
    snprintf(gate, sizeof gate, "%.6f", job->gate_score);
    snprintf(parent, sizeof parent, "%.6f", job->parent_score);
    const char *hset[] = {"HSET",          key,
                          "job_id",        job->job_id,
                          "kind",          job->kind,
                          "student_model", job->student,
                          "domain",        job->domain,
                          "dataset_path",  job->dataset,
                          "heldout_path",  job->heldout,
                          "output_dir",    job->output,
                          "samples",       samples,
                          "state",         lyc_job_state_name(job->state),
                          "dispatcher",    job->dispatcher,
                          "result_model",  job->result_model,
                          "error",         job->error,
                          "external_id",   job->external_id,
                          "created_at_us", created,
                          "updated_at_us", updated,
                          "gate_score",    gate,
                          "parent_score",  parent};
    const char *zadd[] = {"ZADD", index, created, job->job_id};
    lyc_redis_cmd_t cmds[] = {{(int) (sizeof hset / sizeof hset[0]), hset, NULL}, {4, zadd, NULL}};
    redisReply *replies[2];
    if (lyc_redis_pipeline(redis, 2, cmds, replies) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            LYC_WARN(NULL, "trainer: writing job %s: %s", job->job_id, replies[i]->str);
            rc = -1;
        }
        freeReplyObject(replies[i]);
    }
    return rc;
}

static void s_event(lyc_event_sink_t *sink, const char *topic, const lyc_job_t *job)
{
    Lyceum__V1__TrainingJob ev = LYCEUM__V1__TRAINING_JOB__INIT;
    ev.job_id = (char *) job->job_id;
    ev.student_model = (char *) job->student;
    ev.domain = (char *) job->domain;
    ev.dataset_path = (char *) job->dataset;
    ev.samples = job->samples;
    ev.state = (Lyceum__V1__JobState) job->state;
    ev.dispatcher = (char *) job->dispatcher;
    ev.result_model = (char *) job->result_model;
    ev.error = (char *) job->error;
    ev.created_at_us = job->created_us;
    ev.updated_at_us = job->updated_us;
    ev.gate_score = job->gate_score;
    if (lyc_event_sink_send(sink, topic, job->student, LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB, NULL,
                            &ev.base) != 0)
        LYC_WARN(NULL, "trainer: the TRAINING_JOB event of %s was not accepted", job->job_id);
}

int lyc_job_publish(lyc_redis_t *redis, const char *prefix, lyc_event_sink_t *sink,
                    const char *topic, lyc_job_t *job, int state)
{
    job->state = state;
    job->updated_us = lyc_wall_us();
    if (!job->created_us)
        job->created_us = job->updated_us;
    int rc = s_write(redis, prefix, job);
    s_event(sink, topic, job);
    LYC_INFO(NULL, "trainer: job %s (%s %s, domain %s) is %s%s%s", job->job_id, job->kind,
             job->student, job->domain, lyc_job_state_name(state), *job->error ? ": " : "",
             job->error);
    return rc;
}
