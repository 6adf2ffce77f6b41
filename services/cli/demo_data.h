/*
 * demo_data.h - the demo data set: questions with recorded answers of three
 * models, generated deterministically from a seed, written in the replay
 * worker's JSONL format (services/worker/replay_data.h):
 *
 *   {"prompt": "...", "domain": "...", "reference": "...",
 *    "answers": {"supervisor": {"correct": true, "text": "...",
 *                               "prompt_tokens": 21, "completion_tokens": 8},
 *                "teacher": {...}, "student": {...}}}
 *
 * Four domains built from small tables of real facts and computed answers:
 * arithmetic, capitals (world capitals), units (unit conversions) and
 * chemistry (chemical symbols). Each question also comes reworded (same
 * answer, other words: one more line in the file), which the demo uses as a
 * near-duplicate.
 *
 * Each model has a designed accuracy per domain (lyc_demo_accuracy()): the
 * student is strong in arithmetic and weak in capitals, the teacher good at
 * most, the supervisor best. Exactly round(accuracy * questions) of a
 * domain's questions are right for a model; the rest get a plausible wrong
 * answer (another city, a near-miss number, a wrong symbol).
 */
#ifndef LYCEUM_CLI_DEMO_DATA_H
#define LYCEUM_CLI_DEMO_DATA_H

#include <stddef.h>
#include <stdint.h>

#define LYC_DEMO_MODELS   3
#define LYC_DEMO_DOMAINS  4
#define LYC_DEMO_TEXT_MAX 192

/* Model names as in the data ("supervisor", "teacher", "student"). */
extern const char *const lyc_demo_models[LYC_DEMO_MODELS];

/* Domain names ("arithmetic", "capitals", "units", "chemistry"). */
extern const char *const lyc_demo_domains[LYC_DEMO_DOMAINS];

/* One model's recorded answer. */
typedef struct {
    int correct;
    char text[LYC_DEMO_TEXT_MAX];
    unsigned completion_tokens;
} lyc_demo_answer_t;

/* One question: variant 0 is `prompt`, variant 1 `reworded`. */
typedef struct {
    int domain; /* index into lyc_demo_domains */
    char prompt[LYC_DEMO_TEXT_MAX];
    char reworded[LYC_DEMO_TEXT_MAX];
    char reference[64];             /* the short right answer, e.g. "Canberra" */
    char before[LYC_DEMO_TEXT_MAX]; /* the full sentence around the answer */
    char after[48];
    unsigned prompt_tokens[2]; /* per variant */
    lyc_demo_answer_t answers[LYC_DEMO_MODELS];
} lyc_demo_question_t;

typedef struct lyc_demo_data_t lyc_demo_data_t;

/* The designed share of right answers of model (index) in domain (index). */
double lyc_demo_accuracy(int model, int domain);

/* Index of a domain name, or -1. */
int lyc_demo_domain_index(const char *name);

/* Generates `count` distinct questions (4..100000) from seed; the same seed
 * and count give the same data, byte for byte. Returns NULL when out of
 * memory or count is out of range. The caller destroys it. */
lyc_demo_data_t *lyc_demo_data_new(uint64_t seed, size_t count);

/* Accepts NULL, nulls *self_p. */
void lyc_demo_data_destroy(lyc_demo_data_t **self_p);

size_t lyc_demo_data_count(const lyc_demo_data_t *self);

/* The i-th question (owned by the data set), in a seeded shuffled order. */
const lyc_demo_question_t *lyc_demo_data_get(const lyc_demo_data_t *self, size_t i);

/* The text of a variant (0: prompt, 1: reworded). */
const char *lyc_demo_prompt(const lyc_demo_question_t *q, int variant);

/* One JSONL line (no newline) for a question's variant: a new string the
 * caller frees, or NULL when out of memory. */
char *lyc_demo_data_line(const lyc_demo_data_t *self, size_t i, int variant);

/* Writes every question in both variants to path (atomically). Returns 0,
 * or -1 with the reason in err. */
int lyc_demo_data_write(const lyc_demo_data_t *self, const char *path, char *err, size_t errcap);

/* 1 when text is a right answer to q: the reference alone, or in any
 * model's style ("The answer is X.", the full sentence), ignoring case,
 * surrounding space and a final period. */
int lyc_demo_is_correct(const lyc_demo_question_t *q, const char *text);

#endif
