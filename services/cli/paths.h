/*
 * paths.h - where the lyceum tool finds things on disk, and the small file
 * operations it needs (make a directory tree, write a file atomically, read
 * a bounded file).
 *
 *   run dir      env LYCEUM_RUN_DIR, else /tmp/lyceum-run: the cluster file in
 *                use (cluster.yaml), logs/, pids/, demo/ (the demo data set)
 *   source dir   env LYCEUM_SOURCE_DIR, else the source tree compiled in:
 *                deploy/local/servers.sh lives there
 *   binaries     lyceum-<service>: env LYCEUM_BIN_DIR, then the build tree
 *                (beside this binary: ../<service>/, then the build dir
 *                compiled in), then PATH
 */
#ifndef LYCEUM_CLI_PATHS_H
#define LYCEUM_CLI_PATHS_H

#include <stddef.h>

/* Room for any path the tool builds. */
#define LYC_PATH_MAX 1024

/* The run dir: LYCEUM_RUN_DIR (made absolute) or /tmp/lyceum-run. */
const char *lyc_paths_run_dir(void);

/* The source tree: LYCEUM_SOURCE_DIR or the one compiled in. */
const char *lyc_paths_source_dir(void);

/* Writes "<dir>/<name>" into buf; returns 0, or -1 when it does not fit. */
int lyc_paths_join(char *buf, size_t cap, const char *dir, const char *name);

/* Finds the binary of `service` ("router" -> lyceum-router) as described
 * above. Returns 0 with the path in buf, or -1 when it is nowhere; then
 * `looked` (may be NULL) lists the places tried. */
int lyc_paths_find_binary(const char *service, char *buf, size_t cap, char *looked,
                          size_t looked_cap);

/* mkdir -p path (mode 0755). Returns 0, or -1 with errno set. */
int lyc_paths_mkdirs(const char *path);

/* Writes len bytes to path through a temporary file and a rename, so readers
 * never see half a file. Returns 0, or -1 with errno set. */
int lyc_paths_write_file(const char *path, const char *data, size_t len);

/* Reads the whole file, at most max bytes, NUL-terminated. Returns a new
 * buffer (caller frees) with its length in *len (may be NULL), or NULL with
 * errno set (EFBIG when the file is larger than max). */
char *lyc_paths_read_file(const char *path, size_t max, size_t *len);

/* 1 when path exists, else 0. */
int lyc_paths_exists(const char *path);

#endif
