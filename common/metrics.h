/*
 * metrics.h - counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format 0.0.4.
 *
 * A registry holds metric families; a family has a name, a help line, a
 * type and a fixed list of label names, declared once ("model,domain").
 * Each update passes the label values in that order, as an array; a new
 * combination of values creates its series on first use. Values are escaped
 * when rendered (backslash, double quote, newline), so any string, even one
 * from a user, is a safe label value.
 *
 * Names follow Prometheus: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]* and may not start with "__"
 * (reserved); "le" is reserved on histograms. Lyceum's convention is
 * lyceum_<service>_<what>_<unit>, counters ending in _total:
 * lyceum_router_requests_total, lyceum_worker_call_seconds.
 *
 * Thread-safe: any thread may update or render at any time. Each family has
 * its own mutex, so updates to different metrics never contend; an update
 * is one hash lookup under that mutex.
 *
 * Families and their series live as long as the registry; the family
 * handles returned below are owned by the registry and stay valid until
 * lyc_metrics_destroy().
 */
#ifndef LYCEUM_METRICS_H
#define LYCEUM_METRICS_H

#include <stddef.h>

typedef struct lyc_metrics_t lyc_metrics_t;
typedef struct lyc_counter_t lyc_counter_t;
typedef struct lyc_gauge_t lyc_gauge_t;
typedef struct lyc_histogram_t lyc_histogram_t;

/* Bucket upper bounds used when a histogram is declared without its own:
 * request latencies in seconds, 0.5 ms to 30 s. */
#define LYC_METRICS_LATENCY_BUCKETS                                                                \
    {                                                                                              \
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30         \
    }

/* Creates an empty registry; NULL (logged) when out of memory. The caller
 * owns it and frees it with lyc_metrics_destroy(). */
lyc_metrics_t *lyc_metrics_new(void);

/* Frees the registry with all its families and sets *self_p to NULL;
 * accepts NULL and *self_p NULL. No other thread may still be using it. */
void lyc_metrics_destroy(lyc_metrics_t **self_p);

/* Declares a counter (a value that only goes up). label_names is a
 * comma-separated list ("model,domain"), or NULL or "" for none. Declaring
 * the same name again with the same type, help and labels returns the same
 * family, so modules may declare what they use; a clash (another type,
 * help or label list) or a bad name returns NULL and logs why. A family
 * without labels shows a zero sample until first updated. */
lyc_counter_t *lyc_metrics_counter(lyc_metrics_t *self, const char *name, const char *help,
                                   const char *label_names);

/* Declares a gauge (a value that goes up and down); as lyc_metrics_counter(). */
lyc_gauge_t *lyc_metrics_gauge(lyc_metrics_t *self, const char *name, const char *help,
                               const char *label_names);

/* Declares a histogram with the given bucket upper bounds (finite, strictly
 * increasing; +Inf is implicit). buckets NULL (and nbuckets 0) means
 * LYC_METRICS_LATENCY_BUCKETS. The bounds are copied. Otherwise as
 * lyc_metrics_counter(); a redeclaration must repeat the same bounds. */
lyc_histogram_t *lyc_metrics_histogram(lyc_metrics_t *self, const char *name, const char *help,
                                       const char *label_names, const double *buckets,
                                       size_t nbuckets);

/* Adds value (finite, >= 0) to the series with these label values: an
 * array with exactly one string per declared label name, in order (NULL
 * when the family has no labels). Returns 0, or -1 (logged) for a negative
 * or non-finite value, a NULL label value or no memory. */
int lyc_counter_add(lyc_counter_t *c, const char *const *label_values, double value);

/* Sets the gauge series to value (finite). Returns 0 or -1 (logged). */
int lyc_gauge_set(lyc_gauge_t *g, const char *const *label_values, double value);

/* Adds delta (finite, any sign) to the gauge series. Returns 0 or -1 (logged). */
int lyc_gauge_add(lyc_gauge_t *g, const char *const *label_values, double delta);

/* Counts one observation (not NaN) in the histogram series: the first bucket
 * whose bound is >= value, the sum and the count. Returns 0 or -1 (logged). */
int lyc_histogram_observe(lyc_histogram_t *h, const char *const *label_values, double value);

/* The whole registry in the text format 0.0.4: for each family, in the order
 * declared, "# HELP" and "# TYPE" lines, then its series sorted by their
 * label text; histograms as cumulative _bucket{le="..."} lines ending with
 * le="+Inf", then _sum and _count. Numbers print in the shortest form that
 * reads back exactly ("1", "0.25", "1e-05", "+Inf", "NaN").
 * Returns a NUL-terminated string the caller frees with free(), or NULL
 * (logged) when out of memory. */
char *lyc_metrics_render(lyc_metrics_t *self);

#endif
