#!/usr/bin/python3
"""Instructions per proxied request of `nearup gateway`, counted by
callgrind: a figure that does not move with what else the machine does
(wall-clock rates on a shared VM vary by 30% between rounds).

For each nearup build named: the gateway (`--workers 1`) runs under
`valgrind --tool=callgrind` in front of one neard-sim (release build, not
under valgrind), first idle for IDLE seconds (start-up, health checks), then
again with `wrk -t1 -c8 -d{SECONDS}s` sending JSON-RPC `status` (POST /,
keep-alive). Instructions per request = (Ir of the loaded run - Ir of the
idle run scaled to the same time) / requests answered.

    bench/gateway_instr.py --nearup build/nearup [--base OTHER/nearup] [--seconds 15]
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway as gw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.path.join(ROOT, 'bench', 'status_post.lua')


def total_ir(out):
    text = subprocess.run(['callgrind_annotate', out], capture_output=True, text=True).stdout
    m = re.search(r'([\d,]+)(?: \(100\.0%\))?\s+PROGRAM TOTALS', text)
    return int(m.group(1).replace(',', ''))


def one_run(nearup, backend_port, work, seconds, load):
    port = gw.free_port()
    out = os.path.join(work, f'cg.{time.monotonic_ns()}')
    cmd = ['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}', nearup, 'gateway',
           '--workers', '1', '--listen', f'127.0.0.1:{port}',
           '--upstream', f'sim=http://127.0.0.1:{backend_port}']
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60  # valgrind starts slowly
    while time.monotonic() < deadline and p.poll() is None:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    time.sleep(3)  # health checks mark the upstream OK
    requests = 0
    t0 = time.monotonic()
    if load:
        r = subprocess.run(['wrk', '-t1', '-c8', f'-d{seconds}s', '-s', LUA,
                            f'http://127.0.0.1:{port}/'], capture_output=True, text=True,
                           check=True).stdout
        requests = int(re.search(r'(\d+) requests in', r).group(1))
    else:
        time.sleep(seconds)
    elapsed = time.monotonic() - t0
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=120)
    return total_ir(out), requests, elapsed


def measure(nearup, sim, seconds):
    work = tempfile.mkdtemp(prefix='nearup-bench-instr-')
    backend, bport = gw.start_backend(sim, work)
    try:
        time.sleep(1)
        idle_ir, _, idle_s = one_run(nearup, bport, work, seconds, load=False)
        ir, n, s = one_run(nearup, bport, work, seconds, load=True)
    finally:
        backend.stop()
    per = (ir - idle_ir * s / idle_s) / n
    return {'requests': n, 'ir': ir, 'idle_ir': idle_ir, 'per_request': per}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--base', help='another nearup build to count beside it')
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--seconds', type=int, default=15)
    a = ap.parse_args()
    builds = [('this build', a.nearup)] + ([('base', a.base)] if a.base else [])
    print('| build | requests | Ir loaded | Ir idle | instructions / request |')
    print('|---|---:|---:|---:|---:|')
    res = {}
    for name, path in builds:
        r = measure(path, a.sim, a.seconds)
        res[name] = r
        print(f"| {name} (`{path}`) | {r['requests']} | {r['ir']:,} | {r['idle_ir']:,} | "
              f"{r['per_request']:,.0f} |")
    if a.base:
        ratio = res['this build']['per_request'] / res['base']['per_request']
        print(f'\nthis build / base: ×{ratio:.2f} instructions per request')


if __name__ == '__main__':
    main()
