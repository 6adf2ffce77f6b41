/*
 * secret.c - passwords from an environment variable or a file.
 */
#define _GNU_SOURCE /* explicit_bzero, strnlen */

#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_set(const char *value)
{
    return value && *value;
}

int lyc_secret_configured(const lyc_secret_source_t *src)
{
    return src && (s_set(src->env) || s_set(src->file));
}

int lyc_secret_check(const lyc_secret_source_t *src, char *err, size_t errcap)
{
    if (s_set(src->env) && s_set(src->file)) {
        snprintf(err, errcap, "%s and %s are both set: set one", src->env_key, src->file_key);
        return -1;
    }
    for (const char *p = s_set(src->env) ? src->env : ""; *p; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_') {
            snprintf(err, errcap,
                     "%s: '%s' is not an environment variable name (letters, digits, '_')",
                     src->env_key, src->env);
            return -1;
        }
    }
    return 0;
}

static int s_from_env(const lyc_secret_source_t *src, char **out, char *err, size_t errcap)
{
    const char *value = getenv(src->env);
    if (!value || !*value) {
        snprintf(err, errcap, "%s: environment variable %s is %s", src->env_key, src->env,
                 value ? "empty" : "not set");
        return -1;
    }
    if (!(*out = strdup(value))) {
        snprintf(err, errcap, "%s: out of memory", src->env_key);
        return -1;
    }
    return 1;
}

/* Reads all of fd (a regular file of at most LYC_SECRET_MAX bytes) into a
 * new string; NULL with the reason in err. */
static char *s_slurp(int fd, const lyc_secret_source_t *src, char *err, size_t errcap)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > LYC_SECRET_MAX) {
        snprintf(err, errcap, "%s: '%s' is not a regular file of at most %d bytes", src->file_key,
                 src->file, LYC_SECRET_MAX);
        return NULL;
    }
    char *buf = calloc(1, (size_t) st.st_size + 1);
    if (!buf) {
        snprintf(err, errcap, "%s: out of memory", src->file_key);
        return NULL;
    }
    size_t len = 0;
    while (len < (size_t) st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t) st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errcap, "%s: cannot read '%s': %s", src->file_key, src->file,
                     n < 0 ? strerror(errno) : "it shrank while being read");
            explicit_bzero(buf, len);
            free(buf);
            return NULL;
        }
        len += (size_t) n;
    }
    return buf;
}

static int s_from_file(const lyc_secret_source_t *src, char **out, char *err, size_t errcap)
{
    int fd = open(src->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errcap, "%s: cannot open '%s': %s", src->file_key, src->file,
                 strerror(errno));
        return -1;
    }
    char *text = s_slurp(fd, src, err, errcap);
    close(fd);
    if (!text)
        return -1;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    const char *why = len == 0             ? "is empty"
                      : strchr(text, '\n') ? "holds more than one line"
                                           : NULL;
    if (why) {
        snprintf(err, errcap, "%s: '%s' %s", src->file_key, src->file, why);
        lyc_secret_free(&text);
        return -1;
    }
    *out = text;
    return 1;
}

int lyc_secret_read(const lyc_secret_source_t *src, char **out, char *err, size_t errcap)
{
    *out = NULL;
    if (lyc_secret_check(src, err, errcap) != 0)
        return -1;
    if (s_set(src->env))
        return s_from_env(src, out, err, errcap);
    if (s_set(src->file))
        return s_from_file(src, out, err, errcap);
    return 0;
}

void lyc_secret_free(char **secret_p)
{
    if (!secret_p || !*secret_p)
        return;
    explicit_bzero(*secret_p, strlen(*secret_p));
    free(*secret_p);
    *secret_p = NULL;
}
