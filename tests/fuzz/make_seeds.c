/*
 * make_seeds.c - writes the binary seed corpora of the envelope fuzzers.
 *
 *   make_seeds <corpus-dir>
 *
 * Builds one real message of each kind with lyc_envelope_encode(), exactly as
 * the services pack them, and writes
 *
 *   <corpus-dir>/bus_frame/<type>.bin      one envelope (one bus frame), and
 *                                          one with a two-frame route before it
 *   <corpus-dir>/kafka_event/<name>.bin    record streams in fuzz_kafka_event's
 *                                          format (2-byte little-endian length,
 *                                          record) telling one query's story
 *
 * The committed seeds were made with it; run it again after a schema change
 * (tests/fuzz/run.sh --seeds does).
 */
#include "envelope.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TRACE "0123456789abcdef0123456789abcdef"

static const char *s_dir;

static void s_write(const char *sub, const char *name, const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.bin", s_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static uint8_t *s_pack(lyc_msg_type_t type, const ProtobufCMessage *msg, size_t *len)
{
    uint8_t *data = lyc_envelope_encode(type, S_TRACE, msg, len);
    if (!data) {
        fprintf(stderr, "make_seeds: cannot pack %s\n", lyc_msg_name(type));
        exit(1);
    }
    return data;
}

/* One bus frame, and the same behind a route (fuzz_bus_frame's layout). */
static void s_bus(lyc_msg_type_t type, const ProtobufCMessage *msg)
{
    size_t len;
    uint8_t *frame = s_pack(type, msg, &len);
    char name[64];
    snprintf(name, sizeof name, "%s", lyc_msg_name(type));
    s_write("bus_frame", name, frame, len);

    static const uint8_t route[] = {0x02, 5, 0, 'w', 'k', 'r', '1', 0};
    uint8_t *routed = malloc(sizeof route + len);
    if (!routed)
        exit(1);
    memcpy(routed, route, sizeof route);
    memcpy(routed + sizeof route, frame, len);
    snprintf(name, sizeof name, "%s-routed", lyc_msg_name(type));
    s_write("bus_frame", name, routed, sizeof route + len);
    free(routed);
    free(frame);
}

/* A record stream being built for fuzz_kafka_event. */
typedef struct {
    uint8_t data[8192];
    size_t len;
} s_stream_t;

static void s_record(s_stream_t *s, lyc_msg_type_t type, const ProtobufCMessage *msg)
{
    size_t len;
    uint8_t *rec = s_pack(type, msg, &len);
    if (len > 0xffff || s->len + 2 + len > sizeof s->data)
        exit(1);
    s->data[s->len++] = (uint8_t) (len & 0xff);
    s->data[s->len++] = (uint8_t) (len >> 8);
    memcpy(s->data + s->len, rec, len);
    s->len += len;
    free(rec);
}

static void s_feedback(Lyceum__V1__FeedbackEvent *ev, Lyceum__V1__Usage *usage, const char *id,
                       const char *model, int supervisor, double score)
{
    lyceum__v1__feedback_event__init(ev);
    lyceum__v1__usage__init(usage);
    usage->prompt_tokens = 120;
    usage->completion_tokens = 40;
    ev->event_id = (char *) id;
    ev->trace_id = S_TRACE;
    ev->tenant = "default";
    ev->domain = "math";
    ev->path = LYCEUM__V1__PATH__PATH_NOVEL;
    ev->model = (char *) model;
    ev->role = supervisor ? LYCEUM__V1__ROLE__ROLE_SUPERVISOR : LYCEUM__V1__ROLE__ROLE_STUDENT;
    ev->score = score;
    ev->confidence = 0.9;
    ev->source = LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_JUDGE;
    ev->judged_by = "sup";
    ev->winner = supervisor;
    ev->winner_model = "sup";
    ev->cost_usd = supervisor ? 0.002 : 0.0001;
    ev->judge_cost_usd = 0.0005;
    ev->latency_ms = supervisor ? 900 : 300;
    ev->usage = usage;
    ev->at_us = 1700000000000000LL;
    ev->supervisor = supervisor;
}

static void s_seeds(void)
{
    Lyceum__V1__ChatMessage m = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *msgs[] = {&m};
    m.role = "user";
    m.content = "What is 12*7?";

    Lyceum__V1__ClientQuery q = LYCEUM__V1__CLIENT_QUERY__INIT;
    q.messages = msgs;
    q.n_messages = 1;
    q.tenant = "default";
    q.model = "lyceum";
    s_bus(LYCEUM__V1__MESSAGE_TYPE__CLIENT_QUERY, &q.base);

    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = "t1";
    task.trace_id = S_TRACE;
    task.model = "student";
    task.messages = msgs;
    task.n_messages = 1;
    task.deadline_ms = 30000;
    s_bus(LYCEUM__V1__MESSAGE_TYPE__TASK, &task.base);

    Lyceum__V1__Usage usage = LYCEUM__V1__USAGE__INIT;
    usage.prompt_tokens = 12;
    usage.completion_tokens = 3;
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    answer.task_id = "t1";
    answer.trace_id = S_TRACE;
    answer.model = "student";
    answer.content = "84";
    answer.usage = &usage;
    answer.latency_ms = 250;
    s_bus(LYCEUM__V1__MESSAGE_TYPE__ANSWER, &answer.base);

    Lyceum__V1__WorkerRegister reg = LYCEUM__V1__WORKER_REGISTER__INIT;
    reg.worker_id = "student#host:1";
    reg.model = "student";
    reg.backend = "replay";
    reg.capacity = 8;
    s_bus(LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, &reg.base);

    Lyceum__V1__WorkerHeartbeat hb = LYCEUM__V1__WORKER_HEARTBEAT__INIT;
    hb.worker_id = "student#host:1";
    hb.model = "student";
    hb.capacity = 8;
    hb.in_flight = 1;
    s_bus(LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, &hb.base);

    Lyceum__V1__Answer *answers[] = {&answer};
    Lyceum__V1__EvalRequest req = LYCEUM__V1__EVAL_REQUEST__INIT;
    req.trace_id = S_TRACE;
    req.tenant = "default";
    req.domain = "math";
    req.messages = msgs;
    req.n_messages = 1;
    req.answers = answers;
    req.n_answers = 1;
    s_bus(LYCEUM__V1__MESSAGE_TYPE__EVAL_REQUEST, &req.base);

    Lyceum__V1__AnswerVerdict av = LYCEUM__V1__ANSWER_VERDICT__INIT;
    Lyceum__V1__AnswerVerdict *avs[] = {&av};
    av.model = "student";
    av.score = 1.0;
    av.confidence = 0.9;
    Lyceum__V1__Verdict verdict = LYCEUM__V1__VERDICT__INIT;
    verdict.trace_id = S_TRACE;
    verdict.verdicts = avs;
    verdict.n_verdicts = 1;
    verdict.winner = "student";
    verdict.final_content = "84";
    verdict.judged_by = "sup";
    s_bus(LYCEUM__V1__MESSAGE_TYPE__VERDICT, &verdict.base);

    /* Kafka: a supervisor and a student answer one query ... */
    Lyceum__V1__FeedbackEvent sup, stu;
    Lyceum__V1__Usage sup_usage, stu_usage;
    s_feedback(&sup, &sup_usage, "e1", "sup", 1, 1.0);
    s_feedback(&stu, &stu_usage, "e2", "student", 0, 0.8);
    s_bus(LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, &stu.base);
    s_stream_t query = {.len = 0};
    s_record(&query, LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, &sup.base);
    s_record(&query, LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, &stu.base);
    s_write("kafka_event", "query", query.data, query.len);

    /* ... the student learns (sample, gated job), is promoted, and a user scores it. */
    Lyceum__V1__TrainingSample sample = LYCEUM__V1__TRAINING_SAMPLE__INIT;
    sample.sample_id = "s1";
    sample.tenant = "default";
    sample.domain = "math";
    sample.student_model = "student";
    sample.messages = msgs;
    sample.n_messages = 1;
    sample.answer = "84";
    sample.source_model = "sup";
    sample.score = 1.0;
    sample.at_us = 1700000001000000LL;
    Lyceum__V1__TrainingJob job = LYCEUM__V1__TRAINING_JOB__INIT;
    job.job_id = "j1";
    job.student_model = "student";
    job.domain = "math";
    job.samples = 1;
    job.state = LYCEUM__V1__JOB_STATE__JOB_STATE_GATED;
    job.dispatcher = "command";
    job.result_model = "student-ft1";
    job.updated_at_us = 1700000002000000LL;
    job.gate_score = 0.9;
    Lyceum__V1__RoleChange role = LYCEUM__V1__ROLE_CHANGE__INIT;
    role.model = "student";
    role.domain = "math";
    role.from_role = LYCEUM__V1__ROLE__ROLE_STUDENT;
    role.to_role = LYCEUM__V1__ROLE__ROLE_TA;
    role.reason = "lower bound 0.82 above 0.8";
    role.evidence_count = 40;
    role.mean_score = 0.9;
    role.lower_bound = 0.82;
    role.upper_bound = 0.95;
    role.at_us = 1700000003000000LL;
    Lyceum__V1__DomainRole dr = LYCEUM__V1__DOMAIN_ROLE__INIT;
    Lyceum__V1__DomainRole *drs[] = {&dr};
    dr.domain = "*";
    dr.role = LYCEUM__V1__ROLE__ROLE_STUDENT;
    Lyceum__V1__ModelEntry entry = LYCEUM__V1__MODEL_ENTRY__INIT;
    entry.model = "student-ft1";
    entry.backend = "openai";
    entry.roles = drs;
    entry.n_roles = 1;
    entry.parent_model = "student";
    entry.active = 1;
    entry.registered_at_us = 1700000002500000LL;
    Lyceum__V1__FeedbackEvent human;
    Lyceum__V1__Usage human_usage;
    s_feedback(&human, &human_usage, "e3", "student-ft1", 0, 0.0);
    human.source = LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_HUMAN;
    human.usage = NULL;
    human.at_us = 1700000004000000LL;

    s_stream_t learn = {.len = 0};
    s_record(&learn, LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE, &sample.base);
    s_record(&learn, LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE, &sample.base);
    s_record(&learn, LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB, &job.base);
    s_record(&learn, LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY, &entry.base);
    s_record(&learn, LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, &role.base);
    s_record(&learn, LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, &human.base);
    s_write("kafka_event", "learning", learn.data, learn.len);

    s_stream_t one = {.len = 0};
    s_record(&one, LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE, &role.base);
    s_write("kafka_event", "role_change", one.data, one.len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds <corpus-dir>\n");
        return 2;
    }
    s_dir = argv[1];
    lyc_envelope_set_sender("fuzz-seeds");
    s_seeds();
    return 0;
}
