/*
 * cmd_events.c - `lyceum events`: the event log as JSON lines, for any tool
 * to read (jq, pandas, a spreadsheet import).
 *
 *   lyceum events [-c FILE] [--brokers B] [--topic T]... [--type T[,T]]
 *                 [--model M] [--domain D] [--from TIME | --offset N]
 *                 [--max N] [--timeout S] [--follow] [--json]
 *
 * Each line is one record: where it sits in Kafka, its envelope and the
 * decoded event, every field of the schema with its proto name (enums by
 * name, 64-bit integers as exact JSON numbers, doubles with 17 significant
 * digits so they read back bit for bit, bytes as base64):
 *
 *   {"topic":"lyceum.feedback","partition":2,"offset":17,"timestamp_ms":...,
 *    "key":"math","type":"FEEDBACK_EVENT","schema_version":1,"trace_id":"...",
 *    "sender":"router#host:42","sent_at_us":...,"event":{"event_id":"...",...}}
 *
 * It reads without a consumer group's bookkeeping: it assigns every
 * partition of the topics itself (from the start, from the first record at
 * or after --from, or from --offset), commits nothing, and stops when it has
 * reached the end of every partition (or, with --follow, after --timeout
 * seconds without a record). Records that do not decode are reported on
 * stderr and skipped. Ordering is per partition, as Kafka keeps it.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "commands.h"

#include "envelope.h"
#include "ids.h"
#include "paths.h"
#include "settings.h"

#include <cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_MAX_TOPICS      16
#define S_MAX_PARTITIONS  1024
#define S_META_TIMEOUT_MS 5000
#define S_POLL_MS         200
#define S_DEFAULT_TIMEOUT 10
#define S_ERRSTR          512

typedef struct {
    const char *config;
    const char *brokers;
    const char *topics[S_MAX_TOPICS];
    size_t n_topics;
    int types[16]; /* message types wanted; all when n_types is 0 */
    size_t n_types;
    const char *model, *domain;
    int64_t from_ms; /* -1: not given */
    int64_t offset;  /* with has_offset: >= 0 absolute, < 0 that many from the end */
    int has_offset;
    long max;
    int timeout_s;
    int follow;
} s_opts_t;

/* What a run did. */
typedef struct {
    long printed, read, bad;
    size_t partitions, at_end;
} s_count_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    s_stop = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s events [-c CLUSTER.yaml] [--brokers HOST:PORT] [--topic T]...\n"
            "              [--type feedback,role,registry,sample,job] [--model M] [--domain D]\n"
            "              [--from TIME | --offset N | --from-beginning] [--max N]\n"
            "              [--timeout S] [--follow] [--json]\n"
            "Prints the event log as JSON lines (one record per line, the decoded event under\n"
            "\"event\"), then stops at the end of every partition.\n"
            "  -c FILE          brokers and topics from this cluster file (default: the run\n"
            "                   dir's cluster.yaml, else the built-in defaults)\n"
            "  --topic T        a topic to read (repeatable; default: feedback, roles,\n"
            "                   registry and training topics of the cluster file)\n"
            "  --type LIST      only these types (feedback, role, registry, sample, job, or\n"
            "                   FEEDBACK_EVENT ... as in envelope.proto)\n"
            "  --model M        only events about model M (model, student_model,\n"
            "                   source_model or result_model)\n"
            "  --domain D       only events of domain D\n"
            "  --from TIME      from the first record written at or after TIME: seconds or\n"
            "                   milliseconds since the epoch, 2025-01-31T12:00:00Z, or -10m,\n"
            "                   -2h, -1d (ago)\n"
            "  --offset N       from offset N of every partition; -N: the last N records\n"
            "  --max N          stop after N printed events\n"
            "  --timeout S      give up after S seconds without a record (default %d)\n"
            "  --follow         keep reading new records until --timeout or Ctrl-C\n"
            "  --json           JSON lines (the default and only format)\n",
            lyc_cli_program, S_DEFAULT_TIMEOUT);
}

/* ---- options ------------------------------------------------------------- */

static const struct {
    const char *alias;
    int type;
} s_type_aliases[] = {
    {"feedback", LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT},
    {"role", LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE},
    {"roles", LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE},
    {"registry", LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY},
    {"model", LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY},
    {"sample", LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE},
    {"job", LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB},
};

/* A type by alias or by its MessageType name; -1 when unknown. */
static int s_type_parse(const char *name)
{
    for (size_t i = 0; i < sizeof s_type_aliases / sizeof s_type_aliases[0]; i++)
        if (strcasecmp(name, s_type_aliases[i].alias) == 0)
            return s_type_aliases[i].type;
    for (int t = 1; t < 16; t++)
        if (strcasecmp(name, lyc_msg_name((lyc_msg_type_t) t)) == 0)
            return t;
    return -1;
}

static int s_types(s_opts_t *o, const char *list)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int type = s_type_parse(t);
        if (type < 0 || o->n_types >= 16) {
            fprintf(stderr, "lyceum: --type: unknown type '%s'\n", t);
            return -1;
        }
        o->types[o->n_types++] = type;
    }
    return 0;
}

/* "2025-01-31T12:00:00(.123)Z" (UTC) into ms; -1 when it is not that. */
static int64_t s_iso_ms(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    double frac = 0;
    if (*rest == '.') {
        char *end = NULL;
        frac = strtod(rest, &end);
        rest = end;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    return (int64_t) timegm(&tm) * 1000 + (int64_t) (frac * 1000);
}

/* --from: epoch seconds or ms, ISO-8601 UTC, or -N[smhd] ago. -1 when bad. */
static int64_t s_time_ms(const char *text)
{
    char *end = NULL;
    if (text[0] == '-') {
        double n = strtod(text + 1, &end);
        static const char units[] = "smhd";
        static const double secs[] = {1, 60, 3600, 86400};
        const char *u = end && *end && !end[1] ? strchr(units, *end) : NULL;
        if (end == text + 1 || !u || n < 0)
            return -1;
        return (int64_t) time(NULL) * 1000 - (int64_t) (n * secs[u - units] * 1000);
    }
    double v = strtod(text, &end);
    if (end != text && !*end && v >= 0)
        return v > 1e12 ? (int64_t) v : (int64_t) (v * 1000);
    return s_iso_ms(text);
}

static int s_number(const char *text, const char *option, long min, long max, long *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < min || v > max) {
        fprintf(stderr, "lyceum: %s wants a whole number from %ld to %ld, not '%s'\n", option, min,
                max, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Handles one option; 0, 1 to stop with success (help), or -1. */
static int s_option(s_opts_t *o, int c, const char *arg)
{
    long v;
    switch (c) {
    case 'c':
        o->config = arg;
        return 0;
    case 'b':
        o->brokers = arg;
        return 0;
    case 'T':
        if (o->n_topics >= S_MAX_TOPICS)
            return -1;
        o->topics[o->n_topics++] = arg;
        return 0;
    case 'y':
        return s_types(o, arg);
    case 'm':
        o->model = arg;
        return 0;
    case 'd':
        o->domain = arg;
        return 0;
    case 'f':
        o->from_ms = s_time_ms(arg);
        if (o->from_ms < 0)
            fprintf(stderr, "lyceum: --from: cannot read '%s' as a time\n", arg);
        return o->from_ms < 0 ? -1 : 0;
    case 'B':
        o->has_offset = 0;
        o->from_ms = -1;
        return 0;
    case 'o':
        if (s_number(arg, "--offset", -1000000000L, 1000000000000L, &v) != 0)
            return -1;
        o->has_offset = 1;
        o->offset = v;
        return 0;
    case 'n':
        return s_number(arg, "--max", 1, 1000000000L, &o->max) ? -1 : 0;
    case 't':
        o->timeout_s = lyc_cmd_seconds(arg, "--timeout", 1, 86400);
        return o->timeout_s < 0 ? -1 : 0;
    case 'F':
        o->follow = 1;
        return 0;
    case 'j':
        return 0;
    case 'h':
        s_usage(stdout);
        return 1;
    default:
        s_usage(stderr);
        return -1;
    }
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"brokers", required_argument, NULL, 'b'},
                                            {"topic", required_argument, NULL, 'T'},
                                            {"type", required_argument, NULL, 'y'},
                                            {"model", required_argument, NULL, 'm'},
                                            {"domain", required_argument, NULL, 'd'},
                                            {"from", required_argument, NULL, 'f'},
                                            {"from-beginning", no_argument, NULL, 'B'},
                                            {"offset", required_argument, NULL, 'o'},
                                            {"max", required_argument, NULL, 'n'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"follow", no_argument, NULL, 'F'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    *o = (s_opts_t){.from_ms = -1, .timeout_s = S_DEFAULT_TIMEOUT};
    int c, rc = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "c:h", options, NULL)) != -1)
        rc = s_option(o, c, optarg);
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "lyceum: events: unexpected argument '%s'\n", argv[optind]);
        rc = -1;
    }
    if (rc == 0 && o->has_offset && o->from_ms >= 0) {
        fprintf(stderr, "lyceum: events: give --from or --offset, not both\n");
        rc = -1;
    }
    return rc;
}

/* ---- a protobuf message as JSON ------------------------------------------ */

static char *s_base64(const uint8_t *data, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((len + 2) / 3) + 1), *p = out;
    for (size_t i = 0; out && i < len; i += 3) {
        uint32_t v = (uint32_t) data[i] << 16 | (i + 1 < len ? (uint32_t) data[i + 1] << 8 : 0) |
                     (i + 2 < len ? data[i + 2] : 0);
        *p++ = digits[v >> 18 & 63];
        *p++ = digits[v >> 12 & 63];
        *p++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
        *p++ = i + 2 < len ? digits[v & 63] : '=';
    }
    if (out)
        *p = '\0';
    return out;
}

static cJSON *s_message_json(const ProtobufCMessage *msg);

/* Numbers go out as raw text: integers exactly (also past 2^53), doubles
 * with 17 significant digits, so reading a line back gives the very value
 * written (cJSON's own printing may round the last digit). */
static cJSON *s_int(long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return cJSON_CreateRaw(buf);
}

static cJSON *s_uint(unsigned long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", v);
    return cJSON_CreateRaw(buf);
}

static cJSON *s_real(double v, int digits)
{
    char buf[40];
    if (!isfinite(v))
        return cJSON_CreateNull(); /* JSON has no NaN or infinity */
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    return cJSON_CreateRaw(buf);
}

/* One value of field f stored at p. */
static cJSON *s_value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return s_int(*(const int32_t *) p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return s_uint(*(const uint32_t *) p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return s_int(*(const int64_t *) p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return s_uint(*(const uint64_t *) p);
    case PROTOBUF_C_TYPE_FLOAT:
        return s_real(*(const float *) p, 9);
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_real(*(const double *) p, 17);
    case PROTOBUF_C_TYPE_BOOL:
        return cJSON_CreateBool(*(const protobuf_c_boolean *) p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *) p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? cJSON_CreateString(ev->name) : s_int(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *) p;
        return cJSON_CreateString(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *text = s_base64(b->data, b->len);
        cJSON *item = text ? cJSON_CreateString(text) : NULL;
        free(text);
        return item;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
        return m ? s_message_json(m) : cJSON_CreateNull();
    }
    }
    return cJSON_CreateNull();
}

static size_t s_type_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

/* Every field of msg (proto3: also those at their default), by proto name. */
static cJSON *s_message_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    cJSON *obj = cJSON_CreateObject();
    for (unsigned i = 0; obj && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *) msg;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (base + f->quantifier_offset);
            const char *items = *(char *const *) (base + f->offset);
            cJSON *arr = cJSON_AddArrayToObject(obj, f->name);
            for (size_t k = 0; arr && k < n; k++)
                cJSON_AddItemToArray(arr, s_value_json(f, items + k * s_type_size(f)));
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *) (base + f->quantifier_offset) != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING &&
                   !*(const protobuf_c_boolean *) (base + f->quantifier_offset)) {
            continue;
        }
        cJSON_AddItemToObject(obj, f->name, s_value_json(f, base + f->offset));
    }
    return obj;
}

/* ---- filters ------------------------------------------------------------- */

static const char *s_string_field(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return *(char *const *) ((const char *) msg + f->offset);
}

static int s_wanted(const s_opts_t *o, const lyc_envelope_t *env)
{
    int type_ok = o->n_types == 0;
    for (size_t i = 0; i < o->n_types; i++)
        type_ok |= o->types[i] == (int) env->type;
    if (!type_ok)
        return 0;
    if (o->domain) {
        const char *d = s_string_field(env->payload, "domain");
        if (!d || strcmp(d, o->domain) != 0)
            return 0;
    }
    if (o->model) {
        static const char *const fields[] = {"model", "student_model", "source_model",
                                             "result_model"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            const char *m = s_string_field(env->payload, fields[i]);
            if (m && strcmp(m, o->model) == 0)
                return 1;
        }
        return 0;
    }
    return 1;
}

/* ---- output -------------------------------------------------------------- */

static int s_print(const rd_kafka_message_t *m, const lyc_envelope_t *env)
{
    rd_kafka_timestamp_type_t tstype;
    cJSON *line = cJSON_CreateObject();
    if (!line)
        return -1;
    cJSON_AddStringToObject(line, "topic", rd_kafka_topic_name(m->rkt));
    cJSON_AddItemToObject(line, "partition", s_int(m->partition));
    cJSON_AddItemToObject(line, "offset", s_int(m->offset));
    cJSON_AddItemToObject(line, "timestamp_ms", s_int(rd_kafka_message_timestamp(m, &tstype)));
    char *key = m->key_len ? strndup(m->key, m->key_len) : NULL;
    if (key)
        cJSON_AddStringToObject(line, "key", key);
    else
        cJSON_AddNullToObject(line, "key");
    free(key);
    cJSON_AddStringToObject(line, "type", lyc_msg_name(env->type));
    cJSON_AddItemToObject(line, "schema_version", s_uint(env->schema_version));
    cJSON_AddStringToObject(line, "trace_id", env->trace_id);
    cJSON_AddStringToObject(line, "sender", env->sender);
    cJSON_AddItemToObject(line, "sent_at_us", s_int(env->sent_at_us));
    cJSON_AddItemToObject(line, "event", s_message_json(env->payload));
    char *text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!text)
        return -1;
    int rc = puts(text) < 0 ? -1 : 0;
    free(text);
    return rc;
}

/* ---- Kafka ---------------------------------------------------------------- */

/* Applies the cluster's extra settings (kafka.settings and the SASL
 * password, settings.h); -1 after printing why. */
static int s_apply_extra(rd_kafka_conf_t *conf, const lyc_settings_t *s)
{
    char errstr[S_ERRSTR];
    lyc_kafka_extra_t extra;
    if (lyc_settings_kafka_extra(s, NULL, 0, &extra, errstr, sizeof errstr) != 0) {
        fprintf(stderr, "lyceum: %s\n", errstr);
        return -1;
    }
    int rc = 0; /* lyc_settings_load checked kafka.settings; the CLI's own settings below win */
    for (size_t i = 0; rc == 0 && i < extra.count; i++) {
        const char *item = extra.items[i], *eq = strchr(item, '=');
        char key[256];
        if (!eq) {
            snprintf(errstr, sizeof errstr, "'%s' is not key=value", item);
            rc = -1;
            break;
        }
        snprintf(key, sizeof key, "%.*s", (int) (eq - item), item);
        if (rd_kafka_conf_set(conf, key, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
            rc = -1;
    }
    if (rc != 0)
        fprintf(stderr, "lyceum: kafka.settings: %s\n", errstr);
    lyc_kafka_extra_clear(&extra);
    return rc;
}

static rd_kafka_t *s_connect(const char *brokers, const lyc_settings_t *s)
{
    char errstr[S_ERRSTR], group[64], id[LYC_ID_LEN];
    lyc_id_new(id);
    snprintf(group, sizeof group, "lyceum-events-%.12s", id); /* needed, never committed */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (s_apply_extra(conf, s) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    const char *settings[][2] = {{"bootstrap.servers", brokers},
                                 {"group.id", group},
                                 {"client.id", "lyceum-events"},
                                 {"enable.auto.commit", "false"},
                                 {"enable.partition.eof", "true"},
                                 {"auto.offset.reset", "earliest"},
                                 {"log_level", "3"}};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "lyceum: kafka setting %s: %s\n", settings[i][0], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "lyceum: cannot make a Kafka consumer: %s\n", errstr);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new owns conf only on success */
    }
    return rk;
}

/* Adds every partition of topic to list; 0, or -1 when the topic is unknown. */
static int s_add_partitions(rd_kafka_t *rk, const char *topic,
                            rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    if (!t)
        return -1;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, S_META_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "lyceum: topic %s: %s\n", topic, rd_kafka_err2str(err));
    } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "lyceum: topic %s: %s\n", topic,
                rd_kafka_err2str(md->topic_cnt ? md->topics[0].err
                                               : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
    } else {
        for (int p = 0; p < md->topics[0].partition_cnt && list->cnt < S_MAX_PARTITIONS; p++)
            rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[p].id)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rc = 0;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

/* Sets each partition's start offset from --from or --offset. */
static int s_start_offsets(rd_kafka_t *rk, const s_opts_t *o, rd_kafka_topic_partition_list_t *l)
{
    if (o->from_ms >= 0) {
        for (int i = 0; i < l->cnt; i++)
            l->elems[i].offset = o->from_ms;
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, l, S_META_TIMEOUT_MS);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "lyceum: --from: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        return 0; /* -1 (end) where no record is that recent */
    }
    for (int i = 0; o->has_offset && i < l->cnt; i++) {
        int64_t low = 0, high = 0;
        if (o->offset >= 0) {
            l->elems[i].offset = o->offset;
            continue;
        }
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            rk, l->elems[i].topic, l->elems[i].partition, &low, &high, S_META_TIMEOUT_MS);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "lyceum: --offset: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        l->elems[i].offset = high + o->offset > low ? high + o->offset : low;
    }
    return 0;
}

/* Notes whether m's partition is at its end (opaque 1) or not; returns how
 * many partitions of list are at their end. */
static size_t s_mark_end(rd_kafka_topic_partition_list_t *list, const rd_kafka_message_t *m,
                         int at_end)
{
    rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find(list, rd_kafka_topic_name(m->rkt), m->partition);
    if (p)
        p->opaque = at_end ? (void *) 1 : NULL;
    size_t n = 0;
    for (int i = 0; i < list->cnt; i++)
        n += list->elems[i].opaque != NULL;
    return n;
}

/* One message from the consumer; returns 1 when the run is over. */
static int s_take(const s_opts_t *o, rd_kafka_topic_partition_list_t *list, rd_kafka_message_t *m,
                  s_count_t *n)
{
    n->at_end = s_mark_end(list, m, m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return !o->follow && n->at_end >= n->partitions;
    if (m->err) {
        fprintf(stderr, "lyceum: kafka: %s\n", rd_kafka_message_errstr(m));
        return m->err == RD_KAFKA_RESP_ERR__FATAL;
    }
    lyc_envelope_t env;
    char err[256];
    n->read++;
    if (lyc_envelope_decode(m->payload, m->len, &env, err, sizeof err) != 0) {
        fprintf(stderr, "lyceum: skipped %s/%d@%lld: %s\n", rd_kafka_topic_name(m->rkt),
                (int) m->partition, (long long) m->offset, err);
        n->bad++;
        return 0;
    }
    if (s_wanted(o, &env) && s_print(m, &env) == 0)
        n->printed++;
    lyc_envelope_clear(&env);
    return o->max > 0 && n->printed >= o->max;
}

static int s_consume(rd_kafka_t *rk, const s_opts_t *o, rd_kafka_topic_partition_list_t *list,
                     s_count_t *n)
{
    time_t idle_since = time(NULL);
    while (!s_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, S_POLL_MS);
        if (!m && time(NULL) - idle_since >= o->timeout_s) {
            if (o->follow)
                return 0;
            fprintf(stderr,
                    "lyceum: no record for %d s; stopping before the end of every "
                    "partition\n",
                    o->timeout_s);
            return 1;
        }
        if (!m)
            continue;
        idle_since = time(NULL);
        int done = s_take(o, list, m, n);
        rd_kafka_message_destroy(m);
        if (done)
            return 0;
    }
    return 0;
}

/* ---- the command ---------------------------------------------------------- */

/* The shared settings: -c FILE, else the run dir's cluster file, else defaults. */
static int s_settings(const s_opts_t *o, lyc_settings_t *s)
{
    char path[LYC_PATH_MAX], err[512];
    const char *file = o->config;
    if (!file && lyc_paths_join(path, sizeof path, lyc_paths_run_dir(), "cluster.yaml") == 0 &&
        lyc_paths_exists(path))
        file = path;
    lyc_confdoc_t *doc = lyc_settings_load(file, "LYCEUM_EVENTS", s, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "lyceum: %s\n", err);
        return -1;
    }
    lyc_confdoc_destroy(&doc);
    return 0;
}

static int s_run(const s_opts_t *o, const lyc_settings_t *s)
{
    const char *defaults[] = {s->topic_feedback, s->topic_roles, s->topic_registry,
                              s->topic_training};
    const char *const *topics = o->n_topics ? o->topics : defaults;
    size_t n_topics = o->n_topics ? o->n_topics : 4, found = 0;
    s_count_t n = {0};
    int rc = 1;
    rd_kafka_t *rk = s_connect(o->brokers ? o->brokers : s->kafka_brokers, s);
    if (!rk)
        return 1;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < n_topics; i++)
        found += s_add_partitions(rk, topics[i], list) == 0;
    n.partitions = (size_t) list->cnt;
    if (found == 0 || s_start_offsets(rk, o, list) != 0)
        goto out_destroy;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "lyceum: cannot assign partitions: %s\n", rd_kafka_err2str(err));
        goto out_destroy;
    }
    for (int i = 0; i < list->cnt; i++)
        list->elems[i].opaque = NULL; /* s_mark_end's flags */
    rc = s_consume(rk, o, list, &n);
    fflush(stdout);
    fprintf(stderr,
            "lyceum: %ld events printed, %ld records read (%ld undecodable) from %zu "
            "partitions\n",
            n.printed, n.read, n.bad, n.partitions);
out_destroy:
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

int lyc_cmd_events(int argc, char **argv)
{
    s_opts_t opts;
    int parsed = s_parse(argc, argv, &opts);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    lyc_settings_t settings;
    if (s_settings(&opts, &settings) != 0)
        return 2;
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    int rc = s_run(&opts, &settings);
    lyc_settings_free(&settings);
    return rc;
}
