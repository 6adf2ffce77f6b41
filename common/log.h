/*
 * log.h - one machine-readable line per event.
 *
 * Every line is a JSON object on stderr: time, level, service, trace id,
 * message, and optional key=value fields. The macros test the level before
 * they format anything, so a disabled level costs one comparison.
 */
#ifndef LYCEUM_LOG_H
#define LYCEUM_LOG_H

#include <stdarg.h>

typedef enum {
    LYC_LOG_DEBUG = 0,
    LYC_LOG_INFO = 1,
    LYC_LOG_WARN = 2,
    LYC_LOG_ERROR = 3,
    LYC_LOG_OFF = 4
} lyc_log_level_t;

/* Names the service on every line (e.g. "router") and sets the lowest level
 * written. Call once at start; the name is copied. */
void lyc_log_init(const char *service, lyc_log_level_t level);

/* Parses "debug", "info", "warn", "error" or "off"; returns -1 for anything else. */
int lyc_log_level_parse(const char *name, lyc_log_level_t *level);

/* Current threshold; lines below it are not written. */
extern lyc_log_level_t lyc_log_threshold;

/* Writes one line. trace may be NULL. Use the macros below instead. */
void lyc_log_write(lyc_log_level_t level, const char *trace, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LYC_LOG(level, trace, ...)                                                                 \
    do {                                                                                           \
        if ((level) >= lyc_log_threshold)                                                          \
            lyc_log_write((level), (trace), __VA_ARGS__);                                          \
    } while (0)

#define LYC_DEBUG(trace, ...) LYC_LOG(LYC_LOG_DEBUG, trace, __VA_ARGS__)
#define LYC_INFO(trace, ...)  LYC_LOG(LYC_LOG_INFO, trace, __VA_ARGS__)
#define LYC_WARN(trace, ...)  LYC_LOG(LYC_LOG_WARN, trace, __VA_ARGS__)
#define LYC_ERROR(trace, ...) LYC_LOG(LYC_LOG_ERROR, trace, __VA_ARGS__)

#endif
