/*
 * bench_learning.c - `lyceum bench learning -c FILE`: does the ecosystem get
 * the supervisor's quality at a fraction of its cost, with no human labels?
 *
 * Replays a recorded data set (the supervisor model's replay files, e.g.
 * RouteLLM's MMLU with GPT-4 and Mixtral) through the running cluster as
 * one online stream: each query once, in a seeded shuffled order, with its
 * domain label. Each reply says which model's answer came back (its
 * recorded correctness decides whether the answer was right), what the
 * query cost (every answer, every judgement, every exploration call) and
 * which calls went to the supervisor. The report compares all of it with the
 * supervisor alone on the same stream and shows the learning curve by tenth.
 *
 * The `bench:` section of the cluster file:
 *   bench:
 *     supervisor: gpt-4-1106-preview   # default: the model whose role is supervisor
 *     contaminated: path.jsonl         # prompts to drop (field eval_prompt)
 *     seed: 1                          # the order of the stream
 *     tenant: bench                    # tenant of the queries
 *     limit: 0                         # queries to send, 0 for all
 *     clients: 1                       # concurrent clients (1: a strict stream)
 */
#include "commands.h"

#include "backend.h"
#include "client.h"
#include "cluster.h"
#include "config.h"
#include "launcher.h"
#include "log.h"
#include "model_config.h"
#include "paths.h"
#include "replay_data.h"

#include <cJSON.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MAX_CLIENTS 32
#define S_TENTHS      10

/* The bench section and the command line. */
typedef struct {
    const char *path;
    char *supervisor;
    char *contaminated;
    char *tenant;
    long seed;
    long limit;
    long clients;
    int json_only;
    int keep_up;
    int timeout_s;
} s_options_t;

/* A replay model whose recorded correctness scores the answers it gives. */
typedef struct {
    char name[LYC_CLIENT_NAME_MAX];
    lyc_replay_data_t *data;
} s_scorer_t;

/* What one query brought back. */
typedef struct {
    int done, ok, correct, supervisor_correct, familiar;
    double cost, supervisor_cost;
    int calls, supervisor_calls;
} s_outcome_t;

typedef struct {
    s_options_t *o;
    char url[512];
    lyc_replay_data_t *stream; /* the supervisor's records: prompts, domains, correctness */
    s_scorer_t scorers[LYC_CLIENT_MAX_MODELS];
    size_t n_scorers;
    double sup_price_in, sup_price_out;
    size_t *order; /* record indices in stream order */
    size_t n;
    s_outcome_t *out;
    atomic_size_t next;
    atomic_size_t finished;
    char first_error[512];
} s_bench_t;

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void) sig;
    s_interrupted = 1;
}

/* ---- the data --------------------------------------------------------- */

/* splitmix64: a small, well-mixed generator for the seeded shuffle. */
static uint64_t s_next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Normalised prompts listed in the contaminated file (field eval_prompt):
 * a NULL-terminated array (caller frees each and the array). */
static char **s_load_contaminated(const char *path)
{
    size_t n = 0;
    char **list = calloc(1, sizeof *list);
    FILE *f = path && *path ? fopen(path, "r") : NULL;
    if (path && *path && !f)
        fprintf(stderr, "lyceum: cannot read %s; nothing is dropped\n", path);
    char *line = NULL;
    size_t cap = 0;
    while (f && list && getline(&line, &cap, f) > 0) {
        cJSON *row = cJSON_Parse(line);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(row, "eval_prompt");
        char *norm =
            cJSON_IsString(p) ? lyc_replay_normalize(p->valuestring, strlen(p->valuestring)) : NULL;
        char **grown = norm ? realloc(list, (n + 2) * sizeof *list) : NULL;
        if (grown) {
            list = grown;
            list[n++] = norm;
            list[n] = NULL;
        } else {
            free(norm);
        }
        cJSON_Delete(row);
    }
    free(line);
    if (f)
        fclose(f);
    return list;
}

static int s_listed(char *const *list, const char *prompt)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], prompt) == 0)
            return 1;
    return 0;
}

/* The stream: every record not contaminated, shuffled by the seed, cut to the limit. */
static int s_build_order(s_bench_t *b)
{
    char **drop = s_load_contaminated(b->o->contaminated);
    size_t total = lyc_replay_data_count(b->stream), dropped = 0;
    b->order = calloc(total ? total : 1, sizeof *b->order);
    for (size_t i = 0; drop && b->order && i < total; i++) {
        const lyc_replay_record_t *r = lyc_replay_data_record(b->stream, i);
        if (s_listed(drop, r->prompt))
            dropped++;
        else
            b->order[b->n++] = i;
    }
    for (size_t i = 0; drop && drop[i]; i++)
        free(drop[i]);
    free(drop);
    if (!b->order)
        return -1;
    uint64_t state = (uint64_t) b->o->seed;
    for (size_t i = b->n; i > 1; i--) {
        size_t j = (size_t) (s_next_random(&state) % i);
        size_t t = b->order[i - 1];
        b->order[i - 1] = b->order[j];
        b->order[j] = t;
    }
    if (b->o->limit > 0 && (size_t) b->o->limit < b->n)
        b->n = (size_t) b->o->limit;
    fprintf(stderr, "stream: %zu queries (%zu records, %zu contaminated dropped, seed %ld)\n", b->n,
            total, dropped, b->o->seed);
    return 0;
}

/* Loads the recordings of every replay model (the supervisor's is the stream). */
static int s_load_models(s_bench_t *b, const lyc_confdoc_t *doc)
{
    char err[768];
    int count = lyc_model_config_count(doc);
    for (int i = 0; i < count && b->n_scorers < LYC_CLIENT_MAX_MODELS; i++) {
        lyc_model_config_t m;
        if (lyc_model_config_load(doc, i, &m, err, sizeof err) != 0) {
            fprintf(stderr, "lyceum: %s\n", err);
            lyc_model_config_free(&m);
            return -1;
        }
        int is_sup = b->o->supervisor ? strcmp(m.name, b->o->supervisor) == 0
                                      : strcmp(m.role, "supervisor") == 0;
        if (strcmp(m.backend, "replay") == 0) {
            s_scorer_t *s = &b->scorers[b->n_scorers];
            const char *column = *m.replay_column ? m.replay_column : m.name;
            snprintf(s->name, sizeof s->name, "%s", m.name);
            s->data =
                lyc_replay_data_load(m.replay_files, m.replay_format, column, err, sizeof err);
            if (!s->data) {
                fprintf(stderr, "lyceum: model %s: %s\n", m.name, err);
                lyc_model_config_free(&m);
                return -1;
            }
            b->n_scorers++;
            if (is_sup) {
                b->stream = s->data;
                b->sup_price_in = m.price_in;
                b->sup_price_out = m.price_out;
                if (!b->o->supervisor)
                    b->o->supervisor = strdup(m.name);
            }
        }
        lyc_model_config_free(&m);
    }
    if (!b->stream) {
        fprintf(stderr, "lyceum: the cluster file has no replay model that is the supervisor\n");
        return -1;
    }
    return 0;
}

/* ---- scoring one reply -------------------------------------------------- */

static const lyc_replay_data_t *s_scorer(const s_bench_t *b, const char *model)
{
    for (size_t i = 0; i < b->n_scorers; i++)
        if (strcmp(b->scorers[i].name, model) == 0)
            return b->scorers[i].data;
    return NULL;
}

/* Whether the returned answer was right: the chosen model's recorded
 * correctness. Anything else (the memory student, which repeats the answer
 * of another, similar question; a synthesis) counts as wrong: the recording
 * cannot vouch for it. */
static int s_correct(const s_bench_t *b, const lyc_replay_record_t *r, const char *chosen)
{
    const lyc_replay_data_t *data = s_scorer(b, chosen);
    const lyc_replay_record_t *rec = data ? lyc_replay_data_find(data, r->prompt) : NULL;
    return rec && rec->correct == LYC_REPLAY_RIGHT;
}

static void s_score(s_bench_t *b, const lyc_replay_record_t *r, const lyc_client_reply_t *reply,
                    s_outcome_t *out)
{
    const char *sup = b->o->supervisor;
    out->supervisor_correct = r->correct == LYC_REPLAY_RIGHT;
    out->supervisor_cost =
        (lyc_tokens_estimate(strlen(r->prompt)) * b->sup_price_in + 1 * b->sup_price_out) / 1e6;
    out->ok = reply->status == 200 && reply->content;
    if (!out->ok)
        return;
    out->correct = s_correct(b, r, reply->chosen);
    out->familiar = strcmp(reply->path, "familiar") == 0;
    out->cost = reply->cost_usd;
    out->calls = (int) (reply->n_answered_by + reply->judge_calls);
    for (size_t i = 0; i < reply->n_answered_by; i++)
        out->supervisor_calls += strcmp(reply->answered_by[i], sup) == 0;
    for (size_t i = 0; i < reply->n_judges; i++)
        out->supervisor_calls += strcmp(reply->judges[i], sup) == 0;
}

/* ---- the stream --------------------------------------------------------- */

static void *s_client_thread(void *arg)
{
    s_bench_t *b = arg;
    lyc_client_t *client = lyc_client_new(b->url);
    if (!client)
        return NULL;
    for (;;) {
        size_t k = atomic_fetch_add(&b->next, 1);
        if (k >= b->n || s_interrupted)
            break;
        const lyc_replay_record_t *r = lyc_replay_data_record(b->stream, b->order[k]);
        lyc_client_query_t q = {.prompt = r->prompt, .domain = r->domain, .tenant = b->o->tenant};
        lyc_client_reply_t reply;
        lyc_client_ask(client, &q, &reply);
        s_score(b, r, &reply, &b->out[k]);
        if (!b->out[k].ok && !*b->first_error)
            snprintf(b->first_error, sizeof b->first_error, "HTTP %ld: %s", reply.status,
                     reply.error);
        b->out[k].done = 1;
        lyc_client_reply_free(&reply);
        atomic_fetch_add(&b->finished, 1);
    }
    lyc_client_destroy(&client);
    return NULL;
}

/* Totals over out[from..to). */
typedef struct {
    size_t queries, ok, correct, sup_correct, familiar;
    double cost, sup_cost;
    long calls, sup_calls;
} s_totals_t;

static s_totals_t s_sum(const s_bench_t *b, size_t from, size_t to)
{
    s_totals_t t = {0};
    for (size_t i = from; i < to; i++) {
        const s_outcome_t *o = &b->out[i];
        if (!o->done)
            continue;
        t.queries++;
        t.ok += o->ok;
        t.correct += o->correct;
        t.sup_correct += o->supervisor_correct;
        t.familiar += o->familiar;
        t.cost += o->cost;
        t.sup_cost += o->supervisor_cost;
        t.calls += o->calls;
        t.sup_calls += o->supervisor_calls;
    }
    return t;
}

static double s_ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void s_progress(const s_bench_t *b, time_t started)
{
    size_t done = atomic_load(&b->finished);
    size_t from = done > 500 ? done - 500 : 0;
    s_totals_t all = s_sum(b, 0, done), recent = s_sum(b, from, done);
    fprintf(stderr,
            "  %6zu/%zu  accuracy ratio %.3f  cost ratio %.3f  supervisor share (last 500) "
            "%.3f  %.0f q/s\n",
            done, b->n, s_ratio((double) all.correct, (double) all.sup_correct),
            s_ratio(all.cost, all.sup_cost),
            s_ratio((double) recent.sup_calls, (double) recent.calls),
            (double) done / (double) (time(NULL) - started + 1));
}

static int s_run_stream(s_bench_t *b)
{
    pthread_t threads[S_MAX_CLIENTS];
    long n = b->o->clients;
    time_t started = time(NULL), last = started;
    for (long i = 0; i < n; i++)
        if (pthread_create(&threads[i], NULL, s_client_thread, b) != 0)
            n = i;
    while (atomic_load(&b->finished) < b->n && !s_interrupted && n > 0) {
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        if (time(NULL) - last >= 5) {
            s_progress(b, started);
            last = time(NULL);
        }
    }
    for (long i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    s_progress(b, started);
    return n > 0 ? 0 : -1;
}

/* ---- the report --------------------------------------------------------- */

static void s_report(const s_bench_t *b)
{
    s_totals_t all = s_sum(b, 0, b->n);
    double share_by_tenth[S_TENTHS];
    if (!b->o->json_only) {
        printf("\nLearning benchmark: %zu queries, supervisor %s, seed %ld\n", all.queries,
               b->o->supervisor, b->o->seed);
        printf("  tenth  sup.share  cost/query   sup.cost/query  accuracy  familiar\n");
    }
    for (int t = 0; t < S_TENTHS; t++) {
        s_totals_t x = s_sum(b, b->n * (size_t) t / S_TENTHS, b->n * (size_t) (t + 1) / S_TENTHS);
        share_by_tenth[t] = s_ratio((double) x.sup_calls, (double) x.calls);
        if (!b->o->json_only)
            printf("  %5d  %9.3f  %10.7f  %14.7f  %8.3f  %8.3f\n", t + 1, share_by_tenth[t],
                   s_ratio(x.cost, (double) x.queries), s_ratio(x.sup_cost, (double) x.queries),
                   s_ratio((double) x.correct, (double) x.queries),
                   s_ratio((double) x.familiar, (double) x.queries));
    }
    double accuracy = s_ratio((double) all.correct, (double) all.queries);
    double sup_accuracy = s_ratio((double) all.sup_correct, (double) all.queries);
    if (!b->o->json_only)
        printf("  accuracy %.4f (supervisor alone %.4f), cost $%.4f (supervisor alone $%.4f), "
               "%zu errors%s%s\n",
               accuracy, sup_accuracy, all.cost, all.sup_cost, all.queries - all.ok,
               *b->first_error ? "; first: " : "", b->first_error);
    printf("{\"queries\":%zu,\"accuracy\":%.4f,\"supervisor_accuracy\":%.4f,"
           "\"accuracy_ratio\":%.4f,\"cost_usd\":%.6f,\"supervisor_cost_usd\":%.6f,"
           "\"cost_ratio\":%.4f,\"supervisor_share\":%.4f,\"supervisor_share_by_tenth\":[",
           all.queries, accuracy, sup_accuracy, s_ratio(accuracy, sup_accuracy), all.cost,
           all.sup_cost, s_ratio(all.cost, all.sup_cost),
           s_ratio((double) all.sup_calls, (double) all.calls));
    for (int t = 0; t < S_TENTHS; t++)
        printf("%s%.4f", t ? "," : "", share_by_tenth[t]);
    printf("],\"familiar_share\":%.4f,\"errors\":%zu}\n",
           s_ratio((double) all.familiar, (double) all.queries), all.queries - all.ok);
}

/* ---- options ------------------------------------------------------------ */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s bench learning -c CLUSTER.yaml [--limit N] [--seed S] [--clients N]\n"
            "                             [--json] [--keep-up] [--timeout S]\n"
            "Starts the cluster of the file (run dir <run dir>-learning), replays its\n"
            "supervisor's recorded data set through it as one online stream, prints the\n"
            "learning curve and, last, one JSON line; then stops the cluster.\n"
            "Example: %s bench learning -c tests/bench/routellm-mmlu.yaml\n",
            lyc_cli_program, lyc_cli_program);
}

/* Reads the bench section from the cluster text; command-line values win. */
static int s_read_section(s_options_t *o, const lyc_confdoc_t *doc)
{
    static const char *keys[] = {"bench.supervisor", "bench.contaminated", "bench.tenant"};
    char **slots[] = {&o->supervisor, &o->contaminated, &o->tenant};
    for (int i = 0; i < 3; i++) {
        const char *v = lyc_confdoc_get(doc, keys[i], NULL);
        if (v && !*slots[i] && !(*slots[i] = strdup(v)))
            return -1;
    }
    const char *numbers[] = {"bench.seed", "bench.limit", "bench.clients"};
    long *values[] = {&o->seed, &o->limit, &o->clients};
    for (int i = 0; i < 3; i++) {
        const char *v = lyc_confdoc_get(doc, numbers[i], NULL);
        if (v && *values[i] < 0)
            *values[i] = strtol(v, NULL, 10);
    }
    if (!o->tenant && !(o->tenant = strdup("bench")))
        return -1;
    if (o->seed < 0)
        o->seed = 1;
    if (o->limit < 0)
        o->limit = 0;
    if (o->clients < 1 || o->clients > S_MAX_CLIENTS)
        o->clients = 1;
    return 0;
}

static int s_parse(int argc, char **argv, s_options_t *o)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"limit", required_argument, NULL, 'l'},
                                            {"seed", required_argument, NULL, 's'},
                                            {"clients", required_argument, NULL, 'n'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"keep-up", no_argument, NULL, 'k'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:l:s:n:jkt:h", options, NULL)) != -1) {
        int bad = 0;
        if (opt == 'c')
            o->path = optarg;
        else if (opt == 'l')
            bad = (o->limit = lyc_cmd_seconds(optarg, "--limit", 1, 10000000)) < 0;
        else if (opt == 's')
            bad = (o->seed = lyc_cmd_seconds(optarg, "--seed", 0, 2000000000)) < 0;
        else if (opt == 'n')
            bad = (o->clients = lyc_cmd_seconds(optarg, "--clients", 1, S_MAX_CLIENTS)) < 0;
        else if (opt == 'j')
            o->json_only = 1;
        else if (opt == 'k')
            o->keep_up = 1;
        else if (opt == 't')
            bad = (o->timeout_s = lyc_cmd_seconds(optarg, "--timeout", 1, 3600)) < 0;
        else {
            s_usage(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
        if (bad)
            return 2;
    }
    if (optind + 1 != argc || strcmp(argv[optind], "learning") != 0 || !o->path) {
        s_usage(stderr);
        return 2;
    }
    return -1;
}

/* ---- the command -------------------------------------------------------- */

static void s_bench_free(s_bench_t *b)
{
    for (size_t i = 0; i < b->n_scorers; i++)
        lyc_replay_data_destroy(&b->scorers[i].data);
    free(b->order);
    free(b->out);
}

/* Loads the data, runs the stream against the cluster of run_dir, reports. */
static int s_bench(s_options_t *o, const char *run_dir)
{
    char err[512];
    s_bench_t b = {.o = o};
    lyc_cluster_t *cluster = lyc_launcher_cluster(run_dir, err, sizeof err);
    char path[LYC_PATH_MAX];
    snprintf(path, sizeof path, "%s/cluster.yaml", run_dir);
    lyc_confdoc_t *doc = lyc_confdoc_load(path, err, sizeof err);
    int rc = -1;
    if (!cluster || !doc || lyc_launcher_router_url(run_dir, b.url, sizeof b.url) != 0) {
        fprintf(stderr, "lyceum: %s\n", err);
        goto out;
    }
    if (s_read_section(o, doc) != 0 || s_load_models(&b, doc) != 0 || s_build_order(&b) != 0 ||
        !(b.out = calloc(b.n ? b.n : 1, sizeof *b.out)))
        goto out;
    rc = s_run_stream(&b);
    s_report(&b);
out:
    lyc_confdoc_destroy(&doc);
    lyc_cluster_destroy(&cluster);
    s_bench_free(&b);
    return rc;
}

int lyc_cmd_bench_learning(int argc, char **argv)
{
    s_options_t o = {
        .seed = -1, .limit = -1, .clients = -1, .timeout_s = LYC_LAUNCHER_UP_TIMEOUT_S};
    int rc = s_parse(argc, argv, &o), already = 0;
    if (rc >= 0)
        return rc;
    char run_dir[LYC_PATH_MAX];
    snprintf(run_dir, sizeof run_dir, "%s-learning", lyc_paths_run_dir());
    char *text = lyc_cmd_cluster_text(o.path, NULL);
    if (!text)
        return 1;
    lyc_launch_t launch = {.text = text, .source = o.path, .timeout_s = o.timeout_s};
    fprintf(stderr, "starting the cluster of %s (run dir %s)\n", o.path, run_dir);
    rc = lyc_launcher_up(run_dir, &launch, stderr, &already);
    free(text);
    if (rc != 0)
        return 1;
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    rc = s_bench(&o, run_dir);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!o.keep_up && lyc_launcher_down(run_dir, stderr) != 0)
        rc = -1;
    free(o.supervisor);
    free(o.contaminated);
    free(o.tenant);
    return rc == 0 && !s_interrupted ? 0 : 1;
}
