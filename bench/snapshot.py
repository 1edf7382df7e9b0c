#!/usr/bin/python3
"""nearup snapshot against the tools operators use, side by side in one run.

Data: a neard-sim node run by `nearup run` (its own RocksDB in data/), plus
generated RocksDB-like files under data/gen/: GEN_SMALL files of 256 KiB to
1 MiB and GEN_BIG files of 8 to 12 MiB, named *.sst and filled with random
bytes (RocksDB compresses its blocks, so real SST files hardly compress).
RocksDB leaves a subdirectory of its data dir alone, so neard-sim runs on
top of them; together they are > 2 GB in > 2000 files.

- create: `nearup snapshot create` (node stopped, hard-link checkpoint,
  restarted, uploaded while it runs) against stopping the node for
  `tar -cf - data | zstd -T0`, then starting it. Downtime and total time.
- restore from a local store: `nearup snapshot restore` (every chunk
  verified, every file fsynced) against `cp -a` (the limit), `rclone copy`
  and `zstd -d | tar -x` of the archive. Each run starts after `sync` and is
  timed until its data is on disk (`sync -f` after the copying tools; nearup
  fsyncs itself). Page cache warm for all of them (the data was just written).
- incremental: new SST files and a grown WAL after the first snapshot;
  bytes the second create uploaded against the bytes that changed.
"""
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN_SMALL, GEN_BIG = 1900, 110
MIB = 1 << 20


def run(cmd, env=None, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, **kw)
    if r.returncode != 0:
        raise RuntimeError(f'{" ".join(map(str, cmd))}: {r.stderr.strip()[-500:]}')
    return r.stdout


def timed(fn):
    t = time.monotonic()
    out = fn()
    return time.monotonic() - t, out


def du(path):
    total = files = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            total += os.lstat(os.path.join(dirpath, n)).st_size
            files += 1
    return total, files


def generate(gen, seed=5):
    rnd = random.Random(seed)
    os.makedirs(gen)
    sizes = [rnd.randint(256 << 10, 1 << 20) for _ in range(GEN_SMALL)]
    sizes += [rnd.randint(8 << 20, 12 << 20) for _ in range(GEN_BIG)]
    for i, size in enumerate(sizes):
        with open(os.path.join(gen, f'{100000 + i:06d}.sst'), 'wb') as fh:
            fh.write(os.urandom(size))
    return sum(sizes)


class Bench:
    def __init__(self, nearup, sim, tmp, parallel):
        self.nearup, self.sim, self.tmp, self.parallel = nearup, sim, tmp, parallel
        self.env = {k: v for k, v in os.environ.items() if k != 'NOTIFY_SOCKET'}
        for var, sub in (('HOME', 'uhome'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config')):
            self.env[var] = os.path.join(tmp, sub)
            os.makedirs(self.env[var], exist_ok=True)
        self.home = os.path.join(tmp, 'home')
        self.data = os.path.join(self.home, 'data')

    def nu(self, *args):
        return run([self.nearup, *args], env=self.env, timeout=3600)

    def snap(self, *args):
        return json.loads(self.nu('snapshot', *args, '--json'))

    def start_node(self):
        run([self.sim, '--home', self.home, 'init', '--chain-id', 'benchnet', '--fast'])
        cfg_path = os.path.join(self.home, 'config.json')
        cfg = json.load(open(cfg_path))
        cfg['sim'] = {'block_payload_bytes': 16384, 'sync_blocks_per_sec': 2000}
        cfg['archive'] = True
        json.dump(cfg, open(cfg_path, 'w'))
        port = free_port()
        self.nu('run', 'benchnet', '--home', self.home, '--binary-path', self.sim, '--restart',
                'no', '--rpc-addr', f'127.0.0.1:{port}', '--network-addr',
                f'127.0.0.1:{free_port()}')
        self.nu('restart', '--home', self.home)  # the WAL becomes an SST file

    def create(self, store, name):
        return self.snap('create', '--home', self.home, '--to', store, '--name', name,
                         '--parallel', str(self.parallel))

    def tar_zstd(self, archive):
        """Stop the node, archive data/ with tar | zstd -T0, start it again."""
        t0 = time.monotonic()
        self.nu('stop', '--home', self.home)
        t1 = time.monotonic()
        tar = subprocess.Popen(['tar', '-cf', '-', '-C', self.home, 'data'],
                               stdout=subprocess.PIPE)
        with open(archive, 'wb') as out:
            subprocess.run(['zstd', '-T0', '-q', '-c'], stdin=tar.stdout, stdout=out, check=True)
        tar.wait()
        t2 = time.monotonic()
        self.nu('restart', '--home', self.home)
        t3 = time.monotonic()
        return {'downtime_s': t3 - t0, 'archive_s': t2 - t1, 'bytes': os.path.getsize(archive)}

    def restores(self, store, archive, total):
        rows = []
        target = os.path.join(self.tmp, 'restore')

        def fresh():
            shutil.rmtree(target, ignore_errors=True)
            run(['sync'])

        def flush():
            run(['sync', '-f', target])

        methods = [
            ('`cp -a` (the limit)', lambda: (run(['cp', '-a', self.data, target]), flush())),
            ('`rclone copy --transfers 8`', lambda: (
                run(['rclone', 'copy', '--transfers', '8', '--checkers', '8', self.data,
                     target]), flush())),
            ('`zstd -d \\| tar -x`', lambda: (
                os.makedirs(target), run(['sh', '-c', f'zstd -dc "{archive}" | tar -x -C '
                                         f'"{target}"']), flush())),
        ]
        for name, fn in methods:
            fresh()
            secs, _ = timed(fn)
            rows.append((name, secs, total / secs))
        fresh()
        twin = os.path.join(self.tmp, 'twin')
        shutil.copytree(self.home, twin, ignore=shutil.ignore_patterns('data', '.nearup',
                                                                        '*.nearup-checkpoint'))
        run(['sync'])
        secs, doc = timed(lambda: self.snap('restore', '--from', store, '--home', twin,
                                            '--parallel', str(self.parallel)))
        rows.append((f'`nearup snapshot restore --parallel {self.parallel}` (sha256 of every '
                     'chunk)', secs, total / secs))
        shutil.rmtree(twin, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        return rows, doc

    def change(self, seed=9):
        """What a node does between snapshots: new SST files, a grown WAL."""
        rnd = random.Random(seed)
        gen = os.path.join(self.data, 'gen')
        changed = 0
        for i in range(40):
            size = rnd.randint(512 << 10, 2 << 20)
            with open(os.path.join(gen, f'{200000 + i:06d}.sst'), 'wb') as fh:
                fh.write(os.urandom(size))
            changed += size
        for n in sorted(os.listdir(gen))[:20]:  # compaction removed some
            os.unlink(os.path.join(gen, n))
        with open(os.path.join(gen, '000300.log'), 'wb') as fh:
            fh.write(os.urandom(3 << 20))
        changed += 3 << 20
        return changed


def fstype():
    out = subprocess.run(['df', '--output=fstype', tempfile.gettempdir()], capture_output=True,
                         text=True).stdout.split()
    return out[-1] if out else 'unknown'


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def machine():
    sys.path.insert(0, os.path.join(ROOT, 'bench'))
    import run as benchrun
    return benchrun.machine()


def run_all(nearup, sim, parallel=4):
    """Returns the markdown section."""
    df = shutil.disk_usage(tempfile.gettempdir())
    if df.free < 12 << 30:
        raise RuntimeError(f'{tempfile.gettempdir()} has {df.free >> 30} GiB free; need 12')
    tmp = tempfile.mkdtemp(prefix='nearup-bench-snap-')
    b = Bench(nearup, sim, tmp, parallel)
    try:
        b.start_node()
        generate(os.path.join(b.data, 'gen'))
        total, files = du(b.data)
        store = os.path.join(tmp, 'store')
        archive = os.path.join(tmp, 'data.tar.zst')
        c1 = b.create(store, 'one')
        tz = b.tar_zstd(archive)
        rows, rdoc = b.restores(store, archive, total)
        os.unlink(archive)
        ours = b.change()
        c2 = b.create(store, 'two')
        changed = changed_bytes(store)
        b.nu('stop', '--home', b.home)
    finally:
        try:
            b.nu('stop', '--home', b.home)
        except RuntimeError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return section(total, files, c1, tz, rows, (ours, changed), c2, parallel)


def changed_bytes(store):
    """Bytes of the files of snapshot two that are new or differ from one
    (by path and chunk hashes): what an ideal incremental copy would send."""
    def files(name):
        m = json.load(open(os.path.join(store, 'manifests', name + '.json')))
        return {(f['dir'], f['path']): (f['size'], [c['sha256'] for c in f['chunks']])
                for f in m['files']}
    one, two = files('one'), files('two')
    return sum(size for k, (size, chunks) in two.items() if one.get(k, (0, None))[1] != chunks)


def section(total, files, c1, tz, rows, change, c2, parallel):
    wrote, changed = change
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    gib = total / (1 << 30)
    cp = rows[0][2]
    ours = rows[-1][2]  # restore rate
    up_ratio = c2['bytes_new'] / changed
    lines = [
        f'### nearup snapshot vs tar | zstd, cp, rclone ({now})', '',
        f'Machine: {machine()}. Release build; `bench/snapshot.py` (method in its docstring). '
        f'Data: a running neard-sim node plus generated RocksDB-like *.sst files (random '
        f'bytes, 256 KiB–12 MiB): {gib:.2f} GiB in {files} files; data, store and restores on '
        f'one {fstype()} file system ({tempfile.gettempdir()}), page cache warm.', '',
        'Create (node running under `nearup run`):', '',
        '| method | node down | total |', '|---|---:|---:|',
        f"| `nearup snapshot create --parallel {parallel}` | {c1['downtime_ms'] / 1000:.2f} s "
        f"(stop {c1['stop_ms']} ms, checkpoint {c1['checkpoint_ms']} ms for {c1['files_linked']} "
        f"links + {c1['files_copied']} copies, start {c1['start_ms']} ms) | "
        f"{c1['total_ms'] / 1000:.1f} s |",
        f"| stop; `tar -cf - data \\| zstd -T0`; start | {tz['downtime_s']:.1f} s | "
        f"{tz['downtime_s']:.1f} s |", '',
        f"Downtime ratio: {tz['downtime_s'] * 1000 / c1['downtime_ms']:.0f}× less with nearup; "
        f"the file-system work inside it is {c1['checkpoint_ms']} ms for {gib:.1f} GiB.", '',
        'Restore from a local store into an empty dir, until the data is on disk:', '',
        '| method | seconds | MiB/s | vs `cp -a` |', '|---|---:|---:|---:|']
    for name, secs, rate in rows:
        lines.append(f'| {name} | {secs:.2f} | {rate / MIB:.0f} | {rate / cp:.2f}× |')
    lines += [
        '', 'Incremental: after the first snapshot the bench wrote 40 new SST files and a 3 MiB '
        f'WAL ({wrote} bytes) and deleted 20 files; the node added its own (blocks, the SST '
        'RocksDB makes from its WAL at the restart). Bytes that changed = sizes of the files '
        'of the second snapshot that are new or differ from the first:', '',
        '| bytes that changed | new bytes the second create uploaded (plain) | stored | chunks '
        'uploaded / total | uploaded / changed |', '|---:|---:|---:|---:|---:|',
        f"| {changed} | {c2['bytes_new']} | {c2['bytes_uploaded']} | {c2['chunks_uploaded']} / "
        f"{c2['chunks']} | {up_ratio:.3f} |", '',
        'Targets: downtime under 1 s of file-system work regardless of size: '
        f"{'met' if c1['checkpoint_ms'] < 1000 else 'NOT met'} ({c1['checkpoint_ms']} ms); "
        f"restore ≥ 0.9× cp with verification: {'met' if ours >= 0.9 * cp else 'NOT met'} "
        f'({ours / cp:.2f}×); incremental upload within 5% of changed bytes: '
        f"{'met' if up_ratio <= 1.05 else 'NOT met'} ({(up_ratio - 1) * 100:+.1f}%).", '']
    return '\n'.join(lines)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--parallel', type=int, default=4)
    args = ap.parse_args()
    print(run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim), args.parallel))


if __name__ == '__main__':
    main()
