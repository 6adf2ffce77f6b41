/*
 * judge_policy.c - trusted judges, ensembles, plans and spot-check dynamics.
 */
#include "judge_policy.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

/* Salt of the spot-check draw (lyc_judge_unit). */
#define S_SALT_SPOT 0x53706F74ULL

/* Order of candidates: returns 1 when a ranks before b. */
typedef int (*s_before_fn)(const lyc_judge_candidate_t *a, const lyc_judge_candidate_t *b,
                           const lyc_eval_config_t *config);

static double s_price(const lyc_eval_config_t *config, const char *model)
{
    const lyc_eval_model_t *entry = lyc_eval_config_model(config, model);
    return entry ? entry->price_in + entry->price_out : 0.0;
}

/* Trusted: the higher lower bound, then the cheaper, then the smaller name. */
static int s_trusted_before(const lyc_judge_candidate_t *a, const lyc_judge_candidate_t *b,
                            const lyc_eval_config_t *config)
{
    if (a->lower != b->lower)
        return a->lower > b->lower;
    double pa = s_price(config, a->model), pb = s_price(config, b->model);
    if (pa != pb)
        return pa < pb;
    return strcmp(a->model, b->model) < 0;
}

/* Ensemble: the higher agreement, then the smaller name. */
static int s_ensemble_before(const lyc_judge_candidate_t *a, const lyc_judge_candidate_t *b,
                             const lyc_eval_config_t *config)
{
    (void) config;
    if (a->agreement != b->agreement)
        return a->agreement > b->agreement;
    return strcmp(a->model, b->model) < 0;
}

/* Inserts c into the sorted list arr[0..*n) of at most cap, dropping the last. */
static void s_insert(lyc_judge_candidate_t *arr, size_t *n, size_t cap,
                     const lyc_judge_candidate_t *c, s_before_fn before,
                     const lyc_eval_config_t *config)
{
    size_t at = 0;
    while (at < *n && before(&arr[at], c, config))
        at++;
    if (at >= cap)
        return;
    size_t last = *n < cap ? *n : cap - 1;
    memmove(&arr[at + 1], &arr[at], (last - at) * sizeof *arr);
    arr[at] = *c;
    if (*n < cap)
        (*n)++;
}

int lyc_judge_role(const lyc_eval_config_t *config, const lyc_role_entry_t *roles, size_t n_roles,
                   const char *model)
{
    int role = lyc_roles_find(roles, n_roles, model);
    if (role)
        return role;
    const lyc_eval_model_t *entry = lyc_eval_config_model(config, model);
    return entry ? entry->role : 0;
}

/* The evidence model had when it lost the role, or -1 when it never did. */
static double s_revoked_at(const lyc_judge_state_t *state, const char *model)
{
    for (size_t i = 0; state && i < state->n_revoked; i++)
        if (strcmp(state->revoked[i].model, model) == 0)
            return state->revoked[i].evidence;
    return -1.0;
}

/* 1 when the record may make s a judge at all. */
static int s_eligible(const lyc_eval_config_t *config, const lyc_model_stats_t *s,
                      const lyc_role_entry_t *roles, size_t n_roles, const lyc_judge_state_t *state)
{
    int role = lyc_judge_role(config, roles, n_roles, s->model);
    if (role < LYCEUM__V1__ROLE__ROLE_TA || lyc_eval_config_is_supervisor(config, s->model))
        return 0;
    if (s->agree_n < (double) config->delegate_min_pairs)
        return 0;
    double revoked = s_revoked_at(state, s->model);
    return revoked < 0 || s->agree_n >= revoked + (double) config->delegate_min_pairs;
}

void lyc_judge_choose(const lyc_eval_config_t *config, const lyc_model_stats_t *stats,
                      size_t n_stats, const lyc_role_entry_t *roles, size_t n_roles,
                      const lyc_judge_state_t *state, lyc_judge_choice_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n_stats; i++) {
        const lyc_model_stats_t *s = &stats[i];
        if (!s_eligible(config, s, roles, n_roles, state))
            continue;
        lyc_judge_candidate_t c = {.agreement = lyc_stats_agreement(s), .pairs = s->agree_n};
        double upper;
        snprintf(c.model, sizeof c.model, "%s", s->model);
        lyc_stats_wilson(c.agreement, c.pairs, LYC_JUDGE_Z, &c.lower, &upper);
        if (c.lower >= config->delegate_min_agreement)
            s_insert(out->trusted, &out->n_trusted, LYC_JUDGE_TRUSTED_MAX, &c, s_trusted_before,
                     config);
        if (c.agreement >= config->ensemble_min_agreement) {
            s_insert(out->ensemble, &out->n_ensemble, LYC_JUDGE_ENSEMBLE_MAX, &c, s_ensemble_before,
                     config);
            out->ensemble_pairs += c.pairs;
        }
    }
    double revoked = s_revoked_at(state, LYC_JUDGE_ENSEMBLE);
    if (revoked >= 0 && out->ensemble_pairs < revoked + (double) config->delegate_min_pairs)
        out->n_ensemble = 0;
}

static int s_trusted(const lyc_judge_choice_t *choice, const char *model)
{
    for (size_t i = 0; i < choice->n_trusted; i++)
        if (strcmp(choice->trusted[i].model, model) == 0)
            return 1;
    return 0;
}

const char *lyc_judge_in_force(const lyc_judge_choice_t *choice, const char *stored)
{
    if (*stored && strcmp(stored, LYC_JUDGE_ENSEMBLE) != 0 && s_trusted(choice, stored))
        return stored;
    if (choice->n_trusted > 0)
        return choice->trusted[0].model;
    if (choice->n_ensemble >= 2)
        return LYC_JUDGE_ENSEMBLE;
    return "";
}

/* 1 when model gave one of req's answers (a failed one is not judged). */
static int s_answered(const Lyceum__V1__EvalRequest *req, const char *model)
{
    for (size_t i = 0; i < req->n_answers; i++)
        if (!lyc_answer_failed(req->answers[i]) && strcmp(req->answers[i]->model, model) == 0)
            return 1;
    return 0;
}

static void s_plan_add(lyc_judge_plan_t *plan, const lyc_judge_candidate_t *c)
{
    snprintf(plan->judges[plan->n], sizeof plan->judges[plan->n], "%s", c->model);
    plan->weights[plan->n] = c->agreement;
    plan->agreement = (plan->agreement * (double) plan->n + c->agreement) / (double) (plan->n + 1);
    plan->evidence += c->pairs;
    plan->n++;
}

/* The trusted model called in_force when it did not answer req, else the
 * first trusted one that did not, else NULL. */
static const lyc_judge_candidate_t *s_first_free(const lyc_judge_choice_t *choice,
                                                 const char *in_force,
                                                 const Lyceum__V1__EvalRequest *req)
{
    for (size_t i = 0; i < choice->n_trusted; i++)
        if (strcmp(choice->trusted[i].model, in_force) == 0 && !s_answered(req, in_force))
            return &choice->trusted[i];
    for (size_t i = 0; i < choice->n_trusted; i++)
        if (!s_answered(req, choice->trusted[i].model))
            return &choice->trusted[i];
    return NULL;
}

/* A delegate plan under in_force (a model); 0 when every trusted one answered. */
static int s_plan_delegate(lyc_judge_plan_t *plan, const lyc_judge_choice_t *choice,
                           const char *in_force, const Lyceum__V1__EvalRequest *req)
{
    const lyc_judge_candidate_t *judge = s_first_free(choice, in_force, req);
    if (!judge)
        return 0;
    plan->kind = LYC_JUDGE_BY_DELEGATE;
    plan->recorded = strcmp(judge->model, in_force) == 0;
    s_plan_add(plan, judge);
    return 1;
}

/* An ensemble plan; 0 when fewer than two members did not answer req. */
static int s_plan_ensemble(lyc_judge_plan_t *plan, const lyc_judge_choice_t *choice,
                           const Lyceum__V1__EvalRequest *req)
{
    size_t free_members = 0;
    for (size_t i = 0; i < choice->n_ensemble; i++)
        free_members += !s_answered(req, choice->ensemble[i].model);
    if (free_members < 2)
        return 0;
    plan->kind = LYC_JUDGE_BY_ENSEMBLE;
    plan->recorded = 1;
    for (size_t i = 0; i < choice->n_ensemble; i++)
        if (!s_answered(req, choice->ensemble[i].model))
            s_plan_add(plan, &choice->ensemble[i]);
    plan->evidence = choice->ensemble_pairs;
    return 1;
}

void lyc_judge_plan_supervisor(const lyc_eval_config_t *config, const Lyceum__V1__EvalRequest *req,
                               lyc_judge_plan_t *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->kind = LYC_JUDGE_BY_SUPERVISOR;
    snprintf(plan->supervisor, sizeof plan->supervisor, "%s",
             config->judge_model ? config->judge_model : "");
    snprintf(plan->domain, sizeof plan->domain, "%s", req->domain ? req->domain : "");
    if (*plan->supervisor) {
        snprintf(plan->judges[0], sizeof plan->judges[0], "%s", plan->supervisor);
        plan->weights[0] = 1.0;
        plan->agreement = 1.0;
        plan->n = 1;
    }
}

void lyc_judge_plan_make(const lyc_eval_config_t *config, const lyc_judge_choice_t *choice,
                         const char *in_force, double spot_rate, const Lyceum__V1__EvalRequest *req,
                         lyc_judge_plan_t *plan)
{
    lyc_judge_plan_supervisor(config, req, plan);
    if (!*in_force)
        return;
    lyc_judge_plan_t delegated = *plan;
    delegated.n = 0;
    delegated.agreement = 0.0;
    snprintf(delegated.in_force, sizeof delegated.in_force, "%s", in_force);
    int ok = strcmp(in_force, LYC_JUDGE_ENSEMBLE) == 0
                 ? s_plan_ensemble(&delegated, choice, req) ||
                       s_plan_delegate(&delegated, choice, in_force, req)
                 : s_plan_delegate(&delegated, choice, in_force, req);
    if (!ok)
        return;
    *plan = delegated;
    plan->spot_check = *plan->supervisor && lyc_judge_unit(req->trace_id, S_SALT_SPOT) < spot_rate;
}

double lyc_spot_rate_next(double rate, int agreed, double floor)
{
    double next = agreed ? rate * LYC_SPOT_FALL : rate * LYC_SPOT_RISE_FACTOR + LYC_SPOT_RISE_STEP;
    if (next < floor)
        next = floor;
    return next > 1.0 ? 1.0 : next;
}

int lyc_spot_should_revoke(double checks, double disagreements, double threshold)
{
    double lower, upper;
    if (checks < LYC_SPOT_MIN_CHECKS)
        return 0;
    lyc_stats_wilson((checks - disagreements) / checks, checks, LYC_JUDGE_Z, &lower, &upper);
    return upper < threshold;
}

double lyc_judge_unit(const char *trace_id, uint64_t salt)
{
    const char *trace = trace_id ? trace_id : "";
    uint64_t hash = XXH64(trace, strlen(trace), salt);
    return (double) (hash >> 11) * (1.0 / 9007199254740992.0);
}

int lyc_judge_grades_agree(const lyc_grade_t *a, const lyc_grade_t *b, size_t n)
{
    int compared = 0;
    for (size_t i = 0; i < n; i++) {
        if (!a[i].eligible || !b[i].eligible)
            continue;
        compared = 1;
        if ((a[i].score >= LYC_JUDGE_PASS_SCORE) != (b[i].score >= LYC_JUDGE_PASS_SCORE))
            return 0;
    }
    return compared ? 1 : -1;
}
