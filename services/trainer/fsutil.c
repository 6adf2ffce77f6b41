/*
 * fsutil.c - small, checked file operations.
 */
#include "fsutil.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void lyc_fs_safe_name(char *out, size_t cap, const char *name)
{
    size_t i = 0;
    for (const char *p = name ? name : ""; *p && i + 1 < cap; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '.' && i > 0);
        out[i++] = ok ? c : '_';
    }
    if (i == 0 && cap > 1)
        out[i++] = '_';
    if (cap > 0)
        out[i] = '\0';
}

int lyc_fs_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int) sizeof buf) {
        LYC_ERROR(NULL, "trainer: path too long: %.100s...", path);
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            goto out_fail;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        goto out_fail;
    return 0;
out_fail:
    LYC_ERROR(NULL, "trainer: cannot create directory %s: %s", buf, strerror(errno));
    return -1;
}

/* The directory part of path into dir; 0, or -1 when it has none. */
static int s_dirname(char *dir, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || (size_t) (slash - path) >= cap)
        return -1;
    memcpy(dir, path, (size_t) (slash - path));
    dir[slash - path] = '\0';
    return 0;
}

int lyc_fs_append_line(const char *path, const char *line)
{
    char dir[4096];
    if (s_dirname(dir, sizeof dir, path) == 0 && lyc_fs_mkdirs(dir) != 0)
        return -1;
    size_t len = strlen(line);
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int rc = -1;
    if (fd < 0) {
        LYC_ERROR(NULL, "trainer: cannot open %s: %s", path, strerror(errno));
        goto out_free;
    }
    ssize_t n = write(fd, buf, len + 1);
    if (n != (ssize_t) (len + 1))
        LYC_ERROR(NULL, "trainer: short write to %s: %s", path, strerror(errno));
    else
        rc = 0;
    close(fd);
out_free:
    free(buf);
    return rc;
}

long lyc_fs_copy(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    FILE *out = fopen(dst, "wb");
    long lines = -1;
    if (!out) {
        LYC_ERROR(NULL, "trainer: cannot create %s: %s", dst, strerror(errno));
        goto out_close;
    }
    lines = 0;
    char buf[65536];
    size_t n;
    while (in && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        if (fwrite(buf, 1, n, out) != n) {
            LYC_ERROR(NULL, "trainer: cannot write %s: %s", dst, strerror(errno));
            lines = -1;
            break;
        }
    }
out_close:
    if (in)
        fclose(in);
    if (out && fclose(out) != 0 && lines >= 0) {
        LYC_ERROR(NULL, "trainer: cannot write %s: %s", dst, strerror(errno));
        lines = -1;
    }
    return lines;
}

int lyc_fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *lyc_fs_read(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        LYC_WARN(NULL, "trainer: cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = !buf || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        LYC_WARN(NULL, "trainer: %s is unreadable or larger than %zu bytes", path, max);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
