#!/usr/bin/python3
"""nearup benchmarks. Each benchmark runs side by side in one invocation and
prints a markdown section; `--record` appends it to bench/RESULTS.md.

sim_status: neard-sim's request rate for JSON-RPC `status` (POST /) and
GET /status, with neard-sim pinned to one core and wrk on the other.
lifecycle: nearup's own overhead (status, run until neard is spawned,
supervisor memory); see bench/lifecycle.py.
gateway: wrk through a direct connection, HAProxy, nginx and `nearup gateway`
to one neard-sim backend; see bench/gateway.py.
snapshot: `nearup snapshot` create/restore/incremental against tar | zstd,
cp -a and rclone on > 2 GB in > 2000 files; see bench/snapshot.py.
s3: `nearup snapshot` create/restore on S3 (s3rver on 127.0.0.1) against
`rclone copy` both ways, and the requests of each snapshot operation; see
bench/s3_vs_rclone.py.
join: a new node from `nearup run --from-snapshot` (dir and S3 stores) to
/healthcheck 200, step by step; see bench/join.py.
snapshot_schedule: three runs of the snapshotter's service (create, prune)
on a node with a few hundred MB, node downtime seen from outside; see
bench/snapshot_schedule.py.
startup: nearup's start-up cost (a no-op `stop --all` against `true`, what the
dynamic loader does, what each library costs), beside --before when given;
see bench/startup.py.
`--only NAME` runs one of them; by default all run.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of pid (and its threads) in seconds."""
    with open(f'/proc/{pid}/stat') as fh:
        fields = fh.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    return (int(fields[11]) + int(fields[12])) / ticks


def wrk(url, seconds, conns, script=None):
    cmd = ['taskset', '-c', '1', 'wrk', '-t1', f'-c{conns}', f'-d{seconds}s', '--latency']
    if script:
        cmd += ['-s', script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    total = int(re.search(r'(\d+) requests in', out).group(1))
    p99 = re.search(r'99%\s+([\d.]+\w+)', out).group(1)
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    sock_err = re.search(r'Socket errors: (.*)', out)
    return {'rps': rps, 'requests': total, 'p99': p99,
            'non2xx': int(errors.group(1)) if errors else 0,
            'socket_errors': sock_err.group(1) if sock_err else 'none'}


def wait_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f'port {port} did not open')


def bench_sim_status(sim, seconds, conns):
    home = tempfile.mkdtemp(prefix='nearup-bench-')
    rows = []
    try:
        subprocess.run([sim, '--home', home, 'init', '--chain-id', 'benchnet', '--fast'],
                       check=True, capture_output=True)
        port = free_port()
        log = open(os.path.join(home, 'sim.log'), 'wb')
        proc = subprocess.Popen(['taskset', '-c', '0', sim, '--home', home, 'run',
                                 '--rpc-addr', f'127.0.0.1:{port}',
                                 '--network-addr', f'127.0.0.1:{free_port()}'],
                                stdout=log, stderr=log)
        try:
            wait_port(port)
            time.sleep(1)
            url = f'http://127.0.0.1:{port}'
            for name, target, script in [
                    ('JSON-RPC status (POST /)', url + '/', os.path.join(BENCH, 'status_post.lua')),
                    ('GET /status', url + '/status', None)]:
                cpu0 = cpu_seconds(proc.pid)
                r = wrk(target, seconds, conns, script)
                cpu = cpu_seconds(proc.pid) - cpu0
                r['name'] = name
                r['cpu_us_per_req'] = cpu / r['requests'] * 1e6 if r['requests'] else 0
                rows.append(r)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            log.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return rows


def machine():
    cpu = 'unknown'
    with open('/proc/cpuinfo') as fh:
        for line in fh:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    return f'{platform.node()}: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--connections', type=int, default=64)
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--runs', type=int, default=15, help='lifecycle: timed runs per measurement')
    ap.add_argument('--only', choices=['sim_status', 'lifecycle', 'gateway', 'snapshot', 's3',
                                       'join', 'snapshot_schedule', 'startup'], default=None)
    ap.add_argument('--before', help='startup: another nearup build to compare with')
    ap.add_argument('--record', action='store_true', help='append results to bench/RESULTS.md')
    args = ap.parse_args()

    rc = 0
    if args.only in (None, 'sim_status'):
        rc |= sim_status_section(args)
    if args.only in (None, 'lifecycle'):
        sys.path.insert(0, BENCH)
        import lifecycle
        text, _ = lifecycle.run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim),
                                    args.runs)
        emit(text, args.record)
    if args.only in (None, 'gateway'):
        rc |= gateway_section(args)
    if args.only in (None, 'snapshot'):
        sys.path.insert(0, BENCH)
        import snapshot
        emit(snapshot.run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim)),
             args.record)
    if args.only in (None, 's3'):
        sys.path.insert(0, BENCH)
        import s3_vs_rclone
        emit(s3_vs_rclone.run_all(argparse.Namespace(
            nearup=os.path.realpath(args.nearup), sim=os.path.realpath(args.sim), rounds=3,
            gib=1.0, keep=False)), args.record)
    if args.only in (None, 'join'):
        sys.path.insert(0, BENCH)
        import join
        emit(join.run_all(argparse.Namespace(
            nearup=os.path.realpath(args.nearup), sim=os.path.realpath(args.sim), rounds=3,
            mib=500.0)), args.record)
    if args.only in (None, 'snapshot_schedule'):
        sys.path.insert(0, BENCH)
        import snapshot_schedule
        emit(snapshot_schedule.run_all(os.path.realpath(args.nearup),
                                       os.path.realpath(args.sim)), args.record)
    if args.only in (None, 'startup'):
        sys.path.insert(0, BENCH)
        import startup
        now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
        emit(startup.run_all(os.path.realpath(args.nearup),
                             args.before and os.path.realpath(args.before), 300, machine(), now),
             args.record)
    return rc


def emit(text, record):
    print(text)
    if record:
        with open(os.path.join(BENCH, 'RESULTS.md'), 'a') as fh:
            fh.write('\n' + text)


def gateway_section(args):
    sys.path.insert(0, BENCH)
    import gateway
    res = gateway.run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim),
                          args.seconds, args.connections)
    emit(gateway.section(res, args), args.record)
    return 0 if all(r['non2xx'] == 0 for r in res['rows']) else 1


def sim_status_section(args):
    rows = bench_sim_status(args.sim, args.seconds, args.connections)
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    lines = [f'### neard-sim request rate ({now})', '',
             f'Machine: {machine()}. Release build; neard-sim pinned to core 0 '
             f'(`taskset -c 0`), wrk on core 1: `wrk -t1 -c{args.connections} '
             f'-d{args.seconds}s`, keep-alive. Target: at least 20k `status` requests/s on one core.',
             '', '| request | requests/s | p99 latency | CPU µs/request (sim) | non-2xx | socket errors |',
             '|---|---:|---:|---:|---:|---|']
    for r in rows:
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {r['p99']} | {r['cpu_us_per_req']:.1f} "
                     f"| {r['non2xx']} | {r['socket_errors']} |")
    emit('\n'.join(lines) + '\n', args.record)
    ok = all(r['non2xx'] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
