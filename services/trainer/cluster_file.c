/*
 * cluster_file.c - shared settings plus one model, as YAML.
 */
#include "cluster_file.h"

#include "log.h"
#include "model_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lyc_cluster_file_write(const char *path, const lyc_settings_t *settings,
                           const lyc_model_config_t *model)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *entry = lyc_model_yaml_emit(model, 4);
    if (!entry)
        return -1;
    int rc = -1;
    FILE *out = fopen(tmp, "w");
    if (!out) {
        LYC_ERROR(NULL, "trainer: cannot write %s: %s", tmp, strerror(errno));
        goto out_free;
    }
    fprintf(out,
            "# Written by lyceum-trainer for model %s: serve it with\n"
            "#   lyceum-worker -c %s --model %s\n",
            model->name, path, model->name);
    lyc_yaml_emit_table(out, lyc_settings_table, settings, 0);
    fprintf(out, "models:\n  -\n%s", entry);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        LYC_ERROR(NULL, "trainer: cannot write %s: %s", path, strerror(errno));
        goto out_free;
    }
    rc = 0;
out_free:
    free(entry);
    return rc;
}
