"""neard-sim's /metrics: neard's metric names, exact values and counts,
and valid Prometheus text (`promtool check metrics` exits 0)."""
import re
import subprocess
import time

import pytest

from conftest import SimNode, edit_config, init_local

PROMTOOL = '/usr/bin/promtool'
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    home = tmp_path_factory.mktemp('metrics') / 'home'
    init_local(home)
    edit_config(home, lambda c: c['rpc']['polling_config'].update(
        {'polling_timeout': {'secs': 0, 'nanos': 200000000}}))
    node = SimNode(home).start()
    node.wait_synced()
    yield node
    assert node.stop() == 0, node.log()


def scrape(node):
    status, headers, body = node.get('/metrics')
    assert status == 200
    assert headers['content-type'] == 'text/plain; version=0.0.4'
    text = body.decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith('#') or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        samples[m.group(1) + (m.group(2) or '')] = float(m.group(3))
    return text, samples


def test_promtool_accepts(sim):
    sim.rpc('status')
    sim.rpc('nope')
    text, _ = scrape(sim)
    r = subprocess.run([PROMTOOL, 'check', 'metrics'], input=text, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_node_gauges(sim):
    _, s = scrape(sim)
    st = sim.status()
    head = st['sync_info']['latest_block_height']
    assert abs(s['near_block_height_head'] - head) <= 3
    assert s['near_header_head_height'] >= s['near_block_height_head']
    assert s['near_sync_status'] == 0
    assert s['near_peer_connections_total'] == 0
    assert s['near_is_validator'] == 1
    assert s['near_build_info{release="2.4.0",build="sim",rustc_version="1.82.0"}'] == 1
    assert s['near_node_protocol_version'] == 73
    assert s['near_node_db_version'] == 42
    assert s['near_epoch_height'] >= 1
    assert s['near_tail_height'] == 0
    assert s['near_config_correct'] == 1
    assert abs(s['near_boot_time_seconds'] - (time.time() - st['uptime_sec'])) < 5
    assert s['near_peer_data_received_bytes'] == 0 and s['near_peer_data_sent_bytes'] == 0


def test_rpc_counters_exact(sim):
    _, before = scrape(sim)

    def val(s, key):
        return s.get(key, 0)
    for _ in range(3):
        sim.rpc('gas_price', [None])
    sim.rpc('gas_price', {'block_id': 10 ** 9})  # UNKNOWN_BLOCK: -32000
    sim.rpc('no_such_method')
    sim.rpc('query', {'request_type': 'view_account', 'finality': 'final', 'account_id': 'near'})
    sim.get('/status')
    sim.get('/status')
    _, after = scrape(sim)
    k = 'near_rpc_total_count{method="gas_price"}'
    assert val(after, k) - val(before, k) == 4
    k = 'near_rpc_error_count{method="gas_price",err_code="-32000"}'
    assert val(after, k) - val(before, k) == 1
    k = 'near_rpc_total_count{method="UNSUPPORTED_METHOD"}'
    assert val(after, k) - val(before, k) == 1
    k = 'near_rpc_error_count{method="UNSUPPORTED_METHOD",err_code="-32601"}'
    assert val(after, k) - val(before, k) == 1
    k = 'near_rpc_total_count{method="query_view_account"}'
    assert val(after, k) - val(before, k) == 1
    k = 'near_http_status_requests_total'
    assert val(after, k) - val(before, k) == 2
    k = 'near_http_prometheus_requests_total'
    assert val(after, k) - val(before, k) == 1
    k = 'near_rpc_processing_time_count{method="gas_price"}'
    assert val(after, k) - val(before, k) == 4


def test_processing_time_buckets(sim):
    sim.rpc('health')
    text, s = scrape(sim)
    les = re.findall(r'near_rpc_processing_time_bucket\{method="health",le="([^"]+)"\}', text)
    want = [0.001 * 2 ** i for i in range(16)]
    assert [float(x) for x in les[:-1]] == pytest.approx(want)
    assert les[-1] == '+Inf'
    assert s['near_rpc_processing_time_bucket{method="health",le="+Inf"}'] == \
        s['near_rpc_processing_time_count{method="health"}']


def test_timeout_counter(sim):
    _, before = scrape(sim)
    status, _ = sim.rpc('tx', ['8' * 44, 'test.near'])
    assert status == 408
    _, after = scrape(sim)
    assert after['near_rpc_timeout_total'] - before['near_rpc_timeout_total'] == 1
    k = 'near_rpc_error_count{method="tx",err_code="-32000"}'
    assert after[k] - before.get(k, 0) == 1
