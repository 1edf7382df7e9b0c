/* Shared by cmd_snapshot.c (restore) and cmd_run.c (--from-snapshot): the
 * --verify-with URL (repeatable) and --verify-quorum N flags, and how a
 * reference check is reported. */
#ifndef CLI_CMD_SNAPSHOT_H
#define CLI_CMD_SNAPSHOT_H

#include <stdio.h>

#include "settings.h"
#include "snap.h"

#define CLI_VERIFY_WITH_HELP                                                                       \
    "a JSON-RPC URL the snapshot's block must be on (repeatable, at most " NU_TEXT(                \
        SNAP_VERIFY_REFS_MAX) "); the node then proves it too before it serves"
#define CLI_VERIFY_QUORUM_HELP                                                                     \
    "references that must confirm the block (default: a majority of the --verify-with URLs)"

/* The flags' values, and the normalized URLs built from them. */
struct cli_verify {
    const char *given[SNAP_VERIFY_REFS_MAX + 1]; /* --verify-with, as typed (NU_T_LIST) */
    unsigned quorum;                             /* --verify-quorum; 0: not given */
    char text[SNAP_VERIFY_REFS_MAX][NODE_CHAIN_URL_MAX];
    const char *urls[SNAP_VERIFY_REFS_MAX + 1];
    struct snap_verify_refs refs; /* what snap_restore takes */
};

/* The --verify-with and --verify-quorum rows of a settings table whose
 * struct has a `struct cli_verify verify` (O is the table's field macro);
 * prefix goes before their help texts. */
#define CLI_VERIFY_OPTS(prefix)                                                                    \
    {.name = "verify-with",                                                                        \
     .type = NU_T_LIST,                                                                            \
     O(verify.given),                                                                              \
     .max = SNAP_VERIFY_REFS_MAX,                                                                  \
     .metavar = "URL",                                                                             \
     .set = cli_set_verify_with,                                                                   \
     .help = prefix CLI_VERIFY_WITH_HELP},                                                         \
    {                                                                                              \
        .name = "verify-quorum", .type = NU_T_UINT, O(verify.quorum), .min = 1,                    \
        .max = SNAP_VERIFY_REFS_MAX, .metavar = "N", .help = prefix CLI_VERIFY_QUORUM_HELP         \
    }

/* --verify-with's hook: the value must be a JSON-RPC URL (nu_url_from_user). */
int cli_set_verify_with(const struct nu_setting *s, void *obj, const char *value, char *msg,
                        size_t msgsz);
/* Checks the flags together and fills v->refs. 0, or 2 after a usage error of prog. */
int cli_verify_setup(const char *prog, struct cli_verify *v);
/* One line per reference ("nearup CMD: reference URL: match: block 12 is ...") on out. */
void cli_verify_report(const char *cmd, const struct snap_chain_report *r, FILE *out);

#endif
