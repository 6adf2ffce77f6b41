/*
 * judge_policy.h - who judges a domain: pure functions over the trainer's
 * statistics, the domain's roles and the evaluator's record of delegation
 * (judges.h keeps that record in Redis and calls these).
 *
 * The supervisor judges by default. A teacher (a model whose role in the
 * domain, stored by the trainer or else configured, is ta, teacher or a
 * promoted supervisor; never a configured supervisor) that agrees with the
 * supervisor often enough takes over: at least delegate_min_pairs of its
 * answers were paired with a scored supervisor answer (stats agree_n), and
 * the Wilson lower bound (95 %) of its agreement rate is at least
 * delegate_min_agreement. The bound, not the rate, so a short lucky run does
 * not hand judging over. Where no single model is trusted but two or more
 * reach ensemble_min_agreement (the rate, over delegate_min_pairs pairs),
 * they judge together and their scores are averaged, weighted by their
 * agreement rates: a confidence-weighted ensemble.
 *
 * Delegation is supervised. The supervisor also judges a share of the
 * delegate's queries (the spot-check rate) and the two verdicts are
 * compared: they agree when they pass (score >= 0.5) and fail the same
 * answers. An agreement lowers the rate (times 0.9, down to
 * spot_check_floor), a disagreement raises it (times 2 plus 0.1, up to 1).
 * When even the Wilson upper bound of the spot-check agreement falls below
 * the threshold the delegate was trusted at (after at least
 * LYC_SPOT_MIN_CHECKS checks), it loses the role, and it is
 * not trusted again until the trainer has paired delegate_min_pairs more of
 * its answers with the supervisor's: fresh evidence, not the record that
 * failed.
 *
 * A model never judges a query it answered: the next trusted model does, or
 * the supervisor (which may judge its own answer: it is the reference).
 */
#ifndef LYCEUM_EVALUATOR_JUDGE_POLICY_H
#define LYCEUM_EVALUATOR_JUDGE_POLICY_H

#include "eval_config.h"
#include "grade.h"
#include "roles.h"
#include "stats.h"

#include "lyceum/v1/evaluation.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* Longest model name kept, NUL included. */
#define LYC_JUDGE_NAME_MAX 128
/* Longest domain name that can be delegated, NUL included. */
#define LYC_JUDGE_DOMAIN_MAX 256
/* Trusted models kept per domain (best first). */
#define LYC_JUDGE_TRUSTED_MAX 8
/* Most models in an ensemble: each one is a paid judge call. */
#define LYC_JUDGE_ENSEMBLE_MAX 5
/* Revocations remembered per domain. */
#define LYC_JUDGE_REVOKED_MAX 16
/* The delegate name of an ensemble, and its judged_by. */
#define LYC_JUDGE_ENSEMBLE "ensemble"
/* z of the Wilson bounds (95 %). */
#define LYC_JUDGE_Z 1.96
/* A judge passes an answer that it scores at least this. */
#define LYC_JUDGE_PASS_SCORE 0.5
/* Spot-check rate dynamics. */
#define LYC_SPOT_FALL        0.9
#define LYC_SPOT_RISE_FACTOR 2.0
#define LYC_SPOT_RISE_STEP   0.1
/* Spot checks a delegate gets before it can lose the role on them: one
 * unlucky first check is not evidence. */
#define LYC_SPOT_MIN_CHECKS 3

/* A model that may judge, with its record against the supervisor. */
typedef struct {
    char model[LYC_JUDGE_NAME_MAX];
    double agreement; /* agree / agree_n */
    double lower;     /* Wilson lower bound of the agreement */
    double pairs;     /* agree_n */
} lyc_judge_candidate_t;

/* A delegate that lost the role on spot checks. */
typedef struct {
    char model[LYC_JUDGE_NAME_MAX]; /* a model, or LYC_JUDGE_ENSEMBLE */
    double evidence;                /* its pairs (summed over an ensemble) when it lost it */
} lyc_judge_revoked_t;

/* The evaluator's record of one domain (the Redis hash of judges.h). */
typedef struct {
    char delegate[LYC_JUDGE_NAME_MAX]; /* "" (the supervisor), a model, or "ensemble" */
    double spot_rate;                  /* share of its judgements the supervisor checks */
    double checks;                     /* spot checks since the hand-over */
    double disagreements;              /* of them, how many disagreed */
    lyc_judge_revoked_t revoked[LYC_JUDGE_REVOKED_MAX];
    size_t n_revoked;
} lyc_judge_state_t;

/* Who the statistics say may judge a domain. */
typedef struct {
    lyc_judge_candidate_t trusted[LYC_JUDGE_TRUSTED_MAX]; /* may judge alone, best first */
    size_t n_trusted;
    lyc_judge_candidate_t ensemble[LYC_JUDGE_ENSEMBLE_MAX]; /* may judge together, best first */
    size_t n_ensemble;
    double ensemble_pairs; /* pairs of all ensemble members, summed */
} lyc_judge_choice_t;

typedef enum {
    LYC_JUDGE_BY_SUPERVISOR = 0,
    LYC_JUDGE_BY_DELEGATE,
    LYC_JUDGE_BY_ENSEMBLE
} lyc_judge_kind_t;

/* Who judges one query. */
typedef struct {
    lyc_judge_kind_t kind;
    char judges[LYC_JUDGE_ENSEMBLE_MAX][LYC_JUDGE_NAME_MAX]; /* one for supervisor and delegate */
    double weights[LYC_JUDGE_ENSEMBLE_MAX]; /* agreement rates (1 for the supervisor) */
    size_t n;                               /* 0: nobody can judge (no supervisor configured) */
    char supervisor[LYC_JUDGE_NAME_MAX];    /* who spot-checks: evaluator.judge_model */
    int spot_check;                         /* the supervisor judges too; compare the verdicts */
    int recorded;                           /* the judges are the arrangement in force */
    char in_force[LYC_JUDGE_NAME_MAX];      /* that arrangement, for the record */
    char domain[LYC_JUDGE_DOMAIN_MAX];      /* the query's domain */
    double agreement;                       /* mean measured agreement of the judges */
    double evidence;                        /* their pairs, kept when the role is revoked */
} lyc_judge_plan_t;

/* The role of model in a domain: stored in roles[0..n_roles), else the
 * configured one, else 0. */
int lyc_judge_role(const lyc_eval_config_t *config, const lyc_role_entry_t *roles, size_t n_roles,
                   const char *model);

/* Fills *out with the models of stats[0..n_stats) that may judge: trusted
 * ones and ensemble members (see above), leaving out models revoked in
 * state (which may be NULL) that have no fresh evidence since. roles are
 * the domain's stored roles; a model without one has its configured role. */
void lyc_judge_choose(const lyc_eval_config_t *config, const lyc_model_stats_t *stats,
                      size_t n_stats, const lyc_role_entry_t *roles, size_t n_roles,
                      const lyc_judge_state_t *state, lyc_judge_choice_t *out);

/* The arrangement that should judge the domain: the stored one while it is
 * still trusted (no flapping between equally good teachers), else the best
 * trusted model, else "ensemble" when two or more may judge together, else
 * "" (the supervisor). Returns stored or a string inside choice or static. */
const char *lyc_judge_in_force(const lyc_judge_choice_t *choice, const char *stored);

/* The plan for req: who judges under in_force (substituting models that
 * answered req), and whether the supervisor spot-checks, decided by a hash
 * of the trace id against spot_rate (the same query always gets the same
 * decision). */
void lyc_judge_plan_make(const lyc_eval_config_t *config, const lyc_judge_choice_t *choice,
                         const char *in_force, double spot_rate, const Lyceum__V1__EvalRequest *req,
                         lyc_judge_plan_t *plan);

/* The plan when there is no delegation: the supervisor judges alone. */
void lyc_judge_plan_supervisor(const lyc_eval_config_t *config, const Lyceum__V1__EvalRequest *req,
                               lyc_judge_plan_t *plan);

/* The spot-check rate after one spot check. */
double lyc_spot_rate_next(double rate, int agreed, double floor);

/* 1 when a delegate with this spot-check record must lose the role: it had
 * LYC_SPOT_MIN_CHECKS checks or more and the Wilson upper bound of its
 * agreement is below threshold. */
int lyc_spot_should_revoke(double checks, double disagreements, double threshold);

/* A number in [0, 1) from a hash of trace_id and salt. */
double lyc_judge_unit(const char *trace_id, uint64_t salt);

/* Compares two judgements of the same n answers: 1 when they pass and fail
 * the same answers (of those both scored), 0 when they differ on one, -1
 * when no answer was scored by both. */
int lyc_judge_grades_agree(const lyc_grade_t *a, const lyc_grade_t *b, size_t n);

#endif
