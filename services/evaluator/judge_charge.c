/*
 * judge_charge.c - the price of a judgement no model was asked for.
 */
#include "judge_charge.h"

#include "grade.h"

#include <string.h>

size_t lyc_judge_charged_tokens(const Lyceum__V1__EvalRequest *req)
{
    size_t bytes = 0;

    for (size_t i = 0; i < req->n_messages; i++)
        bytes += strlen(req->messages[i]->content);
    for (size_t i = 0; i < req->n_answers; i++)
        bytes += strlen(req->answers[i]->content);
    return (bytes + LYC_JUDGE_CHARGED_BYTES_PER_TOKEN - 1) / LYC_JUDGE_CHARGED_BYTES_PER_TOKEN;
}

double lyc_judge_charged_cost(const lyc_eval_config_t *config, const char *model,
                              const Lyceum__V1__EvalRequest *req)
{
    const lyc_eval_model_t *entry = lyc_eval_config_model(config, model);
    if (!entry)
        return 0.0;
    double prompt = (double) lyc_judge_charged_tokens(req);
    double completion = (double) LYC_JUDGE_CHARGED_COMPLETION_TOKENS;
    return (prompt * entry->price_in + completion * entry->price_out) / 1e6;
}

int lyc_supervisor_answered(const lyc_eval_config_t *config, const Lyceum__V1__EvalRequest *req)
{
    for (size_t i = 0; i < req->n_answers; i++)
        if (!lyc_answer_failed(req->answers[i]) &&
            lyc_eval_config_is_supervisor(config, req->answers[i]->model))
            return 1;
    return 0;
}
