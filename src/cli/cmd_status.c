/* nearup status [--home DIR | --all] [--json] [--reference URL]
 *
 * One row per node. Without --home every registered node is shown (as
 * --all). A node that is down is a row saying so, not a failure: the exit
 * code is 0 whenever the nodes could be listed.
 *
 * --json prints one object:
 *   {"reference": null | {"url": str, "head": int|null, "error": str|null},
 *    "nodes": [{"home": str, "network": str|null, "chain_id": str|null,
 *               "state": "up"|"unresponsive"|"down"|"restoring", "pid": int|null,
 *               "uptime_s": int|null, "neard_version": str|null,
 *               "neard_build": str|null, "rpc_url": str|null,
 *               "head": int|null, "syncing": bool|null, "peers": int|null,
 *               "health": int|null (HTTP status of GET /health, null: no answer),
 *               "lag": int|null (blocks behind the reference, or behind the
 *                                highest local node of the same chain),
 *               "supervisor": {"pid": int|null, "state": str|null,
 *                              "restarts": int|null},
 *               "error": str|null,
 *               "chain_check": null | {"state": "pending"|"ok"|"mismatch"|"unreadable",
 *                                      "reason": str}}]}
 * Nodes are in the order of the registry (or of node_homes_expand). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "json.h"
#include "nodestatus.h"
#include "state.h"

#define CMD "status"
#define NCOLS 11

struct status_args {
    const char *home;
    const char *reference;
    bool all;
    bool json;
};

static const struct nu_setting opts[] = {
    {.name = "home",
     .type = NU_T_STR,
     NU_FIELD(struct status_args, home),
     .metavar = "DIR",
     .help = "one node's home, or a localnet root (each of its nodes)"},
    {.name = "all",
     .type = NU_T_BOOL,
     NU_FIELD(struct status_args, all),
     .help = "every registered node (what no --home means too)"},
    {.name = "json",
     .type = NU_T_BOOL,
     NU_FIELD(struct status_args, json),
     .help = "one JSON object instead of the table"},
    {.name = "reference",
     .type = NU_T_STR,
     NU_FIELD(struct status_args, reference),
     .metavar = "URL",
     .help = "JSON-RPC URL of a trusted node: each node's lag is measured "
             "against its head"},
};

const struct cli_doc cli_status_doc = {
    .prog = CMD,
    .summary = "show each node's version, pid, head, sync, peers, health, lag",
    .usage = "nearup status [--home DIR | --all] [--json] [--reference URL]",
    .about = "One row per node; a node that is down is a row saying so. Lag is behind\n"
             "--reference, else behind the highest local node of the same chain.\n",
    .opts = opts,
    .nopts = CLI_NOPTS(opts),
};

static int parse_args(int argc, char **argv, struct status_args *a)
{
    return cli_parse(&cli_status_doc, argc, argv, a, NULL, 0, NULL);
}

/* --home's nodes, else every registered one; the Python nearup's too. */
static int list_homes(const struct status_args *a, char (*homes)[PATH_MAX], size_t *n)
{
    struct cli_homes_sel sel = {.home = a->home,
                                .all = a->all,
                                .has_all = true,
                                .pick = CLI_HOMES_REGISTERED,
                                .python = true};
    return cli_select_homes(CMD, &sel, homes, n);
}

static void fmt_uptime(char *out, size_t outsz, int64_t s)
{
    if (s < 0)
        snprintf(out, outsz, "-");
    else if (s < 60)
        snprintf(out, outsz, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, outsz, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, outsz, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, outsz, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static void fmt_int(char *out, size_t outsz, int64_t v)
{
    if (v < 0)
        snprintf(out, outsz, "-");
    else
        snprintf(out, outsz, "%lld", (long long)v);
}

/* A home under $HOME is shown as ~/... to keep the table narrow. */
static void short_home(const char *home, char *buf, size_t bufsz)
{
    const char *h = getenv("HOME");
    size_t n = h != NULL ? strlen(h) : 0;
    if (n > 1 && strncmp(home, h, n) == 0 && home[n] == '/')
        snprintf(buf, bufsz, "~%s", home + n);
    else
        snprintf(buf, bufsz, "%s", home);
}

#define CELL_MAX 160

/* One table row; column 0 (the home) may be long. */
struct row {
    char home[PATH_MAX];
    char cell[NCOLS][CELL_MAX];
};

static void row_fill(const struct node_status *s, struct row *r)
{
    char(*c)[CELL_MAX] = r->cell;
    short_home(s->home, r->home, sizeof(r->home));
    snprintf(c[1], CELL_MAX, "%s", s->network[0] ? s->network : "-");
    snprintf(c[2], CELL_MAX, "%s", node_state_name(s->state));
    snprintf(c[3], CELL_MAX, "%s", s->neard_version[0] ? s->neard_version : "-");
    fmt_int(c[4], CELL_MAX, s->pid > 0 ? s->pid : -1);
    fmt_uptime(c[5], CELL_MAX, s->uptime_s);
    fmt_int(c[6], CELL_MAX, s->head);
    snprintf(c[7], CELL_MAX, "%s", s->syncing < 0 ? "-" : s->syncing ? "syncing" : "synced");
    fmt_int(c[8], CELL_MAX, s->peers);
    if (s->health > 0)
        snprintf(c[9], CELL_MAX, "%ld %s", s->health, s->health == 200 ? "ok" : "unhealthy");
    else
        snprintf(c[9], CELL_MAX, "-");
    fmt_int(c[10], CELL_MAX, s->lag);
}

static const char *row_col(const struct row *r, int c)
{
    return c == 0 ? r->home : r->cell[c];
}

/* A supervisor that exits leaves "stopped" or "gave_up" behind; any other
 * state without a live supervisor means it was killed. */
static void supervisor_text(const struct node_status *s, char *out, size_t outsz)
{
    bool ended =
        strcmp(s->supervisor_state, "stopped") == 0 || strcmp(s->supervisor_state, "gave_up") == 0;
    if (s->supervisor_state[0] == '\0')
        snprintf(out, outsz, "%s", s->supervised ? "running" : "none");
    else if (s->restarts >= 0)
        snprintf(out, outsz, "%s%s, %lld restarts", s->supervisor_state,
                 s->supervised || ended ? "" : " (supervisor gone)", (long long)s->restarts);
    else
        snprintf(out, outsz, "%s", s->supervisor_state);
}

static int print_table(const struct node_status *st, size_t n)
{
    static const char *head[NCOLS] = {"HOME", "NETWORK", "STATE", "VERSION", "PID", "UPTIME",
                                      "HEAD", "SYNC",    "PEERS", "HEALTH",  "LAG"};
    struct row *rows = calloc(n, sizeof(*rows));
    if (rows == NULL) {
        cli_error(CMD, "out of memory");
        return 1;
    }
    int width[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        width[c] = (int)strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        row_fill(&st[i], &rows[i]);
        for (int c = 0; c < NCOLS; c++) {
            int w = (int)strlen(row_col(&rows[i], c));
            width[c] = w > width[c] ? w : width[c];
        }
    }
    for (int c = 0; c < NCOLS; c++)
        printf("%-*s  ", width[c], head[c]);
    printf("SUPERVISOR\n");
    for (size_t i = 0; i < n; i++) {
        char sup[128];
        supervisor_text(&st[i], sup, sizeof(sup));
        for (int c = 0; c < NCOLS; c++)
            printf("%-*s  ", width[c], row_col(&rows[i], c));
        printf("%s\n", sup);
    }
    free(rows);
    return 0;
}

static int print_json(const struct node_status *st, size_t n, const struct node_status_ref *ref)
{
    json_t *doc = node_status_json(st, n, ref);
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL) {
        cli_error(CMD, "out of memory building the JSON report");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

static int report(const struct status_args *a, const struct node_status *st, size_t n,
                  const struct node_status_ref *ref)
{
    if (a->json)
        return print_json(st, n, ref);
    if (n == 0) {
        printf("no nodes registered; start one with `nearup run NETWORK` or `nearup localnet`\n");
        return 0;
    }
    int rc = print_table(st, n);
    if (a->reference != NULL && ref->head < 0)
        cli_error(CMD, "reference %s did not answer (%s); lag is unknown", ref->shown, ref->error);
    else if (a->reference != NULL)
        printf("reference %s at height %lld\n", ref->shown, (long long)ref->head);
    for (size_t i = 0; i < n; i++) {
        if (st[i].error[0] != '\0')
            printf("%s: %s\n", st[i].home, st[i].error);
        if (st[i].chain_check[0] != '\0' && strcmp(st[i].chain_check, "ok") != 0)
            printf("%s: %s\n", st[i].home, st[i].chain_reason);
    }
    return rc;
}

int cmd_status(int argc, char **argv)
{
    struct status_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char(*homes)[PATH_MAX] = calloc(NODE_MAX_HOMES, sizeof(*homes));
    struct node_status *st = calloc(NODE_MAX_HOMES, sizeof(*st));
    size_t n = 0;
    struct node_status_ref ref;
    char errbuf[NU_ERRMSG_MAX];
    if (homes == NULL || st == NULL) {
        cli_error(CMD, "out of memory");
        rc = 1;
        goto out;
    }
    rc = list_homes(&a, homes, &n);
    if (rc != 0)
        goto out;
    if (node_status_collect((const char(*)[PATH_MAX])homes, n, a.reference, st, &ref, errbuf) !=
        0) {
        cli_error(CMD, "%s", errbuf);
        rc = 1;
        goto out;
    }
    rc = report(&a, st, n, &ref);
out:
    free(homes);
    free(st);
    return rc;
}
