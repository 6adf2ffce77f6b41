/*
 * texttable.c - open addressing with linear probing, keyed by XXH3.
 */
#include "texttable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct {
    uint64_t hash;
    const char *key; /* NULL: empty slot */
    size_t len;
    size_t value;
} s_slot_t;

struct lyc_texttable_t {
    s_slot_t *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
};

static s_slot_t *s_slots_new(size_t capacity)
{
    return calloc(capacity, sizeof(s_slot_t));
}

lyc_texttable_t *lyc_texttable_new(size_t expected)
{
    size_t capacity = 16;
    while (capacity < expected * 2)
        capacity *= 2;
    lyc_texttable_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = s_slots_new(capacity);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    self->mask = capacity - 1;
    return self;
}

void lyc_texttable_destroy(lyc_texttable_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* The slot holding key, or the empty slot where it would go. */
static s_slot_t *s_find(s_slot_t *slots, size_t mask, uint64_t hash, const char *key, size_t len)
{
    for (size_t i = (size_t) hash & mask;; i = (i + 1) & mask) {
        s_slot_t *slot = &slots[i];
        if (!slot->key)
            return slot;
        if (slot->hash == hash && slot->len == len && memcmp(slot->key, key, len) == 0)
            return slot;
    }
}

/* Doubles the capacity, moving every key. Returns 0 or -1 (memory). */
static int s_grow(lyc_texttable_t *self)
{
    size_t capacity = (self->mask + 1) * 2;
    s_slot_t *slots = s_slots_new(capacity);
    if (!slots)
        return -1;
    for (size_t i = 0; i <= self->mask; i++) {
        const s_slot_t *old = &self->slots[i];
        if (old->key)
            *s_find(slots, capacity - 1, old->hash, old->key, old->len) = *old;
    }
    free(self->slots);
    self->slots = slots;
    self->mask = capacity - 1;
    return 0;
}

int lyc_texttable_put(lyc_texttable_t *self, const char *key, size_t len, size_t value)
{
    if ((self->count + 1) * 2 > self->mask + 1 && s_grow(self) != 0)
        return -1;
    uint64_t hash = XXH3_64bits(key, len);
    s_slot_t *slot = s_find(self->slots, self->mask, hash, key, len);
    if (slot->key)
        return 0;
    *slot = (s_slot_t){hash, key, len, value};
    self->count++;
    return 1;
}

int lyc_texttable_get(const lyc_texttable_t *self, const char *key, size_t len, size_t *value)
{
    uint64_t hash = XXH3_64bits(key, len);
    const s_slot_t *slot = s_find(self->slots, self->mask, hash, key, len);
    if (!slot->key)
        return 0;
    *value = slot->value;
    return 1;
}

size_t lyc_texttable_count(const lyc_texttable_t *self)
{
    return self->count;
}
