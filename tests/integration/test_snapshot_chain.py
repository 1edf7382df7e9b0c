"""A restored node proves it is on the right chain before it serves
(docs/snapshots.md, "Chain check"): restore's --verify-with checks the
manifest's block against reference RPCs before anything is downloaded;
the supervisor then asks the restored neard for that block, and
`nearup health --home` serves 503 "unverified" until it matches. A node on
a fork comes from neard-sim's fork_from, which lives in the data, so a
snapshot of a forked node restores forked.

One module-wide setup: a reference node and a source node of one chain;
snapshot "good" of the source, then the source forked below that height
and snapshot "forked" of it (another store), and "tampered": the forked
manifest with the reference's hash written in."""
import json
import os
import re
import shutil
import socket

import pytest

from conftest import NEARD_SIM, SimNode, free_port, load_json, sim_hash, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil', 'daemon_helpers')
from daemon_helpers import Daemon, promtool_ok  # noqa: E402
from nodeutil import Nearup, alive, log_text, read_pidfile, status_json  # noqa: E402
from snaputil import (DirServer, head, make_home, manifest, snap, tree_hashes,  # noqa: E402
                      twin_home, wait_head)

CHECK_FILE = os.path.join('.nearup', 'chain-check.json')


def block_hash(port, h):
    reply = rpc(port, 'block', {'block_id': h})
    return reply['result']['header']['hash']


def rpc(port, method, params):
    import http.client
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request('POST', '/', body=json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method,
                                                   'params': params}),
                     headers={'Content-Type': 'application/json'})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def control(port, body):
    import http.client
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request('POST', '/sim/control', body=json.dumps(body))
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('chain')
    nu = Nearup(tmp)
    src = make_home(tmp / 'src', age_s=30)
    ref_home = twin_home(src, tmp / 'ref', sync=5000)
    ref = SimNode(ref_home).start()
    try:
        _, port = nu.run_node(src, '--restart', 'no', '--env', 'NEARD_SIM_CONTROL=1')
        wait_head(port, 200)
        good_store, bad_store = tmp / 'good-store', tmp / 'bad-store'
        _, good = snap(nu, 'create', '--home', src, '--to', good_store, '--name', 'good')
        # the source's chain differs from 10 blocks below the good snapshot's on
        fork = good['height'] - 10
        status, got = control(port, {'fork_from': fork})
        assert status == 200 and got['fork_from'] == fork, got
        wait_head(port, good['height'] + 5)
        _, forked = snap(nu, 'create', '--home', src, '--to', bad_store, '--name', 'forked')
        m = manifest(bad_store, 'forked')
        st = ref.status()
        chain, gh = st['chain_id'], st['genesis_hash']
        wait_head(ref.rpc_port, forked['height'])
        ref_hash = block_hash(ref.rpc_port, forked['height'])
        # the fork is in the snapshot: its hash is the fork's, not the reference's
        assert m['block_hash'] == sim_hash(chain, gh, forked['height'], fork_from=fork)
        assert ref_hash == sim_hash(chain, gh, forked['height']) != m['block_hash']
        assert manifest(good_store, 'good')['block_hash'] == block_hash(ref.rpc_port,
                                                                        good['height'])
        # tampered: the forked data under a manifest claiming the reference's hash
        t = dict(m, name='tampered', block_hash=ref_hash)
        with open(os.path.join(bad_store, 'manifests', 'tampered.json'), 'w') as fh:
            json.dump(t, fh)
        yield {'nu': nu, 'src': src, 'src_port': port, 'ref': ref, 'ref_url': url(ref.rpc_port),
               'good_store': good_store, 'bad_store': bad_store, 'good': good,
               'forked': forked, 'fork': fork, 'ref_hash': ref_hash, 'chain': chain, 'gh': gh,
               'tmp': tmp}
    finally:
        nu.cleanup()
        ref.kill()


@pytest.fixture
def nu(world, tmp_path):
    n = Nearup(tmp_path)
    yield n
    n.cleanup()


def url(port):
    return f'http://127.0.0.1:{port}'


def closed_port():
    """A port nothing listens on (reserved for this test, never bound)."""
    port = free_port()
    with socket.socket() as s:
        assert s.connect_ex(('127.0.0.1', port)) != 0
    return port


def new_home(world, name, old_data=False):
    """A fresh home of the source's chain; with old_data, data of its own."""
    home = twin_home(world['src'], world['tmp'] / name, sync=5000)
    if old_data:
        n = SimNode(home).start()
        n.stop()
    return home


def check_file(home):
    return load_json(os.path.join(home, CHECK_FILE))


class Sidecar(Daemon):
    def __init__(self, log_dir, node_url, home, *args):
        port = free_port()
        self.agent_port = free_port()
        cmd = [os.environ.get('NEARUP'), 'health', '--node', node_url, '--home', str(home),
               '--listen', f'127.0.0.1:{port}', '--agent-port', str(self.agent_port),
               '--interval', '100ms', '--rise', '1', '--fall', '1', *args]
        super().__init__('nearup health', cmd, port, log_dir / f'health-{port}.log')

    def health(self):
        status, _, body = self.request('GET', '/healthcheck')
        return status, json.loads(body)

    def agent(self):
        with socket.create_connection(('127.0.0.1', self.agent_port), timeout=10) as s:
            data = b''
            while chunk := s.recv(4096):
                data += chunk
            return data.decode()


def pending_reason(name, height, hash_, m, n):
    return (f'chain check of snapshot {name} pending: block {height} must have hash {hash_} '
            f'({m} of {n} references agree); the node has not confirmed it yet')


# ---- the references' check, before anything is downloaded ----

def test_a_forked_snapshot_is_refused_and_the_home_is_untouched(world, nu, tmp_path):
    home = new_home(world, 'refused', old_data=True)
    old = tree_hashes(os.path.join(home, 'data'))
    server = DirServer(world['bad_store'])
    try:
        h, got, want = world['forked']['height'], manifest(world['bad_store'], 'forked')[
            'block_hash'], world['ref_hash']
        r = nu('snapshot', 'restore', '--from', server.url, '--home', home, '--name', 'forked',
               '--replace', '--verify-with', world['ref_url'])
        assert r.returncode == 1
        assert r.stdout == ''
        assert r.stderr == (
            f"nearup snapshot restore: snapshot forked is not on the references' chain: block "
            f'{h} (hash {got}) is confirmed by 0 of 1 references, 1 needed; nothing was '
            'downloaded\n'
            f'nearup snapshot restore: reference {world["ref_url"]}: mismatch: block {h} is '
            f'{want}, not {got}\n')
        assert server.gets('/chunks') == []  # not one chunk fetched
    finally:
        server.stop()
    assert tree_hashes(os.path.join(home, 'data')) == old
    assert sorted(n for n in os.listdir(home) if n.startswith('data')) == ['data']
    assert not os.path.exists(os.path.join(home, CHECK_FILE))


def test_a_good_snapshot_passes_and_the_node_confirms_it_before_it_serves(world, nu, tmp_path):
    home = new_home(world, 'good')
    good, ref_url = world['good'], world['ref_url']
    h, want = good['height'], manifest(world['good_store'], 'good')['block_hash']
    r = nu.ok('snapshot', 'restore', '--from', world['good_store'], '--home', home,
              '--verify-with', ref_url)
    lines = r.stdout.splitlines()
    assert lines[1] == (f'nearup snapshot restore: block {h} (hash {want}) is confirmed by 1 of 1 '
                        'references (1 needed); the node confirms it too before it serves '
                        '(chain check pending)')
    assert lines[2] == f'nearup snapshot restore: reference {ref_url}: match: block {h} is {want}'
    c = check_file(home)
    assert {k: c[k] for k in ('format', 'version', 'state', 'snapshot', 'chain_id', 'height',
                              'expected_hash', 'quorum', 'data_dirs', 'checked_at', 'node_hash',
                              'rejected', 'old_data_back')} == {
        'format': 'nearup-chain-check', 'version': 1, 'state': 'pending', 'snapshot': 'good',
        'chain_id': 'simnet', 'height': h, 'expected_hash': want, 'quorum': 1,
        'data_dirs': [os.path.join(home, 'data')], 'checked_at': None, 'node_hash': None,
        'rejected': [], 'old_data_back': False}
    assert c['references'] == [{'url': ref_url, 'outcome': 'match',
                                'detail': f'block {h} is {want}'}]
    port = free_port()
    sc = Sidecar(tmp_path, url(port), home)
    try:
        # no node yet, and whatever it would say: unverified
        status, body = sc.health()
        assert status == 503 and body['status'] == 'unverified'
        assert body['reason'] == pending_reason('good', h, want, 1, 1)
        assert body['chain_check'] == {'state': 'pending', 'snapshot': 'good', 'height': h,
                                       'expected_hash': want, 'node_hash': None}
        assert sc.agent() == 'down #unverified\n'
        text, samples = sc.samples()
        promtool_ok(text)
        assert samples['nearup_health_state{state="unverified"}'] == 1
        assert samples['nearup_health_chain_check{state="pending"}'] == 1
        assert samples['nearup_health_up'] == 0
        r = nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
                  '--rpc-addr', f'127.0.0.1:{port}', '--network-addr',
                  f'127.0.0.1:{free_port()}')
        assert r.stdout.startswith(f'nearup run: neard 2.4.0 running for {home} (pid ')
        c = check_file(home)
        assert (c['state'], c['node_hash']) == ('ok', want) and c['checked_at'] > 0
        log = log_text(home)
        assert (f'msg="chain check passed: neard has the snapshot\'s block" snapshot=good '
                f'height={h} hash={want}') in log
        # the node's own health decides again
        body = wait_until(lambda: (lambda s, b: b if s == 200 else None)(*sc.health()),
                          what='/healthcheck 200')
        assert body['status'] == 'ok' and body['chain_check']['state'] == 'ok'
        assert body['chain_check']['node_hash'] == want
        assert sc.agent() == 'up ready 100%\n'
        samples = sc.samples()[1]
        assert samples['nearup_health_state{state="unverified"}'] == 0
        assert samples['nearup_health_chain_check{state="ok"}'] == 1
        st = json.loads(nu.ok('status', '--home', home, '--json').stdout)['nodes'][0]
        assert st['chain_check'] == {'state': 'ok', 'reason': (
            f'chain check of snapshot good passed: block {h} has hash {want}')}
    finally:
        sc.kill()
        nu.ok('stop', '--home', home)


def test_two_of_three_references_with_one_unreachable_pass(world, nu):
    home = new_home(world, 'quorum')
    dead = url(closed_port())
    h = world['good']['height']
    want = manifest(world['good_store'], 'good')['block_hash']
    alias = f'http://localhost:{world["ref"].rpc_port}'  # the same reference, by another name
    _, d = snap(nu, 'restore', '--from', world['good_store'], '--home', home, '--verify-with',
                world['ref_url'], '--verify-with', dead, '--verify-with', alias)
    c = d['chain_check']
    assert (c['height'], c['hash'], c['quorum'], c['matches'], c['state']) == (h, want, 2, 2,
                                                                               'pending')
    assert [(x['url'], x['outcome']) for x in c['references']] == [
        (world['ref_url'], 'match'), (dead, 'unavailable'), (alias, 'match')]
    assert re.fullmatch(rf'status: Failed to connect to 127\.0\.0\.1 port {dead.rsplit(":")[-1]} '
                        r'after \d+ ms: (Couldn\'t connect to server|Connection refused)',
                        c['references'][1]['detail']), c['references'][1]['detail']
    assert check_file(home)['quorum'] == 2


def test_one_match_and_one_mismatch_fail_a_quorum_of_two(world, nu):
    home = new_home(world, 'split')
    h = world['good']['height']
    want = manifest(world['good_store'], 'good')['block_hash']
    forked = sim_hash(world['chain'], world['gh'], h, fork_from=world['fork'])
    src = url(world['src_port'])  # the forked source itself is the second reference
    r = nu('snapshot', 'restore', '--from', world['good_store'], '--home', home, '--verify-with',
           world['ref_url'], '--verify-with', src, '--verify-quorum', '2')
    assert r.returncode == 1
    assert r.stderr == (
        "nearup snapshot restore: snapshot good is not on the references' chain: block "
        f'{h} (hash {want}) is confirmed by 1 of 2 references, 2 needed; nothing was '
        'downloaded\n'
        f'nearup snapshot restore: reference {world["ref_url"]}: match: block {h} is {want}\n'
        f'nearup snapshot restore: reference {src}: mismatch: block {h} is {forked}, not '
        f'{want}\n')
    assert not os.path.exists(os.path.join(home, 'data'))
    assert not os.path.exists(os.path.join(home, CHECK_FILE))


def test_a_reference_without_the_block_names_the_cause(world, nu, tmp_path):
    """A reference that does not have the height (garbage-collected, or
    not there yet: here a node at genesis) is unavailable, not a mismatch."""
    behind = SimNode(twin_home(world['src'], world['tmp'] / 'behind-ref', sync=1)).start()
    home = new_home(world, 'behind')
    h = world['good']['height']
    try:
        r = nu('snapshot', 'restore', '--from', world['good_store'], '--home', home,
               '--verify-with', url(behind.rpc_port))
    finally:
        behind.kill()
    assert r.returncode == 1
    assert r.stderr.splitlines()[1] == (
        f'nearup snapshot restore: reference {url(behind.rpc_port)}: unavailable: block {h} is '
        'unknown there (UNKNOWN_BLOCK: garbage-collected, or beyond its head; an archival node '
        'keeps every block)')


def test_credentials_in_reference_urls_are_never_shown(world, nu):
    home = new_home(world, 'secret')
    dead = closed_port()
    r = nu('snapshot', 'restore', '--from', world['good_store'], '--home', home,
           '--verify-with', f'http://alice:s3cret@127.0.0.1:{dead}')
    assert r.returncode == 1
    assert 's3cret' not in r.stderr and 'alice' not in r.stderr
    assert f'reference http://***@127.0.0.1:{dead}: unavailable: status: ' in r.stderr
    # a reference behind basic authentication works, and its password is stored nowhere
    port = world['ref'].rpc_port
    r = nu.ok('snapshot', 'restore', '--from', world['good_store'], '--home', home,
              '--verify-with', f'http://alice:s3cret@127.0.0.1:{port}')
    assert 's3cret' not in r.stdout + r.stderr
    assert f'reference http://***@127.0.0.1:{port}: match: ' in r.stdout
    with open(os.path.join(home, CHECK_FILE)) as fh:
        text = fh.read()
    assert 's3cret' not in text and 'alice' not in text
    assert check_file(home)['references'][0]['url'] == f'http://***@127.0.0.1:{port}'


# ---- the node's own check, after the restore ----

def test_a_tampered_manifest_is_caught_by_the_node_and_the_old_data_comes_back(world, nu,
                                                                             tmp_path):
    home = new_home(world, 'tampered', old_data=True)
    old = tree_hashes(os.path.join(home, 'data'))
    h, want = world['forked']['height'], world['ref_hash']
    node_hash = manifest(world['bad_store'], 'forked')['block_hash']
    _, d = snap(nu, 'restore', '--from', world['bad_store'], '--home', home, '--name',
                'tampered', '--replace', '--verify-with', world['ref_url'])
    assert d['chain_check']['matches'] == 1  # the manifest claims the reference's hash
    assert tree_hashes(os.path.join(home, 'data')) != old
    port = free_port()
    sc = Sidecar(tmp_path, url(port), home)
    try:
        status, body = sc.health()
        assert status == 503 and body['status'] == 'unverified'
        assert body['reason'] == pending_reason('tampered', h, want, 1, 1)
        r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'always',
               '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
        reason = (f"chain check of snapshot tampered failed: the node's block {h} has hash "
                  f'{node_hash}, not {want} (1 of 1 references agree); the restored data was '
                  f'moved to {home}/data.rejected-tampered; the old data is back in place')
        assert r.returncode == 1
        assert r.stderr == f'nearup run: {reason}\n'
        # it gave up: no neard, no restart loop
        assert not alive(read_pidfile(home, 'supervisor.pid'))
        assert not alive(read_pidfile(home, 'neard.pid'))
        st = status_json(home)
        assert (st['state'], st['reason']) == ('gave_up', reason)
        assert tree_hashes(os.path.join(home, 'data')) == old
        assert not os.path.exists(os.path.join(home, 'data.replaced-tampered'))
        # kept aside, whole: a node on a copy of it has the fork's block
        probe = new_home(world, 'rejected-copy')
        shutil.copytree(os.path.join(home, 'data.rejected-tampered'), os.path.join(probe, 'data'))
        n = SimNode(probe).start()
        try:
            assert block_hash(n.rpc_port, h) == node_hash
        finally:
            n.stop()
        c = check_file(home)
        assert (c['state'], c['node_hash'], c['rejected'], c['old_data_back']) == (
            'mismatch', node_hash, [f'{home}/data.rejected-tampered'], True)
        log = log_text(home)
        assert (f'level=error component=nearup msg="chain check failed: the restored data is not '
                f'on the chain the references confirmed; stopping neard" snapshot=tampered '
                f'height={h} expected={want} node_hash={node_hash}') in log
        wait_until(lambda: sc.health()[1]['reason'] == reason, what='the mismatch served')
        status, body = sc.health()
        assert status == 503 and body['status'] == 'unverified'
        assert body['chain_check'] == {'state': 'mismatch', 'snapshot': 'tampered', 'height': h,
                                       'expected_hash': want, 'node_hash': node_hash}
        assert sc.agent() == 'down #unverified\n'
        assert sc.samples()[1]['nearup_health_chain_check{state="mismatch"}'] == 1
        st = json.loads(nu.ok('status', '--home', home, '--json').stdout)['nodes'][0]
        assert st['chain_check'] == {'state': 'mismatch', 'reason': reason}
        assert st['supervisor']['state'] == 'gave_up'
        assert f'{home}: {reason}\n' in nu.ok('status', '--home', home).stdout
    finally:
        sc.kill()
    # the same snapshot is not restored again
    r = nu('snapshot', 'restore', '--from', world['bad_store'], '--home', home, '--name',
           'tampered', '--replace', '--verify-with', world['ref_url'])
    assert r.returncode == 1
    assert r.stderr == (
        f'nearup snapshot restore: snapshot tampered failed the chain check of {home} before '
        f'(its block {h} is {node_hash} there, not {want}); not restoring it again: remove '
        f'{home}/.nearup/chain-check.json to try anyway\n')
    assert tree_hashes(os.path.join(home, 'data')) == old


# ---- nearup run --from-snapshot ----

def run_args(home, store, port, *extra):
    return ['run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
            '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}',
            '--from-snapshot', store, *extra]


def test_run_from_snapshot_with_verify_with_to_a_passing_healthcheck(world, nu, tmp_path):
    home = new_home(world, 'run')
    port = free_port()
    h = world['good']['height']
    want = manifest(world['good_store'], 'good')['block_hash']
    r = nu.ok(*run_args(home, world['good_store'], port, '--verify-with', world['ref_url']))
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f'nearup run: restored snapshot good (height {h}, ')
    assert lines[1] == (f'nearup run: block {h} (hash {want}) is confirmed by 1 of 1 references '
                        '(1 needed); neard must show it too before it is reported running')
    assert lines[2] == f'nearup run: reference {world["ref_url"]}: match: block {h} is {want}'
    assert lines[3].startswith(f'nearup run: neard 2.4.0 running for {home} (pid ')
    # nearup run said "running" only once neard had shown the block
    assert check_file(home)['state'] == 'ok'
    sc = Sidecar(tmp_path, url(port), home)
    try:
        wait_until(lambda: sc.health()[0] == 200, what='/healthcheck 200')
        assert sc.health()[1]['chain_check']['state'] == 'ok'
    finally:
        sc.kill()
        nu.ok('stop', '--home', home)


def test_run_from_a_forked_store_starts_nothing(world, nu):
    home = new_home(world, 'run-forked')
    h = world['forked']['height']
    got = manifest(world['bad_store'], 'forked')['block_hash']
    r = nu(*run_args(home, world['bad_store'], free_port(), '--verify-with', world['ref_url']))
    assert r.returncode == 1
    assert r.stderr == (
        f"nearup run: --from-snapshot {world['bad_store']}: snapshot forked is not on the "
        f"references' chain: block {h} (hash {got}) is confirmed by 0 of 1 references, 1 "
        'needed; nothing was downloaded\n'
        f'nearup run: reference {world["ref_url"]}: mismatch: block {h} is '
        f'{world["ref_hash"]}, not {got}\n')
    assert not os.path.exists(os.path.join(home, 'data'))
    assert not alive(read_pidfile(home, 'supervisor.pid'))


def test_health_home_without_a_check_is_as_before(world, nu, tmp_path):
    home = new_home(world, 'plain', old_data=True)
    port = free_port()
    nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
          '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    sc = Sidecar(tmp_path, url(port), home)
    try:
        body = wait_until(lambda: (lambda s, b: b if s == 200 else None)(*sc.health()),
                          what='/healthcheck 200')
        assert body['status'] == 'ok' and body['chain_check'] is None
        samples = sc.samples()[1]
        assert samples['nearup_health_chain_check{state="none"}'] == 1
        assert samples['nearup_health_state{state="unverified"}'] == 0
    finally:
        sc.kill()
        nu.ok('stop', '--home', home)


# ---- the flags ----

@pytest.mark.parametrize('args,msg', [
    (['--verify-quorum', '2', '--verify-with', 'http://127.0.0.1:1'],
     '--verify-quorum 2 needs at least 2 --verify-with URLs (1 given)'),
    (['--verify-quorum', '1'], '--verify-quorum goes with --verify-with URL'),
    (['--verify-quorum', '0', '--verify-with', 'http://127.0.0.1:1'],
     '--verify-quorum: 0 is out of range [1, 8]'),
    (['--verify-with', 'ftp://x'], '--verify-with: "ftp://x" is not an http:// or https:// URL'),
    ([a for i in range(9) for a in ('--verify-with', f'http://127.0.0.1:{i + 1}')],
     '--verify-with: more than 8 given'),
    (['--verify-with', 'http://127.0.0.1:1', '--layout', 'near'],
     '--verify-with needs nearup\'s layout: the public layouts record no block to check'),
])
def test_restore_flags(nu, tmp_path, args, msg):
    r = nu('snapshot', 'restore', '--from', tmp_path, '--home', tmp_path / 'h', *args)
    assert r.returncode == 2
    assert r.stderr == f"nearup snapshot restore: {msg}; see 'nearup snapshot restore --help'\n"


def test_run_flags(nu, tmp_path):
    r = nu('run', 'simnet', '--home', tmp_path / 'h', '--verify-with', 'http://127.0.0.1:1')
    assert r.returncode == 2
    assert r.stderr == ("nearup run: --verify-with goes with --from-snapshot STORE; see 'nearup "
                        "run --help'\n")
