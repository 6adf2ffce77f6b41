/*
 * ids.c - random 128-bit ids in hex.
 */
#include "ids.h"

#include <assert.h>
#include <string.h>
#include <sys/random.h>

void lyc_id_new(char out[LYC_ID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t got = 0;

    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        assert(n > 0); /* getrandom only fails on a broken kernel */
        got += (size_t) n;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
}

int lyc_id_valid(const char *s)
{
    if (!s || strlen(s) != 32)
        return 0;
    return strspn(s, "0123456789abcdef") == 32;
}
