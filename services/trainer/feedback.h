/*
 * feedback.h - one feedback event read from the log, checked.
 *
 * A Kafka record's value is an Envelope (envelope.h) holding a
 * FeedbackEvent. Decoding checks what the trainer relies on: the envelope
 * type, an event id, a trace id, a model name that can be a statistics
 * field (no '|'), a domain that is a vector-store label and a tenant that
 * is a vector-store tenant, and a finite score in [0, 1]. Anything else is
 * malformed and skipped, with a reason.
 */
#ifndef LYCEUM_TRAINER_FEEDBACK_H
#define LYCEUM_TRAINER_FEEDBACK_H

#include "envelope.h"

#include <stddef.h>

typedef Lyceum__V1__FeedbackEvent lyc_feedback_t;

#define LYC_FEEDBACK_NAME_MAX 128 /* bytes in an id, model, domain or tenant */

/* Decodes and checks one record value. Returns the event, which the caller
 * frees with lyc_feedback_free(), or NULL with the reason in err. */
lyc_feedback_t *lyc_feedback_decode(const void *data, size_t len, char *err, size_t errcap);

/* Accepts NULL; nulls *ev_p. */
void lyc_feedback_free(lyc_feedback_t **ev_p);

/* 1 when a user scored it (SCORE_SOURCE_HUMAN). */
int lyc_feedback_is_human(const lyc_feedback_t *ev);

/* 1 when a grader scored the answer; 0 when nobody did (source unspecified:
 * a familiar query not sampled for audit, or no evaluator answered). */
int lyc_feedback_scored(const lyc_feedback_t *ev);

/* 1 when the call failed, timed out or abstained (no score to count): an
 * error is set, or (not a human event) no answer arrived at all (no usage,
 * latency or cost). */
int lyc_feedback_failed(const lyc_feedback_t *ev);

/* 1 when s is usable as a model name: 1 to LYC_FEEDBACK_NAME_MAX - 1 bytes,
 * no control characters, '"', '\\' or '|'. */
int lyc_feedback_name_valid(const char *s);

#endif
