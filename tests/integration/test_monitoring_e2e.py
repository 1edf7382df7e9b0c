"""The monitoring kit end to end: a real Prometheus (Debian `prometheus`)
scrapes two neard-sim nodes, a gateway in front of them and a canary, with
monitoring/rules/ loaded and their time scaled down (a minute of the rules
is SCALE_S seconds here); a real Alertmanager runs the example
configuration. A node stalled through /sim/control fires NearHeadStalled,
which reaches the page receiver's webhook; the healthy node never does."""
import json
import re
import subprocess
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import NEARUP, free_port, wait_until
from gateway_helpers import (control, gateways, make_chain, start_nodes,  # noqa: F401
                             upstream_entries)
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
    return {'job_name': job, 'metrics_path': '/metrics',
            'static_configs': [{'targets': [addr],
                                'labels': {'cluster': CLUSTER, 'zone': ZONE}}]}


class Prometheus:
    def __init__(self, tmp_path, rule_files, jobs, am_addr):
        self.port = free_port()
        cfg = {'global': {'scrape_interval': '1s', 'evaluation_interval': '1s',
                          'scrape_timeout': '900ms'},
               'rule_files': rule_files,
               'alerting': {'alertmanagers': [{'static_configs': [{'targets': [am_addr]}]}]},
               'scrape_configs': jobs}
        conf = tmp_path / 'prometheus.yml'
        conf.write_text(yaml.safe_dump(cfg))
        check = subprocess.run(['promtool', 'check', 'config', str(conf)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = open(tmp_path / 'prometheus.log', 'w')
        self.proc = subprocess.Popen(
            ['prometheus', f'--config.file={conf}', f'--storage.tsdb.path={tmp_path / "tsdb"}',
             f'--web.listen-address=127.0.0.1:{self.port}', '--log.level=warn'],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f'http://127.0.0.1:{self.port}'

    def query(self, q):
        url = f'{self.base}/api/v1/query?' + urllib.parse.urlencode({'query': q})
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                body = json.loads(resp.read())
        except OSError:
            assert self.proc.poll() is None, 'prometheus exited'
            return None
        assert body['status'] == 'success', body
        return body['data']['result']

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def stack(tmp_path, sim_nodes, gateways, alertmanager):  # noqa: F811
    am_base, hook = alertmanager
    nodes = start_nodes(make_chain(tmp_path, 2), sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes)).start(wait_ok=['n0', 'n1'])
    canary_port = free_port()
    canary = subprocess.Popen([NEARUP, 'canary', '--endpoint', f'http://127.0.0.1:{gw.port}',
                               '--interval', '1s', '--listen', f'127.0.0.1:{canary_port}'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    jobs = [{'job_name': 'neard', 'scrape_interval': '1s',
             'static_configs': [{'targets': [n.rpc_addr for n in nodes],
                                 'labels': {'cluster': CLUSTER, 'zone': ZONE}}]},
            target(f'127.0.0.1:{gw.port}', 'nearup-gateway'),
            target(f'127.0.0.1:{canary_port}', 'nearup-canary')]
    prom = Prometheus(tmp_path, write_rules(tmp_path), jobs, am_base.split('//', 1)[1])
    try:
        yield nodes, prom, hook
    finally:
        prom.close()
        canary.terminate()
        canary.wait(timeout=10)


def test_a_stalled_node_pages_through_prometheus_and_alertmanager(stack):
    nodes, prom, hook = stack

    def all_up():
        got = prom.query('up')
        return got if got and len(got) == 4 and all(r['value'][1] == '1' for r in got) else None
    ups = wait_until(all_up, timeout=30, interval=0.2, what='four targets up')
    assert sorted(r['metric']['job'] for r in ups) == ['neard', 'neard', 'nearup-canary',
                                                       'nearup-gateway']
    # The canary and the gateway are scraped with their own families.
    wait_until(lambda: prom.query('nearup_canary_success{check="status"} == 1'), timeout=30,
               interval=0.2, what='the canary passing')
    assert prom.query('nearup_gateway_upstream_up')

    stalled = nodes[1].rpc_addr
    control(nodes[1], stall=True)

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
