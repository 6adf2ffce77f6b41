/*
 * test_trainer_newdomain.c - new-domain detection on a constructed stream
 * of unlabelled queries: questions about volcanoes, far from the labelled
 * geography queries, gather in one cluster that becomes a domain
 * "auto-1-volcano-..."; their records and vectors are relabelled; a student
 * for it is onboarded from the template model behind the quality gate; the
 * unrelated unlabelled queries and the geography ones keep their labels;
 * later queries on the topic, also after a restart, join that domain
 * instead of making another.
 */
#include "test_trainer_kit.h"

#include "embed.h"
#include "vecstore.h"

#include <cjson/cJSON.h>

#define WAIT_MS 40000

static const char *const s_geo[] = {
    "What is the capital of France?",     "What is the capital of Spain?",
    "Which river flows through Cairo?",   "What is the capital of Italy?",
    "Which ocean lies west of Portugal?", NULL};

static const char *const s_volcano[] = {
    "How high is the volcano Etna and when did the volcano Etna last erupt?",
    "How high is the volcano Vesuvius and when did the volcano Vesuvius last erupt?",
    "How high is the volcano Fuji and when did the volcano Fuji last erupt?",
    "How high is the volcano Hekla and when did the volcano Hekla last erupt?",
    "How high is the volcano Stromboli and when did the volcano Stromboli last erupt?",
    "How high is the volcano Krakatoa and when did the volcano Krakatoa last erupt?",
    NULL};

static const char *const s_later[] = {
    "How high is the volcano Pinatubo and when did the volcano Pinatubo last erupt?", NULL};

static const char *const s_after_restart[] = {
    "How high is the volcano Merapi and when did the volcano Merapi last erupt?", NULL};

static const char *const s_other[] = {"Sort a python list of integers in reverse order",
                                      "Give me a pancake recipe without eggs", NULL};

static char s_template_file[256];

static void s_init(kit_t *k)
{
    char yaml[4096], line[512];
    snprintf(s_template_file, sizeof s_template_file, "/tmp/lyc-test-nd-%d.jsonl", (int) getpid());
    FILE *f = fopen(s_template_file, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; s_volcano[i]; i++) {
        snprintf(line, sizeof line,
                 "{\"prompt\": \"%s\", \"answers\": {\"tpl\": {\"text\": \"Answer %d\"}}}\n",
                 s_volcano[i], i);
        fputs(line, f);
    }
    fclose(f);
    snprintf(yaml, sizeof yaml,
             "bus: {workers: \"tcp://127.0.0.1:9\", tasks: \"tcp://127.0.0.1:9\"}\n"
             "trainer:\n  http_listen: \"\"\n  commit_interval_ms: 300\n  trace_quiet_ms: 50\n"
             "  data_dir: \"/tmp/lyc-test-nd-%d-data\"\n  new_domains: true\n"
             "  cluster_similarity: 0.4\n  known_similarity: 0.6\n  new_domain_min_size: 6\n"
             "  onboard_template: tpl\n  gate_min_score: 0.9\n"
             "models:\n  - {name: sup, backend: memory, role: supervisor}\n"
             "  - name: tpl\n    backend: replay\n"
             "    replay: {files: [\"%s\"], format: jsonl, unknown: abstain}\n",
             (int) getpid(), s_template_file);
    kit_init(k, "lyc-test-nd", yaml);
}

/* Records, vectors and events of one group of queries; ids into ids. */
static void s_queries(kit_t *k, lyc_vecstore_t *store, lyc_embedder_t *e,
                      const char *const *questions, const char *domain, char (*ids)[LYC_ID_LEN])
{
    for (int i = 0; questions[i]; i++) {
        char conversation[512], answer[64];
        float v[256];
        lyc_id_new(ids[i]);
        snprintf(conversation, sizeof conversation, "user: %s", questions[i]);
        snprintf(answer, sizeof answer, "Answer %d", i);
        lyc_vecstore_field_t fields[] = {{"conversation", conversation},
                                         {"question", questions[i]},
                                         {"answer", answer},
                                         {"winner", "sup"},
                                         {"domain", domain}};
        ck_assert_int_eq(lyc_vecstore_record_put(store, "acme", ids[i], fields, 5), 0);
        ck_assert_int_eq(lyc_embedder_embed(e, conversation, strlen(conversation), v), 0);
        lyc_vecstore_attrs_t attrs = {.domain = domain, .model = "sup", .score = 1};
        ck_assert_int_eq(lyc_vecstore_add(store, "acme", ids[i], v, 256, &attrs), 0);
        kit_event_t ev = {.trace = ids[i],
                          .domain = domain,
                          .model = "sup",
                          .score = 1.0,
                          .supervisor = 1,
                          .winner = 1};
        kit_send(k, &ev);
    }
    kit_flush(k);
}

static const char *s_record_domain(lyc_vecstore_t *store, const char *id, char *buf, size_t cap)
{
    lyc_vecstore_record_t *r = NULL;
    ck_assert_int_eq(lyc_vecstore_record_get(store, "acme", id, &r), 0);
    ck_assert_ptr_nonnull(r);
    snprintf(buf, cap, "%s", lyc_vecstore_record_value(r, "domain"));
    lyc_vecstore_record_destroy(&r);
    return buf;
}

static const char *s_vector_domain(kit_t *k, const char *id, char *buf, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "%s:{acme}:vectors", k->prefix);
    const char *argv[] = {"VGETATTR", key, id};
    redisReply *r = lyc_redis_command(k->redis, 3, argv, NULL);
    cJSON *attrs = r && r->type == REDIS_REPLY_STRING ? cJSON_Parse(r->str) : NULL;
    const char *domain = cJSON_GetStringValue(cJSON_GetObjectItem(attrs, "domain"));
    snprintf(buf, cap, "%s", domain ? domain : "");
    cJSON_Delete(attrs);
    freeReplyObject(r);
    return buf;
}

/* Waits for the volcano records to get a new label; it into domain. */
static int s_wait_relabel(lyc_vecstore_t *store, const char *id, char *domain, size_t cap)
{
    int64_t deadline = lyc_mono_us() + WAIT_MS * 1000LL;
    while (lyc_mono_us() < deadline) {
        if (strncmp(s_record_domain(store, id, domain, cap), "auto-", 5) == 0)
            return 0;
        kit_sleep_ms(50);
    }
    return -1;
}

/* Waits for the onboarding job to end; its state into state. */
static void s_wait_job(kit_t *k, char *state, size_t cap, char *model, size_t mcap)
{
    char index[128], key[256];
    snprintf(index, sizeof index, "%s:jobs:index", k->prefix);
    int64_t deadline = lyc_mono_us() + WAIT_MS * 1000LL;
    snprintf(state, cap, "timeout");
    while (lyc_mono_us() < deadline) {
        const char *argv[] = {"ZRANGE", index, "0", "0"};
        redisReply *r = lyc_redis_command(k->redis, 4, argv, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            snprintf(key, sizeof key, "%s:jobs:%s", k->prefix, r->element[0]->str);
            kit_hget_str(k, key, "state", state, cap);
            kit_hget_str(k, key, "result_model", model, mcap);
        }
        freeReplyObject(r);
        if (!strcmp(state, "GATED") || !strcmp(state, "REJECTED") || !strcmp(state, "FAILED"))
            return;
        kit_sleep_ms(50);
    }
}

START_TEST(test_unlabelled_queries_make_a_domain)
{
    kit_t k;
    s_init(&k);
    lyc_vecstore_config_t vc = {
        .redis_url = lyc_test_redis_url(), .key_prefix = k.prefix, .dim = 256};
    lyc_vecstore_t *store = lyc_vecstore_new(&vc);
    lyc_embedder_t *e = lyc_embedder_new(256);
    ck_assert_ptr_nonnull(store);
    char geo[8][LYC_ID_LEN], volcano[8][LYC_ID_LEN], other[4][LYC_ID_LEN];
    kit_start(&k);
    s_queries(&k, store, e, s_geo, "geo", geo);
    s_queries(&k, store, e, s_other, "general", other);
    s_queries(&k, store, e, s_volcano, "general", volcano);

    char domain[128], buf[128], state[32], model[128];
    ck_assert_msg(s_wait_relabel(store, volcano[0], domain, sizeof domain) == 0,
                  "no new domain was made");
    ck_assert_msg(strncmp(domain, "auto-1-volcano", 14) == 0, "named %s", domain);
    for (int i = 0; s_volcano[i]; i++) {
        ck_assert_str_eq(s_record_domain(store, volcano[i], buf, sizeof buf), domain);
        ck_assert_str_eq(s_vector_domain(&k, volcano[i], buf, sizeof buf), domain);
    }
    for (int i = 0; s_other[i]; i++)
        ck_assert_str_eq(s_record_domain(store, other[i], buf, sizeof buf), "general");
    for (int i = 0; s_geo[i]; i++)
        ck_assert_str_eq(s_vector_domain(&k, geo[i], buf, sizeof buf), "geo");

    /* A student for it, copied from the template, passed the gate. */
    s_wait_job(&k, state, sizeof state, model, sizeof model);
    ck_assert_str_eq(state, "GATED");
    char expect[256];
    snprintf(expect, sizeof expect, "tpl-%s-v1", domain);
    ck_assert_str_eq(model, expect);
    char key[128], entry[8192];
    snprintf(key, sizeof key, "%s:registry", k.prefix);
    cJSON *json = cJSON_Parse(kit_hget_str(&k, key, model, entry, sizeof entry));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(json, "active")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(json, "domain")), domain);
    cJSON_Delete(json);

    /* A later query on the topic joins the domain; no second domain. */
    char later[2][LYC_ID_LEN];
    s_queries(&k, store, e, s_later, "general", later);
    ck_assert_int_eq(s_wait_relabel(store, later[0], buf, sizeof buf), 0);
    ck_assert_str_eq(buf, domain);
    /* So does one after a restart: the domain's centroid was kept. */
    kit_stop(&k);
    kit_start(&k);
    s_queries(&k, store, e, s_after_restart, "general", later);
    ck_assert_int_eq(s_wait_relabel(store, later[0], buf, sizeof buf), 0);
    ck_assert_str_eq(buf, domain);
    snprintf(key, sizeof key, "%s:trainer:auto_domains", k.prefix);
    char count[16];
    const char *get[] = {"GET", key};
    redisReply *r = lyc_redis_command(k.redis, 2, get, NULL);
    snprintf(count, sizeof count, "%s", r && r->str ? r->str : "");
    freeReplyObject(r);
    ck_assert_str_eq(count, "1");

    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", k.config.data_dir, s_template_file);
    lyc_embedder_destroy(&e);
    lyc_vecstore_destroy(&store);
    kit_fini(&k);
    ck_assert_int_eq(lyc_test_sh(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trainer_newdomain");
    TCase *tc = tcase_create("newdomain");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_unlabelled_queries_make_a_domain);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}
