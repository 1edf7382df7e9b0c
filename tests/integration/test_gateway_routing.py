"""nearup gateway routing: archival routing by height and by hash, retries on
another upstream (503, 500, cut answers, connect failures, UNKNOWN_BLOCK,
NOT_SYNCED_YET / NO_SYNCED_BLOCKS), transaction safety, zone preference and
batches."""
import base64
import json

from conftest import wait_until
from gateway_helpers import (call_body, control, gateways, make_chain, metric, rpc_count,
                             start_nodes, stop_gateway, upstream_entries)

FINAL = {'finality': 'final'}
EPOCH = 5


def test_old_blocks_go_to_the_archival_upstream(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 3, epoch_length=EPOCH, gc_epochs=1, archival=(2,))
    nodes = start_nodes(homes, sim_nodes)
    # the two non-archival nodes GC everything older than three epochs
    wait_until(lambda: all(n.status()['sync_info']['earliest_block_height'] > 1
                           for n in nodes[:2]), 20, what='GC on n0 and n1')
    gw = gateways(tmp_path, upstream_entries(nodes, n2={'archival': 'true'})).start(
        wait_ok=['n0', 'n1', 'n2'])
    wait_until(lambda: all(u['earliest'] > 1 for n, u in gw.upstream_states().items()
                           if n != 'n2'), 10, what='earliest heights polled')
    before = [rpc_count(n, 'block') for n in nodes]
    for i in range(10):
        status, reply = gw.rpc('block', {'block_id': 1}, req_id=i)
        assert status == 200 and reply['result']['header']['height'] == 1, reply
    after = [rpc_count(n, 'block') for n in nodes]
    assert [a - b for a, b in zip(after, before)] == [0, 0, 10]
    # by hash the height is unknown: a non-archival node answers UNKNOWN_BLOCK
    # and the call is retried on the archival one
    h1 = nodes[2].result('block', {'block_id': 1})['header']['hash']
    for i in range(10):
        status, reply = gw.rpc('block', {'block_id': h1}, req_id=i)
        assert status == 200 and reply['result']['header']['height'] == 1, reply
    text = gw.metrics()
    missed = sum(rpc_count(n, 'block') - a for n, a in zip(nodes[:2], after[:2]))
    assert metric(text, 'nearup_gateway_retries_total', reason='unknown_block') == missed
    # recent blocks are spread as usual
    send = [gw.rpc('block', FINAL)[0] for _ in range(20)]
    assert send == [200] * 20
    stop_gateway(gw)


def test_unknown_block_for_a_height_others_have_is_retried(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 3)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), stale_after='1h', max_lag=1000000).start(
        wait_ok=['n0', 'n1', 'n2'])
    control(nodes[0], stall=True)  # stays OK (no lag limit) but its head stops
    stalled = nodes[0].height()
    h = wait_until(lambda: (lambda v: v if v > stalled + 3 else None)(
        min(u['head'] for n, u in gw.upstream_states().items() if n != 'n0')), 10,
        what='heads moving past the stalled node')
    before = rpc_count(nodes[0], 'block')
    for i in range(20):
        status, reply = gw.rpc('block', {'block_id': h}, req_id=i)
        assert status == 200 and reply['result']['header']['height'] == h, reply
    asked_n0 = rpc_count(nodes[0], 'block') - before
    assert asked_n0 > 0
    assert metric(gw.metrics(), 'nearup_gateway_retries_total', reason='unknown_block') == asked_n0
    control(nodes[0], stall=False)
    stop_gateway(gw)


def two_with_fault(tmp_path, sim_nodes, gateways, **knobs):
    """n0 faulty, n1 fine; health polls rare and passive marking off, so n0
    stays in rotation and every call that reaches it shows a retry."""
    homes = make_chain(tmp_path, 2)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), health_interval='1h', passive_failures=0,
                  retry_budget_min=1000).start(wait_ok=['n0', 'n1'])
    control(nodes[0], **knobs)
    return nodes, gw


def upstream_requests(gw, name):
    return metric(gw.metrics(), 'nearup_gateway_upstream_requests_total', upstream=name)


def check_retries(gw, nodes, reason, n=30):
    before = rpc_count(nodes[1], 'block')
    for i in range(n):
        status, reply = gw.rpc('block', FINAL, req_id=i)
        assert status == 200 and reply['id'] == i and 'result' in reply, reply
    assert rpc_count(nodes[1], 'block') - before == n
    sent_n0 = upstream_requests(gw, 'n0')
    assert sent_n0 > 0
    assert metric(gw.metrics(), 'nearup_gateway_retries_total', reason=reason) == sent_n0


def test_503_is_retried_on_another_upstream(tmp_path, sim_nodes, gateways):
    nodes, gw = two_with_fault(tmp_path, sim_nodes, gateways, status_503=100)
    check_retries(gw, nodes, 'http_503')
    assert metric(gw.metrics(), 'nearup_gateway_upstream_errors_total', upstream='n0',
                  kind='http_5xx') == upstream_requests(gw, 'n0')
    stop_gateway(gw)


def test_internal_error_is_retried_on_another_upstream(tmp_path, sim_nodes, gateways):
    nodes, gw = two_with_fault(tmp_path, sim_nodes, gateways, error_rate=100)
    check_retries(gw, nodes, 'internal_error')
    stop_gateway(gw)


def test_cut_answer_is_retried_on_another_upstream(tmp_path, sim_nodes, gateways):
    nodes, gw = two_with_fault(tmp_path, sim_nodes, gateways, close_mid_response=100)
    check_retries(gw, nodes, 'reset')
    assert metric(gw.metrics(), 'nearup_gateway_upstream_errors_total', upstream='n0',
                  kind='truncated') == upstream_requests(gw, 'n0')
    stop_gateway(gw)


def test_not_synced_answers_are_retried_on_another_upstream(tmp_path, sim_nodes, gateways):
    # n0's status says synced, so its health checks (every 100 ms here) keep
    # it OK, but its finality lookups fail NOT_SYNCED_YET / NO_SYNCED_BLOCKS
    homes = make_chain(tmp_path, 2)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), retry_budget_min=1000).start(
        wait_ok=['n0', 'n1'])
    control(nodes[0], not_synced=True)
    n = 20
    view = {'request_type': 'view_account', 'account_id': 'near', 'finality': 'final'}
    before = {m: [rpc_count(x, m) for x in nodes] for m in ('block', 'query_view_account')}
    for i in range(n):
        status, reply = gw.rpc('block', FINAL, req_id=i)
        assert status == 200 and reply['id'] == i and 'error' not in reply, reply
        assert reply['result']['header']['hash'], reply
        status, reply = gw.rpc('query', view, req_id=i)
        assert status == 200 and reply['id'] == i and 'error' not in reply, reply
        assert reply['result']['amount'], reply
    asked = {m: [rpc_count(x, m) - b for x, b in zip(nodes, before[m])] for m in before}
    # every call was answered by n1, first try or retry; n0's share all retried
    assert asked['block'][1] == n and asked['query_view_account'][1] == n
    assert asked['block'][0] > 0 and asked['query_view_account'][0] > 0
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_retries_total', reason='not_synced') == (
        asked['block'][0] + asked['query_view_account'][0])
    assert metric(text, 'nearup_gateway_upstream_requests_total', upstream='n0') == (
        asked['block'][0] + asked['query_view_account'][0])
    for reason in ('connect', 'reset', 'http_502', 'http_503', 'internal_error',
                   'unknown_block'):
        assert metric(text, 'nearup_gateway_retries_total', reason=reason) == 0
    assert gw.upstream_states()['n0']['state'] == 'ok'
    stop_gateway(gw)


def test_transactions_are_not_retried_once_sent(tmp_path, sim_nodes, gateways):
    nodes, gw = two_with_fault(tmp_path, sim_nodes, gateways, status_503=100)
    tx = base64.b64encode(b'not a transaction').decode()
    statuses = [gw.rpc('broadcast_tx_async', [tx], req_id=i)[0] for i in range(20)]
    # n0 answers 503 (passed on, never retried); n1 answers neard's parse error
    assert sorted(set(statuses)) == [400, 503]
    assert statuses.count(503) == upstream_requests(gw, 'n0')
    assert metric(gw.metrics(), 'nearup_gateway_retries_total', reason='http_503') == 0
    stop_gateway(gw)


def test_connect_failures_are_retried_even_for_transactions(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 2)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes, ['dead', 'n1']), health_interval='1h',
                  passive_failures=0, retry_budget_min=1000).start(wait_ok=['dead', 'n1'])
    nodes[0].kill()  # still OK for the gateway: no polls, no passive marking
    tx = base64.b64encode(b'not a transaction').decode()
    for i in range(20):
        status, reply = gw.rpc('broadcast_tx_async', [tx], req_id=i)
        assert status == 400 and reply['error']['cause']['name'] == 'PARSE_ERROR', reply
    text = gw.metrics()
    dead = metric(text, 'nearup_gateway_upstream_requests_total', upstream='dead')
    assert dead > 0
    assert metric(text, 'nearup_gateway_retries_total', reason='connect') == dead
    assert metric(text, 'nearup_gateway_upstream_errors_total', upstream='dead',
                  kind='connect') == dead
    stop_gateway(gw)


def test_retries_are_bounded(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 3)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), health_interval='1h', passive_failures=0,
                  retries=1).start(wait_ok=['n0', 'n1', 'n2'])
    for n in nodes:
        control(n, status_503=100)
    status, _, body = gw.request('POST', '/', body=call_body('block', FINAL, 'x'))
    assert status == 503
    reply = json.loads(body)
    assert reply['id'] == 'x' and reply['error']['name'] == 'INTERNAL_ERROR'
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_retries_total', reason='http_503') == 1
    assert sum(metric(text, 'nearup_gateway_upstream_requests_total', upstream=n)
               for n in ('n0', 'n1', 'n2')) == 2
    stop_gateway(gw)


def test_own_zone_is_preferred(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 3)
    nodes = start_nodes(homes, sim_nodes)
    ups = upstream_entries(nodes, n0={'zone': 'b'}, n1={'zone': 'a'}, n2={'zone': 'b'})
    gw = gateways(tmp_path, ups, zone='a').start(wait_ok=['n0', 'n1', 'n2'])
    before = [rpc_count(n, 'block') for n in nodes]
    for i in range(20):
        assert gw.rpc('block', FINAL, req_id=i)[0] == 200
    assert [rpc_count(n, 'block') - b for n, b in zip(nodes, before)] == [0, 20, 0]
    control(nodes[1], stall=True)  # out of the zone's rotation: others take over
    gw.wait_states({'n1': 'stale'})
    for i in range(10):
        assert gw.rpc('block', FINAL, req_id=i)[0] == 200
    assert rpc_count(nodes[0], 'block') + rpc_count(nodes[2], 'block') - before[0] - \
        before[2] == 10
    control(nodes[1], stall=False)
    stop_gateway(gw)


def test_batches_are_split_and_reassembled_in_order(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 2)
    nodes = start_nodes(homes, sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), max_batch=5, deny_methods='validators') \
        .start(wait_ok=['n0', 'n1'])
    batch = [{'jsonrpc': '2.0', 'id': i, 'method': m, 'params': p} for i, (m, p) in enumerate([
        ('block', FINAL), ('status', []), ('no_such', []), ('validators', [None]),
        ('block', {'block_id': 1})])]
    status, _, reply = gw.post(json.dumps(batch))
    assert status == 200 and [r['id'] for r in reply] == [0, 1, 2, 3, 4]
    assert 'result' in reply[0] and reply[1]['result']['chain_id'] == 'simnet'
    assert reply[2]['error']['cause']['name'] == 'METHOD_NOT_FOUND'
    assert reply[3]['error']['cause']['name'] == 'METHOD_NOT_ALLOWED'
    assert reply[4]['result']['header']['height'] == 1
    status, _, reply = gw.post(json.dumps(batch + batch[:1]))
    assert status == 400 and reply['id'] is None
    assert reply['error']['cause'] == {'name': 'PARSE_ERROR', 'info': {
        'error_message': 'batch must hold 1 to 5 requests, got 6'}}
    status, _, reply = gw.post('[]')
    assert status == 400 and reply['error']['code'] == -32700
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_batches_total') == 1
    assert metric(text, 'nearup_gateway_batch_calls_total') == 5
    assert metric(text, 'nearup_gateway_denied_requests_total') == 1
    stop_gateway(gw)
