/*
 * fuzz_meaning.c - libFuzzer target for the meaning guard.
 *
 * Both texts the guard compares come from users (a new query and a past
 * one). The input is split in two at its first NUL byte (or in the middle
 * when it has none) and the halves are compared with lyc_meaning_same(),
 * both ways round and each against itself. The guard's contract makes these
 * checkable: the answer is 0 or 1, the same both ways round (every rule in
 * meaning.h compares multisets, or names of one text against words of the
 * other in both directions), and a text always means the same as itself.
 * Each half is also made into a one-turn conversation with
 * lyc_conversation_text() and compared in that form.
 */
#include "meaning.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 or 1, and symmetric. */
static int s_same(const char *a, const char *b)
{
    int ab = lyc_meaning_same(a, b);
    int ba = lyc_meaning_same(b, a);
    if ((ab != 0 && ab != 1) || ab != ba)
        abort();
    return ab;
}

/* The conversation text of one user turn holding text. */
static char *s_conversation(char *text)
{
    Lyceum__V1__ChatMessage m = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage *list[1] = {&m};
    m.role = "user";
    m.content = text;
    return lyc_conversation_text(list, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t alen = nul ? (size_t) (nul - data) : size / 2;
    size_t bstart = nul ? alen + 1 : alen;
    char *a = strndup((const char *) data, alen);
    char *b = strndup((const char *) data + bstart, size - bstart);
    if (!a || !b)
        goto out_free;

    s_same(a, b);
    if (s_same(a, a) != 1 || s_same(b, b) != 1)
        abort(); /* a text means the same as itself */

    char *ca = s_conversation(a), *cb = s_conversation(b);
    if (ca && cb) {
        s_same(ca, cb);
        if (s_same(ca, ca) != 1)
            abort();
    }
    free(ca);
    free(cb);
out_free:
    free(a);
    free(b);
    return 0;
}
