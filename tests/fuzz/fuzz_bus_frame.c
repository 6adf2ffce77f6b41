/*
 * fuzz_bus_frame.c - libFuzzer target for what arrives on the ZeroMQ bus.
 *
 * Every bus message ends with one Envelope frame, and any peer can send any
 * bytes. The input is decoded twice:
 *
 *   1. as one frame, with lyc_envelope_decode(): it must refuse with a
 *      reason or give a payload that packs again and decodes to the same
 *      type (what the router does when it forwards a message);
 *   2. as a whole multipart message through a real lyc_bus_recv() on an
 *      inproc PAIR socket: the first byte's low two bits give the number of
 *      route frames before the envelope, each route frame takes a length
 *      byte and that many bytes, and the rest is the envelope frame.
 */
#include "bus.h"
#include "log.h"

#include <czmq.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_ENDPOINT        "inproc://lyceum-fuzz-bus"
#define S_RECV_TIMEOUT_MS 2000

static zsock_t *s_tx, *s_rx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    lyc_log_threshold = LYC_LOG_OFF; /* every dropped frame would log a line */
    zsys_init();
    zsys_set_logstream(NULL);
    s_rx = zsock_new_pair("@" S_ENDPOINT);
    s_tx = zsock_new_pair(">" S_ENDPOINT);
    if (!s_rx || !s_tx)
        abort();
    lyc_bus_socket_setup(s_rx);
    lyc_bus_socket_setup(s_tx);
    zsock_set_rcvtimeo(s_rx, S_RECV_TIMEOUT_MS);
    return 0;
}

/* Decodes one frame; a success must survive a re-encode. */
static void s_decode_frame(const uint8_t *data, size_t size)
{
    lyc_envelope_t env;
    char why[256];
    if (lyc_envelope_decode(data, size, &env, why, sizeof why) != 0) {
        if (!why[0] || env.payload)
            abort(); /* a refusal names its reason and holds nothing */
        return;
    }
    size_t len = 0;
    uint8_t *again = lyc_envelope_encode(env.type, env.trace_id, env.payload, &len);
    if (!again)
        abort();
    lyc_envelope_t back;
    if (lyc_envelope_decode(again, len, &back, why, sizeof why) != 0 || back.type != env.type)
        abort();
    lyc_envelope_clear(&back);
    free(again);
    lyc_envelope_clear(&env);
}

/* Builds the multipart message described above; NULL when out of memory. */
static zmsg_t *s_message(const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new();
    size_t pos = 0;
    int routes = size > 0 ? data[pos++] & 3 : 0;
    for (int i = 0; msg && i < routes; i++) {
        size_t n = pos < size ? data[pos++] : 0;
        if (n > size - pos)
            n = size - pos;
        if (zmsg_addmem(msg, data + pos, n) != 0)
            zmsg_destroy(&msg);
        pos += n;
    }
    if (msg && zmsg_addmem(msg, data + pos, size - pos) != 0)
        zmsg_destroy(&msg);
    return msg;
}

static void s_receive(const uint8_t *data, size_t size)
{
    zmsg_t *msg = s_message(data, size);
    if (!msg || zmsg_send(&msg, s_tx) != 0) {
        zmsg_destroy(&msg);
        return;
    }
    lyc_bus_msg_t in;
    int rc = lyc_bus_recv(s_rx, &in);
    if (rc < 0)
        abort(); /* the message was sent: it must arrive, kept or dropped */
    if (rc == 1) {
        if (!in.env.payload)
            abort();
        if (in.route && zmsg_size(in.route) > 3)
            abort();
    }
    lyc_bus_msg_clear(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode_frame(data, size);
    s_receive(data, size);
    return 0;
}
