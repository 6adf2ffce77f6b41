/*
 * registry.c - a mutex-guarded table of live models.
 */
#include "registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct lyc_registry_t {
    pthread_mutex_t lock;
    lyc_model_info_t *models;
    size_t count;
};

lyc_registry_t *lyc_registry_new(void)
{
    lyc_registry_t *self = calloc(1, sizeof *self);
    if (self)
        pthread_mutex_init(&self->lock, NULL);
    return self;
}

void lyc_registry_destroy(lyc_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_registry_t *self = *self_p;
    pthread_mutex_destroy(&self->lock);
    free(self->models);
    free(self);
    *self_p = NULL;
}

void lyc_registry_publish(lyc_registry_t *self, const lyc_model_info_t *models, size_t n)
{
    lyc_model_info_t *copy = NULL;
    if (n > 0) {
        copy = malloc(n * sizeof *copy);
        if (!copy)
            return; /* keep the old table; the next change publishes again */
        memcpy(copy, models, n * sizeof *copy);
    }
    pthread_mutex_lock(&self->lock);
    free(self->models);
    self->models = copy;
    self->count = n;
    pthread_mutex_unlock(&self->lock);
}

size_t lyc_registry_snapshot(lyc_registry_t *self, lyc_model_info_t **models)
{
    *models = NULL;
    pthread_mutex_lock(&self->lock);
    size_t n = self->count;
    if (n > 0 && (*models = malloc(n * sizeof **models)))
        memcpy(*models, self->models, n * sizeof **models);
    else
        n = 0;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int lyc_registry_find(lyc_registry_t *self, const char *name, lyc_model_info_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->count; i++) {
        if (strcmp(self->models[i].name, name) == 0) {
            *out = self->models[i];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int lyc_registry_workers(lyc_registry_t *self)
{
    int workers = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->count; i++)
        workers += self->models[i].replicas;
    pthread_mutex_unlock(&self->lock);
    return workers;
}
