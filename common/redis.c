/*
 * redis.c - a blocking hiredis connection with time-outs, TLS and one
 * reconnect.
 *
 * The connection is opened eagerly (so a wrong URL fails at start, not at the
 * first query) and replaced lazily: before each command a zero-time poll(2)
 * tells whether the server has closed the socket since the last reply, which
 * catches restarts and idle time-outs without sending anything twice. Only a
 * connection that breaks while a command is in flight costs a retry. Every
 * new connection, first or replacement, reads the password and, for
 * rediss://, the TLS files again and makes its own handshake.
 *
 * TLS is hiredis_ssl on an OpenSSL context of our own (redisInitiateSSL):
 * hiredis' redisCreateSSLContext sends the server name (SNI) but never checks
 * it against the certificate, so any certificate the CA signed would pass.
 * The TLS part is the one block under LYC_REDIS_HAVE_TLS; without it (Debian's
 * hiredis 0.14) rediss:// is refused when the URL is parsed.
 */
#define _GNU_SOURCE /* asprintf, open_memstream, POLLRDHUP, strndup */

#include "redis.h"

#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef LYC_REDIS_HAVE_TLS
#include <hiredis/hiredis_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#define LYC_REDIS_DEFAULT_PORT 6379
#define LYC_REDIS_SCHEME       "redis://"
#define LYC_REDIS_TLS_SCHEME   "rediss://"
#define LYC_REDIS_MAX_DB       1000000
#define LYC_REDIS_ATTEMPTS     2 /* the first try and one reconnect */

struct lyc_redis_t {
    lyc_redis_url_t url;
    struct timeval timeout;
    redisContext *ctx; /* NULL while disconnected */
    char *peer;        /* "host:port" */
    char error[512];   /* last failure, truncated to fit */
};

/* ------------------------------------------------------------------------ */
/* URL parsing                                                               */

static int s_fail(char *errstr, size_t errstr_size, const char *reason)
{
    if (errstr && errstr_size > 0)
        snprintf(errstr, errstr_size, "%s", reason);
    return -1;
}

static int s_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Copies len bytes of src, decoding %XX escapes. Returns a new string, or
 * NULL on a malformed escape, an escaped NUL or no memory. */
static char *s_percent_decode(const char *src, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '%') {
            out[n++] = src[i];
            continue;
        }
        int hi = i + 2 < len ? s_hex_value((unsigned char) src[i + 1]) : -1;
        int lo = i + 2 < len ? s_hex_value((unsigned char) src[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[n++] = (char) (hi * 16 + lo);
        i += 2;
    }
    out[n] = '\0';
    return out;
}

/* Parses a decimal number of len bytes in [min, max]; returns -1 if it is not. */
static long s_parse_number(const char *s, size_t len, long min, long max)
{
    long value = 0;
    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char) s[i]))
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value >= min && value <= max ? value : -1;
}

/* "[user]:password" -> url->username, url->password. */
static int s_parse_userinfo(const char *s, size_t len, lyc_redis_url_t *url, char *errstr,
                            size_t errstr_size)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return s_fail(errstr, errstr_size, "credentials must be ':password@' or 'user:password@'");
    size_t user_len = (size_t) (colon - s);
    if (user_len > 0) {
        url->username = s_percent_decode(s, user_len);
        if (!url->username)
            return s_fail(errstr, errstr_size, "bad %-escape in the user name");
    }
    url->password = s_percent_decode(colon + 1, len - user_len - 1);
    if (!url->password)
        return s_fail(errstr, errstr_size, "bad %-escape in the password");
    return 0;
}

/* "host[:port]" or "[v6addr][:port]" -> url->host, url->port. */
static int s_parse_hostport(const char *s, size_t len, lyc_redis_url_t *url, char *errstr,
                            size_t errstr_size)
{
    const char *host = s;
    size_t host_len;
    const char *rest;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return s_fail(errstr, errstr_size, "unterminated '[' in the host");
        host = s + 1;
        host_len = (size_t) (close - host);
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        host_len = colon ? (size_t) (colon - s) : len;
        rest = s + host_len;
    }
    size_t rest_len = len - (size_t) (rest - s);
    if (host_len == 0)
        return s_fail(errstr, errstr_size, "the URL names no host");
    url->port = LYC_REDIS_DEFAULT_PORT;
    if (rest_len > 0) {
        long port = rest[0] == ':' ? s_parse_number(rest + 1, rest_len - 1, 1, 65535) : -1;
        if (port < 0)
            return s_fail(errstr, errstr_size, "the port must be a number in 1..65535");
        url->port = (int) port;
    }
    url->host = strndup(host, host_len);
    if (!url->host)
        return s_fail(errstr, errstr_size, "out of memory");
    return 0;
}

/* "" or "/" or "/<db>" -> url->db. */
static int s_parse_path(const char *s, lyc_redis_url_t *url, char *errstr, size_t errstr_size)
{
    url->db = 0;
    if (s[0] == '\0' || strcmp(s, "/") == 0)
        return 0;
    long db = s_parse_number(s + 1, strlen(s + 1), 0, LYC_REDIS_MAX_DB);
    if (db < 0)
        return s_fail(errstr, errstr_size, "the path must be '/<database number>'");
    url->db = (int) db;
    return 0;
}

int lyc_redis_url_parse(const char *text, lyc_redis_url_t *url, char *errstr, size_t errstr_size)
{
    memset(url, 0, sizeof *url);
    size_t scheme_len = 0;
    if (text && strncasecmp(text, LYC_REDIS_SCHEME, strlen(LYC_REDIS_SCHEME)) == 0)
        scheme_len = strlen(LYC_REDIS_SCHEME);
    else if (text && strncasecmp(text, LYC_REDIS_TLS_SCHEME, strlen(LYC_REDIS_TLS_SCHEME)) == 0)
        scheme_len = strlen(LYC_REDIS_TLS_SCHEME);
    if (scheme_len == 0)
        return s_fail(errstr, errstr_size, "the URL must start with redis:// or rediss://");
    int tls = scheme_len == strlen(LYC_REDIS_TLS_SCHEME);
    if (tls && !lyc_redis_tls_available())
        return s_fail(errstr, errstr_size,
                      "rediss:// (TLS) is not supported by this build: it links Debian 12's "
                      "hiredis 0.14, which has no TLS; configure it with -DLYCEUM_HIREDIS_ROOT="
                      "$(bash deploy/local/redis8.sh --hiredis)");
    url->tls = tls;
    const char *authority = text + scheme_len;
    const char *path = authority + strcspn(authority, "/?#");
    if (*path == '?' || *path == '#')
        return s_fail(errstr, errstr_size, "query strings and fragments are not supported");

    /* The last '@' ends the credentials, so an unescaped '@' in a password works. */
    const char *at = NULL;
    for (const char *p = authority; p < path; p++)
        if (*p == '@')
            at = p;
    const char *hostport = at ? at + 1 : authority;
    if (at && s_parse_userinfo(authority, (size_t) (at - authority), url, errstr, errstr_size))
        goto out_clear;
    if (s_parse_hostport(hostport, (size_t) (path - hostport), url, errstr, errstr_size))
        goto out_clear;
    if (s_parse_path(path, url, errstr, errstr_size))
        goto out_clear;
    return 0;

out_clear:
    lyc_redis_url_clear(url);
    return -1;
}

void lyc_redis_url_clear(lyc_redis_url_t *url)
{
    if (!url)
        return;
    free(url->host);
    free(url->username);
    if (url->password)
        explicit_bzero(url->password, strlen(url->password));
    free(url->password);
    memset(url, 0, sizeof *url);
}

/* ------------------------------------------------------------------------ */
/* The process's password source                                            */

static struct {
    pthread_mutex_t lock;
    char env[256];   /* redis.password_env, "" for none */
    char file[4096]; /* redis.password_file, "" for none */
} s_password = {.lock = PTHREAD_MUTEX_INITIALIZER};

int lyc_redis_set_password_source(const lyc_secret_source_t *src)
{
    const char *env = src && src->env ? src->env : "";
    const char *file = src && src->file ? src->file : "";
    if (strlen(env) >= sizeof s_password.env || strlen(file) >= sizeof s_password.file)
        return -1;
    pthread_mutex_lock(&s_password.lock);
    snprintf(s_password.env, sizeof s_password.env, "%s", env);
    snprintf(s_password.file, sizeof s_password.file, "%s", file);
    pthread_mutex_unlock(&s_password.lock);
    return 0;
}

/* Reads the password from the process's source: 1 with *out, 0 when there
 * is no source, -1 with the reason in err. */
static int s_password_read(char **out, char *err, size_t errcap)
{
    char env[sizeof s_password.env], file[sizeof s_password.file];
    pthread_mutex_lock(&s_password.lock);
    memcpy(env, s_password.env, sizeof env);
    memcpy(file, s_password.file, sizeof file);
    pthread_mutex_unlock(&s_password.lock);
    lyc_secret_source_t src = {"redis.password_env", env, "redis.password_file", file};
    return lyc_secret_read(&src, out, err, errcap);
}

/* ------------------------------------------------------------------------ */
/* The process's TLS files                                                  */

#define LYC_REDIS_TLS_PATH_MAX 4096

/* The redis.tls_* settings; "" for none. */
typedef struct {
    char ca_file[LYC_REDIS_TLS_PATH_MAX];
    char ca_dir[LYC_REDIS_TLS_PATH_MAX];
    char cert_file[LYC_REDIS_TLS_PATH_MAX];
    char key_file[LYC_REDIS_TLS_PATH_MAX];
    char server_name[256];
} s_tls_files_t;

static struct {
    pthread_mutex_t lock;
    s_tls_files_t files;
} s_tls = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Copies src (NULL: "") into dst of cap bytes; -1 when it does not fit. */
static int s_copy_setting(char *dst, size_t cap, const char *src)
{
    src = src ? src : "";
    if (strlen(src) >= cap)
        return -1;
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

int lyc_redis_set_tls(const lyc_redis_tls_t *tls)
{
    lyc_redis_tls_t none = {0};
    s_tls_files_t next;
    tls = tls ? tls : &none;
    int has_cert = tls->cert_file && *tls->cert_file;
    int has_key = tls->key_file && *tls->key_file;
    if (has_cert != has_key)
        return -1;
    if (s_copy_setting(next.ca_file, sizeof next.ca_file, tls->ca_file) ||
        s_copy_setting(next.ca_dir, sizeof next.ca_dir, tls->ca_dir) ||
        s_copy_setting(next.cert_file, sizeof next.cert_file, tls->cert_file) ||
        s_copy_setting(next.key_file, sizeof next.key_file, tls->key_file) ||
        s_copy_setting(next.server_name, sizeof next.server_name, tls->server_name))
        return -1;
    pthread_mutex_lock(&s_tls.lock);
    s_tls.files = next;
    pthread_mutex_unlock(&s_tls.lock);
    return 0;
}

/* 1 when a client certificate is set (redis.tls_cert_file). */
static int s_tls_has_client_cert(void)
{
    pthread_mutex_lock(&s_tls.lock);
    int set = s_tls.files.cert_file[0] != '\0';
    pthread_mutex_unlock(&s_tls.lock);
    return set;
}

#ifdef LYC_REDIS_HAVE_TLS

int lyc_redis_tls_available(void)
{
    return 1;
}

/* A copy of the settings, taken under their lock, for one connect. */
static void s_tls_snapshot(s_tls_files_t *out)
{
    pthread_mutex_lock(&s_tls.lock);
    *out = s_tls.files;
    pthread_mutex_unlock(&s_tls.lock);
}

/* Forgets this thread's OpenSSL errors (libcurl shares the queue), so that
 * the next failure reads its own. */
static void s_tls_clear_errors(void)
{
    ERR_clear_error();
}

/* The oldest OpenSSL error of this thread's queue as text, and clears the
 * queue; "unknown error" when it is empty. */
static const char *s_ssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "unknown error";
    const char *reason = ERR_reason_error_string(e);
    if (reason)
        snprintf(buf, cap, "%s", reason);
    else
        ERR_error_string_n(e, buf, cap);
    return buf;
}

/* The reason OpenSSL gives for the last failed read or write (an alert from
 * the server, e.g. "tlsv13 alert certificate required"), or NULL if none. */
static const char *s_tls_error(char *buf, size_t cap)
{
    return ERR_peek_error() ? s_ssl_reason(buf, cap) : NULL;
}

/* 0 when the file the setting names can be read, else -1 with the reason. */
static int s_tls_readable(const char *key, const char *path, char *err, size_t errcap)
{
    if (access(path, R_OK) == 0)
        return 0;
    snprintf(err, errcap, "TLS: %s '%s': %s", key, path, strerror(errno));
    return -1;
}

/* Loads the trusted CAs: ca_file and/or ca_dir, else the system's store. */
static int s_tls_load_cas(SSL_CTX *ctx, const s_tls_files_t *t, char *err, size_t errcap)
{
    char why[256];
    const char *file = *t->ca_file ? t->ca_file : NULL;
    const char *dir = *t->ca_dir ? t->ca_dir : NULL;
    if (!file && !dir) {
        if (SSL_CTX_set_default_verify_paths(ctx) == 1)
            return 0;
        snprintf(err, errcap, "TLS: cannot load the system's CA store: %s",
                 s_ssl_reason(why, sizeof why));
        return -1;
    }
    if ((file && s_tls_readable("redis.tls_ca_file", file, err, errcap)) ||
        (dir && s_tls_readable("redis.tls_ca_dir", dir, err, errcap)))
        return -1;
    if (SSL_CTX_load_verify_locations(ctx, file, dir) == 1)
        return 0;
    snprintf(err, errcap, "TLS: no CA certificate loaded from %s '%s': %s",
             file ? "redis.tls_ca_file" : "redis.tls_ca_dir", file ? file : dir,
             s_ssl_reason(why, sizeof why));
    return -1;
}

/* Loads the client certificate and its key (mutual TLS), when set. */
static int s_tls_load_client(SSL_CTX *ctx, const s_tls_files_t *t, char *err, size_t errcap)
{
    char why[256];
    if (!*t->cert_file)
        return 0;
    if (s_tls_readable("redis.tls_cert_file", t->cert_file, err, errcap) ||
        s_tls_readable("redis.tls_key_file", t->key_file, err, errcap))
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        snprintf(err, errcap, "TLS: redis.tls_cert_file '%s': %s", t->cert_file,
                 s_ssl_reason(why, sizeof why));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errcap, "TLS: redis.tls_key_file '%s': %s", t->key_file,
                 s_ssl_reason(why, sizeof why));
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errcap, "TLS: redis.tls_key_file '%s' is not the key of '%s': %s",
                 t->key_file, t->cert_file, s_ssl_reason(why, sizeof why));
        return -1;
    }
    return 0;
}

/* A client context from the files: TLS 1.2 or later, the server's
 * certificate always verified. An end of stream without close_notify reads
 * as a closed connection (REDIS_ERR_EOF), which the reconnect rule needs:
 * a restarting server often just closes; RESP replies carry their lengths, so
 * a cut reply is still noticed. NULL with the reason in err. */
static SSL_CTX *s_tls_context(const s_tls_files_t *t, char *err, size_t errcap)
{
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errcap, "TLS: cannot create a context: %s", s_ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (s_tls_load_cas(ctx, t, err, errcap) || s_tls_load_client(ctx, t, err, errcap)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Makes the handshake check that the certificate names `name`: an IP
 * address must be in its IP SANs, a host name match a DNS SAN (or the CN),
 * and a host name is also sent as SNI (an IP address never is, RFC 6066). */
static int s_tls_expect_name(SSL *ssl, const char *name)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 ? 0 : -1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, name) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1)
        return -1;
    return 0;
}

/* What to change when the server's certificate is refused for verify code v. */
static const char *s_tls_verify_hint(long v)
{
    switch (v) {
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return " (not signed by a CA trusted here: redis.tls_ca_file or redis.tls_ca_dir, "
               "else the system's)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return " (connect by a name it holds, or set redis.tls_server_name)";
    default:
        return "";
    }
}

/* The TLS handshake on the fresh connection ctx to host: on success hiredis
 * owns the SSL object and every later read and write is encrypted. The
 * socket's time-outs bound the handshake. Returns 0, or -1 with the reason
 * in err (a certificate refused says why, e.g. "hostname mismatch"). */
static int s_tls_start(redisContext *ctx, const char *host, long timeout_ms, char *err,
                       size_t errcap)
{
    SSL *ssl = NULL;
    int rc = -1;
    s_tls_files_t *t = malloc(sizeof *t); /* 16 kB: kept off small thread stacks */
    if (!t) {
        snprintf(err, errcap, "TLS: out of memory");
        return -1;
    }
    s_tls_snapshot(t);
    const char *name = *t->server_name ? t->server_name : host;
    SSL_CTX *ssl_ctx = s_tls_context(t, err, errcap);
    if (!ssl_ctx)
        goto out_free_files;
    ssl = SSL_new(ssl_ctx);
    SSL_CTX_free(ssl_ctx); /* the SSL object holds its own reference */
    if (!ssl) {
        snprintf(err, errcap, "TLS: cannot create a connection: out of memory");
        goto out_free_files;
    }
    if (s_tls_expect_name(ssl, name)) {
        snprintf(err, errcap, "TLS: cannot check the server's name '%s'", name);
        goto out_free_ssl;
    }
    ERR_clear_error();
    int ok = redisInitiateSSL(ctx, ssl) == REDIS_OK;
    int saved_errno = errno;
    if (ok) {
        rc = 0;
        ERR_clear_error();
        goto out_free_files; /* hiredis frees the SSL object with the context */
    }
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
        snprintf(err, errcap, "TLS handshake: the server's certificate is refused for '%s': %s%s",
                 name, X509_verify_cert_error_string(verify), s_tls_verify_hint(verify));
    else if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
        snprintf(err, errcap, "TLS handshake: no answer within %ld ms (is it a TLS port?)",
                 timeout_ms);
    else
        snprintf(err, errcap, "TLS handshake: %s", ctx->errstr);
    ERR_clear_error();

out_free_ssl:
    SSL_free(ssl);
out_free_files:
    free(t);
    return rc;
}

#else /* no hiredis_ssl: lyc_redis_url_parse refuses rediss://, so no TLS connect is tried */

int lyc_redis_tls_available(void)
{
    return 0;
}

static int s_tls_start(redisContext *ctx, const char *host, long timeout_ms, char *err,
                       size_t errcap)
{
    snprintf(err, errcap, "TLS: this build has no TLS (hiredis 0.14)");
    return -1;
}

static void s_tls_clear_errors(void)
{
}

static const char *s_tls_error(char *buf, size_t cap)
{
    return NULL;
}

#endif

/* ------------------------------------------------------------------------ */
/* Connection                                                                */

/* Length of argument i, at most max bytes, for log lines. */
static int s_arg_len(const lyc_redis_cmd_t *cmd, int i, size_t max)
{
    size_t len = cmd->argvlen ? cmd->argvlen[i] : strlen(cmd->argv[i]);
    return (int) (len < max ? len : max);
}

/* "NAME key" for log lines: the command and its first argument (usually the
 * key), both truncated; never the arguments of AUTH or HELLO (passwords). */
static void s_describe(const lyc_redis_cmd_t *cmd, char *buf, size_t size)
{
    int secret =
        strncasecmp(cmd->argv[0], "AUTH", 4) == 0 || strncasecmp(cmd->argv[0], "HELLO", 5) == 0;
    if (cmd->argc > 1 && !secret)
        snprintf(buf, size, "%.*s %.*s", s_arg_len(cmd, 0, 32), cmd->argv[0],
                 s_arg_len(cmd, 1, 160), cmd->argv[1]);
    else
        snprintf(buf, size, "%.*s", s_arg_len(cmd, 0, 32), cmd->argv[0]);
}

static long s_timeout_ms(const lyc_redis_t *self)
{
    return (long) (self->timeout.tv_sec * 1000 + self->timeout.tv_usec / 1000);
}

/* Why the context failed, into self->error: a read that timed out says so
 * (hiredis would say "Resource temporarily unavailable"), and a TLS failure
 * gives OpenSSL's reason (hiredis would give errno's). saved_errno is errno
 * right after the failing call. */
static void s_set_io_error(lyc_redis_t *self, const char *what, int saved_errno)
{
    long ms = s_timeout_ms(self);
    char why[256];
    int io = self->ctx->err == REDIS_ERR_IO;
    int broken = io || self->ctx->err == REDIS_ERR_EOF; /* an alert can read as an end */
    const char *tls = self->url.tls && broken ? s_tls_error(why, sizeof why) : NULL;
    if (io && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
        snprintf(self->error, sizeof self->error, "%s%sno reply within %ld ms", what,
                 *what ? ": " : "", ms);
    else if (tls)
        snprintf(self->error, sizeof self->error, "%s%sTLS: %s", what, *what ? ": " : "", tls);
    else
        snprintf(self->error, sizeof self->error, "%s%s%s", what, *what ? ": " : "",
                 self->ctx->errstr);
}

static void s_disconnect(lyc_redis_t *self)
{
    redisFree(self->ctx);
    self->ctx = NULL;
}

/* Sends one command on the fresh context during the handshake; returns 0 when
 * the reply is not an error. what names the step for the error text (never
 * the arguments: AUTH carries the password). */
static int s_handshake_step(lyc_redis_t *self, const char *what, int argc, const char **argv)
{
    redisReply *reply = redisCommandArgv(self->ctx, argc, argv, NULL);
    if (!reply) {
        s_set_io_error(self, what, errno);
        return -1;
    }
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(self->error, sizeof self->error, "%s: %s", what, reply->str);
        rc = -1;
    }
    freeReplyObject(reply);
    return rc;
}

/* AUTH with the password of the process's source, else the URL's. */
static int s_authenticate(lyc_redis_t *self)
{
    const lyc_redis_url_t *url = &self->url;
    char *secret = NULL;
    if (s_password_read(&secret, self->error, sizeof self->error) < 0)
        return -1;
    const char *password = secret ? secret : url->password;
    int rc = 0;
    if (password) {
        const char *auth_user[] = {"AUTH", url->username, password};
        const char *auth[] = {"AUTH", password};
        rc = url->username ? s_handshake_step(self, "AUTH", 3, auth_user)
                           : s_handshake_step(self, "AUTH", 2, auth);
    }
    lyc_secret_free(&secret);
    return rc;
}

static int s_handshake(lyc_redis_t *self)
{
    const lyc_redis_url_t *url = &self->url;
    char db[16];
    if (s_authenticate(self))
        return -1;
    if (url->db != 0) {
        snprintf(db, sizeof db, "%d", url->db);
        const char *select[] = {"SELECT", db};
        if (s_handshake_step(self, "SELECT", 2, select))
            return -1;
    }
    const char *ping[] = {"PING"};
    return s_handshake_step(self, "PING", 1, ping);
}

/* The server closed the new connection during AUTH/SELECT/PING: adds the
 * likely cause to self->error. A TLS port closes on plain text; a server that
 * demands client certificates closes after the handshake, and its alert is
 * often lost in the reset (TLS 1.3 checks the client after the client is
 * done). saved_errno is errno right after the failure. */
static void s_explain_closed(lyc_redis_t *self, int saved_errno)
{
    int err = self->ctx->err;
    if (err != REDIS_ERR_EOF && !(err == REDIS_ERR_IO && saved_errno == ECONNRESET))
        return;
    const char *hint = NULL;
    if (!self->url.tls)
        hint = " (a TLS port? use rediss://)";
    else if (!s_tls_has_client_cert())
        hint = " (does the server demand a client certificate? set redis.tls_cert_file and "
               "redis.tls_key_file)";
    size_t used = strlen(self->error);
    if (hint)
        snprintf(self->error + used, sizeof self->error - used, "%s", hint);
}

/* Opens self->ctx: connect, time-outs, keep-alive, TLS for rediss://, AUTH,
 * SELECT, PING.
 * Returns 0, or -1 with the reason in self->error and no context. */
static int s_connect(lyc_redis_t *self)
{
    self->ctx = redisConnectWithTimeout(self->url.host, self->url.port, self->timeout);
    if (!self->ctx) {
        snprintf(self->error, sizeof self->error, "connect: out of memory");
        return -1;
    }
    if (self->ctx->err) {
        snprintf(self->error, sizeof self->error, "connect: %s", self->ctx->errstr);
        goto out_disconnect;
    }
    if (redisSetTimeout(self->ctx, self->timeout) != REDIS_OK) {
        snprintf(self->error, sizeof self->error, "set time-out: %s", self->ctx->errstr);
        goto out_disconnect;
    }
    if (redisEnableKeepAlive(self->ctx) != REDIS_OK) {
        snprintf(self->error, sizeof self->error, "keep-alive: %s", self->ctx->errstr);
        goto out_disconnect;
    }
    if (self->url.tls &&
        s_tls_start(self->ctx, self->url.host, s_timeout_ms(self), self->error, sizeof self->error))
        goto out_disconnect;
    if (s_handshake(self)) {
        s_explain_closed(self, errno);
        goto out_disconnect;
    }
    return 0;

out_disconnect:
    s_disconnect(self);
    return -1;
}

/* True when the server has closed or reset the socket, or sent something
 * nobody asked for: either way the connection is no longer usable. */
static int s_peer_closed(const redisContext *ctx)
{
    struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN | POLLRDHUP};
    int n = poll(&pfd, 1, 0);
    return n > 0 && pfd.revents != 0;
}

/* Makes sure there is a usable connection, replacing a closed one. */
static int s_ensure_connected(lyc_redis_t *self)
{
    if (self->ctx && s_peer_closed(self->ctx)) {
        LYC_INFO(NULL, "redis %s: the server closed the connection; reconnecting", self->peer);
        s_disconnect(self);
    }
    if (self->ctx)
        return 0;
    if (s_connect(self) == 0)
        return 0;
    LYC_ERROR(NULL, "redis %s: %s", self->peer, self->error);
    return -1;
}

/* Frees replies[0..count-1] and nulls them. */
static void s_free_replies(size_t count, redisReply **replies)
{
    for (size_t i = 0; i < count; i++) {
        freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

/* One round trip for the batch. On a connection failure: frees the replies
 * read so far, drops the connection, records the reason and sets *retry when
 * the failure proves the server closed the connection (so the batch did not
 * run) rather than a time-out (it may have). */
static int s_round_trip(lyc_redis_t *self, size_t count, const lyc_redis_cmd_t *cmds,
                        redisReply **replies, int *retry)
{
    *retry = 0;
    if (self->url.tls)
        s_tls_clear_errors();
    for (size_t i = 0; i < count; i++) {
        if (redisAppendCommandArgv(self->ctx, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) !=
            REDIS_OK)
            goto out_broken;
    }
    for (size_t i = 0; i < count; i++) {
        void *reply = NULL;
        if (redisGetReply(self->ctx, &reply) != REDIS_OK)
            goto out_broken;
        replies[i] = reply;
    }
    return 0;

out_broken:;
    int saved_errno = errno;
    int err = self->ctx->err;
    s_set_io_error(self, "", saved_errno);
    *retry = err == REDIS_ERR_EOF ||
             (err == REDIS_ERR_IO &&
              (saved_errno == ECONNRESET || saved_errno == EPIPE || saved_errno == ENOTCONN));
    s_free_replies(count, replies);
    s_disconnect(self);
    return -1;
}

int lyc_redis_pipeline(lyc_redis_t *self, size_t count, const lyc_redis_cmd_t *cmds,
                       redisReply **replies)
{
    for (size_t i = 0; i < count; i++)
        replies[i] = NULL;
    self->error[0] = '\0';
    if (count == 0)
        return 0;
    for (int attempt = 1;; attempt++) {
        int retry = 0;
        if (s_ensure_connected(self))
            return -1;
        if (s_round_trip(self, count, cmds, replies, &retry) == 0)
            return 0;
        char what[256];
        s_describe(&cmds[0], what, sizeof what);
        if (!retry || attempt == LYC_REDIS_ATTEMPTS) {
            LYC_ERROR(NULL, "redis %s: %s%s failed: %s", self->peer, what,
                      count > 1 ? " (pipeline)" : "", self->error);
            return -1;
        }
        LYC_WARN(NULL, "redis %s: connection lost during %s (%s); reconnecting once", self->peer,
                 what, self->error);
    }
}

redisReply *lyc_redis_command(lyc_redis_t *self, int argc, const char **argv, const size_t *argvlen)
{
    lyc_redis_cmd_t cmd = {.argc = argc, .argv = argv, .argvlen = argvlen};
    redisReply *reply = NULL;
    if (lyc_redis_pipeline(self, 1, &cmd, &reply))
        return NULL;
    if (reply->type == REDIS_REPLY_ERROR) {
        char what[256];
        s_describe(&cmd, what, sizeof what);
        snprintf(self->error, sizeof self->error, "%s", reply->str);
        LYC_ERROR(NULL, "redis %s: %s failed: %s", self->peer, what, self->error);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

lyc_redis_t *lyc_redis_new(const char *url, int timeout_ms)
{
    char errstr[256];
    if (timeout_ms <= 0) {
        LYC_ERROR(NULL, "redis: the time-out must be > 0 ms (got %d)", timeout_ms);
        return NULL;
    }
    lyc_redis_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "redis: out of memory");
        return NULL;
    }
    if (lyc_redis_url_parse(url, &self->url, errstr, sizeof errstr)) {
        LYC_ERROR(NULL, "redis: bad URL: %s", errstr);
        goto out_free_self;
    }
    self->timeout.tv_sec = timeout_ms / 1000;
    self->timeout.tv_usec = (timeout_ms % 1000) * 1000;
    int is_v6 = strchr(self->url.host, ':') != NULL;
    int n = is_v6 ? asprintf(&self->peer, "[%s]:%d", self->url.host, self->url.port)
                  : asprintf(&self->peer, "%s:%d", self->url.host, self->url.port);
    if (n < 0) {
        self->peer = NULL;
        LYC_ERROR(NULL, "redis: out of memory");
        goto out_clear_url;
    }
    if (s_connect(self)) {
        LYC_ERROR(NULL, "redis %s: %s", self->peer, self->error);
        goto out_free_peer;
    }
    return self;

out_free_peer:
    free(self->peer);
out_clear_url:
    lyc_redis_url_clear(&self->url);
out_free_self:
    free(self);
    return NULL;
}

void lyc_redis_destroy(lyc_redis_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_redis_t *self = *self_p;
    s_disconnect(self);
    free(self->peer);
    lyc_redis_url_clear(&self->url);
    free(self);
    *self_p = NULL;
}

const char *lyc_redis_error(const lyc_redis_t *self)
{
    return self->error;
}

const char *lyc_redis_peer(const lyc_redis_t *self)
{
    return self->peer;
}
