/*
 * fsutil.h - the few file operations the trainer's data sets need: safe
 * path parts from model and domain names, directories, appended lines,
 * copies.
 */
#ifndef LYCEUM_TRAINER_FSUTIL_H
#define LYCEUM_TRAINER_FSUTIL_H

#include <stddef.h>

/* Writes name as one safe path component into out (cap bytes): bytes other
 * than [A-Za-z0-9._-] become '_', and a leading '.' becomes '_' (so "..",
 * "/" or "a/b" can never leave the data directory). */
void lyc_fs_safe_name(char *out, size_t cap, const char *name);

/* mkdir -p path (mode 0755). Returns 0 or -1 (logged). */
int lyc_fs_mkdirs(const char *path);

/* Appends line and a newline to path in one write (O_APPEND), creating the
 * file and its directory. Returns 0 or -1 (logged). */
int lyc_fs_append_line(const char *path, const char *line);

/* Copies src to dst; a missing src makes an empty dst. Returns the number of
 * lines copied, or -1 (logged). */
long lyc_fs_copy(const char *src, const char *dst);

/* 1 when path names an existing regular file. */
int lyc_fs_exists(const char *path);

/* The whole file as a NUL-terminated string (caller frees), its size in
 * *len when not NULL; NULL (logged) when it cannot be read or is larger
 * than max bytes. */
char *lyc_fs_read(const char *path, size_t max, size_t *len);

#endif
