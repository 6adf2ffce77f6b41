/*
 * clusters.h - online clustering of query vectors (no I/O, tested alone).
 *
 * A vector joins the cluster whose centroid (the normalised sum of its
 * members) has the highest cosine with it, when that cosine is at least the
 * threshold; otherwise it starts a cluster. Past max_clusters the smallest
 * unlabelled cluster is forgotten. Each cluster keeps its members (tenant,
 * record id) and counts the words of their texts, for a name.
 *
 * A cluster that became a domain is labelled with it: it stays, keeps
 * attracting the vectors near it (its centroid still moves), but no longer
 * keeps members or words; the caller files those vectors under its domain
 * instead of growing a second domain on the same topic.
 */
#ifndef LYCEUM_TRAINER_CLUSTERS_H
#define LYCEUM_TRAINER_CLUSTERS_H

#include <stddef.h>

typedef struct lyc_clusters_t lyc_clusters_t;

/* One member of a cluster; strings owned by the clusters. */
typedef struct {
    char *tenant;
    char *id;
} lyc_cluster_member_t;

/* NULL when out of memory or dim is 0. */
lyc_clusters_t *lyc_clusters_new(unsigned dim, double threshold, size_t max_clusters);

/* Accepts NULL; nulls *self_p. */
void lyc_clusters_destroy(lyc_clusters_t **self_p);

/* Adds vector v (dim floats, unit length) of record id of tenant, whose
 * text is text. Returns the id (> 0) of the cluster it joined or started,
 * with that cluster's size in *size; -1 when out of memory. A record
 * already in the cluster it would join is not added twice. */
long lyc_clusters_add(lyc_clusters_t *self, const float *v, const char *tenant, const char *id,
                      const char *text, size_t *size);

/* The id of the cluster v would join, or 0 when it would start one. */
long lyc_clusters_nearest(const lyc_clusters_t *self, const float *v);

/* The members of cluster cid into *members (borrowed until the cluster
 * changes); their number, 0 for an unknown or labelled cluster. */
size_t lyc_clusters_members(const lyc_clusters_t *self, long cid,
                            const lyc_cluster_member_t **members);

/* The cluster's n most frequent words (4+ letters, not common words),
 * joined by '-', into out; "" when it has none. */
void lyc_clusters_top_words(const lyc_clusters_t *self, long cid, int n, char *out, size_t cap);

/* Forgets cluster cid. */
void lyc_clusters_remove(lyc_clusters_t *self, long cid);

/* Labels cluster cid with domain (copied) and drops its members and words.
 * Returns 0, or -1 for an unknown cluster or no memory. */
int lyc_clusters_label(lyc_clusters_t *self, long cid, const char *domain);

/* The domain cluster cid is labelled with, or NULL. */
const char *lyc_clusters_domain(const lyc_clusters_t *self, long cid);

/* Adds a labelled cluster with this centroid (dim floats, any length), e.g.
 * one remembered from an earlier run. Returns its id, or -1. */
long lyc_clusters_add_domain(lyc_clusters_t *self, const float *centroid, const char *domain);

/* The cluster's centroid (the unnormalised sum of its vectors, dim floats),
 * borrowed; NULL for an unknown cluster. */
const float *lyc_clusters_centroid(const lyc_clusters_t *self, long cid);

/* Clusters held. */
size_t lyc_clusters_count(const lyc_clusters_t *self);

#endif
