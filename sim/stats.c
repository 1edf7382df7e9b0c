/* The periodic `stats:` line of chain/client/src/info.rs:
 *   INFO stats: #      42 <hash:>44> 1 validator 0 peers ⬇ 0 B/s ⬆ 0 B/s 8.33 bps 0 gas/s CPU: 1%,
 * Mem: 31.2 MB Other states replace the height/hash part ("Waiting for peers", "Downloading blocks
 * ..%", "State <hash>[0: ...]"). */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "node-int.h"

/* near_primitives PrettyNumber: "999 B/s", "1.23 kB/s", "12.3 kB/s", "123 kB/s". */
static void pretty(uint64_t num, const char *unit, char *out, size_t outsz)
{
    static const char prefixes[] = "kMGTPE";
    if (num < 1000) {
        snprintf(out, outsz, "%llu %s", (unsigned long long)num, unit);
        return;
    }
    double v = (double)num;
    for (size_t i = 0; i < sizeof(prefixes) - 1; i++) {
        if (num < 1000000) {
            int prec = num < 10000 ? 2 : num < 100000 ? 1 : 0;
            snprintf(out, outsz, "%.*f %c%s", prec, v / 1000.0, prefixes[i], unit);
            return;
        }
        num /= 1000;
        v /= 1000.0;
    }
    snprintf(out, outsz, "%llu %s", (unsigned long long)num, unit);
}

static void sync_part(struct sim_core *c, char *out, size_t outsz)
{
    struct sim_node *n = &c->n;
    unsigned long long head = (unsigned long long)n->head;
    switch (n->sync_status) {
    case SIM_SYNC_NO_SYNC: {
        struct sim_block b;
        sim_chain_block(n, n->head, &b);
        snprintf(out, outsz, "#%8llu %44s", head, b.hash);
        break;
    }
    case SIM_SYNC_AWAITING_PEERS:
        snprintf(out, outsz, "#%8llu Waiting for peers", head);
        break;
    case SIM_SYNC_STATE_SYNC: {
        struct sim_block b;
        sim_chain_block(n, sim_chain_epoch_start(n, n->sync_target), &b);
        snprintf(out, outsz, "State %s[0: parts]", b.hash);
        break;
    }
    default: {
        uint64_t start = n->sync_start, cur = n->head, high = n->sync_target;
        double pct = high <= start ? 0.0 : (double)((cur - start) * 100) / (double)(high - start);
        snprintf(out, outsz, "#%8llu Downloading blocks %.2f%% (%llu left; at %llu)", head, pct,
                 (unsigned long long)(high > cur ? high - cur : 0), (unsigned long long)cur);
        break;
    }
    }
}

static uint64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static uint64_t rss_bytes(void)
{
    /* /proc is not disk: reading it on the loop does not block. */
    unsigned long long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

void sim_stats_log(struct sim_core *c)
{
    struct sim_node *n = &c->n;
    uint64_t now = uv_now(&c->loop);
    double secs = (double)(now - c->st_time_ms) / 1000.0;
    if (secs <= 0)
        secs = 1;
    char sync[256], vals[64] = "", down[32], up[32], mem[32];
    sync_part(c, sync, sizeof(sync));
    if (n->sync_status == SIM_SYNC_NO_SYNC) {
        size_t nv = n->gen.nvalidators;
        snprintf(vals, sizeof(vals), " %s%zu validator%s",
                 sim_node_is_validator(n) ? "Validator | " : "", nv, nv == 1 ? "" : "s");
    }
    pretty((uint64_t)((double)(n->received_bytes - c->st_recv) / secs), "B/s", down, sizeof(down));
    pretty((uint64_t)((double)(n->sent_bytes - c->st_sent) / secs), "B/s", up, sizeof(up));
    pretty(rss_bytes(), "B", mem, sizeof(mem));
    uint64_t cpu = cpu_us();
    double cpu_pct = (double)(cpu - c->st_cpu_us) / (secs * 10000.0);
    double bps = n->head >= c->st_head ? (double)(n->head - c->st_head) / secs : 0.0;
    sim_log("INFO", "stats", "%s%s %u peer%s ⬇ %s ⬆ %s %.2f bps 0 gas/s CPU: %.0f%%, Mem: %s", sync,
            vals, n->npeers, n->npeers == 1 ? "" : "s", down, up, bps, cpu_pct, mem);
    if (c->reload_error[0])
        sim_log("WARN", "stats",
                "Dynamically updateable configs are not valid. Please fix this ASAP otherwise "
                "the node will probably crash after restart: %s",
                c->reload_error);
    c->st_head = n->head;
    c->st_sent = n->sent_bytes;
    c->st_recv = n->received_bytes;
    c->st_time_ms = now;
    c->st_cpu_us = cpu;
}
