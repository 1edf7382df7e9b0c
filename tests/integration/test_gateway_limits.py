"""nearup gateway protection: load shedding at max_inflight, per-client rate
limits with method costs, allow/deny lists, and bad clients (malformed HTTP,
oversized bodies, smuggling attempts, invalid JSON, slow clients) that must
get a correct error without disturbing other clients."""
import http.client
import json
import socket
import threading
import time

from conftest import wait_until
from gateway_helpers import (call_body, control, gateways, make_chain, metric, start_nodes,
                             stop_gateway, upstream_entries)

FINAL = {'finality': 'final'}


def one(tmp_path, sim_nodes, gateways, upstream_opts=None, **settings):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    ups = upstream_entries(nodes, n0=upstream_opts or {})
    return nodes[0], gateways(tmp_path, ups, **settings).start(wait_ok=['n0'])


def raw(port, data, timeout=5.0):
    """Sends raw bytes, returns everything the gateway answers until it closes."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        out = b''
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out


def status_of(answer):
    return int(answer.split(b' ', 2)[1]) if answer.startswith(b'HTTP/1.1 ') else None


class KeepAliveClient:
    """A client on one kept-alive connection; each call must succeed."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)

    def call(self, i=0):
        self.conn.request('POST', '/', body=call_body('block', FINAL, i),
                          headers={'Content-Type': 'application/json'})
        resp = self.conn.getresponse()
        reply = json.loads(resp.read())
        assert resp.status == 200 and reply['id'] == i and 'result' in reply, reply
        return reply


def test_saturation_sheds_with_503_and_retry_after(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, {'max_inflight': 1}, retry_after=3,
                   health_interval='1h')
    control(node, latency_ms=1500)
    out = {}
    t = threading.Thread(target=lambda: out.update(r=gw.rpc('block', FINAL, req_id='held')))
    t.start()
    wait_until(lambda: gw.upstream_states()['n0']['inflight'] == 1, 10, what='slot taken')
    status, headers, body = gw.request('POST', '/', body=call_body('block', FINAL, 'shed'))
    reply = json.loads(body)
    assert status == 503 and headers['retry-after'] == '3'
    assert reply['id'] == 'shed' and reply['error']['name'] == 'INTERNAL_ERROR'
    assert 'max_inflight' in reply['error']['cause']['info']['error_message']
    t.join()
    assert out['r'][0] == 200
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_shed_requests_total', reason='max_inflight') == 1
    assert metric(text, 'nearup_gateway_requests_total', method='block', code='503') == 1
    stop_gateway(gw)


def test_rate_limit_per_client_with_method_costs(tmp_path, sim_nodes, gateways):
    # costs are large against the refill rate (1 token/s), so slow runs do not change a verdict
    node, gw = one(tmp_path, sim_nodes, gateways, rate_limit=1, rate_burst=40)
    with open(gw.ini, 'a') as fh:
        fh.write('[method_cost]\nblock = 10\nstatus = 10\nquery = 30\nvalidators = 100\n')
    gw.stop()
    gw.start(wait_ok=['n0'])
    assert gw.rpc('block', FINAL)[0] == 200  # 40 -> 30 tokens
    assert gw.rpc('status')[0] == 200  # -> 20
    status, headers, body = gw.request('POST', '/', body=call_body(
        'query', {'request_type': 'view_account', 'account_id': 'test.near', 'finality': 'final'},
        'q'))
    reply = json.loads(body)
    assert status == 429 and int(headers['retry-after']) >= 1
    assert reply['id'] == 'q' and reply['error']['cause']['name'] == 'RATE_LIMITED'
    # a batch is charged as a whole: 3 x 10 > 20
    batch = json.dumps([json.loads(call_body('block', FINAL, i)) for i in range(3)])
    status, _, reply = gw.post(batch)
    assert status == 429 and reply['id'] is None
    # a cost above the bucket never fits
    assert gw.request('POST', '/', body=call_body('validators', [None]))[0] == 429
    assert metric(gw.metrics(), 'nearup_gateway_rate_limited_requests_total') == 3
    stop_gateway(gw)


def test_denied_methods_http_mode(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, deny_methods='query, broadcast_tx_commit')
    status, reply = gw.rpc('query', {'request_type': 'view_account', 'account_id': 'test.near',
                                     'finality': 'final'}, req_id=9)
    assert status == 403 and reply['id'] == 9
    assert reply['error']['cause'] == {'name': 'METHOD_NOT_ALLOWED',
                                       'info': {'method_name': 'query'}}
    assert gw.rpc('block', FINAL)[0] == 200
    stop_gateway(gw)


def test_allow_list_jsonrpc_mode(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, allow_methods='status,block',
                   deny_mode='jsonrpc')
    assert gw.rpc('block', FINAL)[0] == 200
    status, reply = gw.rpc('tx', ['x', 'y'])
    assert status == 200 and reply['error']['cause']['name'] == 'METHOD_NOT_ALLOWED'
    status, reply = gw.rpc('made_up_method')  # unknown methods are "other"
    assert status == 200 and reply['error']['cause']['info']['method_name'] == 'other'
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_denied_requests_total') == 2
    assert metric(text, 'nearup_gateway_requests_total', method='other', code='200') == 1
    stop_gateway(gw)


def test_invalid_json_gets_neards_parse_error(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways)
    for body in ['{"jsonrpc": "2.0", "id": 1, "method": ', 'not json', '', '{"a":1} x']:
        status, _, data = gw.request('POST', '/', body=body)
        reply = json.loads(data)
        assert status == 400 and reply['id'] is None, (body, reply)
        assert reply['error']['name'] == 'REQUEST_VALIDATION_ERROR'
        assert reply['error']['cause']['name'] == 'PARSE_ERROR'
        assert reply['error']['code'] == -32700 and reply['error']['message'] == 'Parse error'
    status, _, data = gw.request('POST', '/', body='[' * 100 + ']' * 100)
    assert status == 400 and 'recursion limit' in json.loads(data)['error']['data']
    assert metric(gw.metrics(), 'nearup_gateway_parse_errors_total') == 5
    stop_gateway(gw)


def test_bad_http_gets_an_error_and_others_are_not_disturbed(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, max_body='2KiB', max_header='2KiB')
    good = KeepAliveClient(gw.port)
    good.call(0)
    body = call_body('block', FINAL)
    cases = [
        (b'GARBAGE\r\n\r\n', 400),
        (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n' + b'x' * 5000, 413),
        (b'POST / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 4000 + b'\r\n\r\n', 431),
        # smuggling: conflicting framing
        (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n'
         b'0\r\n\r\n', 400),
        (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 6\r\n\r\nabcdef',
         400),
        (b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n', 400),
    ]
    for i, (data, want) in enumerate(cases):
        assert status_of(raw(gw.port, data)) == want, data[:80]
        good.call(i + 1)
    # a smuggled second request inside a body is just body bytes (bad JSON)
    smuggle = b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'
    answer = raw(gw.port, b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: '
                 b'close\r\n\r\n%s' % (len(smuggle), smuggle))
    assert status_of(answer) == 400 and answer.count(b'HTTP/1.1') == 1
    assert b'PARSE_ERROR' in answer
    # a proper chunked body is fine
    chunked = b'%x\r\n%s\r\n0\r\n\r\n' % (len(body), body.encode())
    answer = raw(gw.port, b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
                 b'Connection: close\r\n\r\n' + chunked)
    assert status_of(answer) == 200 and b'"result"' in answer
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_http_errors_total', kind='too_large') is not None
    stop_gateway(gw)


def test_slow_clients_time_out_without_disturbing_others(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, header_timeout='500ms', body_timeout='1s')
    good = KeepAliveClient(gw.port)
    slow_head = socket.create_connection(('127.0.0.1', gw.port))
    slow_head.sendall(b'POST / HTTP/1.1\r\nHost: x\r\n')
    slow_body = socket.create_connection(('127.0.0.1', gw.port))
    slow_body.sendall(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"json')
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < 1.5:  # keep working while the slow ones hang
        good.call(i)
        i += 1
    for s in (slow_head, slow_body):
        s.settimeout(5)
        answer = s.recv(4096)
        assert status_of(answer) == 408, answer
        s.close()
    good.call(i)
    stop_gateway(gw)


def test_upstream_that_hangs_times_out_with_504(tmp_path, sim_nodes, gateways):
    node, gw = one(tmp_path, sim_nodes, gateways, upstream_timeout='300ms', health_interval='1h',
                   passive_failures=0)
    control(node, hang=True)
    status, reply = gw.rpc('block', FINAL, req_id='h')
    assert status == 504 and reply['id'] == 'h'
    assert 'no answer within 300 ms' in reply['error']['cause']['info']['error_message']
    control(node, hang=False)
    assert gw.rpc('block', FINAL)[0] == 200
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_upstream_errors_total', upstream='n0',
                  kind='timeout') == 1
    stop_gateway(gw)
