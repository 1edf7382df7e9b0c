"""nearup run --from-snapshot STORE: the autoscaling bootstrap. A node whose
home has no data restores the store's latest snapshot before its first
start; a home with data starts as it is; another chain is refused."""
import os

import pytest

from conftest import NEARD_SIM, free_port, load_json
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from nodeutil import alive, read_pidfile  # noqa: E402
from snaputil import head, make_home, snap, status, twin_home, wait_head  # noqa: E402

pytest_plugins = ('nodeutil',)


def running_source(nu, tmp_path):
    """A node of chain simnet, synced past 200 with its blocks in an SST
    file (restarted once), still running; its home."""
    home = make_home(tmp_path / 'src', age_s=30)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 200)
    nu.ok('restart', '--home', home)
    wait_head(port, head(port) + 2)
    return home


@pytest.fixture
def store(nu, tmp_path):
    home = running_source(nu, tmp_path)
    s = tmp_path / 'store'
    _, d = snap(nu, 'create', '--home', home, '--to', s, '--name', 's1')
    nu.ok('stop', '--home', home)
    return home, s, d


def run_args(home, store, port, network='simnet'):
    return ['run', network, '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
            '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}',
            '--from-snapshot', store]


def test_a_new_node_restores_before_its_first_start(nu, tmp_path, store):
    src, s, d = store
    home = twin_home(src, tmp_path / 'new', sync=1)  # config and genesis, no data yet
    port = free_port()
    r = nu.ok(*run_args(home, s, port))
    lines = r.stdout.splitlines()
    assert lines[0] == (f"nearup run: restored snapshot s1 (height {d['height']}, {d['files']} "
                        f'files) into {home}/data')
    assert lines[1].startswith(f'nearup run: neard 2.4.0 running for {home} (pid ')
    # it syncs a block a second: a head at the snapshot's came with the data
    h = status(port)['sync_info']['latest_block_height']
    assert d['height'] <= h <= d['height'] + 5
    nu.ok('stop', '--home', home)
    r = nu.ok(*run_args(home, s, port))
    assert r.stdout.splitlines()[0] == (f'nearup run: {home}/data already has data; not '
                                        'restoring --from-snapshot')
    nu.ok('stop', '--home', home)


def test_another_chain_is_refused_and_nothing_starts(nu, tmp_path, store):
    _, s, _ = store
    home = make_home(tmp_path / 'other', chain='othernet', age_s=1)
    r = nu(*run_args(home, s, free_port(), network='othernet'))
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: --from-snapshot {s}: snapshot s1 is of chain simnet, but '
                        f'{home} is a othernet home; refusing to mix chains\n')
    assert not os.path.exists(os.path.join(home, 'data'))
    assert not alive(read_pidfile(home, 'supervisor.pid'))


@pytest.fixture
def signed(nu, tmp_path):
    """A store whose one snapshot 's1' is signed with the source home's
    validator key; (source home, store, snapshot doc, public key)."""
    home = running_source(nu, tmp_path)
    s = tmp_path / 'store'
    key = os.path.join(home, 'validator_key.json')
    _, d = snap(nu, 'create', '--home', home, '--to', s, '--name', 's1', '--sign-key', key)
    nu.ok('stop', '--home', home)
    return home, s, d, load_json(key)['public_key']


def test_verify_key_restores_only_a_snapshot_of_that_signer(nu, tmp_path, signed):
    src, s, d, pk = signed
    home = twin_home(src, tmp_path / 'new', sync=1)
    other = load_json(os.path.join(home, 'validator_key.json'))['public_key']
    assert other != pk
    r = nu(*run_args(home, s, free_port()), '--verify-key', other)
    assert (r.returncode, r.stderr) == (1, f'nearup run: --from-snapshot {s}: the snapshot is '
                                           f'signed by {pk}, not by {other}\n')
    assert not os.path.exists(os.path.join(home, 'data')) or not os.listdir(
        os.path.join(home, 'data'))
    assert not alive(read_pidfile(home, 'supervisor.pid'))
    r = nu.ok(*run_args(home, s, free_port()), '--verify-key', pk)
    assert r.stdout.splitlines()[0] == (f"nearup run: restored snapshot s1 (height {d['height']}, "
                                        f"{d['files']} files) into {home}/data")
    nu.ok('stop', '--home', home)


def test_snapshot_flags_need_from_snapshot_and_a_valid_key(nu, tmp_path, signed):
    src, s, _, _ = signed
    home = twin_home(src, tmp_path / 'new', sync=1)
    args = run_args(home, s, free_port())
    plain = args[:args.index('--from-snapshot')]
    for flag, value in (('--verify-key', 'ed25519:x'), ('--s3-endpoint', 'http://127.0.0.1:1')):
        r = nu(*plain, flag, value)
        assert (r.returncode, r.stderr) == (2, f'nearup run: {flag} goes with --from-snapshot '
                                               "STORE; see 'nearup run --help'\n")
    r = nu(*args, '--verify-key', 'ed25519:abc')
    assert (r.returncode, r.stderr) == (2, 'nearup run: --verify-key ed25519:abc is not an '
                                           'ed25519:<base58> public key (public key: expected 32 '
                                           "bytes, got 3); see 'nearup run --help'\n")
    assert not os.path.exists(os.path.join(home, 'data'))


def test_from_an_s3_store_at_an_endpoint(nu, tmp_path):
    from test_snapshot_s3 import BUCKET, S3rver
    os.makedirs(tmp_path / 's3')
    s3 = S3rver(tmp_path / 's3')
    try:
        for k in ('AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_SESSION_TOKEN'):
            nu.env.pop(k, None)
        nu.env.update(AWS_ACCESS_KEY_ID='S3RVER', AWS_SECRET_ACCESS_KEY='S3RVER',
                      AWS_REGION='us-east-1')
        src = running_source(nu, tmp_path)
        store = f's3://{BUCKET}/near/simnet'
        _, d = snap(nu, 'create', '--home', src, '--to', store, '--name', 's1', '--s3-endpoint',
                    s3.url)
        nu.ok('stop', '--home', src)
        home = twin_home(src, tmp_path / 'new', sync=1)
        r = nu.ok(*run_args(home, store, free_port()), '--s3-endpoint', s3.url)
        assert r.stdout.splitlines()[0] == (f"nearup run: restored snapshot s1 (height "
                                            f"{d['height']}, {d['files']} files) into {home}/data")
        nu.ok('stop', '--home', home)
    finally:
        s3.stop()
