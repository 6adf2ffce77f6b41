/*
 * demo_workload.c - the demo's query order (see demo_workload.h).
 */
#include "demo_workload.h"

#include <math.h>
#include <stdlib.h>

/* splitmix64, as in demo_data.c, on its own stream. */
static uint64_t s_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

lyc_demo_item_t *lyc_demo_workload(size_t n, double repeat_share, uint64_t seed, size_t *count)
{
    double share = repeat_share < 0 ? 0 : repeat_share > 1 ? 1 : repeat_share;
    size_t repeats = (size_t) llround(share * (double) n);
    lyc_demo_item_t *items = calloc(n + repeats + 1, sizeof *items);
    size_t *pick = malloc((n + 1) * sizeof *pick);
    if (!items || !pick) {
        free(items);
        free(pick);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = (lyc_demo_item_t){.question = i, .variant = 0, .kind = LYC_DEMO_FIRST};
        pick[i] = i;
    }
    uint64_t rng = seed ^ 0x5eed5eed5eed5eedull;
    for (size_t r = 0; r < repeats; r++) {
        size_t j = r + (size_t) (s_next(&rng) % (n - r));
        size_t q = pick[j];
        pick[j] = pick[r];
        pick[r] = q;
        int reworded = (int) (r % 2);
        items[n + r] = (lyc_demo_item_t){.question = q,
                                         .variant = reworded,
                                         .kind = reworded ? LYC_DEMO_REWORDED : LYC_DEMO_EXACT};
    }
    free(pick);
    *count = n + repeats;
    return items;
}
