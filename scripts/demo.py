#!/usr/bin/python3
"""make demo: `nearup localnet` of 4 neard-sim nodes behind `nearup gateway`.

HOME and the XDG dirs point inside the temporary dir, so nothing touches
the real ~. The demo starts the localnet (one supervisor per node), waits
until every node is synced, prints each node's RPC URL, height, sync state
and health from `nearup status --json`, puts `nearup gateway` in front of
the nodes and prints its URL and a /metrics sample, then keeps printing that table
until Ctrl-C (or --duration seconds), runs `nearup stop --home <root>` so
nothing is left running, and removes the temporary dir.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.stdout.reconfigure(line_buffering=True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Demo:
    def __init__(self, nearup, tmp):
        self.nearup = nearup
        self.root = os.path.join(tmp, 'localnet')
        self.env = dict(os.environ)
        for var, sub in (('HOME', 'home'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config'),
                         ('XDG_DATA_HOME', 'data')):
            self.env[var] = os.path.join(tmp, sub)
            os.makedirs(self.env[var], exist_ok=True)

    def run(self, *args, check=True):
        r = subprocess.run([self.nearup, *args], capture_output=True, text=True, env=self.env,
                           timeout=300)
        if check and r.returncode != 0:
            raise RuntimeError(f'nearup {args[0]} failed (exit {r.returncode}): '
                               f'{r.stderr.strip()}')
        return r

    def status(self):
        return json.loads(self.run('status', '--home', self.root, '--json').stdout)['nodes']


def synced(node):
    return node['state'] == 'up' and node['syncing'] is False and node['health'] == 200


def show_monitoring():
    """Where the monitoring kit for these programs is (docs/monitoring.md)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print('monitoring kit (docs/monitoring.md):')
    for what, rel in (('alert and recording rules', 'monitoring/rules'),
                      ('Alertmanager example', 'monitoring/alertmanager/alertmanager.yml'),
                      ('Grafana dashboards', 'monitoring/dashboards'),
                      ('runbooks', 'docs/runbooks')):
        path = os.path.join(root, rel)
        print(f'  {what:<27} {path}' + ('' if os.path.exists(path) else '  (not built yet)'))


def print_table(nodes):
    print(f"{'node':<7} {'rpc':<24} {'height':>8} {'sync':<8} health")
    for node in nodes:
        name = os.path.basename(node['home'])
        url = node['rpc_url'] or '-'
        if node['state'] != 'up':
            print(f"{name:<7} {url:<24} {'-':>8} {node['state']:<8} -")
            continue
        sync = 'syncing' if node['syncing'] else 'synced'
        health = node['health']
        health_text = f"{health} {'ok' if health == 200 else 'unhealthy'}" if health else '-'
        print(f"{name:<7} {url:<24} {node['head']:>8} {sync:<8} {health_text}")


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def http(url, body=None, timeout=5.0):
    """(status, body text) of a GET, or of a POST when body is given."""
    req = urllib.request.Request(url, data=body,
                                 headers={'Content-Type': 'application/json'} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ''


def start_gateway(demo, nodes):
    """`nearup gateway` in front of every node; returns (process, url)."""
    url = f'http://127.0.0.1:{free_port()}'
    args = [demo.nearup, 'gateway', '--listen', url[len('http://'):], '--workers', '1']
    for node in nodes:
        args += ['--upstream', node['rpc_url']]
    log = open(os.path.join(os.path.dirname(demo.root), 'gateway.log'), 'ab')
    proc = subprocess.Popen(args, stdout=log, stderr=log, env=demo.env, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'nearup gateway exited with {proc.returncode}')
        if http(url + '/healthcheck')[0] == 200:
            return proc, url
        time.sleep(0.2)
    raise RuntimeError('nearup gateway did not become healthy within 30 s')


def show_gateway(url):
    body = b'{"jsonrpc":"2.0","id":"demo","method":"status","params":[]}'
    status, reply = http(url + '/', body)
    height = json.loads(reply)['result']['sync_info']['latest_block_height'] if status == 200 \
        else '-'
    print(f'gateway {url}  (POST / status -> HTTP {status}, height {height})')
    print(f'$ curl -s {url}/metrics | grep nearup_gateway_requests_total')
    _, metrics = http(url + '/metrics')
    for line in metrics.splitlines():
        if line.startswith('nearup_gateway_requests_total'):
            print('  ' + line)


def wait_synced(demo, timeout, stop):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop['now']:
        nodes = demo.status()
        down = [n for n in nodes if n['state'] == 'down']
        if down:
            raise RuntimeError(f"{down[0]['home']} is down: {down[0]['error']}")
        if nodes and all(synced(n) for n in nodes):
            return True
        time.sleep(0.5)
    return False


def watch(demo, duration, stop):
    started = time.monotonic()
    next_print = started + 10
    while not stop['now']:
        now = time.monotonic()
        if duration is not None and now - started >= duration:
            break
        if now >= next_print:
            print_table(demo.status())
            next_print = now + 10
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--nodes', type=int, default=4)
    ap.add_argument('--duration', type=float, default=None,
                    help='stop after this many seconds once synced (default: until Ctrl-C)')
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix='nearup-demo-')
    demo = Demo(args.nearup, tmp)
    stop = {'now': False}

    def on_signal(signum, frame):
        stop['now'] = True
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    gateway = None
    try:
        print(f'$ nearup localnet --nodes {args.nodes} --home {demo.root} '
              f'--binary-path {args.sim}')
        r = demo.run('localnet', '--nodes', str(args.nodes), '--home', demo.root,
                     '--binary-path', os.path.realpath(args.sim))
        print(r.stdout, end='')
        if not wait_synced(demo, 120, stop):
            if not stop['now']:
                print('demo: not every node synced within 120 s', file=sys.stderr)
                rc = 1
        nodes = demo.status()
        print_table(nodes)
        if rc == 0 and not stop['now']:
            print(f'$ nearup gateway --upstream ... ({len(nodes)} upstreams)')
            gateway, url = start_gateway(demo, nodes)
            show_gateway(url)
            show_monitoring()
            print('all nodes synced behind the gateway; Ctrl-C stops them')
            watch(demo, args.duration, stop)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as err:
        # Ctrl-C on a terminal also reaches a `nearup status` in progress.
        if not stop['now']:
            print(f'demo: {err}', file=sys.stderr)
            rc = 1
    finally:
        if gateway is not None and gateway.poll() is None:
            gateway.send_signal(signal.SIGTERM)
            print(f'gateway stopped (exit {gateway.wait(30)})')
        print(f'$ nearup stop --home {demo.root}')
        r = demo.run('stop', '--home', demo.root, check=False)
        print((r.stdout + r.stderr).strip())
        if r.returncode != 0:
            rc = 1
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
