/*
 * vecstore.h - the tenants' past queries in Redis: embeddings for similarity
 * search, the query records beside them, and per-tenant counters.
 *
 * Built on Redis 8 vector sets (VADD / VSIM / VREM / VCARD / VGETATTR). Every
 * tenant has its own keys, so one tenant can never see another's vectors:
 *
 *   <prefix>:{<tenant>}:vectors     vector set; element = record id, attributes
 *                                   = JSON {"tenant","id","domain","model",
 *                                   "score","ts"} (FILTER can use .domain,
 *                                   .model, .score, .ts)
 *   <prefix>:{<tenant>}:rec:<id>    hash: the query record (free-form fields)
 *   <prefix>:{<tenant>}:counters    hash: counters (HINCRBYFLOAT)
 *
 * The {<tenant>} hash tag keeps a tenant's keys in one Redis Cluster slot, so
 * a vector and its record can be changed in one MULTI/EXEC.
 *
 * Similarity is what VSIM reports for cosine distance: (1 + cos) / 2, in
 * 0..1, 1 for the same direction, 0.5 for orthogonal vectors, 0 for opposite
 * ones. With the default Q8 quantization it is accurate to about 0.01.
 *
 * A store owns one Redis connection: use it from one thread at a time (give
 * each thread its own store). Every method returns 0 on success and -1 on
 * failure, after logging why (a bad argument, or what Redis said).
 */
#ifndef LYCEUM_VECSTORE_H
#define LYCEUM_VECSTORE_H

#include "redis.h"

#include <stddef.h>
#include <stdint.h>

#define LYC_VECSTORE_MAX_TENANT 64   /* bytes in a tenant name, [A-Za-z0-9_.-] */
#define LYC_VECSTORE_MAX_ID     128  /* bytes in a record id, [A-Za-z0-9_.:-] */
#define LYC_VECSTORE_MAX_PREFIX 32   /* bytes in a key prefix, [A-Za-z0-9_.:-] */
#define LYC_VECSTORE_MAX_LABEL  128  /* bytes in a domain or model name */
#define LYC_VECSTORE_MAX_DIM    8192 /* largest vector dimension */
#define LYC_VECSTORE_MAX_K      1000 /* most results one search returns */

/* How Redis stores the vectors (VADD's NOQUANT / Q8 / BIN): Q8 (8-bit
 * integers, Redis' default) is 4x smaller than NOQUANT (float32) and nearly as
 * exact; BIN keeps one bit per dimension. Fixed when a tenant's set is first
 * created: adding with another setting later fails. */
typedef enum {
    LYC_VECSTORE_Q8 = 0,
    LYC_VECSTORE_NOQUANT = 1,
    LYC_VECSTORE_BIN = 2
} lyc_vecstore_quant_t;

/* Settings; zero fields take the defaults. Strings are copied by _new(). */
typedef struct {
    const char *redis_url;      /* redis://[[user]:password@]host[:port][/db], required */
    const char *key_prefix;     /* NULL: "lyc"; tests use a unique one */
    size_t dim;                 /* dimension of every vector, 1..LYC_VECSTORE_MAX_DIM */
    lyc_vecstore_quant_t quant; /* default LYC_VECSTORE_Q8 */
    int search_ef;              /* VSIM EF (recall vs speed); 0: Redis' default */
    int search_threaded;        /* nonzero: let Redis run VSIM on its worker threads; 0 (the
                                   default): NOTHREAD, which is 3x faster on a small machine,
                                   where the hand-off to a thread costs more than the search */
    int timeout_ms;             /* connect and command time-out; 0: 2000 */
} lyc_vecstore_config_t;

/* What is stored with a vector. A domain or model name is 1 to
 * LYC_VECSTORE_MAX_LABEL bytes without control characters, '"' or '\' (so it
 * can be matched by a FILTER); NULL leaves it out. */
typedef struct {
    const char *domain; /* NULL: none */
    const char *model;  /* NULL: none */
    double score;       /* e.g. the winning answer's score, 0.0-1.0 */
    int64_t ts_us;      /* wall time in microseconds (lyc_wall_us()) */
} lyc_vecstore_attrs_t;

/* Which neighbours a search may return; every condition set must hold. */
typedef struct {
    const char *domain; /* NULL: any; else attribute domain equals it */
    const char *model;  /* NULL: any; else attribute model equals it */
    int has_min_score;  /* nonzero: attribute score >= min_score */
    double min_score;
} lyc_vecstore_filter_t;

/* One neighbour. Strings are owned by the results. */
typedef struct {
    char *record_id;
    double similarity; /* (1 + cos) / 2, see above */
    char *domain;      /* NULL when the vector has none */
    char *model;       /* NULL when the vector has none */
    double score;
    int64_t ts_us;
} lyc_vecstore_hit_t;

/* Search results, most similar first. */
typedef struct {
    size_t count;
    lyc_vecstore_hit_t *hits;
} lyc_vecstore_results_t;

/* One field of a query record (input to record_put). */
typedef struct {
    const char *name;  /* non-empty */
    const char *value; /* any text, "" allowed */
} lyc_vecstore_field_t;

/* A query record as read back; owns its strings. */
typedef struct {
    size_t count;
    char **names;
    char **values;
} lyc_vecstore_record_t;

typedef struct lyc_vecstore_t lyc_vecstore_t;

/* Connects to Redis and checks the configuration. Returns NULL (and logs why)
 * on a bad setting or when Redis cannot be reached within the time-out. */
lyc_vecstore_t *lyc_vecstore_new(const lyc_vecstore_config_t *config);

/* Closes the connection and frees the store; accepts NULL, nulls *self_p. */
void lyc_vecstore_destroy(lyc_vecstore_t **self_p);

/* The set through which tenants that opted in (share_exemplars) lend and
 * borrow exemplars. Names starting with '_' are Lyceum's own: no client,
 * key or event can name this set as its tenant. */
#define LYC_VECSTORE_EXEMPLAR_POOL "_exemplars"

/* 1 when name is a valid tenant name: 1 to LYC_VECSTORE_MAX_TENANT bytes of
 * [A-Za-z0-9_.-], not starting with '_'; else 0. Every method rejects other
 * names with -1, except LYC_VECSTORE_EXEMPLAR_POOL. */
int lyc_vecstore_tenant_valid(const char *tenant);

/* Adds the vector (dim floats, which must equal the store's dimension, finite
 * and not all zero) under record_id in the tenant's set, with the attributes
 * (NULL: none beyond tenant and id), in one VADD. Adding an existing id
 * replaces its vector and attributes. */
int lyc_vecstore_add(lyc_vecstore_t *self, const char *tenant, const char *record_id,
                     const float *vector, size_t dim, const lyc_vecstore_attrs_t *attrs);

/* The k (1..LYC_VECSTORE_MAX_K) vectors of the tenant most similar to query
 * that pass filter (NULL: all), most similar first. On success *results_p is
 * a new result set (count 0 when nothing matched or the tenant has nothing),
 * which the caller frees with lyc_vecstore_results_destroy(); on failure it is
 * NULL. Approximate (HNSW) search: raise search_ef for better recall. */
int lyc_vecstore_search(lyc_vecstore_t *self, const char *tenant, const float *query, size_t dim,
                        size_t k, const lyc_vecstore_filter_t *filter,
                        lyc_vecstore_results_t **results_p);

/* Frees search results; accepts NULL, nulls *results_p. */
void lyc_vecstore_results_destroy(lyc_vecstore_results_t **results_p);

/* Deletes the record's vector and its query record together (MULTI/EXEC).
 * Deleting what does not exist succeeds. */
int lyc_vecstore_delete(lyc_vecstore_t *self, const char *tenant, const char *record_id);

/* Number of vectors the tenant has into *count (VCARD; 0 for a new tenant). */
int lyc_vecstore_count(lyc_vecstore_t *self, const char *tenant, size_t *count);

/* Sets count (>= 1) fields of the tenant's query record record_id (HSET);
 * fields not named keep their values. The record is independent of the
 * vector: add both, and lyc_vecstore_delete() removes both. */
int lyc_vecstore_record_put(lyc_vecstore_t *self, const char *tenant, const char *record_id,
                            const lyc_vecstore_field_t *fields, size_t count);

/* A record and its vector as commands for a caller's own pipeline
 * (lyc_redis_pipeline), so that they travel in one round trip with other
 * writes, on any connection to the store's Redis: HSET of the record as
 * lyc_vecstore_record_put, then, with a vector, VADD as lyc_vecstore_add.
 * The record id and the fields' strings are not copied: they must outlive
 * the put. */
typedef struct lyc_vecstore_put_t lyc_vecstore_put_t;

/* Checks everything as record_put and add do and builds the commands;
 * vector NULL: the record alone. NULL (logged) when something is refused or
 * memory runs out. */
lyc_vecstore_put_t *lyc_vecstore_put_new(const lyc_vecstore_t *self, const char *tenant,
                                         const char *record_id, const lyc_vecstore_field_t *fields,
                                         size_t count, const float *vector, size_t dim,
                                         const lyc_vecstore_attrs_t *attrs);

/* The commands (owned by the put) and their number (1 or 2) in *n_cmds. */
const lyc_redis_cmd_t *lyc_vecstore_put_cmds(const lyc_vecstore_put_t *self, size_t *n_cmds);

/* 0 when no reply to the put's commands (in order) is an error; else -1 (logged). */
int lyc_vecstore_put_check(const lyc_vecstore_put_t *self, redisReply *const *replies);

/* Frees the put; accepts NULL, nulls *self_p. */
void lyc_vecstore_put_destroy(lyc_vecstore_put_t **self_p);

/* Reads the query record into *record_p, which the caller frees with
 * lyc_vecstore_record_destroy(); *record_p is NULL when there is no such
 * record (still a success) and on failure. */
int lyc_vecstore_record_get(lyc_vecstore_t *self, const char *tenant, const char *record_id,
                            lyc_vecstore_record_t **record_p);

/* The value of the named field of a record, or NULL when it has none. */
const char *lyc_vecstore_record_value(const lyc_vecstore_record_t *record, const char *name);

/* Frees a record; accepts NULL, nulls *record_p. */
void lyc_vecstore_record_destroy(lyc_vecstore_record_t **record_p);

/* Adds by (finite, may be negative or fractional, e.g. a cost in dollars) to
 * the tenant's counter name (HINCRBYFLOAT, so whole numbers stay exact up to
 * 2^53) and stores the new value in *value unless value is NULL. */
int lyc_vecstore_counter_incr(lyc_vecstore_t *self, const char *tenant, const char *name, double by,
                              double *value);

/* The tenant's counter name into *value; 0 when it was never incremented. */
int lyc_vecstore_counter_get(lyc_vecstore_t *self, const char *tenant, const char *name,
                             double *value);

/* Deletes every key of the tenant under this store's prefix: vectors,
 * records and counters (SCAN + UNLINK; for tenant removal and test clean-up). */
int lyc_vecstore_drop_tenant(lyc_vecstore_t *self, const char *tenant);

#endif
