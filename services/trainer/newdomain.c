/*
 * newdomain.c - unlabelled queries clustered into new domains, relabelled
 * and given a student.
 */
#include "newdomain.h"

#include "distill.h"
#include "clusters.h"
#include "embed.h"
#include "fsutil.h"
#include "ids.h"
#include "log.h"
#include "model_config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NEIGHBOURS 10
#define S_TOP_WORDS  2

struct lyc_newdomain_t {
    lyc_newdomain_config_t cfg;
    lyc_embedder_t *embedder;
    lyc_clusters_t *clusters;
    float *vector;
    int search; /* the vector set was made by the same embedder */
    lyc_counter_t *born;
    lyc_gauge_t *held;
};

static void s_domains_key(const lyc_newdomain_t *self, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s:trainer:domains", self->cfg.settings->redis_prefix);
}

/* Loads the domains made earlier as labelled clusters. */
static int s_load_domains(lyc_newdomain_t *self)
{
    char key[256];
    s_domains_key(self, key, sizeof key);
    const char *argv[] = {"HGETALL", key};
    redisReply *r = lyc_redis_command(self->cfg.redis, 2, argv, NULL);
    if (!r)
        return -1;
    size_t bytes = lyc_embedder_dim(self->embedder) * sizeof(float), loaded = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        if (r->element[i + 1]->len != bytes)
            continue; /* made with another dimension */
        memcpy(self->vector, r->element[i + 1]->str, bytes);
        loaded += lyc_clusters_add_domain(self->clusters, self->vector, r->element[i]->str) > 0;
    }
    freeReplyObject(r);
    if (loaded)
        LYC_INFO(NULL, "trainer: %zu domains made from unlabelled queries are known", loaded);
    return 0;
}

/* Remembers a new domain's centroid. */
static void s_save_domain(lyc_newdomain_t *self, long cid, const char *domain)
{
    char key[256];
    s_domains_key(self, key, sizeof key);
    const float *centroid = lyc_clusters_centroid(self->clusters, cid);
    const char *argv[] = {"HSET", key, domain, (const char *) centroid};
    size_t lens[] = {4, strlen(key), strlen(domain),
                     lyc_embedder_dim(self->embedder) * sizeof(float)};
    if (centroid)
        freeReplyObject(lyc_redis_command(self->cfg.redis, 4, argv, lens));
}

lyc_newdomain_t *lyc_newdomain_new(const lyc_newdomain_config_t *config)
{
    lyc_newdomain_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    unsigned dim = (unsigned) config->settings->embedding_dim;
    self->embedder = lyc_embedder_new(dim);
    self->clusters = lyc_clusters_new(dim, config->config->cluster_similarity,
                                      (size_t) config->config->cluster_max);
    self->vector = calloc(dim, sizeof *self->vector);
    self->search = strcmp(config->settings->embedding_backend, "builtin") == 0;
    self->born = lyc_metrics_counter(config->metrics, "lyceum_trainer_new_domains_total",
                                     "Domains made from clusters of unlabelled queries", NULL);
    self->held = lyc_metrics_gauge(config->metrics, "lyceum_trainer_clusters",
                                   "Clusters of unlabelled queries held", NULL);
    if (!self->embedder || !self->clusters || !self->vector || !self->born || !self->held ||
        s_load_domains(self) != 0) {
        LYC_ERROR(NULL, "trainer: the new-domain clusters cannot start");
        lyc_newdomain_destroy(&self);
    }
    return self;
}

void lyc_newdomain_destroy(lyc_newdomain_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_newdomain_t *self = *self_p;
    lyc_embedder_destroy(&self->embedder);
    lyc_clusters_destroy(&self->clusters);
    free(self->vector);
    free(self);
    *self_p = NULL;
}

size_t lyc_newdomain_clusters(const lyc_newdomain_t *self)
{
    return lyc_clusters_count(self->clusters);
}

/* 1 when a labelled past query of the tenant is near the vector. */
static int s_known(lyc_newdomain_t *self, const char *tenant)
{
    lyc_vecstore_results_t *hits = NULL;
    if (!self->search || lyc_vecstore_search(self->cfg.store, tenant, self->vector,
                                             (size_t) self->cfg.settings->embedding_dim,
                                             S_NEIGHBOURS, NULL, &hits) != 0)
        return 0;
    int known = 0;
    for (size_t i = 0; i < hits->count && !known; i++) {
        const lyc_vecstore_hit_t *h = &hits->hits[i];
        known = h->domain && strcmp(h->domain, LYC_NEWDOMAIN_UNLABELLED) != 0 &&
                2 * h->similarity - 1 >= self->cfg.config->known_similarity;
    }
    lyc_vecstore_results_destroy(&hits);
    return known;
}

/* Sets the domain attribute of one vector (VGETATTR, change, VSETATTR). */
static int s_relabel_vector(lyc_newdomain_t *self, const char *tenant, const char *id,
                            const char *domain)
{
    char key[512];
    snprintf(key, sizeof key, "%s:{%s}:vectors", self->cfg.settings->redis_prefix, tenant);
    const char *get[] = {"VGETATTR", key, id};
    redisReply *reply = lyc_redis_command(self->cfg.redis, 3, get, NULL);
    if (!reply)
        return -1;
    cJSON *attrs = reply->type == REDIS_REPLY_STRING ? cJSON_Parse(reply->str) : NULL;
    freeReplyObject(reply);
    if (!attrs)
        return 0; /* no vector (a near-duplicate query): only the record is relabelled */
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, "domain");
    char *text =
        cJSON_AddStringToObject(attrs, "domain", domain) ? cJSON_PrintUnformatted(attrs) : NULL;
    cJSON_Delete(attrs);
    if (!text)
        return -1;
    const char *set[] = {"VSETATTR", key, id, text};
    reply = lyc_redis_command(self->cfg.redis, 4, set, NULL);
    free(text);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return 0;
}

/* Relabels a member and adds its question to the held-out set. */
static void s_adopt(lyc_newdomain_t *self, const lyc_cluster_member_t *m, const char *domain,
                    const char *heldout, const char *prompt)
{
    lyc_vecstore_field_t field = {"domain", domain};
    if (lyc_vecstore_record_put(self->cfg.store, m->tenant, m->id, &field, 1) != 0 ||
        s_relabel_vector(self, m->tenant, m->id, domain) != 0)
        LYC_WARN(NULL, "trainer: record %s of %s could not be relabelled %s", m->id, m->tenant,
                 domain);
    lyc_vecstore_record_t *record = NULL;
    if (!heldout || lyc_vecstore_record_get(self->cfg.store, m->tenant, m->id, &record) != 0 ||
        !record)
        return;
    const char *q = lyc_vecstore_record_value(record, "question");
    const char *a = lyc_vecstore_record_value(record, "answer");
    char *line = q && *q && a && *a ? lyc_distill_line(prompt, q, a) : NULL;
    if (line)
        lyc_fs_append_line(heldout, line);
    free(line);
    lyc_vecstore_record_destroy(&record);
}

/* "auto-<n>-<words>" for cluster cid into name. */
static int s_name(lyc_newdomain_t *self, long cid, char *name, size_t cap)
{
    char key[256], words[96], raw[256];
    snprintf(key, sizeof key, "%s:trainer:auto_domains", self->cfg.settings->redis_prefix);
    const char *argv[] = {"INCR", key};
    redisReply *reply = lyc_redis_command(self->cfg.redis, 2, argv, NULL);
    if (!reply)
        return -1;
    long long n = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    freeReplyObject(reply);
    lyc_clusters_top_words(self->clusters, cid, S_TOP_WORDS, words, sizeof words);
    snprintf(raw, sizeof raw, "auto-%lld%s%s", n, *words ? "-" : "", words);
    lyc_fs_safe_name(name, cap, raw);
    return 0;
}

/* Makes cluster cid a domain: name, relabel, held-out set, onboarding. */
static int s_promote(lyc_newdomain_t *self, long cid)
{
    const lyc_trainer_config_t *c = self->cfg.config;
    char domain[LYC_FEEDBACK_NAME_MAX], heldout[4096], job_id[LYC_ID_LEN];
    if (s_name(self, cid, domain, sizeof domain) != 0)
        return -1;
    int onboard = self->cfg.jobs && *c->onboard_template;
    char *prompt = lyc_model_system_prompt(c->system_prompt, domain);
    lyc_distill_path(heldout, sizeof heldout, c->data_dir, "onboard", domain, "heldout.jsonl");
    const lyc_cluster_member_t *members;
    size_t n = lyc_clusters_members(self->clusters, cid, &members);
    LYC_INFO(NULL, "trainer: %zu unlabelled queries form the new domain %s", n, domain);
    for (size_t i = 0; i < n; i++)
        s_adopt(self, &members[i], domain, onboard && prompt ? heldout : NULL,
                prompt ? prompt : "");
    if (lyc_clusters_label(self->clusters, cid, domain) == 0)
        s_save_domain(self, cid, domain);
    lyc_counter_add(self->born, NULL, 1);
    lyc_id_new(job_id);
    if (onboard && lyc_jobs_onboard(self->cfg.jobs, self->cfg.redis, job_id, domain, heldout) != 0)
        LYC_WARN(NULL, "trainer: the onboarding of a student for %s could not be queued", domain);
    free(prompt);
    return 1;
}

int lyc_newdomain_observe(lyc_newdomain_t *self, const lyc_feedback_t *ev)
{
    if (!ev->winner || lyc_feedback_is_human(ev) ||
        strcmp(ev->domain, LYC_NEWDOMAIN_UNLABELLED) != 0 || !ev->query_id || !*ev->query_id)
        return 0;
    lyc_vecstore_record_t *record = NULL;
    if (lyc_vecstore_record_get(self->cfg.store, ev->tenant, ev->query_id, &record) != 0)
        return -1;
    if (!record)
        return 0;
    /* The router embeds the conversation text: so do we, so that the
     * vectors compare; the question names the cluster. */
    const char *question = lyc_vecstore_record_value(record, "question");
    const char *conversation = lyc_vecstore_record_value(record, "conversation");
    const char *text = conversation && *conversation ? conversation : question;
    int rc = 0;
    if (!text || lyc_embedder_embed(self->embedder, text, strlen(text), self->vector) != 0 ||
        lyc_vec_cosine(self->vector, self->vector, lyc_embedder_dim(self->embedder)) == 0)
        goto out_free;
    /* Near a domain made here before: it belongs there. Else near a labelled
     * past query: the router knows where it belongs. Else: cluster it. */
    long near = lyc_clusters_nearest(self->clusters, self->vector);
    if (!(near > 0 && lyc_clusters_domain(self->clusters, near)) && s_known(self, ev->tenant))
        goto out_free;
    size_t size = 0;
    long cid = lyc_clusters_add(self->clusters, self->vector, ev->tenant, ev->query_id,
                                question ? question : text, &size);
    const char *domain = cid > 0 ? lyc_clusters_domain(self->clusters, cid) : NULL;
    if (domain) {
        lyc_cluster_member_t member = {(char *) ev->tenant, (char *) ev->query_id};
        s_adopt(self, &member, domain, NULL, NULL);
    } else if (cid > 0 && size >= (size_t) self->cfg.config->new_domain_min_size) {
        rc = s_promote(self, cid);
    }
    lyc_gauge_set(self->held, NULL, (double) lyc_clusters_count(self->clusters));
out_free:
    lyc_vecstore_record_destroy(&record);
    return rc;
}
