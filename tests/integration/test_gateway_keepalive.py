"""nearup gateway against an upstream that closes idle keep-alive
connections after 5 s, as neard's RPC server of the actix era does
(neard-sim's default sim.http_keep_alive_ms): the gateway never reuses a
pooled connection idle for pool_idle_timeout (4 s) or longer, and a call
whose kept-alive connection is closed before any answer byte is sent again
on a fresh connection, unless it is a transaction that may have arrived."""
import json
import threading
import time

from gateway_helpers import (control, gateways, make_chain, metric, rpc_count,  # noqa: F401
                             start_nodes, stop_gateway, upstream_entries)

GAS = ('gas_price', [None])


def connections(node):
    """Connections node's RPC server accepted before this call (GET
    /sim/control comes on a connection of its own, which it counts)."""
    status, _, body = node.get('/sim/control')
    assert status == 200
    return json.loads(body)['http_connections'] - 1


def lane(tmp_path, name, sim_nodes, gateways, **settings):
    """One neard-sim upstream "a" and a one-worker gateway in front of it."""
    d = tmp_path / name
    d.mkdir()
    node = start_nodes(make_chain(d, 1), sim_nodes)[0]
    gw = gateways(d, upstream_entries([node], ['a']), workers=1, **settings)
    return node, gw.start(wait_ok=['a'])


def paced_calls(gw, offsets, out):
    """A call, then one call each offset seconds after the previous answer."""
    for pause in [0.0] + list(offsets):
        t0 = time.monotonic()
        while time.monotonic() - t0 < pause - 0.02:
            time.sleep(0.01)
        while time.monotonic() - t0 < pause:
            pass
        out.append(gw.rpc(*GAS))


def resends(gw):
    return metric(gw.metrics(), 'nearup_gateway_upstream_resends_total', upstream='a')


def test_calls_5s_apart_to_an_upstream_closing_idle_connections_after_5s(
        tmp_path, sim_nodes, gateways):
    """The operators' incident: calls 5 s apart through a gateway whose
    pooled connection the upstream closes after 5 s idle. The offsets sweep
    just around 5 s. Zero client-visible failures, no call sent twice, and
    with the default pool_idle_timeout (4 s) every call after a pause of
    4 s or more goes out on a connection of its own (the old 60 s pool
    reused the connection at 4.95 s, and lost the call whenever it sent one
    just as the upstream closed the connection). A second gateway,
    misconfigured to keep idle connections 60 s, sends within a few ms of
    the upstream's close; on loopback the race is a window of tens of
    microseconds, so it is hit only now and then -- when it is, the call is
    sent again on a fresh connection (the drop_before_answer tests below
    make that deterministic), and it loses nothing either."""
    node, gw = lane(tmp_path, 'default', sim_nodes, gateways, health_interval='1s')
    bad_node, bad_gw = lane(tmp_path, 'long', sim_nodes, gateways, health_interval='1s',
                            pool_idle_timeout='60s')
    bad_calls = rpc_count(bad_node, 'gas_price')
    conns = connections(node)
    got, bad_got = [], []
    bad = threading.Thread(target=paced_calls, args=(bad_gw, [4.998, 5.0, 5.002], bad_got))
    bad.start()
    paced_calls(gw, [4.95, 5.0, 5.05], got)
    bad.join()
    assert connections(node) - conns - 1 == 4  # - 1: the first connections()
    for status, reply in got + bad_got:
        assert status == 200 and 'result' in reply, reply
    assert rpc_count(node, 'gas_price') == 4
    assert rpc_count(bad_node, 'gas_price') == bad_calls + 4
    assert resends(gw) == 0
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_upstream_errors_total', upstream='a', kind='reset') == 0
    stop_gateway(gw)
    stop_gateway(bad_gw)


def quiet_lane(tmp_path, sim_nodes, gateways, **settings):
    """A lane whose health checker polls once (at start) and then not for a
    minute, so the fault counts of the upstream see only the test's calls."""
    return lane(tmp_path, 'q', sim_nodes, gateways, health_interval='60s', rise=1, **settings)


def test_call_on_a_reused_connection_closed_unanswered_is_sent_again(
        tmp_path, sim_nodes, gateways):
    node, gw = quiet_lane(tmp_path, sim_nodes, gateways)
    assert gw.rpc(*GAS)[0] == 200  # a pooled connection to reuse
    calls = rpc_count(node, 'gas_price')
    control(node, drop_before_answer=50)  # every second request: closed, unanswered
    conns = connections(node)
    got = [gw.rpc(*GAS) for _ in range(4)]
    assert connections(node) - conns - 1 == 3
    control(node, reset=True)
    for status, reply in got:
        assert status == 200 and 'result' in reply, reply
    # calls 2, 3 and 4 each found their kept-alive connection closed under
    # them and were sent once more on a fresh one; the dropped sends were
    # not processed, so each call was processed exactly once
    assert rpc_count(node, 'gas_price') == calls + 4
    assert resends(gw) == 3
    state = gw.upstream_states()['a']
    assert state['state'] == 'ok' and state['errors'] == 0
    stop_gateway(gw)


def test_a_fresh_connection_failing_too_is_not_tried_a_third_time(
        tmp_path, sim_nodes, gateways):
    node, gw = quiet_lane(tmp_path, sim_nodes, gateways)
    assert gw.rpc(*GAS)[0] == 200
    control(node, drop_before_answer=100)
    conns = connections(node)
    status, reply = gw.rpc(*GAS)
    assert connections(node) - conns - 1 == 1  # one resend, on one fresh connection
    assert status == 502
    assert reply['error']['cause']['info'] == {
        'error_message': 'upstream a: closed before answering'}
    assert resends(gw) == 1
    stop_gateway(gw)


def test_transaction_that_may_have_arrived_is_not_sent_again(tmp_path, sim_nodes, gateways):
    """broadcast_tx_async on a kept-alive connection that the upstream
    closes after the request went out: the gateway cannot know whether the
    upstream got it, so it does not send it again; the client gets the
    error and looks the transaction up by hash."""
    node, gw = quiet_lane(tmp_path, sim_nodes, gateways)
    assert gw.rpc(*GAS)[0] == 200
    control(node, drop_before_answer=100)
    conns = connections(node)
    status, reply = gw.rpc('broadcast_tx_async', ['AAAA'])
    assert connections(node) - conns - 1 == 0  # never sent on another connection
    assert status == 502
    assert reply['error']['cause']['info'] == {
        'error_message': 'upstream a: closed before answering; not sent again, as the '
                         'upstream may have received it'}
    assert resends(gw) == 0
    stop_gateway(gw)
