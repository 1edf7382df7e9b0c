#!/usr/bin/python3
"""make demo: a 4-node neard-sim localnet in a temporary home.

Starts the nodes, waits until every node is synced, prints each node's RPC
URL, height, sync state and health, then keeps printing a short status line
until Ctrl-C (or --duration seconds), stops every node with SIGTERM, and
removes the temporary home. Nothing is left running.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.stdout.reconfigure(line_buffering=True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def http_get(url, timeout=2.0):
    """(status, body) of a GET; status 0 when the node does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError):
        return 0, b''


def node_state(rpc_url):
    status, body = http_get(rpc_url + '/status')
    if status != 200:
        return None
    info = json.loads(body)['sync_info']
    health, _ = http_get(rpc_url + '/health')
    return {'height': info['latest_block_height'], 'syncing': info['syncing'],
            'health': health}


def print_table(nodes):
    print(f"{'node':<7} {'rpc':<24} {'height':>8} {'sync':<8} health")
    for name, url, _ in nodes:
        st = node_state(url)
        if st is None:
            print(f'{name:<7} {url:<24} {"-":>8} {"down":<8} -')
            continue
        sync = 'syncing' if st['syncing'] else 'synced'
        health = f"{st['health']} {'ok' if st['health'] == 200 else 'unhealthy'}"
        print(f"{name:<7} {url:<24} {st['height']:>8} {sync:<8} {health}")
    sys.stdout.flush()


def start_nodes(sim, home, count):
    subprocess.run([sim, '--home', home, 'localnet', '-v', str(count)], check=True,
                   stdout=subprocess.DEVNULL)
    nodes = []
    for i in range(count):
        node_home = os.path.join(home, f'node{i}')
        with open(os.path.join(node_home, 'config.json')) as fh:
            addr = json.load(fh)['rpc']['addr']
        log = open(os.path.join(node_home, 'neard-sim.log'), 'ab')
        proc = subprocess.Popen([sim, '--home', node_home, 'run'], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        log.close()
        nodes.append((f'node{i}', 'http://' + addr.replace('0.0.0.0', '127.0.0.1'), proc))
    return nodes


def wait_synced(nodes, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, _, proc in nodes:
            if proc.poll() is not None:
                raise RuntimeError(f'{name} exited with {proc.returncode}')
        states = [node_state(url) for _, url, _ in nodes]
        if all(s and not s['syncing'] and s['health'] == 200 for s in states):
            return True
        time.sleep(0.5)
    return False


def stop_nodes(nodes):
    for _, _, proc in nodes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    codes = []
    for name, _, proc in nodes:
        try:
            codes.append((name, proc.wait(30)))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append((name, proc.wait()))
    print('stopped: ' + ', '.join(f'{n} exit {c}' for n, c in codes))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sim', default=os.path.join(ROOT, 'build', 'neard-sim'))
    ap.add_argument('--nodes', type=int, default=4)
    ap.add_argument('--duration', type=float, default=None,
                    help='stop after this many seconds once synced (default: until Ctrl-C)')
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix='nearup-demo-')
    nodes = []
    stop = {'now': False}

    def on_signal(signum, frame):
        stop['now'] = True
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        print(f'localnet of {args.nodes} neard-sim nodes in {home}')
        nodes = start_nodes(args.sim, home, args.nodes)
        if not wait_synced(nodes, 120):
            print('demo: not every node synced within 120 s', file=sys.stderr)
            rc = 1
        print_table(nodes)
        if rc == 0:
            print('all nodes synced; Ctrl-C stops them')
            started = time.monotonic()
            next_print = started + 10
            while not stop['now']:
                now = time.monotonic()
                if args.duration is not None and now - started >= args.duration:
                    break
                if now >= next_print:
                    print_table(nodes)
                    next_print = now + 10
                time.sleep(0.2)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f'demo: {err}', file=sys.stderr)
        rc = 1
    finally:
        stop_nodes(nodes)
        shutil.rmtree(home, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
