/*
 * pb.h - building protobuf-c messages on the heap.
 *
 * A message built with lyc_pb_new() whose strings, arrays and submessages
 * are all malloc'ed (strdup, lyc_pb_new, ...) has the same ownership as one
 * that protobuf-c unpacked, so lyc_pb_free() (protobuf_c_message_free_unpacked)
 * releases all of it. Fields left at their INIT defaults are not freed.
 */
#ifndef LYCEUM_PB_H
#define LYCEUM_PB_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* A new zeroed, initialised message of the descriptor's type; NULL when out of memory. */
void *lyc_pb_new(const ProtobufCMessageDescriptor *descriptor);

/* Frees a heap-built or unpacked message and all it owns; accepts NULL. */
void lyc_pb_free(void *message);

/* strdup that gives NULL for NULL. */
char *lyc_pb_strdup(const char *s);

/* Appends item to a repeated field (*items, *n), growing it. 0 or -1. */
int lyc_pb_append(void ***items, size_t *n, void *item);

#endif
