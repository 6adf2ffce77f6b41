/*
 * demo.c - `lyceum demo`: starts the demo cluster (the embedded default,
 * no API key needed), runs a workload through the router, and prints what
 * happened: example questions with their (simulated) answers, novel and
 * familiar counts, answers per model and domain, the cost against what the
 * supervisor alone would have cost, and how many answers were right. The
 * cluster keeps running, so `lyceum ask` works afterwards.
 *
 * Right or wrong is decided here, from the generated data (the answer text
 * against the question's reference), independently of the evaluator's
 * scores. Supervisor-only cost = for every query, the supervisor's prices
 * times the supervisor's recorded tokens for that question.
 */
#include "commands.h"

#include "client.h"
#include "clock.h"
#include "demo_data.h"
#include "demo_workload.h"
#include "embedded.h"
#include "launcher.h"
#include "paths.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_MODELS  LYC_CLIENT_MAX_MODELS
#define S_QUERY_MS    60000
#define S_EXAMPLE_LEN 120
#define S_TENANT      "demo"

/* Model names in column order: the cluster's, then any other seen. */
typedef struct {
    char names[S_MAX_MODELS][LYC_CLIENT_NAME_MAX];
    size_t n;
} s_columns_t;

/* What happened to one query (kept for the examples). */
typedef struct {
    int ok;
    int correct;
    int familiar;
    int chosen;        /* column, -1 when unknown */
    size_t n_answered; /* models that answered */
    char answer[LYC_DEMO_TEXT_MAX];
} s_outcome_t;

typedef struct {
    size_t asked, errors, novel, familiar, correct, exact, reworded;
    double cost, supervisor_cost;
    size_t supervisor_right;  /* queries the supervisor's recorded answer gets right */
    size_t supervisor_called; /* queries the supervisor answered */
    size_t chosen[LYC_DEMO_DOMAINS + 1][S_MAX_MODELS]; /* last row: all domains */
    size_t calls[S_MAX_MODELS];
    size_t d_asked[LYC_DEMO_DOMAINS + 1];
    size_t d_familiar[LYC_DEMO_DOMAINS + 1];
    size_t d_correct[LYC_DEMO_DOMAINS + 1];
    double seconds;
    char first_error[512];
} s_tally_t;

/* Everything one demo run uses. */
typedef struct {
    lyc_cluster_t *cluster;
    lyc_demo_data_t *data;
    lyc_demo_item_t *items;
    size_t n_items;
    s_outcome_t *outcomes;
    s_columns_t columns;
    s_tally_t tally;
} s_demo_t;

/* ---- columns ----------------------------------------------------------- */

/* The column of a model name, added when new; -1 when the table is full. */
static int s_column(s_columns_t *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return (int) i;
    if (c->n == S_MAX_MODELS || !*name)
        return -1;
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
    return (int) c->n++;
}

/* ---- running --------------------------------------------------------- */

/* The supervisor's cost for the query, from its prices and recorded tokens. */
static double s_supervisor_cost(const lyc_cluster_t *cluster, const lyc_demo_question_t *q,
                                int variant)
{
    const lyc_cluster_model_t *sup = lyc_cluster_find_role(cluster, "supervisor");
    if (!sup)
        return 0.0;
    return (sup->price_in * q->prompt_tokens[variant] +
            sup->price_out * q->answers[0].completion_tokens) /
           1e6;
}

/* Adds one reply to the tally and keeps its outcome. */
static void s_count(s_demo_t *d, const lyc_demo_item_t *item, const lyc_client_reply_t *r,
                    s_outcome_t *o)
{
    s_tally_t *t = &d->tally;
    const lyc_demo_question_t *q = lyc_demo_data_get(d->data, item->question);
    int dom = q->domain;
    o->ok = 1;
    o->familiar = strcmp(r->path, "familiar") == 0;
    o->correct = lyc_demo_is_correct(q, r->content);
    o->chosen = s_column(&d->columns, r->chosen);
    o->n_answered = r->n_answered_by;
    snprintf(o->answer, sizeof o->answer, "%s", r->content);
    t->familiar += (size_t) o->familiar;
    t->novel += (size_t) !o->familiar;
    t->correct += (size_t) o->correct;
    t->cost += r->cost_usd;
    t->d_familiar[dom] += (size_t) o->familiar;
    t->d_correct[dom] += (size_t) o->correct;
    if (o->chosen >= 0) {
        t->chosen[dom][o->chosen]++;
        t->chosen[LYC_DEMO_DOMAINS][o->chosen]++;
    }
    const lyc_cluster_model_t *sup = lyc_cluster_find_role(d->cluster, "supervisor");
    for (size_t i = 0; i < r->n_answered_by; i++) {
        int c = s_column(&d->columns, r->answered_by[i]);
        if (c >= 0)
            t->calls[c]++;
        if (sup && strcmp(r->answered_by[i], sup->name) == 0)
            t->supervisor_called++;
    }
}

/* Asks one item; counts it either way. */
static void s_ask_one(s_demo_t *d, lyc_client_t *client, size_t k)
{
    const lyc_demo_item_t *item = &d->items[k];
    const lyc_demo_question_t *q = lyc_demo_data_get(d->data, item->question);
    s_tally_t *t = &d->tally;
    lyc_client_query_t query = {.prompt = lyc_demo_prompt(q, item->variant),
                                .domain = lyc_demo_domains[q->domain],
                                .tenant = S_TENANT,
                                .user = "demo-user",
                                .timeout_ms = S_QUERY_MS};
    lyc_client_reply_t reply;
    t->asked++;
    t->d_asked[q->domain]++;
    t->exact += item->kind == LYC_DEMO_EXACT;
    t->reworded += item->kind == LYC_DEMO_REWORDED;
    t->supervisor_cost += s_supervisor_cost(d->cluster, q, item->variant);
    t->supervisor_right += (size_t) q->answers[0].correct;
    if (lyc_client_ask(client, &query, &reply) == 0) {
        s_count(d, item, &reply, &d->outcomes[k]);
    } else {
        t->errors++;
        if (!t->first_error[0])
            snprintf(t->first_error, sizeof t->first_error, "%s", reply.error);
    }
    lyc_client_reply_free(&reply);
}

/* Runs the whole workload, printing progress. Returns -1 when the router
 * is gone. */
static int s_run(s_demo_t *d, const char *url)
{
    lyc_client_t *client = lyc_client_new(url);
    if (!client)
        return -1;
    int64_t start = lyc_mono_us();
    size_t step = d->n_items / 4 ? d->n_items / 4 : 1;
    printf("\nasking %zu queries (tenant '%s', each labelled with its domain)...\n", d->n_items,
           S_TENANT);
    for (size_t k = 0; k < d->n_items; k++) {
        s_ask_one(d, client, k);
        if ((k + 1) % step == 0 || k + 1 == d->n_items) {
            printf("  %zu/%zu asked: %zu novel, %zu familiar, %zu errors\n", k + 1, d->n_items,
                   d->tally.novel, d->tally.familiar, d->tally.errors);
            fflush(stdout);
        }
        if (d->tally.errors > 20 && d->tally.errors * 2 > k + 1) {
            printf("lyceum: stopping the demo: most queries fail (first error: %s)\n",
                   d->tally.first_error);
            break;
        }
    }
    d->tally.seconds = (double) (lyc_mono_us() - start) / 1e6;
    lyc_client_destroy(&client);
    return d->tally.errors == d->tally.asked ? -1 : 0;
}

/* ---- the account ----------------------------------------------------- */

/* Prints item k as an example. */
static void s_print_example(const s_demo_t *d, size_t k)
{
    const lyc_demo_item_t *item = &d->items[k];
    const s_outcome_t *o = &d->outcomes[k];
    const lyc_demo_question_t *q = lyc_demo_data_get(d->data, item->question);
    printf("  Q: %s   [%s, %s%s]\n", lyc_demo_prompt(q, item->variant), lyc_demo_domains[q->domain],
           o->familiar ? "familiar" : "novel",
           item->kind == LYC_DEMO_EXACT      ? ", asked before word for word"
           : item->kind == LYC_DEMO_REWORDED ? ", asked before in other words"
                                             : "");
    printf("  A: %.*s   (%zu model%s answered; returned: %s's, %s)\n", S_EXAMPLE_LEN, o->answer,
           o->n_answered, o->n_answered == 1 ? "" : "s",
           o->chosen >= 0 ? d->columns.names[o->chosen] : "?", o->correct ? "correct" : "wrong");
}

static int s_cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return (x > y) - (x < y);
}

/* The first query, the last new question of each domain, the last repeat. */
static void s_print_examples(const s_demo_t *d)
{
    size_t picks[LYC_DEMO_DOMAINS + 2], n = 0;
    int have[LYC_DEMO_DOMAINS + 1] = {0};
    if (d->n_items && d->outcomes[0].ok)
        picks[n++] = 0;
    for (size_t k = d->n_items; k-- > 1;) {
        const lyc_demo_item_t *item = &d->items[k];
        int slot = item->kind == LYC_DEMO_FIRST ? lyc_demo_data_get(d->data, item->question)->domain
                                                : LYC_DEMO_DOMAINS;
        if (d->outcomes[k].ok && !have[slot] &&
            (slot < LYC_DEMO_DOMAINS || item->kind == LYC_DEMO_EXACT)) {
            have[slot] = 1;
            picks[n++] = k;
        }
    }
    qsort(picks, n, sizeof picks[0], s_cmp_size);
    printf("\nExamples (the answers are simulated: replayed from the generated demo data, no "
           "model was called):\n");
    for (size_t i = 0; i < n; i++)
        s_print_example(d, picks[i]);
}

/* One row of the answers table. */
static void s_print_row(const s_demo_t *d, const char *label, int row)
{
    const s_tally_t *t = &d->tally;
    size_t asked = row < LYC_DEMO_DOMAINS ? t->d_asked[row] : t->asked;
    char head[64];
    snprintf(head, sizeof head, "%s (%zu)", label, asked);
    printf("  %-22s", head);
    for (size_t c = 0; c < d->columns.n; c++)
        printf(" %*zu", (int) (strlen(d->columns.names[c]) > 7 ? strlen(d->columns.names[c]) : 7),
               t->chosen[row][c]);
    if (row < LYC_DEMO_DOMAINS)
        printf("   %zu familiar, %zu correct\n", t->d_familiar[row], t->d_correct[row]);
    else
        printf("   %zu familiar, %zu correct\n", t->familiar, t->correct);
}

static void s_print_table(const s_demo_t *d)
{
    printf("\nFinal answers by model (who gave the answer returned):\n  %-22s", "domain");
    for (size_t c = 0; c < d->columns.n; c++)
        printf(" %7s", d->columns.names[c]);
    printf("\n");
    for (int dom = 0; dom < LYC_DEMO_DOMAINS; dom++)
        s_print_row(d, lyc_demo_domains[dom], dom);
    s_print_row(d, "all", LYC_DEMO_DOMAINS);
    printf("  %-22s", "model calls");
    for (size_t c = 0; c < d->columns.n; c++)
        printf(" %*zu", (int) (strlen(d->columns.names[c]) > 7 ? strlen(d->columns.names[c]) : 7),
               d->tally.calls[c]);
    printf("   (answers produced, returned or not; the memory student answers only what "
           "it has seen)\n");
}

static double s_percent(size_t part, size_t whole)
{
    return whole ? 100.0 * (double) part / (double) whole : 0.0;
}

/* Answers of the supervisor-role model that were returned. */
static size_t s_supervisor_returned(const s_demo_t *d)
{
    const lyc_cluster_model_t *sup = lyc_cluster_find_role(d->cluster, "supervisor");
    for (size_t c = 0; sup && c < d->columns.n; c++)
        if (strcmp(d->columns.names[c], sup->name) == 0)
            return d->tally.chosen[LYC_DEMO_DOMAINS][c];
    return 0;
}

static void s_print_account(const s_demo_t *d)
{
    const s_tally_t *t = &d->tally;
    size_t answered = t->asked - t->errors;
    double saved = t->supervisor_cost > 0 ? 100.0 * (1.0 - t->cost / t->supervisor_cost) : 0;
    printf("\nWhat happened: %zu queries in %.1f s (%.1f ms each)\n", t->asked, t->seconds,
           t->asked ? 1000.0 * t->seconds / (double) t->asked : 0.0);
    printf("  %zu new questions, then %zu repeats (%zu word for word, %zu reworded); %zu "
           "errors\n",
           t->asked - t->exact - t->reworded, t->exact + t->reworded, t->exact, t->reworded,
           t->errors);
    if (t->errors)
        printf("  first error: %s\n", t->first_error);
    printf("  novel: %zu (every model answers, the evaluator picks)   familiar: %zu (the best "
           "past performer answers)\n",
           t->novel, t->familiar);
    s_print_examples(d);
    s_print_table(d);
    printf("\nCorrect answers: %zu of %zu (%.1f%%); the supervisor alone would have got %zu "
           "right (%.1f%%)\n",
           t->correct, answered, s_percent(t->correct, answered), t->supervisor_right,
           s_percent(t->supervisor_right, t->asked));
    printf("Supervisor use: called on %zu of %zu queries (%.1f%%), its answer returned for %zu\n",
           t->supervisor_called, answered, s_percent(t->supervisor_called, answered),
           s_supervisor_returned(d));
    printf("Cost: $%.4f in total; the supervisor alone would have cost $%.4f (%.1f%% %s)\n",
           t->cost, t->supervisor_cost, saved < 0 ? -saved : saved, saved >= 0 ? "saved" : "more");
}

static void s_print_next(const s_demo_t *d)
{
    const char *example = "What is the capital of France?";
    for (size_t i = 0; i < lyc_demo_data_count(d->data); i++) {
        const lyc_demo_question_t *q = lyc_demo_data_get(d->data, i);
        if (q->domain == lyc_demo_domain_index("capitals")) {
            example = q->prompt;
            break;
        }
    }
    const char *p = lyc_cli_program;
    printf("\nThe cluster keeps running. Next:\n");
    printf("  %s ask \"%s\"\n", p, example);
    printf("  %s ask \"anything you like\"     (outside the data set: a simulated answer)\n", p);
    printf("  %s status\n  %s down\n", p, p);
    const char *run_dir = getenv("LYCEUM_RUN_DIR");
    if (run_dir && *run_dir)
        printf("(with LYCEUM_RUN_DIR=%s set, as now)\n", run_dir);
}

/* ---- the command ----------------------------------------------------- */

/* Loads the running cluster and builds the data set and the workload. */
static int s_prepare(s_demo_t *d, const char *run_dir)
{
    char err[1024];
    d->cluster = lyc_launcher_cluster(run_dir, err, sizeof err);
    if (!d->cluster) {
        fprintf(stderr, "lyceum: %s\n", err);
        return -1;
    }
    const lyc_demo_settings_t *demo = lyc_cluster_demo(d->cluster);
    d->data = lyc_demo_data_new((uint64_t) demo->seed, (size_t) demo->queries);
    d->items = d->data ? lyc_demo_workload(lyc_demo_data_count(d->data), demo->repeat_share,
                                           (uint64_t) demo->seed, &d->n_items)
                       : NULL;
    d->outcomes = d->items ? calloc(d->n_items, sizeof *d->outcomes) : NULL;
    if (!d->outcomes) {
        fprintf(stderr, "lyceum: out of memory\n");
        return -1;
    }
    for (size_t m = 0; m < lyc_cluster_model_count(d->cluster); m++)
        s_column(&d->columns, lyc_cluster_model(d->cluster, m)->name);
    return 0;
}

static void s_free(s_demo_t *d)
{
    lyc_cluster_destroy(&d->cluster);
    lyc_demo_data_destroy(&d->data);
    free(d->items);
    free(d->outcomes);
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s demo [-c CLUSTER.yaml] [--timeout SECONDS]\n"
            "Starts the demo cluster (replay models over a generated data set, no API key),\n"
            "runs a workload through it and prints what happened. The cluster keeps running.\n",
            lyc_cli_program);
}

/* Parses the options; -1 to go on, else the exit code. */
static int s_options(int argc, char **argv, const char **path, int *timeout_s)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:t:h", options, NULL)) != -1) {
        if (opt == 'c') {
            *path = optarg;
        } else if (opt == 't') {
            if ((*timeout_s = lyc_cmd_seconds(optarg, "--timeout", 1, 3600)) < 0)
                return 2;
        } else {
            s_usage(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (optind != argc) {
        s_usage(stderr);
        return 2;
    }
    return -1;
}

int lyc_cmd_demo(int argc, char **argv)
{
    const char *path = NULL, *run_dir = lyc_paths_run_dir();
    int timeout_s = LYC_LAUNCHER_UP_TIMEOUT_S, already = 0;
    int rc = s_options(argc, argv, &path, &timeout_s);
    if (rc >= 0)
        return rc;
    char *text = lyc_cmd_cluster_text(path, lyc_cli_default_cluster);
    if (!text)
        return 1;
    lyc_launch_t launch = {
        .text = text, .source = path ? path : "<embedded default cluster>", .timeout_s = timeout_s};
    printf("Lyceum demo: starting the cluster (run dir %s)\n", run_dir);
    fflush(stdout);
    rc = lyc_launcher_up(run_dir, &launch, stdout, &already);
    free(text);
    if (rc != 0)
        return 1;
    if (already)
        printf("(it was running already: it remembers the queries it has seen, so more of them "
               "are familiar)\n");
    s_demo_t demo = {0};
    char url[512];
    rc = s_prepare(&demo, run_dir) == 0 && lyc_launcher_router_url(run_dir, url, sizeof url) == 0
             ? s_run(&demo, url)
             : -1;
    if (rc == 0) {
        s_print_account(&demo);
        s_print_next(&demo);
    } else if (demo.tally.first_error[0]) {
        fprintf(stderr, "lyceum: the demo failed: %s\n", demo.tally.first_error);
    }
    s_free(&demo);
    return rc == 0 ? 0 : 1;
}
