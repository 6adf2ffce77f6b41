/*
 * registry.h - the live models as the router's broker sees them, shared
 * with the query threads.
 *
 * The broker is the only writer: whenever a worker registers, leaves or
 * dies it publishes a fresh table. Query threads take a copy, so they never
 * hold the lock while they work.
 */
#ifndef LYCEUM_ROUTER_REGISTRY_H
#define LYCEUM_ROUTER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#define LYC_MODEL_NAME_MAX 128

/* One model with at least one live worker. */
typedef struct {
    char name[LYC_MODEL_NAME_MAX];
    char backend[16];
    int role;         /* Lyceum__V1__Role, from the worker's configuration */
    double price_in;  /* USD per million prompt tokens */
    double price_out; /* USD per million completion tokens */
    int replicas;     /* live, not draining workers */
    int in_flight;    /* calls under way over all replicas */
    int capacity;     /* calls all replicas serve at once */
} lyc_model_info_t;

typedef struct lyc_registry_t lyc_registry_t;

lyc_registry_t *lyc_registry_new(void);
void lyc_registry_destroy(lyc_registry_t **self_p);

/* Replaces the table with a copy of models[0..n). */
void lyc_registry_publish(lyc_registry_t *self, const lyc_model_info_t *models, size_t n);

/* A copy of the table into *models (caller frees with free()); returns the
 * number of models, 0 with *models NULL when there are none. */
size_t lyc_registry_snapshot(lyc_registry_t *self, lyc_model_info_t **models);

/* Copies the model named name into *out; -1 when no live worker serves it. */
int lyc_registry_find(lyc_registry_t *self, const char *name, lyc_model_info_t *out);

/* Number of live workers over all models. */
int lyc_registry_workers(lyc_registry_t *self);

#endif
