/*
 * agg.c - the aggregate's life cycle, duplicate detection and the dispatch
 * of each event to the file that counts it (see agg.h).
 */
#include "agg_internal.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *lyc_agg_strdup(const char *s)
{
    return strdup(s ? s : "");
}

const char *lyc_agg_key(char *buf, const char *a, const char *b)
{
    snprintf(buf, LYC_AGG_KEY_MAX, "%s" LYC_AGG_SEP "%s", a ? a : "", b ? b : "");
    return buf;
}

int64_t lyc_agg_bucket_start(const lyc_agg_t *self, int64_t at_us)
{
    int64_t w = self->cfg.bucket_us;
    int64_t q = at_us / w;
    if (at_us < 0 && at_us % w)
        q--;
    return q * w;
}

agg_bucket_t *lyc_agg_bucket(lyc_agg_t *self, int64_t start_us)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long) start_us);
    agg_bucket_t *b = zhashx_lookup(self->buckets, key);
    if (b)
        return b;
    b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->start_us = start_us;
    if (zhashx_insert(self->buckets, key, b) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

int lyc_agg_is_supervisor(const lyc_agg_t *self, const char *model)
{
    if (!model || !*model)
        return 0;
    for (char **s = self->supervisors; s && *s; s++)
        if (strcmp(*s, model) == 0)
            return 1;
    return zhashx_lookup(self->sup_seen, model) != NULL;
}

int lyc_agg_is_judge_call(const char *judged_by)
{
    /* Graders that call no model: recorded correctness or the supervisor's own
     * answer ("reference"), agreement among the answers, or nobody ("none"). */
    static const char *free_graders[] = {"", "reference", "agreement", "agreement-fallback",
                                         "none"};
    if (!judged_by)
        return 0;
    for (size_t i = 0; i < sizeof free_graders / sizeof free_graders[0]; i++)
        if (strcmp(judged_by, free_graders[i]) == 0)
            return 0;
    return 1;
}

/* ---- life cycle ---------------------------------------------------------- */

static void s_free_plain(void **item)
{
    free(*item);
    *item = NULL;
}

/* Splits the comma-separated names into a NULL-terminated list. */
static char **s_split(const char *text)
{
    size_t cap = 2;
    for (const char *p = text ? text : ""; *p; p++)
        cap += *p == ',';
    char **list = calloc(cap, sizeof *list);
    size_t n = 0;
    for (const char *p = text ? text : ""; list && *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0 && !(list[n++] = strndup(p, len)))
            return list; /* a shorter list; logged by the caller as no memory */
        p += len;
    }
    return list;
}

static zhashx_t *s_map(czmq_destructor *destructor)
{
    zhashx_t *map = zhashx_new();
    if (map)
        zhashx_set_destructor(map, destructor);
    return map;
}

static int s_maps(lyc_agg_t *self)
{
    self->sup_seen = s_map(s_free_plain);
    self->models = s_map(lyc_agg_model_free);
    self->cells = s_map(lyc_agg_cell_free);
    self->buckets = s_map(s_free_plain);
    self->queries = s_map(lyc_agg_query_free);
    self->domains = s_map(lyc_agg_domain_free);
    self->points = s_map(lyc_agg_points_free);
    self->samples = s_map(lyc_agg_samples_free);
    self->jobs = s_map(lyc_agg_job_free);
    self->entries = s_map(lyc_agg_entry_free);
    return self->sup_seen && self->models && self->cells && self->buckets && self->queries &&
                   self->domains && self->points && self->samples && self->jobs && self->entries
               ? 0
               : -1;
}

lyc_agg_t *lyc_agg_new(const lyc_agg_config_t *config)
{
    if (config->bucket_us <= 0 || config->max_buckets == 0 || config->max_queries == 0) {
        LYC_ERROR(NULL, "monitor: bucket width, bucket count and query count must be positive");
        return NULL;
    }
    lyc_agg_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    self->cfg.supervisors = NULL;
    if (self->cfg.learning_min_exemplars < 1)
        self->cfg.learning_min_exemplars = 1;
    self->supervisors = s_split(config->supervisors);
    self->seen = lyc_seen_new(config->seen_max ? config->seen_max : 16);
    self->e2e_fold = lyc_lathist_new();
    if (!self->supervisors || !self->seen || !self->e2e_fold || s_maps(self) != 0) {
        LYC_ERROR(NULL, "monitor: out of memory making the aggregate");
        lyc_agg_destroy(&self);
    }
    return self;
}

void lyc_agg_destroy(lyc_agg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_agg_t *self = *self_p;
    for (char **s = self->supervisors; s && *s; s++)
        free(*s);
    free(self->supervisors);
    zhashx_t **maps[] = {&self->sup_seen, &self->models,  &self->cells,  &self->buckets,
                         &self->queries,  &self->domains, &self->points, &self->samples,
                         &self->jobs,     &self->entries};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        zhashx_destroy(maps[i]);
    for (size_t i = 0; i < self->n_roles; i++)
        lyc_agg_role_clear(&self->roles[i]);
    free(self->roles);
    lyc_seen_destroy(&self->seen);
    lyc_lathist_destroy(&self->e2e_fold);
    free(self);
    *self_p = NULL;
}

/* ---- feeding ------------------------------------------------------------- */

/* The hash that identifies an event: its id when it has one, else the
 * whole packed message (identical re-sends are identical bytes). */
static uint64_t s_identity(const lyc_envelope_t *env)
{
    const char *id = NULL;
    if (env->type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT)
        id = ((const Lyceum__V1__FeedbackEvent *) env->payload)->event_id;
    else if (env->type == LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE)
        id = ((const Lyceum__V1__TrainingSample *) env->payload)->sample_id;
    char buf[LYC_AGG_KEY_MAX];
    if (id && *id) {
        int n = snprintf(buf, sizeof buf, "%d:%s", (int) env->type, id);
        return lyc_seen_hash(buf, n > 0 && (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
    }
    size_t len = protobuf_c_message_get_packed_size(env->payload);
    uint8_t *packed = malloc(len + 1);
    if (!packed)
        return 0;
    packed[0] = (uint8_t) env->type;
    protobuf_c_message_pack(env->payload, packed + 1);
    uint64_t h = lyc_seen_hash(packed, len + 1);
    free(packed);
    return h;
}

/* The event's own time, else when it was sent. */
static int64_t s_time(const lyc_envelope_t *env)
{
    int64_t t = 0;
    switch (env->type) {
    case LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT:
        t = ((const Lyceum__V1__FeedbackEvent *) env->payload)->at_us;
        break;
    case LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE:
        t = ((const Lyceum__V1__RoleChange *) env->payload)->at_us;
        break;
    case LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE:
        t = ((const Lyceum__V1__TrainingSample *) env->payload)->at_us;
        break;
    case LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB:
        t = ((const Lyceum__V1__TrainingJob *) env->payload)->updated_at_us;
        break;
    case LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY:
        t = ((const Lyceum__V1__ModelEntry *) env->payload)->registered_at_us;
        break;
    default:
        break;
    }
    return t > 0 ? t : env->sent_at_us;
}

static int s_aggregated(lyc_msg_type_t type)
{
    return type == LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT ||
           type == LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE ||
           type == LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY ||
           type == LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE ||
           type == LYCEUM__V1__MESSAGE_TYPE__TRAINING_JOB;
}

static int s_dispatch(lyc_agg_t *self, const lyc_envelope_t *env, int64_t at_us)
{
    switch (env->type) {
    case LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT:
        return lyc_agg_feedback(self, (const Lyceum__V1__FeedbackEvent *) env->payload, at_us);
    case LYCEUM__V1__MESSAGE_TYPE__ROLE_CHANGE:
        return lyc_agg_role_change(self, (const Lyceum__V1__RoleChange *) env->payload, at_us);
    case LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY:
        return lyc_agg_model_entry(self, (const Lyceum__V1__ModelEntry *) env->payload);
    case LYCEUM__V1__MESSAGE_TYPE__TRAINING_SAMPLE:
        return lyc_agg_sample(self, (const Lyceum__V1__TrainingSample *) env->payload, at_us);
    default:
        return lyc_agg_job(self, (const Lyceum__V1__TrainingJob *) env->payload, at_us);
    }
}

int lyc_agg_feed(lyc_agg_t *self, const lyc_envelope_t *env)
{
    if (!env->payload || !s_aggregated(env->type)) {
        self->ignored++;
        return -1;
    }
    uint64_t id = s_identity(env);
    if (id == 0) {
        self->ignored++;
        return -1;
    }
    if (!lyc_seen_add(self->seen, id)) {
        self->duplicates++;
        return 0;
    }
    int64_t at_us = s_time(env);
    if (s_dispatch(self, env, at_us) != 0)
        LYC_WARN(env->trace_id, "monitor: out of memory counting a %s event",
                 lyc_msg_name(env->type));
    self->events++;
    self->by_type[env->type & 15]++;
    if (at_us > 0 && (self->first_at_us == 0 || at_us < self->first_at_us))
        self->first_at_us = at_us;
    if (at_us > self->last_at_us)
        self->last_at_us = at_us;
    return 1;
}
