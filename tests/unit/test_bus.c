/*
 * test_bus.c - the bus reader over real ZeroMQ sockets: good messages arrive
 * with their route, bad ones are dropped and the reader keeps going.
 */
#include "testkit.h"

#include "bus.h"
#include "bus_protocol.h"

#include <string.h>

static Lyceum__V1__WorkerHeartbeat s_heartbeat(const char *worker)
{
    Lyceum__V1__WorkerHeartbeat hb = LYCEUM__V1__WORKER_HEARTBEAT__INIT;
    hb.worker_id = (char *) worker;
    hb.model = "m";
    hb.in_flight = 3;
    return hb;
}

START_TEST(test_router_dealer_round_trip_with_route)
{
    zsock_t *router = zsock_new_router("inproc://bus-rt");
    zsock_t *dealer = zsock_new_dealer(">inproc://bus-rt");
    ck_assert_ptr_nonnull(router);
    ck_assert_ptr_nonnull(dealer);
    lyc_bus_socket_setup(router);
    lyc_bus_socket_setup(dealer);
    zsock_set_rcvtimeo(router, 2000);
    zsock_set_rcvtimeo(dealer, 2000);

    Lyceum__V1__WorkerHeartbeat hb = s_heartbeat("w1");
    ck_assert_int_eq(
        lyc_bus_send(dealer, NULL, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, "tr-9", &hb.base),
        0);
    lyc_bus_msg_t in;
    ck_assert_int_eq(lyc_bus_recv(router, &in), 1);
    ck_assert_int_eq(in.env.type, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT);
    ck_assert_str_eq(in.env.trace_id, "tr-9");
    ck_assert_ptr_nonnull(in.route);
    Lyceum__V1__WorkerHeartbeat *got = (Lyceum__V1__WorkerHeartbeat *) in.env.payload;
    ck_assert_str_eq(got->worker_id, "w1");
    ck_assert_uint_eq(got->in_flight, 3);

    /* The reply goes back along the route. */
    ck_assert_int_eq(lyc_bus_send(router, in.route, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT,
                                  "tr-10", &hb.base),
                     0);
    lyc_bus_msg_clear(&in);
    lyc_bus_msg_t back;
    ck_assert_int_eq(lyc_bus_recv(dealer, &back), 1);
    ck_assert_str_eq(back.env.trace_id, "tr-10");
    ck_assert_ptr_null(back.route);
    lyc_bus_msg_clear(&back);

    zsock_destroy(&dealer);
    zsock_destroy(&router);
}
END_TEST

START_TEST(test_reader_drops_bad_frames_and_keeps_going)
{
    zsock_t *pull = zsock_new_pull("inproc://bus-bad");
    zsock_t *push = zsock_new_push(">inproc://bus-bad");
    lyc_bus_socket_setup(pull);
    zsock_set_rcvtimeo(pull, 2000);
    uint64_t dropped = lyc_bus_dropped();

    /* Truncated: the first bytes of a valid envelope. */
    Lyceum__V1__WorkerHeartbeat hb = s_heartbeat("worker-with-a-long-name");
    size_t len = 0;
    uint8_t *good =
        lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, "t", &hb.base, &len);
    zframe_t *frame = zframe_new(good, len / 2);
    zframe_send(&frame, push, 0);
    /* Unknown type. */
    Lyceum__V1__Envelope raw = LYCEUM__V1__ENVELOPE__INIT;
    raw.type = 77;
    raw.schema_version = 1;
    uint8_t small[32];
    size_t n = lyceum__v1__envelope__pack(&raw, small);
    frame = zframe_new(small, n);
    zframe_send(&frame, push, 0);
    /* Garbage and an empty frame. */
    frame = zframe_new("\x0a\xff\xff\xff\xff\x0f", 6);
    zframe_send(&frame, push, 0);
    frame = zframe_new_empty();
    zframe_send(&frame, push, 0);
    /* Then a good one. */
    frame = zframe_new(good, len);
    zframe_send(&frame, push, 0);

    lyc_bus_msg_t in;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(lyc_bus_recv(pull, &in), 0);
    ck_assert_int_eq(lyc_bus_recv(pull, &in), 1);
    ck_assert_str_eq(((Lyceum__V1__WorkerHeartbeat *) in.env.payload)->worker_id,
                     "worker-with-a-long-name");
    lyc_bus_msg_clear(&in);
    ck_assert_uint_eq(lyc_bus_dropped() - dropped, 4);

    /* Nothing more: the receive times out instead of hanging. */
    zsock_set_rcvtimeo(pull, 100);
    ck_assert_int_eq(lyc_bus_recv(pull, &in), -1);
    free(good);
    zsock_destroy(&push);
    zsock_destroy(&pull);
}
END_TEST

START_TEST(test_oversized_message_is_cut_off)
{
    /* Over TCP, libzmq refuses a message above the limit before it is read. */
    zsock_t *pull = zsock_new(ZMQ_PULL);
    lyc_bus_socket_setup(pull);
    int port = zsock_bind(pull, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zsock_t *push = zsock_new_push(endpoint);
    zsock_set_rcvtimeo(pull, 500);

    size_t big = LYC_BUS_MAX_FRAME + 8192;
    zframe_t *frame = zframe_new(NULL, big);
    memset(zframe_data(frame), 0x41, big);
    zframe_send(&frame, push, 0);
    lyc_bus_msg_t in;
    ck_assert_int_eq(lyc_bus_recv(pull, &in), -1);
    zsock_destroy(&push);
    zsock_destroy(&pull);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("bus");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_router_dealer_round_trip_with_route);
    tcase_add_test(tc, test_reader_drops_bad_frames_and_keeps_going);
    tcase_add_test(tc, test_oversized_message_is_cut_off);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
