/* What the Python nearup (github.com/near/nearup) leaves behind, so that
 * its users move to nearup without a second node beside the first and
 * without losing their logs. It kept one global ~/.nearup:
 *
 *   ~/.nearup/node.pid                   "<pid>|<process name>|<network>",
 *                                        one line per neard (a localnet
 *                                        has one per node; a single node's
 *                                        line has no newline)
 *   ~/.nearup/logs/<network>.log         neard's output of a node
 *   ~/.nearup/logs/localnet/node<i>.log  a localnet node's output
 *
 * It ran `<dir>/neard --home <home> run`, so a live entry's home is read
 * from its command line. An entry is running only while its pid is alive
 * and runs a program of the recorded name that starts with "neard" (the
 * Python nearup never checked, so its file outlives reboots and a pid may
 * have been reused since). nearup itself never writes these files; it
 * only removes a line once it has stopped that neard. */
#ifndef NODE_LEGACY_H
#define NODE_LEGACY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define NODE_LEGACY_PIDFILE "~/.nearup/node.pid"
#define NODE_LEGACY_LOGS "~/.nearup/logs"
#define NODE_LEGACY_MAX 64        /* lines of the pid file read */
#define NODE_LEGACY_FILE_MAX 8192 /* bytes of the pid file read */

struct node_legacy_node {
    pid_t pid;
    uint64_t start_time; /* of the live process (nu_proc_start_time), 0 if not running */
    char name[64];       /* the process name recorded, e.g. "neard" */
    char network[64];    /* "testnet", "localnet", ... */
    char home[PATH_MAX]; /* --home of its command line; "" when not running */
    bool running;
};

struct node_legacy {
    char pidfile[PATH_MAX]; /* the pid file's absolute path */
    size_t n;
    struct node_legacy_node node[NODE_LEGACY_MAX];
};

/* Reads the Python nearup's pid file into a new *out (caller frees with
 * node_legacy_free); (*out)->n is 0 when there is none. Lines that do not
 * read as "pid|name|network" are skipped. NU_EIO when it cannot be read,
 * NU_ENOMEM. */
NU_WUR int node_legacy_load(struct node_legacy **out, char *errbuf);
void node_legacy_free(struct node_legacy *l);

/* How many entries of l run, and their pids as "12, 34" in pids. */
size_t node_legacy_running(const struct node_legacy *l, char *pids, size_t pidsz);
/* Appends the homes of the running entries to out[*n..max-1] (*n counts
 * them too), but those out[] holds already: all of them (under NULL), or
 * those that are under or whose parent is under (a localnet root). */
void node_legacy_homes(const struct node_legacy *l, const char *under, char (*out)[PATH_MAX],
                       size_t max, size_t *n);

/* True when the pid file lists a running neard of home; *out (may be
 * NULL) gets its entry. Reads the file each time. */
bool node_legacy_find(const char *home, struct node_legacy_node *out);
/* Removes the lines of home's neard (pid) from the pid file, and the file
 * itself once no line of it runs any more (as the Python nearup's stop
 * did). NU_EIO when it cannot be rewritten. */
NU_WUR int node_legacy_forget(pid_t pid, char *errbuf);

/* The Python nearup's log of home into out: the log of the network its
 * running entry names, else ~/.nearup/logs/localnet/node<i>.log for a home
 * named node<i>, else ~/.nearup/logs/<N>.log with N the home's genesis
 * chain id or its directory's name. NU_ENOENT when no such file exists. */
NU_WUR int node_legacy_log(const char *home, char *out, size_t outsz);
/* The log `nearup logs` shows when no node was run with nearup: the log
 * of the network of the pid file's first line (the Python nearup's rule),
 * else the one ~/.nearup/logs/<network>.log there is. NU_ENOENT when none,
 * NU_EEXIST (message naming them) when there are several or the first line
 * is a localnet's. */
NU_WUR int node_legacy_default_log(char *out, size_t outsz, char *errbuf);

#endif
