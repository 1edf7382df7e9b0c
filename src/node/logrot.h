/* neard's log file with size-based rotation: <dir>/neard.log is rotated
 * when a write would pass max_size; generations become neard.log.1.zst,
 * neard.log.2.zst, ... (zstd, compressed off the hot path), keeping keep of
 * them. Nothing is ever truncated: a restart appends. */
#ifndef NODE_LOGROT_H
#define NODE_LOGROT_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define NODE_LOG_DEFAULT_MAX_SIZE_MIB 100 /* plain, so a settings table can show it */
#define NODE_LOG_DEFAULT_MAX_SIZE ((uint64_t)NODE_LOG_DEFAULT_MAX_SIZE_MIB << 20)
#define NODE_LOG_DEFAULT_KEEP 5

struct node_log;

NU_WUR int node_log_open(const char *path, uint64_t max_size, unsigned keep, struct node_log **out,
                         char *errbuf);
/* Appends; rotates first when needed (whole lines stay in one file where
 * possible). */
NU_WUR int node_log_write(struct node_log *l, const void *data, size_t len, char *errbuf);
/* Closes, waiting for a compression in progress. Accepts NULL. */
void node_log_close(struct node_log *l);

#endif
