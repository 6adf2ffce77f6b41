/*
 * paths.c - run dir, source dir, binary look-up and file helpers.
 */
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LYC_CLI_SOURCE_DIR
#define LYC_CLI_SOURCE_DIR "."
#endif
#ifndef LYC_CLI_BUILD_DIR
#define LYC_CLI_BUILD_DIR "build"
#endif

#define S_DEFAULT_RUN_DIR "/tmp/lyceum-run"

static const char *s_env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

const char *lyc_paths_run_dir(void)
{
    static char absolute[LYC_PATH_MAX];
    const char *dir = s_env_or("LYCEUM_RUN_DIR", S_DEFAULT_RUN_DIR);
    char cwd[LYC_PATH_MAX];
    if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
        return dir;
    int n = snprintf(absolute, sizeof absolute, "%s/%s", cwd, dir);
    return n > 0 && (size_t) n < sizeof absolute ? absolute : dir;
}

const char *lyc_paths_source_dir(void)
{
    return s_env_or("LYCEUM_SOURCE_DIR", LYC_CLI_SOURCE_DIR);
}

int lyc_paths_join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n > 0 && (size_t) n < cap ? 0 : -1;
}

int lyc_paths_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* 1 when path is a regular file we may execute. */
static int s_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Appends "path" to the list of places tried. */
static void s_note(char *looked, size_t cap, const char *path)
{
    if (!looked || cap == 0)
        return;
    size_t used = strlen(looked);
    if (used + 1 < cap)
        snprintf(looked + used, cap - used, "%s%s", used ? ", " : "", path);
}

/* Tries dir/name; 0 with buf filled when it is an executable. */
static int s_try(const char *dir, const char *name, char *buf, size_t cap, char *looked,
                 size_t looked_cap)
{
    char path[LYC_PATH_MAX];
    if (lyc_paths_join(path, sizeof path, dir, name) != 0)
        return -1;
    s_note(looked, looked_cap, path);
    if (!s_executable(path) || strlen(path) >= cap)
        return -1;
    memcpy(buf, path, strlen(path) + 1);
    return 0;
}

/* The directory of the running binary, or -1. */
static int s_self_dir(char *buf, size_t cap)
{
    char exe[LYC_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    int len = snprintf(buf, cap, "%s", dirname(exe));
    return len > 0 && (size_t) len < cap ? 0 : -1;
}

/* The build tree: beside this binary (../<service>/, ./), then the build dir
 * compiled in (services/<service>/). */
static int s_try_build_tree(const char *service, const char *name, char *buf, size_t cap,
                            char *looked, size_t looked_cap)
{
    char dir[LYC_PATH_MAX], sub[LYC_PATH_MAX];
    if (s_self_dir(dir, sizeof dir) == 0) {
        snprintf(sub, sizeof sub, "%s/../%s", dir, service);
        if (s_try(sub, name, buf, cap, looked, looked_cap) == 0 ||
            s_try(dir, name, buf, cap, looked, looked_cap) == 0)
            return 0;
    }
    snprintf(sub, sizeof sub, "%s/services/%s", LYC_CLI_BUILD_DIR, service);
    return s_try(sub, name, buf, cap, looked, looked_cap);
}

static int s_try_path(const char *name, char *buf, size_t cap, char *looked, size_t looked_cap)
{
    const char *path = getenv("PATH");
    char *copy = path ? strdup(path) : NULL;
    int rc = -1;
    if (!copy)
        return -1;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && rc != 0; dir = strtok_r(NULL, ":", &save))
        rc = s_try(*dir ? dir : ".", name, buf, cap, NULL, 0);
    s_note(looked, looked_cap, "$PATH");
    free(copy);
    return rc;
}

int lyc_paths_find_binary(const char *service, char *buf, size_t cap, char *looked,
                          size_t looked_cap)
{
    char name[128];
    snprintf(name, sizeof name, "lyceum-%s", service);
    if (looked && looked_cap)
        looked[0] = '\0';
    const char *bin_dir = getenv("LYCEUM_BIN_DIR");
    if (bin_dir && *bin_dir && s_try(bin_dir, name, buf, cap, looked, looked_cap) == 0)
        return 0;
    if (s_try_build_tree(service, name, buf, cap, looked, looked_cap) == 0)
        return 0;
    return s_try_path(name, buf, cap, looked, looked_cap);
}

int lyc_paths_mkdirs(const char *path)
{
    char buf[LYC_PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Writes all of data to fd; 0 or -1. */
static int s_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

int lyc_paths_write_file(const char *path, const char *data, size_t len)
{
    char tmp[LYC_PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
    if (n < 0 || (size_t) n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = s_write_all(fd, data, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

char *lyc_paths_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int saved = !buf ? ENOMEM : ferror(f) ? EIO : n > max ? EFBIG : 0;
    fclose(f);
    if (saved) {
        free(buf);
        errno = saved;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
