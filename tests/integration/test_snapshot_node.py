"""nearup run --from-snapshot STORE: the autoscaling bootstrap. A node whose
home has no data restores the store's latest snapshot before its first
start; a home with data starts as it is; another chain is refused."""
import os

import pytest

from conftest import NEARD_SIM, free_port
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from nodeutil import alive, read_pidfile  # noqa: E402
from snaputil import head, make_home, snap, status, twin_home, wait_head  # noqa: E402

pytest_plugins = ('nodeutil',)


@pytest.fixture
def store(nu, tmp_path):
    home = make_home(tmp_path / 'src', age_s=30)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 200)
    nu.ok('restart', '--home', home)
    wait_head(port, head(port) + 2)
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
