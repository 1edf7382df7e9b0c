/* The chain check file (see chaincheck.h):
 *
 *   {"format": "nearup-chain-check", "version": 1, "state": "pending",
 *    "snapshot": "s1", "chain_id": "mainnet", "height": 139000000,
 *    "expected_hash": "7GkE...", "quorum": 2,
 *    "references": [{"url": "https://rpc.example", "outcome": "match",
 *                    "detail": "block 139000000 is 7GkE..."}, ...],
 *    "created_at": 1795910376, "data_dirs": ["/srv/near/data"],
 *    "checked_at": null, "node_hash": null, "rejected": [], "old_data_back": false} */
#include "chaincheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "json.h"
#include "state.h"

#define FORMAT "nearup-chain-check"
#define VERSION 1
#define B58_CHARS "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

static const char *const state_names[] = {"pending", "ok", "mismatch"};
static const char *const outcome_names[] = {"match", "mismatch", "unavailable"};

const char *node_chain_state_name(enum node_chain_state s)
{
    return (unsigned)s < 3 ? state_names[s] : "unknown";
}

const char *node_chain_outcome_name(enum node_chain_outcome o)
{
    return (unsigned)o < 3 ? outcome_names[o] : "unknown";
}

size_t node_chain_matches(const struct node_chain_check *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nrefs; i++)
        n += c->refs[i].outcome == NODE_CHAIN_REF_MATCH;
    return n;
}

int node_chain_path(const char *home, char *out, size_t outsz, char *errbuf)
{
    if (node_state_path(home, NODE_CHAIN_FILE, out, outsz) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    return 0;
}

/* ---- writing ---- */

static json_t *str_array(const char (*v)[PATH_MAX], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (v[i][0] != '\0')
            json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *refs_json(const struct node_chain_check *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < c->nrefs; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "url", c->refs[i].url, "outcome",
                                           node_chain_outcome_name(c->refs[i].outcome), "detail",
                                           c->refs[i].detail));
    return a;
}

static json_t *check_json(const struct node_chain_check *c)
{
    bool decided = c->state != NODE_CHAIN_PENDING;
    return json_pack(
        "{s:s, s:i, s:s, s:s, s:s, s:I, s:s, s:i, s:o, s:I, s:o, s:o, s:o, s:o, s:b}", "format",
        FORMAT, "version", VERSION, "state", node_chain_state_name(c->state), "snapshot",
        c->snapshot, "chain_id", c->chain_id, "height", (json_int_t)c->height, "expected_hash",
        c->expected_hash, "quorum", (int)c->quorum, "references", refs_json(c), "created_at",
        (json_int_t)c->created_at, "data_dirs", str_array(c->data_dirs, c->ndirs), "checked_at",
        decided ? json_integer((json_int_t)c->checked_at) : json_null(), "node_hash",
        decided && c->node_hash[0] ? json_string(c->node_hash) : json_null(), "rejected",
        str_array(c->rejected, c->ndirs), "old_data_back", c->old_back);
}

int node_chain_save(const char *home, const struct node_chain_check *c, char *errbuf)
{
    char path[PATH_MAX];
    int rc = node_chain_path(home, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    json_t *o = check_json(c);
    if (o == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    rc = nu_json_write_file(path, o, 0644, true, errbuf);
    json_decref(o);
    return rc;
}

int node_chain_remove(const char *home, char *errbuf)
{
    char path[PATH_MAX], dir[PATH_MAX];
    int rc = node_chain_path(home, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    if (unlink(path) < 0)
        return errno == ENOENT ? 0
                               : nu_err_set(errbuf, NU_EIO, "remove %s: %s", path, strerror(errno));
    if (node_state_path(home, ".", dir, sizeof(dir)) < 0)
        return nu_err_set(errbuf, NU_ETOOBIG, "%s: path too long", home);
    return nu_fs_fsync_dir(dir, errbuf);
}

/* ---- reading ---- */

/* A string member into out (outsz bytes), all of it of chars when set. */
static int get_text(const json_t *o, const char *key, char *out, size_t outsz, const char *chars,
                    bool empty_ok, char *why)
{
    const char *s = NULL;
    if (nu_json_get_str(o, key, &s) < 0 || strlen(s) >= outsz || (!empty_ok && s[0] == '\0') ||
        (chars != NULL && strspn(s, chars) != strlen(s)))
        return nu_err_set(why, NU_EPARSE, "%s is missing or not a valid string", key);
    snprintf(out, outsz, "%s", s);
    return 0;
}

static int get_enum(const json_t *o, const char *key, const char *const *names, int *out, char *why)
{
    const char *s = "";
    if (nu_json_get_str(o, key, &s) == 0)
        for (int i = 0; i < 3; i++)
            if (strcmp(s, names[i]) == 0) {
                *out = i;
                return 0;
            }
    return nu_err_set(why, NU_EPARSE, "%s is not one of %s, %s, %s", key, names[0], names[1],
                      names[2]);
}

/* An array of absolute paths, at most NODE_CHAIN_DIRS_MAX. */
static int get_paths(const json_t *o, const char *key, char (*out)[PATH_MAX], size_t *n, char *why)
{
    const json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) > NODE_CHAIN_DIRS_MAX)
        return nu_err_set(why, NU_EPARSE, "%s is not a list of at most %d paths", key,
                          NODE_CHAIN_DIRS_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *p = json_string_value(json_array_get(a, i));
        if (p == NULL || p[0] != '/' || strlen(p) >= PATH_MAX || strstr(p, "/../") != NULL)
            return nu_err_set(why, NU_EPARSE, "%s lists something that is not an absolute path",
                              key);
        snprintf(out[i], PATH_MAX, "%s", p);
    }
    if (n != NULL)
        *n = json_array_size(a);
    return 0;
}

static int parse_refs(const json_t *root, struct node_chain_check *c, char *why)
{
    const json_t *a = json_object_get(root, "references");
    if (!json_is_array(a) || json_array_size(a) > NODE_CHAIN_REFS_MAX)
        return nu_err_set(why, NU_EPARSE, "references is not a list of at most %d",
                          NODE_CHAIN_REFS_MAX);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(a); i++, c->nrefs++) {
        const json_t *r = json_array_get(a, i);
        struct node_chain_ref *ref = &c->refs[i];
        int outcome = 0;
        rc = get_text(r, "url", ref->url, sizeof(ref->url), NULL, false, why);
        if (rc == 0)
            rc = get_enum(r, "outcome", outcome_names, &outcome, why);
        if (rc == 0)
            rc = get_text(r, "detail", ref->detail, sizeof(ref->detail), NULL, true, why);
        ref->outcome = (enum node_chain_outcome)outcome;
    }
    return rc;
}

static int parse_decision(const json_t *root, struct node_chain_check *c, char *why)
{
    int64_t t = 0;
    size_t nrej = 0;
    bool back = false;
    if (c->state == NODE_CHAIN_PENDING)
        return 0;
    if (nu_json_get_int(root, "checked_at", &t) < 0 ||
        get_text(root, "node_hash", c->node_hash, sizeof(c->node_hash), B58_CHARS, false, why) <
            0 ||
        get_paths(root, "rejected", c->rejected, &nrej, why) < 0 ||
        nu_json_get_bool(root, "old_data_back", &back) < 0)
        return nu_err_set(why, NU_EPARSE,
                          "a decided check lacks checked_at, node_hash, rejected or old_data_back");
    c->checked_at = t;
    c->old_back = back;
    return 0;
}

int node_chain_parse(const char *text, size_t len, struct node_chain_check *c, char *why)
{
    json_t *root = NULL;
    const char *format = "";
    int64_t version = 0, height = -1, quorum = 0, created = 0;
    int state = 0;
    memset(c, 0, sizeof(*c));
    int rc = nu_json_parse("chain check", text, len, false, &root, why);
    if (rc == 0 && (nu_json_get_str(root, "format", &format) < 0 || strcmp(format, FORMAT) != 0 ||
                    nu_json_get_int(root, "version", &version) < 0 || version != VERSION))
        rc = nu_err_set(why, NU_EPARSE, "not format " FORMAT " version %d", VERSION);
    if (rc == 0)
        rc = get_enum(root, "state", state_names, &state, why);
    c->state = (enum node_chain_state)state;
    if (rc == 0)
        rc = get_text(root, "snapshot", c->snapshot, sizeof(c->snapshot), NAME_CHARS, false, why);
    if (rc == 0)
        rc = get_text(root, "chain_id", c->chain_id, sizeof(c->chain_id), NULL, false, why);
    if (rc == 0)
        rc = get_text(root, "expected_hash", c->expected_hash, sizeof(c->expected_hash), B58_CHARS,
                      false, why);
    if (rc == 0 &&
        (nu_json_get_int(root, "height", &height) < 0 || height < 0 ||
         nu_json_get_int(root, "quorum", &quorum) < 0 || quorum < 1 ||
         quorum > NODE_CHAIN_REFS_MAX || nu_json_get_int(root, "created_at", &created) < 0))
        rc = nu_err_set(why, NU_EPARSE, "height, quorum or created_at is missing or out of range");
    c->height = height;
    c->quorum = (unsigned)quorum;
    c->created_at = created;
    if (rc == 0)
        rc = parse_refs(root, c, why);
    if (rc == 0)
        rc = get_paths(root, "data_dirs", c->data_dirs, &c->ndirs, why);
    if (rc == 0)
        rc = parse_decision(root, c, why);
    json_decref(root);
    return rc;
}

int node_chain_load(const char *home, struct node_chain_check *c, char *errbuf)
{
    char path[PATH_MAX], why[NU_ERRMSG_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = node_chain_path(home, path, sizeof(path), errbuf);
    if (rc < 0)
        return rc;
    rc = nu_fs_read_file(path, NODE_CHAIN_FILE_MAX, &text, &len, why);
    if (rc == NU_ENOENT)
        return NU_ENOENT;
    if (rc == 0)
        rc = node_chain_parse(text, len, c, why);
    free(text);
    if (rc < 0)
        return nu_err_set(errbuf, NU_EPARSE, "%s cannot be read (%.300s)", path, why);
    return 0;
}

/* ---- what it means ---- */

bool node_chain_blocks(const struct node_chain_check *c)
{
    return c->state != NODE_CHAIN_OK;
}

bool node_chain_blocking(const char *home)
{
    struct node_chain_check *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return true;
    int rc = node_chain_load(home, c, NULL);
    bool blocks = rc == NU_ENOENT ? false : rc < 0 || node_chain_blocks(c);
    free(c);
    return blocks;
}

void node_chain_describe(const struct node_chain_check *c, char *out, size_t outsz)
{
    size_t m = node_chain_matches(c);
    switch (c->state) {
    case NODE_CHAIN_PENDING:
        snprintf(out, outsz,
                 "chain check of snapshot %s pending: block %lld must have hash %s (%zu of %zu "
                 "references agree); the node has not confirmed it yet",
                 c->snapshot, (long long)c->height, c->expected_hash, m, c->nrefs);
        return;
    case NODE_CHAIN_OK:
        snprintf(out, outsz, "chain check of snapshot %s passed: block %lld has hash %s",
                 c->snapshot, (long long)c->height, c->expected_hash);
        return;
    case NODE_CHAIN_MISMATCH:
        break;
    }
    snprintf(out, outsz,
             "chain check of snapshot %s failed: the node's block %lld has hash %s, not %s (%zu "
             "of %zu references agree); the restored data was moved to %.200s%s",
             c->snapshot, (long long)c->height, c->node_hash, c->expected_hash, m, c->nrefs,
             c->ndirs > 0 && c->rejected[0][0] != '\0' ? c->rejected[0] : "(nowhere: it was gone)",
             c->old_back ? "; the old data is back in place" : "");
}
