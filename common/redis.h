/*
 * redis.h - one blocking connection to one Redis server, for one thread.
 *
 * A thin layer over hiredis that every Lyceum module talking to Redis shares:
 * it parses a redis:// or rediss:// URL, connects with a time-out, makes the
 * TLS handshake for rediss://, authenticates and selects the database, sets a
 * time-out on every command, and replaces a broken connection once before it
 * gives up. Every failure is logged with its reason, so callers only check
 * for NULL / -1.
 *
 * TLS needs hiredis 1.x with hiredis_ssl: the build links it when configured
 * with LYCEUM_HIREDIS_ROOT (deploy/local/redis8.sh --hiredis). A build on
 * Debian 12's hiredis 0.14 refuses rediss:// and says how to get TLS.
 *
 * A lyc_redis_t is never shared between threads: give each thread its own.
 *
 * The process should ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)), as every
 * networked Lyceum service does: hiredis writes with write(2) (or SSL_write),
 * and a write to a connection the server has reset would otherwise kill the
 * process.
 */
#ifndef LYCEUM_REDIS_H
#define LYCEUM_REDIS_H

#include <hiredis/hiredis.h>

#include "secret.h"

#include <stddef.h>

/* The parts of a redis:// or rediss:// URL. Strings are owned by the struct:
 * release them with lyc_redis_url_clear(). */
typedef struct {
    int tls;        /* 1 for rediss:// (TLS), 0 for redis:// */
    char *host;     /* host name, IPv4 or IPv6 address (without brackets) */
    int port;       /* 6379 when the URL names none */
    char *username; /* NULL unless the URL has "user:password@" (Redis 6 ACL) */
    char *password; /* NULL when the URL has none; percent-escapes decoded */
    int db;         /* 0 when the URL names none */
} lyc_redis_url_t;

/* Parses "redis://[[user]:password@]host[:port][/db]" into *url (host may be
 * "[v6addr]"); "rediss://" with the same grammar means TLS. Returns 0, or -1
 * with the reason in errstr (errstr_size bytes, always NUL-terminated) and
 * *url left empty. Nothing is logged.
 *
 * In a build without TLS (lyc_redis_tls_available() is 0) rediss:// is
 * refused with a reason that says how to build with TLS. */
int lyc_redis_url_parse(const char *text, lyc_redis_url_t *url, char *errstr, size_t errstr_size);

/* Frees the strings of a parsed URL and zeroes it; accepts an empty one. */
void lyc_redis_url_clear(lyc_redis_url_t *url);

/* One command: argv[i] is argvlen[i] bytes, binary-safe (argvlen may be NULL
 * for all-text arguments). Used by lyc_redis_pipeline(). */
typedef struct {
    int argc;
    const char **argv;
    const size_t *argvlen;
} lyc_redis_cmd_t;

typedef struct lyc_redis_t lyc_redis_t;

/* Sets where every connection this process makes takes its password
 * from, instead of the URL's (the URL's user name, if any, is kept):
 * redis.password_env or redis.password_file, read at each connect and wiped
 * after AUTH. NULL, or a source naming nothing, goes back to the URL's
 * password. lyc_settings_load calls it; call it before the threads that
 * connect start. Copies the names. Returns 0, or -1 when a name is too long. */
int lyc_redis_set_password_source(const lyc_secret_source_t *src);

/* Where rediss:// connections take their certificates from: the cluster
 * file's redis.tls_* keys. Paths of PEM files; NULL or "" for none. */
typedef struct {
    const char *ca_file;     /* CAs to trust; with ca_dir unset too: the system's store */
    const char *ca_dir;      /* directory of CA certificates (openssl rehash layout) */
    const char *cert_file;   /* client certificate (chain), for mutual TLS */
    const char *key_file;    /* its private key: only ever from a file */
    const char *server_name; /* name sent (SNI) and checked against the server's
                                certificate; NULL or "": the URL's host */
} lyc_redis_tls_t;

/* 1 when this build speaks rediss:// (linked with hiredis_ssl), else 0. */
int lyc_redis_tls_available(void);

/* Sets the certificates of every rediss:// connection this process makes.
 * The files are read at each connect (so a renewed certificate is picked up
 * by the next reconnect); the server's certificate is always verified,
 * chain and name. NULL clears them (the system's CA store, the URL's host).
 * lyc_settings_load calls it; call it before the threads that connect start.
 * Copies the paths. Returns 0, or -1 when a path is too long or only one of
 * cert_file and key_file is set. */
int lyc_redis_set_tls(const lyc_redis_tls_t *tls);

/* Connects to the server the URL names, waiting at most timeout_ms (> 0) to
 * connect and, later, for the TLS handshake and each command's reply; for
 * rediss:// makes the TLS handshake (lyc_redis_set_tls); authenticates,
 * selects the database and checks the server answers PING. Returns NULL (and
 * logs why) on a bad URL or when the server cannot be reached, fails the TLS
 * handshake (a certificate that does not verify or does not name the server,
 * CA or client files that cannot be read, a plain port), refuses the
 * password or the database, or does not answer in time. */
lyc_redis_t *lyc_redis_new(const char *url, int timeout_ms);

/* Closes the connection and frees the object; accepts NULL, nulls *self_p. */
void lyc_redis_destroy(lyc_redis_t **self_p);

/* Sends one command and returns its reply, which the caller frees with
 * freeReplyObject(). Returns NULL (and logs why) when the server cannot be
 * reached or does not answer in time, or when it answers with an error; the
 * error text is then in lyc_redis_error().
 *
 * A connection the server has closed (restart, idle time-out, CLIENT KILL) is
 * replaced before the command is sent (a new connection: for rediss://, a new
 * TLS handshake); when the server closes it while the command is in flight,
 * the command is sent once more on a new connection. A command whose reply
 * times out is never repeated. */
redisReply *lyc_redis_command(lyc_redis_t *self, int argc, const char **argv,
                              const size_t *argvlen);

/* Sends count commands in one round trip (pipelining) and stores their
 * replies in replies[0..count-1], which the caller frees with
 * freeReplyObject(). Returns 0 when every reply arrived, even if some are
 * error replies (type REDIS_REPLY_ERROR: the caller looks at each). Returns -1
 * (and logs why) on a connection failure, with every replies[i] NULL. The
 * reconnect rule of lyc_redis_command() applies to the whole batch, so send
 * non-idempotent batches inside MULTI/EXEC. */
int lyc_redis_pipeline(lyc_redis_t *self, size_t count, const lyc_redis_cmd_t *cmds,
                       redisReply **replies);

/* The last failure's reason (a connection error or the server's error
 * reply); "" when there was none. Valid until the next call on self. */
const char *lyc_redis_error(const lyc_redis_t *self);

/* "host:port" of the server, for log lines. */
const char *lyc_redis_peer(const lyc_redis_t *self);

#endif
