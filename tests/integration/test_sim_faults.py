"""Failure injection through /sim/control (neard-sim --sim-control): each
knob with exact, deterministic counts."""
import http.client
import json
import re
import shutil
import signal
import socket
import time

import pytest

from conftest import (SimNode, edit_config, edit_genesis, init_local, sim_hash,
                      wait_until)

DEFAULTS = {'stall': False, 'latency_ms': 0, 'error_rate': 0, 'status_503': 0,
            'close_mid_response': 0, 'drop_before_answer': 0, 'hang': False,
            'not_synced': False, 'fork_from': None}


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    home = tmp_path_factory.mktemp('faults') / 'home'
    init_local(home)
    # /health's stale-head rule is 10 x max_block_production_delay: 1.5 s here.
    edit_config(home, lambda c: c['consensus'].update(
        {'max_block_production_delay': {'secs': 0, 'nanos': 150000000}}))
    node = SimNode(home, sim_control=True).start()
    node.wait_synced()
    yield node
    assert node.stop() == 0, node.log()


def control(node, body):
    status, _, data = node.request('POST', '/sim/control', body=json.dumps(body))
    return status, json.loads(data)


@pytest.fixture(autouse=True)
def reset(sim):
    yield
    assert control(sim, {'reset': True})[0] == 200


def settings(node):
    status, _, data = node.get('/sim/control')
    assert status == 200
    got = json.loads(data)
    return {k: got[k] for k in DEFAULTS}


def test_get_defaults(sim):
    assert settings(sim) == DEFAULTS


@pytest.mark.parametrize('body,msg', [
    ('{"stall": "yes"', 'invalid JSON'),
    ('[1]', 'body must be a JSON object'),
    ('{"bogus": 1}', 'unknown control key "bogus"'),
    ('{"error_rate": 101}', 'error_rate must be an integer from 0 to 100'),
    ('{"stall": 1}', 'stall must be true or false'),
    ('{"not_synced": "yes"}', 'not_synced must be true or false'),
    ('{"resync_from": 999999999}', 'resync_from 999999999: must be between'),
    ('{"fork_from": 0}', 'fork_from must be a block height of at least 1, or null'),
    ('{"fork_from": "7"}', 'fork_from must be a block height of at least 1, or null'),
])
def test_bad_control_input(sim, body, msg):
    status, _, data = sim.request('POST', '/sim/control', body=body)
    assert status == 400
    assert json.loads(data)['error'].startswith(msg)
    assert settings(sim) == DEFAULTS  # nothing applied


def statuses(node, n, method='status'):
    out = []
    for _ in range(n):
        status, _, body = node.request('POST', '/', body=json.dumps(
            {'jsonrpc': '2.0', 'id': 7, 'method': method, 'params': []}))
        out.append((status, body))
    return out


def test_error_rate_every_second_request(sim):
    assert control(sim, {'error_rate': 50})[1]['error_rate'] == 50
    got = statuses(sim, 10)
    assert [s for s, _ in got] == [200, 500] * 5
    err = json.loads(got[1][1])
    assert err['id'] == 7
    assert err['error']['name'] == 'INTERNAL_ERROR'
    assert err['error']['cause']['name'] == 'INTERNAL_ERROR'
    assert err['error']['code'] == -32000 and err['error']['message'] == 'Server error'
    assert err['error']['data'].startswith(
        'The node reached its limits. Try again later. More details: ')


def test_control_is_never_faulted(sim):
    control(sim, {'error_rate': 100, 'status_503': 100})
    assert [s for s, _ in statuses(sim, 3)] == [503, 503, 503]
    assert settings(sim)['error_rate'] == 100
    assert control(sim, {'reset': True})[0] == 200
    assert [s for s, _ in statuses(sim, 2)] == [200, 200]


def test_status_503_every_fourth(sim):
    control(sim, {'status_503': 25})
    got = statuses(sim, 8)
    assert [s for s, _ in got] == [200, 200, 200, 503] * 2
    assert got[3][1] == b''
    assert [sim.get('/health')[0] for _ in range(4)] == [200, 200, 200, 503]


def test_close_mid_response(sim):
    control(sim, {'close_mid_response': 50})
    outcomes = []
    for _ in range(6):
        try:
            status, _, body = sim.get('/status')
            json.loads(body)
            outcomes.append('ok')
        except (http.client.HTTPException, ConnectionError, ValueError):
            outcomes.append('cut')
    assert outcomes == ['ok', 'cut'] * 3


def rpc_total(node, method):
    _, _, body = node.get('/metrics')
    for line in body.decode().splitlines():
        if line.startswith('near_rpc_total_count{method="%s"} ' % method):
            return int(line.split()[-1])
    return 0


def test_drop_before_answer(sim):
    """The connection is closed with no byte of answer and the call is not
    processed: what a client sees when an upstream closes a kept-alive
    connection just as the request reaches it."""
    before = rpc_total(sim, 'gas_price')
    assert control(sim, {'drop_before_answer': 50})[1]['drop_before_answer'] == 50
    outcomes = []
    for _ in range(6):
        try:
            status, _, _ = sim.request('POST', '/', body=json.dumps(
                {'jsonrpc': '2.0', 'id': 7, 'method': 'gas_price', 'params': [None]}))
            outcomes.append(status)
        except http.client.RemoteDisconnected:
            outcomes.append('closed')
    assert outcomes == [200, 'closed'] * 3
    assert rpc_total(sim, 'gas_price') == before + 3
    assert settings(sim)['drop_before_answer'] == 50


def test_http_connections_counted(sim):
    before = json.loads(sim.get('/sim/control')[2])['http_connections']
    sim.get('/status')
    sim.get('/status')
    # each request helper call is a connection of its own, the GET included
    assert json.loads(sim.get('/sim/control')[2])['http_connections'] == before + 3


def test_idle_keep_alive_closed_after_5s_by_default(sim):
    """actix-web's default keep-alive, which neard 2.4's RPC server has: an
    idle connection is closed 5 s after its last answer; until then it
    serves further requests (here after 4 s idle; then it must be gone
    within the next 6.5 s)."""
    req = b'GET /status HTTP/1.1\r\nHost: x\r\n\r\n'
    port = int(sim.rpc_addr.rsplit(':', 1)[1])
    with socket.create_connection(('127.0.0.1', port), timeout=6.5) as s:
        for pause in (0, 4.0):
            time.sleep(pause)
            s.sendall(req)
            resp = http.client.HTTPResponse(s)
            resp.begin()
            assert resp.status == 200 and resp.getheader('Connection') is None
            json.loads(resp.read())
        assert s.recv(1) == b''  # closed by the server, before the socket timeout


def rpc_reply(node, method, params):
    status, _, body = node.request('POST', '/', body=json.dumps(
        {'jsonrpc': '2.0', 'id': 7, 'method': method, 'params': params}))
    return status, json.loads(body)


def not_synced_envelope(cause, data):
    """neard's envelope for a node without synced blocks (neard.md 3.2)."""
    return {'jsonrpc': '2.0', 'id': 7, 'error': {
        'name': 'HANDLER_ERROR', 'cause': {'name': cause}, 'code': -32000,
        'message': 'Server error', 'data': data}}


def test_not_synced_fails_finality_lookups_while_status_says_synced(sim):
    assert control(sim, {'not_synced': True})[1]['not_synced'] is True
    assert settings(sim)['not_synced'] is True
    for finality in ('optimistic', 'near-final', 'final'):
        assert rpc_reply(sim, 'block', {'finality': finality}) == (200, not_synced_envelope(
            'NOT_SYNCED_YET', 'There are no fully synchronized blocks yet'))
        assert rpc_reply(sim, 'query', {'request_type': 'view_account', 'account_id': 'near',
                                        'finality': finality}) == (200, not_synced_envelope(
            'NO_SYNCED_BLOCKS', 'There are no fully synchronized blocks on the node yet'))
    # what a status-based health check sees: a synced node
    status, reply = rpc_reply(sim, 'status', [])
    assert status == 200 and reply['result']['sync_info']['syncing'] is False
    assert sim.get('/health')[0] == 200
    # blocks by height are still served
    head = reply['result']['sync_info']['latest_block_height']
    status, reply = rpc_reply(sim, 'block', {'block_id': head})
    assert status == 200 and reply['result']['header']['height'] == head, reply
    # false and reset both clear it
    control(sim, {'not_synced': False})
    status, reply = rpc_reply(sim, 'block', {'finality': 'final'})
    assert status == 200 and 'result' in reply, reply
    control(sim, {'not_synced': True})
    assert control(sim, {'reset': True})[1]['not_synced'] is False
    status, reply = rpc_reply(sim, 'query', {'request_type': 'view_account', 'account_id': 'near',
                                             'finality': 'final'})
    assert status == 200 and reply['result']['amount'], reply


def test_latency(sim):
    control(sim, {'latency_ms': 300})
    t0 = time.monotonic()
    assert sim.get('/health')[0] == 200
    assert sim.rpc('health')[0] == 200
    assert time.monotonic() - t0 >= 0.6
    t0 = time.monotonic()
    assert sim.get('/sim/control')[0] == 200  # control answers at once
    assert time.monotonic() - t0 < 0.25


def test_hang_then_release(sim):
    control(sim, {'hang': True})
    with pytest.raises((socket.timeout, TimeoutError)):
        sim.get('/status', timeout=0.5)
    # A hung request stays open; releasing it closes the connection.
    conn = http.client.HTTPConnection('127.0.0.1', sim.rpc_port, timeout=5)
    conn.request('GET', '/health')
    time.sleep(0.2)
    assert settings(sim)['hang'] is True
    control(sim, {'hang': False})
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        conn.getresponse()
    conn.close()
    assert sim.get('/health')[0] == 200


def test_stall_no_new_blocks_then_recover(sim):
    control(sim, {'stall': True})
    h = sim.height()
    wait_until(lambda: sim.get('/health')[0] == 503, timeout=10, what='stale head')
    assert sim.height() == h
    status, reply = sim.rpc('health', [])
    assert status == 200
    err = reply['error']
    assert err['name'] == 'HANDLER_ERROR' and err['cause']['name'] == 'NO_NEW_BLOCKS'
    elapsed = err['cause']['info']['elapsed']
    assert set(elapsed) == {'secs', 'nanos'} and elapsed['secs'] >= 1
    assert err['data'] == {'name': 'NO_NEW_BLOCKS', 'info': {'elapsed': elapsed}}
    assert settings(sim)['stall'] is True
    control(sim, {'stall': False})
    wait_until(lambda: sim.get('/health')[0] == 200, timeout=30, what='healthy again')
    assert sim.height() > h


def test_crash_aborts(tmp_path, sim_nodes):
    home = tmp_path / 'home'
    init_local(home)
    node = sim_nodes(home, sim_control=True)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        node.request('POST', '/sim/control', body='{"crash": true}')
    node.proc.wait(10)
    assert node.proc.returncode == -signal.SIGABRT


def test_stop_with_hung_and_waiting_requests(tmp_path, sim_nodes):
    """SIGTERM ends the node cleanly (exit 0, no sanitizer finding) while a
    request hangs and another waits for an unknown transaction."""
    home = tmp_path / 'home'
    init_local(home)
    node = sim_nodes(home, sim_control=True)
    waiting = http.client.HTTPConnection('127.0.0.1', node.rpc_port, timeout=5)
    waiting.request('POST', '/', body=json.dumps(
        {'jsonrpc': '2.0', 'id': 1, 'method': 'tx', 'params': ['9' * 44, 'test.near']}))
    control(node, {'hang': True})
    hung = http.client.HTTPConnection('127.0.0.1', node.rpc_port, timeout=5)
    hung.request('GET', '/status')
    time.sleep(0.2)
    t0 = time.monotonic()
    assert node.stop() == 0, node.log()
    assert time.monotonic() - t0 < 5
    waiting.close()
    hung.close()


# ---- fork_from: a chain that differs from a height on ----

EPOCH = 4  # short epochs, so epoch ids that name forked blocks come soon


def fork_node(home, sim_nodes, archive=True, knob=None):
    """A node of a fast local chain with 4-block epochs and a stats line
    every 200 ms; knob sets sim.fork_from_height."""
    init_local(home)
    edit_genesis(home, lambda g: g.update(epoch_length=EPOCH))

    def cfg(c):
        c['log_summary_period'] = {'secs': 0, 'nanos': 200000000}
        c['archive'] = archive
        if knob is not None:
            c.setdefault('sim', {})['fork_from_height'] = knob
    edit_config(home, cfg)
    node = sim_nodes(home, sim_control=True)
    node.wait_synced()
    return node


def block(node, ref):
    return node.result('block', {'block_id': ref})


def wait_head(node, h):
    wait_until(lambda: node.height() >= h, timeout=30, what=f'head >= {h}')


def test_fork_from_makes_every_hash_from_that_height_on_differ(tmp_path, sim_nodes):
    node = fork_node(tmp_path / 'home', sim_nodes)
    st = node.status()
    chain, gh = st['chain_id'], st['genesis_hash']
    wait_head(node, 12)
    fork = node.height() - 4
    old = block(node, fork)['header']['hash']
    assert old == sim_hash(chain, gh, fork)
    status, got = control(node, {'fork_from': fork})
    logged = len(node.log())  # stats lines before this showed the old chain
    assert status == 200 and got['fork_from'] == fork
    assert got['head'] == fork - 1  # blocks from the fork on are dropped and synced again
    assert settings(node)['fork_from'] == fork
    # the first epoch whose id names a forked block: epoch_id(e) = hash(last block of e - 2)
    e = -(-fork // EPOCH) + 1
    first = 1 + e * EPOCH
    wait_head(node, first)
    assert block(node, fork - 1)['header']['hash'] == sim_hash(chain, gh, fork - 1)
    for h in (fork, fork + 1):
        b = block(node, h)
        assert b['header']['hash'] == sim_hash(chain, gh, h, fork_from=fork)
        assert b['header']['prev_state_root'] == sim_hash(chain, gh, h, 'state', 0, fork)
        assert b['chunks'][0]['chunk_hash'] == sim_hash(chain, gh, h, 'chunk', 0, fork)
        assert b['chunks'][0]['prev_block_hash'] == b['header']['prev_hash']
    assert block(node, fork)['header']['prev_hash'] == sim_hash(chain, gh, fork - 1)
    assert block(node, fork + 1)['header']['prev_hash'] == sim_hash(chain, gh, fork, fork_from=fork)
    assert block(node, first)['header']['epoch_id'] == sim_hash(chain, gh, (e - 1) * EPOCH,
                                                                fork_from=fork)
    # lookups by hash know the fork's blocks, not the dropped ones
    forked = sim_hash(chain, gh, fork, fork_from=fork)
    assert block(node, forked)['header']['height'] == fork
    status, reply = node.rpc('block', {'block_id': old})
    assert reply['error']['cause']['name'] == 'UNKNOWN_BLOCK', reply
    si = node.status()['sync_info']
    assert si['latest_block_hash'] == sim_hash(chain, gh, si['latest_block_height'],
                                               fork_from=fork)

    def stats_lines():
        lines = re.findall(r' INFO stats: # +(\d+) +(\w+) Validator', node.log()[logged:])
        return [(int(h), x) for h, x in lines if int(h) >= fork] or None
    for h, x in wait_until(stats_lines, what='a stats line past the fork'):
        assert x == sim_hash(chain, gh, h, fork_from=fork)
    # reset clears faults, not the data's fork; null does
    assert control(node, {'reset': True})[1]['fork_from'] == fork
    assert block(node, fork)['header']['hash'] == forked
    status, got = control(node, {'fork_from': None})
    assert status == 200 and got['fork_from'] is None and got['head'] == fork - 1
    wait_head(node, fork + 1)
    assert block(node, fork)['header']['hash'] == old
    assert block(node, fork + 1)['header']['prev_hash'] == old


def test_the_fork_is_in_the_data_so_a_copy_of_it_stays_forked(tmp_path, sim_nodes):
    a, b = tmp_path / 'a', tmp_path / 'b'
    node = fork_node(a, sim_nodes)
    st = node.status()
    chain, gh = st['chain_id'], st['genesis_hash']
    wait_head(node, 8)
    fork = node.height() - 2
    assert control(node, {'fork_from': fork})[0] == 200
    wait_head(node, fork + 2)
    assert node.stop() == 0, node.log()
    shutil.copytree(a, b)  # config.json without the knob: the fork comes with data/
    copy = sim_nodes(b, sim_control=True)
    assert settings(copy)['fork_from'] == fork
    assert block(copy, fork)['header']['hash'] == sim_hash(chain, gh, fork, fork_from=fork)
    assert block(copy, fork - 1)['header']['hash'] == sim_hash(chain, gh, fork - 1)


def test_the_config_knob_starts_a_node_forked(tmp_path, sim_nodes):
    node = fork_node(tmp_path / 'home', sim_nodes, knob=5)
    st = node.status()
    chain, gh = st['chain_id'], st['genesis_hash']
    assert settings(node)['fork_from'] == 5
    wait_head(node, 6)
    assert block(node, 4)['header']['hash'] == sim_hash(chain, gh, 4)
    assert block(node, 5)['header']['hash'] == sim_hash(chain, gh, 5, fork_from=5)


def test_a_fork_below_the_earliest_stored_block_is_refused(tmp_path, sim_nodes):
    node = fork_node(tmp_path / 'home', sim_nodes, archive=False)
    # gc keeps 5 epochs of 4 blocks: the earliest block moves on within seconds
    wait_until(lambda: node.status()['sync_info']['earliest_block_height'] > 1, timeout=30,
               what='garbage collection')
    status, _, data = node.request('POST', '/sim/control',
                                   body=json.dumps({'fork_from': 1, 'stall': True}))
    assert status == 400
    m = re.fullmatch(r'fork_from 1: block 1 would change, but the earliest block still stored '
                     r'is (\d+)', json.loads(data)['error'])
    assert m and int(m.group(1)) > 1, data
    assert settings(node)['stall'] is False and settings(node)['fork_from'] is None
