/*
 * cluster.c - loading the cluster file for the lyceum tool (see cluster.h).
 */
#include "cluster.h"

#include "config.h"
#include "model_config.h"
#include "paths.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest cluster file accepted. */
#define S_MAX_FILE (4u * 1024 * 1024)

#define S_OFF(field) offsetof(lyc_demo_settings_t, field)

static const lyc_cfg_field_t s_demo_table[] = {
    {"servers", LYC_CFG_STR, S_OFF(servers), "local", 0, 0, "local|external",
     "local: `lyceum up` starts Redis and Kafka with deploy/local/servers.sh; external: use "
     "redis.url and kafka.brokers as they are"},
    {"queries", LYC_CFG_INT, S_OFF(queries), "240", 4, 100000, NULL,
     "distinct questions in the generated demo data set"},
    {"repeat_share", LYC_CFG_DOUBLE, S_OFF(repeat_share), "0.25", 0, 1, NULL,
     "share of the questions `lyceum demo` asks a second time (exact or reworded)"},
    {"seed", LYC_CFG_INT, S_OFF(seed), "42", 0, 2147483647, NULL,
     "seed of the demo data set and workload"},
    {NULL},
};

struct lyc_cluster_t {
    lyc_confdoc_t *doc;
    lyc_settings_t settings;
    lyc_demo_settings_t demo;
    lyc_cluster_model_t *models;
    size_t n_models;
};

/* ---- expansion ------------------------------------------------------- */

char *lyc_cluster_expand(const char *text, const char *run_dir, const char *run_id)
{
    static const char *names[] = {"${LYCEUM_RUN_DIR}", "${LYCEUM_RUN_ID}", "${LYCEUM_SOURCE_DIR}"};
    const char *values[] = {run_dir, run_id, lyc_paths_source_dir()};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    const char *p = text;
    while (*p) {
        int matched = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !matched; i++) {
            size_t n = strlen(names[i]);
            if (strncmp(p, names[i], n) == 0) {
                fputs(values[i], f);
                p += n;
                matched = 1;
            }
        }
        if (!matched)
            fputc(*p++, f);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- loading --------------------------------------------------------- */

/* Copies models[i] of the document into out. */
static int s_load_model(lyc_cluster_t *self, int i, lyc_cluster_model_t *out, char *err,
                        size_t errcap)
{
    lyc_model_config_t m;
    int rc = -1;
    if (lyc_model_config_load(self->doc, i, &m, err, errcap) != 0)
        goto out_free_model;
    if (strlen(m.name) >= sizeof out->name) {
        snprintf(err, errcap, "%s: models[%d]: the name '%.80s' is longer than %zu bytes",
                 lyc_confdoc_name(self->doc), i, m.name, sizeof out->name - 1);
        goto out_free_model;
    }
    snprintf(out->name, sizeof out->name, "%s", m.name);
    snprintf(out->role, sizeof out->role, "%s", m.role);
    snprintf(out->backend, sizeof out->backend, "%s", m.backend);
    out->replicas = m.replicas;
    out->price_in = m.price_in;
    out->price_out = m.price_out;
    rc = 0;
out_free_model:
    lyc_model_config_free(&m);
    return rc;
}

/* Loads every model and checks that the names are unique. */
static int s_load_models(lyc_cluster_t *self, char *err, size_t errcap)
{
    int n = lyc_model_config_count(self->doc);
    if (n <= 0) {
        snprintf(err, errcap, "%s: `models:` lists no model", lyc_confdoc_name(self->doc));
        return -1;
    }
    self->models = calloc((size_t) n, sizeof *self->models);
    if (!self->models) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (s_load_model(self, i, &self->models[i], err, errcap) != 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(self->models[i].name, self->models[j].name) == 0) {
                snprintf(err, errcap, "%s: models[%d]: the name '%s' is used twice",
                         lyc_confdoc_name(self->doc), i, self->models[i].name);
                return -1;
            }
        self->n_models++;
    }
    return 0;
}

lyc_cluster_t *lyc_cluster_parse(const char *text, size_t len, const char *name, char *err,
                                 size_t errcap)
{
    lyc_cluster_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    self->doc = lyc_confdoc_parse(text, len, name, err, errcap);
    if (!self->doc)
        goto out_destroy;
    if (lyc_config_apply(lyc_settings_table, &self->settings, self->doc, NULL, "LYCEUM", err,
                         errcap) != 0 ||
        lyc_config_apply(s_demo_table, &self->demo, self->doc, "demo.", "LYCEUM_DEMO", err,
                         errcap) != 0 ||
        s_load_models(self, err, errcap) != 0)
        goto out_destroy;
    return self;
out_destroy:
    lyc_cluster_destroy(&self);
    return NULL;
}

lyc_cluster_t *lyc_cluster_load(const char *path, char *err, size_t errcap)
{
    size_t len = 0;
    char *text = lyc_paths_read_file(path, S_MAX_FILE, &len);
    if (!text) {
        snprintf(err, errcap, "cannot read the cluster file %s: %m", path);
        return NULL;
    }
    lyc_cluster_t *self = lyc_cluster_parse(text, len, path, err, errcap);
    free(text);
    return self;
}

void lyc_cluster_destroy(lyc_cluster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_cluster_t *self = *self_p;
    lyc_settings_free(&self->settings);
    lyc_config_free(s_demo_table, &self->demo);
    lyc_confdoc_destroy(&self->doc);
    free(self->models);
    free(self);
    *self_p = NULL;
}

/* ---- access ---------------------------------------------------------- */

const lyc_settings_t *lyc_cluster_settings(const lyc_cluster_t *self)
{
    return &self->settings;
}

const lyc_demo_settings_t *lyc_cluster_demo(const lyc_cluster_t *self)
{
    return &self->demo;
}

size_t lyc_cluster_model_count(const lyc_cluster_t *self)
{
    return self->n_models;
}

const lyc_cluster_model_t *lyc_cluster_model(const lyc_cluster_t *self, size_t i)
{
    return i < self->n_models ? &self->models[i] : NULL;
}

const lyc_cluster_model_t *lyc_cluster_find_role(const lyc_cluster_t *self, const char *role)
{
    for (size_t i = 0; i < self->n_models; i++)
        if (strcmp(self->models[i].role, role) == 0)
            return &self->models[i];
    return NULL;
}

/* PREFIX_KEY with dots as underscores, upper case (as config.c names them). */
static const char *s_env(const char *prefix, const char *key)
{
    char name[256];
    size_t n = (size_t) snprintf(name, sizeof name, "%s_", prefix);
    for (const char *k = key; *k && n + 1 < sizeof name; k++) {
        char c = *k;
        name[n++] = (c == '.' || c == '-') ? '_' : (c >= 'a' && c <= 'z') ? (char) (c - 32) : c;
    }
    name[n < sizeof name ? n : sizeof name - 1] = '\0';
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

const char *lyc_cluster_value(const lyc_cluster_t *self, const char *section, const char *key,
                              const char *env_prefix, const char *def)
{
    const char *value = env_prefix ? s_env(env_prefix, key) : NULL;
    if (!value)
        value = s_env("LYCEUM", key);
    if (value)
        return value;
    char full[256];
    snprintf(full, sizeof full, "%s.%s", section, key);
    value = lyc_confdoc_get(self->doc, full, NULL);
    return value ? value : def;
}

const char *lyc_cluster_http_listen(const lyc_cluster_t *self)
{
    return lyc_cluster_value(self, "router", "http.listen", "LYCEUM_ROUTER", "127.0.0.1:8080");
}

int lyc_cluster_host_port(const char *address, char *host, size_t host_cap, int *port)
{
    const char *p = strstr(address, "://");
    p = p ? p + 3 : address;
    size_t end = strcspn(p, ",/");
    const char *at = memchr(p, '@', end);
    if (at) {
        end -= (size_t) (at + 1 - p);
        p = at + 1;
    }
    const char *colon = NULL;
    for (size_t i = 0; i < end; i++)
        if (p[i] == ':')
            colon = p + i;
    const char *bracket = p[0] == '[' ? memchr(p, ']', end) : NULL;
    if (!colon || (p[0] == '[' && (!bracket || colon < bracket)))
        return -1;
    char *tail = NULL;
    long value = strtol(colon + 1, &tail, 10);
    if (tail == colon + 1 || value <= 0 || value > 65535 || (tail < p + end && *tail != '/'))
        return -1;
    size_t hlen = (size_t) (colon - p);
    if (hlen >= 2 && p[0] == '[' && p[hlen - 1] == ']') {
        p++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_cap)
        return -1;
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    *port = (int) value;
    return 0;
}

int lyc_cluster_router_url(const lyc_cluster_t *self, char *buf, size_t cap)
{
    char host[256];
    int port = 0;
    if (lyc_cluster_host_port(lyc_cluster_http_listen(self), host, sizeof host, &port) != 0)
        return -1;
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0 || !*host)
        snprintf(host, sizeof host, "127.0.0.1");
    int n = strchr(host, ':') ? snprintf(buf, cap, "http://[%s]:%d", host, port)
                              : snprintf(buf, cap, "http://%s:%d", host, port);
    return n > 0 && (size_t) n < cap ? 0 : -1;
}
