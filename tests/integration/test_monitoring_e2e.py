"""The monitoring kit end to end: a real Prometheus (Debian `prometheus`)
scrapes two neard-sim nodes under `nearup run`, their supervisors, a
gateway in front of them and a canary, with
monitoring/rules/ loaded and their time scaled down (a minute of the rules
is SCALE_S seconds here); a real Alertmanager runs the example
configuration. A node stalled through /sim/control fires NearHeadStalled,
which reaches the page receiver's webhook; the healthy node never does."""
import json
import re
import subprocess
import urllib.request

import pytest
import yaml

from conftest import NEARD_SIM, NEARUP, free_port, load_json, wait_until
from gateway_helpers import gateways, make_chain  # noqa: F401 (fixture)
from lifecycle import Nearup, wait_synced
from prometheus_helpers import Prometheus, static_job
from test_monitoring_rules import RULES_DIR, alertmanager  # noqa: F401 (fixture)

SCALE_S = 3  # seconds standing for one minute of the rules
CLUSTER, ZONE = 'test', 'z1'


def scaled(text):
    """Rule text with every minute duration (`[2m]`, `for: 1m`) made
    SCALE_S seconds a minute, so alerts fire within a test."""
    def minutes(m):
        return f'{int(m.group(1)) * SCALE_S}s'
    text = re.sub(r'(?<=\[)(\d+)m(?=\])', minutes, text)
    return re.sub(r'(?<=for: )(\d+)m\b', minutes, text)


def write_rules(tmp_path):
    out = []
    for name in ('settings', 'neard'):
        with open(f'{RULES_DIR}/{name}.yml') as fh:
            text = scaled(fh.read())
        yaml.safe_load(text)  # still YAML
        path = tmp_path / f'{name}.yml'
        path.write_text(text)
        out.append(str(path))
    return out


def target(addr, job):
    return static_job(job, [(addr, {'cluster': CLUSTER, 'zone': ZONE})])


def run_nodes(nu, tmp_path):
    """Two neard-sim nodes of one chain under `nearup run` (each with its
    supervisor serving /metrics, and /sim/control on), the second booting
    from the first. Returns (RPC addresses, supervisor addresses)."""
    homes = make_chain(tmp_path, 2)
    key = load_json(homes[0] / 'node_key.json')['public_key']
    rpcs, nets, sups = [], [], []
    for i, home in enumerate(homes):
        rpcs.append(f'127.0.0.1:{free_port()}')
        nets.append(f'127.0.0.1:{free_port()}')
        sups.append(f'127.0.0.1:{free_port()}')
        args = ['run', 'simnet', '--home', home, '--binary-path', NEARD_SIM,
                '--rpc-addr', rpcs[i], '--network-addr', nets[i], '--metrics-listen', sups[i],
                '--env', 'NEARD_SIM_CONTROL=1']
        if i:
            args += ['--boot-nodes', f'{key}@{nets[0]}']
        nu.ok(*args)
    wait_synced([f'http://{a}' for a in rpcs], peers=1)
    return rpcs, sups


def stall(rpc_addr):
    req = urllib.request.Request(f'http://{rpc_addr}/sim/control', method='POST',
                                 data=json.dumps({'stall': True}).encode(),
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


@pytest.fixture
def stack(tmp_path, gateways, alertmanager):  # noqa: F811
    am_base, hook = alertmanager
    nu = Nearup(tmp_path)
    canary = None
    try:
        rpcs, sups = run_nodes(nu, tmp_path)
        gw = gateways(tmp_path, [(f'n{i}', {'url': f'http://{a}'}) for i, a in enumerate(rpcs)])
        gw.start(wait_ok=['n0', 'n1'])
        canary_port = free_port()
        canary = subprocess.Popen([NEARUP, 'canary', '--endpoint',
                                   f'http://127.0.0.1:{gw.port}', '--interval', '1s',
                                   '--listen', f'127.0.0.1:{canary_port}'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        labels = {'cluster': CLUSTER, 'zone': ZONE}
        jobs = [static_job('neard', [(a, labels) for a in rpcs]),
                static_job('nearup-node', [(a, labels) for a in sups]),
                target(f'127.0.0.1:{gw.port}', 'nearup-gateway'),
                target(f'127.0.0.1:{canary_port}', 'nearup-canary')]
        prom = Prometheus(tmp_path, jobs, write_rules(tmp_path), am_base.split('//', 1)[1])
        try:
            yield rpcs, prom, hook
        finally:
            prom.close()
    finally:
        if canary is not None:
            canary.terminate()
            canary.wait(timeout=10)
        nu.cleanup()


def test_a_stalled_node_pages_through_prometheus_and_alertmanager(stack):
    rpcs, prom, hook = stack

    def all_up():
        got = prom.query('up')
        return got if got and len(got) == 6 and all(r['value'][1] == '1' for r in got) else None
    ups = wait_until(all_up, timeout=30, interval=0.2, what='six targets up')
    assert sorted(r['metric']['job'] for r in ups) == ['neard', 'neard', 'nearup-canary',
                                                       'nearup-gateway', 'nearup-node',
                                                       'nearup-node']
    # Both supervisors say their node runs.
    running = prom.query('nearup_node_state{state="running"} == 1')
    assert len(running) == 2, running
    # The canary and the gateway are scraped with their own families.
    wait_until(lambda: prom.query('nearup_canary_success{check="status"} == 1'), timeout=30,
               interval=0.2, what='the canary passing')
    assert prom.query('nearup_gateway_upstream_up')

    stalled = rpcs[1]
    stall(stalled)

    def paged():
        for path, body in hook.posts:
            if path == '/page' and any(a['labels']['alertname'] == 'NearHeadStalled'
                                       for a in body['alerts']):
                return body
        return None
    body = wait_until(paged, timeout=60, interval=0.2, what='the NearHeadStalled page')
    assert body['receiver'] == 'page' and body['status'] == 'firing'
    assert body['groupLabels'] == {'cluster': CLUSTER, 'zone': ZONE}
    stalls = [a for a in body['alerts'] if a['labels']['alertname'] == 'NearHeadStalled']
    assert [a['labels'] for a in stalls] == [{
        'alertname': 'NearHeadStalled', 'severity': 'page', 'cluster': CLUSTER, 'zone': ZONE,
        'instance': stalled, 'job': 'neard'}]
    assert stalls[0]['annotations']['runbook_url'].endswith('/docs/runbooks/NearHeadStalled.md')
    # The healthy node never stalled.
    firing = prom.query('ALERTS{alertname="NearHeadStalled", alertstate="firing"}')
    assert [r['metric']['instance'] for r in firing] == [stalled]
