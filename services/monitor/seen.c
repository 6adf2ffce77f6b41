/*
 * seen.c - two generations of open-addressing sets of 64-bit hashes.
 */
#include "seen.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One generation: linear probing, 0 marks an empty slot. */
typedef struct {
    uint64_t *slots;
    size_t mask;
    size_t count;
} s_gen_t;

struct lyc_seen_t {
    s_gen_t gens[2]; /* gens[cur] takes new ids */
    int cur;
    size_t limit; /* ids per generation */
};

static int s_gen_init(s_gen_t *gen, size_t limit)
{
    size_t size = 16;
    while (size < limit * 2)
        size *= 2;
    gen->slots = calloc(size, sizeof *gen->slots);
    gen->mask = size - 1;
    gen->count = 0;
    return gen->slots ? 0 : -1;
}

static int s_gen_has(const s_gen_t *gen, uint64_t h)
{
    for (size_t i = h & gen->mask;; i = (i + 1) & gen->mask) {
        if (gen->slots[i] == h)
            return 1;
        if (gen->slots[i] == 0)
            return 0;
    }
}

static void s_gen_put(s_gen_t *gen, uint64_t h)
{
    size_t i = h & gen->mask;
    while (gen->slots[i] != 0)
        i = (i + 1) & gen->mask;
    gen->slots[i] = h;
    gen->count++;
}

lyc_seen_t *lyc_seen_new(size_t capacity)
{
    lyc_seen_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->limit = capacity < 16 ? 8 : capacity / 2;
    if (s_gen_init(&self->gens[0], self->limit) != 0 ||
        s_gen_init(&self->gens[1], self->limit) != 0)
        lyc_seen_destroy(&self);
    return self;
}

void lyc_seen_destroy(lyc_seen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->gens[0].slots);
    free((*self_p)->gens[1].slots);
    free(*self_p);
    *self_p = NULL;
}

uint64_t lyc_seen_hash(const void *data, size_t len)
{
    uint64_t h = XXH3_64bits(data, len);
    return h ? h : 1; /* 0 marks an empty slot */
}

int lyc_seen_add(lyc_seen_t *self, uint64_t hash)
{
    uint64_t h = hash ? hash : 1;
    if (s_gen_has(&self->gens[0], h) || s_gen_has(&self->gens[1], h))
        return 0;
    s_gen_t *gen = &self->gens[self->cur];
    if (gen->count >= self->limit) {
        self->cur = !self->cur;
        gen = &self->gens[self->cur];
        memset(gen->slots, 0, (gen->mask + 1) * sizeof *gen->slots);
        gen->count = 0;
    }
    s_gen_put(gen, h);
    return 1;
}

size_t lyc_seen_size(const lyc_seen_t *self)
{
    return self->gens[0].count + self->gens[1].count;
}
