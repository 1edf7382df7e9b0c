#!/usr/bin/python3
"""How long a new node takes to join: from `nearup run testnet
--from-snapshot STORE` on an empty machine (no home, empty binary cache)
until its health sidecar answers /healthcheck 200.

Set-up, untimed: a local release bucket (tests/integration/bucket.py) whose
testnet release is a 96 MiB neard (a shell script that execs neard-sim,
padded to a real neard's size) with its neard.sha256, and whose testnet
genesis is the one of a source node: a neard-sim home (archival, --fast)
whose genesis lies in the past, so it synced SIZE / 1 MiB blocks of
1 MiB incompressible payload. The source node is stopped and snapshotted
into two stores: a directory and an S3 prefix on s3rver (127.0.0.1).

Each round, for each store (alternating order): a fresh home and binary
cache; `nearup health --node RPC --listen ADDR` (its defaults: a check a
second, 2 OK in a row to rise) is started, then `nearup run testnet
--release-url BUCKET --from-snapshot STORE`, while a poller asks the
node's /status and the sidecar's /healthcheck every 10 ms. Moments, all
on the wall clock:

- binary: the cache's verified stamp of the downloaded neard (written
  after its sha256 matched neard.sha256);
- restore start: birth time of the data dir (created as the restore's
  staging dir, then renamed into place);
- restored: `nearup run` prints "restored snapshot ..." (line-buffered
  through stdbuf), after every file is fsynced and swapped in;
- spawned: mtime of the supervisor's neard.pid;
- first /status: the poller's first 200;
- healthy: the sidecar's first /healthcheck 200.
"""
import datetime
import json
import lzma
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import s3store  # noqa: E402
from s3_vs_rclone import Node, du, run  # noqa: E402
from s3store import BUCKET, S3rver  # noqa: E402

MIB = 1 << 20
BINARY = 96 * MIB
VERSION = '2.5.0'
POLL_S = 0.01


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


class Poller(threading.Thread):
    """Wall-clock moment of the first 200 from each URL."""

    def __init__(self, urls):
        super().__init__(daemon=True)
        self.urls, self.first, self.stop = urls, {}, threading.Event()

    def run(self):
        while not self.stop.is_set() and len(self.first) < len(self.urls):
            for name, url in self.urls.items():
                if name not in self.first and http_ok(url):
                    self.first[name] = time.time()
            time.sleep(POLL_S)


def btime(path):
    out = subprocess.run(['stat', '-c', '%.9W', path], capture_output=True, text=True,
                         check=True).stdout
    return float(out)


class Join:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.src = Node(args.nearup, args.sim, os.path.join(tmp, 'src'),
                        int(args.mib * (1 << 20)), chain='testnet')
        os.makedirs(self.src.tmp, exist_ok=True)

    def setup(self):
        from bucket import Bucket
        self.bucket = Bucket(self.args.sim, testnet=False)
        self.bucket.add_testnet(rpc_port=s3store.free_port(), net_port=s3store.free_port())
        self.src.make(init_chain='testnet-src', run_args=['--release-url', self.bucket.url])
        self.src.nu('stop', '--home', self.src.home)
        self.bytes, self.files = du(self.src.data)
        with open(os.path.join(self.src.home, 'genesis.json')) as fh:
            genesis = fh.read()
        base = 'nearcore-deploy/testnet'
        self.bucket.put(f'{base}/genesis.json', genesis)
        self.bucket.put(f'{base}/genesis.json.xz', lzma.compress(genesis.encode(),
                                                                 format=lzma.FORMAT_XZ))
        cfg = json.loads(self.bucket.get(f'{base}/rpc/config.json'))
        cfg['archive'] = True
        cfg['sim'] = {'block_payload_bytes': 0, 'sync_blocks_per_sec': 2000}
        for p in (f'{base}/config.json', f'{base}/rpc/config.json'):
            self.bucket.put(p, json.dumps(cfg, indent=2))
        self.rpc_port = self.bucket.testnet_rpc_port
        self.rel = self.bucket.add_release('testnet', VERSION, pad=BINARY)
        self.s3 = S3rver(os.path.join(self.tmp, 's3'))
        self.stores = {}
        self.dir_store = os.path.join(self.tmp, 'store')
        d = json.loads(self.src.nu('snapshot', 'create', '--home', self.src.home, '--to',
                                   self.dir_store, '--name', 'snap', '--json'))
        self.snap = d
        env = s3store.nearup_env(self.src.env, self.s3.url)
        self.src.nu('snapshot', 'create', '--home', self.src.home, '--to',
                    f's3://{BUCKET}/join', '--name', 'snap', '--json', env=env)
        self.stores = {'dir': self.dir_store, 's3': f's3://{BUCKET}/join'}

    def env(self, root):
        env = s3store.clean_env()
        for var in ('HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME', 'XDG_CONFIG_HOME',
                    'XDG_DATA_HOME'):
            env[var] = os.path.join(root, var.lower())
            os.makedirs(env[var])
        return env

    def one(self, kind, i):
        root = os.path.join(self.tmp, f'join-{kind}-{i}')
        env = self.env(root)
        if kind == 's3':
            env = s3store.nearup_env(env, self.s3.url)
        home = os.path.join(root, 'node')
        hport = s3store.free_port()
        health = subprocess.Popen([self.args.nearup, 'health', '--node',
                                   f'http://127.0.0.1:{self.rpc_port}', '--listen',
                                   f'127.0.0.1:{hport}'], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        while not http_ok(f'http://127.0.0.1:{hport}/metrics'):
            time.sleep(0.01)
        poll = Poller({'status': f'http://127.0.0.1:{self.rpc_port}/status',
                       'health': f'http://127.0.0.1:{hport}/healthcheck'})
        self.bucket.clear_requests()
        self.s3.mark()
        s0 = self.s3.cpu()
        lines = []
        t0 = time.time()
        poll.start()
        proc = subprocess.Popen(['stdbuf', '-oL', self.args.nearup, 'run', 'testnet', '--home',
                                 home, '--release-url', self.bucket.url, '--restart', 'no',
                                 '--from-snapshot', self.stores[kind]], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stdout:
            lines.append((time.time(), line.rstrip('\n')))
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise RuntimeError(f'nearup run: {err.strip()}')
        t_ret = time.time()
        poll.join(120)
        poll.stop.set()
        try:
            if 'health' not in poll.first:
                raise RuntimeError(f'no /healthcheck 200 ({kind} round {i})')
            restored = next(t for t, text in lines if 'restored snapshot' in text)
            cache = env['XDG_CACHE_HOME']
            r = {
                'binary': os.stat(os.path.join(cache, 'nearup', 'verified',
                                               self.rel['sha256'])).st_mtime - t0,
                'restore_start': btime(os.path.join(home, 'data')) - t0,
                'restored': restored - t0,
                'spawned': os.stat(os.path.join(home, '.nearup', 'neard.pid')).st_mtime - t0,
                'status': poll.first['status'] - t0,
                'returned': t_ret - t0,
                'healthy': poll.first['health'] - t0,
                'bucket_reqs': len(self.bucket.requests()),
                's3_cpu': self.s3.cpu() - s0,
                's3_reqs': len(self.s3.requests()),
            }
        finally:
            run([self.args.nearup, 'stop', '--home', home], env)
            health.terminate()
            health.wait(10)
            shutil.rmtree(root, ignore_errors=True)
        return r

    def rounds(self):
        res = {'dir': [], 's3': []}
        for i in range(self.args.rounds):
            for kind in (('dir', 's3') if i % 2 == 0 else ('s3', 'dir')):
                res[kind].append(self.one(kind, i))
        return res

    def close(self):
        for stop in (lambda: self.bucket.close(), lambda: self.s3.remove()):
            try:
                stop()
            except (AttributeError, OSError):
                pass


def section(args, j, res):
    sys.path.insert(0, os.path.join(ROOT, 'bench'))
    import run as benchrun
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    med = statistics.median

    def seg(rs, a, b):
        xs = [r[b] - (r[a] if a else 0) for r in rs]
        return f'{med(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})'

    lines = [
        f'### A new node joins from a snapshot ({now})', '',
        f'Machine: {benchrun.machine()} (shared with other engineers compiling: noise). Release '
        f'build; `bench/join.py --rounds {args.rounds} --mib {args.mib:.0f}` (method in its '
        f'docstring). Snapshot: {j.bytes / (1 << 20):.0f} MiB in {j.files} files, '
        f"{j.snap['chunks']} chunks; neard: {BINARY >> 20} MiB from the local release bucket; "
        'stores: a directory and s3rver on 127.0.0.1, both on the same file system; page '
        'cache warm. Seconds from `nearup run` started, median (min–max) of the rounds; '
        'each step starts where the one before it ends.', '',
        '| store | binary download + sha256 | home (genesis, config, neard init) | restore '
        '(download, verify, fsync, swap) | supervisor + neard spawned | neard to first '
        '/status | to /healthcheck 200 (rise: 2 checks, 1 s apart) | total |',
        '|---|---:|---:|---:|---:|---:|---:|---:|']
    for kind, rs in res.items():
        lines.append(
            f"| {kind} | {seg(rs, None, 'binary')} | {seg(rs, 'binary', 'restore_start')} | "
            f"{seg(rs, 'restore_start', 'restored')} | {seg(rs, 'restored', 'spawned')} | "
            f"{seg(rs, 'spawned', 'status')} | {seg(rs, 'status', 'healthy')} | "
            f"{seg(rs, None, 'healthy')} |")
    rs = res['s3']
    lines += ['', f"Requests to the release bucket per join: {res['dir'][0]['bucket_reqs']}; "
              f"restore rate from s3rver: "
              f"{j.bytes / med([r['restored'] - r['restore_start'] for r in rs]) / MIB:.0f}"
              f" MiB/s (s3rver CPU {med([r['s3_cpu'] for r in rs]):.2f} s and "
              f"{rs[0]['s3_reqs']} requests per join); from the directory: "
              f"{j.bytes / med([r['restored'] - r['restore_start'] for r in res['dir']]) / MIB:.0f}"
              ' MiB/s.', '']
    return '\n'.join(lines)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--mib', type=float, default=500)
    args = ap.parse_args()
    args.nearup, args.sim = os.path.realpath(args.nearup), os.path.realpath(args.sim)
    print(run_all(args))


def run_all(args):
    """Returns the markdown section."""
    tmp = tempfile.mkdtemp(prefix='nearup-bench-join-')
    j = Join(args, tmp)
    try:
        j.setup()
        return section(args, j, j.rounds())
    finally:
        try:
            j.src.nu('stop', '--home', j.src.home)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        j.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
