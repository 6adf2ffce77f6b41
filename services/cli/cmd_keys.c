/*
 * cmd_keys.c - `lyceum keys`: API keys of the HTTP front door and the
 * settings of their tenants (apikeys.h, budget.h), and the CurveZMQ
 * certificates of the bus (bus_security.h).
 *
 *   keys create --tenant T [--name N] [--budget-day USD] [--budget-month USD]
 *               [--rpm N] [--tpm N]          prints the key once, on stdout
 *   keys list [--tenant T] [--json]          never the keys: ids and limits
 *   keys revoke ID                           within a second on every router
 *   keys tenant T [--budget-day USD] [--budget-month USD]
 *               [--on-budget refuse|cheapest] [--share-stats on|off]
 *               [--share-exemplars on|off]   sets, then shows, with the spend;
 *                                            sharing off takes back the lent exemplars
 *   keys bus DIR [--clients N]               bus certificates, and the settings
 *                                            that use them, on stdout
 *
 * `keys bus` works on files only. The others talk to Redis directly (redis.url and redis.prefix of
 * -c FILE, else of the run dir's cluster file, else the defaults; LYCEUM_REDIS_URL and
 * LYCEUM_REDIS_PREFIX override), so they work while the cluster runs and
 * take effect at once.
 */
#include "commands.h"

#include "apikeys.h"
#include "budget.h"
#include "exemplar_pool.h"
#include "log.h"
#include "paths.h"
#include "settings.h"
#include "vecstore.h"

#include <cJSON.h>
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Most client certificates one `keys bus` makes. */
#define S_BUS_CLIENTS_MAX 1000

/* The options of every keys subcommand (each uses some). */
typedef struct {
    const char *config;
    const char *tenant;
    const char *name;
    const char *budget_day, *budget_month, *on_budget, *share_stats, *share_exemplars;
    const char *rpm, *tpm;
    const char *clients; /* keys bus: how many client certificates */
    int json;
} s_opts_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: %s keys create --tenant T [--name N] [--budget-day USD] [--budget-month USD]\n"
            "                         [--rpm N] [--tpm N]\n"
            "       %s keys list [--tenant T] [--json]\n"
            "       %s keys revoke ID\n"
            "       %s keys tenant T [--budget-day USD] [--budget-month USD]\n"
            "                         [--on-budget refuse|cheapest] [--share-stats on|off]\n"
            "                         [--share-exemplars on|off]\n"
            "       %s keys bus DIR [--clients N]\n"
            "Every subcommand but bus takes -c CLUSTER.yaml (default: the running cluster's "
            "file).\n"
            "A key is printed once, when it is made; Lyceum keeps only its SHA-256.\n"
            "Limits are USD per UTC day / month and requests or tokens per minute; 0 is none.\n"
            "--share-exemplars off also takes back what the tenant lent to the shared pool.\n"
            "keys bus makes the CurveZMQ certificates of the bus in DIR (the server's, N "
            "clients' (default 1),\nauthorized/ with the clients' public halves) and prints "
            "the bus.curve settings that use them.\n",
            lyc_cli_program, lyc_cli_program, lyc_cli_program, lyc_cli_program, lyc_cli_program);
}

/* Parses argv[1..] (argv[0] is the subcommand) into *o; positional
 * arguments stay at argv[optind..]. 0, 1 for --help, -1 after printing why. */
static int s_parse(int argc, char **argv, s_opts_t *o)
{
    static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                            {"tenant", required_argument, NULL, 't'},
                                            {"name", required_argument, NULL, 'n'},
                                            {"budget-day", required_argument, NULL, 'd'},
                                            {"budget-month", required_argument, NULL, 'm'},
                                            {"rpm", required_argument, NULL, 'r'},
                                            {"tpm", required_argument, NULL, 'k'},
                                            {"on-budget", required_argument, NULL, 'o'},
                                            {"share-stats", required_argument, NULL, 's'},
                                            {"share-exemplars", required_argument, NULL, 'e'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"clients", required_argument, NULL, 'C'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:t:n:h", options, NULL)) != -1) {
        const char *v = optarg;
        switch (opt) {
        case 'c':
            o->config = v;
            break;
        case 't':
            o->tenant = v;
            break;
        case 'n':
            o->name = v;
            break;
        case 'd':
            o->budget_day = v;
            break;
        case 'm':
            o->budget_month = v;
            break;
        case 'r':
            o->rpm = v;
            break;
        case 'k':
            o->tpm = v;
            break;
        case 'o':
            o->on_budget = v;
            break;
        case 's':
            o->share_stats = v;
            break;
        case 'e':
            o->share_exemplars = v;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'C':
            o->clients = v;
            break;
        case 'h':
            s_usage(stdout);
            return 1;
        default:
            s_usage(stderr);
            return -1;
        }
    }
    return 0;
}

/* A USD amount >= 0 into *out; -1 after printing why. */
static int s_usd(const char *text, const char *option, double *out)
{
    char *end = NULL;
    double v = text ? strtod(text, &end) : 0;
    if (text && (end == text || *end || !isfinite(v) || v < 0 || v > 1e12)) {
        fprintf(stderr, "lyceum: %s wants an amount in USD (0 for no limit), not '%s'\n", option,
                text);
        return -1;
    }
    *out = v;
    return 0;
}

/* A count per minute >= 0 into *out; -1 after printing why. */
static int s_count(const char *text, const char *option, long *out)
{
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : 0;
    if (text && (end == text || *end || v < 0 || v > 1000000000L)) {
        fprintf(stderr, "lyceum: %s wants a whole number per minute (0 for none), not '%s'\n",
                option, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int s_tenant_ok(const char *tenant)
{
    if (tenant && lyc_vecstore_tenant_valid(tenant))
        return 1;
    fprintf(stderr,
            "lyceum: give a tenant of 1-64 characters of A-Z a-z 0-9 _ . - not starting with _\n");
    return 0;
}

/* Loads the cluster's settings (the running cluster's, or --config's) into
 * *s (lyc_settings_free). -1 after printing why. */
static int s_settings(const s_opts_t *o, lyc_settings_t *s)
{
    char path[LYC_PATH_MAX], err[512];
    const char *file = o->config;
    if (!file && lyc_paths_join(path, sizeof path, lyc_paths_run_dir(), "cluster.yaml") == 0 &&
        lyc_paths_exists(path))
        file = path;
    lyc_confdoc_t *doc = lyc_settings_load(file, "LYCEUM_KEYS", s, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "lyceum: %s\n", err);
        return -1;
    }
    lyc_confdoc_destroy(&doc);
    lyc_log_threshold = LYC_LOG_WARN; /* the file's log.level is for the services */
    return 0;
}

/* Connects to the cluster's Redis; fills prefix (cap bytes). NULL after printing why. */
static lyc_redis_t *s_connect(const s_opts_t *o, char *prefix, size_t cap)
{
    lyc_settings_t s;
    if (s_settings(o, &s) != 0)
        return NULL;
    snprintf(prefix, cap, "%s", s.redis_prefix);
    lyc_redis_t *redis = lyc_redis_new(s.redis_url, (int) s.redis_timeout_ms);
    if (!redis)
        fprintf(stderr, "lyceum: cannot reach Redis at %s\n", s.redis_url);
    lyc_settings_free(&s);
    return redis;
}

static void s_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t) t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}

static int s_create(const s_opts_t *o, lyc_redis_t *redis, const char *prefix)
{
    lyc_apikey_info_t spec, info;
    char key[LYC_APIKEY_LEN + 1];
    memset(&spec, 0, sizeof spec);
    if (!s_tenant_ok(o->tenant) || s_usd(o->budget_day, "--budget-day", &spec.budget_day_usd) ||
        s_usd(o->budget_month, "--budget-month", &spec.budget_month_usd) ||
        s_count(o->rpm, "--rpm", &spec.rpm) || s_count(o->tpm, "--tpm", &spec.tpm))
        return 2;
    if (o->name && (strlen(o->name) > LYC_APIKEY_NAME_MAX || strpbrk(o->name, "\r\n\t"))) {
        fprintf(stderr, "lyceum: --name wants at most %d characters on one line\n",
                LYC_APIKEY_NAME_MAX);
        return 2;
    }
    snprintf(spec.tenant, sizeof spec.tenant, "%s", o->tenant);
    snprintf(spec.name, sizeof spec.name, "%s", o->name ? o->name : "");
    if (lyc_apikey_create(redis, prefix, &spec, key, &info) != 0) {
        fprintf(stderr, "lyceum: the key could not be stored\n");
        return 1;
    }
    printf("%s\n", key);
    fflush(stdout);
    memset(key, 0, sizeof key);
    fprintf(stderr,
            "lyceum: key %s for tenant %s made; it is shown this once (Lyceum keeps only its "
            "hash): send it as 'Authorization: Bearer <key>'\n",
            info.id, info.tenant);
    return 0;
}

static cJSON *s_info_json(const lyc_apikey_info_t *k)
{
    cJSON *o = cJSON_CreateObject();
    char created[32], revoked[32];
    s_time(k->created, created, sizeof created);
    s_time(k->revoked, revoked, sizeof revoked);
    cJSON_AddStringToObject(o, "id", k->id);
    cJSON_AddStringToObject(o, "tenant", k->tenant);
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "created", created);
    if (k->revoked)
        cJSON_AddStringToObject(o, "revoked", revoked);
    else
        cJSON_AddNullToObject(o, "revoked");
    cJSON_AddNumberToObject(o, "budget_day_usd", k->budget_day_usd);
    cJSON_AddNumberToObject(o, "budget_month_usd", k->budget_month_usd);
    cJSON_AddNumberToObject(o, "rpm", (double) k->rpm);
    cJSON_AddNumberToObject(o, "tpm", (double) k->tpm);
    return o;
}

static void s_print_table(const lyc_apikey_info_t *keys, size_t n)
{
    printf("%-8s  %-16s  %-16s  %-20s  %-20s  %10s  %10s  %7s  %9s\n", "ID", "TENANT", "NAME",
           "CREATED", "REVOKED", "DAY_USD", "MONTH_USD", "RPM", "TPM");
    for (size_t i = 0; i < n; i++) {
        char created[32], revoked[32];
        s_time(keys[i].created, created, sizeof created);
        s_time(keys[i].revoked, revoked, sizeof revoked);
        printf("%-8s  %-16s  %-16s  %-20s  %-20s  %10.4f  %10.4f  %7ld  %9ld\n", keys[i].id,
               keys[i].tenant, *keys[i].name ? keys[i].name : "-", created, revoked,
               keys[i].budget_day_usd, keys[i].budget_month_usd, keys[i].rpm, keys[i].tpm);
    }
}

static int s_list(const s_opts_t *o, lyc_redis_t *redis, const char *prefix)
{
    lyc_apikey_info_t *keys = NULL;
    size_t n = 0;
    if (o->tenant && !s_tenant_ok(o->tenant))
        return 2;
    if (lyc_apikey_list(redis, prefix, o->tenant, &keys, &n) != 0) {
        fprintf(stderr, "lyceum: the keys could not be read\n");
        return 1;
    }
    if (o->json) {
        for (size_t i = 0; i < n; i++) {
            cJSON *j = s_info_json(&keys[i]);
            char *text = cJSON_PrintUnformatted(j);
            if (text)
                printf("%s\n", text);
            free(text);
            cJSON_Delete(j);
        }
    } else {
        s_print_table(keys, n);
    }
    free(keys);
    return 0;
}

static int s_revoke(const char *id, lyc_redis_t *redis, const char *prefix)
{
    if (!lyc_apikey_id_valid(id)) {
        fprintf(stderr, "lyceum: a key id is 8 hex digits (see `%s keys list`)\n", lyc_cli_program);
        return 2;
    }
    int rc = lyc_apikey_revoke(redis, prefix, id);
    if (rc < 0) {
        fprintf(stderr, "lyceum: the key could not be revoked\n");
        return 1;
    }
    if (rc == 0) {
        fprintf(stderr, "lyceum: no key %s\n", id);
        return 1;
    }
    printf("key %s revoked\n", id);
    return 0;
}

/* "on"/"off" (also 1/0, true/false) as "1"/"0"; NULL when it is neither. */
static const char *s_switch(const char *text)
{
    if (!text)
        return NULL;
    if (!strcmp(text, "on") || !strcmp(text, "1") || !strcmp(text, "true"))
        return "1";
    if (!strcmp(text, "off") || !strcmp(text, "0") || !strcmp(text, "false"))
        return "0";
    return NULL;
}

/* Collects the settings the options set; -1 after printing why. */
static int s_tenant_fields(const s_opts_t *o, const char **names, const char **values, size_t *n,
                           char day[40], char month[40])
{
    double d = 0, m = 0;
    *n = 0;
    if (s_usd(o->budget_day, "--budget-day", &d) || s_usd(o->budget_month, "--budget-month", &m))
        return -1;
    snprintf(day, 40, "%.17g", d);
    snprintf(month, 40, "%.17g", m);
    if (o->on_budget && strcmp(o->on_budget, "refuse") && strcmp(o->on_budget, "cheapest")) {
        fprintf(stderr, "lyceum: --on-budget is refuse or cheapest\n");
        return -1;
    }
    if ((o->share_stats && !s_switch(o->share_stats)) ||
        (o->share_exemplars && !s_switch(o->share_exemplars))) {
        fprintf(stderr, "lyceum: --share-stats and --share-exemplars are on or off\n");
        return -1;
    }
    const char *all_names[] = {"budget_day_usd", "budget_month_usd", "on_budget", "share_stats",
                               "share_exemplars"};
    const char *all_values[] = {o->budget_day ? day : NULL, o->budget_month ? month : NULL,
                                o->on_budget, s_switch(o->share_stats),
                                s_switch(o->share_exemplars)};
    for (size_t i = 0; i < 5; i++) {
        if (all_values[i]) {
            names[*n] = all_names[i];
            values[(*n)++] = all_values[i];
        }
    }
    return 0;
}

static int s_tenant_show(const char *tenant, lyc_redis_t *redis, const char *prefix)
{
    lyc_tenant_t t;
    double day = 0, month = 0;
    if (lyc_tenant_load(redis, prefix, tenant, &t) != 0 ||
        lyc_budget_spent(redis, prefix, tenant, NULL, &day, &month) != 0) {
        fprintf(stderr, "lyceum: the tenant's settings could not be read\n");
        return 1;
    }
    printf("tenant           %s\n"
           "budget_day_usd   %.6f (spent today %.6f)\n"
           "budget_month_usd %.6f (spent this month %.6f)\n"
           "on_budget        %s\n"
           "share_stats      %s\n"
           "share_exemplars  %s\n",
           tenant, t.budget_day_usd, day, t.budget_month_usd, month,
           t.on_budget_cheapest ? "cheapest" : "refuse", t.share_stats ? "on" : "off",
           t.share_exemplars ? "on" : "off");
    return 0;
}

/* A tenant that stops sharing exemplars takes back what it lent to the
 * pool (exemplar_pool.h). 0, or -1 after printing why. */
static int s_withdraw(const s_opts_t *o, const char *tenant, lyc_redis_t *redis, const char *prefix)
{
    lyc_settings_t s;
    if (s_settings(o, &s) != 0)
        return -1;
    lyc_vecstore_config_t config = {.redis_url = s.redis_url,
                                    .key_prefix = prefix,
                                    .dim = (size_t) s.embedding_dim,
                                    .timeout_ms = (int) s.redis_timeout_ms};
    lyc_vecstore_t *store = lyc_vecstore_new(&config);
    size_t removed = 0;
    int rc = store ? lyc_exemplar_pool_withdraw(store, redis, prefix, tenant, &removed) : -1;
    lyc_vecstore_destroy(&store);
    lyc_settings_free(&s);
    if (rc != 0) {
        fprintf(stderr,
                "lyceum: %zu exemplars taken back from the shared pool, then a failure; run it "
                "again\n",
                removed);
        return -1;
    }
    printf("exemplars taken back from the shared pool: %zu\n", removed);
    return 0;
}

static int s_tenant(const s_opts_t *o, const char *tenant, lyc_redis_t *redis, const char *prefix)
{
    const char *names[5], *values[5];
    char day[40], month[40];
    size_t n;
    if (!s_tenant_ok(tenant) || s_tenant_fields(o, names, values, &n, day, month) != 0)
        return 2;
    if (lyc_tenant_set(redis, prefix, tenant, names, values, n) != 0) {
        fprintf(stderr, "lyceum: the tenant's settings could not be stored\n");
        return 1;
    }
    if (o->share_exemplars && strcmp(s_switch(o->share_exemplars), "0") == 0 &&
        s_withdraw(o, tenant, redis, prefix) != 0)
        return 1;
    return s_tenant_show(tenant, redis, prefix);
}

/* ---- keys bus: CurveZMQ certificates -------------------------------------- */

/* Sets a file's mode; -1 after printing why. */
static int s_chmod(const char *path, mode_t mode)
{
    if (chmod(path, mode) == 0)
        return 0;
    fprintf(stderr, "lyceum: cannot set the mode of %s: %s\n", path, strerror(errno));
    return -1;
}

/* Writes cert as path (public, 0644) and path_secret (0600); with
 * public_copy, also its public half as public_copy (0644). -1 after printing
 * why. The caller has set umask 077, so no secret is ever readable by others. */
static int s_bus_save(zcert_t *cert, const char *path, const char *public_copy)
{
    char secret[PATH_MAX];
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (zcert_save(cert, path) != 0 || (public_copy && zcert_save_public(cert, public_copy) != 0)) {
        fprintf(stderr, "lyceum: cannot write %s: %s\n", public_copy ? public_copy : path,
                strerror(errno));
        return -1;
    }
    if (s_chmod(secret, 0600) != 0 || s_chmod(path, 0644) != 0 ||
        (public_copy && s_chmod(public_copy, 0644) != 0))
        return -1;
    return 0;
}

/* Makes one certificate named `name` and saves it (see s_bus_save). */
static int s_bus_make(const char *name, const char *path, const char *public_copy)
{
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, "lyceum: cannot make a certificate\n");
        return -1;
    }
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "created-by", "lyceum keys bus");
    int rc = s_bus_save(cert, path, public_copy);
    zcert_destroy(&cert);
    return rc;
}

/* Refuses to overwrite keys: 0 when none of DIR's certificates exists. */
static int s_bus_fresh(const char *dir, long clients)
{
    char path[PATH_MAX];
    for (long i = 0; i <= clients; i++) {
        if (i == 0)
            snprintf(path, sizeof path, "%s/server.cert", dir);
        else
            snprintf(path, sizeof path, "%s/client-%ld.cert", dir, i);
        if (access(path, F_OK) == 0) {
            fprintf(stderr,
                    "lyceum: %s exists: keys are never overwritten; give an empty directory\n",
                    path);
            return -1;
        }
    }
    return 0;
}

/* Prints the settings that use the certificates in dir (absolute). */
static void s_bus_print(const char *dir, long clients)
{
    printf("# CurveZMQ keys of the bus in %s; put these lines in the cluster file.\n"
           "# Copy each secret only where it is used: server.cert_secret and authorized/ to\n"
           "# the router and evaluator hosts, a client-<i>.cert_secret to each process that\n"
           "# connects (or LYCEUM_BUS_CURVE_CLIENT_CERT per process), server.cert to every host.\n"
           "bus:\n"
           "  curve:\n"
           "    enabled: true\n"
           "    server_cert: %s/server.cert_secret\n"
           "    server_public: %s/server.cert\n"
           "    authorized: %s/authorized\n"
           "    client_cert: %s/client-1.cert_secret\n",
           dir, dir, dir, dir, dir);
    fprintf(stderr,
            "lyceum: made the server certificate and %ld client certificate%s in %s "
            "(secrets mode 0600)\n",
            clients, clients == 1 ? "" : "s", dir);
}

/* `keys bus DIR`: the server's certificate, `clients` clients' and the
 * authorized directory of the clients' public halves. */
static int s_bus(const char *dir, const s_opts_t *o)
{
    char path[PATH_MAX], copy[PATH_MAX], name[64], abs[PATH_MAX];
    char *end = NULL;
    long clients = o->clients ? strtol(o->clients, &end, 10) : 1;
    if (o->clients && (end == o->clients || *end || clients < 1 || clients > S_BUS_CLIENTS_MAX)) {
        fprintf(stderr, "lyceum: --clients wants 1 to %d, not '%s'\n", S_BUS_CLIENTS_MAX,
                o->clients);
        return 2;
    }
    snprintf(path, sizeof path, "%s/authorized", dir);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || !realpath(dir, abs) ||
        (mkdir(path, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "lyceum: cannot make %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (s_bus_fresh(abs, clients) != 0)
        return 1;
    mode_t old = umask(077);
    snprintf(path, sizeof path, "%s/server.cert", abs);
    int rc = s_bus_make("lyceum bus server", path, NULL);
    for (long i = 1; rc == 0 && i <= clients; i++) {
        snprintf(name, sizeof name, "lyceum bus client %ld", i);
        snprintf(path, sizeof path, "%s/client-%ld.cert", abs, i);
        snprintf(copy, sizeof copy, "%s/authorized/client-%ld.cert", abs, i);
        rc = s_bus_make(name, path, copy);
    }
    umask(old);
    if (rc != 0)
        return 1;
    s_bus_print(abs, clients);
    return 0;
}

/* Runs subcommand `verb` with its positional argument arg (may be NULL). */
static int s_dispatch(const char *verb, const char *arg, const s_opts_t *o)
{
    char prefix[128];
    if (!strcmp(verb, "bus")) {
        if (!arg) {
            s_usage(stderr);
            return 2;
        }
        return s_bus(arg, o);
    }
    int known = !strcmp(verb, "create") || !strcmp(verb, "list") || !strcmp(verb, "revoke") ||
                !strcmp(verb, "tenant");
    int wants_arg = !strcmp(verb, "revoke") || !strcmp(verb, "tenant");
    if (!known || (wants_arg && !arg) || (!wants_arg && arg)) {
        s_usage(stderr);
        return 2;
    }
    lyc_redis_t *redis = s_connect(o, prefix, sizeof prefix);
    if (!redis)
        return 1;
    int rc;
    if (!strcmp(verb, "create"))
        rc = s_create(o, redis, prefix);
    else if (!strcmp(verb, "list"))
        rc = s_list(o, redis, prefix);
    else if (!strcmp(verb, "revoke"))
        rc = s_revoke(arg, redis, prefix);
    else
        rc = s_tenant(o, arg, redis, prefix);
    lyc_redis_destroy(&redis);
    return rc;
}

int lyc_cmd_keys(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    s_opts_t opts;
    int parsed = s_parse(argc - 1, argv + 1, &opts);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    const char *arg = optind < argc - 1 ? argv[1 + optind] : NULL;
    if (arg && optind + 1 < argc - 1) {
        s_usage(stderr);
        return 2;
    }
    return s_dispatch(argv[1], arg, &opts);
}
