"""nearup gateway reads a call's method the way neard (serde_json) does:
JSON escapes in keys and string values are decoded, so an escaped spelling
of a method is that method for method lists, costs, metric labels, archival
routing, the transaction no-retry rule and batches; a call repeating a
request field, a lone surrogate or invalid UTF-8 is refused with neard's
parse error before anything is sent upstream."""
import json

from conftest import wait_until
from gateway_helpers import (control, gateways, make_chain, metric, rpc_count, start_nodes,
                             stop_gateway, upstream_entries)

VIEW = '{"request_type":"view_account","account_id":"test.near","finality":"final"}'

# Raw bodies (json.dumps would not write these escapes). Each spells `query`.
ESCAPED_QUERIES = [
    '{"jsonrpc":"2.0","id":%s,"method":"quer\\u0079","params":' + VIEW + '}',
    '{"jsonrpc":"2.0","id":%s,"m\\u0065thod":"query","params":' + VIEW + '}',
    '{"jsonrpc":"2.0","id":%s,"method":"\\u0071\\u0075\\u0065\\u0072\\u0079","params":'
    + VIEW + '}',
    '{"jsonrpc":"2.0","id":%s,"\\u006d\\u0065\\u0074\\u0068\\u006f\\u0064":"q\\u0075ery",'
    '"p\\u0061rams":' + VIEW + '}',
]


def one(tmp_path, sim_nodes, gateways, **settings):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    return nodes[0], gateways(tmp_path, upstream_entries(nodes), **settings).start(
        wait_ok=['n0'])


def post(gw, body):
    status, _, data = gw.request('POST', '/', body=body.encode() if isinstance(body, str)
                                 else body, headers={'Content-Type': 'application/json'})
    return status, json.loads(data)


def test_escaped_method_is_denied_and_labelled(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, deny_methods='query')
    for i, body in enumerate(ESCAPED_QUERIES):
        status, reply = post(gw, body % i)
        assert status == 403 and reply['id'] == i, (body, reply)
        assert reply['error']['cause'] == {'name': 'METHOD_NOT_ALLOWED',
                                           'info': {'method_name': 'query'}}
    # in a batch, the escaped query is refused in its place and the escaped block served
    batch = '[%s,{"jsonrpc":"2.0","id":"b","method":"bl\\u006fck","params":{"finality":"final"}}]'
    status, reply = post(gw, batch % (ESCAPED_QUERIES[1] % '"q"'))
    assert status == 200 and [r['id'] for r in reply] == ['q', 'b'], reply
    assert reply[0]['error']['cause']['name'] == 'METHOD_NOT_ALLOWED'
    assert reply[1]['result']['header']['hash'], reply
    status, reply = post(gw, '{"jsonrpc":"2.0","id":7,"method":"st\\u0061tus","params":[]}')
    assert status == 200 and reply['result']['chain_id'] == 'simnet', reply
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_requests_total', method='query', code='403') == 5
    assert metric(text, 'nearup_gateway_requests_total', method='block', code='200') == 1
    assert metric(text, 'nearup_gateway_requests_total', method='status', code='200') == 1
    assert metric(text, 'nearup_gateway_requests_total', method='other', code='200') is None
    assert metric(text, 'nearup_gateway_denied_requests_total') == 5
    assert rpc_count(node, 'query_view_account') == 0
    stop_gateway(gw)
    # an allow list lets the escaped spelling of an allowed method through
    (tmp_path / 'allow').mkdir()
    gw = gateways(tmp_path / 'allow', upstream_entries([node]), allow_methods='status').start(
        wait_ok=['n0'])
    status, reply = post(gw, '{"jsonrpc":"2.0","id":8,"\\u006dethod":"\\u0073tatus"}')
    assert status == 200 and reply['result']['chain_id'] == 'simnet', reply
    status, reply = post(gw, ESCAPED_QUERIES[0] % 9)
    assert status == 403 and reply['error']['cause']['info']['method_name'] == 'query', reply
    stop_gateway(gw)


def test_escaped_method_is_charged_its_cost(tmp_path, sim_nodes, gateways):
    # costs are large against the refill rate (1 token/s): a slow run keeps the verdicts
    node, gw = one(tmp_path, sim_nodes, gateways, rate_limit=1, rate_burst=40)
    with open(gw.ini, 'a') as fh:
        fh.write('[method_cost]\nquery = 30\nother = 1\n')
    gw.stop()
    gw.start(wait_ok=['n0'])
    # two escaped queries cost 60, more than the bucket holds
    status, reply = post(gw, '[%s,%s]' % (ESCAPED_QUERIES[0] % 1, ESCAPED_QUERIES[1] % 2))
    assert status == 429 and reply['error']['cause']['name'] == 'RATE_LIMITED', reply
    status, reply = post(gw, ESCAPED_QUERIES[2] % 3)  # 40 -> 10 tokens
    assert status == 200 and reply['id'] == 3 and 'amount' in reply['result'], reply
    status, reply = post(gw, ESCAPED_QUERIES[3] % 4)  # 10 < 30
    assert status == 429 and reply['id'] == 4, reply
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_rate_limited_requests_total') == 2
    assert metric(text, 'nearup_gateway_requests_total', method='query', code='200') == 1
    assert rpc_count(node, 'query_view_account') == 1
    stop_gateway(gw)


def test_escaped_transaction_is_never_sent_twice(tmp_path, sim_nodes, gateways):
    # n0 answers every call 503 (retried for reads); a transaction must stay with it
    nodes = start_nodes(make_chain(tmp_path, 2), sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes), health_interval='1h', passive_failures=0,
                  retry_budget_min=1000).start(wait_ok=['n0', 'n1'])
    control(nodes[0], status_503=100)
    tx = '"bm90IGEgdHJhbnNhY3Rpb24="'  # base64 of "not a transaction"
    bodies = ['{"jsonrpc":"2.0","id":%d,"method":"broadcast\\u005ftx\\u005fcommit","params":[%s]}',
              '{"jsonrpc":"2.0","id":%d,"m\\u0065thod":"broadcast_tx_commit","params":[%s]}']
    statuses = []
    for i in range(24):
        status, reply = post(gw, bodies[i % 2] % (i, tx))
        assert reply['id'] == i, reply
        statuses.append(status)
    # n0 answers 503 (passed on, never retried); n1 answers neard's parse error
    assert sorted(set(statuses)) == [400, 503], statuses
    text = gw.metrics()
    sent = [metric(text, 'nearup_gateway_upstream_requests_total', upstream=n) for n in
            ('n0', 'n1')]
    assert sent == [statuses.count(503), statuses.count(400)]
    assert rpc_count(nodes[1], 'broadcast_tx_commit') == statuses.count(400)
    assert metric(text, 'nearup_gateway_retries_total', reason='http_503') == 0
    assert metric(text, 'nearup_gateway_requests_total', method='broadcast_tx_commit',
                  code='503') == statuses.count(503)
    stop_gateway(gw)


def test_escaped_block_reference_goes_to_the_archival_upstream(tmp_path, sim_nodes, gateways):
    homes = make_chain(tmp_path, 3, epoch_length=5, gc_epochs=1, archival=(2,))
    nodes = start_nodes(homes, sim_nodes)
    wait_until(lambda: all(n.status()['sync_info']['earliest_block_height'] > 1
                           for n in nodes[:2]), 20, what='GC on n0 and n1')
    gw = gateways(tmp_path, upstream_entries(nodes, n2={'archival': 'true'})).start(
        wait_ok=['n0', 'n1', 'n2'])
    wait_until(lambda: all(u['earliest'] > 1 for n, u in gw.upstream_states().items()
                           if n != 'n2'), 10, what='earliest heights polled')
    before = [rpc_count(n, 'block') for n in nodes]
    bodies = ['{"jsonrpc":"2.0","id":%d,"method":"bl\\u006fck","params":{"block_id":1}}',
              '{"jsonrpc":"2.0","id":%d,"method":"block","params":{"block\\u005fid":1}}']
    for i in range(12):
        status, reply = post(gw, bodies[i % 2] % i)
        assert status == 200 and reply['result']['header']['height'] == 1, reply
    after = [rpc_count(n, 'block') for n in nodes]
    assert [a - b for a, b in zip(after, before)] == [0, 0, 12]
    assert metric(gw.metrics(), 'nearup_gateway_retries_total', reason='unknown_block') == 0
    stop_gateway(gw)


def parse_error(reply):
    err = reply['error']
    assert reply['id'] is None and err['name'] == 'REQUEST_VALIDATION_ERROR', reply
    assert err['cause']['name'] == 'PARSE_ERROR' and err['code'] == -32700, reply
    return err['data']


def test_unreadable_calls_are_refused_before_any_upstream(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways)
    cases = [
        ('{"jsonrpc":"2.0","id":1,"method":"block","method":"query","params":[]}',
         'duplicate field `method` at line 1 column 49'),
        ('{"jsonrpc":"2.0","id":1,"method":"block","m\\u0065thod":"block"}',
         'duplicate field `method` at line 1 column 54'),
        ('{"jsonrpc":"2.0","id":1,"method":"block","params":{},"params":{"finality":"final"}}',
         'duplicate field `params` at line 1 column 61'),
        ('{"jsonrpc":"2.0","id":1,"id":2,"method":"block"}',
         'duplicate field `id` at line 1 column 28'),
        ('{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"block"}',
         'duplicate field `jsonrpc` at line 1 column 26'),
        ('{"jsonrpc":"2.0","id":1,"method":"quer\\ud800y"}',
         'unexpected end of hex escape at line 1 column 45'),
        ('{"jsonrpc":"2.0","id":1,"method":"quer\\ud800\\u0041"}',
         'lone leading surrogate in hex escape at line 1 column 51'),
        ('{"jsonrpc":"2.0","id":1,"method":"quer\\udc00y"}',
         'lone leading surrogate in hex escape at line 1 column 45'),
        ('{"jsonrpc":"2.0","id":1,"method":"block","params":{"x":"\\ud83d"}}',
         'unexpected end of hex escape at line 1 column 63'),
        (b'{"jsonrpc":"2.0","id":1,"method":"quer\xffy"}',
         'invalid unicode code point at line 1 column 39'),
        (b'{"jsonrpc":"2.0","id":1,"method":"quer\xc1\xb9"}',
         'invalid unicode code point at line 1 column 39'),
        (b'{"jsonrpc":"2.0","id":1,"method":"query","params":{"x":"\xed\xa0\x80"}}',
         'invalid unicode code point at line 1 column 57'),
        ('[{"jsonrpc":"2.0","id":1,"method":"block","params":{"finality":"final"}},'
         '{"jsonrpc":"2.0","id":2,"method":"block","params":[],"params":[]}]',
         'duplicate field `params` at line 1 column 134'),
    ]
    before = rpc_count(node, 'block')
    for body, want in cases:
        status, reply = post(gw, body)
        assert status == 400 and parse_error(reply) == want, (body, reply)
    assert rpc_count(node, 'block') == before
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_parse_errors_total') == len(cases)
    assert metric(text, 'nearup_gateway_upstream_requests_total', upstream='n0') == 0
    # a surrogate pair is a character: the call is served and its id echoed decoded
    status, reply = post(gw, '{"jsonrpc":"2.0","id":"\\ud83d\\ude00","method":"block",'
                             '"params":{"finality":"final"}}')
    assert status == 200 and reply['id'] == '\U0001F600' and reply['result']['header'], reply
    stop_gateway(gw)
