/*
 * gate.h - the quality gate: a model's accuracy on held-out questions.
 *
 * The held-out file is JSONL in the chat fine-tuning format the trainer
 * writes ({"messages": [system, user, assistant]}): the model is asked the
 * conversation without the last assistant turn, in-process, through its own
 * backend (services/worker/backend.h: the same code a worker serves it
 * with), and its answer is graded against that turn (grade.h). A failed
 * call counts as wrong.
 */
#ifndef LYCEUM_TRAINER_GATE_H
#define LYCEUM_TRAINER_GATE_H

#include "model_config.h"
#include "settings.h"

#include <signal.h>
#include <stddef.h>

typedef struct {
    size_t asked;  /* questions put to the model */
    size_t right;  /* answers matching the reference */
    size_t failed; /* calls that returned an error */
    double score;  /* right / asked, 0 when nothing was asked */
} lyc_gate_result_t;

/* Asks model at most max_questions questions of heldout_path (in file
 * order) and grades them. tenant and domain go into each Task. Stops early
 * when *stop becomes nonzero. Returns 0 with the result in *out, or -1 with
 * the reason in err (the backend refused the configuration, the file cannot
 * be read or holds no question). */
int lyc_gate_evaluate(const lyc_model_config_t *model, const lyc_settings_t *settings,
                      const char *heldout_path, const char *tenant, const char *domain,
                      size_t max_questions, const volatile sig_atomic_t *stop,
                      lyc_gate_result_t *out, char *err, size_t errcap);

#endif
