/*
 * dispatch.h - running one fine-tuning job somewhere else.
 *
 * command  trainer.command is a /bin/sh -c template. Its placeholders are
 *          replaced by shell-quoted values (write {data}, not '{data}'):
 *            {data}        the job's training set (JSONL, chat format)
 *            {heldout}     its held-out set (same format)
 *            {base_model}  the model being fine-tuned (openai.model or name)
 *            {domain}      the domain of the data
 *            {output}      a fresh directory for the result
 *            {job_id}      the job's id
 *            {name}        the name the new version should have
 *          The command runs in its own process group with stdout and stderr
 *          in {output}/../command.log, and must exit 0 leaving
 *          {output}/model.yaml (model_yaml.h). Past trainer.job_timeout_ms,
 *          or when the trainer stops, the group gets SIGTERM, then SIGKILL.
 *
 * openai   an OpenAI-compatible fine-tuning API at trainer.openai.base_url:
 *          POST /files (multipart, purpose fine-tune), POST
 *          /fine_tuning/jobs {training_file, model}, then GET
 *          /fine_tuning/jobs/{id} every trainer.openai.poll_ms until
 *          succeeded (the result is fine_tuned_model) or failed/cancelled.
 */
#ifndef LYCEUM_TRAINER_DISPATCH_H
#define LYCEUM_TRAINER_DISPATCH_H

#include "trainer_config.h"

#include <signal.h>
#include <stddef.h>

typedef struct {
    const char *job_id;
    const char *data;
    const char *heldout;
    const char *base_model;
    const char *domain;
    const char *output; /* an existing, empty directory */
    const char *name;
} lyc_dispatch_job_t;

/* The command template with the job's values, as a new string; NULL when
 * out of memory. Unknown {words} are left as they are. */
char *lyc_dispatch_expand(const char *template_text, const lyc_dispatch_job_t *job);

/* Runs the command for job and waits for it (at most the job time-out, and
 * no longer than *stop stays 0). Returns 0 when it exited 0 and wrote
 * {output}/model.yaml, else -1 with the reason in err. */
int lyc_dispatch_command(const lyc_trainer_config_t *config, const lyc_dispatch_job_t *job,
                         const volatile sig_atomic_t *stop, char *err, size_t errcap);

/* Runs the job through the fine-tuning API. Returns 0 with the fine-tuned
 * model's name in result (cap bytes), else -1 with the reason in err. The
 * API's job id goes into external (cap bytes) as soon as it is known. */
int lyc_dispatch_openai(const lyc_trainer_config_t *config, const lyc_dispatch_job_t *job,
                        const volatile sig_atomic_t *stop, char *result, char *external, size_t cap,
                        char *err, size_t errcap);

#endif
