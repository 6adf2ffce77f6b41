/*
 * decide.c - the router's routing decision.
 */
#include "decide.h"

#include "budget.h"
#include "log.h"
#include "meaning.h"
#include "profile.h"
#include "recorder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const lyc_model_info_t *s_live(const lyc_model_info_t *models, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(models[i].name, name) == 0 && models[i].replicas > 0)
            return &models[i];
    return NULL;
}

/* Expected cost of one call: measured when there is a record, else the list price. */
static double s_unit_cost(const lyc_model_stats_t *s, const lyc_model_info_t *m)
{
    if (s->n > 0 && s->cost > 0)
        return s->cost / s->n;
    return (m->price_in + m->price_out) / 2e6;
}

/* The supervisor of the domain's live models, or NULL. */
static const lyc_model_info_t *s_supervisor(const lyc_model_info_t *models, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (models[i].role == LYCEUM__V1__ROLE__ROLE_SUPERVISOR && models[i].replicas > 0)
            return &models[i];
    return NULL;
}

static const lyc_model_stats_t *s_stats_of(const lyc_model_stats_t *stats, size_t n,
                                           const char *model)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(stats[i].model, model) == 0)
            return &stats[i];
    return NULL;
}

typedef enum { S_UNDECIDED, S_TRUSTED, S_RULED_OUT } s_verdict_t;

/* Expected USD of model m answering the query: its prices times the query's
 * prompt tokens and its mean completion tokens in the domain (measured, else
 * the query's default). */
static double s_query_cost(const lyc_model_info_t *m, const lyc_model_stats_t *s,
                           const lyc_decide_query_t *q)
{
    double completion = s && s->tok_n > 0 ? s->tok_out / s->tok_n : q->default_completion;
    return (m->price_in * q->prompt_tokens + m->price_out * completion) / 1e6;
}

/* The score loss against the supervisor accepted from model m on the query:
 * quality_gap, plus its savings on the query priced at wrong_answer_usd. */
static double s_accepted_gap(const lyc_router_config_t *c, const lyc_model_info_t *m,
                             const lyc_model_stats_t *s, const lyc_model_info_t *sup,
                             const lyc_model_stats_t *sup_s, const lyc_decide_query_t *q)
{
    if (!q || c->wrong_answer_usd <= 0)
        return c->quality_gap;
    double saved = s_query_cost(sup, sup_s, q) - s_query_cost(m, s, q);
    return c->quality_gap + (saved > 0 ? saved / c->wrong_answer_usd : 0);
}

/* How a cheaper model compares with the supervisor, against the loss
 * accepted. The variance has a floor, so a short run of identical outcomes
 * proves little. */
static s_verdict_t s_judge_gap(const lyc_router_config_t *c, const lyc_model_stats_t *s,
                               double accepted)
{
    double mean, se;
    if (!s || s->pair_n < (double) c->min_evidence || lyc_stats_gap(s, &mean, &se) != 0)
        return S_UNDECIDED;
    double var = se * se * s->pair_n;
    if (var < 0.04)
        var = 0.04;
    se = sqrt(var / s->pair_n);
    if (mean + c->gap_z_accept * se <= accepted)
        return S_TRUSTED;
    if (mean - c->gap_z_reject * se > accepted)
        return S_RULED_OUT;
    /* A gap that sits on the threshold would be explored for ever: settle it. */
    if (s->pair_n >= (double) c->explore_max_pairs)
        return mean <= accepted ? S_TRUSTED : S_RULED_OUT;
    return S_UNDECIDED;
}

/* Paired policy; returns 1 familiar, 0 explore, -1 when there is no paired evidence. */
static int s_paired_policy(const lyc_router_config_t *c, const lyc_model_stats_t *stats,
                           size_t n_stats, const lyc_model_info_t *models, size_t n_models,
                           const lyc_decide_query_t *q, lyc_decision_t *out)
{
    const lyc_model_info_t *sup = s_supervisor(models, n_models);
    if (!sup)
        return -1;
    const lyc_model_stats_t *sup_s = s_stats_of(stats, n_stats, sup->name);
    const lyc_model_info_t *best = NULL;
    double best_price = 0, sup_price = sup->price_in + sup->price_out, evidence = 0;
    int undecided = 0, any_pairs = 0;
    for (size_t i = 0; i < n_models; i++) {
        const lyc_model_info_t *m = &models[i];
        double price = m->price_in + m->price_out;
        if (m == sup || m->replicas == 0 || strcmp(m->backend, "memory") == 0 || price >= sup_price)
            continue;
        const lyc_model_stats_t *s = s_stats_of(stats, n_stats, m->name);
        any_pairs |= s && s->pair_n > 0;
        s_verdict_t v = s_judge_gap(c, s, s_accepted_gap(c, m, s, sup, sup_s, q));
        if (v == S_UNDECIDED)
            undecided = 1;
        if (v == S_TRUSTED && (!best || price < best_price)) {
            best = m;
            best_price = price;
            evidence = s->pair_n;
        }
    }
    if (!any_pairs)
        return -1;
    if (!best && undecided)
        return 0;
    if (!best) {
        best = sup;
        evidence = sup_s ? sup_s->n : 0;
    }
    snprintf(out->chosen, sizeof out->chosen, "%s", best->name);
    out->chosen_evidence = evidence;
    return 1;
}

/* Unpaired policy: the cheapest model whose lower bound meets the target. */
static int s_bound_policy(const lyc_router_config_t *config, const lyc_model_stats_t *stats,
                          size_t n_stats, const lyc_model_info_t *models, size_t n_models,
                          lyc_decision_t *out)
{
    const lyc_model_stats_t *cheapest = NULL, *surest = NULL;
    double cheapest_cost = 0, surest_lower = -1;
    for (size_t i = 0; i < n_stats; i++) {
        const lyc_model_stats_t *s = &stats[i];
        const lyc_model_info_t *m = s_live(models, n_models, s->model);
        /* The memory student answers only what it has seen; it never takes a whole domain. */
        if (!m || strcmp(m->backend, "memory") == 0 || s->n < (double) config->min_evidence)
            continue;
        double lower, upper;
        lyc_stats_wilson(lyc_stats_mean(s), s->n, 1.96, &lower, &upper);
        if (lower > surest_lower) {
            surest = s;
            surest_lower = lower;
        }
        double cost = s_unit_cost(s, m);
        if (lower >= config->quality_target && (!cheapest || cost < cheapest_cost)) {
            cheapest = s;
            cheapest_cost = cost;
        }
    }
    const lyc_model_stats_t *pick = cheapest ? cheapest : surest;
    if (!pick)
        return 0;
    snprintf(out->chosen, sizeof out->chosen, "%s", pick->model);
    out->chosen_evidence = pick->n;
    return 1;
}

int lyc_decide_policy(const lyc_router_config_t *config, const lyc_model_stats_t *stats,
                      size_t n_stats, const lyc_model_info_t *models, size_t n_models,
                      const lyc_decide_query_t *query, lyc_decision_t *out)
{
    int familiar = s_paired_policy(config, stats, n_stats, models, n_models, query, out);
    if (familiar < 0)
        familiar = s_bound_policy(config, stats, n_stats, models, n_models, out);
    return familiar;
}

/* A near-duplicate: the nearest past query, if it means the same and its winner is live. */
static void s_duplicate(lyc_query_ctx_t *ctx, const char *tenant, const char *conversation,
                        const lyc_vecstore_hit_t *hit, const lyc_model_info_t *models,
                        size_t n_models, lyc_decision_t *out)
{
    double cosine = 2 * hit->similarity - 1;
    if (cosine < ctx->router->config.duplicate_similarity)
        return;
    lyc_vecstore_record_t *record = NULL;
    if (lyc_vecstore_record_get(ctx->store, tenant, hit->record_id, &record) != 0 || !record)
        return;
    const char *past = lyc_vecstore_record_value(record, "conversation");
    const char *winner = lyc_vecstore_record_value(record, "winner");
    const char *domain = lyc_vecstore_record_value(record, "domain");
    if (past && lyc_meaning_same(past, conversation)) {
        out->duplicate = 1;
        snprintf(out->duplicate_id, sizeof out->duplicate_id, "%s", hit->record_id);
        if (domain && *domain && !*out->domain) {
            snprintf(out->domain, sizeof out->domain, "%s", domain);
            out->domain_source = "duplicate";
        }
        if (winner && s_live(models, n_models, winner)) {
            snprintf(out->chosen, sizeof out->chosen, "%s", winner);
            out->familiar = 1;
        }
    }
    lyc_vecstore_record_destroy(&record);
}

/* The neighbours' similarity-weighted vote on the domain. */
static void s_vote(const lyc_router_config_t *config, const lyc_vecstore_results_t *hits,
                   lyc_decision_t *out)
{
    double total = 0, best = 0;
    const char *best_domain = NULL;
    for (size_t i = 0; i < hits->count; i++) {
        const lyc_vecstore_hit_t *h = &hits->hits[i];
        if (!h->domain || 2 * h->similarity - 1 < config->neighbour_similarity)
            continue;
        double weight = 0;
        for (size_t j = 0; j < hits->count; j++) {
            const lyc_vecstore_hit_t *o = &hits->hits[j];
            if (o->domain && strcmp(o->domain, h->domain) == 0 &&
                2 * o->similarity - 1 >= config->neighbour_similarity)
                weight += o->similarity;
        }
        total += h->similarity;
        if (weight > best) {
            best = weight;
            best_domain = h->domain;
        }
    }
    if (best_domain && best / total >= config->domain_vote_share) {
        snprintf(out->domain, sizeof out->domain, "%s", best_domain);
        out->domain_source = "neighbours";
    }
}

static void s_domain_policy(lyc_query_ctx_t *ctx, const lyc_model_info_t *models, size_t n_models,
                            const lyc_decide_query_t *query, lyc_decision_t *out)
{
    lyc_model_stats_t *stats = NULL;
    size_t n = 0;
    const lyc_settings_t *s = &ctx->router->settings;
    lyc_recorder_t *recorder = ctx->router->recorder;
    int rc = recorder
                 ? lyc_stats_cache_get(lyc_recorder_stats(recorder), ctx->redis, s->redis_prefix,
                                       lyc_query_ctx_scope(ctx), out->domain, &stats, &n)
                 : lyc_stats_load(ctx->redis, s->redis_prefix, lyc_query_ctx_scope(ctx),
                                  out->domain, &stats, &n);
    if (rc != 0)
        return;
    out->familiar = lyc_decide_policy(&ctx->router->config, stats, n, models, n_models, query, out);
    free(stats);
}

/* A draw with a chance that falls as the evidence behind a choice grows:
 * rate / sqrt(1 + evidence / min_evidence), never below floor. */
static int s_chance(lyc_query_ctx_t *ctx, double rate, double floor, double evidence)
{
    double grown = 1.0 + evidence / (double) ctx->router->config.min_evidence;
    double p = rate / sqrt(grown);
    if (p < floor)
        p = floor;
    return (double) rand_r(&ctx->seed) / RAND_MAX < p;
}

void lyc_decide(lyc_query_ctx_t *ctx, const char *tenant, const char *user, const char *label,
                const char *conversation, const float *vector, int vector_empty,
                const lyc_model_info_t *models, size_t n_models, lyc_decision_t *out)
{
    const lyc_router_config_t *c = &ctx->router->config;
    const lyc_settings_t *s = &ctx->router->settings;
    memset(out, 0, sizeof *out);
    out->domain_source = "default";
    if (label && *label) {
        snprintf(out->domain, sizeof out->domain, "%s", label);
        out->domain_source = "client";
    }
    lyc_vecstore_results_t *hits = NULL;
    /* A twin of this query still on its way to Redis is waited for: asked
     * again right after its answer, a question is still familiar. */
    if (!vector_empty)
        lyc_recorder_await_twin(ctx->router->recorder, tenant, vector, (size_t) s->embedding_dim,
                                c->duplicate_similarity);
    if (!vector_empty &&
        lyc_vecstore_search(ctx->store, tenant, vector, (size_t) s->embedding_dim,
                            (size_t) c->neighbours, NULL, &hits) == 0 &&
        hits->count > 0) {
        out->best_similarity = 2 * hits->hits[0].similarity - 1;
        s_duplicate(ctx, tenant, conversation, &hits->hits[0], models, n_models, out);
        if (!*out->domain)
            s_vote(c, hits, out);
    }
    lyc_vecstore_results_destroy(&hits);
    if (!*out->domain && user && *user &&
        lyc_profile_prior(ctx->redis, s->redis_prefix, tenant, user, c->profile_prior_share,
                          out->domain, sizeof out->domain) == 1)
        out->domain_source = "profile";
    if (!*out->domain)
        snprintf(out->domain, sizeof out->domain, "general");
    if (!out->familiar) {
        lyc_decide_query_t query = {
            .prompt_tokens = (double) lyc_budget_tokens(conversation ? strlen(conversation) : 0),
            .default_completion = (double) c->budget_default_completion_tokens};
        s_domain_policy(ctx, models, n_models, &query, out);
        /* Keep the estimates honest: a decaying share of familiar queries is asked of everyone. */
        if (out->familiar &&
            s_chance(ctx, c->explore_rate, c->explore_floor, out->chosen_evidence)) {
            out->familiar = 0;
            out->explored = 1;
        }
    }
    if (out->familiar)
        out->audit = s_chance(ctx, c->audit_rate, c->audit_floor, out->chosen_evidence);
}
