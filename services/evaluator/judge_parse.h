/*
 * judge_parse.h - reading the judge model's reply.
 *
 * The judge is asked for one JSON object:
 *
 *   {"scores": [{"label": "A", "score": 0.8, "confidence": 0.9, "reason": "..."}],
 *    "best": "A", "synthesis": "..."}
 *
 * Models wrap it in prose or ```json fences, truncate it, write numbers as
 * strings or out of range. The parser takes the first balanced object that
 * holds a "scores" array (so fences and prose around it do not matter),
 * clamps numbers into 0..1, normalises labels ("answer b" -> "B") and skips
 * entries it cannot read instead of failing the whole reply. It fails only
 * when no usable score is left, which is what makes the caller retry.
 *
 * The parser is a pure function of its bytes: no globals, no I/O, bounded
 * work (input above LYC_JUDGE_MAX_INPUT is refused unread, at most
 * LYC_JUDGE_MAX_CANDIDATES objects are tried), so it can be fuzzed.
 */
#ifndef LYCEUM_EVALUATOR_JUDGE_PARSE_H
#define LYCEUM_EVALUATOR_JUDGE_PARSE_H

#include <stddef.h>

/* Largest judge reply read (bytes). */
#define LYC_JUDGE_MAX_INPUT (1024 * 1024)
/* Objects tried before the parser gives up on prose full of braces. */
#define LYC_JUDGE_MAX_CANDIDATES 32
/* Scores kept; one per answer shown to the judge. */
#define LYC_JUDGE_MAX_SCORES 64
/* A label: one or two capital letters and the NUL. */
#define LYC_JUDGE_LABEL_MAX 4
/* The judge's "best", which may also be "synthesis". */
#define LYC_JUDGE_BEST_MAX 16
/* A reason is cut to this many bytes, NUL included, on a UTF-8 boundary. */
#define LYC_JUDGE_REASON_MAX 240
/* Confidence of a score the judge gave without one. */
#define LYC_JUDGE_DEFAULT_CONFIDENCE 0.8

typedef struct {
    char label[LYC_JUDGE_LABEL_MAX];   /* "A".."Z", then "AA".. */
    double score;                      /* 0.0 to 1.0 */
    double confidence;                 /* 0.0 to 1.0 */
    char reason[LYC_JUDGE_REASON_MAX]; /* may be empty */
} lyc_judge_score_t;

typedef struct {
    lyc_judge_score_t scores[LYC_JUDGE_MAX_SCORES];
    size_t n_scores;               /* labels are unique: the first score of a label wins */
    char best[LYC_JUDGE_BEST_MAX]; /* a label, "synthesis" (lowercase), or "" */
    char *synthesis;               /* owned; NULL when absent or empty */
} lyc_judge_result_t;

/* Parses the judge's reply data[0..len) (need not be NUL-terminated) into
 * *out. Returns 0 when at least one score was read, else -1 with a one-line
 * reason in err; *out is cleared first and on failure holds nothing to free.
 * Release a success with lyc_judge_result_clear(). */
int lyc_judge_parse(const char *data, size_t len, lyc_judge_result_t *out, char *err,
                    size_t errcap);

/* Frees the synthesis and clears the result; accepts a cleared one. */
void lyc_judge_result_clear(lyc_judge_result_t *result);

/* The score given to label, or NULL when the judge gave none. */
const lyc_judge_score_t *lyc_judge_result_find(const lyc_judge_result_t *result, const char *label);

/* Writes the label of the index-th answer shown to the judge ("A", ..., "Z",
 * "AA", ...) into out[LYC_JUDGE_LABEL_MAX]; index must be below
 * LYC_JUDGE_MAX_SCORES. */
void lyc_judge_label(size_t index, char out[LYC_JUDGE_LABEL_MAX]);

#endif
