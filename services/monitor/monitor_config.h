/*
 * monitor_config.h - the monitor's settings: one table, read from the
 * `monitor:` section of the cluster file with LYCEUM_MONITOR_* environment
 * overrides (e.g. LYCEUM_MONITOR_HTTP_LISTEN), plus the supervisors and
 * their prices from the `models:` list.
 *
 * The topics it reads are the shared kafka.topics.* settings, so a test (or
 * a second cluster) points a monitor at other topics with
 * LYCEUM_MONITOR_KAFKA_TOPICS_FEEDBACK and friends.
 */
#ifndef LYCEUM_MONITOR_CONFIG_H
#define LYCEUM_MONITOR_CONFIG_H

#include "config.h"

typedef struct {
    char *http_listen;           /* host:port of the dashboard, API, /metrics, /healthz */
    long http_threads;           /* threads answering HTTP */
    char *group_prefix;          /* consumer groups are <prefix>-<host>-<pid>-<random> */
    long bucket_s;               /* width of a time bucket of the series */
    long max_buckets;            /* buckets a series shows */
    long max_queries;            /* query records kept before the oldest are folded */
    long recent_queries;         /* queries the cost view lists one by one */
    long seen_max;               /* event ids remembered against duplicates */
    long max_roles;              /* role changes kept for the timeline */
    long learning_min_exemplars; /* samples that make a student's learning moment */
    char *supervisors;           /* comma-separated; "": the models whose role is supervisor */
    double supervisor_price_in;  /* USD per million prompt tokens; < 0: from models */
    double supervisor_price_out; /* USD per million completion tokens; < 0: from models */
    long poll_ms;                /* longest wait of one poll of the log */
    long snapshot_ms;            /* views are recomputed at most this often */
} lyc_monitor_config_t;

extern const lyc_cfg_field_t lyc_monitor_config_table[];

/* Fills *out from the document's `monitor.` section (environment prefix
 * LYCEUM_MONITOR), then resolves the supervisors and their prices from the
 * models list when they are not set. Returns 0, or -1 with the reason in
 * err. Free with lyc_monitor_config_free() either way. */
int lyc_monitor_config_load(lyc_monitor_config_t *out, const lyc_confdoc_t *doc, char *err,
                            size_t errcap);

/* Frees what lyc_monitor_config_load set; accepts a cleared struct. */
void lyc_monitor_config_free(lyc_monitor_config_t *config);

#endif
