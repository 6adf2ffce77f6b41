/*
 * record.c - Redis records, statistics, profiles and feedback events.
 */
#include "record.h"

#include "clock.h"
#include "exemplar_pool.h"
#include "ids.h"
#include "log.h"
#include "pb.h"
#include "profile.h"
#include "recorder.h"
#include "stats.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The query record's fields, in this order (record.h). */
static const char *const s_field_names[] = {"conversation", "question", "answer", "winner",
                                            "domain",       "score",    "scores", "cost_usd",
                                            "user",         "path",     "ts_us"};
#define S_FIELDS (sizeof s_field_names / sizeof s_field_names[0])

struct lyc_query_record_t {
    char trace[LYC_ID_LEN];
    char tenant[LYC_VECSTORE_MAX_TENANT + 1];
    char *values[S_FIELDS]; /* owned */
    lyc_vecstore_field_t fields[S_FIELDS];
    int put;       /* write the record and its vector: not a near-duplicate, has a vector */
    float *vector; /* put: the query's vector (dim floats), owned */
    size_t dim;
    double norm;
    lyc_vecstore_attrs_t attrs; /* strings point into values */
    int share_exemplars;        /* lend the winner to the exemplar pool */
    char *scope;                /* statistics scope */
    lyc_stats_delta_t *deltas;  /* statistics changes, one per scored answer */
    size_t n_deltas;
    int profile; /* count the query in the user's profile */
    double cost_usd;
    lyc_budget_account_t payer;         /* who pays charge_usd */
    double charge_usd;                  /* answers' cost still to charge */
    Lyceum__V1__FeedbackEvent **events; /* one per answer, owned */
    size_t n_events;
    lyc_stats_entry_t *entry; /* where the deltas were applied */
    int inline_write;
};

int lyc_verdict_score(const Lyceum__V1__Verdict *v, const char *model, double *score,
                      double *confidence)
{
    for (size_t i = 0; v && i < v->n_verdicts; i++) {
        if (strcmp(v->verdicts[i]->model, model) == 0) {
            *score = v->verdicts[i]->score;
            *confidence = v->verdicts[i]->confidence;
            return 0;
        }
    }
    return -1;
}

static char *s_scores_json(const Lyceum__V1__Verdict *v)
{
    cJSON *obj = cJSON_CreateObject();
    for (size_t i = 0; v && i < v->n_verdicts; i++)
        cJSON_AddNumberToObject(obj, v->verdicts[i]->model, v->verdicts[i]->score);
    char *text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    return text;
}

static Lyceum__V1__ScoreSource s_source(const Lyceum__V1__Verdict *v)
{
    if (!v)
        return LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_UNSPECIFIED;
    switch (v->mode) {
    case LYCEUM__V1__EVAL_MODE__EVAL_MODE_JUDGE:
        return LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_JUDGE;
    case LYCEUM__V1__EVAL_MODE__EVAL_MODE_AGREEMENT:
        return LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_AGREEMENT;
    case LYCEUM__V1__EVAL_MODE__EVAL_MODE_REFERENCE:
        return LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_REFERENCE;
    default:
        return LYCEUM__V1__SCORE_SOURCE__SCORE_SOURCE_UNSPECIFIED;
    }
}

/* A heap copy of a message built on the stack (borrowed strings), owned
 * like an unpacked one; NULL when out of memory. */
static void *s_message_copy(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(msg, buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
    free(buf);
    return copy;
}

/* The feedback event of one answer, owned; NULL when out of memory. */
static Lyceum__V1__FeedbackEvent *s_feedback_event(const lyc_query_outcome_t *o,
                                                   const lyc_call_t *call, double judge_share)
{
    char event_id[LYC_ID_LEN];
    lyc_id_new(event_id);
    const Lyceum__V1__Answer *a = call->answer;
    Lyceum__V1__FeedbackEvent ev = LYCEUM__V1__FEEDBACK_EVENT__INIT;
    ev.event_id = event_id;
    ev.trace_id = (char *) o->trace;
    ev.tenant = (char *) o->tenant;
    ev.user = (char *) o->user;
    ev.domain = (char *) o->decision->domain;
    ev.path = o->path;
    ev.model = (char *) call->model;
    ev.role = call->role;
    lyc_verdict_score(o->verdict, call->model, &ev.score, &ev.confidence);
    ev.source = s_source(o->verdict);
    ev.judged_by = o->verdict ? o->verdict->judged_by : "";
    ev.winner = strcmp(call->model, o->chosen) == 0 && !call->for_learning;
    ev.winner_model = (char *) o->chosen;
    ev.cost_usd = a ? a->cost_usd : 0;
    ev.judge_cost_usd = judge_share;
    ev.latency_ms = a ? a->latency_ms : 0;
    ev.usage = a ? a->usage : NULL;
    ev.for_learning = call->for_learning;
    ev.error = a ? a->error : NULL;
    ev.at_us = lyc_wall_us();
    ev.supervisor = call->role == LYCEUM__V1__ROLE__ROLE_SUPERVISOR;
    ev.query_id = (char *) o->trace;
    return s_message_copy(&ev.base);
}

/* The record's hash fields; 0 or -1 (out of memory). */
static int s_fields(lyc_query_record_t *self, const lyc_query_outcome_t *o, double winner_score)
{
    char score[32], cost[32], ts[32];
    snprintf(score, sizeof score, "%.4f", winner_score);
    snprintf(cost, sizeof cost, "%.10f", o->cost_usd);
    snprintf(ts, sizeof ts, "%lld", (long long) lyc_wall_us());
    char *scores = s_scores_json(o->verdict);
    const char *values[S_FIELDS] = {
        o->conversation,
        o->question,
        o->content,
        o->chosen,
        o->decision->domain,
        score,
        scores ? scores : "{}",
        cost,
        o->user,
        o->path == LYCEUM__V1__PATH__PATH_FAMILIAR ? "familiar" : "novel",
        ts,
    };
    int rc = 0;
    for (size_t i = 0; i < S_FIELDS; i++) {
        self->values[i] = strdup(values[i] ? values[i] : "");
        self->fields[i] = (lyc_vecstore_field_t){s_field_names[i], self->values[i]};
        rc |= self->values[i] ? 0 : -1;
    }
    free(scores);
    return rc;
}

/* The vector to add beside the record, and its attributes; 0 or -1. */
static int s_vector(lyc_query_record_t *self, lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o,
                    double winner_score)
{
    /* A near-duplicate adds nothing new: its twin already stands for it. */
    self->put = !o->decision->duplicate && !o->vector_empty;
    if (!self->put)
        return 0;
    self->dim = (size_t) ctx->router->settings.embedding_dim;
    self->vector = malloc(self->dim * sizeof *self->vector);
    if (!self->vector)
        return -1;
    memcpy(self->vector, o->vector, self->dim * sizeof *self->vector);
    double sq = 0;
    for (size_t i = 0; i < self->dim; i++)
        sq += (double) self->vector[i] * self->vector[i];
    self->norm = sqrt(sq);
    self->attrs = (lyc_vecstore_attrs_t){.domain = self->values[4], /* domain */
                                         .model = self->values[3],  /* winner */
                                         .score = winner_score,
                                         .ts_us = lyc_wall_us()};
    self->share_exemplars = ctx->share_exemplars;
    return 0;
}

/* One change per answer the verdict graded (confidence 0: not audited, says nothing). */
static int s_deltas(lyc_query_record_t *self, lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o)
{
    if (!ctx->router->config.record_stats || o->n_calls == 0)
        return 0;
    self->scope = strdup(lyc_query_ctx_scope(ctx));
    self->deltas = calloc(o->n_calls, sizeof *self->deltas);
    if (!self->scope || !self->deltas)
        return -1;
    for (size_t i = 0; i < o->n_calls; i++) {
        const lyc_call_t *call = &o->calls[i];
        double score, confidence;
        if (!lyc_call_ok(call) || lyc_verdict_score(o->verdict, call->model, &score, &confidence) ||
            confidence <= 0)
            continue;
        lyc_stats_delta_t *d = &self->deltas[self->n_deltas++];
        snprintf(d->model, sizeof d->model, "%s", call->model);
        d->score = score;
        d->cost = call->answer->cost_usd;
        d->latency_ms = call->answer->latency_ms;
    }
    return 0;
}

static int s_events(lyc_query_record_t *self, const lyc_query_outcome_t *o)
{
    double judge_cost = o->verdict ? o->verdict->judge_cost_usd : 0;
    double share = o->n_calls ? judge_cost / (double) o->n_calls : 0;
    self->events = calloc(o->n_calls ? o->n_calls : 1, sizeof *self->events);
    if (!self->events)
        return -1;
    for (size_t i = 0; i < o->n_calls; i++) {
        self->events[i] = s_feedback_event(o, &o->calls[i], share);
        if (!self->events[i])
            return -1;
        self->n_events++;
    }
    return 0;
}

lyc_query_record_t *lyc_record_new(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o)
{
    lyc_query_record_t *self = calloc(1, sizeof *self);
    if (!self)
        goto out_nomem;
    double winner_score = 0, confidence = 0;
    lyc_verdict_score(o->verdict, o->chosen, &winner_score, &confidence);
    snprintf(self->trace, sizeof self->trace, "%s", o->trace);
    snprintf(self->tenant, sizeof self->tenant, "%s", o->tenant);
    self->profile = o->user && *o->user;
    self->cost_usd = o->cost_usd;
    if (o->payer && o->charge_usd > 0) {
        self->payer = *o->payer;
        self->charge_usd = o->charge_usd;
    }
    if (s_fields(self, o, winner_score) != 0 || s_vector(self, ctx, o, winner_score) != 0 ||
        s_deltas(self, ctx, o) != 0 || s_events(self, o) != 0)
        goto out_destroy;
    return self;

out_destroy:
    lyc_record_destroy(&self);
out_nomem:
    LYC_ERROR(o->trace, "router: out of memory; the query is not recorded");
    return NULL;
}

void lyc_record_destroy(lyc_query_record_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_query_record_t *self = *self_p;
    for (size_t i = 0; i < S_FIELDS; i++)
        free(self->values[i]);
    free(self->vector);
    free(self->scope);
    free(self->deltas);
    for (size_t i = 0; i < self->n_events; i++)
        lyc_pb_free(self->events[i]);
    free(self->events);
    free(self);
    *self_p = NULL;
}

const char *lyc_record_tenant(const lyc_query_record_t *self)
{
    return self->tenant;
}

const char *lyc_record_trace(const lyc_query_record_t *self)
{
    return self->trace;
}

double lyc_record_cosine(const lyc_query_record_t *self, const float *vector, size_t dim,
                         double norm)
{
    if (!self->put || dim != self->dim || !(self->norm > 0) || !(norm > 0))
        return -2;
    double dot = 0;
    for (size_t i = 0; i < dim; i++)
        dot += (double) self->vector[i] * vector[i];
    return dot / (self->norm * norm);
}

void lyc_record_stats_apply(lyc_query_record_t *self, lyc_stats_cache_t *cache, int inline_write)
{
    self->inline_write = inline_write;
    if (cache && self->n_deltas > 0)
        self->entry = lyc_stats_cache_apply(cache, self->scope, self->values[4], self->deltas,
                                            self->n_deltas, inline_write);
}

void lyc_record_stats_done(lyc_query_record_t *self, lyc_stats_cache_t *cache)
{
    if (cache && self->entry)
        lyc_stats_cache_done(cache, self->entry, self->inline_write);
    self->entry = NULL;
}

/* ---- one batch's writes ------------------------------------------------- */

/* What one pipeline of a batch holds. */
typedef struct {
    lyc_vecstore_put_t **puts;      /* per record, NULL when it puts nothing */
    lyc_stats_add_t *adds;          /* every statistics change of the batch */
    lyc_profile_update_t *profiles; /* per record (used when it counts a profile) */
    lyc_redis_cmd_t *cmds;
    redisReply **replies;
    size_t n_cmds;
} s_batch_t;

static void s_batch_free(s_batch_t *b, size_t n_records)
{
    for (size_t i = 0; b->puts && i < n_records; i++)
        lyc_vecstore_put_destroy(&b->puts[i]);
    for (size_t i = 0; b->replies && i < b->n_cmds; i++)
        if (b->replies[i])
            freeReplyObject(b->replies[i]);
    free(b->puts);
    free(b->adds);
    free(b->profiles);
    free(b->cmds);
    free(b->replies);
}

static void s_push(s_batch_t *b, const lyc_redis_cmd_t *cmds, size_t n)
{
    if (n == 0)
        return;
    memcpy(&b->cmds[b->n_cmds], cmds, n * sizeof *cmds);
    b->n_cmds += n;
}

/* Builds the batch's commands (then the caller's extra ones); 0 or -1. */
static int s_batch_build(s_batch_t *b, lyc_router_t *router, lyc_vecstore_t *store,
                         lyc_query_record_t *const *records, size_t n, const lyc_redis_cmd_t *extra,
                         size_t n_extra)
{
    const lyc_settings_t *s = &router->settings;
    size_t n_deltas = 0, max_cmds = n_extra;
    for (size_t i = 0; i < n; i++) {
        n_deltas += records[i]->n_deltas;
        max_cmds += 2 + LYC_STATS_ADD_CMDS * records[i]->n_deltas + LYC_PROFILE_CMDS;
    }
    b->puts = calloc(n, sizeof *b->puts);
    b->adds = calloc(n_deltas ? n_deltas : 1, sizeof *b->adds);
    b->profiles = calloc(n, sizeof *b->profiles);
    b->cmds = calloc(max_cmds ? max_cmds : 1, sizeof *b->cmds);
    b->replies = calloc(max_cmds ? max_cmds : 1, sizeof *b->replies);
    if (!b->puts || !b->adds || !b->profiles || !b->cmds || !b->replies)
        return -1;
    size_t add = 0;
    for (size_t i = 0; i < n; i++) {
        lyc_query_record_t *r = records[i];
        if (r->put && (b->puts[i] = lyc_vecstore_put_new(store, r->tenant, r->trace, r->fields,
                                                         S_FIELDS, r->vector, r->dim, &r->attrs))) {
            size_t k;
            const lyc_redis_cmd_t *cmds = lyc_vecstore_put_cmds(b->puts[i], &k);
            s_push(b, cmds, k);
        }
        for (size_t j = 0; j < r->n_deltas; j++, add++) {
            const lyc_stats_delta_t *d = &r->deltas[j];
            lyc_stats_add_prepare(&b->adds[add], s->redis_prefix, r->scope, r->values[4], d->model,
                                  d->score, d->cost, d->latency_ms);
            s_push(b, b->adds[add].cmds, LYC_STATS_ADD_CMDS);
        }
        if (r->profile) {
            lyc_profile_update_prepare(&b->profiles[i], s->redis_prefix, r->tenant, r->values[8],
                                       r->values[4], r->cost_usd);
            s_push(b, b->profiles[i].cmds, LYC_PROFILE_CMDS);
        }
    }
    s_push(b, extra, n_extra);
    return 0;
}

/* Logs what failed, in the order the commands were pushed. */
static void s_batch_check(const s_batch_t *b, lyc_query_record_t *const *records, size_t n)
{
    size_t at = 0, add = 0;
    for (size_t i = 0; i < n; i++) {
        const lyc_query_record_t *r = records[i];
        if (b->puts[i]) {
            size_t k;
            lyc_vecstore_put_cmds(b->puts[i], &k);
            if (lyc_vecstore_put_check(b->puts[i], &b->replies[at]) != 0)
                LYC_WARN(r->trace, "router: the query record could not be written");
            at += k;
        }
        for (size_t j = 0; j < r->n_deltas; j++, add++, at += LYC_STATS_ADD_CMDS)
            lyc_stats_add_check(&b->adds[add], &b->replies[at]);
        if (r->profile) {
            if (lyc_profile_update_check(&b->replies[at]) != 0)
                LYC_WARN(r->trace, "router: the profile of user %s could not be updated",
                         r->values[8]);
            at += LYC_PROFILE_CMDS;
        }
    }
}

/* The Redis writes of a batch in one pipeline; extra_replies get the
 * replies to the extra commands (NULL each when the pipeline failed). */
static void s_write_redis(lyc_router_t *router, lyc_vecstore_t *store, lyc_redis_t *redis,
                          lyc_query_record_t *const *records, size_t n,
                          const lyc_redis_cmd_t *extra, size_t n_extra, redisReply **extra_replies)
{
    s_batch_t b = {0};
    for (size_t i = 0; i < n_extra; i++)
        extra_replies[i] = NULL;
    if (!redis || !store) {
        LYC_ERROR(NULL, "router: Redis is away; %zu queries are not recorded there", n);
        return;
    }
    if (s_batch_build(&b, router, store, records, n, extra, n_extra) != 0) {
        LYC_ERROR(NULL, "router: out of memory; %zu queries are not recorded in Redis", n);
        goto out_free;
    }
    if (b.n_cmds > 0 && lyc_redis_pipeline(redis, b.n_cmds, b.cmds, b.replies) != 0) {
        LYC_ERROR(NULL, "router: %zu queries could not be recorded in Redis: %s", n,
                  lyc_redis_error(redis));
        goto out_free;
    }
    s_batch_check(&b, records, n);
    for (size_t i = 0; i < n_extra; i++) {
        extra_replies[i] = b.replies[b.n_cmds - n_extra + i];
        b.replies[b.n_cmds - n_extra + i] = NULL;
    }
out_free:
    s_batch_free(&b, n);
}

/* Adds the answers' cost to each payer's spend: one charge per account for
 * the whole batch. */
static void s_charge(lyc_router_t *router, lyc_redis_t *redis, lyc_query_record_t *const *records,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const lyc_budget_account_t *payer = &records[i]->payer;
        double usd = records[i]->charge_usd;
        int first = usd > 0;
        for (size_t j = 0; j < i && first; j++)
            first = !(records[j]->charge_usd > 0 &&
                      strcmp(records[j]->payer.tenant, payer->tenant) == 0 &&
                      strcmp(records[j]->payer.key_id, payer->key_id) == 0);
        if (!first)
            continue;
        for (size_t j = i + 1; j < n; j++)
            if (records[j]->charge_usd > 0 &&
                strcmp(records[j]->payer.tenant, payer->tenant) == 0 &&
                strcmp(records[j]->payer.key_id, payer->key_id) == 0)
                usd += records[j]->charge_usd;
        if (!redis || lyc_budget_charge(redis, router->settings.redis_prefix, payer, usd) != 0)
            LYC_ERROR(NULL, "router: tenant %s: %.10f USD of answers not counted in its spend",
                      payer->tenant, usd);
    }
}

void lyc_record_write(lyc_router_t *router, lyc_vecstore_t *store, lyc_redis_t *redis,
                      lyc_query_record_t *const *records, size_t n, const lyc_redis_cmd_t *extra,
                      size_t n_extra, redisReply **extra_replies)
{
    const lyc_settings_t *s = &router->settings;
    s_write_redis(router, store, redis, records, n, extra, n_extra, extra_replies);
    s_charge(router, redis, records, n);
    for (size_t i = 0; i < n; i++) {
        lyc_query_record_t *r = records[i];
        if (r->put && r->share_exemplars && store && redis &&
            lyc_exemplar_pool_lend(store, redis, s->redis_prefix, r->tenant, r->trace, r->fields,
                                   S_FIELDS, r->vector, r->dim, &r->attrs) != 0)
            LYC_WARN(r->trace, "router: the winner could not be lent to the exemplar pool");
        for (size_t j = 0; j < r->n_events; j++)
            lyc_event_sink_send(router->events, s->topic_feedback, r->values[4],
                                LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, r->trace,
                                &r->events[j]->base);
    }
}

void lyc_record_query(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o)
{
    lyc_query_record_t *record = lyc_record_new(ctx, o);
    if (!record)
        return;
    lyc_recorder_t *recorder = ctx->router->recorder;
    if (recorder && lyc_recorder_submit(recorder, &record) == 0)
        return;
    /* No recorder, or its queue is full: written here, before the reply. */
    lyc_stats_cache_t *cache = recorder ? lyc_recorder_stats(recorder) : NULL;
    lyc_record_stats_apply(record, cache, 1);
    lyc_record_write(ctx->router, ctx->store, ctx->redis, &record, 1, NULL, 0, NULL);
    lyc_record_stats_done(record, cache);
    lyc_record_destroy(&record);
}
