/*
 * pb.c - heap-built protobuf-c messages.
 */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

void *lyc_pb_new(const ProtobufCMessageDescriptor *descriptor)
{
    ProtobufCMessage *message = calloc(1, descriptor->sizeof_message);
    if (message)
        descriptor->message_init(message);
    return message;
}

void lyc_pb_free(void *message)
{
    if (message)
        protobuf_c_message_free_unpacked(message, NULL);
}

char *lyc_pb_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int lyc_pb_append(void ***items, size_t *n, void *item)
{
    void **grown = realloc(*items, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    grown[(*n)++] = item;
    *items = grown;
    return 0;
}
