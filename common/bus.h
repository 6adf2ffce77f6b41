/*
 * bus.h - Lyceum messages over ZeroMQ (czmq).
 *
 * A bus message is a ZeroMQ multipart message whose last frame is one
 * Envelope (see envelope.h); any frames before it are the route that ROUTER
 * sockets and REQ peers add (identity, empty delimiter). A reply sends the
 * same route back. The reader never trusts a frame: a malformed, oversized,
 * unknown or wrong-version message is logged with its reason, counted, and
 * dropped, and the reader goes on with the next one.
 *
 * Sockets are never shared between threads.
 */
#ifndef LYCEUM_BUS_H
#define LYCEUM_BUS_H

#include <czmq.h>

#include "envelope.h"

/* One received message: the decoded envelope and the route it came by. */
typedef struct {
    lyc_envelope_t env;
    zmsg_t *route; /* owned; frames before the envelope, NULL when there were none */
} lyc_bus_msg_t;

/* Applies Lyceum's socket limits: the largest accepted message (so a peer
 * that sends a bigger one is cut off by libzmq before it is read into
 * memory), a send time-out and no linger at close beyond a second. */
void lyc_bus_socket_setup(zsock_t *sock);

/* Sends msg of `type` in an envelope, behind a copy of route (which may be
 * NULL; it is not consumed). Returns 0, or -1 with a log line when the message
 * could not be packed or the send failed or timed out. */
int lyc_bus_send(zsock_t *sock, zmsg_t *route, lyc_msg_type_t type, const char *trace,
                 const ProtobufCMessage *msg);

/* Receives one message (blocking, subject to the socket's receive time-out).
 * Returns 1 with *out filled (release it with lyc_bus_msg_clear), 0 when a
 * message arrived but was dropped as malformed (logged, counted), and -1 when
 * nothing arrived (interrupted or timed out). */
int lyc_bus_recv(zsock_t *sock, lyc_bus_msg_t *out);

/* Frees what a received message holds and resets it. Accepts a cleared one. */
void lyc_bus_msg_clear(lyc_bus_msg_t *msg);

/* Number of messages this process dropped as malformed since it started. */
uint64_t lyc_bus_dropped(void);

#endif
