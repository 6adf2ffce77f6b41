/*
 * replay_data.c - loading RouteLLM CSV and Lyceum JSONL recordings into a
 * table keyed by the normalised prompt (see replay_data.h).
 */
#include "replay_data.h"

#include "texttable.h"

#include <cJSON.h>
#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lyc_replay_data_t {
    lyc_replay_record_t *records;
    size_t count, cap;
    lyc_texttable_t *index; /* normalised prompt -> position in records */
    size_t files;
    size_t duplicates;
};

/* ---- records ----------------------------------------------------------- */

static void s_record_free(lyc_replay_record_t *r)
{
    free(r->prompt);
    free(r->domain);
    free(r->reference);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* Adds *r, taking its strings in every case (a duplicate's are freed).
 * Returns 0, or -1 when out of memory. */
static int s_add(lyc_replay_data_t *self, lyc_replay_record_t *r)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 1024;
        lyc_replay_record_t *grown = realloc(self->records, cap * sizeof *grown);
        if (!grown)
            goto out_free_record;
        self->records = grown;
        self->cap = cap;
    }
    int added = lyc_texttable_put(self->index, r->prompt, strlen(r->prompt), self->count);
    if (added < 0)
        goto out_free_record;
    if (added == 0) {
        self->duplicates++;
        s_record_free(r);
        return 0;
    }
    self->records[self->count++] = *r;
    memset(r, 0, sizeof *r);
    return 0;
out_free_record:
    s_record_free(r);
    return -1;
}

char *lyc_replay_normalize(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    int space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        if (isspace(c)) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = 0;
        out[n++] = (char) c;
    }
    out[n] = '\0';
    return out;
}

/* The domain of a file's rows: "dir/mmlu_<subject>.csv" -> "<subject>",
 * else the base name without extension. A new string, NULL on failure. */
static char *s_domain_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "mmlu_", 5) == 0 && base[5])
        base += 5;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot > base ? (size_t) (dot - base) : strlen(base);
    return strndup(base, len);
}

/* Reads one line (with its '\n') into *buf, growing it up to
 * LYC_REPLAY_MAX_LINE. Returns 1 for a line, 0 at the end, -1 when the line
 * is too long, memory runs out or reading fails (errno tells). */
static int s_read_line(FILE *f, char **buf, size_t *cap, size_t *len)
{
    *len = 0;
    for (;;) {
        if (*cap - *len < 2) {
            size_t grown_cap = *cap ? *cap * 2 : 64 * 1024;
            if (grown_cap > LYC_REPLAY_MAX_LINE + 2) {
                errno = EFBIG;
                return -1;
            }
            char *grown = realloc(*buf, grown_cap);
            if (!grown)
                return -1;
            *buf = grown;
            *cap = grown_cap;
        }
        if (!fgets(*buf + *len, (int) (*cap - *len), f))
            return ferror(f) ? -1 : *len > 0;
        *len += strlen(*buf + *len);
        if (*len > 0 && (*buf)[*len - 1] == '\n')
            return 1;
    }
}

/* ---- routellm CSV ---------------------------------------------------- */

typedef struct {
    lyc_replay_data_t *data;
    const char *path;
    const char *column;
    char *domain;
    long line;      /* physical line being fed */
    long row_line;  /* line where the current row started */
    size_t field;   /* index of the next field in the row */
    size_t columns; /* fields in the header */
    int header_done;
    long prompt_col, model_col, response_col;
    char *prompt, *verdict, *response; /* the current row's cells */
    char *err;
    size_t errcap;
    int failed;
} s_csv_t;

static void s_csv_fail(s_csv_t *c, const char *what)
{
    if (!c->failed)
        snprintf(c->err, c->errcap, "%s:%ld: %s", c->path, c->row_line, what);
    c->failed = 1;
}

static void s_csv_header_field(s_csv_t *c, const char *s, size_t len)
{
    if (c->field == 0 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* a UTF-8 byte order mark */
        len -= 3;
    }
    size_t clen = strlen(c->column);
    if (len == 6 && memcmp(s, "prompt", 6) == 0)
        c->prompt_col = (long) c->field;
    else if (len == clen && memcmp(s, c->column, clen) == 0)
        c->model_col = (long) c->field;
    else if (len == clen + 9 && memcmp(s, c->column, clen) == 0 &&
             memcmp(s + clen, "_response", 9) == 0)
        c->response_col = (long) c->field;
}

/* Keeps a copy of a data cell the record needs. */
static void s_csv_data_field(s_csv_t *c, const char *s, size_t len)
{
    char **slot = NULL;
    if ((long) c->field == c->prompt_col)
        slot = &c->prompt;
    else if ((long) c->field == c->model_col)
        slot = &c->verdict;
    else if ((long) c->field == c->response_col)
        slot = &c->response;
    if (!slot)
        return;
    free(*slot);
    *slot = strndup(s, len);
    if (!*slot)
        s_csv_fail(c, "out of memory");
}

static void s_csv_on_field(void *s, size_t len, void *data)
{
    s_csv_t *c = data;
    if (c->failed)
        return;
    const char *text = s ? s : "";
    if (!c->header_done)
        s_csv_header_field(c, text, len);
    else
        s_csv_data_field(c, text, len);
    c->field++;
}

/* True/False (also 1/0) -> correctness; -1 for anything else. */
static int s_csv_verdict(const char *v)
{
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return LYC_REPLAY_RIGHT;
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return LYC_REPLAY_WRONG;
    return -1;
}

static void s_csv_end_header(s_csv_t *c)
{
    char what[256];
    c->columns = c->field;
    c->header_done = 1;
    if (c->prompt_col < 0) {
        s_csv_fail(c, "the header has no 'prompt' column");
    } else if (c->model_col < 0) {
        snprintf(what, sizeof what, "the header has no column '%.200s' (replay.column)", c->column);
        s_csv_fail(c, what);
    }
}

/* Checks the finished row; returns NULL or what is wrong with it. */
static const char *s_csv_check_row(const s_csv_t *c, char *what, size_t cap)
{
    if (c->field != c->columns) {
        snprintf(what, cap, "the row has %zu fields, the header %zu", c->field, c->columns);
        return what;
    }
    if (s_csv_verdict(c->verdict ? c->verdict : "") < 0)
        return "the model's column must hold True or False";
    return NULL;
}

static void s_csv_end_row(s_csv_t *c)
{
    char buf[128];
    const char *what = s_csv_check_row(c, buf, sizeof buf);
    lyc_replay_record_t r = {0};
    if (what)
        goto out_fail;
    what = "out of memory";
    r.prompt = lyc_replay_normalize(c->prompt ? c->prompt : "", c->prompt ? strlen(c->prompt) : 0);
    r.domain = strdup(c->domain);
    r.correct = (lyc_replay_correct_t) s_csv_verdict(c->verdict);
    if (c->response && *c->response) {
        r.text = c->response;
        c->response = NULL;
    }
    if (!r.prompt || !r.domain)
        goto out_fail;
    if (!*r.prompt) {
        what = "empty prompt";
        goto out_fail;
    }
    if (s_add(c->data, &r) != 0)
        s_csv_fail(c, "out of memory");
    return;
out_fail:
    s_record_free(&r);
    s_csv_fail(c, what);
}

static void s_csv_on_row(int terminator, void *data)
{
    s_csv_t *c = data;
    if (!c->failed) {
        if (!c->header_done)
            s_csv_end_header(c);
        else
            s_csv_end_row(c);
    }
    free(c->prompt);
    free(c->verdict);
    free(c->response);
    c->prompt = c->verdict = c->response = NULL;
    c->field = 0;
    c->row_line = c->line + (terminator == '\n' || terminator == '\r');
}

/* libcsv grows its field buffer with this: refusing past the line limit
 * turns a runaway quoted field into an error instead of unbounded memory. */
static void *s_csv_realloc(void *ptr, size_t size)
{
    return size > LYC_REPLAY_MAX_LINE ? NULL : realloc(ptr, size);
}

/* Feeds the file line by line, so errors can name the line. */
static int s_csv_feed(s_csv_t *c, FILE *f, struct csv_parser *p)
{
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = 0;
    while (!c->failed && (rc = s_read_line(f, &buf, &cap, &len)) == 1) {
        c->line++;
        if (csv_parse(p, buf, len, s_csv_on_field, s_csv_on_row, c) != len) {
            char what[160];
            snprintf(what, sizeof what, "malformed CSV near line %ld: %s", c->line,
                     csv_strerror(csv_error(p)));
            s_csv_fail(c, what);
        }
    }
    if (!c->failed && rc < 0)
        s_csv_fail(c, errno == EFBIG ? "line too long" : strerror(errno));
    if (!c->failed && csv_fini(p, s_csv_on_field, s_csv_on_row, c) != 0)
        s_csv_fail(c, "malformed CSV: unterminated quoted field at the end of the file");
    free(buf);
    return c->failed ? -1 : 0;
}

static int s_load_csv(lyc_replay_data_t *self, const char *path, FILE *f, const char *column,
                      char *err, size_t errcap)
{
    struct csv_parser parser;
    s_csv_t c = {.data = self,
                 .path = path,
                 .column = column,
                 .row_line = 1,
                 .prompt_col = -1,
                 .model_col = -1,
                 .response_col = -1,
                 .err = err,
                 .errcap = errcap};
    c.domain = s_domain_of(path);
    if (!c.domain) {
        snprintf(err, errcap, "%s: out of memory", path);
        return -1;
    }
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        snprintf(err, errcap, "%s: cannot start the CSV parser", path);
        free(c.domain);
        return -1;
    }
    csv_set_realloc_func(&parser, s_csv_realloc);
    int rc = s_csv_feed(&c, f, &parser);
    if (rc == 0 && !c.header_done) {
        snprintf(err, errcap, "%s:1: empty file (no header row)", path);
        rc = -1;
    }
    csv_free(&parser);
    free(c.prompt);
    free(c.verdict);
    free(c.response);
    free(c.domain);
    return rc;
}

/* ---- jsonl ------------------------------------------------------------- */

/* A token count from an optional JSON number; -1 when present but not a
 * whole number in 0..2^32-1. */
static long long s_json_tokens(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!item)
        return 0;
    double v = cJSON_IsNumber(item) ? item->valuedouble : -1;
    if (v < 0 || v > 4294967295.0 || floor(v) != v)
        return -1;
    return (long long) v;
}

/* Fills r from this model's entry in "answers"; returns NULL or what is wrong. */
static const char *s_json_answer(const cJSON *answer, lyc_replay_record_t *r)
{
    if (!cJSON_IsObject(answer))
        return "the model's entry in 'answers' must be an object";
    const cJSON *correct = cJSON_GetObjectItemCaseSensitive(answer, "correct");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(answer, "text");
    if (correct && !cJSON_IsBool(correct))
        return "'correct' must be true or false";
    if (text && !cJSON_IsString(text))
        return "'text' must be a string";
    long long in = s_json_tokens(answer, "prompt_tokens");
    long long out = s_json_tokens(answer, "completion_tokens");
    if (in < 0 || out < 0)
        return "token counts must be whole numbers >= 0";
    r->correct = !correct                ? LYC_REPLAY_UNKNOWN
                 : cJSON_IsTrue(correct) ? LYC_REPLAY_RIGHT
                                         : LYC_REPLAY_WRONG;
    r->prompt_tokens = (uint32_t) in;
    r->completion_tokens = (uint32_t) out;
    if (text && *text->valuestring && !(r->text = strdup(text->valuestring)))
        return "out of memory";
    return NULL;
}

/* One object -> one record (or none, when it has no answer for column).
 * Returns NULL or what is wrong with the line. */
static const char *s_json_line(lyc_replay_data_t *self, const cJSON *obj, const char *column,
                               const char *file_domain)
{
    if (!cJSON_IsObject(obj))
        return "not a JSON object";
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(obj, "prompt");
    const cJSON *domain = cJSON_GetObjectItemCaseSensitive(obj, "domain");
    const cJSON *reference = cJSON_GetObjectItemCaseSensitive(obj, "reference");
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(obj, "answers");
    if (!cJSON_IsString(prompt) || !*prompt->valuestring)
        return "'prompt' must be a non-empty string";
    if ((domain && !cJSON_IsString(domain)) || (reference && !cJSON_IsString(reference)))
        return "'domain' and 'reference' must be strings";
    if (!cJSON_IsObject(answers))
        return "'answers' must be an object";
    const cJSON *answer = cJSON_GetObjectItemCaseSensitive(answers, column);
    if (!answer)
        return NULL;
    lyc_replay_record_t r = {0};
    const char *what = s_json_answer(answer, &r);
    if (what)
        goto out_free_record;
    what = "out of memory";
    r.prompt = lyc_replay_normalize(prompt->valuestring, strlen(prompt->valuestring));
    r.domain = strdup(domain && *domain->valuestring ? domain->valuestring : file_domain);
    if (reference && !(r.reference = strdup(reference->valuestring)))
        goto out_free_record;
    if (!r.prompt || !r.domain)
        goto out_free_record;
    if (!*r.prompt) {
        what = "'prompt' is blank";
        goto out_free_record;
    }
    return s_add(self, &r) == 0 ? NULL : what;
out_free_record:
    s_record_free(&r);
    return what;
}

static int s_load_jsonl(lyc_replay_data_t *self, const char *path, FILE *f, const char *column,
                        char *err, size_t errcap)
{
    char *domain = s_domain_of(path);
    char *buf = NULL;
    size_t cap = 0, len = 0;
    long line = 0;
    int rc = 0;
    const char *what = domain ? NULL : "out of memory";
    while (!what && (rc = s_read_line(f, &buf, &cap, &len)) == 1) {
        line++;
        size_t i = 0;
        while (i < len && isspace((unsigned char) buf[i]))
            i++;
        if (i == len)
            continue;
        cJSON *obj = cJSON_ParseWithLength(buf, len);
        what = obj ? s_json_line(self, obj, column, domain) : "not valid JSON";
        cJSON_Delete(obj);
    }
    if (!what && rc < 0) {
        line++;
        what = errno == EFBIG ? "line too long" : strerror(errno);
    }
    if (what)
        snprintf(err, errcap, "%s:%ld: %s", path, line, what);
    free(buf);
    free(domain);
    return what ? -1 : 0;
}

/* ---- files and globs ------------------------------------------------- */

static int s_load_file(lyc_replay_data_t *self, const char *path, const char *format,
                       const char *column, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = strcmp(format, "jsonl") == 0 ? s_load_jsonl(self, path, f, column, err, errcap)
                                          : s_load_csv(self, path, f, column, err, errcap);
    fclose(f);
    if (rc == 0)
        self->files++;
    return rc;
}

/* Loads every file the pattern names (a plain path is its own pattern). */
static int s_load_pattern(lyc_replay_data_t *self, const char *pattern, const char *format,
                          const char *column, char *err, size_t errcap)
{
    glob_t g;
    int grc = glob(pattern, GLOB_ERR, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        snprintf(err, errcap, "replay.files: '%s' names no file", pattern);
        return -1;
    }
    if (grc != 0) {
        snprintf(err, errcap, "replay.files: cannot expand '%s'", pattern);
        globfree(&g);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
        rc = s_load_file(self, g.gl_pathv[i], format, column, err, errcap);
    globfree(&g);
    return rc;
}

lyc_replay_data_t *lyc_replay_data_load(char *const *files, const char *format, const char *column,
                                        char *err, size_t errcap)
{
    if (!files || !files[0]) {
        snprintf(err, errcap, "replay.files is empty: name at least one file or glob");
        return NULL;
    }
    if (strcmp(format, "routellm") != 0 && strcmp(format, "jsonl") != 0) {
        snprintf(err, errcap, "replay.format: unknown format '%s'", format);
        return NULL;
    }
    lyc_replay_data_t *self = calloc(1, sizeof *self);
    if (!self || !(self->index = lyc_texttable_new(16 * 1024))) {
        snprintf(err, errcap, "out of memory");
        lyc_replay_data_destroy(&self);
        return NULL;
    }
    for (char *const *p = files; *p; p++) {
        if (s_load_pattern(self, *p, format, column, err, errcap) != 0) {
            lyc_replay_data_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void lyc_replay_data_destroy(lyc_replay_data_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_replay_data_t *self = *self_p;
    lyc_texttable_destroy(&self->index);
    for (size_t i = 0; i < self->count; i++)
        s_record_free(&self->records[i]);
    free(self->records);
    free(self);
    *self_p = NULL;
}

const lyc_replay_record_t *lyc_replay_data_find(const lyc_replay_data_t *self, const char *text)
{
    if (!text)
        return NULL;
    char *key = lyc_replay_normalize(text, strlen(text));
    if (!key)
        return NULL;
    size_t at = 0;
    int found = lyc_texttable_get(self->index, key, strlen(key), &at);
    free(key);
    return found ? &self->records[at] : NULL;
}

size_t lyc_replay_data_count(const lyc_replay_data_t *self)
{
    return self->count;
}

const lyc_replay_record_t *lyc_replay_data_record(const lyc_replay_data_t *self, size_t i)
{
    return i < self->count ? &self->records[i] : NULL;
}

size_t lyc_replay_data_files(const lyc_replay_data_t *self)
{
    return self->files;
}

size_t lyc_replay_data_duplicates(const lyc_replay_data_t *self)
{
    return self->duplicates;
}
