#!/usr/bin/python3
"""Gateway memory per idle keep-alive client connection.

Starts one neard-sim and `nearup gateway` (release builds) in front of it,
then opens N client connections (default 10,000) in waves of 200. On each
connection a burst of pipelined requests goes out at once (four JSON-RPC
`status`, two `block`, a batch of `--batch` `block` calls (default 5), a
`GET /upstreams`; about 25 KB of answers, 2.2 KB more per batched call),
every answer is read, and the connection stays open,
idle. With all N open and idle, the gateway's VmRSS and RssAnon
(/proc/<pid>/status) are compared with the values before the first
connection (after a warm-up on one connection):

    per connection = (RSS after - RSS before) / N

Kernel socket memory is not in RSS. The script raises its own
RLIMIT_NOFILE soft limit to the hard limit (N client sockets); the gateway
raises its own (see docs/gateway.md). Goal: at most 16 KiB per idle
connection.

    bench/idle_conns.py [--nearup build/nearup] [--sim build/neard-sim]
                        [--conns 10000] [--batch 5] [--label TEXT] [--record]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAVE = 200
GOAL_KIB = 16


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f'nothing listens on {port}')


def rss_kib(pid):
    out = {}
    with open(f'/proc/{pid}/status') as fh:
        for line in fh:
            key, _, val = line.partition(':')
            if key in ('VmRSS', 'RssAnon', 'VmHWM'):
                out[key] = int(val.split()[0])
    return out


def post(body):
    data = body.encode()
    return b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' % (len(data), data)


def call(method, params, i):
    return json.dumps({'jsonrpc': '2.0', 'id': i, 'method': method, 'params': params})


def burst(nbatch):
    final = {'finality': 'final'}
    reqs = [post(call('status', [], i)) for i in range(4)]
    reqs += [post(call('block', final, 4)), post(call('block', final, 5))]
    reqs.append(post('[' + ','.join(call('block', final, 10 + i) for i in range(nbatch)) + ']'))
    reqs.append(b'GET /upstreams HTTP/1.1\r\nHost: x\r\n\r\n')
    return b''.join(reqs), len(reqs)


class Reader:
    """Counts complete answers (Content-Length bodies) on one connection."""

    def __init__(self):
        self.buf = b''
        self.answers = 0
        self.statuses = []

    def feed(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b'\r\n\r\n')
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            for line in head.split(b'\r\n')[1:]:
                name, _, val = line.partition(b':')
                if name.strip().lower() == b'content-length':
                    length = int(val)
            if len(self.buf) < end + 4 + length:
                return
            self.statuses.append(int(head.split(b' ')[1]))
            self.buf = self.buf[end + 4 + length:]
            self.answers += 1


def run_wave(port, n, data, want, keep):
    """Opens n connections, sends a burst on each, reads every answer; the
    sockets are appended to keep (left open and idle)."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(data)
        s.setblocking(False)
        r = Reader()
        sel.register(s, selectors.EVENT_READ, r)
        socks.append((s, r))
    left = n
    deadline = time.monotonic() + 60
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            chunk = key.fileobj.recv(262144)
            if not chunk:
                raise SystemExit('the gateway closed a connection during the burst')
            key.data.feed(chunk)
            if key.data.answers == want:
                sel.unregister(key.fileobj)
                left -= 1
    sel.close()
    if left:
        raise SystemExit(f'{left} connections did not get all {want} answers')
    bad = sum(1 for _, r in socks if any(st != 200 for st in r.statuses))
    keep.extend(s for s, _ in socks)
    return bad


def metric(port, name):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + ' '):
                return float(line.split()[1])
    return None


def measure(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.conns + 1000
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    home = tempfile.mkdtemp(prefix='nearup-idle-')
    procs = []
    try:
        subprocess.run([args.sim, '--home', home, 'init', '--chain-id', 'benchnet', '--fast'],
                       check=True, capture_output=True)
        sim_port, gw_port = free_port(), free_port()
        log = open(os.path.join(home, 'log'), 'wb')
        procs.append(subprocess.Popen([args.sim, '--home', home, 'run', '--rpc-addr',
                                       f'127.0.0.1:{sim_port}', '--network-addr',
                                       f'127.0.0.1:{free_port()}'], stdout=log, stderr=log))
        wait_port(sim_port)
        ini = os.path.join(home, 'gateway.ini')
        with open(ini, 'w') as fh:
            fh.write(f'listen = 127.0.0.1:{gw_port}\nworkers = 2\nidle_timeout = 1h\n'
                     f'upstream_max_inflight = 0\nmax_connections = {args.conns}\n'
                     f'max_batch = {max(100, args.batch)}\n'
                     f'[upstream sim]\nurl = http://127.0.0.1:{sim_port}\n')
        gw = subprocess.Popen([args.nearup, 'gateway', '-c', ini], stdout=log, stderr=log)
        procs.append(gw)
        wait_port(gw_port)
        time.sleep(3)  # health polls mark the upstream OK
        data, want = burst(args.batch)
        warm = []
        run_wave(gw_port, 1, data, want, warm)
        for s in warm:
            s.close()
        time.sleep(1)
        before = rss_kib(gw.pid)
        keep, bad = [], 0
        t0 = time.monotonic()
        while len(keep) < args.conns:
            bad += run_wave(gw_port, min(WAVE, args.conns - len(keep)), data, want, keep)
        took = time.monotonic() - t0
        time.sleep(3)  # idle: past idle_trim_ms (1 s), and worker stats reach /metrics on the next tick
        after = rss_kib(gw.pid)
        conns = metric(gw_port, 'nearup_gateway_http_connections')
        buf = metric(gw_port, 'nearup_gateway_http_buffer_bytes')
        for s in keep:
            s.close()
        return {'before': before, 'after': after, 'bad': bad, 'want': want, 'seconds': took,
                'open': conns, 'buffer_bytes': buf}
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(home, ignore_errors=True)


def machine():
    cpu = 'unknown cpu'
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{os.cpu_count()} cores, {cpu}, Linux {platform.release()}'


def report(args, r):
    n = args.conns
    rss = (r['after']['VmRSS'] - r['before']['VmRSS']) * 1024 / n
    anon = (r['after']['RssAnon'] - r['before']['RssAnon']) * 1024 / n
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    lines = [
        f'### Gateway memory per idle keep-alive connection ({now})',
        '',
        f'Machine: {machine()}. `bench/idle_conns.py --conns {n} --batch {args.batch}` '
        f'({args.label}): {n} connections in waves of {WAVE}, a burst of {r["want"]} '
        f'pipelined requests (one a batch of {args.batch} `block` calls) on '
        f'each (every answer read: {r["bad"]} connections with a non-200), then all idle. '
        f'Gateway `workers = 2`; RSS from /proc/<pid>/status. Goal: at most {GOAL_KIB} KiB.',
        '',
        '| | VmRSS KiB | RssAnon KiB |',
        '|---|---:|---:|',
        f'| before the first connection | {r["before"]["VmRSS"]} | {r["before"]["RssAnon"]} |',
        f'| {n} idle connections | {r["after"]["VmRSS"]} | {r["after"]["RssAnon"]} |',
        f'| **per connection** | **{rss / 1024:.2f}** | **{anon / 1024:.2f}** |',
        '',
        f'Gateway metrics with all idle: http_connections {r["open"]}, http_buffer_bytes '
        f'{r["buffer_bytes"]}; VmHWM {r["after"].get("VmHWM")} KiB. Goal '
        f'{"met" if rss <= GOAL_KIB * 1024 else "NOT met"}.',
        '',
    ]
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--conns', type=int, default=10000)
    ap.add_argument('--batch', type=int, default=5, help='calls in the burst\'s batch')
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
