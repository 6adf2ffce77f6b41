/*
 * config.c - YAML documents flattened to dotted keys, and table-driven loading.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct {
    char *key;
    char *value;
    int line;
} s_entry_t;

struct lyc_confdoc_t {
    char *name;
    s_entry_t *entries;
    size_t count, cap;
};

/* ---- the document ---------------------------------------------------- */

static int s_doc_add(lyc_confdoc_t *self, const char *key, const char *value, int line)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 32;
        s_entry_t *grown = realloc(self->entries, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->entries = grown;
        self->cap = cap;
    }
    s_entry_t *e = &self->entries[self->count];
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return -1;
    }
    self->count++;
    return 0;
}

lyc_confdoc_t *lyc_confdoc_new_empty(void)
{
    lyc_confdoc_t *self = calloc(1, sizeof *self);
    if (self && !(self->name = strdup("<defaults>")))
        lyc_confdoc_destroy(&self);
    return self;
}

void lyc_confdoc_destroy(lyc_confdoc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_confdoc_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->entries[i].key);
        free(self->entries[i].value);
    }
    free(self->entries);
    free(self->name);
    free(self);
    *self_p = NULL;
}

/* One level of nesting while walking the YAML events. */
typedef struct {
    int is_seq;      /* sequence (index keys) or mapping (named keys) */
    int next_index;  /* sequences: index of the next item */
    int expect_key;  /* mappings: the next scalar is a key */
    size_t path_len; /* length of the path before this level's own part */
} s_level_t;

#define S_MAX_DEPTH 32
#define S_MAX_PATH  512

typedef struct {
    lyc_confdoc_t *doc;
    s_level_t levels[S_MAX_DEPTH];
    int depth;
    char path[S_MAX_PATH];
    char *err;
    size_t errcap;
} s_walk_t;

/* Sets the path to the parent's path plus this item's name, for a value about
 * to be stored or opened in the current level. */
static int s_walk_item_path(s_walk_t *w, const char *name, int line)
{
    s_level_t *lv = &w->levels[w->depth - 1];
    char index[16];
    if (lv->is_seq) {
        if (lv->next_index >= LYC_CONFDOC_MAX_ITEMS) {
            snprintf(w->err, w->errcap, "%s:%d: a list of more than %d items", w->doc->name, line,
                     LYC_CONFDOC_MAX_ITEMS);
            return -1;
        }
        snprintf(index, sizeof index, "%d", lv->next_index++);
        name = index;
    }
    int n = snprintf(w->path + lv->path_len, S_MAX_PATH - lv->path_len, "%s%s",
                     lv->path_len ? "." : "", name);
    if (n < 0 || (size_t) n >= S_MAX_PATH - lv->path_len) {
        snprintf(w->err, w->errcap, "%s:%d: key path too long", w->doc->name, line);
        return -1;
    }
    return 0;
}

static int s_walk_open(s_walk_t *w, int is_seq, int line)
{
    if (w->depth == S_MAX_DEPTH) {
        snprintf(w->err, w->errcap, "%s:%d: nesting deeper than %d", w->doc->name, line,
                 S_MAX_DEPTH);
        return -1;
    }
    s_level_t *lv = &w->levels[w->depth++];
    lv->is_seq = is_seq;
    lv->next_index = 0;
    lv->expect_key = 1;
    lv->path_len = strlen(w->path);
    return 0;
}

/* Handles a scalar: a mapping key, or a value to store. */
static int s_walk_scalar(s_walk_t *w, const char *text, int line)
{
    if (w->depth == 0) {
        snprintf(w->err, w->errcap, "%s:%d: the top level must be a mapping of keys", w->doc->name,
                 line);
        return -1;
    }
    s_level_t *lv = &w->levels[w->depth - 1];
    if (!lv->is_seq && lv->expect_key) {
        if (!*text || strchr(text, '.')) {
            snprintf(w->err, w->errcap, "%s:%d: invalid key '%s'", w->doc->name, line, text);
            return -1;
        }
        if (s_walk_item_path(w, text, line) != 0)
            return -1;
        lv->expect_key = 0;
        return 0;
    }
    if (lv->is_seq && s_walk_item_path(w, "", line) != 0)
        return -1;
    if (lyc_confdoc_get(w->doc, w->path, NULL)) {
        snprintf(w->err, w->errcap, "%s:%d: key '%s' is given twice", w->doc->name, line, w->path);
        return -1;
    }
    if (s_doc_add(w->doc, w->path, text, line) != 0) {
        snprintf(w->err, w->errcap, "%s: out of memory", w->doc->name);
        return -1;
    }
    lv->expect_key = 1;
    return 0;
}

/* A mapping or sequence value starts: name it in its parent, then open it. */
static int s_walk_container(s_walk_t *w, int is_seq, int line)
{
    if (w->depth > 0) {
        s_level_t *lv = &w->levels[w->depth - 1];
        if (!lv->is_seq && lv->expect_key) {
            snprintf(w->err, w->errcap, "%s:%d: a key must be a plain scalar", w->doc->name, line);
            return -1;
        }
        if (lv->is_seq && s_walk_item_path(w, "", line) != 0)
            return -1;
        lv->expect_key = 1;
    }
    return s_walk_open(w, is_seq, line);
}

static int s_walk_event(s_walk_t *w, yaml_event_t *ev)
{
    int line = (int) ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return s_walk_scalar(w, (const char *) ev->data.scalar.value, line);
    case YAML_MAPPING_START_EVENT:
        return s_walk_container(w, 0, line);
    case YAML_SEQUENCE_START_EVENT:
        return s_walk_container(w, 1, line);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        w->depth--;
        w->path[w->depth > 0 ? w->levels[w->depth].path_len : 0] = '\0';
        return 0;
    case YAML_ALIAS_EVENT:
        snprintf(w->err, w->errcap, "%s:%d: YAML aliases are not supported", w->doc->name, line);
        return -1;
    default:
        return 0;
    }
}

lyc_confdoc_t *lyc_confdoc_parse(const char *text, size_t len, const char *name, char *err,
                                 size_t errcap)
{
    yaml_parser_t parser;
    s_walk_t walk = {.err = err, .errcap = errcap};
    int done = 0;

    walk.doc = calloc(1, sizeof *walk.doc);
    if (walk.doc)
        walk.doc->name = strdup(name ? name : "<config>");
    if (!walk.doc || !walk.doc->name) {
        snprintf(err, errcap, "out of memory");
        lyc_confdoc_destroy(&walk.doc);
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errcap, "%s: cannot start the YAML parser", walk.doc->name);
        lyc_confdoc_destroy(&walk.doc);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errcap, "%s:%zu: %s", walk.doc->name, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "YAML syntax error");
            lyc_confdoc_destroy(&walk.doc);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        int rc = s_walk_event(&walk, &ev);
        yaml_event_delete(&ev);
        if (rc != 0) {
            lyc_confdoc_destroy(&walk.doc);
            break;
        }
    }
    yaml_parser_delete(&parser);
    return walk.doc;
}

lyc_confdoc_t *lyc_confdoc_load(const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[8192];
    size_t n;
    while (mem && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, mem);
    int failed = ferror(f) || !mem;
    fclose(f);
    if (mem)
        fclose(mem);
    lyc_confdoc_t *doc = NULL;
    if (failed)
        snprintf(err, errcap, "%s: cannot read", path);
    else
        doc = lyc_confdoc_parse(text, len, path, err, errcap);
    free(text);
    return doc;
}

const char *lyc_confdoc_get(const lyc_confdoc_t *self, const char *key, int *line)
{
    for (size_t i = 0; self && i < self->count; i++) {
        if (strcmp(self->entries[i].key, key) == 0) {
            if (line)
                *line = self->entries[i].line;
            return self->entries[i].value;
        }
    }
    return NULL;
}

int lyc_confdoc_count(const lyc_confdoc_t *self, const char *key)
{
    int count = 0;
    size_t klen = strlen(key);
    for (size_t i = 0; self && i < self->count; i++) {
        const char *k = self->entries[i].key;
        if (strncmp(k, key, klen) != 0 || k[klen] != '.' || !isdigit((unsigned char) k[klen + 1]))
            continue;
        /* Only indices as the walker writes them: a mapping's numeric key
         * such as 2147483647 must not make callers loop over (or allocate
         * for) billions of items, nor overflow `index + 1`. */
        char *end = NULL;
        long index = strtol(k + klen + 1, &end, 10);
        if ((*end != '.' && *end != '\0') || index >= LYC_CONFDOC_MAX_ITEMS ||
            (k[klen + 1] == '0' && end != k + klen + 2))
            continue;
        if (index + 1 > count)
            count = (int) index + 1;
    }
    return count;
}

const char *lyc_confdoc_name(const lyc_confdoc_t *self)
{
    return self ? self->name : "<defaults>";
}

/* ---- the table ------------------------------------------------------- */

/* Where a value came from, for error messages. */
typedef struct {
    char where[320];
} s_origin_t;

static int s_parse_bool(const char *text, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int s_in_choices(const char *choices, const char *text)
{
    size_t tlen = strlen(text);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t) (bar - p) : strlen(p);
        if (n == tlen && strncmp(p, text, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Stores one textual value into its field; -1 with err set when invalid. */
static int s_set_field(const lyc_cfg_field_t *f, void *out, const char *text,
                       const s_origin_t *origin, char *err, size_t errcap)
{
    char *slot = (char *) out + f->offset;
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case LYC_CFG_STR:
        if (f->choices && !s_in_choices(f->choices, text)) {
            snprintf(err, errcap, "%s: key '%s': expected one of %s, got '%s'", origin->where,
                     f->key, f->choices, text);
            return -1;
        }
        free(*(char **) slot);
        *(char **) slot = strdup(text);
        return *(char **) slot ? 0 : -1;
    case LYC_CFG_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < f->min || v > f->max) {
            snprintf(err, errcap,
                     "%s: key '%s': expected a whole number from %.0f to %.0f, got '%s'",
                     origin->where, f->key, f->min, f->max, text);
            return -1;
        }
        *(long *) slot = v;
        return 0;
    }
    case LYC_CFG_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v) || v < f->min || v > f->max) {
            snprintf(err, errcap, "%s: key '%s': expected a number from %g to %g, got '%s'",
                     origin->where, f->key, f->min, f->max, text);
            return -1;
        }
        *(double *) slot = v;
        return 0;
    }
    case LYC_CFG_BOOL:
        if (s_parse_bool(text, (int *) (void *) slot) != 0) {
            snprintf(err, errcap, "%s: key '%s': expected true or false, got '%s'", origin->where,
                     f->key, text);
            return -1;
        }
        return 0;
    case LYC_CFG_SECTION:
        return 0;
    }
    return -1;
}

/* Environment variable name for key: PREFIX_KEY with dots as underscores. */
static void s_env_name(char *buf, size_t cap, const char *prefix, const char *key)
{
    size_t n = (size_t) snprintf(buf, cap, "%s_", prefix);
    for (const char *k = key; *k && n + 1 < cap; k++)
        buf[n++] = (*k == '.' || *k == '-') ? '_' : (char) toupper((unsigned char) *k);
    buf[n < cap ? n : cap - 1] = '\0';
}

/* Finds an environment override for key: PREFIX_KEY, then LYCEUM_KEY. */
static const char *s_env_override(const char *env_prefix, const char *key, s_origin_t *origin)
{
    char name[256];
    const char *prefixes[] = {env_prefix, "LYCEUM"};
    for (size_t i = 0; i < 2; i++) {
        s_env_name(name, sizeof name, prefixes[i], key);
        const char *value = getenv(name);
        if (value) {
            snprintf(origin->where, sizeof origin->where, "environment variable %s", name);
            return value;
        }
    }
    return NULL;
}

static int s_apply_field(const lyc_cfg_field_t *f, void *out, const lyc_confdoc_t *doc,
                         const char *prefix, const char *env_prefix, char *err, size_t errcap)
{
    s_origin_t origin;
    char full[S_MAX_PATH];
    int line = 0;

    if (f->type == LYC_CFG_SECTION)
        return 0;
    snprintf(full, sizeof full, "%s%s", prefix, f->key);
    const char *text = env_prefix ? s_env_override(env_prefix, f->key, &origin) : NULL;
    if (!text && (text = lyc_confdoc_get(doc, full, &line)))
        snprintf(origin.where, sizeof origin.where, "%s:%d", lyc_confdoc_name(doc), line);
    if (!text && (text = f->def))
        snprintf(origin.where, sizeof origin.where, "built-in default");
    if (!text)
        return 0;
    return s_set_field(f, out, text, &origin, err, errcap);
}

/* 1 when the document key (under prefix) belongs to a field of the table. */
static int s_key_known(const lyc_cfg_field_t *table, const char *key)
{
    for (const lyc_cfg_field_t *f = table; f->key; f++) {
        size_t n = strlen(f->key);
        if (strcmp(key, f->key) == 0)
            return 1;
        if (f->type == LYC_CFG_SECTION && strncmp(key, f->key, n) == 0 && key[n] == '.')
            return 1;
    }
    return 0;
}

int lyc_config_apply(const lyc_cfg_field_t *table, void *out, const lyc_confdoc_t *doc,
                     const char *prefix, const char *env_prefix, char *err, size_t errcap)
{
    prefix = prefix ? prefix : "";
    size_t plen = strlen(prefix);

    for (size_t i = 0; doc && i < doc->count; i++) {
        const s_entry_t *e = &doc->entries[i];
        if (strncmp(e->key, prefix, plen) != 0)
            continue;
        if (!s_key_known(table, e->key + plen)) {
            snprintf(err, errcap, "%s:%d: unknown key '%s'", doc->name, e->line, e->key);
            return -1;
        }
    }
    for (const lyc_cfg_field_t *f = table; f->key; f++)
        if (s_apply_field(f, out, doc, prefix, env_prefix, err, errcap) != 0)
            return -1;
    return 0;
}

void lyc_config_free(const lyc_cfg_field_t *table, void *out)
{
    for (const lyc_cfg_field_t *f = table; f->key; f++) {
        if (f->type != LYC_CFG_STR)
            continue;
        char **slot = (char **) (void *) ((char *) out + f->offset);
        free(*slot);
        *slot = NULL;
    }
}

void lyc_config_describe(const lyc_cfg_field_t *table, FILE *out)
{
    static const char *types[] = {"string", "integer", "number", "boolean", "section"};
    for (const lyc_cfg_field_t *f = table; f->key; f++) {
        fprintf(out, "%-28s %-8s default %-16s", f->key, types[f->type], f->def ? f->def : "-");
        if (f->type == LYC_CFG_INT || f->type == LYC_CFG_DOUBLE)
            fprintf(out, " range %g..%g", f->min, f->max);
        if (f->choices)
            fprintf(out, " one of %s", f->choices);
        fprintf(out, "\n    %s\n", f->doc ? f->doc : "");
    }
}
