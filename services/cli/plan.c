/*
 * plan.c - the processes of a cluster file (see plan.h).
 */
#include "plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies name with every character outside [A-Za-z0-9._-] made '_'. */
static void s_file_safe(char *buf, size_t cap, const char *name)
{
    size_t n = 0;
    for (; name[n] && n + 1 < cap; n++) {
        unsigned char c = (unsigned char) name[n];
        buf[n] = (char) (isalnum(c) || c == '.' || c == '_' || c == '-' ? c : '_');
    }
    buf[n] = '\0';
}

static lyc_plan_proc_t *s_add(lyc_plan_t *plan, size_t cap, const char *service, int optional)
{
    if (plan->n >= cap)
        return NULL;
    lyc_plan_proc_t *p = &plan->procs[plan->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->service, sizeof p->service, "%s", service);
    snprintf(p->name, sizeof p->name, "%s", service);
    p->optional = optional;
    return p;
}

static void s_add_services(const lyc_cluster_t *cluster, lyc_plan_t *plan, size_t cap)
{
    char url[256];
    const lyc_settings_t *s = lyc_cluster_settings(cluster);
    lyc_plan_proc_t *p = s_add(plan, cap, "router", 0);
    if (lyc_cluster_router_url(cluster, url, sizeof url) != 0)
        snprintf(url, sizeof url, "%s", lyc_cluster_http_listen(cluster));
    snprintf(p->address, sizeof p->address, "%s, workers %s", url,
             lyc_cluster_value(cluster, "router", "workers_bind", "LYCEUM_ROUTER",
                               "tcp://127.0.0.1:5701"));
    p = s_add(plan, cap, "evaluator", 0);
    snprintf(
        p->address, sizeof p->address, "%s, metrics http://%s/metrics",
        lyc_cluster_value(cluster, "evaluator", "bind", "LYCEUM_EVALUATOR", "tcp://127.0.0.1:5703"),
        lyc_cluster_value(cluster, "evaluator", "http_listen", "LYCEUM_EVALUATOR",
                          "127.0.0.1:8091"));
    p = s_add(plan, cap, "trainer", 1);
    snprintf(
        p->address, sizeof p->address, "kafka %s, metrics http://%s/metrics", s->kafka_brokers,
        lyc_cluster_value(cluster, "trainer", "http_listen", "LYCEUM_TRAINER", "127.0.0.1:8092"));
    p = s_add(plan, cap, "monitor", 1);
    snprintf(
        p->address, sizeof p->address, "dashboard http://%s/",
        lyc_cluster_value(cluster, "monitor", "http_listen", "LYCEUM_MONITOR", "127.0.0.1:8090"));
}

/* The first worker's metrics port: LYCEUM_WORKER_HTTP_BASE, else the
 * router's port + LYC_PLAN_WORKER_HTTP_OFFSET; 0 for none. */
static int s_worker_http_base(const lyc_cluster_t *cluster)
{
    char host[256];
    int port = 0;
    const char *env = getenv("LYCEUM_WORKER_HTTP_BASE");
    if (env && *env)
        port = atoi(env);
    else if (lyc_cluster_host_port(lyc_cluster_http_listen(cluster), host, sizeof host, &port) == 0)
        port += LYC_PLAN_WORKER_HTTP_OFFSET;
    return port > 0 && port < 65000 ? port : 0;
}

static void s_add_workers(const lyc_cluster_t *cluster, lyc_plan_t *plan, size_t cap)
{
    const char *workers = lyc_cluster_settings(cluster)->bus_workers;
    int http = s_worker_http_base(cluster);
    for (size_t m = 0; m < lyc_cluster_model_count(cluster); m++) {
        const lyc_cluster_model_t *model = lyc_cluster_model(cluster, m);
        char safe[LYC_CLUSTER_NAME_MAX];
        s_file_safe(safe, sizeof safe, model->name);
        for (long i = 0; i < model->replicas; i++) {
            lyc_plan_proc_t *p = s_add(plan, cap, "worker", 0);
            snprintf(p->name, sizeof p->name, "worker-%s-%ld", safe, i);
            snprintf(p->model, sizeof p->model, "%s", model->name);
            snprintf(p->id, sizeof p->id, "%s#%ld", model->name, i);
            if (http > 0 && http < 65535)
                snprintf(p->http, sizeof p->http, "127.0.0.1:%d", http++);
            snprintf(p->address, sizeof p->address, "-> %s (%s, %s)%s%s%s", workers, model->backend,
                     model->role, *p->http ? ", metrics http://" : "", p->http,
                     *p->http ? "/metrics" : "");
        }
    }
}

int lyc_plan_make(const lyc_cluster_t *cluster, lyc_plan_t *plan)
{
    size_t cap = 4;
    for (size_t m = 0; m < lyc_cluster_model_count(cluster); m++)
        cap += (size_t) lyc_cluster_model(cluster, m)->replicas;
    plan->n = 0;
    plan->procs = calloc(cap, sizeof *plan->procs);
    if (!plan->procs)
        return -1;
    s_add_services(cluster, plan, cap);
    s_add_workers(cluster, plan, cap);
    return 0;
}

void lyc_plan_free(lyc_plan_t *plan)
{
    free(plan->procs);
    plan->procs = NULL;
    plan->n = 0;
}

const lyc_plan_proc_t *lyc_plan_find(const lyc_plan_t *plan, const char *name)
{
    for (size_t i = 0; i < plan->n; i++)
        if (strcmp(plan->procs[i].name, name) == 0)
            return &plan->procs[i];
    return NULL;
}

void lyc_plan_argv(const lyc_plan_proc_t *p, const char *binary, const char *cluster_path,
                   char *argv[8])
{
    int n = 0;
    argv[n++] = (char *) binary;
    argv[n++] = "-c";
    argv[n++] = (char *) cluster_path;
    if (strcmp(p->service, "worker") == 0) {
        argv[n++] = "--model";
        argv[n++] = (char *) p->model;
        argv[n++] = "--id";
        argv[n++] = (char *) p->id;
    }
    argv[n] = NULL;
}
