/* Clocks (see clock.h). */
#include "clock.h"

#include <stdio.h>
#include <time.h>

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull

static uint64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t nu_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

uint64_t nu_mono_ms(void)
{
    return nu_mono_ns() / NS_PER_MS;
}

int64_t nu_real_ns(void)
{
    return (int64_t)read_ns(CLOCK_REALTIME);
}

int64_t nu_real_ms(void)
{
    return nu_real_ns() / (int64_t)NS_PER_MS;
}

void nu_utc_text(int64_t real_ms, char *out, size_t outsz)
{
    time_t secs = (time_t)(real_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(real_ms % 1000));
}
