/*
 * cluster_file.h - a cluster file for one new model, so a stock
 * lyceum-worker can serve it:
 *
 *   lyceum-worker -c <data_dir>/models/<name>.yaml --model <name>
 *
 * The file holds the shared settings the trainer runs with (redis, kafka,
 * embedding, bus, log: the worker must reach the same servers) and a
 * `models:` list with the one entry. Environment overrides (LYCEUM_*) apply
 * to the worker as to every process.
 */
#ifndef LYCEUM_TRAINER_CLUSTER_FILE_H
#define LYCEUM_TRAINER_CLUSTER_FILE_H

#include "model_config.h"
#include "settings.h"

/* Writes the file at path (atomically: a temporary file renamed). Returns 0
 * or -1 (logged). */
int lyc_cluster_file_write(const char *path, const lyc_settings_t *settings,
                           const lyc_model_config_t *model);

#endif
