/*
 * bus.c - sending and receiving envelopes on czmq sockets.
 */
#include "bus.h"

#include "bus_protocol.h"
#include "log.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_uint_fast64_t s_dropped;

void lyc_bus_socket_setup(zsock_t *sock)
{
    /* A little room above the envelope limit for the route frames. */
    zsock_set_maxmsgsize(sock, LYC_BUS_MAX_FRAME + 4096);
    zsock_set_sndtimeo(sock, LYC_BUS_SEND_TIMEOUT_MS);
    zsock_set_linger(sock, 1000);
}

int lyc_bus_send(zsock_t *sock, zmsg_t *route, lyc_msg_type_t type, const char *trace,
                 const ProtobufCMessage *msg)
{
    size_t len = 0;
    uint8_t *data = lyc_envelope_encode(type, trace, msg, &len);
    if (!data) {
        LYC_ERROR(trace, "bus: cannot pack %s (type mismatch or out of memory)",
                  lyc_msg_name(type));
        return -1;
    }
    zmsg_t *out = route ? zmsg_dup(route) : zmsg_new();
    if (!out || zmsg_addmem(out, data, len) != 0) {
        free(data);
        zmsg_destroy(&out);
        LYC_ERROR(trace, "bus: out of memory sending %s", lyc_msg_name(type));
        return -1;
    }
    free(data);
    if (zmsg_send(&out, sock) != 0) {
        zmsg_destroy(&out);
        LYC_WARN(trace, "bus: send of %s failed: %s", lyc_msg_name(type),
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

/* Logs and counts a dropped message; always returns 0 (the "dropped" result). */
static int s_drop(const char *reason)
{
    atomic_fetch_add(&s_dropped, 1);
    LYC_ERROR(NULL, "bus: dropped a message: %s", reason);
    return 0;
}

int lyc_bus_recv(zsock_t *sock, lyc_bus_msg_t *out)
{
    char err[256];

    memset(out, 0, sizeof *out);
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return -1;
    zframe_t *body = zmsg_last(msg);
    if (!body) {
        zmsg_destroy(&msg);
        return s_drop("no frames");
    }
    if (lyc_envelope_decode(zframe_data(body), zframe_size(body), &out->env, err, sizeof err) !=
        0) {
        zmsg_destroy(&msg);
        return s_drop(err);
    }
    /* Keep the frames before the envelope as the route for a reply. */
    body = zmsg_last(msg);
    zmsg_remove(msg, body);
    zframe_destroy(&body);
    if (zmsg_size(msg) > 0)
        out->route = msg;
    else
        zmsg_destroy(&msg);
    return 1;
}

void lyc_bus_msg_clear(lyc_bus_msg_t *msg)
{
    if (!msg)
        return;
    lyc_envelope_clear(&msg->env);
    zmsg_destroy(&msg->route);
}

uint64_t lyc_bus_dropped(void)
{
    return atomic_load(&s_dropped);
}
