/*
 * meaning.c - the meaning guard and the conversation text (see meaning.h).
 *
 * The last turns of two conversations are each reduced to a few multisets
 * ("bags") of features: numbers, negators and polar words, names, quoted
 * strings, and every word. The guard then compares bags; it never tries to
 * understand a text, only to notice the small edits that flip its meaning.
 */
#include "meaning.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Roles recognised at the start of a line ("user: ..."). */
static const char *const s_roles[] = {"system",    "user",     "assistant", "tool",
                                      "developer", "function", NULL};

/* Negators and antonym pairs: each entry is a canonical name and the words
 * that count as it (lower case, space-separated). Two texts must hold the
 * same multiset of canonical names. "n't" endings count as "not". */
typedef struct {
    const char *canonical;
    const char *forms;
} s_polar_t;

static const s_polar_t s_polar[] = {
    /* negators */
    {"not", "not cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt "
            "couldnt hasnt havent hadnt mustnt neednt aint"},
    {"no", "no"},
    {"never", "never"},
    {"none", "none"},
    {"nothing", "nothing"},
    {"nobody", "nobody"},
    {"nowhere", "nowhere"},
    {"neither", "neither"},
    {"nor", "nor"},
    {"without", "without"},
    {"except", "except"},
    {"unless", "unless"},
    {"non", "non"},
    /* antonym pairs */
    {"enable", "enable enables enabled enabling"},
    {"disable", "disable disables disabled disabling"},
    {"on", "on"},
    {"off", "off"},
    {"allow", "allow allows allowed allowing permit permits permitted"},
    {"deny", "deny denies denied denying forbid forbids forbidden block blocks blocked"},
    {"include", "include includes included including"},
    {"exclude", "exclude excludes excluded excluding"},
    {"increase", "increase increases increased increasing raise raises raised"},
    {"decrease", "decrease decreases decreased decreasing reduce reduces reduced"},
    {"before", "before prior"},
    {"after", "after"},
    {"min", "min minimum minimal minimize minimise minimized minimised"},
    {"max", "max maximum maximal maximize maximise maximized maximised"},
    {"more", "more"},
    {"less", "less fewer"},
    {"most", "most"},
    {"least", "least"},
    {"higher", "higher greater larger bigger"},
    {"lower", "lower smaller"},
    {"above", "above over"},
    {"below", "below under beneath"},
    {"up", "up"},
    {"down", "down"},
    {"add", "add adds added adding"},
    {"remove", "remove removes removed removing delete deletes deleted deleting"},
    {"start", "start starts started starting begin begins"},
    {"stop", "stop stops stopped stopping"},
    {"open", "open opens opened opening"},
    {"close", "close closes closed closing"},
    {"true", "true"},
    {"false", "false"},
    {"yes", "yes"},
    {"first", "first"},
    {"last", "last"},
    {"left", "left"},
    {"right", "right"},
    {"plus", "plus"},
    {"minus", "minus"},
    {"ascending", "ascending asc"},
    {"descending", "descending desc"},
    {"inside", "inside internal"},
    {"outside", "outside external"},
    {"input", "input inputs"},
    {"output", "output outputs"},
    {"always", "always"},
    {"all", "all every"},
    {"positive", "positive"},
    {"negative", "negative"},
    {"install", "install installs installed installing"},
    {"uninstall", "uninstall uninstalls uninstalled uninstalling"},
    {"connect", "connect connects connected connecting"},
    {"disconnect", "disconnect disconnects disconnected disconnecting"},
    {"show", "show shows showed shown showing"},
    {"hide", "hide hides hid hidden hiding"},
    {"grant", "grant grants granted granting"},
    {"revoke", "revoke revokes revoked revoking"},
    {"upload", "upload uploads uploaded uploading"},
    {"download", "download downloads downloaded downloading"},
    {"import", "import imports imported importing"},
    {"export", "export exports exported exporting"},
    {"push", "push pushes pushed pushing"},
    {"pull", "pull pulls pulled pulling"},
    {"buy", "buy buys bought buying"},
    {"sell", "sell sells sold selling"},
    {"lock", "lock locks locked locking"},
    {"unlock", "unlock unlocks unlocked unlocking"},
    {"encrypt", "encrypt encrypts encrypted encrypting encryption"},
    {"decrypt", "decrypt decrypts decrypted decrypting decryption"},
    {"login", "login signin"},
    {"logout", "logout signout"},
    {"accept", "accept accepts accepted accepting"},
    {"reject", "reject rejects rejected rejecting"},
    {"win", "win wins won winning"},
    {"lose", "lose loses lost losing"},
    {"success", "success succeed succeeds succeeded successful"},
    {"failure", "failure fail fails failed failing"},
    {"better", "better"},
    {"worse", "worse"},
    {"best", "best"},
    {"worst", "worst"},
    {"faster", "faster quicker"},
    {"slower", "slower"},
    {"longer", "longer"},
    {"shorter", "shorter"},
    {"private", "private"},
    {"public", "public"},
    {"same", "same equal identical"},
    {"different", "different unequal distinct"},
    {NULL, NULL},
};

/* Number words and the numbers they name. */
typedef struct {
    const char *word;
    const char *number;
} s_numword_t;

static const s_numword_t s_numwords[] = {
    {"zero", "0"},      {"one", "1"},         {"two", "2"},           {"three", "3"},
    {"four", "4"},      {"five", "5"},        {"six", "6"},           {"seven", "7"},
    {"eight", "8"},     {"nine", "9"},        {"ten", "10"},          {"eleven", "11"},
    {"twelve", "12"},   {"thirteen", "13"},   {"fourteen", "14"},     {"fifteen", "15"},
    {"sixteen", "16"},  {"seventeen", "17"},  {"eighteen", "18"},     {"nineteen", "19"},
    {"twenty", "20"},   {"thirty", "30"},     {"forty", "40"},        {"fifty", "50"},
    {"sixty", "60"},    {"seventy", "70"},    {"eighty", "80"},       {"ninety", "90"},
    {"hundred", "100"}, {"thousand", "1000"}, {"million", "1000000"}, {"billion", "1000000000"},
    {"first", "1st"},   {"second", "2nd"},    {"third", "3rd"},       {"fourth", "4th"},
    {"fifth", "5th"},   {"sixth", "6th"},     {"seventh", "7th"},     {"eighth", "8th"},
    {"ninth", "9th"},   {"tenth", "10th"},    {NULL, NULL},
};

/* Capitalised words that usually just start a sentence: not names there. */
static const char *const s_starters[] = {
    "a",         "about",     "after",   "also",    "an",     "and",    "any",      "are",
    "as",        "at",        "be",      "because", "before", "but",    "by",       "calculate",
    "can",       "compare",   "compute", "could",   "create", "define", "describe", "did",
    "do",        "does",      "each",    "explain", "find",   "for",    "from",     "give",
    "has",       "have",      "he",      "hello",   "help",   "her",    "here",     "hey",
    "hi",        "his",       "how",     "if",      "in",     "is",     "it",       "its",
    "just",      "let",       "list",    "make",    "may",    "me",     "might",    "must",
    "my",        "name",      "no",      "now",     "of",     "ok",     "okay",     "on",
    "or",        "our",       "please",  "she",     "should", "show",   "so",       "some",
    "summarize", "summarise", "tell",    "thank",   "thanks", "that",   "the",      "their",
    "then",      "there",     "these",   "they",    "this",   "those",  "to",       "translate",
    "was",       "we",        "were",    "what",    "whats",  "when",   "where",    "which",
    "while",     "who",       "whom",    "whose",   "why",    "will",   "with",     "would",
    "write",     "yes",       "you",     "your",    NULL,
};

/* Prefixes that negate the word they precede ("unsafe", "invalid", "nonzero"). */
static const char *const s_neg_prefixes[] = {"un", "in", "im", "il", "ir", "dis", "non", NULL};

/* ---- bags: multisets of strings --------------------------------------- */

typedef struct {
    char **items;
    size_t count, cap;
} s_bag_t;

typedef struct {
    s_bag_t numbers, polar, names, quotes, words;
} s_features_t;

/* Adds text[0..len) to the bag as a new string. Returns 0 or -1 (memory). */
static int s_bag_add(s_bag_t *bag, const char *text, size_t len)
{
    if (bag->count == bag->cap) {
        size_t cap = bag->cap ? bag->cap * 2 : 16;
        char **grown = realloc(bag->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        bag->items = grown;
        bag->cap = cap;
    }
    char *copy = strndup(text, len);
    if (!copy)
        return -1;
    bag->items[bag->count++] = copy;
    return 0;
}

static void s_bag_free(s_bag_t *bag)
{
    for (size_t i = 0; i < bag->count; i++)
        free(bag->items[i]);
    free(bag->items);
    memset(bag, 0, sizeof *bag);
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void s_bag_sort(s_bag_t *bag)
{
    if (bag->count > 1)
        qsort(bag->items, bag->count, sizeof *bag->items, s_strcmp_p);
}

/* 1 when two sorted bags hold the same strings the same number of times. */
static int s_bag_equal(const s_bag_t *a, const s_bag_t *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

/* 1 when a sorted bag holds text. */
static int s_bag_has(const s_bag_t *bag, const char *text)
{
    if (bag->count == 0)
        return 0;
    return bsearch(&text, bag->items, bag->count, sizeof *bag->items, s_strcmp_p) != NULL;
}

static void s_features_free(s_features_t *f)
{
    s_bag_free(&f->numbers);
    s_bag_free(&f->polar);
    s_bag_free(&f->names);
    s_bag_free(&f->quotes);
    s_bag_free(&f->words);
}

/* ---- text helpers ----------------------------------------------------- */

/* Letters, digits, '_' and every byte of a multi-byte UTF-8 character. */
static int s_wordchar(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* A new string: text[0..len) in ASCII lower case with whitespace runs
 * collapsed to one space and both ends trimmed; NULL when out of memory. */
static char *s_fold(const char *text, size_t len)
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
        out[n++] = (char) tolower(c);
    }
    out[n] = '\0';
    return out;
}

/* A copy of text[0..len) with the typographic quotes ‘ ’ “ ” replaced by
 * ASCII ' and ", so the scanners only deal with ASCII punctuation. */
static char *s_ascii_quotes(const char *text, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned char *p = (const unsigned char *) text + i;
        if (i + 2 < len && p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0x98 && p[2] <= 0x9D) {
            out[n++] = p[2] <= 0x9B ? '\'' : '"';
            i += 2;
            continue;
        }
        out[n++] = text[i];
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* ---- features of one turn --------------------------------------------- */

/* Adds the quoted strings of s[0..len) to f->quotes. A single quote opens
 * only at a word boundary and closes only before one, so apostrophes
 * ("don't", "Alice's") are not quotes. */
static int s_scan_quotes(const char *s, size_t len, s_features_t *f)
{
    for (size_t i = 0; i < len; i++) {
        char q = s[i];
        size_t k = i + 1;
        if (q == '"' || q == '`') {
            while (k < len && s[k] != q)
                k++;
        } else if (q == '\'' && (i == 0 || !s_wordchar((unsigned char) s[i - 1])) && k < len &&
                   !isspace((unsigned char) s[k])) {
            while (k < len && !(s[k] == '\'' && !isspace((unsigned char) s[k - 1]) &&
                                (k + 1 == len || !s_wordchar((unsigned char) s[k + 1]))))
                k++;
        } else {
            continue;
        }
        if (k >= len)
            continue;
        char *folded = s_fold(s + i + 1, k - i - 1);
        if (!folded)
            return -1;
        int rc = s_bag_add(&f->quotes, folded, strlen(folded));
        free(folded);
        if (rc != 0)
            return -1;
        i = k;
    }
    return 0;
}

/* The canonical name of a polar word, or NULL. */
static const char *s_polar_of(const char *word)
{
    size_t len = strlen(word);
    for (const s_polar_t *p = s_polar; p->canonical; p++) {
        for (const char *form = p->forms; *form;) {
            size_t flen = strcspn(form, " ");
            if (flen == len && memcmp(form, word, len) == 0)
                return p->canonical;
            form += flen;
            while (*form == ' ')
                form++;
        }
    }
    return NULL;
}

static const char *s_numword_of(const char *word)
{
    for (const s_numword_t *n = s_numwords; n->word; n++)
        if (strcmp(n->word, word) == 0)
            return n->number;
    return NULL;
}

static int s_is_starter(const char *word)
{
    for (const char *const *s = s_starters; *s; s++)
        if (strcmp(*s, word) == 0)
            return 1;
    return 0;
}

/* 1 when the word as written (raw[0..len)) is a name: see meaning.h. */
static int s_is_name(const char *raw, size_t len, const char *lower, int sentence_start)
{
    if (raw[0] == 'I' && (len == 1 || raw[1] == '\''))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (isupper((unsigned char) raw[i]))
            return 1;
    if (!isupper((unsigned char) raw[0]))
        return 0;
    return !sentence_start || !s_is_starter(lower);
}

/* Records one word (raw[0..len) as written) in the bags it belongs to. */
static int s_add_word(s_features_t *f, const char *raw, size_t len, int sentence_start)
{
    char *w = strndup(raw, len);
    if (!w)
        return -1;
    int has_digit = 0;
    for (char *p = w; *p; p++) {
        has_digit |= isdigit((unsigned char) *p) != 0;
        *p = (char) tolower((unsigned char) *p);
    }
    size_t n = len;
    const char *polar = NULL;
    if (n > 3 && strcmp(w + n - 3, "n't") == 0)
        polar = "not";
    else
        polar = s_polar_of(w);
    const char *number = has_digit ? w : s_numword_of(w);
    /* "Alice's" -> alice, "users'" -> users */
    if (n > 2 && strcmp(w + n - 2, "'s") == 0)
        w[n -= 2] = '\0';
    else if (n > 1 && w[n - 1] == '\'')
        w[--n] = '\0';
    int rc = 0;
    if (polar)
        rc |= s_bag_add(&f->polar, polar, strlen(polar));
    if (number)
        rc |= s_bag_add(&f->numbers, number, strlen(number));
    if (s_is_name(raw, len, w, sentence_start))
        rc |= s_bag_add(&f->names, w, n);
    rc |= s_bag_add(&f->words, w, n);
    free(w);
    return rc ? -1 : 0;
}

/* A number as read: its digits without separators, where the fraction starts. */
#define S_NUMBER_MAX 64 /* digits kept of each part; longer numbers are cut alike */

typedef struct {
    int neg;
    char digits[2 * S_NUMBER_MAX];
    size_t int_len; /* digits[0..int_len) is the integer part */
    size_t len;     /* digits[int_len..len) is the fraction */
} s_number_t;

/* 1 when s[i] is ',' followed by exactly three digits (a thousands group). */
static int s_thousands_group(const char *s, size_t len, size_t i)
{
    return i + 3 < len && s[i] == ',' && isdigit((unsigned char) s[i + 1]) &&
           isdigit((unsigned char) s[i + 2]) && isdigit((unsigned char) s[i + 3]) &&
           (i + 4 >= len || !isdigit((unsigned char) s[i + 4]));
}

/* Appends the digits of s[i..) to num up to cap digits; returns the index after them. */
static size_t s_take_digits(const char *s, size_t len, size_t i, s_number_t *num, size_t cap)
{
    for (; i < len && isdigit((unsigned char) s[i]); i++)
        if (num->len < cap)
            num->digits[num->len++] = s[i];
    return i;
}

/* Reads the number at s[i]: optional sign, integer part with optional
 * thousands groups ("1,000"), optional fraction. Returns the index after it. */
static size_t s_read_number(const char *s, size_t len, size_t i, s_number_t *num)
{
    memset(num, 0, sizeof *num);
    num->neg = s[i] == '-';
    if (num->neg)
        i++;
    size_t first = i;
    i = s_take_digits(s, len, i, num, S_NUMBER_MAX);
    if (i - first >= 1 && i - first <= 3)
        while (s_thousands_group(s, len, i))
            i = s_take_digits(s, len, i + 1, num, S_NUMBER_MAX);
    num->int_len = num->len;
    if (i + 1 < len && s[i] == '.' && isdigit((unsigned char) s[i + 1]))
        i = s_take_digits(s, len, i + 1, num, num->int_len + S_NUMBER_MAX);
    return i;
}

/* Writes num as [-]int[.frac] without leading or trailing zeros ("007" ->
 * "7", "3.50" -> "3.5", ".5" -> "0.5", "-0" -> "0"). Returns the length. */
static size_t s_canonical(const s_number_t *num, char *out, size_t cap)
{
    size_t lead = 0;
    while (lead + 1 < num->int_len && num->digits[lead] == '0')
        lead++;
    size_t frac_end = num->len;
    while (frac_end > num->int_len && num->digits[frac_end - 1] == '0')
        frac_end--;
    const char *int_part = num->int_len ? num->digits + lead : "0";
    int int_len = num->int_len ? (int) (num->int_len - lead) : 1;
    int frac_len = (int) (frac_end - num->int_len);
    int zero = int_len == 1 && int_part[0] == '0' && frac_len == 0;
    int n = snprintf(out, cap, "%s%.*s%s%.*s", num->neg && !zero ? "-" : "", int_len, int_part,
                     frac_len ? "." : "", frac_len, num->digits + num->int_len);
    return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

/* Records the number at s[*pos] canonically (see s_canonical). A number
 * glued to letters ("5kg", "2FA") is recorded as the whole lower-case word
 * instead. Advances *pos past what it read. */
static int s_add_number(s_features_t *f, const char *s, size_t len, size_t *pos)
{
    size_t start = *pos;
    s_number_t num;
    size_t i = s_read_number(s, len, start, &num);
    if (i < len && s_wordchar((unsigned char) s[i])) {
        while (i < len && s_wordchar((unsigned char) s[i]))
            i++;
        *pos = i;
        char *word = s_fold(s + start, i - start);
        int rc = word ? s_bag_add(&f->numbers, word, strlen(word)) : -1;
        free(word);
        return rc;
    }
    *pos = i;
    char canon[2 * S_NUMBER_MAX + 8];
    size_t n = s_canonical(&num, canon, sizeof canon);
    return s_bag_add(&f->numbers, canon, n);
}

/* 1 when a number starts at s[i]: a digit not glued to a preceding word,
 * ".5", or a '-' that is a sign (not a subtraction after a number). */
static int s_number_starts(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char) s[i];
    unsigned char prev = i > 0 ? (unsigned char) s[i - 1] : ' ';
    if (isdigit(c))
        return !s_wordchar(prev) && prev != '.';
    if (i + 1 >= len || !isdigit((unsigned char) s[i + 1]) || s_wordchar(prev))
        return 0;
    if (c == '.')
        return 1;
    if (c != '-')
        return 0;
    size_t k = i;
    while (k > 0 && isspace((unsigned char) s[k - 1]))
        k--;
    return k == 0 || !(isdigit((unsigned char) s[k - 1]) || s[k - 1] == ')');
}

/* Length of the word at s[i]: word characters and inner apostrophes. */
static size_t s_word_len(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && (s_wordchar((unsigned char) s[j]) ||
                       (s[j] == '\'' && j + 1 < len && isalpha((unsigned char) s[j + 1]))))
        j++;
    /* a trailing apostrophe after an s is a plural possessive ("users'") */
    if (j < len && s[j] == '\'' && j > i && s[j - 1] == 's' &&
        (j + 1 == len || !s_wordchar((unsigned char) s[j + 1])))
        j++;
    return j - i;
}

/* Fills f from one turn's content s[0..len). */
static int s_scan(const char *s, size_t len, s_features_t *f)
{
    if (s_scan_quotes(s, len, f) != 0)
        return -1;
    int sentence_start = 1;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char) s[i];
        if (s_number_starts(s, len, i)) {
            if (s_add_number(f, s, len, &i) != 0)
                return -1;
            sentence_start = 0;
        } else if (s_wordchar(c)) {
            size_t n = s_word_len(s, len, i);
            if (s_add_word(f, s + i, n, sentence_start) != 0)
                return -1;
            sentence_start = 0;
            i += n;
        } else {
            if (strchr(".?!:;\n", c))
                sentence_start = 1;
            i++;
        }
    }
    s_bag_sort(&f->numbers);
    s_bag_sort(&f->polar);
    s_bag_sort(&f->names);
    s_bag_sort(&f->quotes);
    s_bag_sort(&f->words);
    return 0;
}

/* 1 when every name of a is a word of b. */
static int s_names_found(const s_features_t *a, const s_features_t *b)
{
    for (size_t i = 0; i < a->names.count; i++)
        if (!s_bag_has(&b->words, a->names.items[i]))
            return 0;
    return 1;
}

/* 1 when a word of a, absent from b, is a negated form of a word of b
 * ("unsafe" in a, "safe" in b). */
static int s_prefix_negated(const s_features_t *a, const s_features_t *b)
{
    for (size_t i = 0; i < a->words.count; i++) {
        const char *w = a->words.items[i];
        if (s_bag_has(&b->words, w))
            continue;
        for (const char *const *p = s_neg_prefixes; *p; p++) {
            size_t plen = strlen(*p);
            if (strncmp(w, *p, plen) == 0 && strlen(w) >= plen + 3 &&
                s_bag_has(&b->words, w + plen))
                return 1;
        }
    }
    return 0;
}

/* 1 when the two turns' features show no difference. */
static int s_features_same(const s_features_t *a, const s_features_t *b)
{
    return s_bag_equal(&a->numbers, &b->numbers) && s_bag_equal(&a->polar, &b->polar) &&
           s_bag_equal(&a->quotes, &b->quotes) && s_names_found(a, b) && s_names_found(b, a) &&
           !s_prefix_negated(a, b) && !s_prefix_negated(b, a);
}

/* ---- turns ------------------------------------------------------------ */

/* Length of the "role: " prefix of a line, 0 when it has none. */
static size_t s_role_len(const char *line, size_t len)
{
    for (const char *const *r = s_roles; *r; r++) {
        size_t rlen = strlen(*r);
        if (len > rlen && strncasecmp(line, *r, rlen) == 0 && line[rlen] == ':')
            return rlen + 1 + (len > rlen + 1 && line[rlen + 1] == ' ');
    }
    return 0;
}

/* Number of lines of text, and where the last one starts. */
static size_t s_lines(const char *text, const char **last)
{
    size_t count = 1;
    *last = text;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            count++;
            *last = p + 1;
        }
    }
    return count;
}

/* 1 when the last turns of a and b (a[0..alen), b[0..blen)) mean the same. */
static int s_last_turn_same(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t ar = s_role_len(a, alen), br = s_role_len(b, blen);
    if (ar != br || strncasecmp(a, b, ar) != 0)
        return 0;
    int same = 0;
    s_features_t fa = {0}, fb = {0};
    size_t na = 0, nb = 0;
    char *ta = s_ascii_quotes(a + ar, alen - ar, &na);
    char *tb = s_ascii_quotes(b + br, blen - br, &nb);
    if (!ta || !tb)
        goto out_free_texts;
    if (s_scan(ta, na, &fa) != 0 || s_scan(tb, nb, &fb) != 0)
        goto out_free_features;
    same = s_features_same(&fa, &fb);
out_free_features:
    s_features_free(&fa);
    s_features_free(&fb);
out_free_texts:
    free(ta);
    free(tb);
    return same;
}

/* s_fold() then without sentence punctuation: a '.', ',', ';', ':', '!' or
 * '?' before a space or the end goes, so "3.5" and "1,000" stay whole. */
static char *s_fold_strict(const char *text, size_t len)
{
    char *out = s_fold(text, len);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; out[i]; i++) {
        char c = out[i];
        if (strchr(".,;:!?", c) && (out[i + 1] == ' ' || out[i + 1] == '\0'))
            continue;
        if (c == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return out;
}

/* 1 when a[0..alen) and b[0..blen) are equal after s_fold_strict(): the
 * strict check of earlier turns. */
static int s_folded_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    char *fa = s_fold_strict(a, alen);
    char *fb = s_fold_strict(b, blen);
    int equal = fa && fb && strcmp(fa, fb) == 0;
    free(fa);
    free(fb);
    return equal;
}

/* 1 when every line of a before a_end equals the same line of b, folded;
 * the caller has checked that both texts have as many lines. */
static int s_earlier_turns_equal(const char *a, const char *a_end, const char *b)
{
    while (a < a_end) {
        size_t alen = strcspn(a, "\n"), blen = strcspn(b, "\n");
        if (!s_folded_equal(a, alen, b, blen))
            return 0;
        a += alen + 1;
        b += blen + 1;
    }
    return 1;
}

int lyc_meaning_same(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    const char *la, *lb;
    if (s_lines(a, &la) != s_lines(b, &lb))
        return 0;
    if (!s_earlier_turns_equal(a, la, b))
        return 0;
    return s_last_turn_same(la, strlen(la), lb, strlen(lb));
}

/* ---- the conversation text ------------------------------------------- */

/* Appends content with whitespace runs collapsed and ends trimmed. */
static size_t s_append_collapsed(char *out, size_t n, const char *content)
{
    int space = 0, any = 0;
    for (const unsigned char *p = (const unsigned char *) content; *p; p++) {
        if (isspace(*p)) {
            space = any;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = 0;
        any = 1;
        out[n++] = (char) *p;
    }
    return n;
}

/* Appends the role in lower case, keeping [a-z0-9_-]; "user" when empty. */
static size_t s_append_role(char *out, size_t n, const char *role)
{
    size_t start = n;
    for (const unsigned char *p = (const unsigned char *) (role ? role : ""); *p; p++) {
        unsigned char c = (unsigned char) tolower(*p);
        if (isalnum(c) || c == '_' || c == '-')
            out[n++] = (char) c;
    }
    if (n == start) {
        memcpy(out + n, "user", 4);
        n += 4;
    }
    return n;
}

char *lyc_conversation_text(Lyceum__V1__ChatMessage **messages, size_t n)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) {
        const Lyceum__V1__ChatMessage *m = messages ? messages[i] : NULL;
        cap +=
            8 + (m && m->role ? strlen(m->role) : 0) + (m && m->content ? strlen(m->content) : 0);
    }
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const Lyceum__V1__ChatMessage *m = messages ? messages[i] : NULL;
        if (i > 0)
            out[len++] = '\n';
        len = s_append_role(out, len, m ? m->role : NULL);
        out[len++] = ':';
        size_t mark = len;
        out[len++] = ' ';
        len = s_append_collapsed(out, len, m && m->content ? m->content : "");
        if (len == mark + 1)
            len = mark; /* empty content: "<role>:" */
    }
    out[len] = '\0';
    return out;
}
