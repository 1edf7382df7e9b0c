"""nearup health's HTTP client (the event-loop client of src/lib): https with
a trusted, an untrusted and a wrongly named certificate, one connection
kept alive between checks (over TLS too), basic authentication from the
URL's userinfo, a name resolved on the loop (localhost), and URLs refused
at the start. The node is a small Python server answering `status`; the
test certificates are in tests/integration/tls/ (self-signed, for 127.0.0.1,
::1 and localhost, and one for other.example)."""
import http.client
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import threading

import pytest

from conftest import NEARUP, free_port, wait_until

TLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tls')
STATUS = json.dumps({'jsonrpc': '2.0', 'id': 'x', 'result': {
    'chain_id': 'c', 'sync_info': {'latest_block_height': 7, 'syncing': False,
                                   'latest_block_time': '2099-01-01T00:00:00Z'}}}).encode()


class Node(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keeps connections alive
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        Node.seen.append({'port': self.client_address[1], 'auth': self.headers['Authorization'],
                          'host': self.headers['Host'], 'body': json.loads(body)})
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(STATUS)))
        self.end_headers()
        self.wfile.write(STATUS)

    def log_message(self, *a):
        pass


def serve(cert=None):
    """A status node on 127.0.0.1 (TLS with cert); returns (server, port)."""
    Node.seen = []
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Node)
    srv.daemon_threads = True
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(TLS, cert + '.crt'), os.path.join(TLS, cert + '.key'))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


@pytest.fixture
def servers():
    made = []

    def make(cert=None):
        srv, port = serve(cert)
        made.append(srv)
        return port
    yield make
    for srv in made:
        srv.shutdown()
        srv.server_close()


class Health:
    """`nearup health --node URL` on a free port, checking every 100 ms."""

    def __init__(self, tmp_path, node_url, trust=None):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ('SSL_CERT_FILE', 'SSL_CERT_DIR')}
        if trust:
            env['SSL_CERT_FILE'] = os.path.join(TLS, trust + '.crt')
            env['SSL_CERT_DIR'] = str(tmp_path)  # nothing else is trusted
        self.log = tmp_path / f'health-{self.port}.log'
        with open(self.log, 'wb') as out:
            self.proc = subprocess.Popen(
                [NEARUP, 'health', '--node', node_url, '--listen', f'127.0.0.1:{self.port}',
                 '--interval', '100', '--fall', '1', '--rise', '1'],
                stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env)

        def up():
            assert self.proc.poll() is None, self.log.read_text()
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=0.2):
                    return True
            except OSError:
                return False
        wait_until(up, 15, what='nearup health listening')

    def health(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            conn.request('GET', '/healthcheck')
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        finally:
            conn.close()

    def wait(self, code, status):
        def match():
            c, body = self.health()
            return body if (c, body['status']) == (code, status) else None
        return wait_until(match, 20, what=f'/healthcheck {code} {status}')

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(20)
        log = self.log.read_text()
        assert rc == 0 and 'Sanitizer' not in log, log


@pytest.fixture
def healths(tmp_path):
    made = []

    def make(node_url, trust=None):
        h = Health(tmp_path, node_url, trust)
        made.append(h)
        return h
    yield make
    for h in made:
        if h.proc.poll() is None:
            h.proc.kill()
            h.proc.wait()


def test_https_node_with_a_trusted_certificate(servers, healths):
    port = servers('loopback')
    h = healths(f'https://127.0.0.1:{port}', trust='loopback')
    body = h.wait(200, 'ok')
    assert body['head'] == 7 and body['reason'] == ''
    wait_until(lambda: len(Node.seen) >= 4, what='4 checks')
    assert {s['port'] for s in Node.seen} == {Node.seen[0]['port']}  # one connection kept alive
    assert Node.seen[0]['host'] == f'127.0.0.1:{port}'
    assert Node.seen[0]['auth'] is None
    assert Node.seen[0]['body'] == {'jsonrpc': '2.0', 'id': 'nearup-health', 'method': 'status',
                                    'params': []}
    h.stop()


def test_https_node_with_an_untrusted_certificate_is_down(servers, healths):
    port = servers('loopback')
    h = healths(f'https://127.0.0.1:{port}')  # the system's trust store only
    body = h.wait(503, 'down')
    assert body['reason'] == (f'https://127.0.0.1:{port}: TLS handshake: certificate not '
                              f'trusted: self-signed certificate')
    assert Node.seen == []
    h.stop()


def test_https_certificate_for_another_name_is_down(servers, healths):
    port = servers('other')
    h = healths(f'https://127.0.0.1:{port}', trust='other')
    body = h.wait(503, 'down')
    assert body['reason'] == (f'https://127.0.0.1:{port}: TLS handshake: certificate not '
                              f'trusted: IP address mismatch')
    assert Node.seen == []
    h.stop()


def test_plain_http_to_a_tls_port_and_tls_to_a_plain_port(servers, healths):
    tls_port = servers('loopback')
    plain_port = servers()
    h = healths(f'https://127.0.0.1:{plain_port}', trust='loopback')
    body = h.wait(503, 'down')
    assert body['reason'] == (f'https://127.0.0.1:{plain_port}: TLS handshake: wrong version '
                              f'number')
    h.stop()
    h = healths(f'http://127.0.0.1:{tls_port}')
    body = h.wait(503, 'down')
    # the TLS server resets the connection it cannot read a handshake from
    # (or, had it read all of it, just closes it)
    assert body['reason'] in (f'http://127.0.0.1:{tls_port}: connection reset by peer',
                              f'http://127.0.0.1:{tls_port}: closed before answering'), body
    h.stop()


def test_basic_auth_from_the_userinfo(servers, healths):
    port = servers()
    h = healths(f'http://us%40er:pa%3Ass@127.0.0.1:{port}/')
    h.wait(200, 'ok')
    assert Node.seen[0]['auth'] == 'Basic dXNAZXI6cGE6c3M='  # us@er:pa:ss
    assert 'pa%3Ass' not in h.log.read_text()
    h.stop()


def test_a_name_is_resolved(servers, healths):
    """localhost may resolve to ::1 first; the server listens on 127.0.0.1
    only, so the next address is tried when ::1 refuses."""
    port = servers()
    h = healths(f'http://localhost:{port}')
    body = h.wait(200, 'ok')
    assert body['head'] == 7
    assert Node.seen[0]['host'] == f'localhost:{port}'
    h.stop()


@pytest.mark.parametrize('url,err', [
    ('http://h:0', 'nearup health: --node: URL http://h:0: the port must be 1 to 65535'),
    ('http://a b:1', 'nearup health: --node: URL http://a b:1: bad character in the host'),
    ('https://u:secret@[zz]:1', 'nearup health: --node: URL https://***@[zz]:1: bad IPv6 '
                                'address'),
])
def test_bad_urls_are_refused_at_the_start(url, err):
    r = subprocess.run([NEARUP, 'health', '--node', url], capture_output=True, text=True,
                       timeout=30)
    # a usage error, worded as every command's (docs/cli.md)
    assert (r.returncode, r.stderr) == (2, err + "; see 'nearup health --help'\n")
