"""neard-sim's HTTP surface: routes, HEAD semantics, keep-alive, body limit,
/debug gating, batches, and /health going 503 -> 200 as a node syncs."""
import http.client
import json
import time

import pytest

from conftest import SimNode, edit_config, init_local, wait_until

BODY_LIMIT = 2048


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    home = tmp_path_factory.mktemp('http') / 'home'
    init_local(home)
    edit_config(home, lambda c: c['rpc']['limits_config'].update(
        {'json_payload_max_size': BODY_LIMIT}))
    node = SimNode(home).start()
    node.wait_synced()
    yield node
    assert node.stop() == 0, node.log()


def test_start_log_line(sim):
    assert f'INFO network: Starting http server at {sim.rpc_addr}' in sim.log()


@pytest.mark.parametrize('path', ['/nope', '/status/x', '/metricsx', '/sim/control'])
def test_unknown_paths_404(sim, path):
    assert sim.get(path)[0] == 404


def test_wrong_methods(sim):
    assert sim.get('/')[0] == 405
    assert sim.request('POST', '/status', body='{}')[0] == 404


def test_debug_disabled_is_405(sim):
    assert sim.get('/debug/api/status')[0] == 405
    assert sim.get('/debug')[0] == 405


def test_head_semantics(sim):
    for path in ('/status', '/health'):
        g_status, g_headers, g_body = sim.get(path)
        h_status, h_headers, h_body = sim.request('HEAD', path)
        assert h_status == g_status == 200
        assert h_body == b''
        assert h_headers['content-type'] == 'application/json'
        if path == '/health':
            assert g_body == b'null' and h_headers['content-length'] == '4'
        else:
            assert int(h_headers['content-length']) > 100


def test_keep_alive(sim):
    conn = http.client.HTTPConnection('127.0.0.1', sim.rpc_port, timeout=5)
    try:
        conn.connect()
        sock = conn.sock
        for i in range(5):
            body = json.dumps({'jsonrpc': '2.0', 'id': i, 'method': 'health', 'params': []})
            conn.request('POST', '/', body=body, headers={'Content-Type': 'application/json'})
            resp = conn.getresponse()
            assert resp.status == 200
            assert json.loads(resp.read()) == {'jsonrpc': '2.0', 'result': None, 'id': i}
            conn.request('GET', '/health')
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b'null')
            assert conn.sock is sock  # same TCP connection throughout
    finally:
        conn.close()


def test_body_limit_413(sim):
    small = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'health',
                        'params': ['x' * (BODY_LIMIT - 200)]})
    assert sim.request('POST', '/', body=small)[0] == 200
    big = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'health',
                      'params': ['x' * BODY_LIMIT]})
    assert sim.request('POST', '/', body=big)[0] == 413


def test_batch(sim):
    batch = [{'jsonrpc': '2.0', 'id': 1, 'method': 'health', 'params': []},
             {'jsonrpc': '2.0', 'id': 2, 'method': 'bogus', 'params': []},
             {'jsonrpc': '2.0', 'id': 3, 'method': 'gas_price', 'params': [None]}]
    status, _, body = sim.request('POST', '/', body=json.dumps(batch))
    assert status == 200
    replies = json.loads(body)
    assert [r['id'] for r in replies] == [1, 2, 3]
    assert replies[0]['result'] is None
    assert replies[1]['error']['cause']['name'] == 'METHOD_NOT_FOUND'
    assert replies[2]['result'] == {'gas_price': '100000000'}
    status, _, body = sim.request('POST', '/', body='[]')
    assert status == 400
    assert json.loads(body)['error']['cause']['name'] == 'PARSE_ERROR'


def test_debug_enabled(tmp_path, sim_nodes):
    home = tmp_path / 'home'
    init_local(home)
    edit_config(home, lambda c: c['rpc'].update({'enable_debug_rpc': True}))
    node = sim_nodes(home)
    status, _, body = node.get('/debug/api/status')
    assert status == 200
    assert json.loads(body)['chain_id'] == 'simnet'
    assert node.get('/debug/api/nope')[0] == 404


def test_health_503_while_syncing_then_200(tmp_path, sim_nodes):
    """A node that starts ~60 blocks behind at 20 blocks/s catch-up is
    unhealthy (503, empty body) while it syncs, then healthy (200 null)."""
    home = tmp_path / 'home'
    init_local(home)
    edit_config(home, lambda c: c.update({'sim': {'sync_blocks_per_sec': 20}}))
    time.sleep(7.5)  # the chain advances from genesis time: ~60 blocks at 120 ms
    node = sim_nodes(home)
    status, headers, body = node.get('/health')
    assert (status, body) == (503, b'')
    assert node.status()['sync_info']['syncing'] is True
    assert node.get('/status')[0] == 200  # status never fails for syncing
    wait_until(lambda: node.get('/health')[0] == 200, timeout=30, what='healthy')
    assert node.get('/health')[2] == b'null'
    assert node.status()['sync_info']['syncing'] is False
