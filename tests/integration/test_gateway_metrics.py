"""nearup gateway metrics: exact counters and histogram buckets, bounded
method labels, `promtool check metrics`, a real Prometheus scrape, and the
access log."""
import json
import subprocess
import time
import urllib.parse
import urllib.request

from conftest import free_port, wait_until
from gateway_helpers import (call_body, gateways, make_chain, metric, start_nodes, stop_gateway,
                             upstream_entries)

FINAL = {'finality': 'final'}


def one(tmp_path, sim_nodes, gateways, **settings):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    return nodes[0], gateways(tmp_path, upstream_entries(nodes), **settings).start(
        wait_ok=['n0'])


def test_counters_histograms_and_bounded_labels(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways)
    for i in range(7):
        assert gw.rpc('block', FINAL, req_id=i)[0] == 200
    for m in ['made_up_1', 'made_up_2', 'EXPERIMENTAL_nope']:
        assert gw.rpc(m)[0] == 400  # neard: METHOD_NOT_FOUND, HTTP 400
    gw.request('POST', '/', body='{')
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_requests_total', method='block', code='200') == 7
    assert metric(text, 'nearup_gateway_requests_total', method='other', code='400') == 4
    assert 'made_up' not in text and 'EXPERIMENTAL_nope' not in text
    h = 'nearup_gateway_request_duration_seconds'
    assert metric(text, h + '_count', method='block') == 7
    assert metric(text, h + '_bucket', method='block', le='+Inf') == 7
    assert metric(text, h + '_bucket', method='block', le='30') == 7
    les = [line.split('le="')[1].split('"')[0] for line in text.splitlines()
           if line.startswith(h + '_bucket{method="block"')]
    assert les == ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5',
                   '1', '2.5', '5', '10', '30', '+Inf']
    assert metric(text, 'nearup_gateway_upstream_requests_total', upstream='n0') == 10
    assert metric(text, 'nearup_gateway_upstream_state', upstream='n0', state='ok') == 1
    assert metric(text, 'nearup_gateway_upstream_state', upstream='n0', state='down') == 0
    assert metric(text, 'nearup_gateway_upstream_head_height', upstream='n0') > 0
    assert metric(text, 'nearup_gateway_upstreams', state='ok') == 1
    assert metric(text, 'nearup_gateway_workers') == 2
    stop_gateway(gw)


def test_promtool_accepts_the_metrics(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways)
    for i in range(3):
        gw.rpc('block', FINAL, req_id=i)
    gw.post(json.dumps([json.loads(call_body('status', [], 1))]))
    text = gw.metrics()
    r = subprocess.run(['/usr/bin/promtool', 'check', 'metrics'], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == '' and r.stderr.strip() == '', r.stdout + r.stderr
    stop_gateway(gw)


def prom_query(port, q):
    url = f'http://127.0.0.1:{port}/api/v1/query?' + urllib.parse.urlencode({'query': q})
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())['data']['result']


def test_prometheus_scrapes_the_gateway(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways)
    for i in range(4):
        gw.rpc('block', FINAL, req_id=i)
    port = free_port()
    cfg = tmp_path / 'prometheus.yml'
    cfg.write_text('global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
                   'scrape_configs:\n  - job_name: gateway\n    static_configs:\n'
                   f'      - targets: ["127.0.0.1:{gw.port}"]\n')
    log = open(tmp_path / 'prometheus.log', 'wb')
    prom = subprocess.Popen(['/usr/bin/prometheus', f'--config.file={cfg}',
                             f'--storage.tsdb.path={tmp_path / "tsdb"}',
                             f'--web.listen-address=127.0.0.1:{port}'],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        def up():
            try:
                res = prom_query(port, 'up{job="gateway"}')
            except OSError:
                return None
            return res if res and res[0]['value'][1] == '1' else None
        wait_until(up, 60, interval=0.5, what='prometheus scraping the gateway')
        res = prom_query(port, 'nearup_gateway_requests_total{method="block",code="200"}')
        assert len(res) == 1 and res[0]['value'][1] == '4'
        res = prom_query(port, 'nearup_gateway_upstream_up')
        assert [(r['metric']['upstream'], r['value'][1]) for r in res] == [('n0', '1')]
    finally:
        prom.terminate()
        try:
            prom.wait(30)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()
    stop_gateway(gw)


def test_access_log(tmp_path, sim_nodes, gateways):
    path = tmp_path / 'access.log'
    node, gw = one(tmp_path, sim_nodes, gateways, access_log=str(path))
    assert gw.rpc('block', FINAL, req_id='a')[0] == 200
    gw.post(json.dumps([json.loads(call_body('status', [], 1)),
                        json.loads(call_body('block', FINAL, 2))]))
    stop_gateway(gw)  # flushes the buffered lines
    # each worker buffers its own lines, so the order across workers is free
    lines = [dict(kv.split('=', 1) for kv in line.split(' '))
             for line in path.read_text().splitlines()]
    assert len(lines) == 2, lines
    by_method = {e['method']: e for e in lines}
    first, second = by_method['block'], by_method['batch']
    assert (first['msg'], first['calls'], first['upstream'], first['status'],
            first['retries']) == ('access', '1', 'n0', '200', '0')
    assert first['client'].startswith('127.0.0.1:') and float(first['latency_ms']) > 0
    assert (second['calls'], second['status']) == ('2', '200')
