/*
 * replay_data.h - recorded outcomes of one model, loaded once at start and
 * looked up by prompt.
 *
 * A replay worker answers from these records instead of calling a model, so
 * real traffic (e.g. MMLU with the recorded correctness of GPT-4 and
 * Mixtral) can run through the whole system for free. Two formats:
 *
 * routellm: the RouteLLM CSV (RFC 4180 quoting, read with libcsv: prompts
 *   contain commas, quotes and newlines). A header row names the columns:
 *   `prompt` (required), one column per model holding True/False (whether
 *   that model answered correctly; also 1/0), and optionally
 *   `<model>_response` with the answer text. The model's column is `column`
 *   (replay.column, default the model name). The domain of every row is
 *   taken from the file name: `mmlu_<subject>.csv` -> `<subject>`; any other
 *   name -> the name without directory and extension.
 *
 * jsonl: one JSON object per line (blank lines are skipped):
 *   {"prompt": "...", "domain": "...", "reference": "...",
 *    "answers": {"<model>": {"correct": true, "text": "...",
 *                            "prompt_tokens": 12, "completion_tokens": 3}}}
 *   prompt and answers are required; domain defaults to the file's (as
 *   above); reference is optional; in an answer every field is optional
 *   (correct unknown, no text, tokens estimated). A line without an answer
 *   for this model adds no record.
 *
 * Look-up key: the prompt whitespace-normalised (ends trimmed, runs of
 * whitespace collapsed to one space), hashed into a texttable. When a prompt
 * occurs twice, the first record wins. Any unreadable or malformed file
 * refuses the whole load, with the file and line in the error.
 */
#ifndef LYCEUM_WORKER_REPLAY_DATA_H
#define LYCEUM_WORKER_REPLAY_DATA_H

#include <stddef.h>
#include <stdint.h>

/* Longest line (jsonl) or physical CSV line accepted. */
#define LYC_REPLAY_MAX_LINE (16 * 1024 * 1024)

typedef enum {
    LYC_REPLAY_UNKNOWN = 0, /* same values as lyceum.v1.Correctness */
    LYC_REPLAY_RIGHT = 1,
    LYC_REPLAY_WRONG = 2
} lyc_replay_correct_t;

/* One recorded outcome; strings owned by the data set. */
typedef struct {
    char *prompt;                 /* normalised */
    char *domain;                 /* never NULL */
    char *reference;              /* known answer, or NULL */
    char *text;                   /* recorded answer text, or NULL */
    lyc_replay_correct_t correct; /* recorded correctness */
    uint32_t prompt_tokens;       /* 0: not recorded */
    uint32_t completion_tokens;   /* 0: not recorded */
} lyc_replay_record_t;

typedef struct lyc_replay_data_t lyc_replay_data_t;

/* Loads the files (a NULL-terminated list; each entry may be a glob) in
 * `format` ("routellm" or "jsonl") for the model's `column`. Returns the data
 * set, or NULL with the reason (file and line) in err. */
lyc_replay_data_t *lyc_replay_data_load(char *const *files, const char *format, const char *column,
                                        char *err, size_t errcap);

/* Accepts NULL, nulls *self_p. */
void lyc_replay_data_destroy(lyc_replay_data_t **self_p);

/* The record whose prompt equals text once both are normalised, or NULL.
 * Thread-safe (the data set is read-only after loading). */
const lyc_replay_record_t *lyc_replay_data_find(const lyc_replay_data_t *self, const char *text);

/* The i-th record loaded (0 <= i < count), in file and line order. */
const lyc_replay_record_t *lyc_replay_data_record(const lyc_replay_data_t *self, size_t i);

/* Records loaded, files read, and duplicate prompts skipped. */
size_t lyc_replay_data_count(const lyc_replay_data_t *self);
size_t lyc_replay_data_files(const lyc_replay_data_t *self);
size_t lyc_replay_data_duplicates(const lyc_replay_data_t *self);

/* text[0..len) whitespace-normalised, as a new string (caller frees);
 * NULL when out of memory. */
char *lyc_replay_normalize(const char *text, size_t len);

#endif
