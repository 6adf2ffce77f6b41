/*
 * bus_security.c - CurveZMQ certificates and the process's ZAP handler.
 */
#include "bus_security.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libzmq's ZMQ_ZAP_ENFORCE_DOMAIN (a draft option since 4.2.3, so not in
 * the stable header): a server socket refuses a client when no ZAP handler
 * answers, instead of letting it in. Best effort: the handler is started
 * before any server socket exists and stopped after the last one is gone,
 * and a libzmq without the option just keeps that guarantee alone. */
#define S_ZMQ_ZAP_ENFORCE_DOMAIN 93

struct lyc_bus_security_t {
    int enabled;
    zcert_t *server_cert;   /* servers: the server's certificate with its secret */
    zcert_t *client_cert;   /* clients: ours, with its secret */
    zcert_t *server_public; /* clients: the server's public certificate */
    int holds_auth;         /* 1 when this object counts among the ZAP handler's users */
};

/* ---- the process's one ZAP handler ------------------------------------- */

/* A ZAP handler answers for every socket of the ZeroMQ context (czmq's one
 * global context), so there is one per process, shared by reference count. */
static struct {
    pthread_mutex_t lock;
    zactor_t *actor;
    char *dir;
    int users;
} s_auth = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int s_auth_start(const char *dir, char *err, size_t errcap)
{
    zactor_t *actor = zactor_new(zauth, NULL);
    if (!actor) {
        snprintf(err, errcap, "bus.curve: cannot start the ZAP handler (zauth)");
        return -1;
    }
    if (zstr_sendx(actor, "CURVE", dir, NULL) != 0 || zsock_wait(actor) != 0) {
        snprintf(err, errcap, "bus.curve: the ZAP handler did not take '%s'", dir);
        zactor_destroy(&actor);
        return -1;
    }
    if (!(s_auth.dir = strdup(dir))) {
        snprintf(err, errcap, "out of memory");
        zactor_destroy(&actor);
        return -1;
    }
    s_auth.actor = actor;
    return 0;
}

static int s_auth_acquire(const char *dir, char *err, size_t errcap)
{
    int rc = 0;
    pthread_mutex_lock(&s_auth.lock);
    if (s_auth.actor && strcmp(s_auth.dir, dir) != 0) {
        snprintf(err, errcap,
                 "bus.curve.authorized: '%s', but this process already authorizes with '%s' "
                 "(one directory per process)",
                 dir, s_auth.dir);
        rc = -1;
    } else if (!s_auth.actor) {
        rc = s_auth_start(dir, err, errcap);
    }
    if (rc == 0)
        s_auth.users++;
    pthread_mutex_unlock(&s_auth.lock);
    return rc;
}

static void s_auth_release(void)
{
    pthread_mutex_lock(&s_auth.lock);
    if (s_auth.users > 0 && --s_auth.users == 0) {
        zactor_destroy(&s_auth.actor);
        free(s_auth.dir);
        s_auth.dir = NULL;
    }
    pthread_mutex_unlock(&s_auth.lock);
}

/* ---- loading ------------------------------------------------------------ */

static int s_zero(const byte *key)
{
    for (size_t i = 0; i < 32; i++)
        if (key[i])
            return 0;
    return 1;
}

/* Warns when the file holding a secret key can be read by others. */
static void s_check_mode(const char *key, const char *path)
{
    char secret[4096];
    struct stat st;
    snprintf(secret, sizeof secret, "%s_secret", path);
    const char *file = stat(secret, &st) == 0 ? secret : path;
    if (file == path && stat(path, &st) != 0)
        return;
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        LYC_WARN(NULL,
                 "%s: '%s' holds a secret key and other users can read it (mode %03o): chmod "
                 "600 it",
                 key, file, (unsigned) (st.st_mode & 0777));
}

/* Loads the certificate `key` names; with want_secret, it must hold its
 * secret key. NULL with the reason in err. */
static zcert_t *s_load(const char *key, const char *path, int want_secret, char *err, size_t errcap)
{
    if (!path || !*path) {
        snprintf(err, errcap,
                 "bus.curve.enabled is on but %s is not set (`lyceum keys bus` makes "
                 "the certificates and prints the settings)",
                 key);
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        snprintf(err, errcap, "%s: cannot read '%s': %s", key, path, strerror(errno));
        return NULL;
    }
    zcert_t *cert = zcert_load(path);
    if (!cert || s_zero(zcert_public_key(cert))) {
        snprintf(err, errcap, "%s: '%s' is not a czmq certificate (see `lyceum keys bus`)", key,
                 path);
        zcert_destroy(&cert);
        return NULL;
    }
    if (want_secret && s_zero(zcert_secret_key(cert))) {
        snprintf(err, errcap,
                 "%s: '%s' holds no secret key: name the certificate's _secret file (is it "
                 "readable?)",
                 key, path);
        zcert_destroy(&cert);
        return NULL;
    }
    if (want_secret)
        s_check_mode(key, path);
    return cert;
}

/* The authorized directory exists and can be listed; warns when it names
 * no client. */
static int s_check_authorized(const char *dir, char *err, size_t errcap)
{
    const char *key = "bus.curve.authorized";
    if (!dir || !*dir) {
        snprintf(err, errcap, "bus.curve.enabled is on but %s is not set", key);
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errcap, "%s: cannot list '%s': %s", key, dir, strerror(errno));
        return -1;
    }
    size_t certs = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && (len < 7 || strcmp(e->d_name + len - 7, "_secret") != 0))
            certs++;
    }
    closedir(d);
    if (certs == 0)
        LYC_WARN(NULL, "%s: '%s' holds no certificate: no client can connect", key, dir);
    return 0;
}

static int s_load_server(lyc_bus_security_t *self, const lyc_settings_t *s, char *err,
                         size_t errcap)
{
    self->server_cert = s_load("bus.curve.server_cert", s->bus_curve_server_cert, 1, err, errcap);
    if (!self->server_cert || s_check_authorized(s->bus_curve_authorized, err, errcap) != 0)
        return -1;
    if (s_auth_acquire(s->bus_curve_authorized, err, errcap) != 0)
        return -1;
    self->holds_auth = 1;
    return 0;
}

static int s_load_client(lyc_bus_security_t *self, const lyc_settings_t *s, char *err,
                         size_t errcap)
{
    self->client_cert = s_load("bus.curve.client_cert", s->bus_curve_client_cert, 1, err, errcap);
    if (!self->client_cert)
        return -1;
    self->server_public =
        s_load("bus.curve.server_public", s->bus_curve_server_public, 0, err, errcap);
    return self->server_public ? 0 : -1;
}

lyc_bus_security_t *lyc_bus_security_new(const lyc_settings_t *s, int roles, char *err,
                                         size_t errcap)
{
    lyc_bus_security_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    self->enabled = s->bus_curve_enabled;
    if (!self->enabled)
        return self;
    if (!zsys_has_curve()) {
        snprintf(err, errcap, "bus.curve.enabled is on but this libzmq has no CURVE support");
        goto out_destroy;
    }
    if ((roles & LYC_BUS_SECURITY_CLIENT) && s_load_client(self, s, err, errcap) != 0)
        goto out_destroy;
    if ((roles & LYC_BUS_SECURITY_SERVER) && s_load_server(self, s, err, errcap) != 0)
        goto out_destroy;
    if (self->server_cert && self->server_public &&
        strcmp(zcert_public_txt(self->server_cert), zcert_public_txt(self->server_public)) != 0) {
        snprintf(err, errcap,
                 "bus.curve.server_public ('%s') is not the public half of bus.curve.server_cert "
                 "('%s'): routers and evaluators share one server certificate",
                 s->bus_curve_server_public, s->bus_curve_server_cert);
        goto out_destroy;
    }
    LYC_INFO(NULL, "bus: CurveZMQ on (%s%s%s)", self->server_cert ? "server" : "",
             self->server_cert && self->client_cert ? ", " : "", self->client_cert ? "client" : "");
    return self;
out_destroy:
    lyc_bus_security_destroy(&self);
    return NULL;
}

void lyc_bus_security_destroy(lyc_bus_security_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_bus_security_t *self = *self_p;
    if (self->holds_auth)
        s_auth_release();
    zcert_destroy(&self->server_cert);
    zcert_destroy(&self->client_cert);
    zcert_destroy(&self->server_public);
    free(self);
    *self_p = NULL;
}

int lyc_bus_security_enabled(const lyc_bus_security_t *self)
{
    return self && self->enabled;
}

/* -1 (logged) unless the socket now speaks CURVE. */
static int s_check_curve(zsock_t *sock, const char *what)
{
    if (zsock_mechanism(sock) == ZMQ_CURVE)
        return 0;
    LYC_ERROR(NULL, "bus: the %s socket did not take the CURVE options", what);
    return -1;
}

int lyc_bus_security_server(const lyc_bus_security_t *self, zsock_t *sock)
{
    if (!lyc_bus_security_enabled(self))
        return 0;
    if (!self->server_cert) {
        LYC_ERROR(NULL, "bus: security made without the server role applied to a server socket");
        return -1;
    }
    zcert_apply(self->server_cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, LYC_BUS_ZAP_DOMAIN);
    int on = 1;
    if (zmq_setsockopt(zsock_resolve(sock), S_ZMQ_ZAP_ENFORCE_DOMAIN, &on, sizeof on) != 0)
        LYC_DEBUG(NULL, "bus: libzmq has no ZAP_ENFORCE_DOMAIN: %s", zmq_strerror(zmq_errno()));
    return s_check_curve(sock, "server");
}

int lyc_bus_security_client(const lyc_bus_security_t *self, zsock_t *sock)
{
    if (!lyc_bus_security_enabled(self))
        return 0;
    if (!self->client_cert) {
        LYC_ERROR(NULL, "bus: security made without the client role applied to a client socket");
        return -1;
    }
    zcert_apply(self->client_cert, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(self->server_public));
    return s_check_curve(sock, "client");
}
