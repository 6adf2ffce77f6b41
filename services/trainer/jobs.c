/*
 * jobs.c - the job runner thread: queue, dispatch, candidate, gate, live.
 */
#include "jobs.h"

#include "budget.h"

#include "clock.h"
#include "cluster_file.h"
#include "dispatch.h"
#include "distill.h"
#include "fsutil.h"
#include "gate.h"
#include "job_state.h"
#include "log.h"
#include "model_registry.h"
#include "model_yaml.h"
#include "spawn.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_TEND_MS       1000
#define S_GATE_TENANT   "default"
#define S_MIN_EXEMPLARS 3

typedef struct s_item_t {
    lyc_job_t job;
    struct s_item_t *next;
} s_item_t;

struct lyc_jobs_t {
    lyc_jobs_config_t cfg;
    lyc_redis_t *redis; /* the runner thread's */
    lyc_spawner_t *spawner;
    lyc_counter_t *jobs_total;
    lyc_gauge_t *workers;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    s_item_t *head, *tail; /* queued jobs */
    size_t pending;        /* queued + running */
    volatile sig_atomic_t stop;
};

/* ---- helpers ------------------------------------------------------------ */

static void s_count(lyc_jobs_t *self, int state)
{
    const char *labels[] = {lyc_job_state_name(state)};
    lyc_counter_add(self->jobs_total, labels, 1);
}

static void s_publish(lyc_jobs_t *self, lyc_redis_t *redis, lyc_job_t *job, int state)
{
    lyc_job_publish(redis, self->cfg.settings->redis_prefix, self->cfg.sink,
                    self->cfg.settings->topic_training, job, state);
    s_count(self, state);
}

/* Deep copy of a model: its YAML loaded back. 0 or -1. */
static int s_copy_model(const lyc_model_config_t *from, lyc_model_config_t *to, char *err,
                        size_t errcap)
{
    char *yaml = lyc_model_yaml_emit(from, 0);
    if (!yaml) {
        snprintf(err, errcap, "out of memory");
        memset(to, 0, sizeof *to);
        return -1;
    }
    int rc = lyc_model_yaml_load(yaml, from->name, NULL, NULL, to, err, errcap);
    free(yaml);
    return rc;
}

/* The settings of a model: the cluster file's entry, else the registry's. */
static int s_find_model(lyc_jobs_t *self, const char *name, lyc_model_config_t *out, char *err,
                        size_t errcap)
{
    memset(out, 0, sizeof *out);
    if (lyc_model_config_find(self->cfg.doc, name, out, err, errcap) == 0)
        return 0;
    lyc_model_config_free(out);
    char *yaml = lyc_registry_config_yaml(self->redis, self->cfg.settings->redis_prefix, name);
    if (!yaml) {
        snprintf(err, errcap, "model '%s' is neither in the cluster file nor in the registry",
                 name);
        memset(out, 0, sizeof *out);
        return -1;
    }
    int rc = lyc_model_yaml_load(yaml, name, NULL, NULL, out, err, errcap);
    free(yaml);
    return rc;
}

/* The next version number of a parent's line, into *version. */
static int s_next_version(lyc_jobs_t *self, const char *parent, long long *version)
{
    char key[256];
    snprintf(key, sizeof key, "%s:registry:versions", self->cfg.settings->redis_prefix);
    const char *argv[] = {"HINCRBY", key, parent, "1"};
    redisReply *reply = lyc_redis_command(self->redis, 4, argv, NULL);
    if (!reply)
        return -1;
    int rc = reply->type == REDIS_REPLY_INTEGER ? 0 : -1;
    *version = reply->integer;
    freeReplyObject(reply);
    return rc;
}

/* Frees the (student, domain) pair for its next job. */
static void s_release_pair(lyc_jobs_t *self, const lyc_job_t *job)
{
    char key[512];
    lyc_distill_counter_key(key, sizeof key, self->cfg.settings->redis_prefix, job->student,
                            job->domain);
    const char *argv[] = {"HDEL", key, "job", "job_at"};
    redisReply *reply = lyc_redis_command(self->redis, 4, argv, NULL);
    freeReplyObject(reply);
}

/* ---- the queue ---------------------------------------------------------- */

static int s_enqueue(lyc_jobs_t *self, lyc_redis_t *redis, s_item_t *item)
{
    s_publish(self, redis, &item->job, LYCEUM__V1__JOB_STATE__JOB_STATE_QUEUED);
    pthread_mutex_lock(&self->lock);
    if (self->tail)
        self->tail->next = item;
    else
        self->head = item;
    self->tail = item;
    self->pending++;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    return 0;
}

static s_item_t *s_item_new(const char *job_id, const char *kind, const char *student,
                            const char *domain, const char *dispatcher)
{
    s_item_t *item = calloc(1, sizeof *item);
    if (!item)
        return NULL;
    lyc_job_t *job = &item->job;
    snprintf(job->job_id, sizeof job->job_id, "%s", job_id);
    snprintf(job->kind, sizeof job->kind, "%s", kind);
    snprintf(job->student, sizeof job->student, "%s", student);
    snprintf(job->domain, sizeof job->domain, "%s", domain);
    snprintf(job->dispatcher, sizeof job->dispatcher, "%s", dispatcher);
    job->parent_score = -1;
    job->created_us = lyc_wall_us();
    return item;
}

int lyc_jobs_finetune(lyc_jobs_t *self, lyc_redis_t *redis, const char *job_id, const char *student,
                      const char *domain)
{
    s_item_t *item = s_item_new(job_id, "finetune", student, domain, self->cfg.config->dispatcher);
    if (!item)
        return -1;
    lyc_distill_path(item->job.dataset, sizeof item->job.dataset, self->cfg.config->data_dir,
                     student, domain, "train.jsonl");
    lyc_distill_path(item->job.heldout, sizeof item->job.heldout, self->cfg.config->data_dir,
                     student, domain, "heldout.jsonl");
    return s_enqueue(self, redis, item);
}

int lyc_jobs_onboard(lyc_jobs_t *self, lyc_redis_t *redis, const char *job_id, const char *domain,
                     const char *heldout_path)
{
    s_item_t *item =
        s_item_new(job_id, "onboard", self->cfg.config->onboard_template, domain, "onboard");
    if (!item)
        return -1;
    snprintf(item->job.heldout, sizeof item->job.heldout, "%s", heldout_path);
    return s_enqueue(self, redis, item);
}

size_t lyc_jobs_pending(lyc_jobs_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->pending;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* ---- one job ------------------------------------------------------------ */

/* Copies the data sets into the job's directory and makes {output}. */
static int s_snapshot(lyc_jobs_t *self, lyc_job_t *job)
{
    char dir[LYC_JOB_PATH_MAX], train[LYC_JOB_PATH_MAX], heldout[LYC_JOB_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/jobs/%s", self->cfg.config->data_dir, job->job_id);
    snprintf(job->output, sizeof job->output, "%s/output", dir);
    snprintf(train, sizeof train, "%s/train.jsonl", dir);
    snprintf(heldout, sizeof heldout, "%s/heldout.jsonl", dir);
    if (lyc_fs_mkdirs(job->output) != 0) {
        snprintf(job->error, sizeof job->error, "cannot create %s", job->output);
        return -1;
    }
    long samples = *job->dataset ? lyc_fs_copy(job->dataset, train) : 0;
    long questions = lyc_fs_copy(job->heldout, heldout);
    if (samples < 0 || questions < 0) {
        snprintf(job->error, sizeof job->error, "cannot copy the data sets into %s", dir);
        return -1;
    }
    job->samples = (unsigned) samples;
    if (*job->dataset)
        snprintf(job->dataset, sizeof job->dataset, "%s", train);
    snprintf(job->heldout, sizeof job->heldout, "%s", heldout);
    return 0;
}

/* The model being trained, as the API or command knows it. */
static const char *s_base_model(const lyc_model_config_t *parent)
{
    if (strcmp(parent->backend, "openai") == 0 && parent->openai_model && *parent->openai_model)
        return parent->openai_model;
    return parent->name;
}

/* The openai result: the parent's settings served at the fine-tuning API. */
static int s_openai_candidate(lyc_jobs_t *self, const lyc_model_config_t *parent, const char *name,
                              const char *remote, lyc_model_config_t *out, char *err, size_t errcap)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    if (s_copy_model(parent, out, err, errcap) != 0)
        return -1;
    if (lyc_model_set_str(&out->name, name) || lyc_model_set_str(&out->backend, "openai") ||
        lyc_model_set_str(&out->openai_base_url, c->openai_base_url) ||
        lyc_model_set_str(&out->openai_model, remote) ||
        lyc_model_set_str(&out->openai_api_key_env, c->openai_api_key_env)) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

/* Reserves the expected cost of a job against trainer.budget_tenant's budget
 * before anything is dispatched. 0 when it may go on (resv holds the
 * reservation, empty when there is no budget to check), -1 with job->error. */
static int s_budget_reserve(lyc_jobs_t *self, lyc_job_t *job, lyc_budget_resv_t *resv)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    const char *prefix = self->cfg.settings->redis_prefix;
    lyc_budget_account_t account;
    lyc_budget_refusal_t why = {0};
    memset(resv, 0, sizeof *resv);
    if (!c->budget_tenant || !*c->budget_tenant)
        return 0;
    if (lyc_budget_account_load(self->redis, prefix, c->budget_tenant, NULL, &account) != 0) {
        snprintf(job->error, sizeof job->error, "budget of %s cannot be read", c->budget_tenant);
        return -1;
    }
    int rc = lyc_budget_reserve(self->redis, prefix, &account, c->finetune_cost_usd,
                                c->job_timeout_ms + 60000, resv, &why);
    if (rc == 1)
        snprintf(job->error, sizeof job->error,
                 "budget: %s limit %.4f USD reached (spent %.4f, reserved %.4f)", why.limit,
                 why.limit_usd, why.spent, why.reserved);
    else if (rc != 0)
        snprintf(job->error, sizeof job->error, "budget of %s cannot be checked", c->budget_tenant);
    return rc == 0 ? 0 : -1;
}

/* Runs the dispatcher; the candidate's settings into *out. */
static int s_train(lyc_jobs_t *self, lyc_job_t *job, const lyc_model_config_t *parent,
                   const char *name, lyc_model_config_t *out)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    lyc_dispatch_job_t d = {.job_id = job->job_id,
                            .data = job->dataset,
                            .heldout = job->heldout,
                            .base_model = s_base_model(parent),
                            .domain = job->domain,
                            .output = job->output,
                            .name = name};
    char err[512] = "", remote[256] = "", path[LYC_JOB_PATH_MAX + 16];
    lyc_budget_resv_t resv;
    memset(out, 0, sizeof *out);
    /* Fine-tuning spends: nothing is dispatched past the budget. */
    if (s_budget_reserve(self, job, &resv) != 0)
        return -1;
    int rc;
    if (strcmp(c->dispatcher, "openai") == 0) {
        rc = lyc_dispatch_openai(c, &d, &self->stop, remote, job->external_id,
                                 sizeof job->external_id, err, sizeof err);
        if (rc == 0)
            rc = s_openai_candidate(self, parent, name, remote, out, err, sizeof err);
    } else {
        rc = lyc_dispatch_command(c, &d, &self->stop, err, sizeof err);
        snprintf(path, sizeof path, "%s/model.yaml", job->output);
        char *text = rc == 0 ? lyc_fs_read(path, 1 << 20, NULL) : NULL;
        if (rc == 0 && !text) {
            snprintf(err, sizeof err, "cannot read %s", path);
            rc = -1;
        }
        if (text)
            rc = lyc_model_yaml_load(text, path, name, job->output, out, err, sizeof err);
        free(text);
    }
    if (rc != 0)
        snprintf(job->error, sizeof job->error, "%s", err);
    if (rc == 0)
        lyc_budget_settle(self->redis, self->cfg.settings->redis_prefix, &resv,
                          c->finetune_cost_usd);
    else
        lyc_budget_release(self->redis, self->cfg.settings->redis_prefix, &resv);
    return rc;
}

/* Gives a new version its parent's prices when it names none, the student
 * role, and, when it names no system prompt, the one its training samples
 * carried (trainer.system_prompt), so it is served as it was trained. */
static void s_inherit(lyc_model_config_t *m, const lyc_model_config_t *parent,
                      const char *trained_with)
{
    if (m->price_in == 0 && m->price_out == 0) {
        m->price_in = parent->price_in;
        m->price_out = parent->price_out;
    }
    lyc_model_set_str(&m->role, "student");
    if ((!m->system_prompt || !*m->system_prompt) && trained_with)
        lyc_model_set_str(&m->system_prompt, trained_with);
}

/* The gate's verdict; sets job->gate_score and parent_score. 1 pass, 0 not. */
static int s_gate(lyc_jobs_t *self, lyc_job_t *job, const lyc_model_config_t *candidate,
                  const lyc_model_config_t *parent)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    lyc_gate_result_t mine, theirs;
    char err[512];
    size_t max = (size_t) c->gate_max_questions;
    if (lyc_gate_evaluate(candidate, self->cfg.settings, job->heldout, S_GATE_TENANT, job->domain,
                          max, &self->stop, &mine, err, sizeof err) != 0) {
        snprintf(job->error, sizeof job->error, "gate: %s", err);
        return 0;
    }
    job->gate_score = mine.score;
    if (parent && lyc_gate_evaluate(parent, self->cfg.settings, job->heldout, S_GATE_TENANT,
                                    job->domain, max, &self->stop, &theirs, err, sizeof err) == 0)
        job->parent_score = theirs.score;
    else if (parent)
        LYC_WARN(NULL, "trainer: job %s: the parent %s could not be gated (%s); no comparison",
                 job->job_id, parent->name, err);
    if (mine.score < c->gate_min_score) {
        snprintf(job->error, sizeof job->error,
                 "held-out accuracy %.3f (%zu of %zu) is below gate_min_score %.3f", mine.score,
                 mine.right, mine.asked, c->gate_min_score);
        return 0;
    }
    if (job->parent_score >= 0 && mine.score < job->parent_score - c->gate_max_regression) {
        snprintf(job->error, sizeof job->error,
                 "held-out accuracy %.3f is more than %.3f below the parent's %.3f", mine.score,
                 c->gate_max_regression, job->parent_score);
        return 0;
    }
    return 1;
}

/* Active: the cluster file, the registry entry, a worker. */
static void s_go_live(lyc_jobs_t *self, lyc_job_t *job, lyc_registry_entry_t *entry)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    char dir[LYC_JOB_PATH_MAX], path[LYC_JOB_PATH_MAX + 300], log[LYC_JOB_PATH_MAX + 300];
    char safe[256];
    lyc_fs_safe_name(safe, sizeof safe, entry->model->name);
    snprintf(dir, sizeof dir, "%s/models", c->data_dir);
    snprintf(path, sizeof path, "%s/%s.yaml", dir, safe);
    snprintf(log, sizeof log, "%s/%s.log", dir, safe);
    int written = lyc_fs_mkdirs(dir) == 0 &&
                  lyc_cluster_file_write(path, self->cfg.settings, entry->model) == 0;
    entry->cluster_file = written ? path : "";
    entry->candidate = 0;
    entry->active = 1;
    lyc_registry_put(self->redis, self->cfg.settings->redis_prefix, self->cfg.sink,
                     self->cfg.settings->topic_registry, entry);
    if (written && c->spawn_workers &&
        lyc_spawner_start(self->spawner, path, entry->model->name, log) > 0) {
        lyc_gauge_set(self->workers, NULL, (double) lyc_spawner_count(self->spawner));
    }
}

/* From a registered candidate to GATED (live) or REJECTED. */
static void s_judge(lyc_jobs_t *self, lyc_job_t *job, lyc_model_config_t *candidate,
                    const lyc_model_config_t *parent, const char *version)
{
    lyc_registry_entry_t entry = {.model = candidate,
                                  .parent = parent ? parent->name : "",
                                  .version = version,
                                  .domain = job->domain,
                                  .role = LYCEUM__V1__ROLE__ROLE_STUDENT,
                                  .candidate = 1,
                                  .job_id = job->job_id,
                                  .registered_at_us = lyc_wall_us()};
    snprintf(job->result_model, sizeof job->result_model, "%s", candidate->name);
    lyc_registry_put(self->redis, self->cfg.settings->redis_prefix, self->cfg.sink,
                     self->cfg.settings->topic_registry, &entry);
    s_publish(self, self->redis, job, LYCEUM__V1__JOB_STATE__JOB_STATE_SUCCEEDED);
    int pass = s_gate(self, job, candidate, parent);
    entry.gate_score = job->gate_score;
    if (pass) {
        s_go_live(self, job, &entry);
        s_publish(self, self->redis, job, LYCEUM__V1__JOB_STATE__JOB_STATE_GATED);
        return;
    }
    entry.candidate = 0;
    lyc_registry_put(self->redis, self->cfg.settings->redis_prefix, self->cfg.sink,
                     self->cfg.settings->topic_registry, &entry);
    s_publish(self, self->redis, job, LYCEUM__V1__JOB_STATE__JOB_STATE_REJECTED);
}

/* The candidate's name: <parent>-<domain>-v<n>, path- and key-safe. */
static int s_name(lyc_jobs_t *self, const lyc_job_t *job, char *name, size_t cap, char *version,
                  size_t vcap)
{
    long long v;
    char raw[512];
    if (s_next_version(self, job->student, &v) != 0)
        return -1;
    snprintf(version, vcap, "%lld", v);
    snprintf(raw, sizeof raw, "%s-%s-v%lld", job->student, job->domain, v);
    lyc_fs_safe_name(name, cap, raw);
    return 0;
}

/* The onboarded student: the template's settings, more exemplars. */
static int s_onboard_candidate(const lyc_model_config_t *parent, const char *name,
                               lyc_model_config_t *out, char *err, size_t errcap)
{
    if (s_copy_model(parent, out, err, errcap) != 0)
        return -1;
    if (out->exemplars < S_MIN_EXEMPLARS)
        out->exemplars = S_MIN_EXEMPLARS;
    /* A replay copy keeps answering from the template's recordings. */
    int keep_column = !out->replay_column || !*out->replay_column;
    if ((keep_column && lyc_model_set_str(&out->replay_column, parent->name) != 0) ||
        lyc_model_set_str(&out->name, name) != 0) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

static void s_run(lyc_jobs_t *self, lyc_job_t *job)
{
    lyc_model_config_t parent, candidate;
    char name[256], version[32], err[512] = "";
    int onboard = strcmp(job->kind, "onboard") == 0, rc;
    memset(&candidate, 0, sizeof candidate);
    if (s_find_model(self, job->student, &parent, err, sizeof err) != 0) {
        snprintf(job->error, sizeof job->error, "%s", err);
        goto out_failed;
    }
    if (s_snapshot(self, job) != 0 ||
        s_name(self, job, name, sizeof name, version, sizeof version) != 0)
        goto out_failed;
    s_publish(self, self->redis, job, LYCEUM__V1__JOB_STATE__JOB_STATE_RUNNING);
    rc = onboard ? s_onboard_candidate(&parent, name, &candidate, err, sizeof err)
                 : s_train(self, job, &parent, name, &candidate);
    if (rc != 0) {
        if (!*job->error)
            snprintf(job->error, sizeof job->error, "%s", err);
        goto out_failed;
    }
    s_inherit(&candidate, &parent, self->cfg.config->system_prompt);
    s_judge(self, job, &candidate, &parent, version);
    goto out_free;
out_failed:
    if (!*job->error)
        snprintf(job->error, sizeof job->error, "the job could not be prepared");
    s_publish(self, self->redis, job, LYCEUM__V1__JOB_STATE__JOB_STATE_FAILED);
out_free:
    if (!onboard)
        s_release_pair(self, job);
    lyc_model_config_free(&candidate);
    lyc_model_config_free(&parent);
}

/* ---- the thread --------------------------------------------------------- */

/* Marks one job FAILED when it is QUEUED or RUNNING and has not moved for
 * twice the job time-out: the trainer that held it is gone. */
static void s_sweep_one(lyc_jobs_t *self, const char *job_id, int64_t stale_us)
{
    char key[256], when[32];
    snprintf(key, sizeof key, "%s:jobs:%s", self->cfg.settings->redis_prefix, job_id);
    const char *get[] = {"HMGET", key, "state", "updated_at_us"};
    redisReply *r = lyc_redis_command(self->redis, 4, get, NULL);
    int stale =
        r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        (strcmp(r->element[0]->str, "QUEUED") == 0 || strcmp(r->element[0]->str, "RUNNING") == 0) &&
        strtoll(r->element[1]->str, NULL, 10) < stale_us;
    freeReplyObject(r);
    if (!stale)
        return;
    snprintf(when, sizeof when, "%lld", (long long) lyc_wall_us());
    const char *set[] = {"HSET",          key,
                         "state",         "FAILED",
                         "error",         "abandoned: its trainer stopped before it finished",
                         "updated_at_us", when};
    freeReplyObject(lyc_redis_command(self->redis, 8, set, NULL));
    s_count(self, LYCEUM__V1__JOB_STATE__JOB_STATE_FAILED);
    LYC_WARN(NULL, "trainer: job %s was abandoned by a stopped trainer; marked FAILED", job_id);
}

/* At start: jobs a stopped trainer left half-done are failed, so the
 * registry of jobs tells the truth (their data pairs unlock on their own). */
static void s_sweep(lyc_jobs_t *self)
{
    char index[256];
    snprintf(index, sizeof index, "%s:jobs:index", self->cfg.settings->redis_prefix);
    int64_t stale_us = lyc_wall_us() - self->cfg.config->job_timeout_ms * 2000LL;
    char until[32];
    snprintf(until, sizeof until, "%lld", (long long) stale_us);
    const char *argv[] = {"ZRANGEBYSCORE", index, "-inf", until};
    redisReply *r = lyc_redis_command(self->redis, 4, argv, NULL);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        s_sweep_one(self, r->element[i]->str, stale_us);
    freeReplyObject(r);
}

static s_item_t *s_next(lyc_jobs_t *self)
{
    pthread_mutex_lock(&self->lock);
    if (!self->head && !self->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += S_TEND_MS / 1000;
        pthread_cond_timedwait(&self->wake, &self->lock, &until);
    }
    s_item_t *item = self->stop ? NULL : self->head;
    if (item) {
        self->head = item->next;
        if (!self->head)
            self->tail = NULL;
    }
    pthread_mutex_unlock(&self->lock);
    return item;
}

static void *s_thread(void *arg)
{
    lyc_jobs_t *self = arg;
    s_sweep(self);
    while (!self->stop) {
        lyc_spawner_tend(self->spawner);
        lyc_gauge_set(self->workers, NULL, (double) lyc_spawner_count(self->spawner));
        s_item_t *item = s_next(self);
        if (!item)
            continue;
        s_run(self, &item->job);
        free(item);
        pthread_mutex_lock(&self->lock);
        self->pending--;
        pthread_mutex_unlock(&self->lock);
    }
    return NULL;
}

lyc_jobs_t *lyc_jobs_new(const lyc_jobs_config_t *config)
{
    lyc_jobs_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    self->redis =
        lyc_redis_new(config->settings->redis_url, (int) config->settings->redis_timeout_ms);
    self->spawner = lyc_spawner_new(config->config->worker_binary);
    self->jobs_total =
        lyc_metrics_counter(config->metrics, "lyceum_trainer_jobs_total",
                            "Fine-tuning and onboarding jobs by state reached", "state");
    self->workers = lyc_metrics_gauge(config->metrics, "lyceum_trainer_workers",
                                      "Worker processes the trainer runs for gated models", NULL);
    if (!self->redis || !self->spawner || !self->jobs_total || !self->workers ||
        pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        LYC_ERROR(NULL, "trainer: the job runner cannot start");
        lyc_redis_destroy(&self->redis);
        lyc_spawner_destroy(&self->spawner);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
}

void lyc_jobs_destroy(lyc_jobs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_jobs_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    while (self->head) {
        s_item_t *next = self->head->next;
        free(self->head);
        self->head = next;
    }
    lyc_spawner_destroy(&self->spawner);
    lyc_redis_destroy(&self->redis);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
