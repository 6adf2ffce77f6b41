/*
 * secret.h - passwords read from an environment variable or a file, never
 * from the cluster file.
 *
 * The cluster file names where a secret is kept, not the secret: a setting
 * `*_password_env` names an environment variable, `*_password_file` a file
 * (e.g. a mounted Kubernetes secret). Secrets are read when a connection is
 * made, so the next connection picks up a rotated file, and wiped from
 * memory after use. Messages name the setting and the variable or file,
 * never the value; nothing here logs.
 */
#ifndef LYCEUM_SECRET_H
#define LYCEUM_SECRET_H

#include <stddef.h>

/* Longest secret file read (bytes). */
#define LYC_SECRET_MAX 4096

/* Where one secret is kept: an environment variable or a file (at most one). */
typedef struct {
    const char *env_key;  /* the setting naming the variable, e.g. "redis.password_env" */
    const char *env;      /* the variable's name; NULL or "" for none */
    const char *file_key; /* the setting naming the file, e.g. "redis.password_file" */
    const char *file;     /* the file's path; NULL or "" for none */
} lyc_secret_source_t;

/* 1 when the source names a variable or a file. */
int lyc_secret_configured(const lyc_secret_source_t *src);

/* Checks the source without reading it: at most one of env and file, and a
 * variable name of letters, digits and '_'. Returns 0, or -1 with the reason
 * in err. */
int lyc_secret_check(const lyc_secret_source_t *src, char *err, size_t errcap);

/* Reads the secret: the variable's value, or the file's content without its
 * final line end (one line, at most LYC_SECRET_MAX bytes). Returns 1 with a
 * new string in *out (release it with lyc_secret_free), 0 when the source
 * names nothing (*out NULL), or -1 with the reason in err: the variable is
 * unset or empty, the file cannot be read, is empty or holds more than one
 * line. */
int lyc_secret_read(const lyc_secret_source_t *src, char **out, char *err, size_t errcap);

/* Wipes and frees a secret; accepts NULL and *secret_p NULL; nulls *secret_p. */
void lyc_secret_free(char **secret_p);

#endif
