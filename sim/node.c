/* `neard-sim run`: load config, genesis and keys (failures panic as neard
 * does), open the store, start network and RPC, then run the loop until a
 * signal, expected_shutdown or /sim/control stops the node.
 *
 * Stop sequence (neard's order): WARN "<why>, stopping...", RPC stops
 * gracefully, network closes, timers and signal handles close, the loop
 * ends, INFO "Waiting for RocksDB to gracefully shutdown", DB closes.
 * Signals are watched from the first line of sim_node_run to the end. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "node-int.h"
#include "fs.h"

static void close_cb(uv_handle_t *h)
{
    struct sim_core *c = h->data;
    c->open_handles--;
}

static void close_handle(struct sim_core *c, void *h)
{
    uv_handle_t *handle = h;
    if (handle->data != NULL && !uv_is_closing(handle))
        uv_close(handle, close_cb);
}

static void net_stopped(struct sim_node *n)
{
    struct sim_core *c = sim_core_of(n);
    close_handle(c, &c->tick);
    close_handle(c, &c->stats);
    nu_sigs_close(&c->sigs); /* ignored from here on: RocksDB closes after the loop */
}

static void rpc_stopped(struct sim_node *n)
{
    sim_net_stop(n, net_stopped);
}

void sim_node_request_stop(struct sim_node *n, const char *reason)
{
    if (n->stopping)
        return;
    n->stopping = true;
    sim_log("WARN", "neard", "%s, stopping... this may take a few minutes.", reason);
    if (n->rpc != NULL)
        sim_rpc_stop(n, rpc_stopped);
    else
        rpc_stopped(n);
}

void sim_node_fail(struct sim_core *c, const char *what, const char *err)
{
    sim_log("ERROR", "neard", "%s: %s", what, err);
    c->exit_code = 1;
    sim_node_request_stop(&c->n, "ClientActor died");
}

static void on_tick(uv_timer_t *t)
{
    sim_sync_tick(t->data);
}

static void on_stats(uv_timer_t *t)
{
    sim_stats_log(t->data);
}

static void reload_config(struct sim_core *c)
{
    char err[NU_ERRMSG_MAX];
    char path[PATH_MAX];
    int rc = sim_config_reload_dynamic(c->n.home, &c->n.cfg, err);
    c->n.config_correct = rc == 0;
    if (rc == 0) {
        c->reload_error[0] = '\0';
        sim_log("INFO", "config", "Updated ClientConfig");
        return;
    }
    if (nu_fs_join(path, sizeof(path), c->n.home, SIM_CONFIG_FILE) < 0)
        path[0] = '\0';
    /* Bounded pieces: the message must fit reload_error (NU_ERRMSG_MAX). */
    snprintf(c->reload_error, sizeof(c->reload_error),
             "Can't open or read the config file \"%.200s\": %.240s", path, err);
    sim_log("WARN", "stats",
            "Dynamically updateable configs are not valid. Please fix this ASAP otherwise the "
            "node will probably crash after restart: %s",
            c->reload_error);
}

/* A signal during the start (config, genesis, keys, store) waits for the
 * loop's first turn. Once the node is stopping, every signal is logged and
 * ignored: the stop already under way finishes (RPC drain, DB close). */
static void on_signal(void *data, int signum)
{
    struct sim_core *c = data;
    if (c->n.stopping)
        sim_log("INFO", "neard", "%s received while stopping; ignored", nu_sig_name(signum));
    else if (signum == SIGHUP)
        reload_config(c);
    else
        sim_node_request_stop(&c->n, nu_sig_name(signum));
}

static void start_timers(struct sim_core *c)
{
    uv_timer_t *timers[] = {&c->tick, &c->stats};
    for (int i = 0; i < 2; i++) {
        uv_timer_init(&c->loop, timers[i]);
        timers[i]->data = c;
        c->open_handles++;
    }
    uv_timer_start(&c->tick, on_tick, 0, SIM_TICK_MS);
    uv_timer_start(&c->stats, on_stats, c->n.cfg.log_summary_period_ms,
                   c->n.cfg.log_summary_period_ms);
}

/* neard's load_config: config.json, genesis and keys; any failure panics. */
static void load_all(struct sim_core *c, const struct sim_run_opts *o)
{
    char err[NU_ERRMSG_MAX], path[PATH_MAX];
    struct sim_node *n = &c->n;
    sim_config_defaults(&n->cfg);
    if (sim_config_load(n->home, &n->cfg, err) < 0)
        sim_panic("Error loading config: %s", err);
    if (nu_fs_join(path, sizeof(path), n->home, n->cfg.genesis_file) < 0 ||
        sim_genesis_load(path, &n->gen, err) < 0)
        sim_panic("Error loading config: genesis.json file issue: %s", err);
    if (nu_fs_join(path, sizeof(path), n->home, n->cfg.node_key_file) < 0 ||
        nu_key_file_read(path, &n->node_key, "node", err) < 0)
        sim_panic("Error loading config: Failed reading node key file: %s", err);
    if (nu_fs_join(path, sizeof(path), n->home, n->cfg.validator_key_file) == 0 &&
        nu_fs_exists(path)) {
        if (nu_key_file_read(path, &n->validator_key, NULL, err) < 0)
            sim_panic("Error loading config: Failed initializing validator signer: %s", err);
        n->has_validator_key = true;
    }
    if (o->archive)
        n->cfg.archive = true;
    if (o->boot_nodes != NULL && o->boot_nodes[0] != '\0') {
        free(n->cfg.boot_nodes);
        n->cfg.boot_nodes = strdup(o->boot_nodes);
        if (n->cfg.boot_nodes == NULL)
            sim_panic("out of memory");
    }
    if (o->has_min_peers)
        n->cfg.min_num_peers = o->min_peers;
    if (o->network_addr != NULL)
        snprintf(n->cfg.network_addr, sizeof(n->cfg.network_addr), "%s", o->network_addr);
    if (o->rpc_addr != NULL)
        snprintf(n->cfg.rpc_addr, sizeof(n->cfg.rpc_addr), "%s", o->rpc_addr);
}

/* Opens the store; a fresh one starts with the genesis block. */
static void open_store(struct sim_core *c)
{
    char err[NU_ERRMSG_MAX];
    struct sim_node *n = &c->n;
    struct sim_store_meta m;
    bool fresh = !nu_fs_is_dir(n->cfg.store_path);
    sim_log("INFO", "db", "%s RocksDB database path=%s",
            fresh ? "Creating a new" : "Opening an existing", n->cfg.store_path);
    if (nu_fs_mkdir_p(n->cfg.store_path, 0755, err) < 0 ||
        sim_store_open(n->cfg.store_path, n, &n->store, err) < 0 ||
        sim_store_read_meta(n->store, &m, err) < 0)
        sim_panic("start_with_config: unable to open database at %s: %s", n->cfg.store_path, err);
    if (!m.found) {
        uint64_t g = n->gen.genesis_height;
        m = (struct sim_store_meta){
            .found = true, .head = g, .earliest = g, .tail = g, .archive = n->cfg.archive};
        if (sim_store_append(n->store, g, g, err) < 0 ||
            sim_store_write_meta(n->store, &m, err) < 0)
            sim_panic("start_with_config: unable to open database at %s: %s", n->cfg.store_path,
                      err);
    }
    n->head = m.head;
    n->earliest = m.earliest;
    n->header_head = m.head;
    n->sync_start = m.head;
    n->fork_from = m.fork_from;
    c->tail = m.tail;
    c->archive_db = m.archive;
    if (n->cfg.sim_fork_from_height != 0 &&
        sim_node_fork_from(n, n->cfg.sim_fork_from_height, err, sizeof(err)) < 0)
        sim_panic("start_with_config: sim.fork_from_height: %s", err);
}

static void start_services(struct sim_core *c)
{
    char err[NU_ERRMSG_MAX];
    struct sim_node *n = &c->n;
    if (sim_net_start(n, err) < 0)
        sim_panic("start_with_config: %s", err);
    if (n->cfg.rpc_addr[0] != '\0' && sim_rpc_start(n, err) < 0)
        sim_panic("start_with_config: %s", err);
    start_timers(c);
}

static void release(struct sim_core *c)
{
    sim_store_close(c->n.store);
    c->n.store = NULL;
    sim_genesis_release(&c->n.gen);
    sim_config_release(&c->n.cfg);
}

int sim_node_run(const struct sim_run_opts *o)
{
    struct sim_core *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return 1;
    struct sim_node *n = &c->n;
    snprintf(n->home, sizeof(n->home), "%s", o->home);
    n->sim_control = o->sim_control;
    n->config_correct = true;
    n->boot_time_ns = nu_real_ns();
    n->sync_status = SIM_SYNC_AWAITING_PEERS;
    uv_loop_init(&c->loop);
    n->loop = &c->loop;
    char err[NU_ERRMSG_MAX];
    if (nu_sigs_start(&c->sigs, &c->loop, on_signal, c, err) < 0)
        sim_panic("start_with_config: cannot install signal handlers: %s", err);
    load_all(c, o);
    sim_log("INFO", "neard", "version=\"%s\" build=\"%s\" latest_protocol=%u", sim_release(),
            SIM_BUILD, sim_protocol());
    open_store(c);
    c->last_tick_ms = uv_now(&c->loop);
    c->st_time_ms = c->last_tick_ms;
    c->st_head = n->head;
    start_services(c);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    sim_log("INFO", "neard", "Waiting for RocksDB to gracefully shutdown");
    if (uv_loop_close(&c->loop) != 0)
        sim_log("WARN", "neard", "event loop closed with handles still open");
    int code = c->exit_code;
    release(c);
    free(c);
    return code;
}

bool sim_node_is_validator(const struct sim_node *n)
{
    if (!n->has_validator_key)
        return false;
    for (size_t i = 0; i < n->gen.nvalidators; i++)
        if (strcmp(n->gen.validators[i].account_id, n->validator_key.account_id) == 0)
            return true;
    return false;
}
