/*
 * test_envelope.c - every schema survives a round trip through the envelope,
 * and decoding rejects what it cannot trust with a reason.
 */
#include "testkit.h"

#include "bus_protocol.h"
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_every_type_round_trips)
{
    /* An empty message of every type packs and comes back as the same type. */
    for (int t = 1; t <= LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB; t++) {
        const ProtobufCMessageDescriptor *d = lyc_msg_descriptor((lyc_msg_type_t) t);
        ck_assert_ptr_nonnull(d);
        ProtobufCMessage *m = calloc(1, d->sizeof_message);
        d->message_init(m);
        size_t len = 0;
        uint8_t *buf = lyc_envelope_encode((lyc_msg_type_t) t, "trace-1", m, &len);
        ck_assert_ptr_nonnull(buf);
        lyc_envelope_t env;
        char err[256];
        ck_assert_int_eq(lyc_envelope_decode(buf, len, &env, err, sizeof err), 0);
        ck_assert_int_eq(env.type, t);
        ck_assert_str_eq(env.trace_id, "trace-1");
        ck_assert_ptr_eq(env.payload->descriptor, d);
        ck_assert_uint_eq(env.schema_version, LYC_SCHEMA_VERSION);
        lyc_envelope_clear(&env);
        free(buf);
        free(m);
    }
}
END_TEST

START_TEST(test_task_fields_round_trip)
{
    Lyceum__V1__ChatMessage turn = LYCEUM__V1__CHAT_MESSAGE__INIT;
    turn.role = "user";
    turn.content = "What is 2+2? \xc3\xa9";
    Lyceum__V1__ChatMessage *turns[] = {&turn};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = "t1";
    task.model = "mixtral";
    task.n_messages = 1;
    task.messages = turns;
    task.deadline_ms = 2500;
    task.temperature = 0.25;
    task.temperature_set = 1;
    task.for_learning = 1;

    size_t len = 0;
    uint8_t *buf = lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__TASK, "tr", &task.base, &len);
    ck_assert_ptr_nonnull(buf);
    lyc_envelope_t env;
    char err[256];
    ck_assert_int_eq(lyc_envelope_decode(buf, len, &env, err, sizeof err), 0);
    Lyceum__V1__Task *back = (Lyceum__V1__Task *) env.payload;
    ck_assert_str_eq(back->task_id, "t1");
    ck_assert_str_eq(back->model, "mixtral");
    ck_assert_uint_eq(back->n_messages, 1);
    ck_assert_str_eq(back->messages[0]->content, "What is 2+2? \xc3\xa9");
    ck_assert_uint_eq(back->deadline_ms, 2500);
    ck_assert(back->temperature_set && back->temperature == 0.25);
    ck_assert(back->for_learning);
    lyc_envelope_clear(&env);
    free(buf);
}
END_TEST

START_TEST(test_type_mismatch_is_refused)
{
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    size_t len = 0;
    ck_assert_ptr_null(
        lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__TASK, NULL, &answer.base, &len));
}
END_TEST

START_TEST(test_bad_input_is_rejected_with_reason)
{
    char err[256];
    lyc_envelope_t env;
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    answer.content = "a long enough answer to be cut in the middle";
    size_t len = 0;
    uint8_t *buf = lyc_envelope_encode(LYCEUM__V1__MESSAGE_TYPE__ANSWER, "t", &answer.base, &len);

    /* Truncated at every length: never a crash, always a reason. */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = lyc_envelope_decode(buf, cut, &env, err, sizeof err);
        if (rc == 0) /* a prefix can be a valid shorter message; it must still be whole */
            lyc_envelope_clear(&env);
        else
            ck_assert(strlen(err) > 0);
    }
    ck_assert_int_eq(lyc_envelope_decode(buf, 5, &env, err, sizeof err), -1);

    /* Unknown type and wrong version. */
    Lyceum__V1__Envelope raw = LYCEUM__V1__ENVELOPE__INIT;
    raw.type = 99;
    raw.schema_version = LYC_SCHEMA_VERSION;
    uint8_t small[64];
    size_t n = lyceum__v1__envelope__pack(&raw, small);
    ck_assert_int_eq(lyc_envelope_decode(small, n, &env, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown message type 99"));
    raw.type = LYCEUM__V1__MESSAGE_TYPE__ANSWER;
    raw.schema_version = 2;
    n = lyceum__v1__envelope__pack(&raw, small);
    ck_assert_int_eq(lyc_envelope_decode(small, n, &env, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "schema version 2"));

    /* A payload that is not the named message. */
    raw.schema_version = LYC_SCHEMA_VERSION;
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    raw.payload.data = junk;
    raw.payload.len = sizeof junk;
    n = lyceum__v1__envelope__pack(&raw, small);
    ck_assert_int_eq(lyc_envelope_decode(small, n, &env, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "does not parse as ANSWER"));

    /* Oversized. */
    ck_assert_int_eq(
        lyc_envelope_decode(buf, (size_t) LYC_BUS_MAX_FRAME + 1, &env, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "oversized"));
    ck_assert_int_eq(lyc_envelope_decode(NULL, 0, &env, err, sizeof err), -1);
    free(buf);
}
END_TEST

/* Wraps payload[0..len) as an ANSWER envelope into out (cap bytes); its size. */
static size_t s_wrap_answer(const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    Lyceum__V1__Envelope raw = LYCEUM__V1__ENVELOPE__INIT;
    raw.type = LYCEUM__V1__MESSAGE_TYPE__ANSWER;
    raw.schema_version = LYC_SCHEMA_VERSION;
    raw.payload.data = (uint8_t *) payload;
    raw.payload.len = len;
    ck_assert_uint_le(lyceum__v1__envelope__get_packed_size(&raw), cap);
    return lyceum__v1__envelope__pack(&raw, out);
}

/* Regression (found by tests/fuzz/fuzz_bus_frame): an unknown field numbered
 * 0, written as the overlong tag 0x80 0x00, decoded; re-packed (as the
 * broker forwards an Answer) it became a frame the receiver refuses, so the
 * asker never got its answer. Such payloads are refused now, in a
 * submessage too; unknown fields with real numbers still pass. */
START_TEST(test_field_number_zero_is_refused)
{
    char err[256];
    lyc_envelope_t env;
    uint8_t payload[64], frame[128];
    static const uint8_t zero_tag[] = {0x80, 0x00, 0x00};               /* field 0, varint 0 */
    static const uint8_t field_99[] = {0x98, 0x06, 0x01};               /* field 99, varint 1 */
    static const uint8_t usage_zero[] = {0x2a, 0x03, 0x80, 0x00, 0x00}; /* in Answer.usage */
    static const uint8_t content[] = {0x22, 0x02, '8', '4'};            /* Answer.content "84" */

    memcpy(payload, content, sizeof content);
    memcpy(payload + sizeof content, zero_tag, sizeof zero_tag);
    size_t n = s_wrap_answer(payload, sizeof content + sizeof zero_tag, frame, sizeof frame);
    ck_assert_int_eq(lyc_envelope_decode(frame, n, &env, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "field numbered 0"));
    ck_assert_ptr_null(env.payload);

    memcpy(payload + sizeof content, usage_zero, sizeof usage_zero);
    n = s_wrap_answer(payload, sizeof content + sizeof usage_zero, frame, sizeof frame);
    ck_assert_int_eq(lyc_envelope_decode(frame, n, &env, err, sizeof err), -1);

    memcpy(payload + sizeof content, field_99, sizeof field_99);
    n = s_wrap_answer(payload, sizeof content + sizeof field_99, frame, sizeof frame);
    ck_assert_int_eq(lyc_envelope_decode(frame, n, &env, err, sizeof err), 0);
    ck_assert_str_eq(((Lyceum__V1__Answer *) env.payload)->content, "84");
    lyc_envelope_clear(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("envelope");
    TCase *tc = tcase_create("envelope");
    tcase_add_test(tc, test_every_type_round_trips);
    tcase_add_test(tc, test_task_fields_round_trip);
    tcase_add_test(tc, test_type_mismatch_is_refused);
    tcase_add_test(tc, test_bad_input_is_rejected_with_reason);
    tcase_add_test(tc, test_field_number_zero_is_refused);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
