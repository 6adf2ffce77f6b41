/*
 * distill.c - winning answers into per-student fine-tuning sets.
 */
#include "distill.h"

#include "clock.h"
#include "fsutil.h"
#include "ids.h"
#include "log.h"
#include "model_config.h"
#include "roles.h"
#include "stats.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_STUDENTS 64

/*
 * KEYS: 1 the (student, query) marker, 2 the (student, domain) counters.
 * ARGV: 1 marker ttl, 2 holdout_every, 3 finetune_min_samples (0: never),
 *       4 a new job id, 5 now (us), 6 after how long a job is presumed lost (us).
 * Returns {kind (0 seen before, 1 train, 2 heldout), total, start a job (0/1)}.
 */
static const char s_script[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0, 0, 0} end\n"
    "local total = redis.call('HINCRBY', KEYS[2], 'total', 1)\n"
    "if total % tonumber(ARGV[2]) == 0 then\n"
    "  redis.call('HINCRBY', KEYS[2], 'heldout', 1)\n"
    "  return {2, total, 0}\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[2], 'train', 1)\n"
    "local pending = redis.call('HINCRBY', KEYS[2], 'pending', 1)\n"
    "local min = tonumber(ARGV[3])\n"
    "if min <= 0 or pending < min then return {1, total, 0} end\n"
    "local since = tonumber(redis.call('HGET', KEYS[2], 'job_at') or '0')\n"
    "if redis.call('HEXISTS', KEYS[2], 'job') == 1 and\n"
    "   tonumber(ARGV[5]) - since < tonumber(ARGV[6]) then return {1, total, 0} end\n"
    "redis.call('HSET', KEYS[2], 'pending', 0, 'job', ARGV[4], 'job_at', ARGV[5])\n"
    "return {1, total, 1}\n";

struct lyc_distill_t {
    lyc_distill_config_t cfg;
    lyc_counter_t *samples;
};

typedef struct {
    int kind; /* 0 seen, 1 train, 2 heldout */
    long long total;
    int start_job;
} s_count_t;

void lyc_distill_counter_key(char *buf, size_t cap, const char *prefix, const char *student,
                             const char *domain)
{
    snprintf(buf, cap, "%s:trainer:{%s}:data:%s", prefix, student, domain);
}

void lyc_distill_path(char *buf, size_t cap, const char *data_dir, const char *student,
                      const char *domain, const char *file)
{
    char s[256], d[256];
    lyc_fs_safe_name(s, sizeof s, student);
    lyc_fs_safe_name(d, sizeof d, domain);
    snprintf(buf, cap, "%s/%s/%s/%s", data_dir, s, d, file);
}

static int s_add_turn(cJSON *messages, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", role) ||
        !cJSON_AddStringToObject(m, "content", content)) {
        cJSON_Delete(m);
        return -1;
    }
    return cJSON_AddItemToArray(messages, m) ? 0 : -1;
}

char *lyc_distill_line(const char *system_prompt, const char *question, const char *answer)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(root, "messages");
    char *line = NULL;
    if (messages && s_add_turn(messages, "system", system_prompt) == 0 &&
        s_add_turn(messages, "user", question) == 0 &&
        s_add_turn(messages, "assistant", answer) == 0)
        line = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return line;
}

lyc_distill_t *lyc_distill_new(const lyc_distill_config_t *config)
{
    lyc_distill_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    self->samples = lyc_metrics_counter(config->metrics, "lyceum_trainer_samples_total",
                                        "Training samples written, by set", "set");
    if (!self->samples) {
        free(self);
        return NULL;
    }
    return self;
}

void lyc_distill_destroy(lyc_distill_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* Adds name to the list unless it is there or is the winner. */
static void s_consider(char (*names)[LYC_FEEDBACK_NAME_MAX], size_t *n, const char *name,
                       const char *winner)
{
    if (*n >= S_MAX_STUDENTS || strcmp(name, winner) == 0)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            return;
    snprintf(names[(*n)++], LYC_FEEDBACK_NAME_MAX, "%s", name);
}

/* 1 when model is a student or TA of the domain and may be fine-tuned. */
static int s_is_student(const lyc_distill_t *self, const char *model, const lyc_role_entry_t *roles,
                        size_t n_roles)
{
    const lyc_trainer_model_t *m = lyc_trainer_config_model(self->cfg.config, model);
    if (m && strcmp(m->backend, "memory") == 0)
        return 0;
    int role = lyc_roles_find(roles, n_roles, model);
    if (!role)
        role = m && m->role ? m->role : LYCEUM__V1__ROLE__ROLE_STUDENT;
    return role == LYCEUM__V1__ROLE__ROLE_STUDENT || role == LYCEUM__V1__ROLE__ROLE_TA;
}

/* The domain's students, the winner excluded, into names; their number or -1. */
static int s_students(lyc_distill_t *self, const char *domain, const char *winner,
                      char (*names)[LYC_FEEDBACK_NAME_MAX])
{
    const char *prefix = self->cfg.settings->redis_prefix;
    lyc_role_entry_t *roles = NULL;
    lyc_model_stats_t *stats = NULL;
    size_t n_roles = 0, n_stats = 0, n = 0, kept = 0;
    char all[S_MAX_STUDENTS][LYC_FEEDBACK_NAME_MAX];
    if (lyc_roles_load(self->cfg.redis, prefix, "shared", domain, &roles, &n_roles) != 0 ||
        lyc_stats_load(self->cfg.redis, prefix, "shared", domain, &stats, &n_stats) != 0) {
        free(roles);
        return -1;
    }
    for (size_t i = 0; i < self->cfg.config->n_models; i++)
        s_consider(all, &n, self->cfg.config->models[i].name, winner);
    for (size_t i = 0; i < n_stats; i++)
        if (stats[i].n > 0)
            s_consider(all, &n, stats[i].model, winner);
    for (size_t i = 0; i < n; i++)
        if (s_is_student(self, all[i], roles, n_roles))
            snprintf(names[kept++], LYC_FEEDBACK_NAME_MAX, "%s", all[i]);
    free(roles);
    free(stats);
    return (int) kept;
}

static int s_count(lyc_distill_t *self, const char *student, const lyc_feedback_t *ev,
                   const char *job_id, s_count_t *out)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    char marker[512], counters[512], ttl[24], every[24], min[24], now[24], stale[24];
    const char *prefix = self->cfg.settings->redis_prefix;
    snprintf(marker, sizeof marker, "%s:trainer:{%s}:sampled:%s", prefix, student, ev->query_id);
    lyc_distill_counter_key(counters, sizeof counters, prefix, student, ev->domain);
    snprintf(ttl, sizeof ttl, "%ld", c->sample_ttl_s);
    snprintf(every, sizeof every, "%ld", c->holdout_every);
    snprintf(min, sizeof min, "%ld",
             self->cfg.jobs && strcmp(c->dispatcher, "none") != 0 ? c->finetune_min_samples : 0);
    snprintf(now, sizeof now, "%lld", (long long) lyc_wall_us());
    snprintf(stale, sizeof stale, "%lld", (long long) c->job_timeout_ms * 2000LL);
    const char *argv[] = {"EVAL", s_script, "2",    marker, counters, ttl,
                          every,  min,      job_id, now,    stale};
    redisReply *reply = lyc_redis_command(self->cfg.redis, 11, argv, NULL);
    if (!reply)
        return -1;
    int rc = -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
        out->kind = (int) reply->element[0]->integer;
        out->total = reply->element[1]->integer;
        out->start_job = (int) reply->element[2]->integer;
        rc = 0;
    }
    freeReplyObject(reply);
    return rc;
}

static void s_sample_event(lyc_distill_t *self, const lyc_feedback_t *ev, const char *student,
                           const char *question, const char *answer, const char *source,
                           const char *system_prompt)
{
    char sample_id[LYC_ID_LEN];
    lyc_id_new(sample_id);
    Lyceum__V1__ChatMessage turns[2] = {LYCEUM__V1__CHAT_MESSAGE__INIT,
                                        LYCEUM__V1__CHAT_MESSAGE__INIT};
    Lyceum__V1__ChatMessage *ptrs[2] = {&turns[0], &turns[1]};
    turns[0].role = "system";
    turns[0].content = (char *) system_prompt;
    turns[1].role = "user";
    turns[1].content = (char *) question;
    Lyceum__V1__TrainingSample s = LYCEUM__V1__TRAINING_SAMPLE__INIT;
    s.sample_id = sample_id;
    s.tenant = ev->tenant;
    s.domain = ev->domain;
    s.student_model = (char *) student;
    s.messages = ptrs;
    s.n_messages = 2;
    s.answer = (char *) answer;
    s.source_model = (char *) source;
    s.score = ev->score;
    s.at_us = lyc_wall_us();
    if (lyc_event_sink_send(self->cfg.sink, self->cfg.settings->topic_training, student,
                            LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE, ev->trace_id, &s.base) != 0)
        LYC_WARN(ev->trace_id, "trainer: the TRAINING_SAMPLE event for %s was not accepted",
                 student);
}

/* One student's sample: count, write, announce, maybe start a job. */
static int s_sample(lyc_distill_t *self, const lyc_feedback_t *ev, const char *student,
                    const char *line, const char *question, const char *answer, const char *source,
                    const char *system_prompt)
{
    char job_id[LYC_ID_LEN], path[4096];
    s_count_t count;
    lyc_id_new(job_id);
    if (s_count(self, student, ev, job_id, &count) != 0)
        return -1;
    if (count.kind == 0)
        return 0; /* this query was already a sample for this student */
    const char *set = count.kind == 2 ? "heldout" : "train";
    char file[32];
    snprintf(file, sizeof file, "%s.jsonl", set);
    lyc_distill_path(path, sizeof path, self->cfg.config->data_dir, student, ev->domain, file);
    if (lyc_fs_append_line(path, line) != 0)
        return 0;
    const char *labels[] = {set};
    lyc_counter_add(self->samples, labels, 1);
    s_sample_event(self, ev, student, question, answer, source, system_prompt);
    if (count.start_job &&
        lyc_jobs_finetune(self->cfg.jobs, self->cfg.redis, job_id, student, ev->domain) != 0)
        LYC_WARN(ev->trace_id, "trainer: job %s for %s in %s could not be queued", job_id, student,
                 ev->domain);
    return 1;
}

/* 1 when ev is a winning answer worth learning from. */
static int s_worth(const lyc_distill_t *self, const lyc_feedback_t *ev)
{
    return ev->winner && !ev->for_learning && !lyc_feedback_is_human(ev) &&
           !lyc_feedback_failed(ev) && lyc_feedback_scored(ev) &&
           ev->score >= self->cfg.config->exemplar_min_score && ev->query_id && *ev->query_id;
}

/* Writes the samples of one record for the students. */
static int s_from_record(lyc_distill_t *self, const lyc_feedback_t *ev,
                         const lyc_vecstore_record_t *record)
{
    const char *question = lyc_vecstore_record_value(record, "question");
    const char *answer = lyc_vecstore_record_value(record, "answer");
    const char *winner = lyc_vecstore_record_value(record, "winner");
    if (!question || !*question || !answer || !*answer)
        return 0;
    char students[S_MAX_STUDENTS][LYC_FEEDBACK_NAME_MAX];
    int n = s_students(self, ev->domain, ev->model, students);
    if (n <= 0)
        return n;
    char *prompt = lyc_model_system_prompt(self->cfg.config->system_prompt, ev->domain);
    char *line = prompt ? lyc_distill_line(prompt, question, answer) : NULL;
    int written = line ? 0 : -1;
    for (int i = 0; line && i < n && written >= 0; i++) {
        int rc = s_sample(self, ev, students[i], line, question, answer,
                          winner && *winner ? winner : ev->model, prompt);
        written = rc < 0 ? -1 : written + rc;
    }
    free(line);
    free(prompt);
    return written;
}

int lyc_distill_event(lyc_distill_t *self, const lyc_feedback_t *ev)
{
    if (!s_worth(self, ev))
        return 0;
    lyc_vecstore_record_t *record = NULL;
    if (lyc_vecstore_record_get(self->cfg.store, ev->tenant, ev->query_id, &record) != 0)
        return -1;
    if (!record) {
        LYC_DEBUG(ev->trace_id, "trainer: no record %s for a sample (a near-duplicate query)",
                  ev->query_id);
        return 0;
    }
    int rc = s_from_record(self, ev, record);
    lyc_vecstore_record_destroy(&record);
    return rc;
}
