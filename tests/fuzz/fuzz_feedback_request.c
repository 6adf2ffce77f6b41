/*
 * fuzz_feedback_request.c - libFuzzer target for POST /v1/lyceum/feedback.
 *
 * lyc_human_feedback_parse() must refuse a body with a 400 error or return
 * feedback the trainer can trust: a valid trace id, a valid tenant that is
 * exactly the one the body named (never a truncated or different one), and
 * a score in [0, 1].
 */
#include "human_feedback.h"
#include "ids.h"
#include "vecstore.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_TENANT "default"

/* The tenant the body asked for, or the default. */
static int s_tenant_matches(const uint8_t *data, size_t size, const char *tenant)
{
    cJSON *root = cJSON_ParseWithLength((const char *) data, size);
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "metadata"), "tenant");
    int ok = strcmp(tenant, cJSON_IsString(asked) ? asked->valuestring : S_DEFAULT_TENANT) == 0;
    cJSON_Delete(root);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lyc_human_feedback_t fb;
    lyc_api_error_t err;
    memset(&err, 0, sizeof err);
    if (lyc_human_feedback_parse((const char *) data, size, S_DEFAULT_TENANT, &fb, &err) != 0) {
        if (err.status != 400)
            abort();
        char *text = lyc_api_render_error(&err);
        free(text);
        return 0;
    }
    if (!lyc_id_valid(fb.trace_id) || !lyc_vecstore_tenant_valid(fb.tenant))
        abort();
    if (!(fb.score >= 0.0 && fb.score <= 1.0))
        abort();
    if (!s_tenant_matches(data, size, fb.tenant))
        abort(); /* the feedback would land in another tenant's records */
    return 0;
}
