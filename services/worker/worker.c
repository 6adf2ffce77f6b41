/*
 * worker.c - the worker's main loop: router links, the task queue and the
 * drain (see worker.h).
 *
 * One thread (the caller of lyc_worker_run) owns every bus socket. It polls
 * the router links and the pool's result socket at least every
 * S_TICK_MS, so heartbeats, liveness checks and a stop request are never
 * late by more than that.
 */
#include "worker.h"

#include "bus.h"
#include "bus_protocol.h"
#include "bus_security.h"
#include "clock.h"
#include "log.h"
#include "pool.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest the loop sleeps in one poll. */
#define S_TICK_MS 100
/* Most messages read from one socket per turn, so no router starves another. */
#define S_BATCH 64

/* The worker's metric families (worker.h); all NULL without a registry. */
typedef struct {
    lyc_counter_t *calls, *cost, *tokens;
    lyc_histogram_t *seconds;
    lyc_gauge_t *in_flight, *queue, *capacity;
} s_metrics_t;

/* One router: its address and our DEALER to it. */
typedef struct {
    char *endpoint;
    zsock_t *sock;             /* NULL while waiting to reconnect */
    int64_t last_heard_us;     /* anything from the router counts */
    int64_t next_heartbeat_us; /* when our next heartbeat is due */
    int64_t reconnect_at_us;   /* when sock is NULL: when to open it again */
    int64_t backoff_ms;        /* the next reconnect delay */
} s_link_t;

struct lyc_worker_t {
    const lyc_settings_t *settings;
    const lyc_model_config_t *model;
    const lyc_backend_env_t *env;
    char worker_id[256];
    s_link_t *links;
    size_t n_links;
    lyc_bus_security_t *security; /* CURVE of the links (bus.curve.*) */
    lyc_pool_t *pool;
    lyc_job_t **queue; /* ring of tasks waiting for a thread */
    size_t q_cap, q_head, q_len;
    zmq_pollitem_t *items; /* poll set: the pool's results, then the open links */
    size_t *link_of;       /* items[k] is links[link_of[k]] */
    long drain_timeout_ms;
    atomic_int stops; /* stop requests so far */
    uint64_t served;
    int draining;
    int64_t drain_deadline_us;
    s_metrics_t m;
};

/* ---- construction ------------------------------------------------------ */

static int s_declare_metrics(lyc_worker_t *self, lyc_metrics_t *r)
{
    s_metrics_t *m = &self->m;
    m->calls = lyc_metrics_counter(r, "lyceum_worker_calls_total",
                                   "Tasks answered, by model and outcome", "model,outcome");
    m->seconds = lyc_metrics_histogram(r, "lyceum_worker_call_seconds",
                                       "Backend call latency by model", "model", NULL, 0);
    m->cost = lyc_metrics_counter(r, "lyceum_worker_cost_usd_total", "USD the calls cost", "model");
    m->tokens =
        lyc_metrics_counter(r, "lyceum_worker_tokens_total",
                            "Tokens used, by model and kind (prompt, completion)", "model,kind");
    m->in_flight = lyc_metrics_gauge(r, "lyceum_worker_in_flight",
                                     "Calls running on the worker's threads", "model");
    m->queue =
        lyc_metrics_gauge(r, "lyceum_worker_queue_depth", "Tasks waiting for a thread", "model");
    m->capacity =
        lyc_metrics_gauge(r, "lyceum_worker_capacity", "Calls the worker runs at once", "model");
    if (!m->calls || !m->seconds || !m->cost || !m->tokens || !m->in_flight || !m->queue ||
        !m->capacity)
        return -1;
    const char *model[] = {self->model->name};
    return lyc_gauge_set(m->capacity, model, (double) self->model->capacity);
}

/* Counts one answered task: its outcome, and for a backend call its latency,
 * cost and tokens. */
static void s_count_call(lyc_worker_t *self, const lyc_answer_t *answer, int called)
{
    static const char *const outcomes[] = {"ok",          "bad_request", "timeout", "backend",
                                           "unavailable", "abstained",   "budget",  "internal"};
    if (!self->m.calls)
        return;
    unsigned code = answer->error ? (unsigned) answer->error->code : 0;
    const char *labels[] = {self->model->name, code < 8 ? outcomes[code] : "internal"};
    lyc_counter_add(self->m.calls, labels, 1);
    if (!called)
        return;
    const char *model[] = {self->model->name};
    lyc_histogram_observe(self->m.seconds, model, answer->latency_ms / 1000.0);
    lyc_counter_add(self->m.cost, model, answer->cost_usd);
    if (answer->usage) {
        const char *in[] = {self->model->name, "prompt"},
                   *out[] = {self->model->name, "completion"};
        lyc_counter_add(self->m.tokens, in, answer->usage->prompt_tokens);
        lyc_counter_add(self->m.tokens, out, answer->usage->completion_tokens);
    }
}

/* The gauges, once per turn of the loop. */
static void s_update_gauges(lyc_worker_t *self)
{
    const char *model[] = {self->model->name};
    if (!self->m.in_flight)
        return;
    lyc_gauge_set(self->m.in_flight, model, (double) lyc_pool_busy(self->pool));
    lyc_gauge_set(self->m.queue, model, (double) self->q_len);
}

static void s_default_id(const lyc_model_config_t *model, char *buf, size_t cap)
{
    char host[128] = "localhost";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(buf, cap, "%s#%s:%ld", model->name, host, (long) getpid());
}

/* Splits "a, b,c" into links. Returns 0, or -1 with the reason in err. */
static int s_parse_endpoints(lyc_worker_t *self, const char *list, char *err, size_t errcap)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    self->links = calloc(cap, sizeof *self->links);
    if (!self->links) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        s_link_t *link = &self->links[self->n_links];
        if (!(link->endpoint = strndup(p, len))) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        link->backoff_ms = LYC_RECONNECT_MIN_MS;
        self->n_links++;
        p += len;
    }
    if (self->n_links == 0) {
        snprintf(err, errcap, "bus.workers names no router address");
        return -1;
    }
    return 0;
}

int lyc_worker_check_endpoints(const char *list, char *err, size_t errcap)
{
    lyc_worker_t probe;
    memset(&probe, 0, sizeof probe);
    int rc = s_parse_endpoints(&probe, list, err, errcap);
    zsock_t *sock = rc == 0 ? zsock_new(ZMQ_DEALER) : NULL;
    if (rc == 0 && !sock) {
        snprintf(err, errcap, "cannot make a ZeroMQ socket");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < probe.n_links; i++) {
        if (zsock_connect(sock, "%s", probe.links[i].endpoint) != 0) {
            snprintf(err, errcap, "bus.workers: cannot connect to '%s': %s",
                     probe.links[i].endpoint, zmq_strerror(zmq_errno()));
            rc = -1;
        }
    }
    if (sock)
        zsock_set_linger(sock, 0);
    zsock_destroy(&sock);
    for (size_t i = 0; i < probe.n_links; i++)
        free(probe.links[i].endpoint);
    free(probe.links);
    return rc;
}

lyc_worker_t *lyc_worker_new(const lyc_worker_config_t *config, char *err, size_t errcap)
{
    lyc_worker_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    self->settings = config->settings;
    self->model = config->model;
    self->env = config->env;
    self->drain_timeout_ms =
        config->drain_timeout_ms > 0 ? config->drain_timeout_ms : LYC_WORKER_DRAIN_TIMEOUT_MS;
    if (config->worker_id && *config->worker_id)
        snprintf(self->worker_id, sizeof self->worker_id, "%s", config->worker_id);
    else
        s_default_id(self->model, self->worker_id, sizeof self->worker_id);
    const char *endpoints = config->endpoints ? config->endpoints : self->settings->bus_workers;
    if (s_parse_endpoints(self, endpoints, err, errcap) != 0)
        goto out_destroy;
    self->security = lyc_bus_security_new(self->settings, LYC_BUS_SECURITY_CLIENT, err, errcap);
    if (!self->security)
        goto out_destroy;
    self->q_cap = config->queue ? config->queue : 2 * (size_t) self->model->capacity;
    self->queue = calloc(self->q_cap, sizeof *self->queue);
    self->items = calloc(self->n_links + 1, sizeof *self->items);
    self->link_of = calloc(self->n_links + 1, sizeof *self->link_of);
    if (!self->queue || !self->items || !self->link_of) {
        snprintf(err, errcap, "out of memory");
        goto out_destroy;
    }
    self->pool =
        lyc_pool_new(self->env, (size_t) self->model->capacity, self->worker_id, err, errcap);
    if (!self->pool)
        goto out_destroy;
    if (config->metrics && s_declare_metrics(self, config->metrics) != 0) {
        snprintf(err, errcap, "cannot declare the worker's metrics");
        goto out_destroy;
    }
    return self;
out_destroy:
    lyc_worker_destroy(&self);
    return NULL;
}

static void s_link_close(s_link_t *link, int linger_ms)
{
    if (!link->sock)
        return;
    zsock_set_linger(link->sock, linger_ms);
    zsock_destroy(&link->sock);
}

void lyc_worker_destroy(lyc_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_worker_t *self = *self_p;
    lyc_pool_destroy(&self->pool);
    for (size_t i = 0; i < self->q_len; i++)
        lyc_job_destroy(&self->queue[(self->q_head + i) % self->q_cap]);
    free(self->queue);
    free(self->items);
    free(self->link_of);
    for (size_t i = 0; i < self->n_links; i++) {
        s_link_close(&self->links[i], 1000); /* let the last messages out */
        free(self->links[i].endpoint);
    }
    free(self->links);
    lyc_bus_security_destroy(&self->security);
    free(self);
    *self_p = NULL;
}

const char *lyc_worker_id(const lyc_worker_t *self)
{
    return self->worker_id;
}

void lyc_worker_stop(lyc_worker_t *self)
{
    atomic_fetch_add(&self->stops, 1);
}

/* ---- messages to the routers ----------------------------------------- */

static int s_send(s_link_t *link, lyc_msg_type_t type, const char *trace,
                  const ProtobufCMessage *msg)
{
    return link->sock ? lyc_bus_send(link->sock, NULL, type, trace, msg) : -1;
}

static void s_register(lyc_worker_t *self, s_link_t *link)
{
    Lyceum__V1__WorkerRegister reg = LYCEUM__V1__WORKER_REGISTER__INIT;
    reg.worker_id = self->worker_id;
    reg.model = self->model->name;
    reg.backend = (char *) lyc_backend_env_kind(self->env);
    reg.capacity = (uint32_t) self->model->capacity;
    reg.price_in_per_mtok = self->model->price_in;
    reg.price_out_per_mtok = self->model->price_out;
    reg.role = (Lyceum__V1__Role) lyc_role_parse(self->model->role);
    if (s_send(link, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, NULL, &reg.base) == 0)
        LYC_INFO(NULL, "worker %s: registered with %s", self->worker_id, link->endpoint);
}

static void s_heartbeat(lyc_worker_t *self, s_link_t *link)
{
    Lyceum__V1__WorkerHeartbeat hb = LYCEUM__V1__WORKER_HEARTBEAT__INIT;
    hb.worker_id = self->worker_id;
    hb.model = self->model->name;
    hb.in_flight = (uint32_t) (lyc_pool_busy(self->pool) + self->q_len);
    hb.capacity = (uint32_t) self->model->capacity;
    hb.served = self->served;
    hb.draining = self->draining != 0;
    s_send(link, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, NULL, &hb.base);
}

static void s_deregister_all(lyc_worker_t *self, const char *reason)
{
    Lyceum__V1__WorkerDeregister dereg = LYCEUM__V1__WORKER_DEREGISTER__INIT;
    dereg.worker_id = self->worker_id;
    dereg.model = self->model->name;
    dereg.reason = (char *) reason;
    for (size_t i = 0; i < self->n_links; i++)
        s_send(&self->links[i], LYCEUM__V1__MESSAGE_TYPE__WORKER_DEREGISTER, NULL, &dereg.base);
    LYC_INFO(NULL, "worker %s: deregistered (%s), served %llu calls", self->worker_id, reason,
             (unsigned long long) self->served);
}

/* Answers a task at once with an error, without a call. */
static void s_reply_error(lyc_worker_t *self, s_link_t *link, const lyc_task_t *task,
                          Lyceum__V1__ErrorCode code, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void s_reply_error(lyc_worker_t *self, s_link_t *link, const lyc_task_t *task,
                          Lyceum__V1__ErrorCode code, int retryable, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    lyc_answer_t answer = LYCEUM__V1__ANSWER__INIT;
    answer.task_id = task->task_id;
    answer.trace_id = task->trace_id;
    answer.model = self->model->name;
    answer.worker_id = self->worker_id;
    lyc_answer_set_error(&answer, code, retryable, "%s", message);
    LYC_DEBUG(task->trace_id, "worker: task %s refused: %s", task->task_id, message);
    s_count_call(self, &answer, 0);
    s_send(link, LYCEUM__V1__MESSAGE_TYPE__ANSWER, task->trace_id, &answer.base);
    lyc_answer_release(&answer);
}

/* ---- tasks ------------------------------------------------------------- */

static int64_t s_deadline_ms(const lyc_worker_t *self, const lyc_task_t *task)
{
    return task->deadline_ms ? (int64_t) task->deadline_ms : self->model->timeout_ms;
}

/* Sends an answered job back on the link its task came by and frees it. */
static void s_send_answer(lyc_worker_t *self, lyc_job_t **job_p)
{
    lyc_job_t *job = *job_p;
    const lyc_task_t *task = lyc_job_task(job);
    s_link_t *link = &self->links[job->link];
    if (s_send(link, LYCEUM__V1__MESSAGE_TYPE__ANSWER, task->trace_id, &job->answer.base) != 0)
        LYC_WARN(task->trace_id, "worker: answer to task %s lost: router %s unreachable",
                 task->task_id, link->endpoint);
    lyc_job_destroy(job_p);
}

/* Gives waiting tasks to idle threads; a task past its deadline is answered
 * with ERROR_TIMEOUT instead. */
static void s_feed_pool(lyc_worker_t *self)
{
    while (self->q_len > 0 && lyc_pool_idle(self->pool) > 0) {
        lyc_job_t *job = self->queue[self->q_head];
        const lyc_task_t *task = lyc_job_task(job);
        int64_t waited_ms = (lyc_mono_us() - job->received_us) / 1000;
        if (waited_ms >= s_deadline_ms(self, task)) {
            s_reply_error(
                self, &self->links[job->link], task, LYCEUM__V1__ERROR_CODE__ERROR_TIMEOUT, 0,
                "waited %lld ms in the worker's queue, past the deadline", (long long) waited_ms);
            lyc_job_destroy(&job);
        } else if (lyc_pool_submit(self->pool, &job) != 0) {
            return; /* logged; try again next turn */
        }
        self->queue[self->q_head] = NULL;
        self->q_head = (self->q_head + 1) % self->q_cap;
        self->q_len--;
    }
}

/* Answers every waiting task with ERROR_UNAVAILABLE (the drain). */
static void s_flush_queue(lyc_worker_t *self, const char *why)
{
    while (self->q_len > 0) {
        lyc_job_t *job = self->queue[self->q_head];
        s_reply_error(self, &self->links[job->link], lyc_job_task(job),
                      LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1, "%s", why);
        lyc_job_destroy(&job);
        self->queue[self->q_head] = NULL;
        self->q_head = (self->q_head + 1) % self->q_cap;
        self->q_len--;
    }
}

/* Queues a job, or hands it straight to an idle thread when none waits.
 * Returns 0, or -1 when the queue is full (the job is untouched). */
static int s_enqueue(lyc_worker_t *self, lyc_job_t **job_p)
{
    if (self->q_len == 0 && lyc_pool_idle(self->pool) > 0 &&
        lyc_pool_submit(self->pool, job_p) == 0)
        return 0;
    if (self->q_len == self->q_cap)
        return -1;
    self->queue[(self->q_head + self->q_len) % self->q_cap] = *job_p;
    self->q_len++;
    *job_p = NULL;
    return 0;
}

/* Takes a TASK from link i: to a thread, to the queue, or refused. */
static void s_on_task(lyc_worker_t *self, size_t i, lyc_bus_msg_t *msg)
{
    s_link_t *link = &self->links[i];
    const lyc_task_t *task = (const lyc_task_t *) msg->env.payload;
    if (self->draining) {
        s_reply_error(self, link, task, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1,
                      "worker %s is draining", self->worker_id);
        return;
    }
    if (task->model && *task->model && strcmp(task->model, self->model->name) != 0) {
        s_reply_error(self, link, task, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST, 0,
                      "this worker serves %s, not %s", self->model->name, task->model);
        return;
    }
    lyc_job_t *job = lyc_job_new(&msg->env, i, lyc_mono_us());
    if (!job) {
        s_reply_error(self, link, task, LYCEUM__V1__ERROR_CODE__ERROR_INTERNAL, 1,
                      "worker out of memory");
        return;
    }
    if (s_enqueue(self, &job) != 0) {
        s_reply_error(self, link, lyc_job_task(job), LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE, 1,
                      "worker %s is full (%ld calls, %zu waiting)", self->worker_id,
                      self->model->capacity, self->q_len);
        lyc_job_destroy(&job);
    }
}

static void s_on_message(lyc_worker_t *self, size_t i, lyc_bus_msg_t *msg)
{
    s_link_t *link = &self->links[i];
    link->last_heard_us = lyc_mono_us();
    link->backoff_ms = LYC_RECONNECT_MIN_MS;
    switch (msg->env.type) {
    case LYCEUM__V1__MESSAGE_TYPE__TASK:
        s_on_task(self, i, msg);
        break;
    case LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER:
        s_register(self, link); /* the router does not know us */
        break;
    case LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT:
        break; /* liveness only */
    default:
        LYC_DEBUG(msg->env.trace_id, "worker: ignored %s from %s", lyc_msg_name(msg->env.type),
                  link->endpoint);
        break;
    }
}

/* Reads what link i has waiting (at most S_BATCH messages). */
static void s_read_link(lyc_worker_t *self, size_t i)
{
    for (int n = 0; n < S_BATCH; n++) {
        s_link_t *link = &self->links[i];
        if (!link->sock || !(zsock_events(link->sock) & ZMQ_POLLIN))
            return;
        lyc_bus_msg_t msg;
        int rc = lyc_bus_recv(link->sock, &msg);
        if (rc == 1)
            s_on_message(self, i, &msg);
        lyc_bus_msg_clear(&msg);
        if (rc < 0)
            return;
    }
}

/* Sends the answers of finished calls and refills the threads. */
static void s_on_results(lyc_worker_t *self)
{
    lyc_job_t *job;
    while ((job = lyc_pool_collect(self->pool))) {
        self->served++;
        s_count_call(self, &job->answer, 1);
        s_send_answer(self, &job);
    }
    s_feed_pool(self);
}

/* ---- links: connect, heartbeat, liveness ------------------------------ */

/* Opens link's DEALER and registers. Returns 0, or -1 when the address is
 * unusable (a configuration error). */
static int s_link_open(lyc_worker_t *self, s_link_t *link, int64_t now)
{
    link->sock = zsock_new(ZMQ_DEALER);
    if (!link->sock) {
        LYC_ERROR(NULL, "worker: cannot make a socket for %s", link->endpoint);
        return -1;
    }
    lyc_bus_socket_setup(link->sock);
    zsock_set_rcvtimeo(link->sock, S_TICK_MS);
    if (lyc_bus_security_client(self->security, link->sock) != 0) {
        zsock_destroy(&link->sock);
        return -1;
    }
    if (zsock_connect(link->sock, "%s", link->endpoint) != 0) {
        LYC_ERROR(NULL, "worker: cannot connect to '%s' (bus.workers)", link->endpoint);
        zsock_destroy(&link->sock);
        return -1;
    }
    link->last_heard_us = now;
    link->next_heartbeat_us = now + LYC_HEARTBEAT_INTERVAL_MS * 1000;
    s_register(self, link);
    return 0;
}

/* Closes a link whose router went silent and schedules the reconnect. */
static void s_link_lost(const lyc_worker_t *self, s_link_t *link, int64_t now)
{
    /* A router that refuses our CURVE key says nothing: it looks like this. */
    LYC_WARN(NULL, "worker: router %s silent for %d ms; reconnecting in %lld ms%s", link->endpoint,
             LYC_HEARTBEAT_LIVENESS * LYC_HEARTBEAT_INTERVAL_MS, (long long) link->backoff_ms,
             lyc_bus_security_enabled(self->security)
                 ? " (bus.curve is on: is this worker's key in the router's bus.curve.authorized?)"
                 : "");
    s_link_close(link, 0);
    link->reconnect_at_us = now + link->backoff_ms * 1000;
    link->backoff_ms *= 2;
    if (link->backoff_ms > LYC_RECONNECT_MAX_MS)
        link->backoff_ms = LYC_RECONNECT_MAX_MS;
}

/* Heartbeats, liveness and reconnects of every link. */
static int s_maintain_links(lyc_worker_t *self, int64_t now)
{
    const int64_t silence_us = (int64_t) LYC_HEARTBEAT_LIVENESS * LYC_HEARTBEAT_INTERVAL_MS * 1000;
    for (size_t i = 0; i < self->n_links; i++) {
        s_link_t *link = &self->links[i];
        if (!link->sock && now >= link->reconnect_at_us && s_link_open(self, link, now) != 0)
            return -1;
        if (!link->sock)
            continue;
        if (now - link->last_heard_us > silence_us) {
            s_link_lost(self, link, now);
            continue;
        }
        if (now >= link->next_heartbeat_us) {
            s_heartbeat(self, link);
            link->next_heartbeat_us = now + LYC_HEARTBEAT_INTERVAL_MS * 1000;
        }
    }
    return 0;
}

/* Waits up to S_TICK_MS for messages and handles them. */
static void s_poll(lyc_worker_t *self)
{
    zmq_pollitem_t *items = self->items;
    size_t *link_of = self->link_of;
    size_t n = 0;
    items[n++] = (zmq_pollitem_t){zsock_resolve(lyc_pool_results(self->pool)), 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < self->n_links; i++) {
        if (!self->links[i].sock)
            continue;
        link_of[n] = i;
        items[n++] = (zmq_pollitem_t){zsock_resolve(self->links[i].sock), 0, ZMQ_POLLIN, 0};
    }
    if (zmq_poll(items, (int) n, S_TICK_MS) <= 0)
        return; /* time-out, or a signal: the loop looks at its state again */
    if (items[0].revents & ZMQ_POLLIN)
        s_on_results(self);
    for (size_t k = 1; k < n; k++)
        if (items[k].revents & ZMQ_POLLIN)
            s_read_link(self, link_of[k]);
}

/* ---- the loop --------------------------------------------------------- */

static void s_begin_drain(lyc_worker_t *self, int64_t now)
{
    self->draining = 1;
    self->drain_deadline_us = now + (int64_t) self->drain_timeout_ms * 1000;
    LYC_INFO(NULL, "worker %s: draining: %zu calls in flight, %zu waiting (sent elsewhere)",
             self->worker_id, lyc_pool_busy(self->pool), self->q_len);
    s_flush_queue(self, "the worker is draining");
    for (size_t i = 0; i < self->n_links; i++) {
        s_heartbeat(self, &self->links[i]);
        self->links[i].next_heartbeat_us = now + LYC_HEARTBEAT_INTERVAL_MS * 1000;
    }
}

/* LYC_WORKER_DRAINED or _CUT when the worker must stop now, else -2. */
static int s_check_stop(lyc_worker_t *self, int64_t now)
{
    int stops = atomic_load(&self->stops);
    if (stops >= 2) {
        LYC_WARN(NULL, "worker %s: stopped again: exiting with %zu calls in flight",
                 self->worker_id, lyc_pool_busy(self->pool));
        s_deregister_all(self, "stopped at once");
        return LYC_WORKER_CUT;
    }
    if (stops == 1 && !self->draining)
        s_begin_drain(self, now);
    if (!self->draining)
        return -2;
    if (lyc_pool_busy(self->pool) == 0) {
        s_deregister_all(self, "drained");
        return LYC_WORKER_DRAINED;
    }
    if (now >= self->drain_deadline_us) {
        LYC_WARN(NULL, "worker %s: drain took over %ld ms: exiting with %zu calls in flight",
                 self->worker_id, self->drain_timeout_ms, lyc_pool_busy(self->pool));
        s_deregister_all(self, "drain timed out");
        return LYC_WORKER_CUT;
    }
    return -2;
}

int lyc_worker_run(lyc_worker_t *self)
{
    lyc_envelope_set_sender(self->worker_id);
    LYC_INFO(NULL, "worker %s: serving model %s (backend %s, capacity %ld, queue %zu)",
             self->worker_id, self->model->name, lyc_backend_env_kind(self->env),
             self->model->capacity, self->q_cap);
    for (;;) {
        int64_t now = lyc_mono_us();
        int stop = s_check_stop(self, now);
        if (stop != -2)
            return stop;
        if (s_maintain_links(self, now) != 0)
            return LYC_WORKER_FAILED;
        s_feed_pool(self); /* normally done as answers come; this covers a failed hand-over */
        s_poll(self);
        s_update_gauges(self);
    }
}
