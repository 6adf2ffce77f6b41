/*
 * event_sink.h - Lyceum messages into the Kafka event log, from any thread.
 *
 * Wraps one producer (eventlog.h) for a multi-threaded service: a send packs
 * the message in its Envelope and hands it to the producer under a lock, so
 * it is in the spool (accepted, never lost) when the call returns; a
 * background thread polls the producer so deliveries are acknowledged and
 * spooled events resent.
 *
 * The spool lives in a directory of kafka.spool_dir named after the process
 * that made it (<service>-<host>-<pid>). A process that starts adopts a
 * directory of its service whose lock is free (its maker is gone: a crash, a
 * restart, a scaled-down replica on the same volume), one still holding
 * events first, so the events that process had accepted and Kafka had not
 * yet acknowledged go out now, rather than waiting for a process with the
 * same pid. Only when no such directory exists does it make its own, so
 * directories do not pile up across restarts.
 */
#ifndef LYCEUM_EVENT_SINK_H
#define LYCEUM_EVENT_SINK_H

#include "envelope.h"
#include "settings.h"

#include <stdint.h>

typedef struct lyc_event_sink_t lyc_event_sink_t;

/* Opens the producer on a spool directory of service (e.g. "router") in
 * settings->kafka_spool_dir, adopting a free one or making
 * <service>-<instance> (instance unique per process, e.g. "host-1234"),
 * and starts the poll thread. NULL (logged) when the spool or the producer
 * cannot be made. */
lyc_event_sink_t *lyc_event_sink_new(const lyc_settings_t *settings, const char *service,
                                     const char *instance);

/* The spool directory the sink writes to. */
const char *lyc_event_sink_spool_dir(const lyc_event_sink_t *self);

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
