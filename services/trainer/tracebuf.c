/*
 * tracebuf.c - a hash of groups by trace id, and a list of them ordered by
 * their latest event (quiet ones at the head), plus a list of full ones.
 */
#include "tracebuf.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_node_t {
    lyc_trace_group_t *group;
    struct s_node_t *prev, *next;
    int full; /* on the ready list */
} s_node_t;

typedef struct {
    s_node_t *head, *tail;
} s_list_t;

struct lyc_tracebuf_t {
    zhashx_t *index;  /* trace id -> s_node_t */
    s_list_t waiting; /* by last_us, oldest first */
    s_list_t ready;   /* full groups, in the order they filled */
    size_t count;
    int64_t quiet_us;
    size_t max_events;
    size_t max_traces;
};

static void s_unlink(s_list_t *list, s_node_t *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        list->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        list->tail = node->prev;
    node->prev = node->next = NULL;
}

static void s_append(s_list_t *list, s_node_t *node)
{
    node->prev = list->tail;
    node->next = NULL;
    if (list->tail)
        list->tail->next = node;
    else
        list->head = node;
    list->tail = node;
}

lyc_tracebuf_t *lyc_tracebuf_new(int64_t quiet_us, size_t max_events, size_t max_traces)
{
    lyc_tracebuf_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->index = zhashx_new();
    if (!self->index) {
        free(self);
        return NULL;
    }
    self->quiet_us = quiet_us;
    self->max_events = max_events ? max_events : 1;
    self->max_traces = max_traces ? max_traces : 1;
    return self;
}

void lyc_trace_group_destroy(lyc_trace_group_t **group_p)
{
    if (!group_p || !*group_p)
        return;
    lyc_trace_group_t *g = *group_p;
    for (size_t i = 0; i < g->count; i++)
        lyc_feedback_free(&g->events[i]);
    free(g->events);
    free(g->trace_id);
    free(g);
    *group_p = NULL;
}

static void s_free_list(s_list_t *list)
{
    while (list->head) {
        s_node_t *node = list->head;
        s_unlink(list, node);
        lyc_trace_group_destroy(&node->group);
        free(node);
    }
}

void lyc_tracebuf_destroy(lyc_tracebuf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_tracebuf_t *self = *self_p;
    s_free_list(&self->waiting);
    s_free_list(&self->ready);
    zhashx_destroy(&self->index);
    free(self);
    *self_p = NULL;
}

/* A new, empty group node for trace, indexed and on the waiting list. */
static s_node_t *s_node_new(lyc_tracebuf_t *self, const char *trace)
{
    s_node_t *node = calloc(1, sizeof *node);
    if (!node)
        return NULL;
    node->group = calloc(1, sizeof *node->group);
    if (!node->group || !(node->group->trace_id = strdup(trace)) ||
        zhashx_insert(self->index, trace, node) != 0) {
        if (node->group)
            free(node->group->trace_id);
        free(node->group);
        free(node);
        return NULL;
    }
    s_append(&self->waiting, node);
    self->count++;
    return node;
}

static int s_push(lyc_trace_group_t *g, lyc_feedback_t *ev)
{
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4;
        lyc_feedback_t **grown = realloc(g->events, cap * sizeof *grown);
        if (!grown)
            return -1;
        g->events = grown;
        g->cap = cap;
    }
    g->events[g->count++] = ev;
    return 0;
}

int lyc_tracebuf_add(lyc_tracebuf_t *self, lyc_feedback_t **ev_p, int64_t now_us)
{
    lyc_feedback_t *ev = *ev_p;
    s_node_t *node = zhashx_lookup(self->index, ev->trace_id);
    if (!node && !(node = s_node_new(self, ev->trace_id)))
        return -1;
    if (s_push(node->group, ev) != 0)
        return -1; /* an empty new group is released at the next take */
    *ev_p = NULL;
    node->group->last_us = now_us;
    if (node->full)
        return 0;
    s_unlink(&self->waiting, node);
    if (node->group->count >= self->max_events) {
        node->full = 1;
        s_append(&self->ready, node);
    } else {
        s_append(&self->waiting, node); /* newest last: the list stays ordered */
    }
    return 0;
}

static lyc_trace_group_t *s_release(lyc_tracebuf_t *self, s_list_t *list, s_node_t *node)
{
    s_unlink(list, node);
    zhashx_delete(self->index, node->group->trace_id);
    lyc_trace_group_t *g = node->group;
    free(node);
    self->count--;
    return g;
}

lyc_trace_group_t *lyc_tracebuf_take(lyc_tracebuf_t *self, int64_t now_us, int force)
{
    if (self->ready.head)
        return s_release(self, &self->ready, self->ready.head);
    s_node_t *oldest = self->waiting.head;
    if (!oldest)
        return NULL;
    if (force || self->count > self->max_traces ||
        now_us - oldest->group->last_us >= self->quiet_us)
        return s_release(self, &self->waiting, oldest);
    return NULL;
}

size_t lyc_tracebuf_count(const lyc_tracebuf_t *self)
{
    return self->count;
}
