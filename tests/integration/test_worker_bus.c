/*
 * test_worker_bus.c - a real worker (lyceum_worker_lib's loop in a thread)
 * against a fake router made of a real ZeroMQ ROUTER socket over TCP:
 * registration, heartbeats, TASK -> ANSWER, re-registration on request and
 * after a silent router, capacity and the bounded queue, and the drain.
 *
 * One test runs the built lyceum-worker binary instead (fork/exec) to check
 * the command line, SIGTERM's drain and the exit codes.
 *
 * The in-process worker runs a test backend plugged in through the backend
 * interface:
 * it answers "echo: <question>" after sleeping the number of milliseconds
 * the question starts with ("300 ms please" sleeps 300 ms).
 */
#include "testkit.h"

#include "backend.h"
#include "bus.h"
#include "bus_protocol.h"
#include "clock.h"
#include "settings.h"
#include "worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the test backend -------------------------------------------------- */

static void *s_echo_new(const lyc_backend_env_t *env)
{
    return (void *) env;
}

static void s_echo_destroy(void *self)
{
}

static int s_echo_answer(void *self, const lyc_task_t *task, lyc_answer_t *out)
{
    const char *question = lyc_task_last_user(task);
    long sleep_ms = question ? strtol(question, NULL, 10) : 0;
    if (sleep_ms > 0)
        usleep((useconds_t) sleep_ms * 1000);
    char text[512];
    int n = snprintf(text, sizeof text, "echo: %s", question ? question : "");
    lyc_answer_set_content(out, text, (size_t) n);
    lyc_answer_set_usage(out, 100, 10);
    return 0;
}

static const lyc_backend_ops_t s_echo = {
    .name = "echo",
    .new = s_echo_new,
    .answer = s_echo_answer,
    .destroy = s_echo_destroy,
};

/* ---- the worker in a thread -------------------------------------------- */

typedef struct {
    lyc_confdoc_t *doc;
    lyc_settings_t settings;
    lyc_model_config_t model;
    lyc_backend_env_t *env;
    lyc_worker_t *worker;
    pthread_t thread;
    int rc;
    zsock_t *router;
    char endpoint[64];
    zframe_t *identity; /* the worker's current DEALER identity */
    int64_t last_ping_us;
} s_fixture_t;

static void *s_run(void *arg)
{
    s_fixture_t *f = arg;
    f->rc = lyc_worker_run(f->worker);
    return NULL;
}

static void s_start(s_fixture_t *f, int capacity, size_t queue)
{
    char err[512], yaml[512];
    memset(f, 0, sizeof *f);
    f->router = zsock_new(ZMQ_ROUTER);
    lyc_bus_socket_setup(f->router);
    zsock_set_rcvtimeo(f->router, 100);
    int port = zsock_bind(f->router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    snprintf(f->endpoint, sizeof f->endpoint, "tcp://127.0.0.1:%d", port);

    snprintf(yaml, sizeof yaml,
             "models:\n  - name: echo-model\n    backend: replay\n    role: teacher\n"
             "    capacity: %d\n    price_in: 1.5\n    price_out: 3\n",
             capacity);
    lyc_confdoc_t *defaults = lyc_settings_load(NULL, NULL, &f->settings, err, sizeof err);
    ck_assert_ptr_nonnull(defaults);
    lyc_confdoc_destroy(&defaults);
    f->doc = lyc_confdoc_parse(yaml, strlen(yaml), "test.yaml", err, sizeof err);
    ck_assert_int_eq(lyc_model_config_load(f->doc, 0, &f->model, err, sizeof err), 0);
    f->env = lyc_backend_env_new(&f->model, &f->settings, &s_echo, err, sizeof err);
    ck_assert_msg(f->env != NULL, "%s", err);
    /* The first address is unused: the worker must serve every router it is given. */
    char endpoints[160];
    snprintf(endpoints, sizeof endpoints, "%s, tcp://127.0.0.1:1", f->endpoint);
    lyc_worker_config_t config = {.settings = &f->settings,
                                  .model = &f->model,
                                  .env = f->env,
                                  .worker_id = "echo#test",
                                  .endpoints = endpoints,
                                  .queue = queue,
                                  .drain_timeout_ms = 10000};
    f->worker = lyc_worker_new(&config, err, sizeof err);
    ck_assert_msg(f->worker != NULL, "%s", err);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, s_run, f), 0);
}

/* Frees everything; the worker's thread has ended. */
static void s_teardown(s_fixture_t *f)
{
    lyc_worker_destroy(&f->worker);
    lyc_backend_env_destroy(&f->env);
    lyc_model_config_free(&f->model);
    lyc_settings_free(&f->settings);
    lyc_confdoc_destroy(&f->doc);
    zframe_destroy(&f->identity);
    zsock_destroy(&f->router);
}

/* Stops the worker (drain), waits for it, frees everything; returns its result. */
static int s_finish(s_fixture_t *f)
{
    lyc_worker_stop(f->worker);
    pthread_join(f->thread, NULL);
    s_teardown(f);
    return f->rc;
}

/* ---- the fake router -------------------------------------------------- */

/* Sends msg to the worker's current identity. */
static void s_send(s_fixture_t *f, lyc_msg_type_t type, const ProtobufCMessage *msg)
{
    ck_assert_ptr_nonnull(f->identity);
    zmsg_t *route = zmsg_new();
    zframe_t *identity = zframe_dup(f->identity);
    zmsg_append(route, &identity);
    ck_assert_int_eq(lyc_bus_send(f->router, route, type, "trace-x", msg), 0);
    zmsg_destroy(&route);
}

static void s_ping(s_fixture_t *f)
{
    Lyceum__V1__WorkerHeartbeat hb = LYCEUM__V1__WORKER_HEARTBEAT__INIT;
    s_send(f, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, &hb.base);
    f->last_ping_us = lyc_mono_us();
}

/* Waits up to timeout_ms for a message of `type` from the worker, keeping
 * the worker's router link alive with heartbeats when keepalive is set.
 * Returns 1 with *out filled, or 0 on time-out. Other messages are dropped. */
static int s_expect(s_fixture_t *f, lyc_msg_type_t type, int timeout_ms, int keepalive,
                    lyc_bus_msg_t *out)
{
    int64_t until = lyc_mono_us() + (int64_t) timeout_ms * 1000;
    while (lyc_mono_us() < until) {
        if (keepalive && f->identity && lyc_mono_us() - f->last_ping_us > 500 * 1000)
            s_ping(f);
        lyc_bus_msg_t msg;
        if (lyc_bus_recv(f->router, &msg) != 1)
            continue;
        zframe_t *id = zmsg_first(msg.route);
        if (!f->identity || !zframe_eq(id, f->identity)) {
            zframe_destroy(&f->identity);
            f->identity = zframe_dup(id);
        }
        if (msg.env.type == type) {
            *out = msg;
            return 1;
        }
        lyc_bus_msg_clear(&msg);
    }
    return 0;
}

static void s_task(s_fixture_t *f, const char *task_id, const char *question)
{
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    user.role = "user";
    user.content = (char *) question;
    Lyceum__V1__ChatMessage *messages[] = {&user};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = (char *) task_id;
    task.trace_id = "trace-x";
    task.model = "echo-model";
    task.messages = messages;
    task.n_messages = 1;
    task.deadline_ms = 10000;
    s_send(f, LYCEUM__V1__MESSAGE_TYPE__TASK, &task.base);
}

static Lyceum__V1__Answer *s_answer_of(lyc_bus_msg_t *msg)
{
    return (Lyceum__V1__Answer *) msg->env.payload;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_register_heartbeat_task_answer)
{
    s_fixture_t f;
    s_start(&f, 2, 0);
    lyc_bus_msg_t msg;
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 3000, 1, &msg));
    Lyceum__V1__WorkerRegister *reg = (Lyceum__V1__WorkerRegister *) msg.env.payload;
    ck_assert_str_eq(reg->worker_id, "echo#test");
    ck_assert_str_eq(reg->model, "echo-model");
    ck_assert_str_eq(reg->backend, "echo");
    ck_assert_uint_eq(reg->capacity, 2);
    ck_assert_double_eq(reg->price_in_per_mtok, 1.5);
    ck_assert_double_eq(reg->price_out_per_mtok, 3.0);
    ck_assert_int_eq(reg->role, LYCEUM__V1__ROLE__ROLE_TEACHER);
    lyc_bus_msg_clear(&msg);

    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, 2500, 1, &msg));
    Lyceum__V1__WorkerHeartbeat *hb = (Lyceum__V1__WorkerHeartbeat *) msg.env.payload;
    ck_assert_str_eq(hb->worker_id, "echo#test");
    ck_assert_uint_eq(hb->capacity, 2);
    ck_assert(!hb->draining);
    lyc_bus_msg_clear(&msg);

    s_task(&f, "task-1", "What is up?");
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 3000, 1, &msg));
    Lyceum__V1__Answer *a = s_answer_of(&msg);
    ck_assert_str_eq(a->task_id, "task-1");
    ck_assert_str_eq(a->trace_id, "trace-x");
    ck_assert_str_eq(a->model, "echo-model");
    ck_assert_str_eq(a->worker_id, "echo#test");
    ck_assert_str_eq(a->content, "echo: What is up?");
    ck_assert_ptr_null(a->error);
    ck_assert_double_eq_tol(a->cost_usd, (100 * 1.5 + 10 * 3.0) / 1e6, 1e-12);
    lyc_bus_msg_clear(&msg);

    /* A task for another model is refused, not answered by the wrong model. */
    Lyceum__V1__Task wrong = LYCEUM__V1__TASK__INIT;
    wrong.task_id = "task-wrong";
    wrong.model = "other-model";
    s_send(&f, LYCEUM__V1__MESSAGE_TYPE__TASK, &wrong.base);
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 3000, 1, &msg));
    ck_assert_int_eq(s_answer_of(&msg)->error->code, LYCEUM__V1__ERROR_CODE__ERROR_BAD_REQUEST);
    lyc_bus_msg_clear(&msg);

    /* "I do not know you": an empty WORKER_REGISTER makes it register again. */
    Lyceum__V1__WorkerRegister empty = LYCEUM__V1__WORKER_REGISTER__INIT;
    s_send(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, &empty.base);
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 2000, 1, &msg));
    ck_assert_str_eq(((Lyceum__V1__WorkerRegister *) msg.env.payload)->worker_id, "echo#test");
    lyc_bus_msg_clear(&msg);

    ck_assert_int_eq(s_finish(&f), LYC_WORKER_DRAINED);
}
END_TEST

START_TEST(test_silent_router_means_reconnect_and_register)
{
    s_fixture_t f;
    s_start(&f, 1, 0);
    lyc_bus_msg_t msg;
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 3000, 0, &msg));
    zframe_t *first = zframe_dup(zmsg_first(msg.route));
    lyc_bus_msg_clear(&msg);
    int64_t start = lyc_mono_us();
    /* No heartbeats from us: after 3 silent intervals it reconnects. */
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 6000, 0, &msg));
    int64_t after_ms = (lyc_mono_us() - start) / 1000;
    ck_assert_msg(after_ms >= 2500, "re-registered after only %lld ms", (long long) after_ms);
    ck_assert(!zframe_eq(first, zmsg_first(msg.route))); /* a new socket */
    zframe_destroy(&first);
    lyc_bus_msg_clear(&msg);
    ck_assert_int_eq(s_finish(&f), LYC_WORKER_DRAINED);
}
END_TEST

START_TEST(test_capacity_and_bounded_queue)
{
    s_fixture_t f;
    s_start(&f, 2, 1); /* two calls at once, one waiting */
    lyc_bus_msg_t msg;
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 3000, 1, &msg));
    lyc_bus_msg_clear(&msg);

    int64_t start = lyc_mono_us();
    s_task(&f, "t1", "1200 ms");
    s_task(&f, "t2", "1200 ms");
    s_task(&f, "t3", "1200 ms");
    s_task(&f, "t4", "1200 ms");
    /* t4 finds both threads busy and the queue full: refused at once. */
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 3000, 1, &msg));
    Lyceum__V1__Answer *a = s_answer_of(&msg);
    ck_assert_str_eq(a->task_id, "t4");
    ck_assert_int_eq(a->error->code, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE);
    ck_assert(a->error->retryable);
    ck_assert_int_lt((lyc_mono_us() - start) / 1000, 500);
    lyc_bus_msg_clear(&msg);

    /* The heartbeat counts the busy threads and the waiting task. */
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, 1500, 1, &msg));
    ck_assert_uint_eq(((Lyceum__V1__WorkerHeartbeat *) msg.env.payload)->in_flight, 3);
    lyc_bus_msg_clear(&msg);

    int done[4] = {0};
    for (int i = 0; i < 3; i++) {
        ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 4000, 1, &msg));
        a = s_answer_of(&msg);
        ck_assert_ptr_null(a->error);
        done[a->task_id[1] - '1'] = 1;
        lyc_bus_msg_clear(&msg);
    }
    ck_assert(done[0] && done[1] && done[2] && !done[3]);
    /* The queued task waited for a thread: two rounds of 1200 ms. */
    ck_assert_int_ge((lyc_mono_us() - start) / 1000, 2350);
    ck_assert_int_eq(s_finish(&f), LYC_WORKER_DRAINED);
}
END_TEST

START_TEST(test_drain_finishes_in_flight_and_deregisters)
{
    s_fixture_t f;
    s_start(&f, 2, 4);
    lyc_bus_msg_t msg;
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 3000, 1, &msg));
    lyc_bus_msg_clear(&msg);
    s_task(&f, "slow-1", "800 ms");
    s_task(&f, "slow-2", "800 ms");
    s_task(&f, "queued", "800 ms");
    usleep(200 * 1000); /* let them arrive */

    lyc_worker_stop(f.worker); /* what SIGTERM does */
    /* The queued task comes back at once, retryable, to go elsewhere. */
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 2000, 1, &msg));
    ck_assert_str_eq(s_answer_of(&msg)->task_id, "queued");
    ck_assert_int_eq(s_answer_of(&msg)->error->code, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE);
    ck_assert(s_answer_of(&msg)->error->retryable);
    lyc_bus_msg_clear(&msg);
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_HEARTBEAT, 1500, 1, &msg));
    ck_assert(((Lyceum__V1__WorkerHeartbeat *) msg.env.payload)->draining);
    lyc_bus_msg_clear(&msg);

    /* New work is refused while draining. */
    s_task(&f, "late", "hello");
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 2000, 1, &msg));
    ck_assert_str_eq(s_answer_of(&msg)->task_id, "late");
    ck_assert_int_eq(s_answer_of(&msg)->error->code, LYCEUM__V1__ERROR_CODE__ERROR_UNAVAILABLE);
    lyc_bus_msg_clear(&msg);

    /* The calls in flight are finished and answered, then it says goodbye. */
    for (int i = 0; i < 2; i++) {
        ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 3000, 1, &msg));
        ck_assert_ptr_nonnull(strstr(s_answer_of(&msg)->task_id, "slow-"));
        ck_assert_ptr_null(s_answer_of(&msg)->error);
        ck_assert_str_eq(s_answer_of(&msg)->content, "echo: 800 ms");
        lyc_bus_msg_clear(&msg);
    }
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_DEREGISTER, 3000, 1, &msg));
    Lyceum__V1__WorkerDeregister *d = (Lyceum__V1__WorkerDeregister *) msg.env.payload;
    ck_assert_str_eq(d->worker_id, "echo#test");
    ck_assert_str_eq(d->reason, "drained");
    lyc_bus_msg_clear(&msg);
    pthread_join(f.thread, NULL);
    ck_assert_int_eq(f.rc, LYC_WORKER_DRAINED);
    s_teardown(&f);
}
END_TEST

START_TEST(test_second_stop_cuts_the_drain)
{
    s_fixture_t f;
    s_start(&f, 1, 0);
    lyc_bus_msg_t msg;
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 3000, 1, &msg));
    lyc_bus_msg_clear(&msg);
    s_task(&f, "long", "1500 ms");
    usleep(200 * 1000);
    int64_t start = lyc_mono_us();
    lyc_worker_stop(f.worker);
    lyc_worker_stop(f.worker);
    pthread_join(f.thread, NULL);
    ck_assert_int_eq(f.rc, LYC_WORKER_CUT);
    ck_assert_int_lt((lyc_mono_us() - start) / 1000, 1000);
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_DEREGISTER, 2000, 0, &msg));
    lyc_bus_msg_clear(&msg);
    s_teardown(&f); /* waits for the call still running (the process would exit instead) */
}
END_TEST

START_TEST(test_endpoint_list_is_checked)
{
    char err[256];
    ck_assert_int_eq(lyc_worker_check_endpoints("tcp://127.0.0.1:5701", err, sizeof err), 0);
    ck_assert_int_eq(
        lyc_worker_check_endpoints(" tcp://127.0.0.1:5701 ,tcp://[::1]:5702, ", err, sizeof err),
        0);
    ck_assert_int_eq(lyc_worker_check_endpoints("tcp://127.0.0.1:5701, bogus", err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "'bogus'"));
    ck_assert_int_eq(lyc_worker_check_endpoints(" , ", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "bus.workers"));
}
END_TEST

/* ---- the binary --------------------------------------------------------- */

/* Starts lyceum-worker with the arguments; returns its pid. */
static pid_t s_spawn(char *const argv[])
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execv(LYC_WORKER_BINARY, argv);
        _exit(127);
    }
    return pid;
}

/* Waits up to timeout_ms for the process; returns its exit status, or -1
 * (after killing it) when it did not end in time or died of a signal. */
static int s_wait_exit(pid_t pid, int timeout_ms)
{
    int status = 0;
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(20 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

START_TEST(test_binary_serves_and_drains_on_sigterm)
{
    s_fixture_t f;
    memset(&f, 0, sizeof f);
    f.router = zsock_new(ZMQ_ROUTER);
    lyc_bus_socket_setup(f.router);
    zsock_set_rcvtimeo(f.router, 100);
    int port = zsock_bind(f.router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);

    char csv[512], path[64], yaml[1024];
    lyc_test_source_path(csv, sizeof csv, "tests/data/worker/mmlu_tricky.csv");
    snprintf(path, sizeof path, "/tmp/lyc-test-worker-bus-%d.yaml", (int) getpid());
    snprintf(yaml, sizeof yaml,
             "bus:\n  workers: tcp://127.0.0.1:%d\nmodels:\n  - name: model-a\n"
             "    backend: replay\n    capacity: 2\n    replay:\n      files: ['%s']\n",
             port, csv);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(yaml, file);
    fclose(file);

    /* Configuration errors exit with 2. */
    char *bad_model[] = {"lyceum-worker", "-c", path, "--model", "nope", NULL};
    ck_assert_int_eq(s_wait_exit(s_spawn(bad_model), 10000), 2);
    char *no_config[] = {"lyceum-worker", "--model", "model-a", NULL};
    ck_assert_int_eq(s_wait_exit(s_spawn(no_config), 10000), 2);

    char *argv[] = {"lyceum-worker", "-c", path, "--model", "model-a", "--id", "bin#1", NULL};
    pid_t pid = s_spawn(argv);
    lyc_bus_msg_t msg;
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_REGISTER, 10000, 1, &msg));
    ck_assert_str_eq(((Lyceum__V1__WorkerRegister *) msg.env.payload)->worker_id, "bin#1");
    ck_assert_str_eq(((Lyceum__V1__WorkerRegister *) msg.env.payload)->backend, "replay");
    lyc_bus_msg_clear(&msg);

    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    user.role = "user";
    user.content = "plain   question without quotes";
    Lyceum__V1__ChatMessage *messages[] = {&user};
    Lyceum__V1__Task task = LYCEUM__V1__TASK__INIT;
    task.task_id = "bin-task";
    task.messages = messages;
    task.n_messages = 1;
    s_send(&f, LYCEUM__V1__MESSAGE_TYPE__TASK, &task.base);
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__ANSWER, 5000, 1, &msg));
    ck_assert_str_eq(s_answer_of(&msg)->task_id, "bin-task");
    ck_assert_str_eq(s_answer_of(&msg)->content, "multi\nline \"answer\"");
    ck_assert_int_eq(s_answer_of(&msg)->correct, LYCEUM__V1__CORRECTNESS__CORRECTNESS_RIGHT);
    lyc_bus_msg_clear(&msg);

    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert(s_expect(&f, LYCEUM__V1__MESSAGE_TYPE__WORKER_DEREGISTER, 5000, 1, &msg));
    ck_assert_str_eq(((Lyceum__V1__WorkerDeregister *) msg.env.payload)->worker_id, "bin#1");
    lyc_bus_msg_clear(&msg);
    ck_assert_int_eq(s_wait_exit(pid, 10000), 0);

    remove(path);
    zframe_destroy(&f.identity);
    zsock_destroy(&f.router);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("worker_bus");
    TCase *tc = tcase_create("bus");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_register_heartbeat_task_answer);
    tcase_add_test(tc, test_silent_router_means_reconnect_and_register);
    tcase_add_test(tc, test_capacity_and_bounded_queue);
    tcase_add_test(tc, test_drain_finishes_in_flight_and_deregisters);
    tcase_add_test(tc, test_second_stop_cuts_the_drain);
    tcase_add_test(tc, test_endpoint_list_is_checked);
    tcase_add_test(tc, test_binary_serves_and_drains_on_sigterm);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
