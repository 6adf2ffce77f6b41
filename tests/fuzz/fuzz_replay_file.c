/*
 * fuzz_replay_file.c - libFuzzer target for the replay worker's data files.
 *
 * Replay files come from outside (RouteLLM's published CSVs, recordings
 * people share), so a malformed one must be refused with its file and line,
 * never crash the worker. The input is written to a temporary file in each
 * format (mmlu_fuzz.csv for routellm, fuzz.jsonl for jsonl) and loaded for
 * the model column "gpt-4"; a load that succeeds must give records whose
 * prompts are normalised and findable by their own text.
 *
 * Run it with a -max_len of a few kilobytes: every input is two file writes.
 */
#include "replay_data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_COLUMN "model-a"

static char s_dir[] = "/tmp/lyceum-fuzz-replay-XXXXXX";
static char s_csv[sizeof s_dir + 32], s_jsonl[sizeof s_dir + 32];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_cleanup(void)
{
    unlink(s_csv);
    unlink(s_jsonl);
    rmdir(s_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (!mkdtemp(s_dir))
        abort();
    snprintf(s_csv, sizeof s_csv, "%s/mmlu_fuzz.csv", s_dir);
    snprintf(s_jsonl, sizeof s_jsonl, "%s/fuzz.jsonl", s_dir);
    atexit(s_cleanup);
    return 0;
}

static void s_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

static void s_check(const lyc_replay_data_t *set)
{
    size_t count = lyc_replay_data_count(set);
    if (lyc_replay_data_files(set) != 1)
        abort();
    for (size_t i = 0; i < count; i++) {
        const lyc_replay_record_t *r = lyc_replay_data_record(set, i);
        if (!r || !r->prompt || !r->domain)
            abort();
        char *again = lyc_replay_normalize(r->prompt, strlen(r->prompt));
        if (again && strcmp(again, r->prompt) != 0)
            abort(); /* stored prompts are normalised: normalising is idempotent */
        free(again);
        if (lyc_replay_data_find(set, r->prompt) != r)
            abort(); /* each record is found by its own prompt (first wins) */
        if (r->correct != LYC_REPLAY_UNKNOWN && r->correct != LYC_REPLAY_RIGHT &&
            r->correct != LYC_REPLAY_WRONG)
            abort();
    }
}

static void s_load(const char *path, const char *format)
{
    char *const files[] = {(char *) path, NULL};
    char err[512];
    err[0] = '\0';
    lyc_replay_data_t *set = lyc_replay_data_load(files, format, S_COLUMN, err, sizeof err);
    if (!set) {
        if (!err[0])
            abort(); /* a refusal says why */
        return;
    }
    s_check(set);
    lyc_replay_data_destroy(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_write(s_csv, data, size);
    s_load(s_csv, "routellm");
    s_write(s_jsonl, data, size);
    s_load(s_jsonl, "jsonl");
    return 0;
}
