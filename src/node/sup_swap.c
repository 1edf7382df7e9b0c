/* The supervisor's part in a restore (dataswap.h): before the first
 * neard of its life it settles a swap a kill -9 interrupted (neard never
 * starts on a half-swapped home), and once neard has answered /status,
 * so has opened the restored data, it removes the old data the restore
 * kept aside, on a thread of libuv's pool (a tree of many GB takes a
 * while), while it holds the home lock so no restore runs meanwhile. */
#include "sup-int.h"

#include <stdio.h>

#include "dataswap.h"

int sup_swap_recover(struct sup *s, char *errbuf)
{
    struct node_swap_recovery rec;
    int rc = node_swap_recover(s->home, &rec, errbuf);
    if (rc == 0 && rec.outcome != NODE_SWAP_NOTHING)
        sup_log(s, NU_LOG_WARN, rec.note, NULL);
    return rc;
}

static void remove_work(uv_work_t *w)
{
    struct sup *s = w->data;
    s->swap_rc = node_swap_remove_old(s->home, &s->swap_removed, s->swap_err);
}

static void remove_done(uv_work_t *w, int status)
{
    struct sup *s = w->data;
    char n[24];
    s->swap_busy = false;
    snprintf(n, sizeof(n), "%zu", s->swap_removed);
    if (status == 0 && s->swap_rc == 0)
        sup_log(s, NU_LOG_INFO, "removed the old data a snapshot restore had kept aside", "dirs", n,
                NULL);
    else
        sup_log(s, NU_LOG_ERROR, "cannot remove the old data a snapshot restore kept aside",
                "error", status < 0 ? uv_strerror(status) : s->swap_err, NULL);
}

void sup_swap_cleanup(struct sup *s)
{
    if (s->swap_busy || s->swap_done || !node_swap_removal_pending(s->home, NULL, 0))
        return;
    s->swap_done = true; /* once per supervisor: the next one tries again after a failure */
    s->swap_work.data = s;
    if (uv_queue_work(&s->loop, &s->swap_work, remove_work, remove_done) == 0)
        s->swap_busy = true;
}
