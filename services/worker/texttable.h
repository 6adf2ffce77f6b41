/*
 * texttable.h - a small open-addressing hash table from text to an index.
 *
 * Keys are hashed with XXH3 (64 bits) and probed linearly; each slot keeps
 * the hash and a pointer to the full key, so a look-up compares the text and
 * never confuses two keys with the same hash. The table borrows its keys:
 * they must outlive it (the replay records own theirs). It doubles when half
 * full, so a probe is short and loading 14,042 rows takes milliseconds.
 */
#ifndef LYCEUM_WORKER_TEXTTABLE_H
#define LYCEUM_WORKER_TEXTTABLE_H

#include <stddef.h>

typedef struct lyc_texttable_t lyc_texttable_t;

/* A table sized for about `expected` keys; NULL when out of memory. */
lyc_texttable_t *lyc_texttable_new(size_t expected);

/* Accepts NULL, nulls *self_p. The keys are not freed (they are borrowed). */
void lyc_texttable_destroy(lyc_texttable_t **self_p);

/* Maps key[0..len) to value unless the key is already there. Returns 1 when
 * added, 0 when the key was present (its value unchanged), -1 when out of
 * memory. */
int lyc_texttable_put(lyc_texttable_t *self, const char *key, size_t len, size_t value);

/* The value of key[0..len) into *value; returns 1 when found, else 0. */
int lyc_texttable_get(const lyc_texttable_t *self, const char *key, size_t len, size_t *value);

/* Number of keys. */
size_t lyc_texttable_count(const lyc_texttable_t *self);

#endif
