#!/usr/bin/python3
"""nearup's own overhead in the node lifecycle, on neard-sim.

- `nearup status` over a synced 4-node `nearup localnet`, and `nearup stop`
  with no node (the command the Python nearup was measured with), timed by
  hyperfine (-N: no shell; warm-up runs first).
- `nearup run` with a cached binary until neard is spawned. A detached
  `nearup run` returns only once neard answers /status, which is neard's
  start-up, not nearup's; so the spawn moment is taken from the supervisor's
  neard.pid, written right after fork+execve of neard: time-to-spawn =
  neard.pid mtime - the moment before the `nearup run` process is created
  (same clock, CLOCK_REALTIME; includes Python's own fork+exec of nearup,
  about 1 ms). The same runs also give the time until `nearup run`
  returns (neard answering). Every timed run finds the pinned release in
  the cache: the local bucket sees no request during them (checked). It is
  measured with the small neard-sim wrapper and with a 96 MiB binary (the
  size of a real neard), because the cache verifies a blob before handing
  it out (a full sha256 unless the blob's verified stamp still matches the
  file; the untimed first run hashes and stamps it).
- Supervisor memory: VmRSS and VmHWM of each supervisor (nearup-supervisor)
  of the localnet.

Python nearup cannot be installed here; its start-up cost is quoted from
/work/shared/reference/nearup-python.md (measured on the same kind of
2-core machine): `nearup stop` with no node running, 0.37 s wall, median
of 5 runs.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

PYTHON_NEARUP_STOP_MS = 370  # reference/nearup-python.md: `nearup stop`, no node, median of 5
PYTHON_NEARUP_RSS_MIB = 42
BIG_BINARY = 96 << 20


def make_env(tmp):
    env = {k: v for k, v in os.environ.items() if k != 'NOTIFY_SOCKET'}
    for var, sub in (('HOME', 'home'), ('XDG_CACHE_HOME', 'cache'), ('XDG_STATE_HOME', 'state'),
                     ('XDG_CONFIG_HOME', 'config'), ('XDG_DATA_HOME', 'data')):
        env[var] = os.path.join(tmp, sub)
        os.makedirs(env[var], exist_ok=True)
    return env


def nearup(bin_, env, *args):
    r = subprocess.run([bin_, *[str(a) for a in args]], capture_output=True, text=True, env=env,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f'nearup {" ".join(map(str, args))}: {r.stderr.strip()}')
    return r.stdout


def hyperfine(env, runs, *commands):
    """{command: stats in ms} from hyperfine's JSON export."""
    out = tempfile.mktemp(suffix='.json')
    subprocess.run(['hyperfine', '-N', '--warmup', '5', '--runs', str(runs), '--export-json', out,
                    *commands], env=env, check=True, capture_output=True)
    with open(out) as fh:
        results = json.load(fh)['results']
    os.unlink(out)
    return {r['command']: {k: r[k] * 1000 for k in ('mean', 'stddev', 'median', 'min', 'max')}
            for r in results}


def wait_synced(bin_, env, root, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = json.loads(nearup(bin_, env, 'status', '--home', root, '--json'))['nodes']
        if nodes and all(n['health'] == 200 and n['peers'] == len(nodes) - 1 for n in nodes):
            return nodes
        time.sleep(0.5)
    raise RuntimeError('localnet did not sync')


def proc_kib(pid, field, name='status'):
    with open(f'/proc/{pid}/{name}') as fh:
        for line in fh:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def supervisor_memory(pid):
    """KiB: VmRSS, its anonymous and file-backed parts, peak, and Pss (the
    process's share of pages it shares with others)."""
    return {'rss': proc_kib(pid, 'VmRSS'), 'anon': proc_kib(pid, 'RssAnon'),
            'file': proc_kib(pid, 'RssFile'), 'hwm': proc_kib(pid, 'VmHWM'),
            'pss': proc_kib(pid, 'Pss', 'smaps_rollup')}


def bench_status(bin_, sim, tmp, runs):
    env = make_env(os.path.join(tmp, 'ln-env'))
    root = os.path.join(tmp, 'ln')
    nearup(bin_, env, 'localnet', '--home', root, '--binary-path', sim, '--fast')
    try:
        wait_synced(bin_, env, root)
        status = f'{bin_} status --home {root}'
        times = hyperfine(env, runs, status, status + ' --json')
        sups = [json.loads(nearup(bin_, env, 'status', '--home', root, '--json'))['nodes']]
        pids = [n['supervisor']['pid'] for n in sups[0]]
        mem = [supervisor_memory(p) for p in pids]
    finally:
        nearup(bin_, env, 'stop', '--home', root)
    empty = make_env(os.path.join(tmp, 'empty-env'))
    times.update(hyperfine(empty, runs, f'{bin_} stop --all'))
    return times, mem


def time_runs(bin_, env, home, args, n):
    """[(ms until neard spawned, ms until `nearup run` returned)] over n runs."""
    out = []
    pidfile = os.path.join(home, '.nearup', 'neard.pid')
    for _ in range(n):
        t0 = time.time_ns()
        r = subprocess.run([bin_, 'run', 'simnet', '--home', home, *args], capture_output=True,
                           text=True, env=env, timeout=120)
        t1 = time.time_ns()
        if r.returncode != 0:
            raise RuntimeError(f'nearup run: {r.stderr.strip()}')
        spawned = os.stat(pidfile).st_mtime_ns
        out.append(((spawned - t0) / 1e6, (t1 - t0) / 1e6))
        nearup(bin_, env, 'stop', '--home', home)
    return out


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def bench_run(bin_, sim, tmp, runs):
    from bucket import Bucket
    bucket = Bucket(sim, testnet=False)
    rows = []
    try:
        for version, pad in (('2.4.0', 0), ('2.4.1', BIG_BINARY)):
            rel = bucket.add_release('testnet', version, pad=pad)
            env = make_env(os.path.join(tmp, f'run-{version}'))
            home = os.path.join(tmp, f'run-{version}', 'node')
            args = ['--neard-version', version, '--release-url', bucket.url, '--restart', 'no',
                    '--rpc-addr', f'127.0.0.1:{free_port()}',
                    '--network-addr', f'127.0.0.1:{free_port()}']
            time_runs(bin_, env, home, args, 1)  # init + download into the cache
            bucket.requests(clear=True)
            samples = time_runs(bin_, env, home, args, runs)
            rows.append({'size': rel['size'], 'requests': len(bucket.requests()),
                         'spawn': [s for s, _ in samples], 'ready': [r for _, r in samples]})
    finally:
        bucket.close()
    return rows


def fmt(ms):
    return f'{ms:.1f}'


def machine():
    cpu = 'unknown'
    with open('/proc/cpuinfo') as fh:
        for line in fh:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    import platform
    return f'{platform.node()}: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}'


def report(status, mem, run_rows, runs, now):
    stop = next(v for k, v in status.items() if k.endswith('stop --all'))
    st = [v for k, v in status.items() if 'status' in k]
    lines = [
        f'### nearup lifecycle overhead ({now})', '',
        f'Machine: {machine()}. Release build, neard-sim nodes (`--fast`). '
        'Target: under 50 ms for `status` over 4 nodes and for `run` until neard is spawned; '
        'supervisor RSS under 4 MB. Method: bench/lifecycle.py docstring.', '',
        '| command | median ms | mean ± sd ms | min–max ms | vs Python nearup (370 ms) |',
        '|---|---:|---:|---:|---:|']
    for name, v in [('`nearup status --home <4-node localnet>`', st[0]),
                    ('`nearup status --home <4-node localnet> --json`', st[1]),
                    ('`nearup stop --all` (no node)', stop)]:
        lines.append(f"| {name} | {fmt(v['median'])} | {fmt(v['mean'])} ± {fmt(v['stddev'])} "
                     f"| {fmt(v['min'])}–{fmt(v['max'])} "
                     f"| {PYTHON_NEARUP_STOP_MS / v['median']:.0f}× less |")
    lines += ['', f'`nearup run simnet --neard-version V` (detached, cached binary, home '
              f'initialised), {runs} runs each:', '',
              '| binary size | requests to the bucket | until neard spawned: median (min–max) ms '
              '| until `run` returns (neard answers /status): median ms |',
              '|---:|---:|---:|---:|']
    for r in run_rows:
        size = f"{r['size'] / 2**20:.0f} MiB" if r['size'] >= 2**20 else f"{r['size']} B"
        lines.append(f"| {size} | {r['requests']} "
                     f"| {fmt(statistics.median(r['spawn']))} ({fmt(min(r['spawn']))}–"
                     f"{fmt(max(r['spawn']))}) | {fmt(statistics.median(r['ready']))} |")
    worst = max(mem, key=lambda m: m['rss'])
    lines += ['', 'Supervisor memory, largest of the 4 supervisors of the localnet (KiB; target '
              f'VmRSS < 4096; Python nearup peaked at {PYTHON_NEARUP_RSS_MIB} MiB for `stop`):', '',
              '| VmRSS | RssAnon (private heap, stacks) | RssFile (mapped libraries) | Pss | VmHWM |',
              '|---:|---:|---:|---:|---:|',
              f"| {worst['rss']} | {worst['anon']} | {worst['file']} | {worst['pss']} "
              f"| {worst['hwm']} |"]
    checks = [('status over 4 nodes < 50 ms', st[0]['median'] < 50)]
    checks += [(f"run until spawned < 50 ms ({r['size'] / 2**20:.1f} MiB binary)",
                statistics.median(r['spawn']) < 50) for r in run_rows]
    checks.append(('supervisor VmRSS < 4 MB', worst['rss'] < 4096))
    lines += ['', 'Targets: ' + '; '.join(f"{name}: {'met' if ok else 'NOT met'}"
                                          for name, ok in checks) + '.']
    return '\n'.join(lines) + '\n', all(ok for _, ok in checks)


def run_all(nearup_bin, sim, runs):
    """Runs the benchmark; returns (markdown, targets met)."""
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    tmp = tempfile.mkdtemp(prefix='nearup-bench-life-')
    try:
        status, mem = bench_status(nearup_bin, sim, tmp, max(runs, 20))
        run_rows = bench_run(nearup_bin, sim, tmp, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report(status, mem, run_rows, runs, now)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--runs', type=int, default=15)
    args = ap.parse_args()
    text, ok = run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim), args.runs)
    print(text)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
