"""nearup gateway: proxying, health classification (syncing, stale, lagging,
dead) with recovery, fail-open, endpoints and graceful shutdown, against
three neard-sim upstreams on one --fast chain (see gateway_helpers.py)."""
import http.client
import json
import re
import signal
import threading
import time

from conftest import SimNode, wait_until
from gateway_helpers import (call_body, control, gateways, make_chain, metric, resync,
                             rpc_count, start_nodes, stop_gateway, upstream_entries)

NAMES = ['n0', 'n1', 'n2']
FINAL = {'finality': 'final'}


def block_counts(nodes):
    return [rpc_count(n, 'block') for n in nodes]


def send_blocks(gw, n):
    for i in range(n):
        status, reply = gw.rpc('block', FINAL, req_id=i)
        assert status == 200 and 'result' in reply, (status, reply)
        assert reply['id'] == i


def three(tmp_path, sim_nodes, gateways, sync_bps=None, **settings):
    homes = make_chain(tmp_path, 3, sync_bps=sync_bps)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), **settings).start(wait_ok=NAMES)
    return nodes, gw


def test_proxies_calls_and_reports_state(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways)
    before = block_counts(nodes)
    send_blocks(gw, 30)
    got = [a - b for a, b in zip(block_counts(nodes), before)]
    assert sum(got) == 30 and all(g > 0 for g in got), got
    status, hc = gw.get_json('/healthcheck')
    assert status == 200
    assert (hc['status'], hc['ok'], hc['total'], hc['degraded']) == ('ok', 3, 3, False)
    ups = gw.upstream_states()
    assert sorted(ups) == NAMES
    assert sum(u['requests'] for u in ups.values()) == 30
    assert all(u['url'] == f'http://{n.rpc_addr}/' for u, n in zip(ups.values(), nodes))
    head = nodes[0].height()
    assert all(abs(u['head'] - head) <= 10 for u in ups.values())
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_requests_total', method='block', code='200') == 30
    assert metric(text, 'nearup_gateway_upstream_up', upstream='n1') == 1
    stop_gateway(gw)


def test_syncing_upstream_gets_no_traffic_and_returns(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways, sync_bps=10)
    resync(nodes[1], 12)  # syncing for ~6 s at 10 - 8 blocks/s
    gw.wait_states({'n1': 'syncing'})
    before = block_counts(nodes)
    send_blocks(gw, 20)
    after = block_counts(nodes)
    assert after[1] == before[1]
    assert (after[0] - before[0]) + (after[2] - before[2]) == 20
    gw.wait_states({'n1': 'ok'}, timeout=30)
    before = block_counts(nodes)
    send_blocks(gw, 30)
    assert block_counts(nodes)[1] > before[1]
    stop_gateway(gw)


def test_stale_upstream_gets_no_traffic_and_returns(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways, stale_after='1s', max_lag=1000000)
    control(nodes[2], stall=True)
    ups = gw.wait_states({'n2': 'stale'})
    assert re.fullmatch(r'head \d+ is \d+\.\d s old \(limit 1\.0 s\)', ups['n2']['last_error'])
    before = block_counts(nodes)
    send_blocks(gw, 20)
    assert block_counts(nodes)[2] == before[2]
    control(nodes[2], stall=False)
    gw.wait_states({'n2': 'ok'})
    before = block_counts(nodes)
    send_blocks(gw, 30)
    assert block_counts(nodes)[2] > before[2]
    stop_gateway(gw)


def test_lagging_upstream_is_measured_against_the_second_highest_head(tmp_path, sim_nodes,
                                                                     gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways, stale_after='1h', max_lag=5)
    control(nodes[0], stall=True)
    ups = gw.wait_states({'n0': 'lagging', 'n1': 'ok', 'n2': 'ok'})
    assert ups['n0']['lag'] > 5 and ups['n1']['lag'] <= 1
    m = re.fullmatch(r"head (\d+) is (\d+) blocks behind the reference's (\d+) \(limit 5\)",
                     ups['n0']['last_error'])
    assert m, ups['n0']['last_error']
    head, lag, ref = map(int, m.groups())
    assert lag > 5 and ref - head == lag
    before = block_counts(nodes)
    send_blocks(gw, 20)
    assert block_counts(nodes)[0] == before[0]
    control(nodes[0], stall=False)
    gw.wait_states({'n0': 'ok'})
    stop_gateway(gw)


def test_dead_upstream_gets_no_traffic_and_returns(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways)
    dead = nodes[1]
    dead.kill()
    ups = gw.wait_states({'n1': 'down'})
    assert 'connect' in ups['n1']['last_error']
    send_blocks(gw, 20)
    assert gw.upstream_states()['n1']['requests'] == ups['n1']['requests']
    back = sim_nodes(dead.home, sim_control=True, rpc_port=dead.rpc_port, net_port=dead.net_port)
    back.wait_synced()
    gw.wait_states({'n1': 'ok'})
    before = rpc_count(back, 'block')
    send_blocks(gw, 30)
    assert rpc_count(back, 'block') > before
    stop_gateway(gw)


def test_killing_an_upstream_under_load_loses_no_read(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways)
    results, stop = [], threading.Event()

    def client(k):
        conn = http.client.HTTPConnection('127.0.0.1', gw.port, timeout=15)
        i = 0
        while not stop.is_set():
            conn.request('POST', '/', body=call_body('block', FINAL, f'{k}-{i}'),
                         headers={'Content-Type': 'application/json'})
            resp = conn.getresponse()
            reply = json.loads(resp.read())
            results.append((resp.status, 'result' in reply, reply.get('id') == f'{k}-{i}'))
            i += 1
        conn.close()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: len(results) > 100, 20, what='load running')
    nodes[0].kill()
    seen = len(results)
    wait_until(lambda: len(results) > seen + 200, 30, what='load after the kill')
    stop.set()
    for t in threads:
        t.join()
    bad = [r for r in results if r != (200, True, True)]
    assert not bad, bad[:5]
    gw.wait_states({'n0': 'down'})
    stop_gateway(gw)


def test_all_unhealthy_fails_open_and_healthcheck_is_503(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways, stale_after='1s', max_lag=1000000)
    for n in nodes:
        control(n, stall=True)
    gw.wait_states({n: 'stale' for n in NAMES})
    status, hc = gw.get_json('/healthcheck')
    assert status == 503
    assert (hc['status'], hc['ok'], hc['degraded'], hc['states']['stale']) == \
        ('unhealthy', 0, True, 3)
    assert hc['reason'] == 'only 0 of 3 upstreams OK (min_healthy is 1)'
    send_blocks(gw, 10)  # fail open: the best of the rest still serves
    assert metric(gw.metrics(), 'nearup_gateway_degraded') == 1
    for n in nodes:
        control(n, stall=False)
    gw.wait_states({n: 'ok' for n in NAMES})
    assert gw.get_json('/healthcheck')[0] == 200
    stop_gateway(gw)


def test_fail_open_prefers_stale_over_syncing_over_down(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways, sync_bps=9, stale_after='1s',
                      max_lag=1000000)
    control(nodes[0], stall=True)
    resync(nodes[1], 20)  # catches up at 9 - 8 blocks/s: syncing for the whole test
    nodes[2].kill()
    gw.wait_states({'n0': 'stale', 'n1': 'syncing', 'n2': 'down'})
    before = block_counts(nodes[:2])
    send_blocks(gw, 10)
    after = block_counts(nodes[:2])
    assert (after[0] - before[0], after[1] - before[1]) == (10, 0)
    control(nodes[0], stall=False)
    stop_gateway(gw)


def test_graceful_shutdown_finishes_in_flight_requests(tmp_path, sim_nodes, gateways):
    nodes, gw = three(tmp_path, sim_nodes, gateways, health_interval='10s')
    for n in nodes:
        control(n, latency_ms=800)
    out = {}

    def slow():
        out['reply'] = gw.rpc('block', FINAL, req_id='slow')
    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: sum(u['inflight'] for u in gw.upstream_states().values()) == 1, 10,
               what='request in flight')
    gw.proc.send_signal(signal.SIGTERM)
    t.join()
    status, reply = out['reply']
    assert status == 200 and reply['id'] == 'slow' and 'result' in reply
    assert gw.proc.wait(20) == 0
    log = stop_gateway(gw)
    assert 'stopping: finishing in-flight requests' in log and 'gateway stopped' in log


def test_endpoints_and_methods(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 1)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes[:1])).start(wait_ok=['n0'])
    assert gw.request('GET', '/')[0] == 405
    assert gw.request('GET', '/nope')[0] == 404
    status, headers, _ = gw.request('POST', '/healthcheck')
    assert status == 405 and headers['allow'] == 'GET, HEAD'
    status, headers, body = gw.request('HEAD', '/healthcheck')
    assert status == 200 and body == b'' and int(headers['content-length']) > 0
    status, headers, _ = gw.request('GET', '/metrics')
    assert headers['content-type'].startswith('text/plain; version=0.0.4')
    # neard's own errors pass through unchanged
    status, reply = gw.rpc('no_such_method')
    assert status == 400 and reply['error']['cause']['name'] == 'METHOD_NOT_FOUND'
    stop_gateway(gw)
