/* P2P network of the simulator: real TCP connections between nodes, with
 * a line-based handshake of our own (not neard's borsh protocol):
 *
 *   HELLO <chain_id> <node_pk> <listen_addr> <head> <account_id|->
 *   HEAD <height>
 *   PEERS <pk>@<addr> ...
 *   BYE <reason>
 *
 * Both sides send HELLO on connect. Peers of another chain, ourselves and
 * duplicates are dropped (for two connections between the same pair, the
 * one opened by the smaller public key survives on both ends). Peers gossip
 * their peer lists so a localnet becomes a full mesh; boot nodes are
 * retried every SIM_NET_RETRY_MS. Only boot nodes and addresses learned
 * from peers are ever dialled. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "hostport.h"
#include "settings.h"

#define SIM_NET_LINE_MAX 16384
#define SIM_NET_TIMER_MS 500
#define SIM_NET_RETRY_MS 3000
#define SIM_NET_HANDSHAKE_MS 5000
#define SIM_NET_GOSSIP_MS 1000
#define SIM_NET_KNOWN_MAX 256
#define SIM_NET_GOSSIP_FAILS 3 /* a learned (non-boot) address is forgotten after this */
#define SIM_NET_CONNS_MAX (2 * SIM_MAX_PEERS + 16) /* incl. unfinished handshakes */

struct known {
    char pk[NU_KEY_TEXT_MAX];
    char addr[SIM_ADDR_MAX];
    bool boot;
    unsigned fails;
    uint64_t next_try_ms;
};

struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    struct sim_net *net;
    struct conn *next;
    bool outbound, handshaken, closing;
    char expect_pk[NU_KEY_TEXT_MAX]; /* outbound: the key we dialled, "" if unknown */
    char pk[NU_KEY_TEXT_MAX];
    char addr[SIM_ADDR_MAX]; /* where the peer listens */
    char account[NU_ACCOUNT_ID_MAX + 1];
    uint64_t head;
    uint64_t started_ms;
    size_t rlen;
    char rbuf[SIM_NET_LINE_MAX];
};

struct sim_net {
    struct sim_node *n;
    uv_tcp_t listener;
    uv_timer_t timer;
    struct conn *conns;
    struct known known[SIM_NET_KNOWN_MAX];
    size_t nknown;
    char self_pk[NU_KEY_TEXT_MAX];
    uint64_t last_gossip_ms;
    int handles;
    unsigned nconns; /* open connections, handshaken or not */
    bool stopping;
    void (*done)(struct sim_node *n);
};

struct write_req {
    uv_write_t req;
    char data[];
};

static void maybe_finish(struct sim_net *net)
{
    if (!net->stopping || net->handles > 0)
        return;
    struct sim_node *n = net->n;
    void (*done)(struct sim_node *) = net->done;
    n->net = NULL;
    free(net);
    if (done)
        done(n);
}

static void handle_closed(uv_handle_t *h)
{
    struct sim_net *net = h->data;
    net->handles--;
    maybe_finish(net);
}

/* Mirrors the handshaken connections into n->peers for RPC and stats. */
static void sync_peers(struct sim_net *net)
{
    struct sim_node *n = net->n;
    unsigned k = 0;
    for (struct conn *c = net->conns; c && k < SIM_MAX_PEERS; c = c->next) {
        if (!c->handshaken || c->closing)
            continue;
        struct sim_peer *p = &n->peers[k++];
        snprintf(p->id, sizeof(p->id), "%s", c->pk);
        snprintf(p->addr, sizeof(p->addr), "%s", c->addr);
        snprintf(p->account_id, sizeof(p->account_id), "%s", c->account);
        p->head = c->head;
    }
    n->npeers = k;
}

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct sim_net *net = c->net;
    free(c);
    net->handles--;
    maybe_finish(net);
}

static void conn_close(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    struct sim_net *net = c->net;
    net->nconns--;
    for (struct conn **pp = &net->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->handshaken)
        sim_log("DEBUG", "network", "peer %s disconnected: %s", c->pk, why);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    sync_peers(net);
}

static void write_done(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error and closes the conn */
    free(req);
}

static void send_line(struct conn *c, const char *line)
{
    size_t len = strlen(line);
    if (c->closing)
        return;
    struct write_req *w = malloc(sizeof(*w) + len);
    if (w == NULL)
        return;
    memcpy(w->data, line, len);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_done) < 0) {
        free(w);
        conn_close(c, "write failed");
        return;
    }
    c->net->n->sent_bytes += len;
}

static void send_hello(struct conn *c)
{
    struct sim_net *net = c->net;
    struct sim_node *n = net->n;
    char line[1024];
    const char *acct = n->has_validator_key ? n->validator_key.account_id : "-";
    snprintf(line, sizeof(line), "HELLO %s %s %s %llu %s\n", n->gen.chain_id, net->self_pk,
             n->cfg.network_addr, (unsigned long long)n->head, acct);
    send_line(c, line);
}

static void send_peers(struct conn *c)
{
    char line[SIM_NET_LINE_MAX];
    size_t off = (size_t)snprintf(line, sizeof(line), "PEERS");
    for (struct conn *o = c->net->conns; o; o = o->next) {
        if (o == c || !o->handshaken || o->closing)
            continue;
        int w = snprintf(line + off, sizeof(line) - off, " %s@%s", o->pk, o->addr);
        if (w < 0 || (size_t)w >= sizeof(line) - off - 2)
            break;
        off += (size_t)w;
    }
    snprintf(line + off, sizeof(line) - off, "\n");
    send_line(c, line);
}

static struct known *find_known(struct sim_net *net, const char *pk)
{
    for (size_t i = 0; i < net->nknown; i++)
        if (strcmp(net->known[i].pk, pk) == 0)
            return &net->known[i];
    return NULL;
}

static void learn(struct sim_net *net, const char *pk, const char *addr, bool boot)
{
    if (strcmp(pk, net->self_pk) == 0)
        return;
    struct known *k = find_known(net, pk);
    if (k == NULL) {
        if (net->nknown == SIM_NET_KNOWN_MAX)
            return;
        k = &net->known[net->nknown++];
        memset(k, 0, sizeof(*k));
        snprintf(k->pk, sizeof(k->pk), "%s", pk);
    }
    snprintf(k->addr, sizeof(k->addr), "%s", addr);
    k->boot = k->boot || boot;
    k->fails = 0;
}

int sim_net_parse_boot_node(const char *s, char *pk, size_t pksz, char *addr, size_t addrsz)
{
    const char *at = strchr(s, '@'), *why;
    struct nu_hostport hp;
    if (at == NULL || at == s || (size_t)(at - s) >= pksz || strlen(at + 1) >= addrsz ||
        strncmp(s, "ed25519:", 8) != 0 ||
        nu_hostport_parse(at + 1, strlen(at + 1), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0)
        return NU_EINVAL;
    memcpy(pk, s, (size_t)(at - s));
    pk[at - s] = '\0';
    snprintf(addr, addrsz, "%s", at + 1);
    return 0;
}

/* "host:port" or "[v6]:port" into a sockaddr; numeric hosts only (no DNS
 * on the loop thread). */
static int parse_addr(const char *text, struct sockaddr_storage *sa)
{
    struct nu_hostport hp;
    const char *why;
    if (nu_hostport_parse(text, strlen(text), 0, NU_HOSTPORT_PORT0, &hp, &why) != 0)
        return NU_EINVAL;
    return nu_ip_sockaddr(hp.host, hp.port, sa, NULL);
}

static struct conn *conn_new(struct sim_net *net, bool outbound)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->net = net;
    c->outbound = outbound;
    c->started_ms = uv_now(net->n->loop);
    uv_tcp_init(net->n->loop, &c->tcp);
    c->tcp.data = c;
    net->handles++;
    net->nconns++;
    c->next = net->conns;
    net->conns = c;
    return c;
}

static const char *initiator(const struct conn *c)
{
    return c->outbound ? c->net->self_pk : c->pk;
}

/* A second connection to the same peer: the one opened by the smaller key
 * wins, on both ends, so exactly one survives. Returns false if c lost. */
static bool resolve_duplicate(struct conn *c)
{
    for (struct conn *o = c->net->conns; o; o = o->next) {
        if (o == c || !o->handshaken || o->closing || strcmp(o->pk, c->pk) != 0)
            continue;
        if (strcmp(initiator(c), initiator(o)) < 0 && c->outbound != o->outbound) {
            conn_close(o, "duplicate");
            return true;
        }
        conn_close(c, "duplicate");
        return false;
    }
    return true;
}

/* Peers announce their configured listen address; 0.0.0.0 means "the
 * address you see me on". */
static void peer_addr(struct conn *c, const char *announced)
{
    struct sockaddr_storage sa;
    struct nu_hostport hp;
    int len = sizeof(sa);
    char ip[64];
    const char *why;
    bool wildcard =
        nu_hostport_parse(announced, strlen(announced), 0, NU_HOSTPORT_PORT0, &hp, &why) == 0 &&
        (strcmp(hp.host, "0.0.0.0") == 0 || strcmp(hp.host, "::") == 0);
    if (!wildcard || uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) != 0 ||
        uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof(ip)) != 0 ||
        nu_hostport_format(ip, hp.port, c->addr, sizeof(c->addr)) != 0)
        snprintf(c->addr, sizeof(c->addr), "%s", announced);
}

static void on_hello(struct conn *c, char *args)
{
    struct sim_net *net = c->net;
    struct sim_node *n = net->n;
    char chain[SIM_CHAIN_ID_MAX], pk[NU_KEY_TEXT_MAX], addr[SIM_ADDR_MAX],
        acct[NU_ACCOUNT_ID_MAX + 1];
    unsigned long long head;
    if (c->handshaken ||
        sscanf(args, "%63s %127s %127s %llu %64s", chain, pk, addr, &head, acct) != 5) {
        conn_close(c, "bad handshake");
        return;
    }
    if (strcmp(chain, n->gen.chain_id) != 0) {
        send_line(c, "BYE chain_id mismatch\n");
        sim_log("DEBUG", "network", "rejecting peer %s: chain id %s != %s", pk, chain,
                n->gen.chain_id);
        conn_close(c, "other chain");
        return;
    }
    if (strcmp(pk, net->self_pk) == 0 || (c->expect_pk[0] && strcmp(pk, c->expect_pk) != 0)) {
        conn_close(c, "unexpected peer id");
        return;
    }
    snprintf(c->pk, sizeof(c->pk), "%s", pk);
    snprintf(c->account, sizeof(c->account), "%s", strcmp(acct, "-") == 0 ? "" : acct);
    c->head = head;
    peer_addr(c, addr);
    if (!resolve_duplicate(c))
        return;
    if (n->npeers >= n->cfg.max_num_peers) {
        send_line(c, "BYE too many peers\n");
        conn_close(c, "too many peers");
        return;
    }
    c->handshaken = true;
    learn(net, c->pk, c->addr, false);
    sync_peers(net);
    sim_log("DEBUG", "network", "connected to peer %s at %s", c->pk, c->addr);
    send_peers(c);
}

static void on_peers(struct conn *c, char *args)
{
    char pk[NU_KEY_TEXT_MAX], addr[SIM_ADDR_MAX];
    for (char *p = args; *p;) {
        while (*p == ' ')
            p++;
        char *end = p;
        while (*end && *end != ' ')
            end++;
        char save = *end;
        *end = '\0';
        if (*p && sim_net_parse_boot_node(p, pk, sizeof(pk), addr, sizeof(addr)) == 0)
            learn(c->net, pk, addr, false);
        *end = save;
        p = end;
    }
}

static void on_line(struct conn *c, char *line)
{
    if (strncmp(line, "HELLO ", 6) == 0) {
        on_hello(c, line + 6);
    } else if (!c->handshaken) {
        conn_close(c, strncmp(line, "BYE", 3) == 0 ? line : "no handshake");
    } else if (strncmp(line, "HEAD ", 5) == 0) {
        uint64_t h;
        if (nu_parse_uint(line + 5, UINT64_MAX, &h) == 0) {
            c->head = h;
            sync_peers(c->net);
        }
    } else if (strncmp(line, "PEERS", 5) == 0) {
        on_peers(c, line + 5);
    } else if (strncmp(line, "BYE", 3) == 0) {
        conn_close(c, line);
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(sizeof(c->rbuf) - c->rlen));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (nread < 0) {
        conn_close(c, uv_strerror((int)nread));
        return;
    }
    c->net->n->received_bytes += (uint64_t)nread;
    c->rlen += (size_t)nread;
    size_t start = 0;
    for (size_t i = 0; i < c->rlen && !c->closing; i++) {
        if (c->rbuf[i] != '\n')
            continue;
        c->rbuf[i] = '\0';
        on_line(c, c->rbuf + start);
        start = i + 1;
    }
    if (c->closing)
        return;
    memmove(c->rbuf, c->rbuf + start, c->rlen - start);
    c->rlen -= start;
    if (c->rlen == sizeof(c->rbuf))
        conn_close(c, "line too long");
}

static void start_conn(struct conn *c)
{
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) < 0) {
        conn_close(c, "read failed");
        return;
    }
    send_hello(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        struct known *k = find_known(c->net, c->expect_pk);
        if (k && !k->boot && ++k->fails >= SIM_NET_GOSSIP_FAILS)
            *k = c->net->known[--c->net->nknown]; /* forget a dead learned address */
        conn_close(c, uv_strerror(status));
        return;
    }
    start_conn(c);
}

static void on_accept(uv_stream_t *server, int status)
{
    struct sim_net *net = server->data;
    if (status < 0 || net->stopping)
        return;
    struct conn *c = conn_new(net, false);
    if (c == NULL)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c, "accept failed");
        return;
    }
    if (net->nconns > SIM_NET_CONNS_MAX) {
        conn_close(c, "too many connections");
        return;
    }
    start_conn(c);
}

static bool connected_or_pending(struct sim_net *net, const char *pk)
{
    for (struct conn *c = net->conns; c; c = c->next)
        if (!c->closing && (strcmp(c->pk, pk) == 0 || strcmp(c->expect_pk, pk) == 0))
            return true;
    return false;
}

static void dial(struct sim_net *net, struct known *k)
{
    struct sockaddr_storage sa;
    if (parse_addr(k->addr, &sa) < 0)
        return;
    struct conn *c = conn_new(net, true);
    if (c == NULL)
        return;
    snprintf(c->expect_pk, sizeof(c->expect_pk), "%s", k->pk);
    c->connect_req.data = c;
    if (uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&sa, on_connect) < 0)
        conn_close(c, "connect failed");
}

static void on_timer(uv_timer_t *t)
{
    struct sim_net *net = t->data;
    struct sim_node *n = net->n;
    uint64_t now = uv_now(n->loop);
    for (struct conn *c = net->conns, *next; c; c = next) {
        next = c->next;
        if (!c->handshaken && now - c->started_ms > SIM_NET_HANDSHAKE_MS)
            conn_close(c, "handshake timeout");
    }
    for (size_t i = 0; i < net->nknown; i++) {
        struct known *k = &net->known[i];
        if (n->npeers >= n->cfg.max_num_peers || now < k->next_try_ms ||
            connected_or_pending(net, k->pk))
            continue;
        k->next_try_ms = now + SIM_NET_RETRY_MS;
        dial(net, k);
    }
    if (now - net->last_gossip_ms < SIM_NET_GOSSIP_MS)
        return;
    net->last_gossip_ms = now;
    char line[64];
    snprintf(line, sizeof(line), "HEAD %llu\n", (unsigned long long)n->head);
    for (struct conn *c = net->conns; c; c = c->next)
        if (c->handshaken && !c->closing) {
            send_line(c, line);
            send_peers(c);
        }
}

static int add_boot_nodes(struct sim_net *net, char *errbuf)
{
    const char *list = net->n->cfg.boot_nodes ? net->n->cfg.boot_nodes : "";
    char item[512], pk[NU_KEY_TEXT_MAX], addr[SIM_ADDR_MAX];
    while (*list) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        if (len > 0) {
            struct sockaddr_storage sa;
            snprintf(item, sizeof(item), "%.*s", (int)len, list);
            if (sim_net_parse_boot_node(item, pk, sizeof(pk), addr, sizeof(addr)) < 0 ||
                parse_addr(addr, &sa) < 0)
                return nu_err_set(errbuf, NU_EINVAL, "Failed to parse PeerInfo: %s", item);
            learn(net, pk, addr, true);
        }
        list += len + (comma ? 1 : 0);
    }
    return 0;
}

int sim_net_start(struct sim_node *n, char *errbuf)
{
    struct sockaddr_storage sa;
    if (parse_addr(n->cfg.network_addr, &sa) < 0)
        return nu_err_set(errbuf, NU_EINVAL, "invalid network.addr %s", n->cfg.network_addr);
    struct sim_net *net = calloc(1, sizeof(*net));
    if (net == NULL)
        return nu_err_set(errbuf, NU_ENOMEM, "out of memory");
    net->n = n;
    nu_key_pub_text(&n->node_key, net->self_pk, sizeof(net->self_pk));
    int rc = add_boot_nodes(net, errbuf);
    if (rc < 0) {
        free(net);
        return rc;
    }
    n->net = net;
    uv_tcp_init(n->loop, &net->listener);
    uv_timer_init(n->loop, &net->timer);
    net->listener.data = net;
    net->timer.data = net;
    net->handles = 2;
    int uvrc = uv_tcp_bind(&net->listener, (struct sockaddr *)&sa, 0);
    if (uvrc == 0)
        uvrc = uv_listen((uv_stream_t *)&net->listener, 128, on_accept);
    if (uvrc < 0)
        return nu_err_set(errbuf, NU_ENET, "failed to bind %s: %s", n->cfg.network_addr,
                          uv_strerror(uvrc));
    uv_timer_start(&net->timer, on_timer, 0, SIM_NET_TIMER_MS);
    return 0;
}

void sim_net_stop(struct sim_node *n, void (*done)(struct sim_node *n))
{
    struct sim_net *net = n->net;
    if (net == NULL) {
        if (done)
            done(n);
        return;
    }
    net->stopping = true;
    net->done = done;
    while (net->conns)
        conn_close(net->conns, "node stopping");
    uv_close((uv_handle_t *)&net->listener, handle_closed);
    uv_close((uv_handle_t *)&net->timer, handle_closed);
}
