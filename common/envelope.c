/*
 * envelope.c - the Envelope codec and the table of message types.
 */
#include "envelope.h"

#include "bus_protocol.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    lyc_msg_type_t type;
    const char *name;
    const ProtobufCMessageDescriptor *descriptor;
} s_msg_kind_t;

/* Every message type and the schema its payload follows. */
static const s_msg_kind_t s_kinds[] = {
    {LYCEUM__V1__MESSAGE_TYPE__CLIENT_QUERY, "CLIENT_QUERY", &lyceum__v1__client_query__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__CLIENT_REPLY, "CLIENT_REPLY", &lyceum__v1__client_reply__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__TASK, "TASK", &lyceum__v1__task__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__ANSWER, "ANSWER", &lyceum__v1__answer__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, "WORKER_REGISTER",
     &lyceum__v1__worker_register__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, "WORKER_HEARTBEAT",
     &lyceum__v1__worker_heartbeat__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__WORKER_DEREGISTER, "WORKER_DEREGISTER",
     &lyceum__v1__worker_deregister__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__EVAL_REQUEST, "EVAL_REQUEST", &lyceum__v1__eval_request__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__VERDICT, "VERDICT", &lyceum__v1__verdict__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY, "MODEL_ENTRY", &lyceum__v1__model_entry__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, "ROLE_CHANGE", &lyceum__v1__role_change__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, "FEEDBACK_EVENT",
     &lyceum__v1__feedback_event__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE, "TRAINING_SAMPLE",
     &lyceum__v1__training_sample__descriptor},
    {LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB, "TRAINING_JOB", &lyceum__v1__training_job__descriptor},
};

#define S_KIND_COUNT (sizeof s_kinds / sizeof s_kinds[0])

static char s_sender[64] = "lyceum";

static const s_msg_kind_t *s_kind(lyc_msg_type_t type)
{
    for (size_t i = 0; i < S_KIND_COUNT; i++)
        if (s_kinds[i].type == type)
            return &s_kinds[i];
    return NULL;
}

const ProtobufCMessageDescriptor *lyc_msg_descriptor(lyc_msg_type_t type)
{
    const s_msg_kind_t *kind = s_kind(type);
    return kind ? kind->descriptor : NULL;
}

const char *lyc_msg_name(lyc_msg_type_t type)
{
    const s_msg_kind_t *kind = s_kind(type);
    return kind ? kind->name : "UNKNOWN";
}

void lyc_envelope_set_sender(const char *sender)
{
    snprintf(s_sender, sizeof s_sender, "%s", sender ? sender : "lyceum");
}

uint8_t *lyc_envelope_encode(lyc_msg_type_t type, const char *trace, const ProtobufCMessage *msg,
                             size_t *len)
{
    const ProtobufCMessageDescriptor *descriptor = lyc_msg_descriptor(type);
    if (!descriptor || !msg || msg->descriptor != descriptor)
        return NULL;

    size_t payload_len = protobuf_c_message_get_packed_size(msg);
    uint8_t *payload = malloc(payload_len ? payload_len : 1);
    if (!payload)
        return NULL;
    protobuf_c_message_pack(msg, payload);

    Lyceum__V1__Envelope env = LYCEUM__V1__ENVELOPE__INIT;
    env.type = type;
    env.schema_version = LYC_SCHEMA_VERSION;
    env.trace_id = (char *) (trace ? trace : "");
    env.payload.data = payload;
    env.payload.len = payload_len;
    env.sent_at_us = lyc_wall_us();
    env.sender = s_sender;

    *len = lyceum__v1__envelope__get_packed_size(&env);
    uint8_t *out = malloc(*len ? *len : 1);
    if (out)
        lyceum__v1__envelope__pack(&env, out);
    free(payload);
    return out;
}

/* 1 when msg and its submessages hold no unknown field numbered 0.
 * protobuf-c (1.4) accepts such a field when its tag is written as an
 * overlong varint (0x80 0x00) and keeps it, but packs it back as 0x00, which
 * it then refuses to unpack: a message that decoded here would be dropped by
 * the peer the router forwards it to (an Answer to its asker, a Task to a
 * worker). Field number 0 is invalid in protobuf, so it is refused here. */
static int s_field_numbers_valid(const ProtobufCMessage *msg)
{
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        if (msg->unknown_fields[i].tag == 0)
            return 0;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *) msg;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *) (const void *) (base + f->quantifier_offset) != f->id)
            continue;
        size_t n = 1;
        ProtobufCMessage *const *items =
            (ProtobufCMessage *const *) (const void *) (base + f->offset);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *) (const void *) (base + f->quantifier_offset);
            items = *(ProtobufCMessage *const *const *) (const void *) (base + f->offset);
        }
        for (size_t j = 0; j < n; j++)
            if (items[j] && !s_field_numbers_valid(items[j]))
                return 0;
    }
    return 1;
}

int lyc_envelope_decode(const uint8_t *data, size_t len, lyc_envelope_t *out, char *err,
                        size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (!data || len == 0) {
        snprintf(err, errcap, "empty frame");
        return -1;
    }
    if (len > LYC_BUS_MAX_FRAME) {
        snprintf(err, errcap, "oversized frame: %zu bytes, limit %d", len, LYC_BUS_MAX_FRAME);
        return -1;
    }
    Lyceum__V1__Envelope *env = lyceum__v1__envelope__unpack(NULL, len, data);
    if (!env) {
        snprintf(err, errcap, "not an envelope: %zu bytes do not parse (truncated or corrupt)",
                 len);
        return -1;
    }
    int rc = -1;
    const s_msg_kind_t *kind = s_kind(env->type);
    if (!kind) {
        snprintf(err, errcap, "unknown message type %d", (int) env->type);
        goto out_free_env;
    }
    if (env->schema_version != LYC_SCHEMA_VERSION) {
        snprintf(err, errcap, "%s with schema version %u; this reader speaks %d", kind->name,
                 env->schema_version, LYC_SCHEMA_VERSION);
        goto out_free_env;
    }
    out->payload =
        protobuf_c_message_unpack(kind->descriptor, NULL, env->payload.len, env->payload.data);
    if (!out->payload) {
        snprintf(err, errcap, "payload of %zu bytes does not parse as %s", env->payload.len,
                 kind->name);
        goto out_free_env;
    }
    if (!s_field_numbers_valid(out->payload)) {
        snprintf(err, errcap, "payload of %zu bytes holds a field numbered 0 (invalid) in %s",
                 env->payload.len, kind->name);
        protobuf_c_message_free_unpacked(out->payload, NULL);
        out->payload = NULL;
        goto out_free_env;
    }
    out->type = env->type;
    out->schema_version = env->schema_version;
    out->sent_at_us = env->sent_at_us;
    snprintf(out->trace_id, sizeof out->trace_id, "%s", env->trace_id ? env->trace_id : "");
    snprintf(out->sender, sizeof out->sender, "%s", env->sender ? env->sender : "");
    rc = 0;
out_free_env:
    lyceum__v1__envelope__free_unpacked(env, NULL);
    return rc;
}

void lyc_envelope_clear(lyc_envelope_t *env)
{
    if (!env)
        return;
    if (env->payload)
        protobuf_c_message_free_unpacked(env->payload, NULL);
    memset(env, 0, sizeof *env);
}
