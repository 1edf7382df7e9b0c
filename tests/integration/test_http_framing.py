"""Strict HTTP/1.1 framing in every server built on src/lib (the gateway and
neard-sim): requests a front proxy could frame differently (obs-fold,
chunk data without CRLF, empty header names, bare LF, missing or repeated
Host) get 400 with a one-line reason and a closed connection, and never
reach an upstream."""
import json
import socket

from conftest import wait_until
from gateway_helpers import (call_body, gateways, make_chain, metric, rpc_count, start_nodes,
                             stop_gateway, upstream_entries)

FOLD = b'header line starts with whitespace (obs-fold); send each header on one line'


def raw(port, data, timeout=5.0):
    """Sends data; returns (everything answered, True when the server closed)."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        out = b''
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return out, True
            except socket.timeout:
                return out, False
            if not chunk:
                return out, True
            out += chunk


def refused(detail):
    body = b'bad request: ' + detail + b'\n'
    return (b'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n'
            b'Connection: close\r\n\r\n%s' % (len(body), body))


def chunk(data):
    return b'%x\r\n%s\r\n' % (len(data), data)


def cases():
    call = call_body('gas_price', [None]).encode()
    return [
        # Transfer-Encoding on a continuation line: a proxy that does not
        # fold sees no framing header; llhttp 8.1 saw chunked.
        (b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n' + chunk(call) +
         b'0\r\n\r\n', FOLD),
        (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n %d\r\n\r\n%s' % (len(call), call),
         FOLD),
        # Any two bytes after chunk data used to pass as CRLF.
        (b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%sXX0\r\n\r\n'
         % (len(call), call), b'expected CRLF after chunk'),
        (b'POST / HTTP/1.1\r\nHost: x\r\n: x\r\nContent-Length: %d\r\n\r\n%s' % (len(call), call),
         b'header line has no name before the colon'),
        (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\n%s' % (len(call), call),
         b'line ends in a bare LF; end every line with CRLF'),
        (b'POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s' % (len(call), call),
         b'HTTP/1.1 request without a Host header; send one'),
        (b'POST / HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: %d\r\n\r\n%s'
         % (len(call), call), b'more than one Host header; send exactly one'),
    ]


def test_gateway_refuses_ambiguous_framing(tmp_path, sim_nodes, gateways):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes)).start(wait_ok=['n0'])
    before = rpc_count(nodes[0], 'gas_price')
    for data, detail in cases():
        assert raw(gw.port, data) == (refused(detail), True), data
    assert rpc_count(nodes[0], 'gas_price') == before  # nothing reached the upstream
    # The same call, framed properly, goes through.
    call = call_body('gas_price', [None], 7).encode()
    answer, closed = raw(gw.port, b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
                         b'Connection: close\r\n\r\n' + chunk(call) + b'0\r\n\r\n')
    head, _, body = answer.partition(b'\r\n\r\n')
    assert closed and head.startswith(b'HTTP/1.1 200 OK\r\n')
    assert json.loads(body) == {'jsonrpc': '2.0', 'result': {'gas_price': '100000000'}, 'id': 7}
    assert rpc_count(nodes[0], 'gas_price') == before + 1
    # worker counters reach /metrics on the next one-second tick
    wait_until(lambda: metric(gw.metrics(), 'nearup_gateway_http_errors_total',
                              kind='bad_request') == len(cases()), 5, what='bad_request count')
    stop_gateway(gw)


def test_neard_sim_refuses_ambiguous_framing(tmp_path, sim_nodes):
    node = start_nodes(make_chain(tmp_path, 1), sim_nodes)[0]
    before = rpc_count(node, 'gas_price')
    for data, detail in cases():
        assert raw(node.rpc_port, data) == (refused(detail), True), data
    assert rpc_count(node, 'gas_price') == before
