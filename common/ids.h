/*
 * ids.h - unique identifiers for traces, tasks, events and records.
 */
#ifndef LYCEUM_IDS_H
#define LYCEUM_IDS_H

#include <stddef.h>

/* Length of an id with its terminating NUL: 32 hex digits (128 random bits). */
#define LYC_ID_LEN 33

/* Writes a new random id of 32 lowercase hex digits into out[LYC_ID_LEN].
 * Uses getrandom(2); ids are unique across processes and machines. */
void lyc_id_new(char out[LYC_ID_LEN]);

/* Returns 1 when s is a well-formed id (what lyc_id_new makes), else 0. */
int lyc_id_valid(const char *s);

#endif
