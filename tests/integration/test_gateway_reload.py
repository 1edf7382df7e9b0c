"""nearup gateway configuration: SIGHUP reloads without dropping client
connections, invalid reloads keep the old config and log file:line, DNS
upstreams, --dump-config / --check / --help and config errors."""
import http.client
import json
import subprocess

from conftest import NEARUP, wait_until
from gateway_helpers import (call_body, gateways, make_chain, metric, start_nodes, stop_gateway,
                             upstream_entries)

FINAL = {'finality': 'final'}


def nearup(*args, env=None):
    return subprocess.run([NEARUP, 'gateway', *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=30, env=env)


def call(conn, method, params, req_id):
    conn.request('POST', '/', body=call_body(method, params, req_id),
                 headers={'Content-Type': 'application/json'})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def test_reload_keeps_connections_and_applies_changes(tmp_path, sim_nodes, gateways):
    nodes = start_nodes(make_chain(tmp_path, 2), sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes[:1])).start(wait_ok=['n0'])
    conn = http.client.HTTPConnection('127.0.0.1', gw.port, timeout=10)
    assert call(conn, 'status', [], 1)[0] == 200
    gw.settings['deny_methods'] = 'status'
    gw.upstreams = upstream_entries(nodes)
    gw.write_config()
    assert 'config reloaded' in gw.reload()
    # same connection, new config: status is denied now, and n1 joined
    status, reply = call(conn, 'status', [], 2)
    assert status == 403 and reply['error']['cause']['name'] == 'METHOD_NOT_ALLOWED'
    assert call(conn, 'block', FINAL, 3)[0] == 200
    gw.wait_states({'n0': 'ok', 'n1': 'ok'})
    conn.close()
    assert metric(gw.metrics(), 'nearup_gateway_config_reloads_total', result='success') == 1
    stop_gateway(gw)


def test_invalid_reload_keeps_the_old_config(tmp_path, sim_nodes, gateways):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes)).start(wait_ok=['n0'])
    conn = http.client.HTTPConnection('127.0.0.1', gw.port, timeout=10)
    assert call(conn, 'block', FINAL, 1)[0] == 200
    good = gw.ini.read_text()
    gw.ini.write_text(good + '[proxy]\nretries = many\nbogus = 1\n')
    nlines = len(good.splitlines())
    log = gw.reload()
    assert 'config reload failed; keeping the old config' in log
    assert f'{gw.ini}:{nlines + 2}: retries: \\"many\\" is not a whole number' in log
    assert f'{gw.ini}:{nlines + 3}: unknown setting \\"bogus\\" in [proxy]' in log
    assert call(conn, 'block', FINAL, 2)[0] == 200
    assert gw.upstream_states()['n0']['state'] == 'ok'
    text = gw.metrics()
    assert metric(text, 'nearup_gateway_config_reloads_total', result='failure') == 1
    assert metric(text, 'nearup_gateway_config_reloads_total', result='success') == 0
    conn.close()
    stop_gateway(gw)


def test_reload_carries_upstream_state_over(tmp_path, sim_nodes, gateways):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    gw = gateways(tmp_path, upstream_entries(nodes)).start(wait_ok=['n0'])
    for i in range(5):
        assert gw.rpc('block', FINAL, req_id=i)[0] == 200
    gw.settings['retries'] = 1
    gw.write_config()
    assert 'config reloaded' in gw.reload()
    up = gw.upstream_states()['n0']
    assert (up['state'], up['requests']) == ('ok', 5)
    stop_gateway(gw)


def test_dns_upstream_members(tmp_path, sim_nodes, gateways):
    nodes = start_nodes(make_chain(tmp_path, 1), sim_nodes)
    ups = [('svc', {'dns': f'localhost:{nodes[0].rpc_port}'})]
    gw = gateways(tmp_path, ups, dns_family='ipv4', dns_interval='200ms').start()
    member = f'svc/127.0.0.1:{nodes[0].rpc_port}'
    ups = gw.wait_states({member: 'ok'})
    assert list(ups) == [member]
    assert ups[member]['url'] == f'http://127.0.0.1:{nodes[0].rpc_port}/'
    status, reply = gw.rpc('block', FINAL)
    assert status == 200 and 'result' in reply
    stop_gateway(gw)


def test_dump_config_round_trips(tmp_path):
    ini = tmp_path / 'gw.ini'
    ini.write_text('[gateway]\nlisten = 127.0.0.1:9999\nzone = eu-1\n[health]\nmax_lag = 7\n'
                   '[method_cost]\nquery = 4\n'
                   '[upstream a]\nurl = http://127.0.0.1:3030\narchival = yes\nzone = eu-1\n'
                   '[upstream b]\ndns = rpc.internal:3030\nweight = 5\n')
    r = nearup('-c', ini, '--dump-config')
    assert r.returncode == 0, r.stderr
    dumped = r.stdout
    assert 'listen = 127.0.0.1:9999' in dumped and 'max_lag = 7' in dumped
    assert '[method_cost]\nquery = 4\n' in dumped
    assert '[upstream a]\nurl = http://127.0.0.1:3030\nzone = eu-1\nweight = 100\n' \
        'archival = true\nmax_inflight = 1024\n' in dumped
    assert '[upstream b]\ndns = rpc.internal:3030\n' in dumped
    again = tmp_path / 'again.ini'
    again.write_text(dumped)
    r2 = nearup('-c', again, '--dump-config')
    assert r2.returncode == 0 and r2.stdout == dumped


def test_precedence_file_env_flags(tmp_path):
    ini = tmp_path / 'gw.ini'
    ini.write_text('retries = 3\nmax_batch = 10\nrise = 4\n[upstream a]\n'
                   'url = http://127.0.0.1:3030\n')
    env = {'NEARUP_GATEWAY_MAX_BATCH': '20', 'NEARUP_GATEWAY_RISE': '5', 'PATH': '/usr/bin'}
    r = nearup('-c', ini, '--rise', '6', '--upstream', 'extra=http://[::1]:3031,archival',
               '--dump-config', env=env)
    assert r.returncode == 0, r.stderr
    assert 'retries = 3\n' in r.stdout and 'max_batch = 20\n' in r.stdout
    assert 'rise = 6\n' in r.stdout
    assert '[upstream extra]\nurl = http://[::1]:3031\nweight = 100\narchival = true\n' \
        in r.stdout


def test_config_errors_name_file_and_line(tmp_path):
    ini = tmp_path / 'gw.ini'
    ini.write_text('[gateway]\nlisten = 0.0.0.0\n[health]\nrise = 0\nzone = x\n[upstream a]\n'
                   'url = https://10.0.0.1\n[upstream b]\nurl = http://rpc.example.com:3030\n'
                   '[upstream c]\nzone = z\n[nope]\nx = 1\nthis line is wrong\n')
    r = nearup('-c', ini, '--check')
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines == [
        f'nearup gateway: {ini}:2: listen: "0.0.0.0" is not IP:PORT (or [IPv6]:PORT, '
        'localhost:PORT)',
        f'nearup gateway: {ini}:4: rise: 0 is out of range [1, 100]',
        f'nearup gateway: {ini}:5: zone belongs in [gateway], not [health]',
        f'nearup gateway: {ini}:7: [upstream a] url https://10.0.0.1: https upstreams are not '
        'supported (terminate TLS elsewhere)',
        f'nearup gateway: {ini}:9: [upstream b] url http://rpc.example.com:3030: host must be an '
        'IP address or localhost (use dns = rpc.example.com:3030 for names)',
        f'nearup gateway: {ini}:13: unknown section [nope]',
        f'nearup gateway: {ini}:14: syntax error: expected [section] or name = value',
    ], r.stderr
    ini.write_text('[upstream c]\nzone = z\n')
    r = nearup('-c', ini, '--check')
    assert r.returncode == 1
    assert r.stderr == f'nearup gateway: {ini}:2: [upstream c] needs url = http://HOST:PORT or ' \
        'dns = NAME:PORT\n'
    r = nearup('--check')
    assert r.returncode == 1 and 'no upstreams' in r.stderr
    r = nearup('--upstream', 'http://127.0.0.1:1', '--check')
    assert r.returncode == 0 and r.stdout == 'configuration ok: 1 upstreams\n'
    r = nearup('--no-such-flag', '1')
    assert r.returncode == 2 and r.stderr == ("nearup gateway: unknown option '--no-such-flag'; "
                                              "see 'nearup gateway --help'\n")
    r = nearup('--help')
    assert r.returncode == 0 and '--health-interval DURATION' in r.stdout
