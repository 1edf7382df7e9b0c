#!/usr/bin/python3
"""Memory of an idle nearup-supervisor with and without its metrics
(docs/supervisor.md, "Metrics"): one neard-sim node (`--fast`) started
with `nearup run` three times on the same home: no metrics flags;
--metrics-textfile-dir; --metrics-textfile-dir and --metrics-listen with
/metrics scraped 20 times. Each time the supervisor runs 25 s (past two
10 s rewrites of the textfile) before VmRSS, RssAnon, RssFile, Pss and
VmHWM are read from /proc (bench/lifecycle.py's supervisor_memory).

    bench/sup_metrics_mem.py --nearup build/src/cli/nearup --sim build/sim/neard-sim
prints a markdown table (KiB) for bench/RESULTS.md."""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import lifecycle

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from conftest import free_port  # noqa: E402

IDLE_S = 25
SCRAPES = 20


def measure(nearup, sim, env, home, extra, scrape_port=None):
    ports = [free_port(), free_port()]
    lifecycle.nearup(nearup, env, 'run', 'simnet', '--home', home, '--binary-path', sim,
                     '--rpc-addr', f'127.0.0.1:{ports[0]}', '--network-addr',
                     f'127.0.0.1:{ports[1]}', *extra)
    try:
        with open(os.path.join(home, '.nearup', 'supervisor.pid')) as fh:
            pid = int(fh.read().split()[0])
        for _ in range(SCRAPES if scrape_port else 0):
            with urllib.request.urlopen(f'http://127.0.0.1:{scrape_port}/metrics') as r:
                assert r.status == 200
        time.sleep(IDLE_S)
        return lifecycle.supervisor_memory(pid)
    finally:
        lifecycle.nearup(nearup, env, 'stop', '--home', home)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', required=True)
    ap.add_argument('--sim', required=True)
    a = ap.parse_args()
    nearup, sim = os.path.realpath(a.nearup), os.path.realpath(a.sim)
    with tempfile.TemporaryDirectory() as tmp:
        env = lifecycle.make_env(tmp)
        home, tf = os.path.join(tmp, 'node'), os.path.join(tmp, 'textfile')
        os.makedirs(tf)
        subprocess.run([sim, '--home', home, 'init', '--chain-id', 'simnet', '--fast'],
                       check=True, capture_output=True)
        port = free_port()
        rows = [('no metrics', measure(nearup, sim, env, home, [])),
                ('--metrics-textfile-dir', measure(nearup, sim, env, home,
                                                   ['--metrics-textfile-dir', tf])),
                (f'textfile + --metrics-listen, {SCRAPES} scrapes',
                 measure(nearup, sim, env, home, ['--metrics-textfile-dir', tf,
                                                  '--metrics-listen', str(port)], port))]
    print('| supervisor | VmRSS | RssAnon | RssFile | Pss | VmHWM |')
    print('|---|---:|---:|---:|---:|---:|')
    for name, m in rows:
        print(f"| {name} | {m['rss']} | {m['anon']} | {m['file']} | {m['pss']} | {m['hwm']} |")


if __name__ == '__main__':
    main()
