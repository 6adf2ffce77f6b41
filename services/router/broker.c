/*
 * broker.c - worker registry, task dispatch, deadlines and heartbeats.
 */
#include "broker.h"

#include "bus.h"
#include "bus_protocol.h"
#include "clock.h"
#include "log.h"
#include "model_config.h"

#include <string.h>

/* A live worker. */
typedef struct {
    char *id;
    char *model;
    char backend[16];
    zframe_t *identity; /* its ROUTER identity */
    int role;
    double price_in, price_out;
    int capacity, in_flight;
    int draining;
    int64_t expires_us; /* forgotten after this without a heartbeat */
} s_worker_t;

/* A task sent to a worker and not yet answered. */
typedef struct {
    char *task_id;
    Lyceum__V1__Task *task; /* owned, unpacked; kept for a resend */
    zsock_t *origin;        /* socket the task came by */
    zmsg_t *route;          /* route back to the asker */
    char *worker_id;        /* worker it went to, NULL while unplaced */
    int64_t deadline_us;
} s_pending_t;

typedef struct {
    lyc_broker_args_t *args;
    zsock_t *pipe, *workers, *tasks, *inproc;
    zhashx_t *by_id;   /* worker id -> s_worker_t */
    zhashx_t *pending; /* task id -> s_pending_t */
    int64_t next_heartbeat_us;
    int64_t next_expiry_us;
    int table_changed;
} s_broker_t;

static void s_worker_free(void **item)
{
    s_worker_t *w = *item;
    if (!w)
        return;
    free(w->id);
    free(w->model);
    zframe_destroy(&w->identity);
    free(w);
    *item = NULL;
}

static void s_pending_free(void **item)
{
    s_pending_t *p = *item;
    if (!p)
        return;
    free(p->task_id);
    if (p->task)
        lyceum__v1__task__free_unpacked(p->task, NULL);
    zmsg_destroy(&p->route);
    free(p->worker_id);
    free(p);
    *item = NULL;
}

/* ---- the table published to query threads ----------------------------- */

static void s_publish(s_broker_t *self)
{
    size_t cap = zhashx_size(self->by_id), n = 0;
    lyc_model_info_t *models = calloc(cap ? cap : 1, sizeof *models);
    if (!models)
        return;
    for (s_worker_t *w = zhashx_first(self->by_id); w; w = zhashx_next(self->by_id)) {
        size_t i = 0;
        while (i < n && strcmp(models[i].name, w->model) != 0)
            i++;
        if (i == n) {
            snprintf(models[n].name, sizeof models[n].name, "%s", w->model);
            snprintf(models[n].backend, sizeof models[n].backend, "%s", w->backend);
            models[n].role = w->role;
            models[n].price_in = w->price_in;
            models[n].price_out = w->price_out;
            n++;
        }
        if (!w->draining) {
            models[i].replicas++;
            models[i].capacity += w->capacity;
        }
        models[i].in_flight += w->in_flight;
    }
    lyc_registry_publish(self->args->registry, models, n);
    free(models);
    self->table_changed = 0;
}

/* ---- answering askers -------------------------------------------------- */

/* Sends the asker an error ANSWER for its task. */
static void s_answer_error(s_broker_t *self, s_pending_t *p, Lyceum__V1__ErrorCode code,
                           const char *message, int retryable)
{
    Lyceum__V1__Error error = LYCEUM__V1__ERROR__INIT;
    error.code = code;
    error.message = (char *) message;
    error.retryable = retryable;
    Lyceum__V1__Answer answer = LYCEUM__V1__ANSWER__INIT;
    answer.task_id = p->task_id;
    answer.trace_id = p->task->trace_id;
    answer.model = p->task->model;
    answer.error = &error;
    lyc_bus_send(p->origin, p->route, LYCEUM__V1__MESSAGE_TYPE__ANSWER, p->task->trace_id,
                 &answer.base);
}

/* ---- placing tasks ----------------------------------------------------- */

/* The least loaded live replica of model, other than `except`; NULL if none. */
static s_worker_t *s_pick(s_broker_t *self, const char *model, const char *except)
{
    s_worker_t *best = NULL;
    double best_load = 0;
    for (s_worker_t *w = zhashx_first(self->by_id); w; w = zhashx_next(self->by_id)) {
        if (w->draining || strcmp(w->model, model) != 0 || (except && strcmp(w->id, except) == 0))
            continue;
        double load = (double) w->in_flight / (w->capacity > 0 ? w->capacity : 1);
        if (!best || load < best_load) {
            best = w;
            best_load = load;
        }
    }
    return best;
}

/* Sends p's task to a worker (other than `except`). Returns 0 when placed, -1
 * when no replica could take it (the caller answers the asker). */
static int s_place(s_broker_t *self, s_pending_t *p, const char *except)
{
    s_worker_t *w = s_pick(self, p->task->model, except);
    if (!w)
        return -1;
    zmsg_t *route = zmsg_new();
    zmsg_append(route, &(zframe_t *){zframe_dup(w->identity)});
    int rc = lyc_bus_send(self->workers, route, LYCEUM__V1__MESSAGE_TYPE__TASK, p->task->trace_id,
                          &p->task->base);
    zmsg_destroy(&route);
    if (rc != 0)
        return -1;
    free(p->worker_id);
    p->worker_id = strdup(w->id);
    w->in_flight++;
    return 0;
}

/* A new task from an asker on `origin`. */
static void s_on_task(s_broker_t *self, zsock_t *origin, lyc_bus_msg_t *msg)
{
    Lyceum__V1__Task *task = (Lyceum__V1__Task *) msg->env.payload;
    s_pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->task = task;
    msg->env.payload = NULL; /* the pending entry owns the task now */
    p->task_id = strdup(task->task_id);
    p->origin = origin;
    p->route = msg->route;
    msg->route = NULL;
    long timeout = task->deadline_ms ? (long) task->deadline_ms : self->args->default_timeout_ms;
    p->deadline_us = lyc_mono_us() + timeout * 1000;

    if (!*task->task_id || zhashx_lookup(self->pending, task->task_id)) {
        s_answer_error(self, p, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST,
                       "task_id is empty or already in flight", 0);
        s_pending_free((void **) &p);
        return;
    }
    if (s_place(self, p, NULL) != 0) {
        char message[256];
        snprintf(message, sizeof message, "no live worker serves model '%s'", task->model);
        s_answer_error(self, p, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, message, 1);
        s_pending_free((void **) &p);
        return;
    }
    zhashx_insert(self->pending, p->task_id, p);
}

/* Tries another replica for a pending task whose worker failed it; answers
 * the asker with the error when there is none. Removes the entry if answered. */
static void s_retry_or_fail(s_broker_t *self, s_pending_t *p, const char *message)
{
    char *failed = p->worker_id ? strdup(p->worker_id) : NULL;
    int placed = lyc_mono_us() < p->deadline_us && s_place(self, p, failed) == 0;
    free(failed);
    if (placed)
        return;
    s_answer_error(self, p, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, message, 1);
    zhashx_delete(self->pending, p->task_id);
}

/* ---- worker messages --------------------------------------------------- */

static s_worker_t *s_worker_of(s_broker_t *self, zmsg_t *route, const char *id)
{
    s_worker_t *w = id ? zhashx_lookup(self->by_id, id) : NULL;
    /* The identity must match too: an id reused by another connection is not the same worker. */
    if (w && route && zframe_eq(w->identity, zmsg_first(route)))
        return w;
    return NULL;
}

static void s_worker_touch(s_worker_t *w)
{
    w->expires_us =
        lyc_mono_us() + (int64_t) LYC_HEARTBEAT_INTERVAL_MS * LYC_HEARTBEAT_LIVENESS * 1000;
}

/* Fails over every task the worker holds. */
static void s_worker_orphans(s_broker_t *self, const char *worker_id, const char *why)
{
    zlistx_t *ids = zhashx_keys(self->pending);
    for (char *id = zlistx_first(ids); id; id = zlistx_next(ids)) {
        s_pending_t *p = zhashx_lookup(self->pending, id);
        if (p && p->worker_id && strcmp(p->worker_id, worker_id) == 0) {
            free(p->worker_id);
            p->worker_id = NULL;
            s_retry_or_fail(self, p, why);
        }
    }
    zlistx_destroy(&ids);
}

static void s_worker_forget(s_broker_t *self, const char *worker_id, const char *why)
{
    char *id = strdup(worker_id);
    LYC_INFO(NULL, "broker: worker %s left: %s", id, why);
    zhashx_delete(self->by_id, id);
    s_worker_orphans(self, id, why);
    free(id);
    self->table_changed = 1;
}

static void s_on_register(s_broker_t *self, lyc_bus_msg_t *msg)
{
    Lyceum__V1__WorkerRegister *reg = (Lyceum__V1__WorkerRegister *) msg->env.payload;
    if (!msg->route || !*reg->worker_id || !*reg->model ||
        strlen(reg->model) >= LYC_MODEL_NAME_MAX) {
        LYC_WARN(msg->env.trace_id, "broker: registration without worker id or model ignored");
        return;
    }
    s_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return;
    w->id = strdup(reg->worker_id);
    w->model = strdup(reg->model);
    snprintf(w->backend, sizeof w->backend, "%s", reg->backend);
    w->identity = zframe_dup(zmsg_first(msg->route));
    w->role = reg->role ? (int) reg->role : LYCEUM__V1__ROLE__ROLE_STUDENT;
    w->price_in = reg->price_in_per_mtok;
    w->price_out = reg->price_out_per_mtok;
    w->capacity = reg->capacity ? (int) reg->capacity : 1;
    s_worker_touch(w);
    /* A worker registering again replaces itself; what it held is orphaned. */
    if (zhashx_lookup(self->by_id, w->id))
        s_worker_forget(self, w->id, "registered again");
    zhashx_insert(self->by_id, w->id, w);
    self->table_changed = 1;
    LYC_INFO(NULL, "broker: worker %s serves %s (%s, role %s, capacity %d)", w->id, w->model,
             w->backend, lyc_role_name(w->role), w->capacity);
}

static void s_on_heartbeat(s_broker_t *self, lyc_bus_msg_t *msg)
{
    Lyceum__V1__WorkerHeartbeat *hb = (Lyceum__V1__WorkerHeartbeat *) msg->env.payload;
    s_worker_t *w = s_worker_of(self, msg->route, hb->worker_id);
    if (!w) {
        /* Unknown (the router restarted, or the worker was forgotten): ask it to register. */
        Lyceum__V1__WorkerRegister empty = LYCEUM__V1__WORKER_REGISTER__INIT;
        if (msg->route)
            lyc_bus_send(self->workers, msg->route, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, NULL,
                         &empty.base);
        return;
    }
    s_worker_touch(w);
    if (hb->draining && !w->draining) {
        w->draining = 1;
        self->table_changed = 1;
        LYC_INFO(NULL, "broker: worker %s is draining", w->id);
    }
}

static void s_on_answer(s_broker_t *self, lyc_bus_msg_t *msg)
{
    Lyceum__V1__Answer *answer = (Lyceum__V1__Answer *) msg->env.payload;
    s_pending_t *p = zhashx_lookup(self->pending, answer->task_id);
    s_worker_t *w = s_worker_of(self, msg->route, answer->worker_id);
    if (w) {
        s_worker_touch(w);
        if (w->in_flight > 0)
            w->in_flight--;
    }
    if (!p) /* late: the asker already had a time-out */
        return;
    int turned_away = answer->error &&
                      answer->error->code == LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE &&
                      answer->error->retryable;
    if (turned_away) {
        s_retry_or_fail(self, p, answer->error->message);
        return;
    }
    lyc_bus_send(p->origin, p->route, LYCEUM__V1__MESSAGE_TYPE__ANSWER, msg->env.trace_id,
                 &answer->base);
    zhashx_delete(self->pending, answer->task_id);
}

static void s_on_worker_message(s_broker_t *self)
{
    lyc_bus_msg_t msg;
    if (lyc_bus_recv(self->workers, &msg) != 1)
        return;
    switch (msg.env.type) {
    case LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER:
        s_on_register(self, &msg);
        break;
    case LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT:
        s_on_heartbeat(self, &msg);
        break;
    case LYCEUM__V1__MESSAGE_TYPE__ANSWER:
        s_on_answer(self, &msg);
        break;
    case LYCEUM__V1__MESSAGE_TYPE__WORKER_DEREGISTER: {
        Lyceum__V1__WorkerDeregister *bye = (Lyceum__V1__WorkerDeregister *) msg.env.payload;
        if (s_worker_of(self, msg.route, bye->worker_id))
            s_worker_forget(self, bye->worker_id, *bye->reason ? bye->reason : "deregistered");
        break;
    }
    default:
        LYC_WARN(msg.env.trace_id, "broker: unexpected %s from a worker dropped",
                 lyc_msg_name(msg.env.type));
    }
    lyc_bus_msg_clear(&msg);
}

static void s_on_task_message(s_broker_t *self, zsock_t *origin)
{
    lyc_bus_msg_t msg;
    if (lyc_bus_recv(origin, &msg) != 1)
        return;
    if (msg.env.type == LYCEUM__V1__MESSAGE_TYPE__TASK)
        s_on_task(self, origin, &msg);
    else
        LYC_WARN(msg.env.trace_id, "broker: expected TASK, got %s; dropped",
                 lyc_msg_name(msg.env.type));
    lyc_bus_msg_clear(&msg);
}

/* ---- timers ------------------------------------------------------------ */

static void s_expire_tasks(s_broker_t *self, int64_t now)
{
    zlistx_t *ids = zhashx_keys(self->pending);
    for (char *id = zlistx_first(ids); id; id = zlistx_next(ids)) {
        s_pending_t *p = zhashx_lookup(self->pending, id);
        if (!p || now < p->deadline_us)
            continue;
        s_worker_t *w = p->worker_id ? zhashx_lookup(self->by_id, p->worker_id) : NULL;
        if (w && w->in_flight > 0)
            w->in_flight--;
        s_answer_error(self, p, LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT,
                       "no answer within the deadline", 1);
        zhashx_delete(self->pending, id);
    }
    zlistx_destroy(&ids);
}

static void s_heartbeat_workers(s_broker_t *self, int64_t now)
{
    zlistx_t *dead = zlistx_new();
    Lyceum__V1__WorkerHeartbeat hb = LYCEUM__V1__WORKER_HEARTBEAT__INIT;
    hb.worker_id = "router";
    for (s_worker_t *w = zhashx_first(self->by_id); w; w = zhashx_next(self->by_id)) {
        if (now > w->expires_us) {
            zlistx_add_end(dead, w->id);
            continue;
        }
        zmsg_t *route = zmsg_new();
        zmsg_append(route, &(zframe_t *){zframe_dup(w->identity)});
        lyc_bus_send(self->workers, route, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, NULL,
                     &hb.base);
        zmsg_destroy(&route);
    }
    for (char *id = zlistx_first(dead); id; id = zlistx_next(dead)) {
        char *copy = strdup(id);
        s_worker_forget(self, copy, "missed its heartbeats");
        free(copy);
    }
    zlistx_destroy(&dead);
}

/* ---- the actor --------------------------------------------------------- */

/* A ROUTER bound on endpoint; security (NULL for inproc) makes it a CURVE server. */
static zsock_t *s_bind_router(const char *endpoint, const lyc_bus_security_t *security)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock)
        return NULL;
    lyc_bus_socket_setup(sock);
    zsock_set_router_mandatory(sock, 1); /* a send to a vanished peer fails instead of vanishing */
    if (lyc_bus_security_server(security, sock) != 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        LYC_ERROR(NULL, "broker: cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

static int s_broker_init(s_broker_t *self, zsock_t *pipe, lyc_broker_args_t *args)
{
    memset(self, 0, sizeof *self);
    self->args = args;
    self->pipe = pipe;
    self->by_id = zhashx_new();
    self->pending = zhashx_new();
    zhashx_set_destructor(self->by_id, s_worker_free);
    zhashx_set_destructor(self->pending, s_pending_free);
    self->workers = s_bind_router(args->workers_bind, args->security);
    self->tasks = s_bind_router(args->tasks_bind, args->security);
    self->inproc = s_bind_router(LYC_BROKER_INPROC, NULL);
    return self->workers && self->tasks && self->inproc ? 0 : -1;
}

static void s_broker_fini(s_broker_t *self)
{
    zhashx_destroy(&self->pending);
    zhashx_destroy(&self->by_id);
    zsock_destroy(&self->inproc);
    zsock_destroy(&self->tasks);
    zsock_destroy(&self->workers);
}

static void s_broker_actor(zsock_t *pipe, void *arg)
{
    s_broker_t self;
    if (s_broker_init(&self, pipe, arg) != 0) {
        s_broker_fini(&self);
        self.args->failed = 1;
        zsock_signal(pipe, 1);
        return;
    }
    zpoller_t *poller = zpoller_new(pipe, self.workers, self.tasks, self.inproc, NULL);
    zsock_signal(pipe, 0);
    lyc_registry_publish(self.args->registry, NULL, 0);
    for (;;) {
        zsock_t *which = zpoller_wait(poller, 20);
        if (zpoller_terminated(poller))
            break;
        if (which == pipe) {
            char *command = zstr_recv(pipe);
            int stop = !command || streq(command, "$TERM");
            zstr_free(&command);
            if (stop)
                break;
        } else if (which == self.workers) {
            s_on_worker_message(&self);
        } else if (which == self.tasks || which == self.inproc) {
            s_on_task_message(&self, which);
        }
        int64_t now = lyc_mono_us();
        if (now >= self.next_expiry_us) {
            s_expire_tasks(&self, now);
            self.next_expiry_us = now + 10 * 1000;
        }
        if (now >= self.next_heartbeat_us) {
            s_heartbeat_workers(&self, now);
            self.next_heartbeat_us = now + LYC_HEARTBEAT_INTERVAL_MS * 1000;
            self.table_changed = 1; /* in-flight counts move all the time */
        }
        if (self.table_changed)
            s_publish(&self);
    }
    zpoller_destroy(&poller);
    s_broker_fini(&self);
}

zactor_t *lyc_broker_new(lyc_broker_args_t *args)
{
    args->failed = 0;
    /* zactor_new returns after the actor's first signal, so `failed` is settled. */
    zactor_t *actor = zactor_new(s_broker_actor, args);
    if (actor && args->failed)
        zactor_destroy(&actor);
    return actor;
}
