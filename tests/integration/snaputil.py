"""Helpers for the snapshot tests: neard-sim homes whose data dir grows to a
few MB in a second (archival, genesis in the past, block payloads), nearup
snapshot with --json, and views of a directory store."""
import datetime
import hashlib
import json
import os
import subprocess
import urllib.parse
import urllib.request

from conftest import NEARD_SIM, load_json, wait_until

SKIP_FILES = {'LOCK', 'LOG'}


def make_home(path, chain='simnet', payload=8192, sync=2000, age_s=60, archive=True):
    """A neard-sim home (--fast: 120 ms blocks) whose genesis lies age_s in
    the past, so the first run syncs age_s/0.12 blocks of `payload` bytes."""
    path = str(path)
    r = subprocess.run([NEARD_SIM, '--home', path, 'init', '--chain-id', chain, '--fast'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    gpath = os.path.join(path, 'genesis.json')
    g = load_json(gpath)
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=age_s)
    g['genesis_time'] = t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    with open(gpath, 'w') as fh:
        json.dump(g, fh, indent=2)
    set_sim(path, payload=payload, sync=sync, archive=archive)
    return path


def set_sim(home, payload=None, sync=None, archive=None, **extra):
    cpath = os.path.join(str(home), 'config.json')
    c = load_json(cpath)
    sim = c.setdefault('sim', {})
    if payload is not None:
        sim['block_payload_bytes'] = payload
    if sync is not None:
        sim['sync_blocks_per_sec'] = sync
    if archive is not None:
        c['archive'] = archive
    c.update(extra)
    with open(cpath, 'w') as fh:
        json.dump(c, fh, indent=2)


def twin_home(src, dst, sync=1):
    """A fresh home of the same chain as src (same genesis.json), whose node
    syncs slowly, so a head it reports at once came from restored data."""
    dst = str(dst)
    chain = load_json(os.path.join(str(src), 'genesis.json'))['chain_id']
    r = subprocess.run([NEARD_SIM, '--home', dst, 'init', '--chain-id', chain, '--fast'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(str(src), 'genesis.json'), 'rb') as a, \
            open(os.path.join(dst, 'genesis.json'), 'wb') as b:
        b.write(a.read())
    set_sim(dst, sync=sync, archive=True)
    return dst


def status(port, timeout=5.0):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/status', timeout=timeout) as resp:
        return json.loads(resp.read())


def head(port):
    return status(port)['sync_info']['latest_block_height']


def wait_head(port, height, timeout=30.0):
    def reached():
        try:
            return head(port) >= height
        except OSError:
            return False
    wait_until(reached, timeout, what=f'head >= {height}')


def snap(nu, *args, ok=True, env=None, timeout=180):
    """nearup snapshot ARGS --json; returns (CompletedProcess, parsed JSON or None)."""
    full = ['snapshot', *[str(a) for a in args], '--json']
    if env:
        saved = dict(nu.env)
        nu.env.update(env)
    try:
        r = nu(*full, timeout=timeout)
    finally:
        if env:
            nu.env.clear()
            nu.env.update(saved)
    if ok:
        assert r.returncode == 0, (full, r.returncode, r.stdout, r.stderr)
    doc = json.loads(r.stdout) if r.stdout.strip().startswith(('{', '[')) else None
    return r, doc


def manifest(store, name):
    return load_json(os.path.join(str(store), 'manifests', name + '.json'))


def latest(store):
    with open(os.path.join(str(store), 'latest')) as fh:
        return fh.read().strip()


def chunks_of(m):
    return {c['sha256'] for f in m['files'] for c in f['chunks']}


def chunk_path(store, sha):
    return os.path.join(str(store), 'chunks', sha[:2], sha)


def stored_chunks(store):
    d = os.path.join(str(store), 'chunks')
    if not os.path.isdir(d):
        return set()
    return {n for sub in os.listdir(d) for n in os.listdir(os.path.join(d, sub))
            if not n.startswith('.')}


def manifests_in(store):
    d = os.path.join(str(store), 'manifests')
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def tree_hashes(root, skip=SKIP_FILES):
    """{relative path: sha256} of the regular files under root."""
    out = {}
    for dirpath, _, files in os.walk(str(root)):
        for n in files:
            if n in skip or n.startswith('LOG.old'):
                continue
            p = os.path.join(dirpath, n)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, str(root))] = hashlib.sha256(fh.read()).hexdigest()
    return out


def file_sha(path):
    with open(path, 'rb') as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def chunk_plain(store, sha):
    """The plain bytes of a stored chunk object (header + payload; zstd via
    the zstd command line tool, which the machine has)."""
    with open(chunk_path(store, sha), 'rb') as fh:
        obj = fh.read()
    assert obj[:4] == b'NUSC' and obj[4] == 1
    size = int.from_bytes(obj[8:16], 'little')
    payload = obj[16:]
    if obj[5] == 1:
        payload = subprocess.run(['zstd', '-dc'], input=payload, capture_output=True,
                                 check=True).stdout
    assert len(payload) == size
    return payload


def chunk_object(plain, compress=False):
    """A stored chunk object for plain bytes (as nearup writes them)."""
    payload, comp = plain, 0
    if compress:
        payload = subprocess.run(['zstd', '-q', '-c', '--no-check'], input=plain,
                                 capture_output=True, check=True).stdout
        comp = 1
    return b'NUSC' + bytes([1, comp, 0, 0]) + len(plain).to_bytes(8, 'little') + payload


class DirServer:
    """A local HTTP server over a directory (GET and HEAD, single byte
    ranges), run in a thread; it records every request as (method, path),
    so tests can count what a restore fetched."""

    def __init__(self, root, handler=None):
        import http.server
        import threading
        self.root = str(root)
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self.serve(False)

            def do_GET(self):
                self.serve(True)

            def serve(self, body):
                with outer.lock:
                    outer.requests.append((self.command, self.path))
                if handler is not None and handler(outer, self, body):
                    return
                rel = urllib.parse.unquote(self.path.split('?')[0].lstrip('/'))
                outer.send_file(self, rel, body)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f'http://127.0.0.1:{self.port}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def send_file(self, h, rel, body):
        path = os.path.realpath(os.path.join(self.root, rel))
        if not path.startswith(os.path.realpath(self.root)) or not os.path.isfile(path):
            h.send_response(404)
            h.send_header('Content-Length', '0')
            h.end_headers()
            return
        with open(path, 'rb') as fh:
            data = fh.read()
        status, rng = 200, h.headers.get('Range')
        if rng and rng.startswith('bytes='):
            a, b = rng[6:].split('-')
            a, b = int(a), min(int(b) if b else len(data) - 1, len(data) - 1)
            h.send_response(206)
            h.send_header('Content-Range', f'bytes {a}-{b}/{len(data)}')
            data, status = data[a:b + 1], 206
        else:
            h.send_response(200)
        h.send_header('Content-Length', str(len(data)))
        h.end_headers()
        if body:
            h.wfile.write(data)

    def gets(self, prefix=''):
        with self.lock:
            return [p for m, p in self.requests if m == 'GET' and p.startswith(prefix)]

    def reset(self):
        with self.lock:
            self.requests.clear()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
