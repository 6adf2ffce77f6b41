/*
 * model_yaml.h - a model entry (model_config.h) to YAML and back.
 *
 * New model versions travel as one YAML mapping: a training command writes
 * {output}/model.yaml, the registry keeps it, and the trainer writes it into
 * a cluster file a worker can serve (cluster_file.h). The mapping has the
 * keys of one `models:` entry:
 *
 *   name: student-geo-v1
 *   backend: replay
 *   replay: {files: ["/data/out/replay.jsonl"], format: jsonl}
 *
 * Loading goes through model_config.h's table, so it checks exactly what a
 * worker checks. Relative replay files are taken relative to base_dir.
 */
#ifndef LYCEUM_TRAINER_MODEL_YAML_H
#define LYCEUM_TRAINER_MODEL_YAML_H

#include "model_config.h"
#include "settings.h"

#include <stdio.h>

/* Writes the YAML text of a double-quoted scalar for s. */
void lyc_yaml_quoted(FILE *out, const char *s);

/* Writes the fields of a settings table set in obj as nested YAML mappings,
 * each line indented by indent spaces (SECTION fields are left out). */
void lyc_yaml_emit_table(FILE *out, const lyc_cfg_field_t *table, const void *obj, int indent);

/* The model as a YAML mapping (a new string the caller frees), each line
 * indented by indent spaces; NULL when out of memory. */
char *lyc_model_yaml_emit(const lyc_model_config_t *model, int indent);

/* Parses one model mapping from text (name stands in for the file in
 * messages) into *out. When the mapping has no name, default_name is used
 * (NULL: the name is required). Relative replay files are resolved against
 * base_dir (NULL: left as they are). Returns 0, or -1 with the reason in
 * err; free *out with lyc_model_config_free() either way. */
int lyc_model_yaml_load(const char *text, const char *name, const char *default_name,
                        const char *base_dir, lyc_model_config_t *out, char *err, size_t errcap);

/* Sets a string field of the model to a copy of value (freeing the old).
 * Returns 0 or -1 (memory). */
int lyc_model_set_str(char **field, const char *value);

#endif
