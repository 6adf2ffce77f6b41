/*
 * model_yaml.c - emitting settings tables as YAML and loading one model
 * entry through the model table.
 */
#define _GNU_SOURCE /* asprintf */
#include "model_yaml.h"

#include <stdlib.h>
#include <string.h>

void lyc_yaml_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* Number of leading dotted components two keys share. */
static int s_common_depth(const char *a, const char *b)
{
    int depth = 0;
    const char *pa = a, *pb = b;
    for (;;) {
        const char *da = strchr(pa, '.'), *db = strchr(pb, '.');
        if (!da || !db || da - pa != db - pb || memcmp(pa, pb, (size_t) (da - pa)) != 0)
            return depth;
        depth++;
        pa = da + 1;
        pb = db + 1;
    }
}

/* The component of key at depth into buf. */
static const char *s_component(char *buf, size_t cap, const char *key, int depth)
{
    const char *p = key;
    for (int i = 0; i < depth && p; i++)
        p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL;
    size_t len = p ? strcspn(p, ".") : 0;
    snprintf(buf, cap, "%.*s", (int) len, p ? p : "");
    return buf;
}

static int s_depth(const char *key)
{
    int depth = 0;
    for (const char *p = key; *p; p++)
        depth += *p == '.';
    return depth;
}

static void s_emit_value(FILE *out, const lyc_cfg_field_t *f, const void *obj)
{
    const char *base = (const char *) obj + f->offset;
    switch (f->type) {
    case LYC_CFG_STR:
        lyc_yaml_quoted(out, *(char *const *) base);
        break;
    case LYC_CFG_INT:
        fprintf(out, "%ld", *(const long *) base);
        break;
    case LYC_CFG_DOUBLE:
        fprintf(out, "%.17g", *(const double *) base);
        break;
    case LYC_CFG_BOOL:
        fputs(*(const int *) base ? "true" : "false", out);
        break;
    default:
        fputs("null", out);
        break;
    }
}

/* The flow-style value of a SECTION field the emitter knows (a model's
 * replay files), as a new string; NULL for the others. */
static char *s_section_value(const lyc_cfg_field_t *f, const void *obj, const void *extra)
{
    char *const *files = extra;
    if (strcmp(f->key, "replay.files") != 0 || !files || !files[0])
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    fputc('[', out);
    for (char *const *p = files; *p; p++) {
        lyc_yaml_quoted(out, *p);
        fputs(p[1] ? ", " : "", out);
    }
    fputc(']', out);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Emits table fields; extra is what SECTION fields draw on (replay files). */
static void s_emit(FILE *out, const lyc_cfg_field_t *table, const void *obj, const void *extra,
                   int indent)
{
    const char *prev = "";
    char part[128];
    for (const lyc_cfg_field_t *f = table; f->key; f++) {
        char *section = f->type == LYC_CFG_SECTION ? s_section_value(f, obj, extra) : NULL;
        if (f->type == LYC_CFG_SECTION && !section)
            continue;
        if (f->type == LYC_CFG_STR && !*(char *const *) ((const char *) obj + f->offset))
            continue;
        int common = s_common_depth(prev, f->key), depth = s_depth(f->key);
        for (int d = common; d < depth; d++)
            fprintf(out, "%*s%s:\n", indent + 2 * d, "", s_component(part, sizeof part, f->key, d));
        fprintf(out, "%*s%s: ", indent + 2 * depth, "",
                s_component(part, sizeof part, f->key, depth));
        if (section)
            fputs(section, out);
        else
            s_emit_value(out, f, obj);
        fputc('\n', out);
        free(section);
        prev = f->key;
    }
}

void lyc_yaml_emit_table(FILE *out, const lyc_cfg_field_t *table, const void *obj, int indent)
{
    s_emit(out, table, obj, NULL, indent);
}

char *lyc_model_yaml_emit(const lyc_model_config_t *model, int indent)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    s_emit(out, lyc_model_config_table, model, model->replay_files, indent);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* text with every line indented by n spaces, as a new string. */
static char *s_indent(const char *text, int n)
{
    size_t lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    char *out = malloc(strlen(text) + lines * (size_t) n + 1);
    if (!out)
        return NULL;
    char *w = out;
    int at_start = 1;
    for (const char *p = text; *p; p++) {
        if (at_start && *p != '\n') {
            memset(w, ' ', (size_t) n);
            w += n;
        }
        *w++ = *p;
        at_start = *p == '\n';
    }
    *w = '\0';
    return out;
}

/* Makes relative replay files absolute under base_dir. */
static int s_resolve_files(lyc_model_config_t *out, const char *base_dir)
{
    for (char **f = out->replay_files; base_dir && f && *f; f++) {
        if ((*f)[0] == '/')
            continue;
        char *abs = NULL;
        if (asprintf(&abs, "%s/%s", base_dir, *f) < 0)
            return -1;
        free(*f);
        *f = abs;
    }
    return 0;
}

int lyc_model_yaml_load(const char *text, const char *name, const char *default_name,
                        const char *base_dir, lyc_model_config_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    char *body = s_indent(text, 4), *doc_text = NULL;
    int rc = -1;
    if (!body || asprintf(&doc_text, "models:\n  -\n%s\n", body) < 0) {
        snprintf(err, errcap, "out of memory");
        doc_text = NULL;
        goto out_free;
    }
    lyc_confdoc_t *doc = lyc_confdoc_parse(doc_text, strlen(doc_text), name, err, errcap);
    if (!doc)
        goto out_free;
    if (default_name && !lyc_confdoc_get(doc, "models.0.name", NULL)) {
        /* Name it by appending the key: a later duplicate would be refused. */
        lyc_confdoc_destroy(&doc);
        char *named = NULL;
        if (asprintf(&named, "%s    name: \"%s\"\n", doc_text, default_name) < 0)
            goto out_free;
        free(doc_text);
        doc_text = named;
        if (!(doc = lyc_confdoc_parse(doc_text, strlen(doc_text), name, err, errcap)))
            goto out_free;
    }
    rc = lyc_model_config_load(doc, 0, out, err, errcap);
    if (rc == 0 && s_resolve_files(out, base_dir) != 0) {
        snprintf(err, errcap, "out of memory");
        rc = -1;
    }
    lyc_confdoc_destroy(&doc);
out_free:
    free(body);
    free(doc_text);
    return rc;
}

int lyc_model_set_str(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}
