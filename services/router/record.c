/*
 * record.c - Redis records, statistics, profiles and feedback events.
 */
#include "record.h"

#include "clock.h"
#include "exemplar_pool.h"
#include "ids.h"
#include "log.h"
#include "profile.h"
#include "stats.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void s_record_redis(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o)
{
    char score[32], cost[32], ts[32];
    double winner_score = 0, confidence = 0;
    lyc_verdict_score(o->verdict, o->chosen, &winner_score, &confidence);
    snprintf(score, sizeof score, "%.4f", winner_score);
    snprintf(cost, sizeof cost, "%.10f", o->cost_usd);
    snprintf(ts, sizeof ts, "%lld", (long long) lyc_wall_us());
    char *scores = s_scores_json(o->verdict);
    lyc_vecstore_field_t fields[] = {
        {"conversation", o->conversation},
        {"question", o->question},
        {"answer", o->content},
        {"winner", o->chosen},
        {"domain", o->decision->domain},
        {"score", score},
        {"scores", scores ? scores : "{}"},
        {"cost_usd", cost},
        {"user", o->user},
        {"path", o->path == LYCEUM__V1__PATH__PATH_FAMILIAR ? "familiar" : "novel"},
        {"ts_us", ts},
    };
    /* A near-duplicate adds nothing new: its twin already stands for it. */
    if (!o->decision->duplicate && !o->vector_empty) {
        lyc_vecstore_attrs_t attrs = {.domain = o->decision->domain,
                                      .model = o->chosen,
                                      .score = winner_score,
                                      .ts_us = lyc_wall_us()};
        size_t n = sizeof fields / sizeof fields[0];
        size_t dim = (size_t) ctx->router->settings.embedding_dim;
        if (lyc_vecstore_record_put(ctx->store, o->tenant, o->trace, fields, n) == 0)
            lyc_vecstore_add(ctx->store, o->tenant, o->trace, o->vector, dim, &attrs);
        if (ctx->share_exemplars &&
            lyc_exemplar_pool_lend(ctx->store, ctx->redis, ctx->router->settings.redis_prefix,
                                   o->tenant, o->trace, fields, n, o->vector, dim, &attrs) != 0)
            LYC_WARN(o->trace, "router: the winner could not be lent to the exemplar pool");
    }
    free(scores);
}

static void s_record_stats(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o)
{
    const lyc_settings_t *s = &ctx->router->settings;
    for (size_t i = 0; i < o->n_calls; i++) {
        const lyc_call_t *call = &o->calls[i];
        double score, confidence;
        /* An answer nobody graded (confidence 0: not audited) says nothing of quality. */
        if (!lyc_call_ok(call) || lyc_verdict_score(o->verdict, call->model, &score, &confidence) ||
            confidence <= 0)
            continue;
        lyc_stats_add(ctx->redis, s->redis_prefix, lyc_query_ctx_scope(ctx), o->decision->domain,
                      call->model, score, call->answer->cost_usd, call->answer->latency_ms);
    }
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

static void s_feedback_event(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o,
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
    lyc_event_sink_send(ctx->router->events, ctx->router->settings.topic_feedback,
                        o->decision->domain, LYCEUM__V1__MESSAGE_TYPE__FEEDBACK_EVENT, o->trace,
                        &ev.base);
}

void lyc_record_query(lyc_query_ctx_t *ctx, const lyc_query_outcome_t *o)
{
    const lyc_settings_t *s = &ctx->router->settings;
    s_record_redis(ctx, o);
    if (ctx->router->config.record_stats)
        s_record_stats(ctx, o);
    if (o->user && *o->user)
        lyc_profile_record(ctx->redis, s->redis_prefix, o->tenant, o->user, o->decision->domain,
                           o->cost_usd);
    double judge_cost = o->verdict ? o->verdict->judge_cost_usd : 0;
    double share = o->n_calls ? judge_cost / (double) o->n_calls : 0;
    for (size_t i = 0; i < o->n_calls; i++)
        s_feedback_event(ctx, o, &o->calls[i], share);
}
