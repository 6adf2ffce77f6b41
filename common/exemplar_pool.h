/*
 * exemplar_pool.h - the exemplars that tenants who opted in
 * (share_exemplars, apikeys.h) lend to and borrow from each other.
 *
 * A tenant's own past queries stay in its own vector set (vecstore.h) and
 * are the only ones its memory student and familiar path ever read. A
 * tenant that shares exemplars also lends a copy of each recorded winner to
 * one more set, LYC_VECSTORE_EXEMPLAR_POOL, with only what an exemplar
 * needs (conversation, question, answer, winner, domain, score; never the
 * user, the scores of the other answers or the cost) plus `lender`, and the
 * workers' exemplar search of a sharing tenant reads the pool beside the
 * tenant's own set. The pool is never searched for a tenant that does not
 * share, and nothing of a tenant that does not share enters it.
 *
 *   <prefix>:{_exemplars}:vectors, :rec:<id>   the pool (vecstore.h)
 *   <prefix>:{_exemplars}:lent:<tenant>        set: the ids the tenant lent
 *
 * The lent set lets a tenant that stops sharing take back everything it
 * lent (`lyceum keys tenant NAME --share-exemplars off`).
 */
#ifndef LYCEUM_EXEMPLAR_POOL_H
#define LYCEUM_EXEMPLAR_POOL_H

#include "redis.h"
#include "vecstore.h"

#include <stddef.h>

/* Record field naming the tenant that lent a pool record. */
#define LYC_EXEMPLAR_POOL_LENDER "lender"

/* Lends the record record_id of tenant to the pool: of fields[0..n) only
 * the exemplar's fields are copied, with the lender added; vector (dim
 * floats) and attrs as for lyc_vecstore_add. 0, or -1 (logged). */
int lyc_exemplar_pool_lend(lyc_vecstore_t *store, lyc_redis_t *redis, const char *prefix,
                           const char *tenant, const char *record_id,
                           const lyc_vecstore_field_t *fields, size_t n, const float *vector,
                           size_t dim, const lyc_vecstore_attrs_t *attrs);

/* Takes back everything tenant lent: removes each record and vector from
 * the pool and forgets the lent set. *removed (may be NULL) gets how many.
 * 0, or -1 (logged; what was removed stays removed, run it again). */
int lyc_exemplar_pool_withdraw(lyc_vecstore_t *store, lyc_redis_t *redis, const char *prefix,
                               const char *tenant, size_t *removed);

#endif
