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

int main(void)
{
    Suite *s = suite_create("envelope");
    TCase *tc = tcase_create("envelope");
    tcase_add_test(tc, test_every_type_round_trips);
    tcase_add_test(tc, test_task_fields_round_trip);
    tcase_add_test(tc, test_type_mismatch_is_refused);
    tcase_add_test(tc, test_bad_input_is_rejected_with_reason);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
