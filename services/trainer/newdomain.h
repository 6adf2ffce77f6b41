/*
 * newdomain.h - new domains from unlabelled queries.
 *
 * Queries the router could not place carry the domain "general". For each
 * such winning answer the trainer reads the query record (the record id is
 * FeedbackEvent.query_id), embeds its question with the built-in embedder
 * (embed.h), and, when no labelled past query of the tenant is within
 * trainer.known_similarity (searched in the tenant's vector set when the
 * cluster embeds with the built-in embedder too), clusters it online: it
 * joins the cluster whose centroid is nearest if the cosine is at least
 * trainer.cluster_similarity, else it starts a cluster.
 *
 * A cluster of trainer.new_domain_min_size queries becomes a domain named
 * "auto-<n>-<top word>-<second word>" (n from <prefix>:trainer:auto_domains).
 * Its queries are relabelled: the record's `domain` field and the vector's
 * `domain` attribute (VGETATTR / VSETATTR on <prefix>:{<tenant>}:vectors),
 * so the router's neighbour vote places similar queries there. With
 * trainer.onboard_template set, the members' questions and winning answers
 * become <data_dir>/onboard/<domain>/heldout.jsonl and an onboarding job
 * (jobs.h) gives the domain a student behind the quality gate.
 *
 * The cluster stays, labelled with its domain: later unlabelled queries
 * near it are filed under that domain (record and vector relabelled) instead
 * of growing a second domain on the same topic. Domains' centroids are kept
 * in <prefix>:trainer:domains (hash: domain -> float32 centroid) and loaded
 * at start; clusters not yet promoted live in memory only (a restart forgets
 * them; their queries keep "general" and can gather again).
 */
#ifndef LYCEUM_TRAINER_NEWDOMAIN_H
#define LYCEUM_TRAINER_NEWDOMAIN_H

#include "feedback.h"
#include "jobs.h"
#include "metrics.h"
#include "redis.h"
#include "settings.h"
#include "trainer_config.h"
#include "vecstore.h"

#define LYC_NEWDOMAIN_UNLABELLED "general"

typedef struct lyc_newdomain_t lyc_newdomain_t;

typedef struct {
    const lyc_settings_t *settings;
    const lyc_trainer_config_t *config;
    lyc_redis_t *redis;    /* the trainer thread's */
    lyc_vecstore_t *store; /* the trainer thread's */
    lyc_jobs_t *jobs;      /* NULL: no onboarding */
    lyc_metrics_t *metrics;
} lyc_newdomain_config_t;

/* Everything in config is borrowed. NULL (logged) when out of memory. */
lyc_newdomain_t *lyc_newdomain_new(const lyc_newdomain_config_t *config);

/* Accepts NULL; nulls *self_p. */
void lyc_newdomain_destroy(lyc_newdomain_t **self_p);

/* Looks at one applied event: a winning answer of an unlabelled query
 * joins or starts a cluster; anything else is ignored. Returns 1 when it
 * made a new domain, 0 otherwise, -1 when Redis failed (logged). */
int lyc_newdomain_observe(lyc_newdomain_t *self, const lyc_feedback_t *ev);

/* Clusters held now. */
size_t lyc_newdomain_clusters(const lyc_newdomain_t *self);

#endif
