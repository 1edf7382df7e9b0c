"""nearup health: the sidecar's /healthcheck status codes and reasons for each
state of a neard-sim node (ok, syncing, stale, lagging, down, starting),
recovery, rise/fall hysteresis, the HAProxy agent-check replies, /metrics
(promtool), usage errors and a clean exit 0 (no leaks) on SIGTERM."""
import http.server
import json
import re
import shutil
import signal
import socket
import subprocess
import threading

import pytest

from conftest import (NEARUP, init_local, localnet_node, run_sim, wait_until, free_port)
from daemon_helpers import Daemon, promtool_ok



class Sidecar(Daemon):
    """One `nearup health` process on free 127.0.0.1 ports."""

    def __init__(self, log_dir, node_url, *args, agent=True):
        port = free_port()
        self.agent_port = free_port() if agent else None
        cmd = [NEARUP, 'health', '--node', node_url, '--listen', f'127.0.0.1:{port}',
               *[str(a) for a in args]]
        if agent:
            cmd += ['--agent-port', str(self.agent_port)]
        super().__init__('nearup health', cmd, port, log_dir / f'health-{port}.log')

    def health(self):
        """(HTTP status, decoded JSON body)."""
        status, headers, body = self.request('GET', '/healthcheck')
        assert headers['content-type'] == 'application/json'
        assert headers['cache-control'] == 'no-store'
        return status, json.loads(body)

    def wait_health(self, code, status=None, timeout=30):
        def match():
            c, body = self.health()
            return body if c == code and (status is None or body['status'] == status) else None
        return wait_until(match, timeout, what=f'/healthcheck {code} {status}')

    def agent(self, send=b''):
        """Everything the agent port says on one connection."""
        with socket.create_connection(('127.0.0.1', self.agent_port), timeout=10) as s:
            if send:
                s.sendall(send)
            data = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data.decode()
                data += chunk

    def metrics(self):
        return self.samples()


@pytest.fixture
def sidecars(tmp_path):
    """Factory: sidecars(node_url, *args) -> started Sidecar; killed at teardown."""
    made = []

    def make(node_url, *args, **kw):
        s = Sidecar(tmp_path, node_url, *args, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.kill()


def stop_clean(sc):
    sc.stop_clean('msg="health sidecar stopped"')


def url(node):
    return f'http://{node.rpc_addr}'


def control(node, **kw):
    status, _, body = node.request('POST', '/sim/control', body=json.dumps(kw))
    assert status == 200, body
    return json.loads(body)



@pytest.fixture
def sim(home, sim_nodes):
    """A synced single node of a fast local chain, with --sim-control."""
    init_local(home)
    n = sim_nodes(home, sim_control=True)
    n.wait_synced()
    return n


def peerless_pair(tmp_path, sim_nodes):
    """A two-node localnet (node0 is node1's boot node, min_num_peers 1).
    Without its peer, a node sent back with resync_from waits in
    AwaitingPeers (syncing) until the peer returns. Returns (peer, node)."""
    root = tmp_path / 'localnet'
    r = run_sim(root, 'localnet', '-v', '2')
    assert r.returncode == 0, r.stderr
    peer = localnet_node(root, 'node0', sim_nodes)
    node = localnet_node(root, 'node1', sim_nodes, sim_control=True)
    node.wait_synced()
    return peer, node


def make_syncing(peer, node):
    """Stops the peer and sends node back; it stays syncing."""
    assert peer.stop() == 0
    wait_until(lambda: node.result('network_info')['num_active_peers'] == 0,
               what='node without peers')
    control(node, resync_from=node.height())
    wait_until(lambda: node.status()['sync_info']['syncing'], what='node syncing')


# ---- states ----

def test_ok_node(sim, sidecars):
    sc = sidecars(url(sim), '--interval', 100)
    body = sc.wait_health(200, 'ok')
    assert set(body) == {'status', 'reason', 'head', 'head_age_ms', 'syncing', 'lag', 'weight',
                         'check', 'successes', 'failures', 'max_lag', 'stale_ms'}
    assert body['reason'] == ''
    assert body['syncing'] is False and body['lag'] is None
    assert body['weight'] == 100 and body['check'] == 'ok' and body['failures'] == 0
    assert body['max_lag'] == 20 and body['stale_ms'] == 30000
    assert 0 <= body['head_age_ms'] < 30000
    assert abs(body['head'] - sim.height()) <= 20

    status, headers, data = sc.request('HEAD', '/healthcheck')
    assert (status, data) == (200, b'')
    assert int(headers['content-length']) > 0
    assert sc.request('GET', '/nope')[0] == 404
    status, headers, _ = sc.request('POST', '/healthcheck')
    assert (status, headers['allow']) == (405, 'GET, HEAD')
    assert sc.agent() == 'up ready 100%\n'
    # agent-send input is read and ignored; the reply still arrives whole
    assert sc.agent(b'backend/node0\n' * 50) == 'up ready 100%\n'

    text, m = sc.metrics()
    promtool_ok(text)
    assert m['nearup_health_up'] == 1 and m['nearup_health_node_up'] == 1
    assert m['nearup_health_state{state="ok"}'] == 1
    assert sum(v for k, v in m.items() if k.startswith('nearup_health_state{')) == 1
    assert m['nearup_health_weight_percent'] == 100
    assert m['nearup_health_checks_total{result="ok"}'] >= 1
    assert m['nearup_health_checks_total{result="down"}'] == 0
    assert 'nearup_health_lag' not in text  # no --reference
    stop_clean(sc)


def test_syncing_then_recovers(tmp_path, sim_nodes, sidecars):
    peer, node = peerless_pair(tmp_path, sim_nodes)
    sc = sidecars(url(node), '--interval', 100, '--rise', 1, '--fall', 1)
    sc.wait_health(200, 'ok')

    make_syncing(peer, node)
    body = sc.wait_health(503, 'syncing')
    assert re.fullmatch(r'node is syncing \(head \d+\)', body['reason']), body
    assert body['syncing'] is True and body['weight'] == 0 and body['check'] == 'syncing'
    assert sc.agent() == 'down #syncing\n'
    text, m = sc.metrics()
    promtool_ok(text)
    assert m['nearup_health_up'] == 0 and m['nearup_health_node_up'] == 1
    assert m['nearup_health_state{state="syncing"}'] == 1
    assert m['nearup_health_state{state="ok"}'] == 0
    assert m['nearup_health_checks_total{result="syncing"}'] >= 1

    peer.start()  # the node finds its peer again and catches up
    body = sc.wait_health(200, 'ok', timeout=60)
    assert body['syncing'] is False
    assert sc.agent() == 'up ready 100%\n'
    stop_clean(sc)


def test_stale_then_recovers(sim, sidecars):
    sc = sidecars(url(sim), '--interval', 100, '--stale', 1, '--rise', 1, '--fall', 1)
    sc.wait_health(200, 'ok')
    control(sim, stall=True)
    body = sc.wait_health(503, 'stale')
    assert re.fullmatch(r'head \d+ is \d+\.\d s old \(limit 1\.0 s\)', body['reason']), body
    assert body['head_age_ms'] > 1000 and body['syncing'] is False
    assert sc.agent() == 'down #stale\n'
    _, m = sc.metrics()
    assert m['nearup_health_state{state="stale"}'] == 1
    assert m['nearup_health_head_age_seconds'] > 1

    control(sim, stall=False)
    sc.wait_health(200, 'ok')
    assert sc.agent() == 'up ready 100%\n'
    stop_clean(sc)


def copy_home(home, tmp_path):
    """A second home of the same chain (same genesis): both heads follow one clock."""
    ref_home = tmp_path / 'ref'
    shutil.copytree(home, ref_home, ignore=shutil.ignore_patterns('data', '*.log'))
    return ref_home


def test_lagging_behind_reference_then_recovers(home, tmp_path, sim_nodes, sidecars):
    init_local(home)
    ref_home = copy_home(home, tmp_path)
    node = sim_nodes(home, sim_control=True)
    ref = sim_nodes(ref_home)
    node.wait_synced()
    ref.wait_synced()
    sc = sidecars(url(node), '--reference', url(ref), '--max-lag', 5, '--stale', 600,
                  '--interval', 100, '--rise', 1, '--fall', 1)
    body = sc.wait_health(200, 'ok')
    assert body['reference_error'] is None and 0 <= body['lag'] <= 5

    control(node, stall=True)  # the node stops; the reference goes on
    body = sc.wait_health(503, 'lagging')
    lag = body['lag']
    assert lag > 5 and body['reference_head'] - body['head'] == lag
    assert body['reason'] == (f"head {body['head']} is {lag} blocks behind the reference's "
                              f"{body['reference_head']} (limit 5)")
    assert sc.agent() == 'up drain #lagging\n'
    text, m = sc.metrics()
    promtool_ok(text)
    assert m['nearup_health_state{state="lagging"}'] == 1
    assert m['nearup_health_lag'] > 5
    assert m['nearup_health_reference_head'] > m['nearup_health_head']

    control(node, stall=False)
    body = sc.wait_health(200, 'ok')
    assert body['lag'] <= 5
    stop_clean(sc)


def test_weight_follows_lag(home, tmp_path, sim_nodes, sidecars):
    """A healthy node behind the reference gets a lower agent weight:
    100% up to 2 blocks, then linearly down to 10% at --max-lag."""
    init_local(home)
    ref_home = copy_home(home, tmp_path)
    node = sim_nodes(home, sim_control=True)
    ref = sim_nodes(ref_home)
    node.wait_synced()
    ref.wait_synced()
    control(node, stall=True)
    wait_until(lambda: ref.height() - node.height() >= 10, what='node 10 blocks behind')
    # One check at start, then none for an hour: every answer below comes
    # from that same check.
    sc = sidecars(url(node), '--reference', url(ref), '--max-lag', 100, '--stale', 600,
                  '--interval', 3600000)
    body = sc.wait_health(200, 'ok')
    lag = body['lag']
    assert lag >= 10
    assert lag < 100  # still healthy, at a reduced weight
    weight = 100 - 90 * (lag - 2) // (100 - 2)
    assert weight < 100
    assert body['weight'] == weight
    assert sc.agent() == f'up ready {weight}%\n'
    _, m = sc.metrics()
    assert m['nearup_health_weight_percent'] == weight
    assert m['nearup_health_checks_total{result="ok"}'] == 1

    sc.proc.send_signal(signal.SIGHUP)  # reloads nothing, checks at once
    wait_until(lambda: sc.metrics()[1]['nearup_health_checks_total{result="ok"}'] == 2,
               what='a check after SIGHUP')
    assert sc.health()[1]['lag'] >= lag
    assert 'SIGHUP' in sc.log()
    stop_clean(sc)


def test_reference_down_does_not_fail_the_node(sim, sidecars):
    dead = f'http://127.0.0.1:{free_port()}'
    sc = sidecars(url(sim), '--reference', dead, '--interval', 100)
    body = sc.wait_health(200, 'ok')
    assert body['lag'] is None and body['reference_head'] is None
    assert body['reference_error'].startswith(f'reference: {dead}: ')
    text, m = sc.metrics()
    promtool_ok(text)
    assert m['nearup_health_up'] == 1
    assert 'nearup_health_lag NaN' in text
    assert 'msg="lag unknown; judging the node without it"' in sc.log()
    stop_clean(sc)


def test_reference_of_another_chain_is_ignored(home, tmp_path, sim_nodes, sidecars):
    init_local(home)
    other = tmp_path / 'other'
    init_local(other, 'otherchain')
    node = sim_nodes(home)
    ref = sim_nodes(other)
    node.wait_synced()
    ref.wait_synced()
    sc = sidecars(url(node), '--reference', url(ref), '--interval', 100)
    body = sc.wait_health(200, 'ok')
    assert body['lag'] is None
    assert body['reference_error'] == \
        "reference chain_id otherchain differs from the node's simnet"
    stop_clean(sc)


def test_down_when_killed_then_recovers(sim, sidecars):
    sc = sidecars(url(sim), '--interval', 100, '--fall', 1, '--rise', 1)
    sc.wait_health(200, 'ok')
    sim.kill()
    body = sc.wait_health(503, 'down')
    assert body['reason'].startswith(f'{url(sim)}: Failed to connect to 127.0.0.1 port '
                                     f'{sim.rpc_port}'), body
    assert body['head'] is None and body['syncing'] is None and body['check'] == 'down'
    assert sc.agent() == 'down #unreachable\n'
    _, m = sc.metrics()
    assert m['nearup_health_node_up'] == 0 and m['nearup_health_state{state="down"}'] == 1

    sim.start()  # same home, same ports
    sc.wait_health(200, 'ok')
    stop_clean(sc)


def test_down_on_5xx_and_on_timeout(sim, sidecars):
    sc = sidecars(url(sim), '--interval', 100, '--timeout', 300, '--fall', 1, '--rise', 1)
    sc.wait_health(200, 'ok')
    control(sim, status_503=100)
    body = sc.wait_health(503, 'down')
    assert body['reason'] == f'{url(sim)} answered HTTP 503'
    control(sim, reset=True, error_rate=100)
    sc.wait_health(503, 'down')
    wait_until(lambda: sc.health()[1]['reason'] == f'{url(sim)} answered HTTP 500',
               what='HTTP 500 reason')
    control(sim, reset=True, hang=True)
    wait_until(lambda: sc.health()[1]['reason'] == f'no answer from {url(sim)} within 300 ms',
               what='timeout reason')
    control(sim, reset=True)
    sc.wait_health(200, 'ok')
    stop_clean(sc)


def test_starting_until_the_first_check(sim, sidecars):
    control(sim, hang=True)
    sc = sidecars(url(sim), '--timeout', 5000, '--interval', 100)
    status, body = sc.health()
    assert (status, body['status']) == (503, 'starting')
    assert body['reason'] == 'no check completed yet' and body['check'] == 'starting'
    assert sc.agent() == ''  # no line: HAProxy keeps the server as it was
    _, m = sc.metrics()
    assert m['nearup_health_state{state="starting"}'] == 1
    body = sc.wait_health(503, 'down')
    assert body['reason'] == f'no answer from {url(sim)} within 5000 ms'
    stop_clean(sc)


def test_hysteresis(sim, sidecars):
    """fall 3: still 200 after 1 or 2 failed checks; rise 3: still 503 after
    1 or 2 OK checks. Every observation must agree with the counters."""
    sc = sidecars(url(sim), '--interval', 300, '--rise', 3, '--fall', 3)
    sc.wait_health(200, 'ok')  # the first check is taken as is
    control(sim, status_503=100)
    seen = []

    def observe(until_code):
        code, body = sc.health()
        seen.append((code, body['status'], body['check'], body['successes'], body['failures']))
        return code == until_code
    wait_until(lambda: observe(503), what='503 after 3 failures')
    failing = [o for o in seen if o[2] == 'down']
    assert all(o[0] == 200 and o[1] == 'ok' for o in failing if o[4] < 3), failing
    assert all(o[0] == 503 for o in failing if o[4] >= 3), failing
    assert {1, 2} & {o[4] for o in failing if o[0] == 200}, failing

    seen.clear()
    control(sim, reset=True)
    wait_until(lambda: observe(200), what='200 after 3 OK checks')
    healing = [o for o in seen if o[2] == 'ok']
    assert all(o[0] == 503 and o[1] == 'down' for o in healing if o[3] < 3), healing
    assert all(o[0] == 200 for o in healing if o[3] >= 3), healing
    assert {1, 2} & {o[3] for o in healing if o[0] == 503}, healing
    stop_clean(sc)


# ---- replies a real neard would not give ----

class FakeNode(http.server.BaseHTTPRequestHandler):
    reply = b''

    def do_POST(self):
        self.rfile.read(int(self.headers['Content-Length']))
        self.send_response(200)
        self.send_header('Content-Length', str(len(FakeNode.reply)))
        self.end_headers()
        self.wfile.write(FakeNode.reply)

    def log_message(self, *a):
        pass


@pytest.fixture
def fake_node():
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), FakeNode)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()
    srv.server_close()


def status_reply(**sync):
    info = {'latest_block_height': 7, 'syncing': False,
            'latest_block_time': '2099-01-01T00:00:00.123456789Z'}
    info.update(sync)
    return json.dumps({'jsonrpc': '2.0', 'id': 'x',
                       'result': {'chain_id': 'c', 'sync_info': info}}).encode()


@pytest.mark.parametrize('reply,reason', [
    (b'{"jsonrpc":', 'malformed status reply: '),
    (b'{"jsonrpc":"2.0","id":1,"error":{"name":"HANDLER_ERROR","cause":{"name":"INTERNAL_ERROR"}}}',
     'status answered with JSON-RPC error INTERNAL_ERROR'),
    (b'{"jsonrpc":"2.0","id":1,"result":[]}', 'status reply has no result object'),
    (status_reply(syncing='no'), 'status result lacks sync_info.latest_block_height, syncing '
                                 'or latest_block_time'),
    (status_reply(latest_block_time='yesterday'),
     'status result has a bad latest_block_time yesterday'),
    (None, 'status reply larger than 262144 bytes'),
], ids=['malformed', 'rpc-error', 'no-result', 'bad-syncing', 'bad-time', 'huge'])
def test_bad_status_replies_are_down(fake_node, sidecars, reply, reason):
    FakeNode.reply = b'x' * 300000 if reply is None else reply
    sc = sidecars(fake_node, '--interval', 100, agent=False)
    body = sc.wait_health(503, 'down')
    assert body['reason'].startswith(reason), body
    stop_clean(sc)


def test_block_time_with_offset(fake_node, sidecars):
    FakeNode.reply = status_reply(latest_block_time='2000-01-01T02:00:00+02:00')
    sc = sidecars(fake_node, '--interval', 100, '--stale', 60, agent=False)
    body = sc.wait_health(503, 'stale')
    assert body['head'] == 7
    # 2000-01-01T00:00:00Z; the age is counted from then
    assert body['head_age_ms'] > 800000000000
    stop_clean(sc)


# ---- the command line ----

def run_health(*args):
    return subprocess.run([NEARUP, 'health', *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize('args,err', [
    ([], 'nearup health: --node URL is required'),
    (['--node', 'ftp://x'], 'nearup health: --node: "ftp://x" is not an http:// or https:// '
                            'URL'),
    (['--node', 'h:1', '--listen', 'localhost'],
     'nearup health: --listen: "localhost" is not HOST:PORT with a numeric host'),
    (['--node', 'h:1', '--max-lag', '-1'], 'nearup health: --max-lag: "-1" is not a whole number'),
    (['--node', 'h:1', '--stale', '0'], "nearup health: --stale: 0 is out of range [10, 86400000] ms"),
    (['--node', 'h:1', '--rise', '0'], "nearup health: --rise: 0 is out of range [1, 100]"),
    (['--node', 'h:1', '--interval'], 'nearup health: --interval needs a value'),
    (['--node', 'h:1', '--bogus'], "nearup health: unknown option '--bogus'"),
    (['--node', 'h:1', 'extra'], "nearup health: unexpected argument 'extra'"),
])
def test_usage_errors(args, err):
    r = run_health(*args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(err), r.stderr
    assert r.stderr.count('\n') == 1


def test_help():
    r = run_health('--help')
    assert r.returncode == 0
    assert r.stdout.startswith('usage: nearup health --node URL')
    for flag in ('--listen', '--reference', '--max-lag', '--stale', '--interval', '--timeout',
                 '--rise', '--fall', '--agent-port'):
        assert flag in r.stdout


def test_listen_port_taken():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_health('--node', 'http://127.0.0.1:1', '--listen', f'127.0.0.1:{port}')
        assert r.returncode == 1, r.stderr
        assert r.stderr.startswith('nearup health: '), r.stderr
        assert 'Sanitizer' not in r.stderr
        a = run_health('--node', 'http://127.0.0.1:1', '--listen', f'127.0.0.1:{free_port()}',
                       '--agent-port', port)
        assert a.returncode == 1, a.stderr
        assert a.stderr.startswith(f'nearup health: agent port 127.0.0.1:{port}: '), a.stderr


def test_sigint_exits_zero(sim, sidecars):
    sc = sidecars(url(sim), '--interval', 100)
    sc.wait_health(200)
    rc = sc.stop(signal.SIGINT)
    assert rc == 0, sc.log()
    assert 'signal=SIGINT' in sc.log()
