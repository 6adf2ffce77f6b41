/*
 * cmd_ask.c - `lyceum ask "..."`: one query to the router, the answer, then
 * the metadata (path, domain, answered_by, chosen, scores, cost_usd,
 * trace_id), or with --json the raw reply.
 */
#include "commands.h"

#include "client.h"
#include "launcher.h"
#include "paths.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest prompt built from the command line. */
#define S_MAX_PROMPT (64 * 1024)

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s ask \"QUESTION\" [--domain D] [--tenant T] [--user U] [--model M] [--json]\n"
            "                      [--timeout S]\n"
            "Sends one query to the router (http.listen of the run dir's cluster file, or\n"
            "$LYCEUM_URL) and prints the answer and how Lyceum produced it. --model pins one\n"
            "model instead of letting Lyceum route; --json prints the raw reply.\n",
            lyc_cli_program);
}

/* Joins the words left on the command line with spaces; NULL when none. */
static char *s_join(int argc, char **argv, int first)
{
    size_t len = 0;
    for (int i = first; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if (len == 0 || len > S_MAX_PROMPT)
        return NULL;
    char *text = malloc(len);
    if (!text)
        return NULL;
    text[0] = '\0';
    for (int i = first; i < argc; i++) {
        strcat(text, argv[i]);
        if (i + 1 < argc)
            strcat(text, " ");
    }
    return text;
}

static void s_print_metadata(const lyc_client_reply_t *r)
{
    printf("\npath:        %s\n", r->path);
    printf("domain:      %s\n", r->domain);
    printf("answered_by:");
    for (size_t i = 0; i < r->n_answered_by; i++)
        printf("%s %s", i ? "," : "", r->answered_by[i]);
    printf("\nchosen:      %s\n", r->chosen);
    printf("scores:     ");
    for (size_t i = 0; i < r->n_scores; i++)
        printf("%s %s %.2f", i ? "," : "", r->scores[i].model, r->scores[i].score);
    printf("\ncost_usd:    %.6f\n", r->cost_usd);
    printf("trace_id:    %s\n", r->trace_id);
}

/* Sends the query and prints the outcome; returns the exit code. */
static int s_ask(const lyc_client_query_t *query, int json)
{
    char url[512];
    if (lyc_launcher_router_url(lyc_paths_run_dir(), url, sizeof url) != 0) {
        fprintf(stderr, "lyceum: cannot tell the router's address; set LYCEUM_URL\n");
        return 1;
    }
    lyc_client_t *client = lyc_client_new(url);
    if (!client) {
        fprintf(stderr, "lyceum: cannot start the HTTP client\n");
        return 1;
    }
    lyc_client_reply_t reply;
    int rc = lyc_client_ask(client, query, &reply);
    if (rc != 0)
        fprintf(stderr, "%s%s (%s)\n", reply.unreachable ? "" : "lyceum: ", reply.error, url);
    else if (json)
        printf("%s\n", reply.raw);
    else {
        printf("%s\n", reply.content);
        s_print_metadata(&reply);
    }
    lyc_client_reply_free(&reply);
    lyc_client_destroy(&client);
    return rc == 0 ? 0 : 1;
}

int lyc_cmd_ask(int argc, char **argv)
{
    static const struct option options[] = {
        {"domain", required_argument, NULL, 'd'}, {"tenant", required_argument, NULL, 'T'},
        {"user", required_argument, NULL, 'u'},   {"model", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},         {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    lyc_client_query_t query = {0};
    int json = 0, opt, timeout_s = 120;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "d:T:u:m:jt:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            query.domain = optarg;
            break;
        case 'T':
            query.tenant = optarg;
            break;
        case 'u':
            query.user = optarg;
            break;
        case 'm':
            query.model = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 't':
            if ((timeout_s = lyc_cmd_seconds(optarg, "--timeout", 1, 3600)) < 0)
                return 2;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    char *prompt = s_join(argc, argv, optind);
    if (!prompt || !*prompt) {
        free(prompt);
        s_usage(stderr);
        return 2;
    }
    query.prompt = prompt;
    query.timeout_ms = (long) timeout_s * 1000;
    int rc = s_ask(&query, json);
    free(prompt);
    return rc;
}
