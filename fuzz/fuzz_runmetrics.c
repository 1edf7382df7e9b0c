/* libFuzzer target for the reader of a snapshot schedule's textfile
 * (snap_runmetrics_parse): the file it reads back sits in a directory
 * other programs write to. Whatever parses must render and parse back to
 * the same values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runmetrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct snap_runmetrics m, back;
    struct nu_buf out;
    memset(&m, 0, sizeof(m));
    if (size > SNAP_RUNMETRICS_FILE_MAX ||
        snap_runmetrics_parse(&m, (const char *)data, size, NULL) != 0)
        return 0;
    if (strlen(m.chain_id) >= sizeof(m.chain_id))
        abort();
    nu_buf_init(&out, SNAP_RUNMETRICS_FILE_MAX);
    memset(&back, 0, sizeof(back));
    if (snap_runmetrics_render(&m, &out, NULL) != 0 ||
        snap_runmetrics_parse(&back, out.data, out.len, NULL) != 0 ||
        memcmp(back.have, m.have, sizeof(m.have)) != 0)
        abort();
    for (size_t i = 0; i < SNAP_RM_N; i++)
        if (m.have[i] && back.v[i] != m.v[i])
            abort();
    nu_buf_release(&out);
    return 0;
}
