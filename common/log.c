/*
 * log.c - JSON-lines logging to stderr.
 *
 * One write(2) per line so lines from several threads never interleave.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

lyc_log_level_t lyc_log_threshold = LYC_LOG_INFO;
static char s_service[64] = "lyceum";

static const char *s_level_names[] = {"debug", "info", "warn", "error", "off"};

void lyc_log_init(const char *service, lyc_log_level_t level)
{
    if (service)
        snprintf(s_service, sizeof s_service, "%s", service);
    lyc_log_threshold = level;
}

int lyc_log_level_parse(const char *name, lyc_log_level_t *level)
{
    for (int i = 0; i <= LYC_LOG_OFF; i++) {
        if (name && strcasecmp(name, s_level_names[i]) == 0) {
            *level = (lyc_log_level_t) i;
            return 0;
        }
    }
    return -1;
}

/* Appends src to buf as JSON string content, escaping what JSON requires.
 * Returns the new length; never writes past cap - 1. */
static size_t s_escape(char *buf, size_t len, size_t cap, const char *src)
{
    for (const unsigned char *p = (const unsigned char *) src; *p && len + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char) *p;
        } else if (*p < 0x20) {
            len += (size_t) snprintf(buf + len, cap - len, "\\u%04x", *p);
        } else {
            buf[len++] = (char) *p;
        }
    }
    return len;
}

void lyc_log_write(lyc_log_level_t level, const char *trace, const char *fmt, ...)
{
    char msg[2048];
    char line[4096];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t len =
        (size_t) snprintf(line, sizeof line,
                          "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
                          "\"level\":\"%s\",\"svc\":\"",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, ts.tv_nsec / 1000000, s_level_names[level]);
    len = s_escape(line, len, sizeof line, s_service);
    if (trace && *trace) {
        len += (size_t) snprintf(line + len, sizeof line - len, "\",\"trace\":\"");
        len = s_escape(line, len, sizeof line, trace);
    }
    len += (size_t) snprintf(line + len, sizeof line - len, "\",\"msg\":\"");
    len = s_escape(line, len, sizeof line, msg);
    if (len + 3 >= sizeof line)
        len = sizeof line - 3;
    line[len++] = '"';
    line[len++] = '}';
    line[len++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void) rc; /* nowhere left to report a failed log write */
}
