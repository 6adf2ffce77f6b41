/*
 * bus_protocol.h - the constants of Lyceum's bus protocol, in one place.
 *
 * Every process that speaks on the bus agrees on these. Changing one is a
 * protocol change: bump LYC_SCHEMA_VERSION when a change is not backward
 * compatible (protobuf field additions are, and need no bump).
 *
 * The conversations (every message is one Envelope, see envelope.h):
 *
 * Workers (router binds a ROUTER on router.workers_bind; each worker
 * connects one DEALER to every address in bus.workers, one per router):
 *   worker -> router  WORKER_REGISTER when it connects and when asked;
 *                     WORKER_HEARTBEAT every LYC_HEARTBEAT_INTERVAL_MS;
 *                     ANSWER for each TASK, on the socket the TASK came by;
 *                     WORKER_DEREGISTER when it stops on purpose.
 *   router -> worker  TASK;
 *                     WORKER_HEARTBEAT every interval, so the worker knows
 *                     the router lives (a worker that hears nothing for
 *                     LYC_HEARTBEAT_LIVENESS intervals reconnects with
 *                     back-off and registers again);
 *                     an empty WORKER_REGISTER: "I do not know you, register".
 *   Draining: a worker that must stop sends a heartbeat with draining set
 *   (the router sends it nothing new), finishes its in-flight tasks, sends
 *   WORKER_DEREGISTER and exits. A worker that misses LYC_HEARTBEAT_LIVENESS
 *   heartbeats is forgotten; its outstanding tasks go to another replica of
 *   the same model when the deadline allows, else they fail with
 *   ERROR_UNAVAILABLE.
 *
 * Tasks (router binds a ROUTER on router.tasks_bind; services such as the
 * evaluator connect a DEALER to bus.tasks): TASK -> ANSWER with the same
 * task_id. The router load-balances over the model's live replicas; failures
 * come back in Answer.error (ERROR_UNAVAILABLE: no live worker serves the
 * model; ERROR_TIMEOUT: no answer within deadline_ms).
 *
 * Evaluation (evaluator binds a ROUTER on evaluator.bind; routers connect a
 * DEALER to bus.evaluator): EVAL_REQUEST -> VERDICT with the same trace_id.
 *
 * Clients (router binds a ROUTER on router.clients_bind; a client connects a
 * DEALER or REQ): CLIENT_QUERY -> CLIENT_REPLY.
 */
#ifndef LYCEUM_BUS_PROTOCOL_H
#define LYCEUM_BUS_PROTOCOL_H

/* Schema version of package lyceum.v1; readers drop envelopes of other versions. */
#define LYC_SCHEMA_VERSION 1

/* Largest envelope a reader accepts (bytes); bigger frames are dropped unread. */
#define LYC_BUS_MAX_FRAME (16 * 1024 * 1024)

/* A worker sends a heartbeat this often (ms) ... */
#define LYC_HEARTBEAT_INTERVAL_MS 1000
/* ... and the router forgets it after this many missed heartbeats. */
#define LYC_HEARTBEAT_LIVENESS 3

/* Reconnect back-off of a worker whose router went away (ms). */
#define LYC_RECONNECT_MIN_MS 100
#define LYC_RECONNECT_MAX_MS 5000

/* Longest time a send may block on a full queue before it fails (ms). */
#define LYC_BUS_SEND_TIMEOUT_MS 1000

#endif
