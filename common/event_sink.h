/*
 * event_sink.h - Lyceum messages into the Kafka event log, from any thread.
 *
 * Wraps one producer (eventlog.h) for a multi-threaded service: a send packs
 * the message in its Envelope and hands it to the producer under a lock, so
 * it is in the spool (accepted, never lost) when the call returns; a
 * background thread polls the producer so deliveries are acknowledged and
 * spooled events resent. The spool lives in <kafka.spool_dir>/<name>.
 */
#ifndef LYCEUM_EVENT_SINK_H
#define LYCEUM_EVENT_SINK_H

#include "envelope.h"
#include "settings.h"

#include <stdint.h>

typedef struct lyc_event_sink_t lyc_event_sink_t;

/* Opens the producer on <settings->kafka_spool_dir>/<name> (name unique per
 * process, e.g. "router-host-1234") and starts the poll thread. NULL (logged)
 * when the spool or the producer cannot be made. */
lyc_event_sink_t *lyc_event_sink_new(const lyc_settings_t *settings, const char *name);

/* Flushes for up to flush_ms, stops the thread, closes the producer (what is
 * not delivered stays in the spool). Accepts NULL; nulls *self_p. */
void lyc_event_sink_destroy(lyc_event_sink_t **self_p, int flush_ms);

/* Packs msg of `type` with trace and sends it to topic under key. Returns 0
 * when accepted, -1 (logged) when not (spool full, bad message). */
int lyc_event_sink_send(lyc_event_sink_t *self, const char *topic, const char *key,
                        lyc_msg_type_t type, const char *trace, const ProtobufCMessage *msg);

/* Events accepted and not yet acknowledged by the broker. */
size_t lyc_event_sink_pending(lyc_event_sink_t *self);

/* Events accepted since start. */
uint64_t lyc_event_sink_accepted(lyc_event_sink_t *self);

#endif
