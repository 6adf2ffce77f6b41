/*
 * grade_agreement.c - grading answers by how far they agree with a trusted one.
 *
 * With no judge and no reference, the best evidence is agreement. The trusted
 * answer is the supervisor's when it answered (it is the strongest model we
 * have); otherwise it is the answer most others agree with (the centre of the
 * largest cluster). Every answer scores its similarity to the trusted one:
 * 1.0 when the normalised texts are equal, else the cosine of their built-in
 * embeddings with negative values cut to 0 (unrelated texts score about 0).
 *
 * Confidence says how much the trusted answer deserves trust: with the
 * supervisor it runs from 0.6 (nobody agrees with it) to 0.9 (everybody
 * does); with a majority from 0.2 to 0.8. One lone answer agrees with
 * nothing and gets the low end.
 */
#include "grade.h"

#include "log.h"
#include "text_match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The given answers being compared. */
typedef struct {
    size_t index[LYC_EVAL_MAX_ANSWERS]; /* request index of each given answer */
    size_t n;
    unsigned dim;
    float *vectors; /* n * dim */
    char **normal;  /* n normalised texts */
    double *sim;    /* n * n similarities, 0..1 */
} s_pool_t;

static void s_pool_free(s_pool_t *pool)
{
    for (size_t i = 0; pool->normal && i < pool->n; i++)
        free(pool->normal[i]);
    free(pool->normal);
    free(pool->vectors);
    free(pool->sim);
}

static double s_similarity(const s_pool_t *pool, size_t a, size_t b)
{
    if (a == b || (*pool->normal[a] && strcmp(pool->normal[a], pool->normal[b]) == 0))
        return 1.0;
    float cosine =
        lyc_vec_cosine(pool->vectors + a * pool->dim, pool->vectors + b * pool->dim, pool->dim);
    return cosine > 0.0f ? (cosine < 1.0f ? (double) cosine : 1.0) : 0.0;
}

/* Normalises and embeds every given answer, then fills the similarity matrix. */
static int s_pool_fill(s_pool_t *pool, const lyc_grading_t *self)
{
    const Lyceum__V1__EvalRequest *req = self->request;
    pool->dim = lyc_embedder_dim(self->embedder);
    pool->vectors = calloc(pool->n * pool->dim, sizeof *pool->vectors);
    pool->normal = calloc(pool->n, sizeof *pool->normal);
    pool->sim = calloc(pool->n * pool->n, sizeof *pool->sim);
    if (!pool->vectors || !pool->normal || !pool->sim)
        return -1;
    for (size_t i = 0; i < pool->n; i++) {
        const char *text = req->answers[pool->index[i]]->content;
        size_t len = strlen(text);
        pool->normal[i] = lyc_text_normalize(text, len);
        if (!pool->normal[i] ||
            lyc_embedder_embed(self->embedder, text, len, pool->vectors + i * pool->dim) != 0)
            return -1;
    }
    for (size_t a = 0; a < pool->n; a++)
        for (size_t b = 0; b < pool->n; b++)
            pool->sim[a * pool->n + b] = s_similarity(pool, a, b);
    return 0;
}

/* Pool position of the first supervisor answer, or -1. */
static long s_supervisor(const s_pool_t *pool, const lyc_grading_t *self)
{
    for (size_t i = 0; i < pool->n; i++)
        if (lyc_eval_config_is_supervisor(self->config,
                                          self->request->answers[pool->index[i]]->model))
            return (long) i;
    return -1;
}

/* Number of other answers that agree with answer a. */
static size_t s_support(const s_pool_t *pool, size_t a, double threshold)
{
    size_t support = 0;
    for (size_t b = 0; b < pool->n; b++)
        support += b != a && pool->sim[a * pool->n + b] >= threshold;
    return support;
}

static double s_total(const s_pool_t *pool, size_t a)
{
    double total = 0.0;
    for (size_t b = 0; b < pool->n; b++)
        total += pool->sim[a * pool->n + b];
    return total;
}

/* The answer most others agree with; ties go to the most similar overall,
 * then to the earlier answer. */
static size_t s_majority(const s_pool_t *pool, double threshold)
{
    size_t best = 0, best_support = s_support(pool, 0, threshold);
    double best_total = s_total(pool, 0);
    for (size_t a = 1; a < pool->n; a++) {
        size_t support = s_support(pool, a, threshold);
        double total = s_total(pool, a);
        if (support > best_support || (support == best_support && total > best_total + 1e-12)) {
            best = a;
            best_support = support;
            best_total = total;
        }
    }
    return best;
}

/* Scores every given answer against the trusted one. */
static void s_score(lyc_grading_t *self, const s_pool_t *pool, size_t trusted, int supervisor)
{
    double threshold = self->config->agreement_threshold;
    size_t agree = s_support(pool, trusted, threshold);
    double share = pool->n > 1 ? (double) agree / (double) (pool->n - 1) : 0.0;
    double confidence = supervisor ? 0.6 + 0.3 * share : 0.2 + 0.6 * share;
    const char *whose = supervisor ? "the supervisor's" : "the majority";

    for (size_t i = 0; i < pool->n; i++) {
        lyc_grade_t *grade = &self->grades[pool->index[i]];
        grade->score = pool->sim[i * pool->n + trusted];
        grade->confidence = confidence;
        grade->eligible = 1;
        if (i == trusted)
            lyc_grade_explain(grade, "%s answer; %zu of %zu others agree",
                              supervisor ? "the supervisor's" : "the majority's", agree,
                              pool->n - 1);
        else
            lyc_grade_explain(grade, "similarity %.2f to %s answer", grade->score, whose);
    }
}

int lyc_grade_agreement(lyc_grading_t *self, const char *judged_by)
{
    s_pool_t pool = {.n = 0};
    const Lyceum__V1__EvalRequest *req = self->request;
    int rc = -1;

    snprintf(self->judged_by, sizeof self->judged_by, "%s", judged_by);
    self->mode = LYCEUM__V1__EVAL_MODE__EVAL_MODE_AGREEMENT;
    for (size_t i = 0; i < req->n_answers && i < LYC_EVAL_MAX_ANSWERS; i++)
        if (!lyc_answer_failed(req->answers[i]))
            pool.index[pool.n++] = i;
    if (pool.n == 0)
        return 0;
    if (s_pool_fill(&pool, self) != 0) {
        LYC_ERROR(req->trace_id, "evaluator: out of memory grading %zu answers by agreement",
                  pool.n);
        goto out_free_pool;
    }
    long supervisor = s_supervisor(&pool, self);
    size_t trusted = supervisor >= 0 ? (size_t) supervisor
                                     : s_majority(&pool, self->config->agreement_threshold);
    s_score(self, &pool, trusted, supervisor >= 0);
    rc = 0;
out_free_pool:
    s_pool_free(&pool);
    return rc;
}
