#!/usr/bin/python3
"""The RPC gateway against generic proxies, side by side in one run.

wrk sends JSON-RPC `status` (POST /, keep-alive) to one neard-sim backend
(release build), through each of:

- direct: wrk -> neard-sim (the limit);
- HAProxy (`nbthread 1`, keep-alive to the backend);
- nginx (`worker_processes 1`, upstream block with `keepalive`);
- `nearup gateway --workers 1` (when the nearup binary has the gateway).

On a 2-core machine the proxy and the backend share core 0 (`taskset -c
0`) and wrk has core 1 to itself: the backend costs the same per request in
every row, so a proxy's throughput shows what it costs on top, and the
direct row is what core 0 does without a proxy. CPU seconds come from
/proc/<pid>/stat (utime + stime of every process of the proxy, all threads)
over the measured wrk run; a 2 s warm-up run comes first. Every path is
measured once per round, in turn (3 rounds), and the median round is
reported, so that other work on the machine weighs on all paths alike.

Run it with `bench/run.py --only gateway [--record]`, or alone:
`bench/gateway.py [--nearup build/nearup] [--sim build/neard-sim]`.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
HAPROXY = '/usr/sbin/haproxy'
NGINX = '/usr/sbin/nginx'
PROXY_CORE = '0'
WRK_CORE = '1'
STATUS_BODY = b'{"jsonrpc":"2.0","id":"dontcare","method":"status","params":[]}'

HAPROXY_CFG = """global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:{port}
    default_backend rpc
backend rpc
    http-reuse always
    server sim 127.0.0.1:{backend}
"""

NGINX_CFG = """daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
    upstream rpc {{
        server 127.0.0.1:{backend};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://rpc;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, p, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.proc.poll() is not None:
            p.log.close()
            with open(p.log.name, errors='replace') as fh:
                raise RuntimeError(f'{p.name} exited {p.proc.returncode}: {fh.read()[-2000:]}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f'port {port} did not open')


def cpu_seconds(pids):
    """utime + stime (all threads) of the given processes, in seconds."""
    total = 0
    for pid in pids:
        with open(f'/proc/{pid}/stat') as fh:
            fields = fh.read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf('SC_CLK_TCK')


def family(pid):
    """pid and its children (nginx's workers)."""
    pids = [pid]
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as fh:
            pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    return pids


def wrk_cmd(url, seconds, conns):
    return ['taskset', '-c', WRK_CORE, 'wrk', '-t1', f'-c{conns}', f'-d{seconds}s', '--latency',
            '-s', os.path.join(BENCH, 'status_post.lua'), url]


def wrk(url, seconds, conns):
    out = subprocess.run(wrk_cmd(url, seconds, conns), capture_output=True, text=True,
                         check=True).stdout

    def lat(pct):
        return re.search(rf'^\s+{pct}%\s+([\d.]+\w+)$', out, re.M).group(1)
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    sock_err = re.search(r'Socket errors: (.*)', out)
    return {'rps': float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1)),
            'requests': int(re.search(r'(\d+) requests in', out).group(1)),
            'p50': lat(50), 'p99': lat(99),
            'non2xx': int(non2xx.group(1)) if non2xx else 0,
            'socket_errors': sock_err.group(1) if sock_err else 'none'}


def check_status_reply(port):
    """One request through the proxy must give neard's status result."""
    req = urllib.request.Request(f'http://127.0.0.1:{port}/', data=STATUS_BODY,
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    if r.status != 200 or b'"sync_info"' not in body:
        raise RuntimeError(f'port {port}: not a status reply: {body[:200]!r}')


class Proc:
    """A pinned process with its log in the work dir; stopped by PID."""

    def __init__(self, name, cmd, work, core=PROXY_CORE):
        self.name = name
        self.log = open(os.path.join(work, name + '.log'), 'wb')
        self.cmd = ['taskset', '-c', core, *cmd]
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_backend(sim, work):
    home = os.path.join(work, 'sim')
    subprocess.run([sim, '--home', home, 'init', '--chain-id', 'benchnet', '--fast'],
                   check=True, capture_output=True)
    port = free_port()
    p = Proc('neard-sim', [sim, '--home', home, 'run', '--rpc-addr', f'127.0.0.1:{port}',
                           '--network-addr', f'127.0.0.1:{free_port()}'], work)
    wait_port(port, p)
    return p, port


def start_haproxy(work, backend):
    port = free_port()
    cfg = os.path.join(work, 'haproxy.cfg')
    with open(cfg, 'w') as fh:
        fh.write(HAPROXY_CFG.format(port=port, backend=backend))
    return Proc('haproxy', [HAPROXY, '-db', '-f', cfg], work), port, f'{HAPROXY} -db -f haproxy.cfg'


def start_nginx(work, backend):
    port = free_port()
    prefix = os.path.join(work, 'nginx')
    os.makedirs(prefix)
    cfg = os.path.join(prefix, 'nginx.conf')
    with open(cfg, 'w') as fh:
        fh.write(NGINX_CFG.format(prefix=prefix, port=port, backend=backend))
    return (Proc('nginx', [NGINX, '-p', prefix, '-c', cfg], work), port,
            f'{NGINX} -p PREFIX -c nginx.conf')


def start_gateway(work, backend, nearup):
    port = free_port()
    cmd = [nearup, 'gateway', '--workers', '1', '--listen', f'127.0.0.1:{port}',
           '--upstream', f'sim=http://127.0.0.1:{backend}']
    p = Proc('nearup-gateway', cmd, work)
    wait_port(port, p)
    deadline = time.monotonic() + 15  # routed to an OK upstream, not failing open
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthcheck', timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    shown = (f'nearup gateway --workers 1 --listen 127.0.0.1:PORT '
             f'--upstream sim=http://127.0.0.1:BACKEND')
    return p, port, shown


def has_gateway(nearup):
    if not os.access(nearup, os.X_OK):
        return False
    r = subprocess.run([nearup, 'gateway', '--help'], capture_output=True, text=True)
    return r.returncode == 0 and 'usage: nearup gateway' in r.stdout


def measure(name, port, pids, seconds, conns, backend_pid):
    wrk(f'http://127.0.0.1:{port}/', 2, conns)  # warm-up: pools, caches
    cpu0, bcpu0 = cpu_seconds(pids), cpu_seconds([backend_pid])
    r = wrk(f'http://127.0.0.1:{port}/', seconds, conns)
    cpu, bcpu = cpu_seconds(pids) - cpu0, cpu_seconds([backend_pid]) - bcpu0
    n = max(r['requests'], 1)
    r.update(name=name, cpu100k=cpu / n * 1e5, backend100k=bcpu / n * 1e5)
    return r


def median_row(runs):
    """The run with the median request rate, with median CPU figures."""
    by_rps = sorted(runs, key=lambda r: r['rps'])
    row = dict(by_rps[len(by_rps) // 2])
    for key in ('cpu100k', 'backend100k'):
        row[key] = statistics.median(r[key] for r in runs)
    row['non2xx'] = sum(r['non2xx'] for r in runs)
    errs = [r['socket_errors'] for r in runs if r['socket_errors'] != 'none']
    row['socket_errors'] = '; '.join(errs) if errs else 'none'
    row['all_rps'] = [r['rps'] for r in runs]
    return row


def start_targets(work, bport, nearup, gateway):
    """[(name, Proc or None, port, shown command)]: every path, started."""
    targets = [('direct (neard-sim, the limit)', None, bport, '')]
    starters = [('HAProxy ' + haproxy_version(), lambda: start_haproxy(work, bport)),
                ('nginx ' + nginx_version(), lambda: start_nginx(work, bport))]
    if gateway:
        starters.append(('nearup gateway', lambda: start_gateway(work, bport, nearup)))
    for name, start in starters:
        proc, port, shown = start()
        targets.append((name, proc, port, shown))
        wait_port(port, proc)
        check_status_reply(port)
    return targets


def run_all(nearup, sim, seconds, conns, rounds=3):
    """Every path is measured once per round, in turn, so that other work on
    the machine weighs on all of them alike; each row is the median round.
    Returns {'rows', 'commands', 'gateway' (present), 'load' (1-min load
    average before the run)}."""
    load = os.getloadavg()[0]
    work = tempfile.mkdtemp(prefix='nearup-bench-gw-')
    backend, bport = start_backend(sim, work)
    gateway = has_gateway(nearup)
    targets = []
    try:
        time.sleep(1)  # the node syncs its first blocks
        targets = start_targets(work, bport, nearup, gateway)
        runs = {name: [] for name, _, _, _ in targets}
        for _ in range(rounds):
            for name, proc, port, _ in targets:
                pids = family(proc.proc.pid) if proc else []
                runs[name].append(measure(name, port, pids, seconds, conns, backend.proc.pid))
    finally:
        for _, proc, _, _ in targets:
            if proc:
                proc.stop()
        backend.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [median_row(runs[name]) for name, _, _, _ in targets]
    cmds = [f'{name}: `taskset -c {PROXY_CORE} {shown}`' for name, proc, _, shown in targets
            if proc]
    return {'rows': rows, 'commands': cmds, 'gateway': gateway, 'load': load, 'rounds': rounds}


def haproxy_version():
    out = subprocess.run([HAPROXY, '-v'], capture_output=True, text=True).stdout
    m = re.search(r'version (\S+)', out)
    return m.group(1) if m else ''


def nginx_version():
    err = subprocess.run([NGINX, '-v'], capture_output=True, text=True).stderr
    m = re.search(r'nginx/(\S+)', err)
    return m.group(1) if m else ''


def machine():
    cpu = 'unknown'
    with open('/proc/cpuinfo') as fh:
        for line in fh:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    return f'{platform.node()}: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}'


def verdict(rows):
    """The issue's bar: the gateway at least on par with nginx (throughput no
    more than 5% lower, CPU per request no more than 5% higher) and within
    20% of HAProxy on both."""
    by = {r['name'].split()[0]: r for r in rows}
    g = by.get('nearup')
    if not g:
        return ['The gateway column is missing: this nearup has no `gateway` command.']
    out = []
    for other, slack, goal in ((by['nginx'], 0.05, 'on par with (5%)'),
                               (by['HAProxy'], 0.20, 'within 20% of')):
        rps = g['rps'] / other['rps']
        cpu = g['cpu100k'] / other['cpu100k'] if other['cpu100k'] else float('inf')
        met = rps >= 1 - slack and cpu <= 1 + slack
        out.append(f"vs {other['name']}: throughput ×{rps:.2f}, CPU per request ×{cpu:.2f} "
                   f"(goal: {goal} on both): {'met' if met else 'NOT met'}.")
    return out


def section(res, args):
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    rows, cmds = res['rows'], res['commands']
    lines = [f'### RPC gateway vs HAProxy and nginx ({now})', '',
             f'Machine: {machine()}. Release build. One neard-sim backend; the proxy and '
             f'the backend pinned to core {PROXY_CORE}, wrk to core {WRK_CORE}: '
             f'`{" ".join(wrk_cmd("http://127.0.0.1:PORT/", args.seconds, args.connections))}` '
             '(JSON-RPC `status`, keep-alive), each after a 2 s warm-up. One worker per proxy. '
             'CPU from /proc/<pid>/stat (utime+stime, all threads and processes of the proxy) '
             f"over the measured run. {res['rounds']} rounds, every path once per round in "
             'turn; each row is the median round (CPU: median of the rounds). 1-min load '
             f"average before the run: {res['load']:.2f} (other work shares these cores). "
             'Command: `bench/run.py --only gateway`.', '',
             '| path | requests/s | p50 | p99 | proxy CPU s / 100k req | backend CPU s / 100k req '
             '| non-2xx | socket errors | requests/s per round |',
             '|---|---:|---:|---:|---:|---:|---:|---|---|']
    for r in rows:
        proxy = '—' if r['name'].startswith('direct') else f"{r['cpu100k']:.2f}"
        per_round = ', '.join(f'{x:.0f}' for x in r['all_rps'])
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {r['p50']} | {r['p99']} | {proxy} "
                     f"| {r['backend100k']:.2f} | {r['non2xx']} | {r['socket_errors']} "
                     f"| {per_round} |")
    lines += ['', 'Proxies:', ''] + [f'- {c}' for c in cmds] + ['']
    if not res['gateway']:
        lines.append('nearup gateway: not measured (this nearup has no `gateway` command).')
    lines += verdict(rows)
    return '\n'.join(lines) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--connections', type=int, default=64)
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args(argv)
    res = run_all(os.path.realpath(args.nearup), os.path.realpath(args.sim), args.seconds,
                  args.connections, args.rounds)
    print(section(res, args))
    return 0 if all(r['non2xx'] == 0 for r in res['rows']) else 1


if __name__ == '__main__':
    sys.exit(main())
