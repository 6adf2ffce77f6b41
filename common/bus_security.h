/*
 * bus_security.h - CurveZMQ on the bus: who may connect, and encryption.
 *
 * With bus.curve.enabled, every tcp bus socket runs CurveZMQ. Processes
 * that bind (the router's worker, task and client endpoints, the
 * evaluator's ROUTER) are CURVE servers holding the cluster's server
 * certificate (bus.curve.server_cert); a ZAP handler (czmq's zauth, one per
 * process) admits only the clients whose public certificate is in the
 * bus.curve.authorized directory. Processes that connect (workers, the
 * router to the evaluators, the evaluator to the router's task endpoint)
 * are CURVE clients holding their own certificate (bus.curve.client_cert)
 * and the server's public certificate (bus.curve.server_public). Routers
 * and evaluators share the one server certificate.
 *
 * A peer without an authorized key never completes the handshake: nothing
 * it sends is delivered, it is never told why, and libzmq retries quietly on
 * both sides, so nothing here logs per attempt. inproc sockets never use
 * CURVE (they never leave the process).
 *
 * Certificates are czmq zcert files; `lyceum keys bus DIR` makes a set. The
 * authorized directory is read again whenever it changes, so a client is
 * admitted without a restart; removing its certificate refuses its next
 * connection (an open one stays until it breaks).
 *
 * With curve disabled every call is a no-op, so the bus runs as before; a
 * NULL object counts as disabled. After lyc_bus_security_new the object is
 * read-only: each thread applies it to its own sockets.
 */
#ifndef LYCEUM_BUS_SECURITY_H
#define LYCEUM_BUS_SECURITY_H

#include <czmq.h>

#include "settings.h"

/* Roles of a process, for lyc_bus_security_new (or them together). */
#define LYC_BUS_SECURITY_CLIENT 1 /* connects tcp bus sockets */
#define LYC_BUS_SECURITY_SERVER 2 /* binds tcp bus sockets */

/* The ZAP domain of every Lyceum server socket. */
#define LYC_BUS_ZAP_DOMAIN "lyceum"

typedef struct lyc_bus_security_t lyc_bus_security_t;

/* Loads what the process's roles need when s->bus_curve_enabled: a client
 * its own secret certificate and the server's public one; a server the
 * server's secret certificate and the authorized directory, and starts the
 * process's ZAP handler (shared by every server object of the process, which
 * must all name the same directory). Returns the object (the caller destroys
 * it, after every socket it was applied to), or NULL with the reason in err,
 * naming the setting and the file: a setting not given, a file that cannot
 * be read or is not a certificate, a certificate without its secret key, a
 * server_public that does not match server_cert, a libzmq without CURVE.
 * Warns when a secret certificate can be read by other users. With curve
 * disabled it reads nothing and always succeeds. */
lyc_bus_security_t *lyc_bus_security_new(const lyc_settings_t *s, int roles, char *err,
                                         size_t errcap);

/* Stops the ZAP handler when this was its last user, frees the certificates.
 * Accepts NULL; nulls *self_p. */
void lyc_bus_security_destroy(lyc_bus_security_t **self_p);

/* 1 when CURVE is on. */
int lyc_bus_security_enabled(const lyc_bus_security_t *self);

/* Makes sock (tcp, not yet bound) a CURVE server with the server
 * certificate, authenticated in LYC_BUS_ZAP_DOMAIN. Returns 0 (also when
 * disabled), or -1 (logged) when the object has no server role or libzmq
 * refused the options. */
int lyc_bus_security_server(const lyc_bus_security_t *self, zsock_t *sock);

/* Makes sock (tcp, not yet connected) a CURVE client with this process's
 * certificate, expecting the server's public key. Returns 0 (also when
 * disabled), or -1 (logged) when the object has no client role or libzmq
 * refused the options. */
int lyc_bus_security_client(const lyc_bus_security_t *self, zsock_t *sock);

#endif
