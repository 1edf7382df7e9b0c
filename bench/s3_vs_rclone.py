#!/usr/bin/python3
"""nearup snapshot to and from S3 against rclone, side by side, same data,
same s3rver, same machine; and the requests each snapshot operation makes.

Data: a neard-sim node run by `nearup run` (archival, --fast) whose genesis
lies in the past, so its first run syncs SIZE / 1 MiB blocks of
`sim.block_payload_bytes` = 1 MiB (ChaCha20 keystream: incompressible) into
its RocksDB; then the payload is set to 0 and the node restarted (the WAL
becomes an SST file), so the data hardly grows while the benchmark runs.

The store: s3rver (npm, tools/s3rver) on 127.0.0.1, bucket `snaps`, a fresh
directory for every upload. rclone uses its `:s3:` backend on the fly
(provider Other, path-style), no config file.

- upload, node stopped (`nearup stop`), so both read the same files:
  `nearup snapshot create --to s3://snaps/n` (hard-link checkpoint of a
  stopped node, then chunk, sha256, a lookup and a PUT per chunk; default
  --parallel 8, --compress zstd) against `rclone copy DATA :s3:snaps/r` at
  its default `--transfers 4` and at `--transfers 8` (nearup's). Rounds
  alternate the order.
- an untimed warm-up round comes first in both: on this VM the first
  writes into guest memory not touched before cost several times more in
  the kernel, and would fall on whichever tool runs first.
- upload, node running: `nearup snapshot create` as an operator runs it
  (stop, checkpoint, start, then the upload while the node runs): downtime
  and total.
- download: one s3rver holds a nearup snapshot and an rclone copy of the
  same data; `nearup snapshot restore` (every chunk's header, size and
  sha256 checked, every file fsynced, the swap) into an empty home against
  `rclone copy :s3:snaps/r DIR` (+ `sync -f DIR`, so both are timed until
  the data is on disk) at --transfers 4 and 8. Page cache warm for all.
- requests per operation on a fresh store: create (first, then incremental
  after the node ran on), list, verify, restore, prune.

CPU seconds: user + sys of the tool (resource.getrusage of the waited-for
child) and of s3rver (/proc/PID/stat) over each run. Requests: s3rver's
log of answered requests (bench/s3store.py).
"""
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
import s3store  # noqa: E402
from s3store import BUCKET, S3rver  # noqa: E402

MIB = 1 << 20
PAYLOAD = MIB
BLOCK_S = 0.12  # neard-sim init --fast


def run(cmd, env, timeout=3600):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f'{" ".join(map(str, cmd))}: {r.stderr.strip()[-800:]}')
    return r.stdout


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def measure(srv, fn):
    """(seconds, tool CPU s, s3rver CPU s, requests, result of fn)."""
    srv.mark()
    c0, s0, t0 = children_cpu(), srv.cpu(), time.monotonic()
    out = fn()
    secs = time.monotonic() - t0
    cpu, scpu = children_cpu() - c0, srv.cpu() - s0
    return {'secs': secs, 'cpu': cpu, 'srv_cpu': scpu, 'reqs': srv.requests(), 'out': out}


def du(path):
    total = files = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            p = os.path.join(dirpath, n)
            if n in ('LOCK', 'LOG') or n.startswith('LOG.old') or os.path.islink(p):
                continue
            total += os.lstat(p).st_size
            files += 1
    return total, files


class Node:
    """A neard-sim home run by nearup, with about `size` bytes of data."""

    def __init__(self, nearup, sim, tmp, size, chain='benchnet'):
        self.nearup, self.sim, self.tmp = nearup, sim, tmp
        self.env = s3store.clean_env()
        for var, sub in (('HOME', 'uhome'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config'),
                         ('XDG_DATA_HOME', 'xdata')):
            self.env[var] = os.path.join(tmp, sub)
            os.makedirs(self.env[var], exist_ok=True)
        self.home = os.path.join(tmp, 'home')
        self.data = os.path.join(self.home, 'data')
        self.blocks = max(1, size // (PAYLOAD + 64))
        self.chain = chain
        self.port = s3store.free_port()

    def nu(self, *args, env=None, timeout=3600):
        return run([self.nearup, *args], env or self.env, timeout)

    def set_config(self, payload):
        path = os.path.join(self.home, 'config.json')
        with open(path) as fh:
            cfg = json.load(fh)
        cfg['sim'] = {'block_payload_bytes': payload, 'sync_blocks_per_sec': 2000}
        cfg['archive'] = True
        with open(path, 'w') as fh:
            json.dump(cfg, fh, indent=2)

    def make(self, init_chain=None, run_args=()):
        """init_chain: neard-sim init for that chain id, then the genesis
        is renamed to self.chain (how a local testnet genesis is made);
        run_args: more for `nearup run`."""
        run([self.sim, '--home', self.home, 'init', '--chain-id', init_chain or self.chain,
             '--fast'], self.env)
        gpath = os.path.join(self.home, 'genesis.json')
        with open(gpath) as fh:
            g = json.load(fh)
        g['chain_id'] = self.chain
        t = (datetime.datetime.now(datetime.timezone.utc) -
             datetime.timedelta(seconds=self.blocks * BLOCK_S))
        g['genesis_time'] = t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
        with open(gpath, 'w') as fh:
            json.dump(g, fh, indent=2)
        self.set_config(PAYLOAD)
        self.nu('run', self.chain, '--home', self.home, '--binary-path', self.sim, '--restart',
                'no', '--rpc-addr', f'127.0.0.1:{self.port}', '--network-addr',
                f'127.0.0.1:{s3store.free_port()}', *run_args)
        self.wait_synced(self.blocks)
        self.set_config(0)  # from now on the data hardly grows
        self.nu('restart', '--home', self.home)

    def status(self):
        with urllib.request.urlopen(f'http://127.0.0.1:{self.port}/status', timeout=5) as r:
            return json.loads(r.read())

    def wait_synced(self, height, timeout=900):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                s = self.status()['sync_info']
                if not s['syncing'] and s['latest_block_height'] >= height:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError('the sim node did not sync its data')

    def twin(self, path):
        """A home of the same chain without data, for a restore."""
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(self.home, path, ignore=shutil.ignore_patterns(
            'data', '.nearup', '*.nearup-checkpoint', '*.log'))
        return path


class Bench:
    def __init__(self, node, tmp, rounds):
        self.node, self.tmp, self.rounds = node, tmp, rounds
        self.seq = 0

    def server(self, name):
        self.seq += 1
        return S3rver(os.path.join(self.tmp, f's3-{self.seq:02d}-{name}'))

    def create(self, srv, prefix, name, *extra):
        env = s3store.nearup_env(self.node.env, srv.url)
        out = self.node.nu('snapshot', 'create', '--home', self.node.home, '--to',
                           f's3://{BUCKET}/{prefix}', '--s3-endpoint', srv.url, '--name', name,
                           '--json', *extra, env=env)
        return json.loads(out)

    def rclone(self, srv, src, dst, transfers):
        env = s3store.rclone_env(self.node.env, srv.url)
        run(['rclone', 'copy', '--transfers', str(transfers), src, dst], env)

    def uploads(self):
        """Node stopped: [(method, [measurement per round])]."""
        methods = [('nearup', lambda srv, i: self.create(srv, 'n', f'up{i}')),
                   ('rclone4', lambda srv, i: self.rclone(srv, self.node.data,
                                                          f':s3:{BUCKET}/r', 4)),
                   ('rclone8', lambda srv, i: self.rclone(srv, self.node.data,
                                                          f':s3:{BUCKET}/r', 8))]
        res = {m: [] for m, _ in methods}
        for i in range(self.rounds + 1):  # round 0 warms up, untimed
            for name, fn in (methods if i % 2 == 1 else methods[::-1]):
                srv = self.server(f'up-{name}')
                try:
                    run(['sync'], self.node.env)
                    m = measure(srv, lambda: fn(srv, i))
                    if i > 0:
                        res[name].append(m)
                finally:
                    srv.remove()
        return res

    def running_creates(self):
        self.node.nu('restart', '--home', self.node.home)
        self.node.wait_synced(0)
        out = []
        for i in range(self.rounds):
            srv = self.server('up-running')
            try:
                run(['sync'], self.node.env)
                out.append(measure(srv, lambda: self.create(srv, 'n', f'live{i}')))
            finally:
                srv.remove()
        self.node.nu('stop', '--home', self.node.home)
        return out

    def restores(self):
        srv = self.server('restore')
        try:
            self.total, _ = du(self.node.data)  # the node ran since the uploads
            self.create(srv, 'n', 'snap')
            self.rclone(srv, self.node.data, f':s3:{BUCKET}/r', 8)
            target = os.path.join(self.tmp, 'rclone-dst')
            twin = os.path.join(self.tmp, 'twin')
            env = s3store.nearup_env(self.node.env, srv.url)

            def nearup_restore():
                return json.loads(self.node.nu(
                    'snapshot', 'restore', '--from', f's3://{BUCKET}/n', '--home', twin,
                    '--s3-endpoint', srv.url, '--json', env=env))

            def rclone_restore(n):
                self.rclone(srv, f':s3:{BUCKET}/r', target, n)
                run(['sync', '-f', target], self.node.env)

            methods = [('nearup', nearup_restore), ('rclone4', lambda: rclone_restore(4)),
                       ('rclone8', lambda: rclone_restore(8))]
            res = {m: [] for m, _ in methods}
            for i in range(self.rounds + 1):  # round 0 warms up, untimed
                for name, fn in (methods if i % 2 == 1 else methods[::-1]):
                    shutil.rmtree(target, ignore_errors=True)
                    self.node.twin(twin)
                    run(['sync'], self.node.env)
                    m = measure(srv, fn)
                    m['bytes'], _ = du(os.path.join(twin, 'data') if name == 'nearup' else target)
                    if i > 0:
                        res[name].append(m)
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(twin, ignore_errors=True)
            return res
        finally:
            srv.remove()

    def operations(self):
        """Requests of each snapshot operation on one fresh store."""
        srv = self.server('ops')
        node = self.node
        env = s3store.nearup_env(node.env, srv.url)
        store = ['--from', f's3://{BUCKET}/n', '--s3-endpoint', srv.url, '--json']
        rows = []
        try:
            node.nu('restart', '--home', node.home)
            node.wait_synced(0)
            m = measure(srv, lambda: self.create(srv, 'n', 'one'))
            rows.append(('create (first)', m))
            node.set_config(PAYLOAD)  # the node grows by 1 MiB a block again
            node.nu('restart', '--home', node.home)
            h = node.status()['sync_info']['latest_block_height']
            node.wait_synced(h + 40)
            node.set_config(0)
            m = measure(srv, lambda: self.create(srv, 'n', 'two'))
            rows.append(('create (incremental)', m))
            node.nu('stop', '--home', node.home)
            for label, args in (('list', ['list']), ('verify (whole store)', ['verify'])):
                rows.append((label, measure(srv, lambda: json.loads(
                    node.nu('snapshot', *args, *store, env=env)))))
            twin = node.twin(os.path.join(self.tmp, 'twin-ops'))
            rows.append(('restore (latest)', measure(srv, lambda: json.loads(node.nu(
                'snapshot', 'restore', '--home', twin, *store, env=env)))))
            shutil.rmtree(twin, ignore_errors=True)
            rows.append(('prune --keep 1 --grace 0', measure(srv, lambda: json.loads(node.nu(
                'snapshot', 'prune', '--keep', '1', '--grace', '0', *store, env=env)))))
        finally:
            srv.remove()
        return rows


def med(xs):
    return statistics.median(xs)


def spread(xs, fmt='{:.2f}'):
    return f'{fmt.format(min(xs))}–{fmt.format(max(xs))}'


def req_text(reqs):
    c = s3store.by_method(reqs)
    return ', '.join(f'{k} {c[k]}' for k in ('GET', 'HEAD', 'PUT', 'POST', 'DELETE') if c[k])


LABELS = {
    'nearup': '`nearup snapshot {op}` (--parallel 8)',
    'rclone4': '`rclone copy` (default --transfers 4)',
    'rclone8': '`rclone copy --transfers 8`',
}


def table(res, total, op):
    lines = ['| method | median s (min–max) | MiB/s | CPU s tool (user+sys) | CPU s s3rver | '
             'requests (one run) | nearup speed / this |',
             '|---|---:|---:|---:|---:|---|---:|']
    ours = med([m['secs'] for m in res['nearup']])
    for name, ms in res.items():
        secs = [m['secs'] for m in ms]
        lines.append(
            f"| {LABELS[name].format(op=op)} | {med(secs):.2f} ({spread(secs)}) | "
            f"{total / med(secs) / MIB:.0f} | {med([m['cpu'] for m in ms]):.2f} | "
            f"{med([m['srv_cpu'] for m in ms]):.2f} | {req_text(ms[0]['reqs'])} | "
            f"{med(secs) / ours:.2f}× |")
    return lines


def section(args, total, files, up, live, down, down_total, ops):
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    sys.path.insert(0, os.path.join(ROOT, 'bench'))
    import run as benchrun
    up_ratio = med([m['secs'] for m in up['rclone8']]) / med([m['secs'] for m in up['nearup']])
    dn_ratio = (med([m['secs'] for m in down['rclone8']]) /
                med([m['secs'] for m in down['nearup']]))
    lines = [
        f'### nearup snapshot vs rclone on S3 (s3rver) ({now})', '',
        f'Machine: {benchrun.machine()} (shared with other engineers compiling: noise). Release '
        f'build; `bench/s3_vs_rclone.py --rounds {args.rounds} --gib {args.gib}` (method in its '
        f'docstring), nearup {args.nearup}, rclone {rclone_version()}, s3rver 3.7.1 on node '
        f'{node_version()}. Data: a neard-sim node, {total / (1 << 30):.2f} GiB in {files} files '
        '(RocksDB SST files of incompressible block payloads); every upload into an empty '
        'store of a fresh s3rver; rounds alternate the order, after an untimed warm-up round '
        '(the first writes into memory the VM had not touched cost up to 10× in the kernel: '
        'a `dd` of 1 GiB took 2.7 s of sys the first time, 0.2 s after); page cache warm.', '',
        'Checksums: nearup hashes every 4 MiB chunk (sha256, the key), and the body of every '
        'signed request once more for SigV4 (`x-amz-content-sha256`); on restore it checks '
        'each chunk\'s header, size and sha256 before writing and fsyncs every file. rclone '
        'uploads with `Content-MD5` (the MD5 of each file, computed before the PUT) and '
        '`x-amz-content-sha256: UNSIGNED-PAYLOAD`, then HEADs each object to compare; on '
        'download it compares the MD5 of what it received with the ETag (its default; no '
        '`--checksum`). rclone does not fsync: its restore time includes `sync -f DIR`.', '',
        f'Upload, node stopped (create = hard-link checkpoint + upload), {args.rounds} rounds:',
        '']
    lines += table(up, total, 'create')
    lm = live
    lines += [
        '', f'`nearup snapshot create` of the running node (stop, checkpoint, start, upload), '
        f'{args.rounds} rounds: total {med([m["secs"] for m in lm]):.2f} s '
        f'({spread([m["secs"] for m in lm])}), node down '
        f'{med([m["out"]["downtime_ms"] for m in lm]) / 1000:.2f} s (stop '
        f'{med([m["out"]["stop_ms"] for m in lm]):.0f} ms, checkpoint '
        f'{med([m["out"]["checkpoint_ms"] for m in lm]):.0f} ms, start '
        f'{med([m["out"]["start_ms"] for m in lm]):.0f} ms); CPU s of the create '
        f'{med([m["cpu"] for m in lm]):.2f}, of s3rver {med([m["srv_cpu"] for m in lm]):.2f}.',
        '', f'Download into an empty dir until the data is on disk, {args.rounds} rounds:', '']
    lines += table(down, down_total, 'restore')
    lines += ['', f'Ratios at equal parallelism (8): upload {up_ratio:.2f}×, download '
              f'{dn_ratio:.2f}× (rclone\'s time / nearup\'s; above 1 nearup is faster).', '',
              'Requests to the store per operation (same data; the node ran on for 40 blocks of '
              '1 MiB between the two creates), from s3rver\'s log:', '',
              '| operation | seconds | requests | by kind (method, object, status) |',
              '|---|---:|---:|---|']
    for label, m in ops:
        kinds = s3store.count(m['reqs'])
        text = ', '.join(f'{k} × {v}' for k, v in sorted(kinds.items()))
        extra = ''
        o = m['out']
        if label.startswith('create'):
            extra = f" ({o['chunks_uploaded']} of {o['chunks']} chunks uploaded)"
        lines.append(f'| {label}{extra} | {m["secs"]:.2f} | {len(m["reqs"])} | {text} |')
    return '\n'.join(lines) + '\n'


def rclone_version():
    out = subprocess.run(['rclone', 'version'], capture_output=True, text=True).stdout
    return out.split('\n', 1)[0].split()[-1] if out else 'unknown'


def node_version():
    return subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()


def run_all(args):
    df = shutil.disk_usage(tempfile.gettempdir())
    if df.free < int(args.gib * 8) << 30:
        raise RuntimeError(f'{tempfile.gettempdir()} has {df.free >> 30} GiB free; '
                           f'need {args.gib * 8:.0f}')
    tmp = tempfile.mkdtemp(prefix='nearup-bench-s3-')
    node = Node(args.nearup, args.sim, tmp, int(args.gib * (1 << 30)))
    try:
        node.make()
        node.nu('stop', '--home', node.home)
        total, files = du(node.data)
        b = Bench(node, tmp, args.rounds)
        up = b.uploads()
        live = b.running_creates()
        down = b.restores()
        for name, ms in down.items():
            for m in ms:
                if m['bytes'] != b.total:
                    raise RuntimeError(f'{name} restored {m["bytes"]} bytes, not {b.total}')
        ops = b.operations()
        return section(args, total, files, up, live, down, b.total, ops)
    finally:
        try:
            node.nu('stop', '--home', node.home)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--gib', type=float, default=1.0)
    ap.add_argument('--keep', action='store_true', help='leave the temp dir')
    args = ap.parse_args()
    args.nearup, args.sim = os.path.realpath(args.nearup), os.path.realpath(args.sim)
    print(run_all(args))


if __name__ == '__main__':
    main()
