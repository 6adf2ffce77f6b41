/*
 * model_registry.h - new model versions in the registry.
 *
 *   <prefix>:registry   hash: model name -> JSON entry
 *
 * An entry is the ModelEntry of registry.proto in JSON (model, backend,
 * price_in_per_mtok, price_out_per_mtok, roles [{domain, role}], version,
 * parent_model, candidate, active, registered_at_us) plus what serving it
 * takes: config_yaml (the model's `models:` entry, model_yaml.h),
 * cluster_file (a cluster file a worker can serve it from, once it is
 * active), job_id, gate_score, and the domain it was made for. Every put
 * also sends a MODEL_ENTRY event (key: the model name) to the registry topic.
 */
#ifndef LYCEUM_TRAINER_MODEL_REGISTRY_H
#define LYCEUM_TRAINER_MODEL_REGISTRY_H

#include "event_sink.h"
#include "model_config.h"
#include "redis.h"

#include <stdint.h>

typedef struct {
    const lyc_model_config_t *model; /* the version's settings */
    const char *parent;              /* model it came from, "" for none */
    const char *version;             /* e.g. "3" */
    const char *domain;              /* domain it serves */
    int role;                        /* its role there (Lyceum__V1__Role) */
    int candidate;                   /* waiting for the gate */
    int active;                      /* takes traffic */
    const char *job_id;              /* the job that made it */
    double gate_score;               /* held-out score, when gated */
    const char *cluster_file;        /* "" until there is one */
    int64_t registered_at_us;        /* first registration; 0: now */
} lyc_registry_entry_t;

/* Writes the entry under its model name and sends the event. Returns 0, or
 * -1 (logged) when Redis refused; a refused event is logged only. */
int lyc_registry_put(lyc_redis_t *redis, const char *prefix, lyc_event_sink_t *sink,
                     const char *topic, const lyc_registry_entry_t *entry);

/* The config_yaml of a registered model (a new string the caller frees), or
 * NULL when it is not registered (or Redis failed; logged). */
char *lyc_registry_config_yaml(lyc_redis_t *redis, const char *prefix, const char *model);

/* 1 when a model of that name is registered, 0 when not, -1 on failure. */
int lyc_registry_exists(lyc_redis_t *redis, const char *prefix, const char *model);

#endif
