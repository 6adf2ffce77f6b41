/*
 * config.h - one YAML file per process, environment overrides, one table.
 *
 * A service declares its settings once, as a table of fields (key, type,
 * where it lives in the service's struct, default, range, one-line doc).
 * Loading reads the YAML file, lays every scalar out under a dotted key
 * ("redis.url", "models.0.name"), applies environment overrides and fills the
 * struct, validating each value. Every error names the key, the file and the
 * line (or the environment variable), and the service refuses to start.
 *
 * Environment overrides: key "redis.url" of a process whose prefix is
 * "LYCEUM_ROUTER" is read from LYCEUM_ROUTER_REDIS_URL, else LYCEUM_REDIS_URL
 * (the second form lets one variable serve every process of a cluster).
 */
#ifndef LYCEUM_CONFIG_H
#define LYCEUM_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    LYC_CFG_STR,    /* char *, allocated; `choices` may restrict it ("a|b|c") */
    LYC_CFG_INT,    /* long, within [min, max] */
    LYC_CFG_DOUBLE, /* double, within [min, max] */
    LYC_CFG_BOOL,   /* int 0/1: true/false, yes/no, on/off, 1/0 */
    LYC_CFG_SECTION /* a subtree the service reads itself (lists of models...) */
} lyc_cfg_type_t;

typedef struct {
    const char *key;     /* dotted path in the YAML file; NULL ends the table */
    lyc_cfg_type_t type; /* what the value is */
    size_t offset;       /* where it goes in the service's struct (offsetof) */
    const char *def;     /* default, as text; NULL for none (strings: NULL pointer) */
    double min, max;     /* range for numbers */
    const char *choices; /* allowed strings separated by '|', or NULL */
    const char *doc;     /* one line for --help-config */
} lyc_cfg_field_t;

/* A parsed YAML file: dotted keys with values and line numbers. */
typedef struct lyc_confdoc_t lyc_confdoc_t;

/* Parses the YAML file at path. Returns the document, or NULL with the reason
 * (file and line) in err. The caller destroys it. */
lyc_confdoc_t *lyc_confdoc_load(const char *path, char *err, size_t errcap);

/* Parses YAML text; `name` stands in for the file name in messages. */
lyc_confdoc_t *lyc_confdoc_parse(const char *text, size_t len, const char *name, char *err,
                                 size_t errcap);

/* An empty document (for running on defaults without a file). */
lyc_confdoc_t *lyc_confdoc_new_empty(void);

void lyc_confdoc_destroy(lyc_confdoc_t **self_p);

/* The scalar at a dotted key, or NULL; *line gets its line when not NULL. */
const char *lyc_confdoc_get(const lyc_confdoc_t *self, const char *key, int *line);

/* Most items one YAML sequence may hold; a longer one is refused. */
#define LYC_CONFDOC_MAX_ITEMS 65536

/* Number of items of the sequence at key ("models" -> models.0, models.1, ...):
 * one more than the largest index below it, at most LYC_CONFDOC_MAX_ITEMS.
 * Keys that are not item indices (a mapping's "1x", "007" or 99999999999)
 * do not count. */
int lyc_confdoc_count(const lyc_confdoc_t *self, const char *key);

/* The file name the document came from ("<defaults>" when none). */
const char *lyc_confdoc_name(const lyc_confdoc_t *self);

/* Fills `out` from the table: for each field, the environment override (when
 * env_prefix is not NULL), else the document's value under `prefix` (e.g.
 * "models.0."; NULL or "" for the top level), else the default. Rejects keys
 * under `prefix` that the table does not know, except inside SECTION fields.
 * Returns 0, or -1 with an error naming key, file and line in err. On error,
 * strings already set are freed by lyc_config_free as usual. */
int lyc_config_apply(const lyc_cfg_field_t *table, void *out, const lyc_confdoc_t *doc,
                     const char *prefix, const char *env_prefix, char *err, size_t errcap);

/* Frees the strings that lyc_config_apply allocated in `out`. */
void lyc_config_free(const lyc_cfg_field_t *table, void *out);

/* Writes the table as documentation: key, type, default, range, doc. */
void lyc_config_describe(const lyc_cfg_field_t *table, FILE *out);

#endif
