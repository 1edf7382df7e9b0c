"""Helpers for the nearup gateway tests: a chain of neard-sim upstreams and
a `nearup gateway` process on 127.0.0.1.

Upstreams share one chain: the first home is initialised with
`init --fast`, the others too and then get its genesis.json, so every node
computes the same heads and hashes from the clock (docs/neard-sim.md,
"Chain model"). Each node runs alone (no peers needed: local chains set
skip_sync_wait)."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (NEARUP, SimNode, edit_config, edit_genesis, free_port, init_local,
                      wait_until)


def make_chain(tmp_path, n, epoch_length=None, gc_epochs=None, archival=(), sync_bps=None):
    """Initialises n homes on one chain; returns their paths."""
    homes = [tmp_path / f'up{i}' for i in range(n)]
    init_local(homes[0])
    if epoch_length:
        edit_genesis(homes[0], lambda g: g.update(epoch_length=epoch_length))
    for h in homes[1:]:
        init_local(h)
        shutil.copy(homes[0] / 'genesis.json', h / 'genesis.json')
    for i, h in enumerate(homes):
        def change(c, i=i):
            if gc_epochs is not None:
                c['gc_num_epochs_to_keep'] = gc_epochs
            if i in archival:
                c['archive'] = True
            if sync_bps is not None:
                c.setdefault('sim', {})['sync_blocks_per_sec'] = sync_bps
        edit_config(h, change)
    return homes


def start_nodes(homes, sim_nodes, **kw):
    """Starts a node per home and waits until all have caught up with the
    chain (a node reports syncing false at height 0 before its first sync)."""
    nodes = [sim_nodes(h, sim_control=True, **kw) for h in homes]

    def caught_up():
        infos = [n.status()['sync_info'] for n in nodes]
        heads = [i['latest_block_height'] for i in infos]
        return (all(not i['syncing'] for i in infos) and min(heads) > 0
                and max(heads) - min(heads) <= 2)
    wait_until(caught_up, 30, what='nodes caught up')
    return nodes


def control(node, **knobs):
    """POSTs failure-injection knobs to a node's /sim/control."""
    status, _, body = node.request('POST', '/sim/control', body=json.dumps(knobs),
                                   headers={'Content-Type': 'application/json'})
    assert status == 200, body
    return json.loads(body)


def resync(node, blocks):
    """Drops node's head `blocks` back (waiting until the chain is that long)."""
    h = wait_until(lambda: (lambda v: v if v > blocks + 1 else None)(node.height()), 30,
                   what=f'head above {blocks + 1}')
    return control(node, resync_from=h - blocks)


def rpc_count(node, method):
    """near_rpc_total_count{method=...} of a neard-sim node (0 when absent)."""
    _, _, body = node.get('/metrics')
    m = re.search(r'^near_rpc_total_count\{method="%s"\} (\d+)' % re.escape(method),
                  body.decode(), re.M)
    return int(m.group(1)) if m else 0


def metric(text, name, **labels):
    """Value of one sample in a Prometheus text page (None when absent)."""
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ''))
        if all(got.get(k) == str(v) for k, v in labels.items()):
            return float(m.group(3))
    return None


def call_body(method, params=None, req_id=1):
    return json.dumps({'jsonrpc': '2.0', 'id': req_id, 'method': method,
                       'params': params if params is not None else []})


class Gateway:
    """A `nearup gateway -c FILE` process with its INI file."""

    def __init__(self, tmp_path, upstreams, workers=2, **settings):
        self.dir = tmp_path
        self.port = free_port()
        self.ini = tmp_path / 'gateway.ini'
        self.log_path = tmp_path / 'gateway.log'
        self.settings = {'listen': f'127.0.0.1:{self.port}', 'workers': workers,
                         'health_interval': '100ms', 'health_timeout': '1s',
                         'rise': 2, 'fall': 2, 'stale_after': '2s', 'max_lag': 10}
        self.settings.update(settings)
        self.upstreams = upstreams
        self.proc = None
        self._log = None
        self.write_config()

    def write_config(self, extra=''):
        # settings before any section may come from any section
        lines = [f'{k} = {v}' for k, v in self.settings.items()]
        for name, opts in self.upstreams:
            lines.append(f'[upstream {name}]')
            lines += [f'{k} = {v}' for k, v in opts.items()]
        self.ini.write_text('\n'.join(lines) + '\n' + extra)

    def start(self, wait_ok=None):
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen([NEARUP, 'gateway', '-c', str(self.ini)], stdout=self._log,
                                     stderr=self._log, stdin=subprocess.DEVNULL)
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f'gateway exited {self.proc.returncode}:\n{self.log()}')
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=0.2):
                    return True
            except OSError:
                return False
        wait_until(up, 15, what='gateway listening')
        if wait_ok is not None:
            self.wait_states({n: 'ok' for n in wait_ok})
        return self

    def log(self):
        if self._log:
            self._log.flush()
        return self.log_path.read_text(errors='replace') if self.log_path.exists() else ''

    def request(self, method, path, body=None, headers=None, timeout=15.0):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def post(self, body, timeout=15.0):
        """POSTs a JSON-RPC body; returns (status, headers, decoded JSON)."""
        status, headers, data = self.request('POST', '/', body=body,
                                             headers={'Content-Type': 'application/json'},
                                             timeout=timeout)
        return status, headers, json.loads(data)

    def rpc(self, method, params=None, req_id=1, timeout=15.0):
        status, _, reply = self.post(call_body(method, params, req_id), timeout)
        return status, reply

    def get_json(self, path):
        status, _, data = self.request('GET', path)
        return status, json.loads(data)

    def upstream_states(self):
        _, doc = self.get_json('/upstreams')
        return {u['name']: u for u in doc['upstreams']}

    def wait_states(self, want, timeout=20.0):
        # An upstream not listed yet (a DNS member before the first
        # resolution) is not in its state yet either.
        def ok():
            got = self.upstream_states()
            return got if all(n in got and got[n]['state'] == s for n, s in want.items()) else None
        return wait_until(ok, timeout, what=f'upstream states {want}')

    def metrics(self):
        status, _, data = self.request('GET', '/metrics')
        assert status == 200
        return data.decode()

    def reload(self):
        """SIGHUP; waits for the reload to be logged; returns the new log part."""
        before = len(self.log())
        self.proc.send_signal(signal.SIGHUP)
        return wait_until(lambda: (lambda t: t if ('config reloaded' in t or
                                                   'config reload failed' in t) else None)(
            self.log()[before:]), 10, what='reload logged')

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Stops the gateway; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f'gateway did not stop:\n{self.log()}')
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def upstream_entries(nodes, names=None, **extra):
    """[(name, {url: ...})] for nodes; extra[name] adds options."""
    names = names or [f'n{i}' for i in range(len(nodes))]
    out = []
    for name, node in zip(names, nodes):
        opts = {'url': f'http://{node.rpc_addr}'}
        opts.update(extra.get(name, {}))
        out.append((name, opts))
    return out


def stop_gateway(gw):
    """Stops gw and asserts a clean exit (0; sanitizers report leaks as failures)."""
    rc = gw.stop()
    log = gw.log()
    assert rc == 0, log
    assert 'ERROR: AddressSanitizer' not in log and 'LeakSanitizer' not in log, log
    return log


@pytest.fixture
def gateways():
    """Factory: gateways(tmp_path, upstreams, **settings) -> Gateway (not started); all
    are killed at teardown."""
    made = []

    def make(tmp_path, upstreams, **kw):
        gw = Gateway(tmp_path, upstreams, **kw)
        made.append(gw)
        return gw
    yield make
    for gw in made:
        gw.kill()
        if gw._log:
            gw._log.close()
