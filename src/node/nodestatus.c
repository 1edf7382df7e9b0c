/* Node status: pid files and status.json joined with neard's own answers. */
#include "nodestatus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaincheck.h"
#include "health.h"
#include "httpc.h"
#include "json.h"
#include "legacy.h"
#include "proc.h"
#include "redact.h"
#include "state.h"
#include "runcfg.h"

#define STATUS_FILE_MAX (64u << 10)

const char *node_state_name(enum node_state s)
{
    switch (s) {
    case NODE_STATE_UP:
        return "up";
    case NODE_STATE_RESTORING:
        return "restoring";
    case NODE_STATE_UNRESPONSIVE:
        return "unresponsive";
    case NODE_STATE_DOWN:
        break;
    }
    return "down";
}

static void http_opts(struct nu_httpc_opts *o)
{
    nu_httpc_opts_init(o);
    o->connect_timeout_ms = NODE_STATUS_CONNECT_MS;
    o->timeout_ms = NODE_STATUS_TIMEOUT_MS;
    o->max_bytes = NODE_STATUS_REPLY_MAX;
}

/* POSTs a JSON-RPC call without params; resp gets the reply. */
static int rpc_post(const char *url, const char *method, struct nu_buf *resp, char *errbuf)
{
    char body[256];
    int len =
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"nearup\",\"method\":\"%s\",\"params\":[]}", method);
    struct nu_httpc_opts o;
    http_opts(&o);
    long status = 0;
    return nu_http_post(url, &o, "application/json", body, (size_t)len, resp, &status, errbuf);
}

/* *result gets a new reference to the "result" member of method's reply. */
static int rpc_call(const char *url, const char *method, json_t **result, char *errbuf)
{
    struct nu_buf resp;
    nu_buf_init(&resp, NODE_STATUS_REPLY_MAX);
    json_t *reply = NULL;
    int rc = rpc_post(url, method, &resp, errbuf);
    if (rc == 0)
        rc = nu_json_parse(method, resp.data, resp.len, false, &reply, errbuf);
    if (rc == 0) {
        json_t *r = json_object_get(reply, "result");
        if (!json_is_object(r))
            rc = nu_err_set(errbuf, NU_EPARSE, "%s: %s answered without a result", url, method);
        else
            *result = json_incref(r);
    }
    json_decref(reply);
    nu_buf_release(&resp);
    return rc;
}

/* neard's JSON-RPC status, read by the health judge's parser. */
static int rpc_status(const char *url, struct health_status *st, char *errbuf)
{
    char err[NU_ERRMSG_MAX];
    struct nu_buf resp;
    nu_buf_init(&resp, NODE_STATUS_REPLY_MAX);
    int rc = rpc_post(url, "status", &resp, errbuf);
    if (rc == 0 && health_status_parse(resp.data, resp.len, HEALTH_REPLY_JSONRPC, st, err) != 0)
        rc = nu_err_set(errbuf, NU_EPARSE, "%s: %s", url, err);
    nu_buf_release(&resp);
    return rc;
}

/* neard's status: version, chain, head and sync state. */
static int probe_rpc_status(struct node_status *st)
{
    struct health_status hs;
    int rc = rpc_status(st->rpc_url, &hs, st->error);
    if (rc != 0)
        return rc;
    if (hs.version[0] != '\0')
        snprintf(st->neard_version, sizeof(st->neard_version), "%s", hs.version);
    if (hs.build[0] != '\0')
        snprintf(st->neard_build, sizeof(st->neard_build), "%s", hs.build);
    if (hs.chain_id[0] != '\0')
        snprintf(st->chain_id, sizeof(st->chain_id), "%s", hs.chain_id);
    if (hs.head >= 0)
        st->head = hs.head;
    if (hs.syncing >= 0)
        st->syncing = hs.syncing;
    return 0;
}

static void probe_peers_health(struct node_status *st)
{
    char errbuf[NU_ERRMSG_MAX], url[NODE_URL_MAX + 16];
    json_t *r = NULL;
    int64_t peers;
    if (rpc_call(st->rpc_url, "network_info", &r, errbuf) == 0 &&
        nu_json_get_int(r, "num_active_peers", &peers) == 0)
        st->peers = (int)peers;
    json_decref(r);

    /* /health answers 200 or 503 with an empty body; the status is the result. */
    struct nu_httpc_opts o;
    http_opts(&o);
    struct nu_buf body;
    nu_buf_init(&body, NODE_STATUS_REPLY_MAX);
    snprintf(url, sizeof(url), "%s/health", st->rpc_url);
    long status = 0;
    (void)!nu_http_get(url, &o, &body, &status, errbuf);
    st->health = status;
    nu_buf_release(&body);
}

/* Seconds since pid started: its start time (ticks since boot) against
 * the boot-time clock the kernel counts it with. */
static int64_t process_age(pid_t pid)
{
    uint64_t start;
    struct timespec now;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || nu_proc_start_time(pid, &start) != 0 || clock_gettime(CLOCK_BOOTTIME, &now) != 0)
        return -1;
    int64_t age = (int64_t)now.tv_sec - (int64_t)(start / (uint64_t)hz);
    return age < 0 ? 0 : age;
}

static void copy_str(char *dst, size_t dstsz, const json_t *obj, const char *path)
{
    const char *s;
    if (nu_json_get_str(obj, path, &s) == 0)
        snprintf(dst, dstsz, "%s", s);
}

/* status.json: the supervisor's state and restart count. */
static void read_supervisor(struct node_status *st)
{
    char path[PATH_MAX], errbuf[NU_ERRMSG_MAX];
    struct node_pidfile pf;
    if (node_pidfile_alive(st->home, NODE_SUPERVISOR_PID, &pf)) {
        st->supervised = true;
        st->supervisor_pid = pf.pid;
    }
    json_t *j = NULL;
    if (node_state_path(st->home, "status.json", path, sizeof(path)) != 0 ||
        nu_json_load_file(path, false, &j, errbuf) != 0)
        return;
    int64_t restarts;
    copy_str(st->supervisor_state, sizeof(st->supervisor_state), j, "state");
    if (st->neard_version[0] == '\0') /* run with --binary-path: the version neard reported */
        copy_str(st->neard_version, sizeof(st->neard_version), j, "neard_version");
    if (nu_json_get_int(j, "restarts", &restarts) == 0)
        st->restarts = restarts;
    json_decref(j);
}

/* run.json (when nearup runs the node) and the RPC address: --rpc-addr
 * from run.json's args, else config.json's rpc.addr. */
static void read_run_config(struct node_status *st)
{
    struct node_run_config c;
    char errbuf[NU_ERRMSG_MAX], addr[256];
    bool have = node_runcfg_load(st->home, &c, errbuf) == 0;
    if (have) {
        snprintf(st->network, sizeof(st->network), "%s", c.network);
        snprintf(st->chain_id, sizeof(st->chain_id), "%s", c.chain_id);
        snprintf(st->neard_version, sizeof(st->neard_version), "%s", c.neard_version);
    }
    if (node_runcfg_rpc_addr(st->home, have ? &c : NULL, addr, sizeof(addr), st->error) == 0)
        snprintf(st->rpc_url, sizeof(st->rpc_url), "http://%s", addr);
    node_runcfg_release(&c);
}

/* A neard of the home that the Python nearup started (and supervises, if
 * its watcher runs): its pid, and its network when run.json has none. */
static bool python_neard(struct node_status *st, struct node_pidfile *pf)
{
    struct node_legacy_node e;
    if (!node_legacy_find(st->home, &e))
        return false;
    pf->pid = e.pid;
    pf->start_time = e.start_time;
    if (st->network[0] == '\0')
        snprintf(st->network, sizeof(st->network), "%s", e.network);
    snprintf(st->supervisor_state, sizeof(st->supervisor_state), "%s", "python-nearup");
    return true;
}

/* chain-check.json: what a restore's node must still prove, or did. */
static void read_chain_check(struct node_status *st)
{
    struct node_chain_check *c = calloc(1, sizeof(*c));
    int rc = c != NULL ? node_chain_load(st->home, c, st->chain_reason) : NU_ENOMEM;
    if (rc == NU_ENOENT || rc == NU_ENOMEM) {
        st->chain_reason[0] = '\0';
    } else if (rc < 0) {
        snprintf(st->chain_check, sizeof(st->chain_check), "unreadable");
    } else {
        snprintf(st->chain_check, sizeof(st->chain_check), "%s", node_chain_state_name(c->state));
        node_chain_describe(c, st->chain_reason, sizeof(st->chain_reason));
    }
    free(c);
}

static void probe_one(const char *home, struct node_status *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->home, sizeof(st->home), "%s", home);
    st->uptime_s = st->head = st->lag = st->restarts = -1;
    st->syncing = st->peers = -1;
    st->state = NODE_STATE_DOWN;
    read_run_config(st);
    read_supervisor(st);
    read_chain_check(st);

    struct node_lock_owner lo;
    if (node_home_lock_owner(home, &lo) && lo.role == NODE_LOCK_RESTORE) {
        st->state = NODE_STATE_RESTORING;
        snprintf(st->error, sizeof(st->error), "a snapshot restore is in progress (pid %ld)",
                 (long)lo.pid);
        return;
    }
    struct node_pidfile pf;
    if (!node_pidfile_alive(home, NODE_NEARD_PID, &pf) && !python_neard(st, &pf)) {
        /* Never probe the port of a node that is not running: another
         * process may hold it now. */
        snprintf(st->error, sizeof(st->error), "neard is not running%s%s",
                 st->supervisor_state[0] ? "; supervisor state " : "", st->supervisor_state);
        return;
    }
    st->pid = pf.pid;
    st->uptime_s = process_age(pf.pid);
    st->state = NODE_STATE_UNRESPONSIVE;
    if (st->rpc_url[0] == '\0' || probe_rpc_status(st) != 0)
        return;
    st->state = NODE_STATE_UP;
    st->error[0] = '\0';
    probe_peers_health(st);
}

int node_rpc_head(const char *rpc_url, int64_t *head, char *errbuf)
{
    struct health_status hs;
    int rc = rpc_status(rpc_url, &hs, errbuf);
    if (rc == 0 && hs.head < 0)
        rc = nu_err_set(errbuf, NU_EPARSE, "%s: status has no latest_block_height", rpc_url);
    if (rc == 0)
        *head = hs.head;
    return rc;
}

static void probe_reference(struct node_status_ref *ref)
{
    if (node_rpc_head(ref->url, &ref->head, ref->error) != 0)
        ref->head = -1;
}

struct pool {
    const char (*homes)[PATH_MAX];
    struct node_status *out;
    size_t n;
    atomic_size_t next;
    struct node_status_ref *ref; /* taken by the first worker, NULL when none */
    atomic_bool ref_taken;
};

static void *worker(void *arg)
{
    struct pool *p = arg;
    if (p->ref != NULL && !atomic_exchange(&p->ref_taken, true))
        probe_reference(p->ref);
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;)
        probe_one(p->homes[i], &p->out[i]);
    return NULL;
}

static void set_lag(struct node_status *out, size_t n, const struct node_status_ref *ref)
{
    for (size_t i = 0; i < n; i++) {
        int64_t best = -1;
        if (out[i].head < 0)
            continue;
        if (ref != NULL) {
            best = ref->head;
        } else {
            for (size_t j = 0; j < n; j++) {
                if (strcmp(out[j].chain_id, out[i].chain_id) == 0 && out[j].head > best)
                    best = out[j].head;
            }
        }
        if (best >= 0)
            out[i].lag = best > out[i].head ? best - out[i].head : 0;
    }
}

int node_status_collect(const char (*homes)[PATH_MAX], size_t n, const char *reference,
                        struct node_status *out, struct node_status_ref *ref, char *errbuf)
{
    memset(ref, 0, sizeof(*ref));
    ref->head = -1;
    if (reference != NULL) {
        snprintf(ref->url, sizeof(ref->url), "%s", reference);
        nu_redact(reference, ref->shown, sizeof(ref->shown));
    }
    if (nu_httpc_global_init() != 0)
        return nu_err_set(errbuf, NU_ENET, "cannot initialise the HTTP client");
    struct pool p = {.homes = homes, .out = out, .n = n, .ref = reference ? ref : NULL};
    atomic_init(&p.next, 0);
    atomic_init(&p.ref_taken, false);
    size_t nthreads = n + (reference != NULL);
    if (nthreads > NODE_STATUS_THREADS)
        nthreads = NODE_STATUS_THREADS;
    pthread_t tids[NODE_STATUS_THREADS];
    size_t started = 0;
    /* The calling thread works too, so a failed pthread_create only slows us. */
    while (started + 1 < nthreads && pthread_create(&tids[started], NULL, worker, &p) == 0)
        started++;
    worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    nu_httpc_global_cleanup();
    set_lag(out, n, reference != NULL ? ref : NULL);
    return 0;
}

static json_t *str_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *pid_or_null(pid_t pid)
{
    return pid > 0 ? json_integer(pid) : json_null();
}

static json_t *node_json(const struct node_status *s)
{
    json_t *sup = json_pack("{s:o,s:o,s:o}", "pid", pid_or_null(s->supervisor_pid), "state",
                            str_or_null(s->supervisor_state), "restarts", int_or_null(s->restarts));
    json_t *o =
        json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "home", s->home, "network",
                  str_or_null(s->network), "chain_id", str_or_null(s->chain_id), "state",
                  node_state_name(s->state), "pid", pid_or_null(s->pid), "uptime_s",
                  int_or_null(s->uptime_s), "neard_version", str_or_null(s->neard_version),
                  "neard_build", str_or_null(s->neard_build), "rpc_url", str_or_null(s->rpc_url));
    if (o == NULL || sup == NULL) {
        json_decref(o);
        json_decref(sup);
        return NULL;
    }
    json_object_set_new(o, "head", int_or_null(s->head));
    json_object_set_new(o, "syncing", s->syncing < 0 ? json_null() : json_boolean(s->syncing));
    json_object_set_new(o, "peers", int_or_null(s->peers));
    json_object_set_new(o, "health", s->health > 0 ? json_integer(s->health) : json_null());
    json_object_set_new(o, "lag", int_or_null(s->lag));
    json_object_set_new(o, "supervisor", sup);
    json_object_set_new(o, "error", str_or_null(s->error));
    json_object_set_new(o, "chain_check",
                        s->chain_check[0] == '\0' ? json_null()
                                                  : json_pack("{s:s,s:s}", "state", s->chain_check,
                                                              "reason", s->chain_reason));
    return o;
}

json_t *node_status_json(const struct node_status *st, size_t n, const struct node_status_ref *ref)
{
    json_t *nodes = json_array();
    json_t *reference = json_null();
    if (ref != NULL && ref->url[0] != '\0')
        reference = json_pack("{s:s,s:o,s:o}", "url", ref->shown, "head", int_or_null(ref->head),
                              "error", str_or_null(ref->error));
    json_t *doc = json_pack("{s:o,s:o}", "reference", reference, "nodes", nodes);
    for (size_t i = 0; doc != NULL && i < n; i++) {
        json_t *o = node_json(&st[i]);
        if (o == NULL || json_array_append_new(nodes, o) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}
