"""A local HTTP server laid out like NEAR's release bucket, for tests that
must never reach the internet.

Layout (paths relative to Bucket.url):

    nearcore-deploy/<chain>/latest_release      release name, e.g. "2.5.0\\n"
    nearcore-deploy/<chain>/latest_deploy       commit hash
    nearcore-deploy/testnet/genesis.json.xz     testnet genesis (also plain genesis.json)
    nearcore-deploy/testnet/config.json         config for init (also rpc/config.json)
    nearcore/<os>-<arch>/<release>/<commit>/neard        binary of a deploy
    nearcore/<os>-<arch>/<release>/<commit>/neard.sha256 "<hex>  neard\\n"
    nearcore/<os>-<arch>/<release>/neard                 pinned version (same bytes)
    nearcore/<os>-<arch>/<release>/neard.sha256

The "neard" binaries are shell scripts that exec neard-sim with
NEARD_SIM_RELEASE=<release>, so every release has different bytes (and a
different sha256) and reports its own version.

Tests can look at every request (requests()), cut the next response to a
path after N bytes (cut_next), serve a tampered binary (tamper) or a wrong
neard.sha256 (wrong_sha256), and answer an HTTP error for a path (fail).
Range requests get 206 with Content-Range, so resumed downloads work.
"""
import collections
import hashlib
import http.server
import json
import lzma
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

Request = collections.namedtuple('Request', 'method path range')

_GENESIS_CACHE = {}


def os_arch():
    """`uname -s`-`uname -m`, as nearup computes it (e.g. Linux-x86_64)."""
    u = os.uname()
    return f'{u.sysname}-{u.machine}'


def commit_for(version):
    """A deterministic 40-hex commit hash for a release name."""
    return hashlib.sha1(f'commit {version}'.encode()).hexdigest()


def neard_script(neard_sim, version, commit, pad=0, protocol=None):
    """The bytes of a fake neard for release `version` (supporting protocol
    version `protocol` when given, NEARD_SIM_PROTOCOL); pad adds a comment
    so the file is at least pad bytes (for resume and progress tests)."""
    proto = f'NEARD_SIM_PROTOCOL={protocol} ' if protocol else ''
    body = (f'#!/bin/sh\n# neard {version} {commit}\n'
            f'NEARD_SIM_RELEASE={version} {proto}exec {neard_sim} "$@"\n').encode()
    if pad > len(body):
        filler = b'#' + b'x' * (pad - len(body) - 2) + b'\n'
        body = body[:body.index(b'\n') + 1] + filler + body[body.index(b'\n') + 1:]
    return body


def sha256sum_line(data, name='neard'):
    return f'{hashlib.sha256(data).hexdigest()}  {name}\n'.encode()


def testnet_genesis(neard_sim):
    """genesis.json text for chain "testnet", made once per process by a
    local `neard-sim init` whose chain_id is then rewritten."""
    if neard_sim in _GENESIS_CACHE:
        return _GENESIS_CACHE[neard_sim]
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([neard_sim, '--home', d, 'init', '--chain-id', 'testnet-src', '--fast'],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f'neard-sim init failed: {r.stderr}')
        with open(os.path.join(d, 'genesis.json')) as fh:
            genesis = json.load(fh)
        with open(os.path.join(d, 'config.json')) as fh:
            config = json.load(fh)
    genesis['chain_id'] = 'testnet'
    _GENESIS_CACHE[neard_sim] = (json.dumps(genesis, indent=2), config)
    return _GENESIS_CACHE[neard_sim]


def _free_port():
    from conftest import free_port
    return free_port()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args, **kwargs):
        pass

    def do_GET(self):
        self.server.bucket._serve(self, head=False)

    def do_HEAD(self):
        self.server.bucket._serve(self, head=True)


class Bucket:
    """The server. Use the `bucket` fixture (conftest.py) rather than
    creating one directly; call close() when done otherwise."""

    def __init__(self, neard_sim, testnet=True):
        self.neard_sim = neard_sim
        self.os_arch = os_arch()
        self._lock = threading.Lock()
        self._files = {}       # path -> bytes
        self._reqs = []        # Request
        self._cuts = {}        # path -> bytes to send before closing (once)
        self._fail = {}        # path -> [status, remaining count or None]
        self._slow = {}        # path -> seconds to spread a body over
        self.releases = {}     # (version, commit) -> dict(sha256, data, binary_path, pinned_path)
        self._srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self._srv.daemon_threads = True
        self._srv.bucket = self
        self.port = self._srv.server_address[1]
        self.url = f'http://127.0.0.1:{self.port}'
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)
        self._thread.start()
        self.testnet_rpc_port = None
        self.testnet_net_port = None
        if testnet:
            self.add_testnet()

    def close(self):
        self._srv.shutdown()
        self._srv.server_close()

    # ---- content ----

    def put(self, path, data):
        """Serves data (bytes or str) at path (no leading slash)."""
        if isinstance(data, str):
            data = data.encode()
        with self._lock:
            self._files[path.lstrip('/')] = bytes(data)

    def get(self, path):
        with self._lock:
            return self._files.get(path.lstrip('/'))

    def remove(self, path):
        with self._lock:
            self._files.pop(path.lstrip('/'), None)

    def binary_path(self, version, commit=None):
        """Bucket path of a binary: the deploy one with commit, else the pinned one."""
        if commit:
            return f'nearcore/{self.os_arch}/{version}/{commit}/neard'
        return f'nearcore/{self.os_arch}/{version}/neard'

    def add_release(self, chain, version, commit=None, latest=True, pad=0, pinned=True,
                    protocol=None):
        """Publishes release `version` (commit defaults to commit_for(version);
        protocol: the protocol version it runs, see neard_script) at the
        deploy path and, with pinned, at the pinned path; with latest it
        becomes chain's latest_release/latest_deploy. Returns a dict with
        version, commit, sha256, data, size, path, pinned_path."""
        commit = commit or commit_for(version)
        data = neard_script(self.neard_sim, version, commit, pad, protocol)
        rel = {'version': version, 'commit': commit, 'data': data, 'size': len(data),
               'sha256': hashlib.sha256(data).hexdigest(),
               'path': self.binary_path(version, commit),
               'pinned_path': self.binary_path(version) if pinned else None}
        for p in filter(None, (rel['path'], rel['pinned_path'])):
            self.put(p, data)
            self.put(p + '.sha256', sha256sum_line(data))
        if latest:
            self.set_latest(chain, version, commit)
        self.releases[(version, commit)] = rel
        return rel

    def set_latest(self, chain, version, commit):
        self.put(f'nearcore-deploy/{chain}/latest_release', f'{version}\n')
        self.put(f'nearcore-deploy/{chain}/latest_deploy', f'{commit}\n')

    def add_testnet(self, rpc_port=None, net_port=None):
        """testnet's genesis (xz and plain) and config (plain and rpc/),
        with rpc and network addresses on fresh 127.0.0.1 ports so parallel
        tests do not collide, and skip_sync_wait so a lone node syncs."""
        genesis, config = testnet_genesis(self.neard_sim)
        config = json.loads(json.dumps(config))
        self.testnet_rpc_port = rpc_port or _free_port()
        self.testnet_net_port = net_port or _free_port()
        config['rpc']['addr'] = f'127.0.0.1:{self.testnet_rpc_port}'
        config['network']['addr'] = f'127.0.0.1:{self.testnet_net_port}'
        config['network']['skip_sync_wait'] = True
        text = json.dumps(config, indent=2)
        base = 'nearcore-deploy/testnet'
        self.put(f'{base}/genesis.json', genesis)
        self.put(f'{base}/genesis.json.xz', lzma.compress(genesis.encode(),
                                                          format=lzma.FORMAT_XZ))
        self.put(f'{base}/config.json', text)
        self.put(f'{base}/rpc/config.json', text)

    def testnet_urls(self):
        """(genesis url, rpc config url) as nearup hands them to neard init."""
        base = f'{self.url}/nearcore-deploy/testnet'
        return f'{base}/genesis.json.xz', f'{base}/rpc/config.json'

    # ---- faults ----

    def cut_next(self, path, nbytes):
        """The next GET of path announces the full length but closes the
        connection after nbytes of body (once)."""
        with self._lock:
            self._cuts[path.lstrip('/')] = nbytes

    def tamper(self, path):
        """Changes the bytes served at path (its .sha256 stays as it was)."""
        data = self.get(path)
        assert data is not None, path
        self.put(path, data + b'# tampered\n')
        return hashlib.sha256(data + b'# tampered\n').hexdigest()

    def wrong_sha256(self, path, hexdigest='0' * 64):
        """Serves a neard.sha256 beside path that names hexdigest."""
        self.put(path + '.sha256', f'{hexdigest}  neard\n')
        return hexdigest

    def fail(self, path, status, times=None):
        """Answers status for path (every time, or the next `times` times)."""
        with self._lock:
            self._fail[path.lstrip('/')] = [status, times]

    def slow(self, path, seconds):
        """Every GET of path sends its body in 20 pieces over `seconds`
        (so a download can be interrupted or raced); seconds=None undoes."""
        with self._lock:
            if seconds is None:
                self._slow.pop(path.lstrip('/'), None)
            else:
                self._slow[path.lstrip('/')] = seconds

    def clear_faults(self):
        with self._lock:
            self._cuts.clear()
            self._fail.clear()
            self._slow.clear()

    # ---- request log ----

    def requests(self, clear=False):
        """Every request so far as Request(method, path, range), path without
        the leading slash, range the Range header or None."""
        with self._lock:
            reqs = list(self._reqs)
            if clear:
                self._reqs.clear()
        return reqs

    def clear_requests(self):
        self.requests(clear=True)

    def gets(self, path):
        """The requests for one path."""
        path = path.lstrip('/')
        return [r for r in self.requests() if r.path == path]

    # ---- serving ----

    def _take_fault(self, path):
        with self._lock:
            cut = self._cuts.pop(path, None)
            fail = self._fail.get(path)
            status = None
            if fail:
                status = fail[0]
                if fail[1] is not None:
                    fail[1] -= 1
                    if fail[1] <= 0:
                        del self._fail[path]
            return cut, status

    def _serve(self, h, head):
        path = h.path.split('?', 1)[0].lstrip('/')
        rng = h.headers.get('Range')
        with self._lock:
            self._reqs.append(Request(h.command, path, rng))
        cut, status = self._take_fault(path)
        data = self.get(path)
        if status is not None or data is None:
            self._reply(h, status or 404, b'not found\n' if status in (None, 404) else b'error\n',
                        head)
            return
        start, end = 0, len(data)
        code = 200
        extra = {'Accept-Ranges': 'bytes'}
        if rng:
            m = re.fullmatch(r'bytes=(\d+)-(\d*)', rng.strip())
            if not m:
                self._reply(h, 400, b'bad range\n', head)
                return
            start = int(m.group(1))
            if m.group(2):
                end = min(end, int(m.group(2)) + 1)
            if start >= len(data) or start >= end:
                self._reply(h, 416, b'', head, {'Content-Range': f'bytes */{len(data)}'})
                return
            code = 206
            extra['Content-Range'] = f'bytes {start}-{end - 1}/{len(data)}'
        body = data[start:end]
        with self._lock:
            slow = self._slow.get(path)
        self._reply(h, code, body, head, extra, cut, slow)

    @staticmethod
    def _reply(h, code, body, head, headers=None, cut=None, slow=None):
        h.send_response(code)
        h.send_header('Content-Length', str(len(body)))
        h.send_header('Content-Type', 'application/octet-stream')
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if cut is not None:
            h.send_header('Connection', 'close')
        h.end_headers()
        if head:
            return
        try:
            if slow:
                step = max(1, -(-len(body) // 20))
                for i in range(0, len(body), step):
                    h.wfile.write(body[i:i + step])
                    h.wfile.flush()
                    time.sleep(slow / 20)
            elif cut is not None:
                h.wfile.write(body[:cut])
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
            else:
                h.wfile.write(body)
        except OSError:
            h.close_connection = True
