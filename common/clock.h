/*
 * clock.h - the two clocks Lyceum uses: wall time for records and events,
 * monotonic time for deadlines and latencies.
 */
#ifndef LYCEUM_CLOCK_H
#define LYCEUM_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds since the Unix epoch. */
static inline int64_t lyc_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Microseconds on a clock that never jumps; only differences mean anything. */
static inline int64_t lyc_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
