/*
 * decide.h - familiar or novel, which domain, and who answers.
 *
 * A query is familiar when there is enough evidence about who answers
 * queries like it well: a past query of the same tenant that means the same
 * (a near-duplicate whose winner is known), or a domain whose per-model
 * record is established. The domain is the client's label, else the
 * near-duplicate's, else the neighbours' vote, else the user's usual domain,
 * else "general". Familiar queries go to one model: the near-duplicate's
 * winner, or the domain policy's choice (lyc_decide_policy).
 */
#ifndef LYCEUM_ROUTER_DECIDE_H
#define LYCEUM_ROUTER_DECIDE_H

#include "registry.h"
#include "router.h"
#include "stats.h"

typedef struct {
    int familiar;           /* evidence says who answers */
    int duplicate;          /* a same-meaning past query was found */
    char duplicate_id[128]; /* its record id */
    char domain[LYC_VECSTORE_MAX_LABEL + 1];
    const char *domain_source;       /* "client", "duplicate", "neighbours", "profile", "default" */
    char chosen[LYC_MODEL_NAME_MAX]; /* familiar: the model that answers */
    double chosen_evidence;          /* scored answers behind the choice */
    double best_similarity;          /* cosine of the nearest past query, 0 when none */
    int audit;                       /* familiar: this query is sampled for audit */
    int explored;                    /* familiar, but sampled to be asked of every model */
} lyc_decision_t;

/* Decides for one query. vector may be all zeros (no words): then nothing is
 * searched. Redis failures degrade to "novel", never to an error. */
void lyc_decide(lyc_query_ctx_t *ctx, const char *tenant, const char *user, const char *label,
                const char *conversation, const float *vector, int vector_empty,
                const lyc_model_info_t *models, size_t n_models, lyc_decision_t *out);

/* What the policy knows of the query itself. */
typedef struct {
    double prompt_tokens;      /* of the conversation (bytes / 4) */
    double default_completion; /* completion tokens assumed for a model not yet measured */
} lyc_decide_query_t;

/* The familiar-path policy over a domain's statistics. With paired
 * evidence (the trainer's per-query comparisons with the supervisor), each
 * cheaper model is trusted when its mean score gap to the supervisor is
 * below the accepted loss by gap_z_accept standard errors, ruled out when
 * above it by gap_z_reject, and undecided in between. The accepted loss is
 * quality_gap, plus, with wrong_answer_usd set and the query known, what the
 * cheaper model saves on this query divided by wrong_answer_usd: answers
 * are priced by tokens, so a long query saves more and may lose more (the
 * expected cost of a call: prices times the query's prompt tokens and the
 * model's measured mean completion tokens in the domain). The cheapest
 * trusted model takes the query; when every cheaper model is ruled out the
 * supervisor does; while any is undecided the query is explored (novel:
 * every model answers). Without paired evidence: the cheapest model whose
 * Wilson lower bound meets quality_target, else the best bound. query may
 * be NULL (quality_gap alone). Fills out->chosen and chosen_evidence;
 * returns 1 for familiar. */
int lyc_decide_policy(const lyc_router_config_t *config, const lyc_model_stats_t *stats,
                      size_t n_stats, const lyc_model_info_t *models, size_t n_models,
                      const lyc_decide_query_t *query, lyc_decision_t *out);

#endif
