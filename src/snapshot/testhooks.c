/* Test hooks read from the environment, so tests can interrupt a create
 * or restore midway. Unset, they cost a getenv. */
#include "testhooks.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "settings.h"

/* A test hook's delay from env var name: 1 ms to 60 s, else 0. */
static long hook_ms(const char *name)
{
    uint64_t v;
    return nu_parse_uint(getenv(name), 59999, &v) == 0 ? (long)v : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void snap_test_checkpoint_delay(void)
{
    long ms = hook_ms("NEARUP_SNAPSHOT_TEST_CHECKPOINT_DELAY_MS");
    if (ms > 0)
        sleep_ms(ms);
}

void snap_test_delay(void)
{
    static atomic_long cached = -1;
    long delay_ms = atomic_load(&cached);
    if (delay_ms < 0) {
        delay_ms = hook_ms("NEARUP_SNAPSHOT_TEST_DELAY_MS");
        atomic_store(&cached, delay_ms);
    }
    if (delay_ms > 0)
        sleep_ms(delay_ms);
}
