/*
 * pipeline.c - the query flow of the architecture, steps 2 to 7.
 */
#include "pipeline.h"

#include "clock.h"
#include "decide.h"
#include "evaluate.h"
#include "fanout.h"
#include "ids.h"
#include "log.h"
#include "meaning.h"
#include "pb.h"
#include "record.h"
#include "roles_cache.h"
#include "spend.h"

#include <stdlib.h>
#include <string.h>

/* Everything one run holds, freed in one place. */
typedef struct {
    lyc_query_ctx_t *ctx;
    const Lyceum__V1__ClientQuery *query;
    Lyceum__V1__ClientReply *reply;
    char trace[LYC_ID_LEN];
    const char *tenant;
    const char *user;
    const lyc_apikey_info_t *key; /* the caller's API key; NULL without one */
    lyc_spend_t spend;            /* the query's budget: reservations and spend */
    lyc_spend_query_t costs;      /* what the budget's estimates are made of */
    char *conversation;
    float *vector;
    int vector_empty;
    lyc_model_info_t *models;
    size_t n_models;
    lyc_decision_t decision;
    lyc_call_t *calls;
    size_t n_calls;
    Lyceum__V1__Verdict *verdict;
    int path;
    int chosen;          /* index of the returned call, -1 for synthesis */
    const char *content; /* the returned answer (owned by a call or the verdict) */
    double cost_usd;
} s_run_t;

long lyc_router_deadline(const lyc_router_t *router, const char *model)
{
    for (size_t i = 0; i < router->n_deadlines; i++)
        if (strcmp(router->deadlines[i].name, model) == 0)
            return router->deadlines[i].timeout_ms;
    return router->config.task_timeout_ms;
}

int lyc_pipeline_auto_model(const char *model)
{
    return !model || !*model || strcmp(model, "lyceum") == 0 || strcmp(model, "auto") == 0;
}

static void s_error(s_run_t *run, Lyceum__V1__ErrorCode code, int retryable, const char *message)
{
    Lyceum__V1__Error *e = lyc_pb_new(&lyceum__v1__error__descriptor);
    if (!e)
        return;
    e->code = code;
    e->message = strdup(message);
    e->retryable = retryable;
    lyc_pb_free(run->reply->error);
    run->reply->error = e;
    run->reply->finish_reason = strdup("error");
}

/* A label fit for keys and filters: 1-128 bytes, no control characters, quotes or backslashes. */
static int s_label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LYC_VECSTORE_MAX_LABEL)
        return 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
            return 0;
    return 1;
}

static int s_validate(s_run_t *run)
{
    const Lyceum__V1__ClientQuery *q = run->query;
    const char *tenant = run->key     ? run->key->tenant
                         : *q->tenant ? q->tenant
                                      : run->ctx->router->config.default_tenant;
    if (!lyc_vecstore_tenant_valid(tenant)) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, 0,
                "metadata.tenant must be 1-64 characters of A-Z a-z 0-9 _ . - not starting with _");
        return -1;
    }
    if ((*q->domain && !s_label_ok(q->domain)) || (*q->user && !s_label_ok(q->user))) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, 0,
                "metadata.domain and metadata.user must be 1-128 characters without quotes, "
                "backslashes or control characters");
        return -1;
    }
    if (q->n_messages == 0) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, 0, "messages must not be empty");
        return -1;
    }
    run->tenant = tenant;
    run->user = q->user;
    return 0;
}

static const char *s_question(const Lyceum__V1__ClientQuery *q)
{
    for (size_t i = q->n_messages; i > 0; i--)
        if (strcmp(q->messages[i - 1]->role, "user") == 0)
            return q->messages[i - 1]->content;
    return q->messages[q->n_messages - 1]->content;
}

static int s_embed(s_run_t *run)
{
    size_t dim = (size_t) run->ctx->router->settings.embedding_dim;
    run->conversation = lyc_conversation_text(run->query->messages, run->query->n_messages);
    run->vector = calloc(dim, sizeof *run->vector);
    if (!run->conversation || !run->vector)
        return -1;
    if (lyc_query_ctx_embed(run->ctx, run->conversation, run->vector) != 0)
        LYC_WARN(run->trace, "router: embedding failed; the query is treated as novel");
    run->vector_empty = 1;
    for (size_t i = 0; i < dim; i++)
        if (run->vector[i] != 0.0f)
            run->vector_empty = 0;
    return 0;
}

static void s_add_call(s_run_t *run, const lyc_model_info_t *m, int for_learning)
{
    lyc_call_t *c = &run->calls[run->n_calls++];
    memset(c, 0, sizeof *c);
    snprintf(c->model, sizeof c->model, "%s", m->name);
    c->role = m->role;
    c->for_learning = for_learning;
    c->timeout_ms = lyc_router_deadline(run->ctx->router, m->name);
}

static int s_called(const s_run_t *run, const char *model)
{
    for (size_t i = 0; i < run->n_calls; i++)
        if (strcmp(run->calls[i].model, model) == 0)
            return 1;
    return 0;
}

/* Who answers: a pinned model alone; novel: every live model; familiar: the
 * chosen model, and each student with the learning-sample chance. */
static void s_plan_calls(s_run_t *run)
{
    const char *pinned = lyc_pipeline_auto_model(run->query->model) ? NULL : run->query->model;
    for (size_t i = 0; i < run->n_models; i++) {
        const lyc_model_info_t *m = &run->models[i];
        if (m->replicas == 0)
            continue;
        if (pinned) {
            if (strcmp(m->name, pinned) == 0)
                s_add_call(run, m, 0);
        } else if (run->path == LYCEUM__V1__PATH__PATH_NOVEL) {
            s_add_call(run, m, 0);
        } else if (strcmp(m->name, run->decision.chosen) == 0) {
            s_add_call(run, m, 0);
        } else if ((m->role == LYCEUM__V1__ROLE__ROLE_STUDENT ||
                    m->role == LYCEUM__V1__ROLE__ROLE_TA) &&
                   (double) rand_r(&run->ctx->seed) / RAND_MAX <
                       run->ctx->router->config.learning_sample) {
            s_add_call(run, m, 1);
        }
    }
}

/* The familiar model failed: the rest of the models answer as for a novel query. */
static void s_fall_back_to_novel(s_run_t *run)
{
    size_t first = run->n_calls;
    run->path = LYCEUM__V1__PATH__PATH_NOVEL;
    for (size_t i = 0; i < run->n_calls; i++)
        run->calls[i].for_learning = 0;
    for (size_t i = 0; i < run->n_models; i++)
        if (run->models[i].replicas > 0 && !s_called(run, run->models[i].name))
            s_add_call(run, &run->models[i], 0);
    lyc_spend_more(&run->spend, run->ctx, &run->costs, run->calls, first, &run->n_calls);
    if (run->n_calls == first)
        return;
    LYC_INFO(run->trace, "router: familiar model %s failed; asking %zu more", run->decision.chosen,
             run->n_calls - first);
    lyc_fanout_run(run->ctx, run->trace, run->query, run->tenant, run->decision.domain, run->calls,
                   first, run->n_calls);
}

static int s_index_of(const s_run_t *run, const char *model)
{
    for (size_t i = 0; i < run->n_calls; i++)
        if (strcmp(run->calls[i].model, model) == 0 && lyc_call_ok(&run->calls[i]) &&
            !run->calls[i].for_learning)
            return (int) i;
    return -1;
}

/* Picks the answer to return: the familiar model's, else the verdict's winner,
 * else the fallback choice. Returns -1 when nothing can be returned. */
static int s_choose(s_run_t *run)
{
    if (run->path == LYCEUM__V1__PATH__PATH_FAMILIAR) {
        int i = s_index_of(run, run->decision.chosen);
        if (i < 0)
            i = lyc_evaluate_fallback(run->calls, run->n_calls);
        run->chosen = i;
    } else if (run->verdict && !run->verdict->error && *run->verdict->winner) {
        if (strcmp(run->verdict->winner, "synthesis") == 0 && *run->verdict->final_content) {
            run->chosen = -1;
            run->content = run->verdict->final_content;
            return 0;
        }
        run->chosen = s_index_of(run, run->verdict->winner);
        if (run->chosen < 0)
            run->chosen = lyc_evaluate_fallback(run->calls, run->n_calls);
    } else {
        run->chosen = lyc_evaluate_fallback(run->calls, run->n_calls);
    }
    if (run->chosen < 0)
        return -1;
    run->content = run->calls[run->chosen].answer->content;
    return 0;
}

static void s_sum_cost(s_run_t *run)
{
    run->cost_usd = run->verdict ? run->verdict->judge_cost_usd : 0;
    for (size_t i = 0; i < run->n_calls; i++)
        if (run->calls[i].answer)
            run->cost_usd += run->calls[i].answer->cost_usd;
}

/* Why nothing could be returned, from the calls' errors. */
static void s_no_answer(s_run_t *run)
{
    char message[512];
    size_t len = (size_t) snprintf(message, sizeof message, "no model answered");
    for (size_t i = 0; i < run->n_calls && len < sizeof message - 1; i++) {
        const Lyceum__V1__Answer *a = run->calls[i].answer;
        len +=
            (size_t) snprintf(message + len, sizeof message - len, "%s %s: %s", i ? ";" : ":",
                              run->calls[i].model, a && a->error ? a->error->message : "no answer");
    }
    s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1, message);
}

static void s_fill_reply(s_run_t *run)
{
    Lyceum__V1__ClientReply *r = run->reply;
    const char *chosen = run->chosen >= 0 ? run->calls[run->chosen].model : "synthesis";
    r->content = strdup(run->content);
    r->path = run->path;
    r->domain = strdup(run->decision.domain);
    r->chosen = strdup(chosen);
    r->cost_usd = run->cost_usd;
    r->finish_reason = strdup("stop");
    for (size_t i = 0; i < run->n_calls; i++)
        if (lyc_call_ok(&run->calls[i]))
            lyc_pb_append((void ***) &r->answered_by, &r->n_answered_by,
                          strdup(run->calls[i].model));
    for (size_t i = 0; run->verdict && i < run->verdict->n_verdicts; i++) {
        Lyceum__V1__ModelScore *s = lyc_pb_new(&lyceum__v1__model_score__descriptor);
        if (!s)
            break;
        s->model = strdup(run->verdict->verdicts[i]->model);
        s->score = run->verdict->verdicts[i]->score;
        s->confidence = run->verdict->verdicts[i]->confidence;
        lyc_pb_append((void ***) &r->scores, &r->n_scores, s);
    }
    if (run->verdict) {
        r->judged_by = strdup(run->verdict->judged_by);
        r->judge_calls = run->verdict->judge_calls;
        for (size_t i = 0; i < run->verdict->n_judges; i++)
            lyc_pb_append((void ***) &r->judges, &r->n_judges, strdup(run->verdict->judges[i]));
    }
    Lyceum__V1__Usage *u = lyc_pb_new(&lyceum__v1__usage__descriptor);
    const Lyceum__V1__Answer *a = run->chosen >= 0 ? run->calls[run->chosen].answer : NULL;
    if (u && a && a->usage) {
        u->prompt_tokens = a->usage->prompt_tokens;
        u->completion_tokens = a->usage->completion_tokens;
    }
    r->usage = u;
}

static void s_record(s_run_t *run)
{
    lyc_query_outcome_t o = {
        .trace = run->trace,
        .tenant = run->tenant,
        .user = run->user,
        .conversation = run->conversation,
        .question = s_question(run->query),
        .vector = run->vector,
        /* An answer the budget kept from being judged is not a past winner. */
        .vector_empty = run->vector_empty || run->spend.cut || run->spend.unjudged,
        .decision = &run->decision,
        .path = run->path,
        .calls = run->calls,
        .n_calls = run->n_calls,
        .verdict = run->verdict,
        .chosen = run->chosen >= 0 ? run->calls[run->chosen].model : "synthesis",
        .content = run->content,
        .cost_usd = run->cost_usd,
        .payer = &run->spend.account,
        .charge_usd = lyc_spend_take_unsettled(&run->spend),
    };
    lyc_record_query(run->ctx, &o);
}

static void s_metrics(s_run_t *run, int64_t started_us)
{
    lyc_router_metrics_t *m = &run->ctx->router->m;
    const char *path[] = {run->path == LYCEUM__V1__PATH__PATH_FAMILIAR ? "familiar" : "novel"};
    lyc_counter_add(m->queries, path, 1);
    lyc_histogram_observe(m->latency, NULL, (double) (lyc_mono_us() - started_us) / 1e6);
    for (size_t i = 0; i < run->n_calls; i++) {
        const lyc_call_t *c = &run->calls[i];
        const char *outcome =
            lyc_call_ok(c) ? "ok"
            : c->answer && c->answer->error &&
                    c->answer->error->code == LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT
                ? "timeout"
            : c->answer && c->answer->error &&
                    c->answer->error->code == LYCEUM__V1__ERROR_CODE__ERROR_ABSTAINED
                ? "abstained"
                : "error";
        const char *labels[] = {c->model, outcome};
        lyc_counter_add(m->calls, labels, 1);
        if (c->answer) {
            lyc_counter_add(m->cost, labels, c->answer->cost_usd);
            lyc_histogram_observe(m->call_latency, labels, c->answer->latency_ms / 1000.0);
        }
    }
}

static void s_run_free(s_run_t *run)
{
    lyc_calls_clear(run->calls, run->n_calls);
    free(run->calls);
    lyc_pb_free(run->verdict);
    free(run->models);
    free(run->vector);
    free(run->conversation);
}

static size_t s_prompt_bytes(const Lyceum__V1__ClientQuery *q)
{
    size_t bytes = 0;
    for (size_t i = 0; i < q->n_messages; i++)
        bytes += strlen(q->messages[i]->content);
    return bytes;
}

/* The tenant's settings and account; the statistics scope they imply. */
static int s_budget_begin(s_run_t *run)
{
    if (lyc_spend_begin(&run->spend, run->ctx, run->tenant, run->key) != 0) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1,
                "the tenant's settings cannot be read right now; retry");
        return -1;
    }
    run->ctx->stats_scope = lyc_spend_stats_scope(&run->spend);
    run->ctx->share_exemplars = run->spend.tenant.share_exemplars;
    return 0;
}

/* Reserves the budget of every planned call before any is made. */
static int s_budget_plan(s_run_t *run)
{
    char why[512];
    run->costs = (lyc_spend_query_t){.models = run->models,
                                     .n_models = run->n_models,
                                     .prompt_bytes = s_prompt_bytes(run->query),
                                     .max_tokens = run->query->max_tokens};
    int rc = lyc_spend_plan(&run->spend, run->ctx, &run->costs,
                            !lyc_pipeline_auto_model(run->query->model),
                            run->decision.familiar ? run->decision.chosen : NULL, run->calls,
                            &run->n_calls, why, sizeof why);
    if (rc == 0)
        return 0;
    LYC_INFO(run->trace, "router: tenant %s refused: %s", run->tenant, why);
    s_error(run,
            rc > 0 ? LYCEUM__V1__ERROR_CODE__ERROR_BUDGET
                   : LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE,
            rc < 0, why);
    return -1;
}

/* Step timings of one query, logged at debug level. */
typedef struct {
    int64_t start, decided, answered, evaluated, recorded;
} s_timing_t;

static void s_execute(s_run_t *run)
{
    s_timing_t t = {.start = lyc_mono_us()};
    if (s_validate(run) != 0 || s_budget_begin(run) != 0)
        return;
    run->n_models = lyc_registry_snapshot(run->ctx->router->registry, &run->models);
    if (run->n_models == 0) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1, "no models are registered yet");
        return;
    }
    run->calls = calloc(run->n_models, sizeof *run->calls);
    if (!run->calls || s_embed(run) != 0) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 1, "out of memory");
        return;
    }
    lyc_decide(run->ctx, run->tenant, run->user, run->query->domain, run->conversation, run->vector,
               run->vector_empty, run->models, run->n_models, &run->decision);
    run->path =
        run->decision.familiar ? LYCEUM__V1__PATH__PATH_FAMILIAR : LYCEUM__V1__PATH__PATH_NOVEL;
    /* The trainer's roles in this domain decide who learns (students, TAs) and
     * what each answer's event records as its role. */
    lyc_roles_cache_apply(run->ctx->redis, run->ctx->router->settings.redis_prefix,
                          lyc_query_ctx_scope(run->ctx), run->decision.domain, run->models,
                          run->n_models);
    t.decided = lyc_mono_us();
    s_plan_calls(run);
    if (run->n_calls == 0) {
        s_error(run, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1,
                "no live worker serves the model");
        return;
    }
    if (s_budget_plan(run) != 0)
        return;
    lyc_fanout_run(run->ctx, run->trace, run->query, run->tenant, run->decision.domain, run->calls,
                   0, run->n_calls);
    if (run->path == LYCEUM__V1__PATH__PATH_FAMILIAR && s_index_of(run, run->decision.chosen) < 0 &&
        lyc_pipeline_auto_model(run->query->model))
        s_fall_back_to_novel(run);
    t.answered = lyc_mono_us();
    lyc_spend_answers(&run->spend, run->ctx, run->calls, run->n_calls);
    int audit = (run->path == LYCEUM__V1__PATH__PATH_NOVEL || run->decision.audit) &&
                lyc_spend_judge(&run->spend, run->ctx, &run->costs, run->calls, run->n_calls);
    run->verdict =
        lyc_evaluate(run->ctx, run->trace, run->query, run->tenant, run->spend.account.key_id,
                     run->decision.domain, run->calls, run->n_calls, audit);
    t.evaluated = lyc_mono_us();
    s_sum_cost(run);
    if (s_choose(run) != 0) {
        s_no_answer(run);
        return;
    }
    s_fill_reply(run);
    s_record(run);
    t.recorded = lyc_mono_us();
    LYC_DEBUG(run->trace,
              "router: %s in %lld us: decide %lld, answers %lld, verdict %lld, record %lld",
              run->path == LYCEUM__V1__PATH__PATH_FAMILIAR ? "familiar" : "novel",
              (long long) (t.recorded - t.start), (long long) (t.decided - t.start),
              (long long) (t.answered - t.decided), (long long) (t.evaluated - t.answered),
              (long long) (t.recorded - t.evaluated));
}

Lyceum__V1__ClientReply *lyc_pipeline_run(lyc_query_ctx_t *ctx,
                                          const Lyceum__V1__ClientQuery *query)
{
    return lyc_pipeline_run_as(ctx, query, NULL);
}

Lyceum__V1__ClientReply *lyc_pipeline_run_as(lyc_query_ctx_t *ctx,
                                             const Lyceum__V1__ClientQuery *query,
                                             const lyc_apikey_info_t *key)
{
    int64_t started = lyc_mono_us();
    s_run_t run = {.ctx = ctx, .query = query, .key = key, .chosen = -1};
    run.reply = lyc_pb_new(&lyceum__v1__client_reply__descriptor);
    if (!run.reply)
        return NULL;
    lyc_id_new(run.trace);
    run.reply->trace_id = strdup(run.trace);
    if (*query->request_id)
        run.reply->request_id = strdup(query->request_id);
    lyc_gauge_add(ctx->router->m.in_flight, NULL, 1);
    s_execute(&run);
    lyc_spend_end(&run.spend, ctx);
    ctx->stats_scope = NULL;
    ctx->share_exemplars = 0;
    if (run.n_calls > 0)
        s_metrics(&run, started);
    lyc_gauge_add(ctx->router->m.in_flight, NULL, -1);
    s_run_free(&run);
    return run.reply;
}
