/*
 * envelope.h - packs and unpacks Lyceum messages in their Envelope.
 *
 * The same envelope travels on the bus (one ZeroMQ frame) and in Kafka (one
 * record value), so one reader serves both. Decoding never trusts its input:
 * a truncated, oversized, unknown-type, wrong-version or unparsable envelope
 * gives -1 and a reason, never a crash.
 */
#ifndef LYCEUM_ENVELOPE_H
#define LYCEUM_ENVELOPE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "lyceum/v1/common.pb-c.h"
#include "lyceum/v1/envelope.pb-c.h"
#include "lyceum/v1/evaluation.pb-c.h"
#include "lyceum/v1/events.pb-c.h"
#include "lyceum/v1/query.pb-c.h"
#include "lyceum/v1/registry.pb-c.h"
#include "lyceum/v1/worker.pb-c.h"

typedef Lyceum__V1__MessageType lyc_msg_type_t;

/* A decoded envelope. payload is the unpacked message of `type`. */
typedef struct {
    lyc_msg_type_t type;
    uint32_t schema_version;
    char trace_id[64];
    char sender[64];
    int64_t sent_at_us;
    ProtobufCMessage *payload; /* owned; free with lyc_envelope_clear */
} lyc_envelope_t;

/* Protobuf descriptor of a message type, or NULL for an unknown type. */
const ProtobufCMessageDescriptor *lyc_msg_descriptor(lyc_msg_type_t type);

/* Short name of a message type for logs ("TASK"); "UNKNOWN" when unknown. */
const char *lyc_msg_name(lyc_msg_type_t type);

/* Sender name written into every envelope this process packs (e.g. "router#1").
 * Call once at start; the string is copied. */
void lyc_envelope_set_sender(const char *sender);

/* Packs msg (which must be of `type`) into a new buffer. Returns the buffer,
 * which the caller frees with free(), and its size in *len; NULL when the
 * message does not match the type or memory runs out. trace may be NULL. */
uint8_t *lyc_envelope_encode(lyc_msg_type_t type, const char *trace, const ProtobufCMessage *msg,
                             size_t *len);

/* Unpacks an envelope and its payload into *out. Returns 0, or -1 with a
 * one-line reason in err (which names what was wrong) and *out cleared. */
int lyc_envelope_decode(const uint8_t *data, size_t len, lyc_envelope_t *out, char *err,
                        size_t errcap);

/* Frees the payload and resets *env. Accepts an already-cleared envelope. */
void lyc_envelope_clear(lyc_envelope_t *env);

#endif
