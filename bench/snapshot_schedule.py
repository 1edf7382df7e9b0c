#!/usr/bin/python3
"""The snapshotter's schedule, measured: what one run of the service that
`nearup service install NETWORK --snapshot-to STORE --every 6h --keep 2`
writes costs, and what the second and third cost.

Data: a neard-sim node under `nearup run` (archival, `--fast` 120 ms
blocks) whose genesis lies GENESIS_AGE_S in the past with
sim.block_payload_bytes = PAYLOAD, so its first start syncs a few hundred
MB of blocks into its RocksDB (reported as the data size). The units are
installed into a temporary NEARUP_SYSTEMD_DIR; the service's ExecStart=
lines are read back from the unit file and run in order, as systemd runs a
Type=oneshot (the first failure would end the run), into a directory store
on the same file system, with the metrics textfile written beside it.

Measured per run: the whole run, `snapshot create` and `snapshot prune`
(wall clock around each command), the node's downtime as a client sees
it (GET /status polled every POLL_S from another thread; the window from
the first failed or refused request to the first answer after it) and as
create reports it (its log line: stop + checkpoint + start), the bytes
uploaded (the run's log line; the store's growth is the check) and the
data that changed since the previous run (bytes of the files whose chunks
differ, from the manifests). After its first sync the node is restarted
(its WAL becomes an SST file) and runs SETTLE_S before the first run;
between runs it keeps running for BETWEEN_S, as it would between two
scheduled runs, only shorter, adding blocks while RocksDB compacts.
"""
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAYLOAD = 256 << 10     # bytes of payload per block
GENESIS_AGE_S = 150     # 150 s / 0.12 s = 1250 blocks to sync at the first start
BETWEEN_S = 20          # the node runs on between two runs
SETTLE_S = 10           # after the first sync and a restart, before the first run
RUNS = 3
POLL_S = 0.005
MIB = 1 << 20


def run(cmd, env=None, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, **kw)
    if r.returncode != 0:
        raise RuntimeError(f'{" ".join(map(str, cmd))}: {r.stderr.strip()[-500:]}')
    return r


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def du(path):
    total = 0
    for dirpath, _, names in os.walk(path):
        total += sum(os.lstat(os.path.join(dirpath, n)).st_size for n in names)
    return total


def stored(store):
    return du(os.path.join(store, 'chunks'))


class Poller:
    """GET /status every POLL_S in a thread; windows without an answer."""

    def __init__(self, port):
        self.url = f'http://127.0.0.1:{port}/status'
        self.stop = threading.Event()
        self.windows = []
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def up(self):
        try:
            with urllib.request.urlopen(self.url, timeout=0.5) as resp:
                return resp.status == 200
        except OSError:
            return False

    def loop(self):
        down_since = None
        while not self.stop.is_set():
            t = time.monotonic()
            ok = self.up()
            if not ok and down_since is None:
                down_since = t
            elif ok and down_since is not None:
                self.windows.append(time.monotonic() - down_since)
                down_since = None
            time.sleep(POLL_S)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def exec_lines(unit):
    cmds = []
    for ln in unit.splitlines():
        if ln.startswith('ExecStart='):
            cmds.append([w.replace('$$', '$').replace('%%', '%')
                         for w in shlex.split(ln[len('ExecStart='):])])
    return cmds


def logfmt(line):
    return dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line))


class Bench:
    def __init__(self, nearup, sim, tmp):
        self.nearup, self.sim, self.tmp = nearup, sim, tmp
        self.env = {k: v for k, v in os.environ.items() if k != 'NOTIFY_SOCKET'}
        for var, sub in (('HOME', 'uhome'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config')):
            self.env[var] = os.path.join(tmp, sub)
            os.makedirs(self.env[var], exist_ok=True)
        self.env['NEARUP_SYSTEMD_DIR'] = os.path.join(tmp, 'units')
        self.home = os.path.join(tmp, 'home')
        self.store = os.path.join(tmp, 'store')
        self.metrics = os.path.join(tmp, 'prom')
        os.makedirs(self.metrics)

    def nu(self, *args):
        return run([self.nearup, *args], env=self.env, timeout=3600).stdout

    def start_node(self):
        run([self.sim, '--home', self.home, 'init', '--chain-id', 'benchnet', '--fast'])
        gpath = os.path.join(self.home, 'genesis.json')
        g = json.load(open(gpath))
        t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            seconds=GENESIS_AGE_S)
        g['genesis_time'] = t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
        json.dump(g, open(gpath, 'w'), indent=2)
        cpath = os.path.join(self.home, 'config.json')
        cfg = json.load(open(cpath))
        cfg['sim'] = {'block_payload_bytes': PAYLOAD, 'sync_blocks_per_sec': 2000}
        cfg['archive'] = True
        json.dump(cfg, open(cpath, 'w'))
        self.port = free_port()
        self.nu('run', 'benchnet', '--home', self.home, '--binary-path', self.sim, '--restart',
                'no', '--rpc-addr', f'127.0.0.1:{self.port}', '--network-addr',
                f'127.0.0.1:{free_port()}')
        want = int(GENESIS_AGE_S / 0.12) - 5
        deadline = time.monotonic() + 600
        while self.head() < want:
            if time.monotonic() > deadline:
                raise RuntimeError(f'the node did not reach height {want}')
            time.sleep(0.5)
        self.nu('restart', '--home', self.home)  # the WAL becomes an SST file
        time.sleep(SETTLE_S)

    def head(self):
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{self.port}/status', timeout=2) as r:
                return json.loads(r.read())['sync_info']['latest_block_height']
        except OSError:
            return -1

    def install(self):
        self.nu('service', 'install', 'benchnet', '--home', self.home, '--snapshot-to',
                self.store, '--every', '6h', '--keep', '2', '--metrics-textfile-dir',
                self.metrics)
        path = os.path.join(self.env['NEARUP_SYSTEMD_DIR'], 'nearup-snapshot-benchnet.service')
        return exec_lines(open(path).read())

    def run_service(self, cmds):
        """One run, as systemd runs the oneshot; returns the row."""
        row = {'stored_before': stored(self.store) if os.path.isdir(self.store) else 0}
        with Poller(self.port) as poll:
            t0 = time.monotonic()
            for argv in cmds:
                t = time.monotonic()
                r = subprocess.run(argv, capture_output=True, text=True, env=self.env,
                                   timeout=3600)
                step = argv[2]  # create, prune
                row[step + '_s'] = time.monotonic() - t
                if r.returncode != 0:
                    raise RuntimeError(f'{step}: {r.stderr.strip()[-500:]}')
                row[step] = logfmt(r.stderr.splitlines()[-1])
            row['total_s'] = time.monotonic() - t0
            time.sleep(0.2)  # the poller sees the node answer again
        row['outside_down_s'] = sum(poll.windows)
        row['outside_windows'] = len(poll.windows)
        row['stored_after'] = stored(self.store)
        return row


def changed_bytes(store, before, after):
    """Bytes of the files of snapshot `after` that are new or differ from
    `before` (None: all of them)."""
    def files(name):
        m = json.load(open(os.path.join(store, 'manifests', name + '.json')))
        return {(f['dir'], f['path']): (f['size'], [c['sha256'] for c in f['chunks']])
                for f in m['files']}
    b = files(before) if before else {}
    return sum(size for k, (size, chunks) in files(after).items()
               if b.get(k, (0, None))[1] != chunks)


def machine():
    sys.path.insert(0, os.path.join(ROOT, 'bench'))
    import run as benchrun
    return benchrun.machine()


def run_all(nearup, sim):
    tmp = tempfile.mkdtemp(prefix='nearup-bench-sched-')
    b = Bench(nearup, sim, tmp)
    rows = []
    try:
        b.start_node()
        cmds = b.install()
        data = du(os.path.join(b.home, 'data'))
        prev = None
        for i in range(RUNS):
            if i:
                time.sleep(BETWEEN_S)
            row = b.run_service(cmds)
            row['data'] = du(os.path.join(b.home, 'data'))
            name = row['create']['snapshot']
            row['changed'] = changed_bytes(b.store, prev, name)
            prev = name
            rows.append(row)
        prom = open(os.path.join(b.metrics, os.listdir(b.metrics)[0])).read()
        b.nu('stop', '--home', b.home)
    finally:
        try:
            b.nu('stop', '--home', b.home)
        except RuntimeError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return section(data, cmds, rows, prom)


def fstype():
    out = subprocess.run(['df', '--output=fstype', tempfile.gettempdir()], capture_output=True,
                         text=True).stdout.split()
    return out[-1] if out else 'unknown'


def section(data, cmds, rows, prom):
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    first_up = int(rows[0]['create']['bytes_uploaded'])
    lines = [
        f'### Scheduled snapshots: one run of the snapshotter, three times ({now})', '',
        f'Machine: {machine()}. Release build; `bench/snapshot_schedule.py` (method in its '
        f'docstring): a neard-sim node under `nearup run` with {data / MIB:.0f} MiB of '
        f'RocksDB data ({PAYLOAD >> 10} KiB blocks), the units of `nearup service install '
        f'benchnet --snapshot-to STORE --every 6h --keep 2`, their ExecStart= lines run as '
        f'systemd runs a oneshot, {BETWEEN_S} s of node time between runs; a directory store '
        f'on the same {fstype()} file system ({tempfile.gettempdir()}), page cache warm.', '',
        '| run | whole run | create | prune | node down, seen from outside | node down, '
        'create says | data | changed since the last run | uploaded | uploaded / changed | '
        'uploaded / first run |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for i, r in enumerate(rows, 1):
        up = int(r['create']['bytes_uploaded'])
        assert up == r['stored_after'] - r['stored_before'], (up, r)
        lines.append(
            f"| {i} | {r['total_s']:.2f} s | {r['create_s']:.2f} s | {r['prune_s']:.2f} s | "
            f"{r['outside_down_s'] * 1000:.0f} ms ({r['outside_windows']} window"
            f"{'s' if r['outside_windows'] != 1 else ''}) | "
            f"{float(r['create']['downtime_s']) * 1000:.0f} ms | {r['data'] / MIB:.1f} MiB | "
            f"{r['changed'] / MIB:.1f} MiB | {up / MIB:.1f} MiB | {up / r['changed']:.3f} | "
            f"{up / first_up:.3f} |")
    kept = re.search(r'nearup_snapshot_prune_last_kept_snapshots\{[^}]*\} (\S+)', prom).group(1)
    lines += [
        '', f'After the third run the store holds {kept} snapshots (`--keep 2`); prune deleted '
        'no chunk (all younger than `--grace`, 1 h). "Node down, seen from outside" is the '
        f'time GET /status went unanswered, polled every {POLL_S * 1000:.0f} ms, so it '
        'includes up to one poll interval and the HTTP round trip; "create says" is stop + '
        'checkpoint + start until neard answers /status. Uploaded bytes equal the growth of '
        'the store each time (checked). What changes between runs is new blocks and the SST '
        'files RocksDB rewrites when it compacts; unchanged SST files are never uploaded '
        'again.', '']
    return '\n'.join(lines)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    args = ap.parse_args()
    print(run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim)))


if __name__ == '__main__':
    main()
