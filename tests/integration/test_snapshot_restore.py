"""nearup snapshot restore from a directory store (and the same store over
HTTP): a data dir neard-sim opens at the snapshot's head, --replace, a
running node, kill -9 in the middle and a rerun that resumes, names, and
the progress bar."""
import os
import pty
import signal
import subprocess
import time

import pytest

from conftest import NEARUP, SimNode, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from snaputil import (DirServer, chunk_plain, head, make_home, manifest, snap,  # noqa: E402
                      tree_hashes, twin_home, wait_head)
import hashlib  # noqa: E402

pytest_plugins = ('nodeutil',)


@pytest.fixture
def source(nu, tmp_path):
    """A node whose data dir was snapshotted once as 's1' into tmp/store."""
    home = make_home(tmp_path / 'src', age_s=30)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 200)
    nu.ok('restart', '--home', home)
    wait_head(port, head(port) + 2)
    store = tmp_path / 'store'
    _, doc = snap(nu, 'create', '--home', home, '--to', store, '--name', 's1')
    return home, port, store, doc


def expected_files(store, m):
    """{path: sha256} of every hot file as the snapshot holds it."""
    out = {}
    for f in m['files']:
        data = b''.join(chunk_plain(store, c['sha256']) for c in f['chunks'])
        assert len(data) == f['size']
        out[f['path']] = hashlib.sha256(data).hexdigest()
    return out


def make_old_data(home):
    """Gives a home a data dir of its own (a short run of neard-sim)."""
    n = SimNode(home).start()
    n.stop()
    return tree_hashes(os.path.join(home, 'data'))


def test_restore_gives_a_data_dir_neard_opens_at_the_snapshot_head(nu, tmp_path, source):
    home, port, store, d = source
    dst = twin_home(home, tmp_path / 'dst', sync=1)
    _, r = snap(nu, 'restore', '--from', store, '--home', dst)
    m = manifest(store, 's1')
    assert (r['name'], r['chain_id'], r['height'], r['layout']) == ('s1', 'simnet', d['height'],
                                                                     'nearup')
    assert (r['files'], r['bytes'], r['chunks']) == (d['files'], d['bytes'], d['chunks'])
    assert r['chunks_downloaded'] == r['chunks'] and r['chunks_present'] == 0
    assert r['replaced'] is False and r['checks'] == 'sha256 of every chunk'
    assert r['data_dir'] == os.path.join(dst, 'data')
    assert tree_hashes(os.path.join(dst, 'data')) == expected_files(store, m)
    assert sorted(os.listdir(dst)) == ['.nearup', 'config.json', 'data', 'genesis.json',
                                       'node_key.json', 'validator_key.json']
    assert [n for n in os.listdir(dst) if '.restore-' in n or '.replaced-' in n] == []
    node = SimNode(dst).start()
    try:
        st = node.status()['sync_info']
        # it syncs one block a second: a head at the snapshot's comes from the data
        assert d['height'] <= st['latest_block_height'] <= d['height'] + 5
        assert st['earliest_block_height'] == 0
        block = node.result('block', {'block_id': d['height']})
        assert block['header']['hash'] == m['block_hash']
    finally:
        node.stop()


def test_existing_data_is_replaced_only_with_replace(nu, tmp_path, source):
    home, _, store, d = source
    dst = twin_home(home, tmp_path / 'dst')
    old = make_old_data(dst)
    r, _ = snap(nu, 'restore', '--from', store, '--home', dst, ok=False)
    assert r.returncode == 1
    assert r.stderr == (f'nearup snapshot restore: {dst}/data already holds data; pass '
                        f'--replace to replace it (the old data is kept as {dst}/data.replaced-s1 '
                        'until the node has opened the restored data)\n')
    assert tree_hashes(os.path.join(dst, 'data')) == old
    assert [n for n in os.listdir(dst) if '.restore-' in n] == []
    _, r = snap(nu, 'restore', '--from', store, '--home', dst, '--replace')
    assert r['replaced'] is True
    assert r['old_data'] == [f'{dst}/data.replaced-s1'] and r['old_kept'] is False
    assert tree_hashes(os.path.join(dst, 'data')) == expected_files(store, manifest(store, 's1'))
    # kept until the node has opened the new data (test_snapshot_swap.py)
    assert tree_hashes(os.path.join(dst, 'data.replaced-s1')) == old
    assert [n for n in os.listdir(dst) if '.restore-' in n] == []


def test_a_running_node_is_refused(nu, tmp_path, source):
    home, _, store, _ = source
    dst = twin_home(home, tmp_path / 'dst')
    node = SimNode(dst).start()
    try:
        old = tree_hashes(os.path.join(dst, 'data'))
        r, _ = snap(nu, 'restore', '--from', store, '--home', dst, '--replace', ok=False)
        assert r.returncode == 1
        assert r.stderr == (f'nearup snapshot restore: the node of {dst} is running; stop it '
                            f"first with 'nearup stop --home {dst}'\n")
        assert tree_hashes(os.path.join(dst, 'data')) == old
    finally:
        node.stop()


def test_kill9_keeps_old_data_and_a_rerun_fetches_only_what_is_missing(nu, tmp_path, source):
    home, _, store, d = source
    dst = twin_home(home, tmp_path / 'dst')
    old = make_old_data(dst)
    srv = DirServer(store)
    try:
        args = [NEARUP, 'snapshot', 'restore', '--from', srv.url, '--home', dst, '--replace',
                '--parallel', '1', '--json']
        env = dict(nu.env, NEARUP_SNAPSHOT_TEST_DELAY_MS='300')
        p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: len(srv.gets('/chunks/')) >= 3, 30, what='three chunks fetched')
        time.sleep(0.1)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        first = srv.gets('/chunks/')
        assert tree_hashes(os.path.join(dst, 'data')) == old
        assert os.path.isdir(os.path.join(dst, 'data.restore-s1'))
        srv.reset()
        r = subprocess.run(args, env=nu.env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        import json
        doc = json.loads(r.stdout)
        second = srv.gets('/chunks/')
        assert doc['chunks_present'] + doc['chunks_downloaded'] == doc['chunks'] == d['chunks']
        assert doc['chunks_downloaded'] == len(second)
        assert doc['chunks_present'] >= len(first) - 1 >= 2
        assert doc['replaced'] is True
        assert tree_hashes(os.path.join(dst, 'data')) == expected_files(store,
                                                                        manifest(store, 's1'))
        assert srv.gets('/latest') == ['/latest'] and srv.gets('/manifests/') == [
            '/manifests/s1.json']
    finally:
        srv.stop()


def test_names_latest_and_a_missing_snapshot(nu, tmp_path, source):
    home, port, store, d = source
    wait_head(port, d['height'] + 10)
    snap(nu, 'create', '--home', home, '--to', store, '--name', 's2')
    dst = twin_home(home, tmp_path / 'dst')
    _, r = snap(nu, 'restore', '--from', store, '--home', dst, '--name', 's1')
    assert r['name'] == 's1'
    _, r = snap(nu, 'restore', '--from', store, '--home', dst, '--name', 'latest', '--replace')
    assert r['name'] == 's2'
    r, _ = snap(nu, 'restore', '--from', store, '--home', dst, '--name', 'nope', '--replace',
                ok=False)
    assert r.returncode == 1
    assert r.stderr == f'nearup snapshot restore: store {store} has no snapshot nope\n'
    r, _ = snap(nu, 'restore', '--from', tmp_path / 'empty', '--home', dst, '--replace', ok=False)
    assert r.stderr == (f"nearup snapshot restore: store {tmp_path}/empty has no snapshot (no "
                        "'latest')\n")


def test_progress_bar_with_rate_and_eta_on_a_terminal(nu, tmp_path, source):
    home, _, store, _ = source
    dst = twin_home(home, tmp_path / 'dst')
    master, slave = pty.openpty()
    p = subprocess.Popen([NEARUP, 'snapshot', 'restore', '--from', str(store), '--home', dst],
                         env=nu.env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out, _ = p.communicate(timeout=60)
    tty = b''
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    assert p.returncode == 0
    draws = [x.replace('\x1b[K', '') for x in tty.decode().replace('\n', '\r').split('\r')]
    last = [x for x in draws if x.strip()][-1]
    assert last.startswith('restoring  ') and ' 100% ' in last and '/s  ETA 0:00' in last
    assert out.decode().startswith('nearup snapshot restore: restored s1 (simnet, height ')
