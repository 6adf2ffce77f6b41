/*
 * caller.h - one pool thread's means of answering a Task: its own backend
 * instance and, when the model takes exemplars, its own exemplar search.
 *
 * lyc_caller_answer() is the whole life of one call inside the worker:
 * fetch exemplars (when the model wants N > 0 and the task brought none),
 * hand the backend a copy of the task whose deadline_ms is the time left
 * (the task's deadline_ms, or the model's timeout_ms when it is 0, minus
 * the time the task waited in the queue), then complete the Answer: task
 * and trace ids, model, worker id, latency and cost (usage at the
 * configured prices per million tokens). An Answer with an error carries no
 * content.
 */
#ifndef LYCEUM_WORKER_CALLER_H
#define LYCEUM_WORKER_CALLER_H

#include <stdint.h>

#include "backend.h"

typedef struct lyc_caller_t lyc_caller_t;

/* A caller for one thread; worker_id is borrowed and must outlive it.
 * NULL (logged) when the backend or the exemplar search cannot be made. */
lyc_caller_t *lyc_caller_new(const lyc_backend_env_t *env, const char *worker_id);

/* Accepts NULL, nulls *self_p. */
void lyc_caller_destroy(lyc_caller_t **self_p);

/* Answers task, which arrived at received_us (lyc_mono_us), into out (an
 * initialised Answer). out borrows strings from task: release it with
 * lyc_answer_release() before the task goes. */
void lyc_caller_answer(lyc_caller_t *self, const lyc_task_t *task, int64_t received_us,
                       lyc_answer_t *out);

#endif
