/*
 * fuzz_config.c - libFuzzer target for the cluster file (YAML).
 *
 * The cluster file is written by people and shipped by tools, so the loader
 * must refuse a bad one with the key, file and line, never crash. The input
 * is parsed with lyc_confdoc_parse() and, when it parses, applied the way
 * the processes apply it: the shared settings table at the top level, and
 * the model table at prefix "models.0." (as lyc_config_apply() and as
 * lyc_model_config_load() for the first few models, which also collects
 * replay.files). Environment overrides are off (env_prefix NULL) so a run
 * depends on its input only.
 */
#include "config.h"
#include "model_config.h"
#include "settings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_MODELS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_settings(const lyc_confdoc_t *doc)
{
    lyc_settings_t settings;
    char err[512];
    memset(&settings, 0, sizeof settings);
    err[0] = '\0';
    if (lyc_config_apply(lyc_settings_table, &settings, doc, NULL, NULL, err, sizeof err) != 0 &&
        !err[0])
        abort();
    lyc_settings_free(&settings);
}

static void s_models(const lyc_confdoc_t *doc)
{
    lyc_model_config_t model;
    char err[512];
    memset(&model, 0, sizeof model);
    err[0] = '\0';
    if (lyc_config_apply(lyc_model_config_table, &model, doc, "models.0.", NULL, err, sizeof err) !=
            0 &&
        !err[0])
        abort();
    lyc_config_free(lyc_model_config_table, &model);

    int count = lyc_model_config_count(doc);
    if (count < 0)
        abort();
    for (int i = 0; i < count && i < S_MAX_MODELS; i++) {
        if (lyc_model_config_load(doc, i, &model, err, sizeof err) == 0) {
            if (!model.name || !model.backend || !model.replay_files)
                abort();
            (void) lyc_role_parse(model.role);
        }
        lyc_model_config_free(&model);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    err[0] = '\0';
    lyc_confdoc_t *doc = lyc_confdoc_parse((const char *) data, size, "fuzz.yaml", err, sizeof err);
    if (!doc) {
        if (!err[0])
            abort(); /* a refusal names the file and line */
        return 0;
    }
    if (strcmp(lyc_confdoc_name(doc), "fuzz.yaml") != 0)
        abort();
    (void) lyc_confdoc_count(doc, "models");
    (void) lyc_confdoc_get(doc, "redis.url", NULL);
    s_settings(doc);
    s_models(doc);
    lyc_confdoc_destroy(&doc);
    return 0;
}
