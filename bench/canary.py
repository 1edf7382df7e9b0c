#!/usr/bin/python3
"""nearup canary: checks per second, CPU and memory.

Starts one neard-sim (release build, `--fast` chain) and, one after the
other, `nearup canary` daemons against it with 1, 8 and 32 endpoints (all
the same node under different names), each with the status, final_lag and
view_account checks every 100 ms (the shortest --interval), for --seconds
each. Reported per run: checks passed per second (from
nearup_canary_runs_total), the canary's CPU time per check
(/proc/<pid>/stat utime + stime over the run; a /metrics scrape at each end
is in it), VmRSS and VmHWM (/proc/<pid>/status) at the end. neard-sim
answers on the same machine, so the rates are bounded by it too.

    bench/canary.py [--nearup build/nearup] [--sim build/neard-sim]
                    [--seconds 10] [--label TEXT] [--record]
"""
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from run import ROOT, cpu_seconds, free_port, machine, wait_port
ENDPOINTS = (1, 8, 32)
CHECKS = 3  # status, final_lag, view_account


def memory_kib(pid):
    out = {}
    with open(f'/proc/{pid}/status') as fh:
        for line in fh:
            name, _, value = line.partition(':')
            if name in ('VmRSS', 'VmHWM'):
                out[name] = int(value.split()[0])
    return out


def passed(port):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=5) as r:
        text = r.read().decode()
    return sum(float(v) for v in
               re.findall(r'^nearup_canary_runs_total\{[^}]*result="ok"\} (\S+)$', text, re.M))


def run_canary(nearup, rpc, n, seconds):
    port = free_port()
    args = [nearup, 'canary', '--listen', f'127.0.0.1:{port}', '--interval', '100ms',
            '--account-id', 'test.near', '--log-level', 'warn']
    for i in range(n):
        args += ['--endpoint', f'http://{rpc},name=e{i}']
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        time.sleep(1)  # the first rounds: connections made, buffers grown
        ok0, cpu0, t0 = passed(port), cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        ok1, cpu1, t1 = passed(port), cpu_seconds(p.pid), time.monotonic()
        mem = memory_kib(p.pid)
    finally:
        p.terminate()
        p.wait(20)
    checks = ok1 - ok0
    return {'n': n, 'per_s': checks / (t1 - t0), 'want_s': n * CHECKS * 10,
            'cpu_us': (cpu1 - cpu0) * 1e6 / checks if checks else float('nan'),
            'cpu_pct': (cpu1 - cpu0) * 100 / (t1 - t0), **mem}


def measure(args):
    home = tempfile.mkdtemp(prefix='nearup-bench-canary-')
    rpc_port = free_port()
    sim = None
    try:
        subprocess.run([args.sim, '--home', home, 'init', '--chain-id', 'benchnet', '--fast'],
                       check=True, capture_output=True)
        sim = subprocess.Popen([args.sim, '--home', home, 'run', '--rpc-addr',
                                f'127.0.0.1:{rpc_port}', '--network-addr',
                                f'127.0.0.1:{free_port()}'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(rpc_port)
        time.sleep(2)  # synced
        return [run_canary(args.nearup, f'127.0.0.1:{rpc_port}', n, args.seconds)
                for n in ENDPOINTS]
    finally:
        if sim:
            sim.terminate()
            sim.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def report(args, rows):
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    lines = [
        f'### nearup canary: checks per second, CPU and memory ({now})',
        '',
        f'Machine: {machine()}. `bench/canary.py --seconds {args.seconds}` ({args.label}): '
        f'one neard-sim, canaries with {CHECKS} checks (status, final_lag, view_account) per '
        'endpoint every 100 ms, each endpoint the same node; CPU from /proc/<pid>/stat over the '
        'run, memory at its end.',
        '',
        '| endpoints | checks passed/s (scheduled) | CPU µs/check | CPU % of a core | VmRSS KiB '
        '| VmHWM KiB |',
        '|---:|---:|---:|---:|---:|---:|',
    ]
    for r in rows:
        lines.append(f'| {r["n"]} | {r["per_s"]:.0f} ({r["want_s"]}) | {r["cpu_us"]:.0f} | '
                     f'{r["cpu_pct"]:.1f} | {r["VmRSS"]} | {r["VmHWM"]} |')
    return '\n'.join(lines + [''])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--label', default='this build')
    ap.add_argument('--record', action='store_true', help='append to bench/RESULTS.md')
    args = ap.parse_args()
    text = report(args, measure(args))
    print(text)
    if args.record:
        with open(os.path.join(ROOT, 'bench', 'RESULTS.md'), 'a') as fh:
            fh.write('\n' + text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
