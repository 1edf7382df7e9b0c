"""nearup canary against neard-sim nodes: every check passes with the exact
values the node holds (a transfer signed with the node's validator key
becomes final and moves exactly its amount); a stalled node fails status
freshness; an unknown account fails view_account with the RPC error named;
lag against a reference is counted exactly; /metrics carries the contract's
names and labels (promtool); a hung endpoint times out without delaying the
other endpoint's results; the checks keep passing across a switch to a
release with another protocol version (`nearup upgrade`); settings from a
file, the environment and flags; usage errors exit 2; SIGHUP reloads."""
import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import NEARUP, edit_genesis, free_port, init_local, load_json, wait_until
from daemon_helpers import Daemon, promtool_ok

CONTRACT = 'echo.near'  # has code: neard-sim answers its built-in views (echo, block_height)
WATCHED = 'watched.near'  # nothing sends to it: its amount stays exact
FEES = 2 * 223182562500 * 100000000  # neard-sim's gas per transfer (twice) at min_gas_price


def canary(*args, timeout=120, env=None):
    return subprocess.run([NEARUP, 'canary', *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=timeout, env=env)


def once(*args, **kw):
    """(CompletedProcess, report) of `nearup canary --once --json ...`."""
    r = canary(*args, '--once', '--json', **kw)
    assert 'Sanitizer' not in r.stderr, r.stderr
    return r, json.loads(r.stdout)


def url(node):
    return f'http://{node.rpc_addr}'


def control(node, **kw):
    status, _, body = node.request('POST', '/sim/control', body=json.dumps(kw))
    assert status == 200, body
    return json.loads(body)


def final_height(node):
    return node.result('block', {'finality': 'final'})['header']['height']


def amount(node, account):
    return int(node.result('query', {'request_type': 'view_account', 'finality': 'final',
                                     'account_id': account})['amount'])


def add_accounts(home):
    """A contract account and an account nobody touches, in the genesis."""
    def edit(g):
        g['records'] += [
            {'Account': {'account_id': CONTRACT, 'account': {
                'amount': '7000', 'locked': '0', 'storage_usage': 100, 'version': 'V1',
                'code_hash': '5KaJ1JvKdJhrwuqCoiAMK7gqNLFnL2ZMmwr6hBmUzXSL'}}},
            {'Contract': {'account_id': CONTRACT, 'code': 'AGFzbQEAAAA='}},
            {'Account': {'account_id': WATCHED, 'account': {
                'amount': '123456789000000000000000000', 'locked': '0', 'storage_usage': 182,
                'version': 'V1', 'code_hash': '11111111111111111111111111111111'}}}]
    edit_genesis(home, edit)


@pytest.fixture
def sim(home, sim_nodes):
    """A synced single node of a fast local chain with the extra accounts, --sim-control."""
    init_local(home)
    add_accounts(home)
    n = sim_nodes(home, sim_control=True)
    n.wait_synced()
    return n


class Canary(Daemon):
    """One `nearup canary` daemon with /metrics on a free 127.0.0.1 port."""

    def __init__(self, log_dir, *args):
        port = free_port()
        super().__init__('nearup canary', [NEARUP, 'canary', '--listen', f'127.0.0.1:{port}',
                                           *[str(a) for a in args]],
                         port, log_dir / f'canary-{port}.log')

    def metrics(self):
        """(text, {name: {labels: value}})."""
        text, flat = self.samples()
        grouped = {}
        for key, value in flat.items():
            name, _, labels = key.partition('{')
            grouped.setdefault(name, {})['{' + labels if labels else ''] = value
        return text, grouped


@pytest.fixture
def daemons(tmp_path):
    made = []

    def make(*args):
        d = Canary(tmp_path, *args)
        made.append(d)
        return d
    yield make
    for d in made:
        d.kill()


def stop_clean(d):
    d.stop_clean('msg="canary stopped"')



# ---- every check ----

def test_every_check_passes_with_the_nodes_values(home, sim):
    key = home / 'validator_key.json'
    signer = load_json(key)['account_id']
    before = {a: amount(sim, a) for a in (signer, WATCHED)}
    r, rep = once('--endpoint', f'{url(sim)},name=node0', '--account-id', WATCHED,
                  '--call', f'{CONTRACT}:echo:{{"x":[1,2]}}', '--transfer-key', key,
                  '--transfer-to', WATCHED, '--transfer-amount', 10 ** 21, '--timeout', '10s')
    assert (r.returncode, r.stderr) == (0, ''), r.stderr
    assert set(rep) == {'ok', 'checks', 'reference', 'endpoints'}
    assert rep['ok'] is True and rep['reference'] is None
    assert rep['checks'] == ['status', 'final_lag', 'view_account', 'call_function', 'transfer']
    (ep,) = rep['endpoints']
    assert (ep['name'], ep['url'], ep['ok']) == ('node0', url(sim), True)
    c = ep['checks']
    assert list(c) == rep['checks']
    for name, check in c.items():
        assert check['ok'] is True and check['error'] is None, (name, check)
        assert isinstance(check['duration_ms'], float) and 0 < check['duration_ms'] < 10000

    st = sim.status()
    s = c['status']
    assert set(s) == {'ok', 'duration_ms', 'error', 'head', 'head_age_ms', 'syncing', 'chain_id',
                      'version', 'protocol_version'}
    assert (s['chain_id'], s['version'], s['protocol_version'], s['syncing']) == (
        'simnet', st['version']['version'], st['protocol_version'], False)
    assert 0 < st['sync_info']['latest_block_height'] - s['head'] < 100
    assert 0 <= s['head_age_ms'] < 30000

    f = c['final_lag']
    assert f['lag'] == 0 and f['height'] == f['reference_height'] <= final_height(sim)

    v = c['view_account']
    assert (v['account_id'], v['amount']) == (WATCHED, str(before[WATCHED]))
    assert v['block_height'] >= f['height']

    fc = c['call_function']
    assert (fc['contract'], fc['method'], fc['result'], fc['result_len']) == (
        CONTRACT, 'echo', '{"x":[1,2]}', 11)

    t = c['transfer']
    assert (t['signer'], t['receiver'], t['amount'], t['nonce']) == (
        signer, WATCHED, str(10 ** 21), 1)
    assert 0 < t['commit_ms'] <= t['final_ms'] <= t['duration_ms']
    # final on the node, and exactly the amount moved (plus the fixed fees)
    tx = sim.result('tx', {'tx_hash': t['tx_hash'], 'sender_account_id': signer,
                           'wait_until': 'FINAL'})
    assert tx['final_execution_status'] == 'FINAL'
    assert tx['status'] == {'SuccessValue': ''}
    assert tx['transaction']['actions'] == [{'Transfer': {'deposit': str(10 ** 21)}}]
    assert amount(sim, WATCHED) == before[WATCHED] + 10 ** 21
    assert amount(sim, signer) == before[signer] - 10 ** 21 - FEES

    # a second run takes the next nonce
    r, rep = once('--endpoint', url(sim), '--transfer-key', key, '--transfer-to', WATCHED,
                  '--transfer-amount', 5)
    assert r.returncode == 0, r.stdout
    assert rep['endpoints'][0]['checks']['transfer']['nonce'] == 2
    assert rep['endpoints'][0]['name'] == url(sim)  # the URL names an unnamed endpoint
    assert amount(sim, WATCHED) == before[WATCHED] + 10 ** 21 + 5


def test_text_report_without_json(sim):
    r = canary('--endpoint', f'{url(sim)},name=n', '--account-id', 'nope.near', '--once')
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert [line.split(' ')[:3] for line in lines] == [
        ['n', 'status', 'ok'], ['n', 'final_lag', 'ok'], ['n', 'view_account', 'FAIL']]
    assert lines[2].endswith('ms JSON-RPC error UNKNOWN_ACCOUNT: account nope.near does not '
                             'exist while viewing')
    assert ('level=warn msg="check failed" endpoint=n check=view_account error="JSON-RPC error '
            'UNKNOWN_ACCOUNT: account nope.near does not exist while viewing"') in r.stderr


# ---- failures ----

def test_stalled_node_fails_status(sim):
    control(sim, stall=True)
    wait_until(lambda: time.time() * 1000 - block_time_ms(sim) > 1500, what='head 1.5 s old')
    r, rep = once('--endpoint', url(sim), '--max-block-age', '1s')
    assert r.returncode == 1
    assert rep['ok'] is False
    ep = rep['endpoints'][0]
    s = ep['checks']['status']
    assert s['ok'] is False and s['head'] == sim.height()
    assert s['head_age_ms'] > 1500
    assert re.fullmatch(rf"head {s['head']} is \d+\.\d s old \(limit 1\.0 s\)", s['error']), s
    assert ep['checks']['final_lag']['ok'] is True  # its own final block: lag 0
    assert ep['ok'] is False

    control(sim, stall=False)
    wait_until(lambda: once('--endpoint', url(sim), '--max-block-age', '1s')[0].returncode == 0,
               what='status fresh again')


def block_time_ms(node):
    from datetime import datetime
    t = node.status()['sync_info']['latest_block_time']
    secs, frac = t[:-1].split('.')
    return datetime.fromisoformat(secs + '+00:00').timestamp() * 1000 + int(frac[:3])


def test_unknown_account_fails_view_account(sim):
    r, rep = once('--endpoint', url(sim), '--account-id', 'nope.near')
    assert r.returncode == 1
    v = rep['endpoints'][0]['checks']['view_account']
    assert v['ok'] is False
    assert v['error'] == 'JSON-RPC error UNKNOWN_ACCOUNT: account nope.near does not exist while ' \
                         'viewing'
    assert (v['account_id'], v['amount'], v['block_height']) == ('nope.near', None, None)
    # the others still pass: the round reports every check
    assert rep['endpoints'][0]['checks']['status']['ok'] is True


def test_call_function_errors(sim):
    r, rep = once('--endpoint', url(sim), '--call', f'{WATCHED}:echo:{{}}')
    c = rep['endpoints'][0]['checks']['call_function']
    assert r.returncode == 1
    assert c['error'] == (f'{WATCHED}.echo failed: wasm execution failed with error: '
                          f'CompilationError(CodeDoesNotExist {{ account_id: "{WATCHED}" }})')
    assert (c['result'], c['result_len']) == (None, None)


def copy_home(home, tmp_path):
    ref_home = tmp_path / 'ref'
    shutil.copytree(home, ref_home, ignore=shutil.ignore_patterns('data', '*.log'))
    return ref_home


def test_lag_against_a_reference_is_exact(home, tmp_path, sim_nodes):
    init_local(home)
    ref_home = copy_home(home, tmp_path)
    node = sim_nodes(home, sim_control=True)
    ref = sim_nodes(ref_home, sim_control=True)
    node.wait_synced()
    ref.wait_synced()
    control(node, stall=True)
    wait_until(lambda: final_height(ref) - final_height(node) >= 6, what='node 6 blocks behind')
    control(ref, stall=True)  # both heights now stay where they are
    lag = final_height(ref) - final_height(node)
    r, rep = once('--endpoint', f'{url(node)},name=node', '--reference', url(ref),
                  '--max-lag', 2, '--max-block-age', '1h')
    assert r.returncode == 1
    f = rep['endpoints'][0]['checks']['final_lag']
    assert (f['height'], f['reference_height'], f['lag']) == (
        final_height(node), final_height(ref), lag)
    assert f['error'] == (f"final block {final_height(node)} is {lag} blocks behind the "
                          f"reference's {final_height(ref)} (limit 2)")
    assert rep['reference'] == {'url': url(ref), 'ok': True, 'final_height': final_height(ref),
                                'duration_ms': rep['reference']['duration_ms'], 'error': None}

    r, rep = once('--endpoint', f'{url(node)},name=node', '--reference', url(ref),
                  '--max-lag', lag, '--max-block-age', '1h')
    assert r.returncode == 0 and rep['endpoints'][0]['checks']['final_lag']['lag'] == lag

    # without a reference: against the endpoints' highest final block
    r, rep = once('--endpoint', f'{url(node)},name=node', '--endpoint', f'{url(ref)},name=ref',
                  '--max-lag', 2, '--max-block-age', '1h')
    lags = {e['name']: e['checks']['final_lag'] for e in rep['endpoints']}
    assert (lags['node']['lag'], lags['ref']['lag']) == (lag, 0)
    assert lags['node']['error'] == (f"final block {final_height(node)} is {lag} blocks behind "
                                     f"the highest endpoint's {final_height(ref)} (limit 2)")

    # a reference that does not answer: the lag is unknown, the check fails saying why
    dead = free_port()
    r, rep = once('--endpoint', url(node), '--reference', f'http://127.0.0.1:{dead}',
                  '--max-block-age', '1h')
    f = rep['endpoints'][0]['checks']['final_lag']
    assert (f['lag'], f['reference_height']) == (None, None)
    assert f['error'].startswith(f'reference: http://127.0.0.1:{dead}: Failed to connect to '
                                 f'127.0.0.1 port {dead}: ')
    assert rep['reference']['ok'] is False and rep['reference']['final_height'] is None


class Hung:
    """A socket that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


def test_hung_endpoint_times_out_without_delaying_the_other(sim, daemons):
    hung = Hung()
    try:
        hurl = f'http://127.0.0.1:{hung.port}'
        r, rep = once('--endpoint', f'{url(sim)},name=good', '--endpoint', f'{hurl},name=hung',
                      '--account-id', WATCHED, '--reference', url(sim), '--timeout', '2s')
        assert r.returncode == 1
        good, bad = rep['endpoints']
        assert good['ok'] is True and bad['ok'] is False
        for name, c in bad['checks'].items():
            assert c['error'] == f'no answer from {hurl} within 2000 ms', name
            assert 2000 <= c['duration_ms'] < 4000, (name, c)
        for name, c in good['checks'].items():
            assert c['ok'] and c['duration_ms'] < 2000, (name, c)

        # the daemon: the good endpoint's results are out long before the hung one's
        d = daemons('--endpoint', f'{url(sim)},name=good', '--endpoint', f'{hurl},name=hung',
                    '--account-id', WATCHED, '--reference', url(sim), '--timeout', '20s')

        def good_done():
            m = d.metrics()[1].get('nearup_canary_success', {})
            return all(m.get(f'{{check="{c}",endpoint="good"}}') == 1
                       for c in ('status', 'final_lag', 'view_account'))
        wait_until(good_done, 10, what="the good endpoint's results")
        m = d.metrics()[1]['nearup_canary_success']
        assert not any('endpoint="hung"' in k for k in m), m
        stop_clean(d)
    finally:
        hung.close()


def test_credentials_never_show(sim, daemons):
    secret = 's3cr3t-pw'
    ep = f'http://canary:{secret}@{sim.rpc_addr}'
    r, rep = once('--endpoint', ep, '--reference', ep, '--account-id', 'nope.near')
    assert r.returncode == 1
    assert secret not in r.stdout + r.stderr
    assert rep['endpoints'][0]['name'] == url(sim)  # the default name drops the userinfo
    assert rep['endpoints'][0]['url'] == f'http://***@{sim.rpc_addr}'
    assert rep['reference']['url'] == f'http://***@{sim.rpc_addr}'
    d = daemons('--endpoint', ep, '--interval', '200ms')
    wait_until(lambda: 'nearup_canary_success' in d.metrics()[1], what='a round')
    assert secret not in d.metrics()[0]
    stop_clean(d)
    assert secret not in d.log()


# ---- metrics ----

CONTRACT_NAMES = {'nearup_canary_success', 'nearup_canary_duration_seconds',
                  'nearup_canary_last_success_timestamp_seconds', 'nearup_canary_runs_total',
                  'nearup_canary_final_lag_blocks', 'nearup_canary_up'}


def test_metrics_names_labels_and_promtool(sim, daemons):
    dead = f'http://127.0.0.1:{free_port()}'
    d = daemons('--endpoint', f'{url(sim)},name=good', '--endpoint', f'{dead},name=dead',
                '--account-id', WATCHED, '--interval', '200ms', '--timeout', '1s')
    wait_until(lambda: d.metrics()[1].get('nearup_canary_runs_total', {}).get(
        '{check="status",endpoint="good",result="ok"}', 0) >= 3, what='three rounds')
    text, m = d.metrics()
    promtool_ok(text)
    families = set(re.findall(r'^# TYPE (\S+) (\S+)$', text, re.M))
    assert families == {('nearup_canary_success', 'gauge'),
                        ('nearup_canary_duration_seconds', 'histogram'),
                        ('nearup_canary_last_success_timestamp_seconds', 'gauge'),
                        ('nearup_canary_runs_total', 'counter'),
                        ('nearup_canary_final_lag_blocks', 'gauge'),
                        ('nearup_canary_up', 'gauge')}
    names = {re.sub(r'_(bucket|sum|count)$', '', n) if n.startswith(
        'nearup_canary_duration_seconds') else n for n in m}
    assert names == CONTRACT_NAMES
    checks = ('status', 'final_lag', 'view_account')
    for c in checks:
        assert m['nearup_canary_success'][f'{{check="{c}",endpoint="good"}}'] == 1
        assert m['nearup_canary_success'][f'{{check="{c}",endpoint="dead"}}'] == 0
        assert m['nearup_canary_runs_total'][f'{{check="{c}",endpoint="dead",result="ok"}}'] == 0
        assert m['nearup_canary_runs_total'][f'{{check="{c}",endpoint="dead",result="fail"}}'] >= 1
        assert m['nearup_canary_runs_total'][f'{{check="{c}",endpoint="good",result="fail"}}'] == 0
        assert abs(m['nearup_canary_last_success_timestamp_seconds'][
            f'{{check="{c}",endpoint="good"}}'] - time.time()) < 60
        assert f'{{check="{c}",endpoint="dead"}}' not in m[
            'nearup_canary_last_success_timestamp_seconds']
        count = m['nearup_canary_duration_seconds_count'][f'{{check="{c}",endpoint="good"}}']
        assert m['nearup_canary_duration_seconds_bucket'][
            f'{{check="{c}",endpoint="good",le="+Inf"}}'] == count
    les = sorted({re.search(r'le="([^"]+)"', k).group(1)
                  for k in m['nearup_canary_duration_seconds_bucket']}, key=float)
    assert les == ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10',
                   '30', '+Inf']
    assert m['nearup_canary_final_lag_blocks']['{endpoint="good"}'] == 0
    assert str(m['nearup_canary_final_lag_blocks']['{endpoint="dead"}']) == 'nan'
    assert m['nearup_canary_up'] == {'': 1}

    assert d.request('GET', '/nope')[0] == 404
    status, headers, _ = d.request('POST', '/metrics')
    assert (status, headers['allow']) == (405, 'GET, HEAD')
    status, _, body = d.request('HEAD', '/metrics')
    assert (status, body) == (200, b'')
    stop_clean(d)


# ---- across a protocol upgrade ----

def test_checks_keep_passing_across_a_protocol_upgrade(tmp_path, bucket, daemons):
    from lifecycle import Nearup, head, node_url, rpc, wait_synced
    nu = Nearup(tmp_path)
    try:
        bucket.add_release('testnet', '2.4.0', protocol=73)
        bucket.add_release('testnet', '2.5.0', protocol=74)
        root = tmp_path / 'ln'
        nu.ok('localnet', '--home', root, '--nodes', 1, '--neard-version', '2.4.0',
              '--release-url', bucket.url, '--fast')
        home = root / 'node0'
        node = node_url(home)
        wait_synced([node])
        key = home / 'validator_key.json'
        account = load_json(key)['account_id']
        args = ('--endpoint', f'{node},name=node0', '--account-id', account, '--transfer-key', key,
                '--transfer-to', account, '--transfer-amount', 1, '--timeout', '5s')
        r, rep = once(*args)
        assert r.returncode == 0, r.stdout
        s = rep['endpoints'][0]['checks']['status']
        assert (s['version'], s['protocol_version']) == ('2.4.0', 73)

        d = daemons(*args, '--interval', '200ms')
        target = head(node) + 20
        nu.ok('upgrade', '--to', '2.5.0', '--at-height', target, '--home', root)
        wait_until(lambda: version(node) == '2.5.0', 60, interval=0.2, what='2.5.0 running')
        assert rpc(node, 'status')['protocol_version'] == 74

        def runs():
            m = d.metrics()[1]['nearup_canary_runs_total']
            return {c: m[f'{{check="{c}",endpoint="node0",result="ok"}}']
                    for c in ('status', 'final_lag', 'view_account', 'transfer')}
        after_switch = runs()
        # every check passes again on the new release, more than once
        wait_until(lambda: all(runs()[c] >= after_switch[c] + 2 for c in after_switch), 60,
                   what='checks passing on 2.5.0')
        m = d.metrics()[1]['nearup_canary_success']
        assert all(m[f'{{check="{c}",endpoint="node0"}}'] == 1 for c in after_switch), m
        r, rep = once(*args)
        assert r.returncode == 0, r.stdout
        s = rep['endpoints'][0]['checks']['status']
        assert (s['version'], s['protocol_version']) == ('2.5.0', 74)
        stop_clean(d)
    finally:
        nu.cleanup()


def version(node):
    from lifecycle import rpc
    try:
        return rpc(node, 'status')['version']['version']
    except (OSError, AssertionError):
        return None


# ---- settings ----

def test_settings_from_file_environment_and_flags(tmp_path, sim):
    cfg = tmp_path / 'canary.ini'
    cfg.write_text(f'[canary]\nendpoint = {url(sim)},name=from-file\ninterval = 5s\n'
                   f'account_id = nope.near\n; a comment\n')
    env = dict(__import__('os').environ, NEARUP_CANARY_ACCOUNT_ID=WATCHED)
    r, rep = once('-c', cfg, '--endpoint', f'{url(sim)},name=from-flag', env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert [e['name'] for e in rep['endpoints']] == ['from-file', 'from-flag']
    assert rep['endpoints'][0]['checks']['view_account']['account_id'] == WATCHED  # env over file
    r, rep = once('-c', cfg, '--account-id', 'nope.near', env=env)  # flag over env
    assert rep['endpoints'][0]['checks']['view_account']['account_id'] == 'nope.near'

    cfg.write_text('[canary]\ninterval = 5s\ninterval = 6s\nnope = 1\nendpoint = ftp://x\n'
                   'max_lag = many\n[other]\nx = 1\n')
    r = canary('-c', cfg, '--once')
    assert r.returncode == 2
    assert r.stdout == ''
    assert r.stderr == (f'nearup canary: {cfg}:3: interval is set twice (first on line 2)\n'
                        f'nearup canary: {cfg}:4: unknown setting "nope" in [canary]\n'
                        f'nearup canary: {cfg}:5: endpoint: "ftp://x" is not an http:// or '
                        f'https:// URL\n'
                        f'nearup canary: {cfg}:6: max_lag: "many" is not a whole number\n'
                        f'nearup canary: {cfg}:8: unknown section [other]\n')
    r = canary('-c', tmp_path / 'missing.ini', '--once')
    assert r.returncode == 2
    assert r.stderr.startswith(f'nearup canary: {tmp_path}/missing.ini: ')


@pytest.mark.parametrize('args,msg', [
    ((), '--endpoint URL is required (an RPC endpoint; repeat it for more)'),
    (('--endpoint', 'ftp://x'), '--endpoint: "ftp://x" is not an http:// or https:// URL'),
    (('--endpoint', 'h:1', '--json'),
     '--json needs --once (the daemon reports on --listen /metrics)'),
    (('--endpoint', 'h:1', '--interval', '50ms'),
     '--interval: 50ms is out of range [100, 86400000] ms'),
    (('--endpoint', 'h:1', '--timeout', '20m'), '--timeout: 20m is out of range [10, 600000] ms'),
    (('--endpoint', 'h:1', '--max-lag', '-1'), '--max-lag: "-1" is not a whole number'),
    (('--endpoint', 'h:1', '--transfer-to', 'near'),
     '--transfer-key, --transfer-to and --transfer-amount go together; missing --transfer-key '
     'and --transfer-amount'),
    (('--endpoint', 'h:1', '--transfer-amount', '1.5'),
     '--transfer-amount: "1.5" is not a whole number of yoctoNEAR below 2^128'),
    (('--endpoint', 'h:1', '--call', 'x'),
     '--call: "x": expected CONTRACT:METHOD:ARGS_JSON with a NEAR account id'),
    (('--endpoint', 'h:1', '--listen', '3000'),
     '--listen: "3000" is not HOST:PORT with a numeric host'),
    (('--endpoint', 'h:1', '--endpoint', 'h:1'),
     '--endpoint: two endpoints are named "http://h:1"; give one another with ,name=NAME'),
    (('--endpoint', 'h:1', '--bogus'), "unknown option '--bogus'"),
])
def test_usage_errors(args, msg):
    r = canary(*args, *([] if '--json' in args else ['--once']))
    assert (r.returncode, r.stdout) == (2, '')
    assert r.stderr == f"nearup canary: {msg}; see 'nearup canary --help'\n"


def test_bad_key_file(tmp_path):
    key = tmp_path / 'key.json'
    key.write_text('{"account_id": "a.near"}')
    r = canary('--endpoint', 'h:1', '--transfer-key', key, '--transfer-to', 'near',
               '--transfer-amount', 1, '--once')
    assert (r.returncode, r.stdout) == (2, '')
    assert r.stderr.startswith(f'nearup canary: --transfer-key: {key}: ')


def test_sighup_reloads_the_file(tmp_path, sim, daemons):
    cfg = tmp_path / 'canary.ini'
    cfg.write_text(f'[canary]\nendpoint = {url(sim)},name=n\ninterval = 200ms\n')
    d = daemons('-c', cfg)
    wait_until(lambda: 'nearup_canary_success' in d.metrics()[1], what='a round')
    assert not any('view_account' in k for k in d.metrics()[1]['nearup_canary_success'])
    cfg.write_text(f'[canary]\nendpoint = {url(sim)},name=n\ninterval = 200ms\n'
                   f'account_id = {WATCHED}\n')
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.metrics()[1].get('nearup_canary_success', {}).get(
        '{check="view_account",endpoint="n"}') == 1, what='view_account after SIGHUP')
    assert 'msg=reloaded' in d.log()

    cfg.write_text('[canary]\nendpoint = ftp://x\n')  # refused: the running settings stay
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: 'reload failed' in d.log(), what='reload refused')
    assert d.metrics()[1]['nearup_canary_success']['{check="view_account",endpoint="n"}'] == 1
    stop_clean(d)


def test_example_config_and_systemd_unit(tmp_path):
    from conftest import ROOT
    ini = f'{ROOT}/deploy/canary.example.ini'
    r = canary('-c', ini, '--check')
    assert (r.returncode, r.stderr) == (0, '')
    assert r.stdout == ('configuration ok: 3 endpoints; checks status, final_lag, view_account, '
                        'call_function\n')
    if shutil.which('systemd-analyze') is None:
        return
    unit = tmp_path / 'nearup-canary.service'
    with open(f'{ROOT}/deploy/nearup-canary.service') as fh:
        unit.write_text(fh.read().replace('/usr/local/bin/nearup', NEARUP))
    r = subprocess.run(['systemd-analyze', 'verify', str(unit)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
