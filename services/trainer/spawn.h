/*
 * spawn.h - worker processes the trainer starts for models that passed the
 * quality gate (trainer.spawn_workers), and stops when it stops.
 *
 * Each runs `<binary> -c <cluster file> --model <name>` (cluster_file.h) with
 * its output appended to <data_dir>/models/<name>.log. One that exits is
 * logged and restarted after a back-off (1 s, doubling to 60 s).
 */
#ifndef LYCEUM_TRAINER_SPAWN_H
#define LYCEUM_TRAINER_SPAWN_H

#include <stddef.h>

typedef struct lyc_spawner_t lyc_spawner_t;

/* A spawner starting `binary` (NULL or "": found as described in
 * trainer_config.h). NULL when out of memory. */
lyc_spawner_t *lyc_spawner_new(const char *binary);

/* Stops every worker (SIGTERM, then SIGKILL after 10 s) and frees. Accepts
 * NULL; nulls *self_p. */
void lyc_spawner_destroy(lyc_spawner_t **self_p);

/* Starts a worker serving model from cluster_file, output to log_path.
 * Returns its pid, or -1 (logged). */
int lyc_spawner_start(lyc_spawner_t *self, const char *cluster_file, const char *model,
                      const char *log_path);

/* Reaps workers that exited and restarts those whose back-off passed.
 * Call it now and then (the job thread does, every second). */
void lyc_spawner_tend(lyc_spawner_t *self);

/* Workers running now. */
size_t lyc_spawner_count(const lyc_spawner_t *self);

/* The binary it starts. */
const char *lyc_spawner_binary(const lyc_spawner_t *self);

#endif
