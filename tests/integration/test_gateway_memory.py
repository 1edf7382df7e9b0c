"""Bounded gateway memory per client connection: idle keep-alive
connections keep no buffers after a pipelined burst, a batch reply is held
once, and the answer bytes a worker holds for clients that do not read are
capped by max_unsent (such a client is reset, others carry on). And the
gateway asks for the descriptors its max_connections needs."""
import json
import resource
import socket
import subprocess

from conftest import NEARUP, wait_until
from gateway_helpers import (Gateway, call_body, gateways, make_chain, metric, start_nodes,
                             stop_gateway, upstream_entries)

FINAL = {'finality': 'final'}


def post(body, close=False):
    data = body.encode()
    return (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
            b'%sContent-Length: %d\r\n\r\n%s' % (b'Connection: close\r\n' if close else b'',
                                                  len(data), data))


def read_answer(sock, buf=b''):
    """One answer (head, Content-Length body); returns (status, body, rest)."""
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        assert chunk, 'closed before the head'
        buf += chunk
    head, _, buf = buf.partition(b'\r\n\r\n')
    length = int(next(line.split(b':')[1] for line in head.split(b'\r\n')
                      if line.lower().startswith(b'content-length:')))
    while len(buf) < length:
        chunk = sock.recv(65536)
        assert chunk, 'closed inside the body'
        buf += chunk
    return int(head.split(b' ')[1]), buf[:length], buf[length:]


def batch(n):
    return json.dumps([json.loads(call_body('block', FINAL, i)) for i in range(n)])


def slow_client(port):
    """A client with a tiny receive buffer, so what it does not read stays
    with the gateway."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(('127.0.0.1', port))
    return s


def worker_gauge(gw, name, want):
    # worker counters reach /metrics on the next one-second tick
    return wait_until(lambda: metric(gw.metrics(), name) == want, 10, what=f'{name} == {want}')


def start_gateway(tmp_path, sim_nodes, gateways, **settings):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    return gateways(tmp_path, upstream_entries(nodes), **settings).start(wait_ok=['n0'])


def test_idle_connections_after_a_pipelined_burst_hold_no_buffers(tmp_path, sim_nodes, gateways):
    # 200 bursts of 24 calls at once: no shedding at max_inflight here
    gw = start_gateway(tmp_path, sim_nodes, gateways, upstream_max_inflight=0)
    burst = (post(call_body('status', [], 0)) + post(batch(20)) +
             post(call_body('block', FINAL, 2)) + b'GET /upstreams HTTP/1.1\r\nHost: x\r\n\r\n' +
             post(call_body('gas_price', [None], 4)))
    socks = [socket.create_connection(('127.0.0.1', gw.port), timeout=10) for _ in range(200)]
    try:
        for s in socks:
            s.sendall(burst)
        for s in socks:
            rest = b''
            got = []
            for _ in range(5):
                status, body, rest = read_answer(s, rest)
                got.append((status, body))
            assert [st for st, _ in got] == [200] * 5 and rest == b''
            assert [r['id'] for r in json.loads(got[1][1])] == list(range(20))
            assert json.loads(got[4][1])['id'] == 4
        worker_gauge(gw, 'nearup_gateway_http_buffer_bytes', 0)
        text = gw.metrics()
        assert metric(text, 'nearup_gateway_http_unsent_bytes') == 0
        assert metric(text, 'nearup_gateway_http_connections') >= 200
    finally:
        for s in socks:
            s.close()
    stop_gateway(gw)


# A reply larger than what loopback sockets can buffer even after the
# kernel has grown the send buffer to its maximum (net.ipv4.tcp_wmem, 4 MiB
# by default): 2400 blocks of about 2.2 KB.
BIG = 2400
BIG_SETTINGS = {'max_batch': BIG, 'upstream_max_inflight': 0}


def test_slow_reader_beyond_max_unsent_is_reset(tmp_path, sim_nodes, gateways):
    gw = start_gateway(tmp_path, sim_nodes, gateways, max_unsent='1MiB', **BIG_SETTINGS)
    slow = slow_client(gw.port)
    slow.sendall(post(batch(BIG)))
    worker_gauge(gw, 'nearup_gateway_http_unsent_drops_total', 1)
    got = b''
    try:
        while True:
            chunk = slow.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    slow.close()
    assert got.startswith(b'HTTP/1.1 200 OK\r\n') and len(got) < 3000000
    # the gateway goes on serving: a batch whose reply fits under the cap
    with socket.create_connection(('127.0.0.1', gw.port), timeout=10) as s:
        s.sendall(post(batch(100), close=True))
        status, body, _ = read_answer(s)
    assert status == 200 and [r['id'] for r in json.loads(body)] == list(range(100))
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_http_unsent_bytes') == 0
    assert metric(text, 'nearup_gateway_http_unsent_drops_total') == 1
    stop_gateway(gw)


def test_slow_reader_within_max_unsent_gets_the_whole_batch(tmp_path, sim_nodes, gateways):
    gw = start_gateway(tmp_path, sim_nodes, gateways, **BIG_SETTINGS)
    slow = slow_client(gw.port)
    slow.sendall(post(batch(BIG)))
    # the gateway holds the reply once: what the socket did not take, no copies
    held = wait_until(lambda: (lambda v: v if v and v > 0 else None)(
        metric(gw.metrics(), 'nearup_gateway_http_unsent_bytes')), 60, what='unsent bytes')
    status, body, _ = read_answer(slow)
    slow.close()
    assert status == 200 and [r['id'] for r in json.loads(body)] == list(range(BIG))
    assert held <= len(body)
    worker_gauge(gw, 'nearup_gateway_http_unsent_bytes', 0)
    assert metric(gw.metrics(), 'nearup_gateway_http_unsent_drops_total') == 0
    stop_gateway(gw)


def start_with_nofile(tmp_path, soft, hard, **settings):
    """A gateway whose open-file limits start at (soft, hard)."""
    tmp_path.mkdir()
    gw = Gateway(tmp_path, [('down', {'url': 'http://127.0.0.1:1'})], **settings)
    log = open(gw.log_path, 'ab')
    proc = subprocess.Popen(
        [NEARUP, 'gateway', '-c', str(gw.ini)], stdout=log, stderr=log,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)))
    gw.proc, gw._log = proc, log
    wait_until(lambda: 'gateway listening' in gw.log(), 15, what='gateway listening')
    return gw


def open_files_limit(pid):
    with open(f'/proc/{pid}/limits') as fh:
        for line in fh:
            if line.startswith('Max open files'):
                return [int(v) for v in line.split()[3:5]]
    return None


def test_gateway_raises_its_open_file_limit(tmp_path):
    # one worker, 2000 connections, one upstream: 2000 + 64 pool + 256 = 2320
    made = []
    try:
        made.append(start_with_nofile(tmp_path / 'a', 1024, 4096, workers=1,
                                      max_connections=2000))
        assert open_files_limit(made[-1].proc.pid) == [2320, 4096]
        assert 'open file limit' not in made[-1].log()
        stop_gateway(made[-1])
        made.append(start_with_nofile(tmp_path / 'b', 1024, 1500, workers=1,
                                      max_connections=2000))
        assert open_files_limit(made[-1].proc.pid) == [1500, 1500]
        assert ('level=warn msg="open file limit is below what max_connections needs; raise '
                'LimitNOFILE (ulimit -n) or lower max_connections" limit=1500 needed=2320'
                ) in made[-1].log()
        stop_gateway(made[-1])
    finally:
        for gw in made:
            gw.kill()
            if gw._log:
                gw._log.close()
