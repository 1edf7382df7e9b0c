"""Shared helpers for the integration tests: start neard-sim processes on
127.0.0.1 with ephemeral ports and temporary homes, talk HTTP/JSON-RPC to
them, and always stop them at the end of a test."""
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NEARD_SIM = os.environ.get('NEARD_SIM', os.path.join(ROOT, 'build', 'sim', 'neard-sim'))
NEARUP = os.environ.get('NEARUP', os.path.join(ROOT, 'build', 'src', 'cli', 'nearup'))


# Ports for the tests' listeners come from below the kernel's ephemeral
# range (32768-60999 on Linux), so an outgoing connection of a test running
# in parallel can never take a port between free_port() and its listener's
# bind; each port is reserved for its pytest process by a file under
# PORT_DIR (reclaimed once that process is gone), so two test files never
# draw the same one.
PORT_LO, PORT_HI = 10000, 32000
PORT_DIR = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'nearup-test-ports')


def _reserve(port):
    path = os.path.join(PORT_DIR, str(port))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            with open(path) as fh:
                os.kill(int(fh.read()), 0)
            return False  # its pytest process still runs
        except (OSError, ValueError):
            os.unlink(path)  # left by a process that is gone
            return _reserve(port)
    with os.fdopen(fd, 'w') as fh:
        fh.write(str(os.getpid()))
    return True


def free_port():
    """A port of 127.0.0.1 that is free, outside the ephemeral range and
    reserved for this test process."""
    os.makedirs(PORT_DIR, exist_ok=True)
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(1000):
        port = rng.randrange(PORT_LO, PORT_HI)
        try:
            if not _reserve(port):
                continue
        except FileNotFoundError:
            continue  # another process reclaimed it at the same moment
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue  # held by something outside the tests; keep it reserved
        return port
    raise AssertionError(f'no free port in {PORT_LO}-{PORT_HI}')


def sim_cmd(home, *args):
    return [NEARD_SIM, '--home', str(home), *[str(a) for a in args]]


def run_sim(home, *args, env=None, timeout=60, input=None):
    """Runs a short neard-sim command; returns CompletedProcess (text)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(sim_cmd(home, *args), capture_output=True, text=True,
                          timeout=timeout, env=full_env, input=input)


def init_local(home, chain_id='simnet', fast=True, *extra):
    args = ['init', '--chain-id', chain_id]
    if fast:
        args.append('--fast')
    args.extend(extra)
    r = run_sim(home, *args)
    assert r.returncode == 0, r.stderr
    return r


def load_json(path):
    with open(path) as fh:
        return json.load(fh)


def edit_config(home, fn):
    """Loads <home>/config.json, lets fn change it in place, writes it back."""
    path = os.path.join(str(home), 'config.json')
    cfg = load_json(path)
    fn(cfg)
    with open(path, 'w') as fh:
        json.dump(cfg, fh, indent=2)
    return cfg


def wait_until(pred, timeout=20.0, interval=0.05, what='condition'):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f'timed out after {timeout}s waiting for {what} (last={last!r})')


B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'


def b58encode(data):
    n = int.from_bytes(data, 'big')
    out = ''
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return '1' * (len(data) - len(data.lstrip(b'\0'))) + out


def sim_hash(chain_id, genesis_hash, height, tag='block', extra=0, fork_from=0):
    """neard-sim's per-height hash (docs/neard-sim.md, "Chain model"):
    base58(sha256(tag NUL chain_id NUL genesis_hash NUL le64(height)
    le64(extra) [le64(fork_from) from fork_from on]))."""
    data = b''.join(s.encode() + b'\0' for s in (tag, chain_id, genesis_hash))
    data += height.to_bytes(8, 'little') + extra.to_bytes(8, 'little')
    if fork_from and height >= fork_from:
        data += fork_from.to_bytes(8, 'little')
    return b58encode(hashlib.sha256(data).digest())


class SimNode:
    """One `neard-sim run` process with its own RPC and network ports."""

    def __init__(self, home, extra_args=(), env=None, sim_control=False, rpc_port=None,
                 net_port=None, global_args=()):
        self.home = str(home)
        self.rpc_port = rpc_port or free_port()
        self.net_port = net_port or free_port()
        self.extra_args = [str(a) for a in extra_args]
        self.global_args = list(global_args) + (['--sim-control'] if sim_control else [])
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.log_path = os.path.join(self.home, 'neard-sim.log')
        self._log = None

    @property
    def rpc_addr(self):
        return f'127.0.0.1:{self.rpc_port}'

    @property
    def net_addr(self):
        return f'127.0.0.1:{self.net_port}'

    def start(self, wait=True):
        self._log = open(self.log_path, 'ab')
        cmd = [NEARD_SIM, '--home', self.home, *self.global_args, 'run',
               '--rpc-addr', self.rpc_addr, '--network-addr', self.net_addr, *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log, env=self.env,
                                     stdin=subprocess.DEVNULL)
        if wait:
            self.wait_rpc()
        return self

    def wait_rpc(self, timeout=15.0):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f'neard-sim exited {self.proc.returncode}:\n{self.log()}')
            try:
                with socket.create_connection(('127.0.0.1', self.rpc_port), timeout=0.2):
                    return True
            except OSError:
                return False
        wait_until(up, timeout, what=f'rpc on {self.rpc_addr}')

    def log(self):
        if self._log:
            self._log.flush()
        with open(self.log_path, 'rb') as fh:
            return fh.read().decode('utf-8', 'replace')

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """Returns (status, headers dict lowercased, body bytes)."""
        conn = http.client.HTTPConnection('127.0.0.1', self.rpc_port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def get(self, path, timeout=10.0):
        return self.request('GET', path, timeout=timeout)

    def rpc(self, method, params=None, req_id='dontcare', timeout=15.0):
        """Returns (http_status, decoded JSON reply)."""
        body = json.dumps({'jsonrpc': '2.0', 'id': req_id, 'method': method,
                           'params': params if params is not None else []})
        status, _, data = self.request('POST', '/', body=body,
                                       headers={'Content-Type': 'application/json'},
                                       timeout=timeout)
        return status, json.loads(data)

    def result(self, method, params=None):
        status, reply = self.rpc(method, params)
        assert status == 200 and 'result' in reply, (status, reply)
        return reply['result']

    def status(self):
        return self.result('status')

    def height(self):
        return self.status()['sync_info']['latest_block_height']

    def wait_synced(self, timeout=30.0):
        wait_until(lambda: not self.status()['sync_info']['syncing'], timeout,
                   what='node synced')

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Stops the node and returns its exit code (or -signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f'neard-sim did not stop within {timeout}s')
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None


@pytest.fixture
def home(tmp_path):
    h = tmp_path / 'home'
    return h


@pytest.fixture
def sim_nodes():
    """Factory: sim_nodes(home, ...) -> started SimNode; all killed at teardown."""
    nodes = []

    def make(home, start=True, **kw):
        node = SimNode(home, **kw)
        nodes.append(node)
        if start:
            node.start()
        return node
    yield make
    for node in nodes:
        node.kill()


@pytest.fixture
def node(home, sim_nodes):
    """A synced single node of a local fast chain."""
    init_local(home)
    n = sim_nodes(home)
    n.wait_synced()
    return n


# ---- node-core helpers (neard-sim CLI, files, logs) ----

def edit_json(path, fn):
    """Loads a JSON file, lets fn change it in place, writes it back."""
    data = load_json(path)
    fn(data)
    with open(path, 'w') as fh:
        json.dump(data, fh, indent=2)
    return data


def edit_genesis(home, fn):
    return edit_json(os.path.join(str(home), 'genesis.json'), fn)


def wait_log(node, text, timeout=20.0):
    """Waits until text appears in node's log; returns the log."""
    def seen():
        if node.proc.poll() is not None and text not in node.log():
            raise AssertionError(f'neard-sim exited {node.proc.returncode} before '
                                 f'{text!r}:\n{node.log()}')
        log = node.log()
        return log if text in log else None
    return wait_until(seen, timeout, what=repr(text))


@pytest.fixture
def file_server(tmp_path):
    """Serves tmp_path/'www' over HTTP on 127.0.0.1; yields (dir, base_url)."""
    import functools
    import http.server
    import threading
    root = tmp_path / 'www'
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield root, f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()
    srv.server_close()


_OWNED_TREES = set()


def _own_localnet_ports(home):
    """Moves every node of a `localnet` tree onto ports free_port() reserved
    for this test process (neard-sim picked its own, which a concurrent
    test's free_port() could pick as well), boot_nodes included. Once per
    tree."""
    home = str(home)
    if home in _OWNED_TREES:
        return
    _OWNED_TREES.add(home)
    names = sorted(n for n in os.listdir(home)
                   if os.path.isfile(os.path.join(home, n, 'config.json')))
    moved = {}
    for n in names:
        cfg = load_json(os.path.join(home, n, 'config.json'))
        for key in ('rpc', 'network'):
            old = cfg[key]['addr']
            moved[old] = f"{old.rsplit(':', 1)[0]}:{free_port()}"

    def rewrite(cfg):
        for key in ('rpc', 'network'):
            cfg[key]['addr'] = moved[cfg[key]['addr']]
        peers = cfg['network'].get('boot_nodes', '')
        for old, new in moved.items():
            peers = peers.replace('@' + old, '@' + new)
        cfg['network']['boot_nodes'] = peers
    for n in names:
        edit_json(os.path.join(home, n, 'config.json'), rewrite)


def localnet_node(home, name, sim_nodes, start=True, **kw):
    """A SimNode for <home>/<name> of a `localnet` tree, on ports reserved
    for this test (boot_nodes point at those)."""
    _own_localnet_ports(home)
    d = os.path.join(str(home), name)
    cfg = load_json(os.path.join(d, 'config.json'))
    rpc_port = int(cfg['rpc']['addr'].rsplit(':', 1)[1])
    net_port = int(cfg['network']['addr'].rsplit(':', 1)[1])
    return sim_nodes(d, start=start, rpc_port=rpc_port, net_port=net_port, **kw)


# ---- release bucket (tests/integration/bucket.py) ----

@pytest.fixture
def bucket():
    """A local server laid out like NEAR's release bucket (see bucket.py):
    testnet genesis/config ready, no release yet. bucket.add_release(chain,
    version, commit=None, latest=True) publishes a fake neard; bucket.url is
    the --release-url; bucket.requests() lists every request made."""
    from bucket import Bucket
    b = Bucket(NEARD_SIM)
    yield b
    b.close()
