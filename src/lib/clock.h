/* The clocks, in one place. Monotonic time (never steps with the wall
 * clock) is for durations, deadlines, rates and timeouts; real time (since
 * the Unix epoch, UTC) only where a time is shown to people or compared
 * with another machine's (log timestamps, block times). */
#ifndef NU_CLOCK_H
#define NU_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic (CLOCK_MONOTONIC, as libuv's uv_hrtime and uv_now). */
uint64_t nu_mono_ns(void);
uint64_t nu_mono_ms(void);
/* Real time (CLOCK_REALTIME), signed as the times it is compared with. */
int64_t nu_real_ns(void);
int64_t nu_real_ms(void);

/* Bytes "2026-11-28T23:10:07.123Z" takes with its NUL. */
#define NU_UTC_TEXT_MAX 32
/* real_ms as "2026-11-28T23:10:07.123Z" (UTC, milliseconds) into out. */
void nu_utc_text(int64_t real_ms, char *out, size_t outsz);

#endif
