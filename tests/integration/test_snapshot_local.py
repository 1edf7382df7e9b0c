"""nearup snapshot create into a directory store: downtime of a running
node, a node that keeps serving, incremental uploads, stopped nodes,
unsupervised databases, kill -9, copies where links are impossible, split
storage, list and verify."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import NEARD_SIM, SimNode, free_port, load_json, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from nodeutil import read_pidfile, alive  # noqa: E402
from snaputil import (chunks_of, head, latest, make_home, manifest, manifests_in,  # noqa: E402
                      snap, stored_chunks, wait_head)

pytest_plugins = ('nodeutil',)


@pytest.fixture
def node(nu, tmp_path):
    """A node run by nearup on a home that synced ~300 blocks of 8 KiB, and
    was restarted once: RocksDB turns the WAL into an SST file on open."""
    home = make_home(tmp_path / 'home', age_s=36)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 250)
    nu.ok('restart', '--home', home)
    wait_head(port, head(port) + 2)
    return home, port


def test_create_stops_checkpoints_restarts_and_reports_downtime(nu, tmp_path, node):
    home, port = node
    store = tmp_path / 'store'
    before = read_pidfile(home, 'neard.pid')
    h0 = head(port)
    r, doc = snap(nu, 'create', '--home', home, '--to', store)
    assert doc['was_running'] is True and doc['restarted'] is True
    assert doc['checkpoint_ms'] <= doc['downtime_ms'] < 30000
    assert doc['downtime_ms'] >= doc['stop_ms'] + doc['start_ms']
    assert doc['files_linked'] + doc['files_copied'] == doc['files']
    assert doc['link_fallback'] is False
    # the node was restarted by its supervisor and serves again, past the snapshot
    after = read_pidfile(home, 'neard.pid')
    assert after[0] != before[0] and alive(after)
    assert h0 <= doc['height']
    wait_head(port, doc['height'] + 2)
    # what the store holds: the manifest, latest, every chunk; no marker left
    m = manifest(store, doc['name'])
    assert latest(store) == doc['name']
    assert m['format'] == 'nearup-snapshot' and m['version'] == 1
    assert m['chain_id'] == 'simnet' and m['block_height'] == doc['height']
    assert m['neard_version'] == '2.4.0' and len(m['block_hash']) > 40
    names = sorted(f['path'] for f in m['files'])
    assert 'CURRENT' in names and 'LOCK' not in names and 'LOG' not in names
    assert any(n.startswith('MANIFEST-') for n in names)
    assert sum(f['size'] for f in m['files']) == doc['bytes']
    assert stored_chunks(store) == chunks_of(m)
    assert doc['chunks_uploaded'] == len(chunks_of(m))
    assert doc['chunks'] == sum(len(f['chunks']) for f in m['files'])
    assert os.listdir(store / 'locks') == []
    assert not os.path.exists(os.path.join(home, 'data.nearup-checkpoint'))


def lock_role(home):
    with open(os.path.join(home, '.nearup', 'supervisor.lock')) as fh:
        return fh.read().split(' ')[0]


def test_no_node_starts_while_the_checkpoint_is_linked(nu, tmp_path, node):
    home, port = node
    p = nu.popen('snapshot', 'create', '--home', home, '--to', tmp_path / 'store', '--json',
                 extra_env={'NEARUP_SNAPSHOT_TEST_CHECKPOINT_DELAY_MS': '3000'})
    wait_until(lambda: not alive(read_pidfile(home, 'neard.pid')) and
               lock_role(home) == 'checkpoint', 20, what='create holds the stopped home')
    for cmd in (['run', 'simnet', '--home', home, '--binary-path', NEARD_SIM,
                 '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}'],
                ['restart', '--home', home]):
        r = nu(*cmd)
        assert r.returncode == 1, (cmd, r.stdout, r.stderr)
        assert r.stderr == (f'nearup {cmd[0]}: nearup snapshot create (pid {p.pid}) is taking a '
                            f'checkpoint of the data of {home} and starts the node again in a '
                            'moment; wait for it, then try again\n')
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    doc = json.loads(out)
    assert doc['was_running'] is True and doc['restarted'] is True
    assert alive(read_pidfile(home, 'neard.pid'))
    wait_head(port, doc['height'] + 2)


def test_human_output_names_downtime_and_upload(nu, tmp_path, node):
    home, _ = node
    r = nu.ok('snapshot', 'create', '--home', home, '--to', tmp_path / 's', '--name', 'first')
    lines = r.stdout.splitlines()
    assert lines[0].startswith('nearup snapshot create: node down for ')
    assert ' ms (stop ' in lines[0] and ', checkpoint ' in lines[0]
    assert lines[1].startswith('nearup snapshot create: checkpoint: ')
    assert lines[2].startswith('nearup snapshot create: first at height ')
    assert 'nearup snapshot create: stopping the node for the checkpoint' in r.stderr
    r = nu('snapshot', 'create', '--home', home, '--to', tmp_path / 's', '--name', 'first')
    assert r.returncode == 1
    assert r.stderr.endswith(f"already has a snapshot named first\n")


def test_second_create_uploads_only_new_chunks(nu, tmp_path, node):
    home, port = node
    store = tmp_path / 'store'
    _, d1 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'one')
    wait_head(port, d1['height'] + 30)
    _, d2 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'two')
    m1, m2 = manifest(store, 'one'), manifest(store, 'two')
    new = chunks_of(m2) - chunks_of(m1)
    assert d2['chunks_uploaded'] == len(new)
    assert 0 < d2['chunks_uploaded'] < d2['chunks']
    assert d2['files_new'] == sum(1 for f in m2['files']
                                  if any(c['sha256'] in new for c in f['chunks']))
    # SST files are immutable: one in both snapshots has the same chunks
    sst1 = {f['path']: f['chunks'] for f in m1['files'] if f['path'].endswith('.sst')}
    same = [f for f in m2['files'] if f['path'] in sst1]
    assert same and all(f['chunks'] == sst1[f['path']] for f in same)
    assert stored_chunks(store) == chunks_of(m1) | chunks_of(m2)
    sizes = {c['sha256']: c['size'] for f in m2['files'] for c in f['chunks']}
    assert d2['bytes_new'] == sum(sizes[s] for s in new)


def test_stopped_node_is_not_started(nu, tmp_path):
    home = make_home(tmp_path / 'home', age_s=12)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 80)
    nu.ok('stop', '--home', home)
    _, doc = snap(nu, 'create', '--home', home, '--to', tmp_path / 'store')
    assert doc['was_running'] is False and doc['restarted'] is False
    assert doc['downtime_ms'] == 0 and doc['height'] is None
    assert not alive(read_pidfile(home, 'supervisor.pid'))
    assert not alive(read_pidfile(home, 'neard.pid'))


def test_an_empty_data_dir_is_a_snapshot_of_no_file(nu, tmp_path):
    home = make_home(tmp_path / 'home', age_s=1)
    os.makedirs(os.path.join(home, 'data'))
    store = tmp_path / 'store'
    _, doc = snap(nu, 'create', '--home', home, '--to', store)
    assert (doc['files'], doc['chunks'], doc['bytes'], doc['height']) == (0, 0, 0, None)
    assert manifest(store, latest(store))['files'] == []


def test_unsupervised_open_database_is_refused(nu, tmp_path):
    home = make_home(tmp_path / 'home', age_s=6)
    n = SimNode(home).start()
    try:
        r, _ = snap(nu, 'create', '--home', home, '--to', tmp_path / 'store', ok=False)
        assert r.returncode == 1
        assert r.stderr == (f'nearup snapshot create: the database in {home}/data is open by a '
                            "process nearup does not supervise; run the node with 'nearup run' "
                            'or stop it first\n')
        assert manifests_in(tmp_path / 'store') == []
    finally:
        n.stop()


def test_kill9_during_upload_leaves_no_manifest_and_rerun_finishes(nu, tmp_path, node):
    home, port = node
    store = tmp_path / 'store'
    _, d1 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'base')
    wait_head(port, d1['height'] + 30)
    env = dict(nu.env, NEARUP_SNAPSHOT_TEST_DELAY_MS='400')
    p = subprocess.Popen([os.environ.get('NEARUP'), 'snapshot', 'create', '--home', str(home),
                          '--to', str(store), '--name', 'cut', '--parallel', '1'],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: os.path.exists(os.path.join(home, 'data.nearup-checkpoint')) and
               alive(read_pidfile(home, 'neard.pid')), 30, what='upload phase')
    time.sleep(1.0)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    assert manifests_in(store) == ['base.json']
    assert latest(store) == 'base'
    assert os.listdir(store / 'locks') == ['create-cut']
    wait_head(port, d1['height'] + 35)  # the node runs on
    _, v = snap(nu, 'verify', '--from', store)
    assert v['ok'] is True and v['snapshots'] == 1
    before = stored_chunks(store)
    _, d2 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'again')
    m2 = manifest(store, 'again')
    assert d2['chunks_uploaded'] == len(chunks_of(m2) - before)
    assert not os.path.exists(os.path.join(home, 'data.nearup-checkpoint'))


def test_copies_when_hard_links_are_impossible_and_says_so(nu, tmp_path, node):
    home, _ = node
    r, doc = snap(nu, 'create', '--home', home, '--to', tmp_path / 'store',
                  env={'NEARUP_SNAPSHOT_TEST_NOLINK': '1'})
    assert doc['link_fallback'] is True and doc['files_linked'] == 0
    assert doc['files_copied'] == doc['files']
    assert ('nearup snapshot create: warning: hard links are impossible here (Operation not '
            f"permitted); copied {doc['files']} files instead") in r.stderr


def test_split_storage_hot_and_cold(nu, tmp_path):
    home = make_home(tmp_path / 'home', age_s=6)
    cfg = load_json(os.path.join(home, 'config.json'))
    cfg['cold_store'] = {'path': 'cold-data'}
    with open(os.path.join(home, 'config.json'), 'w') as fh:
        import json
        json.dump(cfg, fh)
    cold = os.path.join(home, 'cold-data')
    os.makedirs(os.path.join(cold, 'sub'))
    for name, data in (('000007.sst', os.urandom(5 << 20)), ('CURRENT', b'MANIFEST-000001\n'),
                       ('sub/000009.sst', b'x' * 1000), ('LOCK', b'')):
        with open(os.path.join(cold, name), 'wb') as fh:
            fh.write(data)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 30)
    _, doc = snap(nu, 'create', '--home', home, '--to', tmp_path / 'store', '--name', 'split')
    m = manifest(tmp_path / 'store', 'split')
    cold_files = sorted(f['path'] for f in m['files'] if f['dir'] == 'cold')
    assert cold_files == ['000007.sst', 'CURRENT', 'sub/000009.sst']
    big = [f for f in m['files'] if f['path'] == '000007.sst'][0]
    assert big['size'] == 5 << 20 and [c['size'] for c in big['chunks']] == [4 << 20, 1 << 20]
    assert any(f['dir'] == 'hot' and f['path'] == 'CURRENT' for f in m['files'])
    assert doc['files_linked'] >= 2


def test_list_and_verify(nu, tmp_path, node):
    home, port = node
    store = tmp_path / 'store'
    _, a = snap(nu, 'create', '--home', home, '--to', store, '--name', 'a', '--compress', 'none')
    _, b = snap(nu, 'create', '--home', home, '--to', store, '--name', 'b')
    _, lst = snap(nu, 'list', '--from', store)
    assert [x['name'] for x in lst] == ['a', 'b']
    assert [x['latest'] for x in lst] == [False, True]
    assert lst[1]['height'] == b['height'] and lst[1]['files'] == b['files']
    assert lst[1]['bytes'] == b['bytes'] and lst[1]['chain_id'] == 'simnet'
    r = nu.ok('snapshot', 'list', '--from', f'file://{store}')
    assert r.stdout.splitlines()[0].split() == ['NAME', 'CREATED', 'CHAIN', 'HEIGHT', 'FILES',
                                                'SIZE']
    assert r.stdout.splitlines()[2].split()[-1] == 'latest'
    _, v = snap(nu, 'verify', '--from', store)
    union = chunks_of(manifest(store, 'a')) | chunks_of(manifest(store, 'b'))
    assert v == {'ok': True, 'snapshots': 2, 'chunks': len(union), 'chunks_bad': 0,
                 'bytes': v['bytes'], 'first_bad': ''}
    _, v = snap(nu, 'verify', '--from', store, '--name', 'a')
    assert v['snapshots'] == 1 and v['chunks'] == len(chunks_of(manifest(store, 'a')))
    r = nu.ok('snapshot', 'verify', '--from', store)
    assert r.stdout == (f'nearup snapshot verify: 2 snapshots, {len(union)} chunks '
                        f'({r.stdout.split("(")[1].split(")")[0]}): every chunk is present and '
                        'matches its sha256\n')


def test_usage_errors(nu, tmp_path):
    r = nu('snapshot', 'create', '--to', tmp_path)
    assert r.returncode == 2 and r.stderr == ("nearup snapshot create: --home DIR is required; "
                                              "see 'nearup snapshot create --help'\n")
    r = nu('snapshot', 'restore', '--home', tmp_path, '--keep', '3')
    assert r.returncode == 2 and r.stderr.startswith("nearup snapshot restore: unknown option "
                                                     "'--keep'")
    r = nu('snapshot', 'frobnicate')
    assert r.returncode == 2 and r.stderr.startswith("nearup snapshot: unknown subcommand "
                                                     "'frobnicate'")
    r = nu('snapshot', 'list', '--from', 'ftp://x/y')
    assert r.returncode == 1
    assert r.stderr == ('nearup snapshot list: store ftp://x/y: unknown scheme; use a directory, '
                        'file://, s3:// or http(s)://\n')
    r = nu('snapshot', 'create', '--home', tmp_path, '--to', tmp_path / 's', '--parallel', '0')
    assert r.returncode == 2 and r.stderr == ("nearup snapshot create: --parallel: 0 is out of "
                                              "range [1, 64]; see 'nearup snapshot create "
                                              "--help'\n")
