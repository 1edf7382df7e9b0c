"""HAProxy in front of two neard-sim nodes, each with a `nearup health`
sidecar answering HAProxy's agent-check: the node that starts syncing is
marked DOWN by the agent and gets no traffic; once it has caught up it is UP
and gets traffic again. Traffic is counted on the nodes themselves
(near_rpc_total_count{method="gas_price"}), server states are read from
HAProxy's stats socket (`show stat`)."""
import http.client
import json
import os
import re
import socket
import subprocess

import pytest

from conftest import free_port, init_local, wait_until
from test_health_sidecar import Sidecar, make_syncing, peerless_pair, stop_clean, url

HAPROXY = '/usr/sbin/haproxy'
pytestmark = pytest.mark.skipif(not os.access(HAPROXY, os.X_OK),
                                reason='haproxy is not installed (make deps)')

CONFIG = """global
    stats socket {sock} mode 600 level admin
    maxconn 200
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    default_backend rpc
backend rpc
    balance roundrobin
    default-server check inter 500ms agent-check agent-inter 200ms
    server a {a} agent-port {a_agent}
    server b {b} agent-port {b_agent}
"""


class HAProxy:
    def __init__(self, tmp_path, servers):
        self.port = free_port()
        self.sock = str(tmp_path / 'haproxy.sock')
        cfg = tmp_path / 'haproxy.cfg'
        cfg.write_text(CONFIG.format(sock=self.sock, port=self.port, **servers))
        self.log_path = tmp_path / 'haproxy.log'
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen([HAPROXY, '-db', '-f', str(cfg)], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(lambda: self.alive() and os.path.exists(self.sock), 15,
                   what='haproxy stats socket')

    def alive(self):
        if self.proc.poll() is not None:
            raise AssertionError(f'haproxy exited {self.proc.returncode}:\n'
                                 f'{self.log_path.read_text()}')
        return True

    def servers(self):
        """{server name: `show stat` row as a dict} for backend rpc."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall(b'show stat\n')
            data = b''
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        names = lines[0].lstrip('# ').split(',')
        rows = [dict(zip(names, line.split(','))) for line in lines[1:] if line]
        return {r['svname']: r for r in rows if r['pxname'] == 'rpc'}

    def wait_server(self, name, status, agent):
        def match():
            r = self.servers()[name]
            return r if (r['status'], r['last_agt']) == (status, agent) else None
        return wait_until(match, 60, what=f'haproxy server {name} {status} ({agent})')

    def call(self, method, params):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method, 'params': params})
            conn.request('POST', '/', body=body, headers={'Content-Type': 'application/json'})
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def gas_price_calls(node):
    _, _, body = node.get('/metrics')
    m = re.search(rb'^near_rpc_total_count\{method="gas_price"\} (\d+)$', body, re.M)
    return int(m.group(1)) if m else 0


def spread(proxy, nodes, n=20):
    """Sends n gas_price calls through HAProxy; returns how many each node got."""
    before = [gas_price_calls(x) for x in nodes]
    for _ in range(n):
        status, reply = proxy.call('gas_price', [None])
        assert status == 200 and 'result' in reply, reply
    return [gas_price_calls(x) - b for x, b in zip(nodes, before)]


@pytest.fixture
def cleanup():
    todo = []
    yield todo
    for fn in reversed(todo):
        fn()


def test_haproxy_drops_the_syncing_node_and_takes_it_back(tmp_path, sim_nodes, cleanup):
    peer, a = peerless_pair(tmp_path, sim_nodes)
    b_home = tmp_path / 'b'
    init_local(b_home)
    b = sim_nodes(b_home)
    b.wait_synced()
    sidecars = [Sidecar(tmp_path, url(x), '--interval', 100, '--rise', 1, '--fall', 1)
                for x in (a, b)]
    for sc in sidecars:
        cleanup.append(sc.kill)
        sc.wait_health(200, 'ok')
    proxy = HAProxy(tmp_path, {'a': a.rpc_addr, 'a_agent': sidecars[0].agent_port,
                               'b': b.rpc_addr, 'b_agent': sidecars[1].agent_port})
    cleanup.append(proxy.stop)
    proxy.wait_server('a', 'UP', 'via agent : up')
    proxy.wait_server('b', 'UP', 'via agent : up')
    got = spread(proxy, [a, b])
    assert sum(got) == 20 and min(got) > 0, got

    make_syncing(peer, a)
    sidecars[0].wait_health(503, 'syncing')
    proxy.wait_server('a', 'DOWN (agent)', 'via agent : down (syncing)')
    assert proxy.servers()['b']['status'] == 'UP'
    assert spread(proxy, [a, b]) == [0, 20]

    peer.start()  # a finds its peer, catches up, and its agent says up again
    sidecars[0].wait_health(200, 'ok', timeout=60)
    proxy.wait_server('a', 'UP', 'via agent : up')
    got = spread(proxy, [a, b])
    assert sum(got) == 20 and got[0] > 0, got

    for sc in sidecars:
        stop_clean(sc)
