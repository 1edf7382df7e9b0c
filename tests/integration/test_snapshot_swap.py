"""A restore never touches a node that runs: one home lock excludes restore
and every start of neard (run, restart, supervise, localnet), the swap
checks again at the rename that no neard has the data open and that data
that appeared meanwhile is moved only with --replace, old data stays aside
until the node has opened the new data, and a kill -9 at each step of the
swap is finished or rolled back by the next restore or run."""
import json
import os
import signal
import subprocess
import threading

import pytest

from conftest import NEARD_SIM, NEARUP, SimNode, free_port, load_json, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from nodeutil import alive, log_text, neards_of, read_pidfile  # noqa: E402
from snaputil import (DirServer, chunk_plain, head, make_home, manifest, snap,  # noqa: E402
                      tree_hashes, twin_home, wait_head)
import hashlib  # noqa: E402

pytest_plugins = ('nodeutil',)

KILL_ENV = 'NEARUP_RESTORE_TEST_KILL_AT'


@pytest.fixture
def source(nu, tmp_path):
    """A node whose data was snapshotted once as 's1' into tmp/store."""
    home = make_home(tmp_path / 'src', age_s=30)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 200)
    nu.ok('restart', '--home', home)
    wait_head(port, head(port) + 2)
    store = tmp_path / 'store'
    _, doc = snap(nu, 'create', '--home', home, '--to', store, '--name', 's1')
    nu.ok('stop', '--home', home)
    return home, store, doc


def snapshot_files(store):
    out = {}
    for f in manifest(store, 's1')['files']:
        data = b''.join(chunk_plain(store, c['sha256']) for c in f['chunks'])
        out[f['path']] = hashlib.sha256(data).hexdigest()
    return out


def every_file(root):
    """{relative path: sha256} of every file under root, LOCK and LOG included."""
    return tree_hashes(root, skip=())


def old_data(nu, home):
    """Gives home data of its own through `nearup run` (so also a run.json)."""
    port = free_port()
    nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
          '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    nu.ok('stop', '--home', home)
    return tree_hashes(os.path.join(home, 'data')), port


def ports():
    return ['--rpc-addr', f'127.0.0.1:{free_port()}', '--network-addr',
            f'127.0.0.1:{free_port()}']


def journal(home):
    path = os.path.join(home, '.nearup', 'restore.json')
    return load_json(path) if os.path.exists(path) else None


class Gate:
    """Holds every chunk download of a DirServer until released, so a test
    acts while a restore is in progress, deterministically."""

    def __init__(self):
        self.reached = threading.Event()
        self.go = threading.Event()

    def __call__(self, srv, h, body):
        if h.command == 'GET' and h.path.startswith('/chunks/') and not self.go.is_set():
            self.reached.set()
            self.go.wait(60)
        return False


@pytest.fixture
def gated(source):
    gate = Gate()
    srv = DirServer(source[1], handler=gate)
    yield srv, gate
    gate.go.set()
    srv.stop()


def start_restore(nu, srv, gate, home, *extra):
    p = subprocess.Popen([NEARUP, 'snapshot', 'restore', '--from', srv.url, '--home', home,
                          '--json', *extra], env=nu.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert gate.reached.wait(30), 'the restore fetched no chunk'
    return p


def test_nothing_starts_neard_while_a_restore_runs(nu, tmp_path, source, gated):
    src, store, d = source
    srv, gate = gated
    home = twin_home(src, tmp_path / 'dst', sync=1)
    p = start_restore(nu, srv, gate, home)
    pid = p.pid
    busy = (f'a snapshot restore is running for {home} (pid {pid}); wait for it to finish, or '
            f"interrupt it with 'kill -INT {pid}', then try again")
    port = free_port()
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--rpc-addr',
           f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    assert (r.returncode, r.stdout, r.stderr) == (1, '', f'nearup run: {busy}\n')
    # the systemd path: nearup run --foreground, nearup supervise
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--foreground', *ports())
    assert (r.returncode, r.stderr) == (1, f'nearup run: {busy}\n')
    r = nu('supervise', '--home', home)
    assert (r.returncode, r.stderr) == (1, f'nearup supervise: {busy}\n')
    r = nu('status', '--home', home, '--json')
    node = json.loads(r.stdout)['nodes'][0]
    assert (node['state'], node['pid'], node['error']) == (
        'restoring', None, f'a snapshot restore is in progress (pid {pid})')
    r = nu('stop', '--home', home)
    assert (r.returncode, r.stdout) == (0, f'nearup stop: no node runs for {home}; a snapshot '
                                           f'restore is in progress there (pid {pid}), which '
                                           f"stop leaves alone (interrupt it with 'kill -INT "
                                           f"{pid}')\n")
    assert p.poll() is None, 'stop must not end the restore'
    assert neards_of(home) == [] and not os.path.exists(os.path.join(home, 'data'))
    gate.go.set()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert json.loads(out)['chunks'] == d['chunks']
    assert tree_hashes(os.path.join(home, 'data')) == snapshot_files(store)
    assert not alive(read_pidfile(home, 'supervisor.pid')) and neards_of(home) == []


def test_a_restart_during_a_restore_is_refused(nu, tmp_path, source, gated):
    src, store, _ = source
    srv, gate = gated
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, _ = old_data(nu, home)
    p = start_restore(nu, srv, gate, home, '--replace')
    r = nu('restart', '--home', home)
    assert (r.returncode, r.stderr) == (
        1, f'nearup restart: a snapshot restore is running for {home} (pid {p.pid}); wait for it '
           f"to finish, or interrupt it with 'kill -INT {p.pid}', then try again\n")
    assert tree_hashes(os.path.join(home, 'data')) == old
    gate.go.set()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert tree_hashes(os.path.join(home, 'data')) == snapshot_files(store)


def test_data_that_appears_during_a_restore_is_not_moved_without_replace(nu, tmp_path, source,
                                                                         gated):
    src, store, _ = source
    srv, gate = gated
    home = twin_home(src, tmp_path / 'dst', sync=1)
    p = start_restore(nu, srv, gate, home)
    n = SimNode(home).start()  # a neard started by hand, past every nearup lock
    n.stop()
    data = os.path.join(home, 'data')
    before = every_file(data)
    assert 'LOCK' in before and len(before) >= 3
    gate.go.set()
    out, err = p.communicate(timeout=60)
    assert (p.returncode, out) == (1, '')
    assert err == (f'nearup snapshot restore: {data} got data while the restore ran (was a node '
                   f'started?); it was left as it is, and the restored data waits in '
                   f'{data}.restore-s1: rerun the restore with --replace to replace it\n')
    assert every_file(data) == before
    assert sorted(n for n in os.listdir(home) if n.startswith('data')) == ['data',
                                                                          'data.restore-s1']
    assert journal(home) is None
    # the rerun the message asks for takes the staged data as it is
    _, r = snap(nu, 'restore', '--from', store, '--home', home, '--replace')
    assert (r['chunks_downloaded'], r['chunks_present']) == (0, r['chunks'])
    assert r['old_data'] == [f'{data}.replaced-s1']
    assert every_file(f'{data}.replaced-s1') == dict(before)
    assert tree_hashes(data) == snapshot_files(store)


def test_a_neard_that_opened_the_data_during_a_restore_keeps_it(nu, tmp_path, source, gated):
    src, store, _ = source
    srv, gate = gated
    home = twin_home(src, tmp_path / 'dst', sync=1)
    n = SimNode(home).start()
    n.stop()
    data = os.path.join(home, 'data')
    inode = os.stat(data).st_ino
    p = start_restore(nu, srv, gate, home, '--replace')
    n = SimNode(home).start()  # by hand, between the restore's first check and its swap
    try:
        h0 = n.height()
        gate.go.set()
        out, err = p.communicate(timeout=60)
        assert (p.returncode, out) == (1, '')
        assert err == (f'nearup snapshot restore: a neard opened the database in {data} while '
                       f'the restore ran; nothing was changed and the restored data waits in '
                       f'{data}.restore-s1: stop that neard, then rerun the restore\n')
        assert os.stat(data).st_ino == inode
        assert n.height() >= h0  # still on its own data
    finally:
        n.stop()
    assert not os.path.exists(f'{data}.replaced-s1') and journal(home) is None
    assert tree_hashes(data) != snapshot_files(store)
    n = SimNode(home).start()  # and it opens again where it was
    try:
        assert n.height() >= h0
    finally:
        n.stop()


def test_old_data_stays_until_the_node_has_opened_the_new_data(nu, tmp_path, source):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, port = old_data(nu, home)
    data = os.path.join(home, 'data')
    r, doc = snap(nu, 'restore', '--from', store, '--home', home, '--replace')
    assert (doc['replaced'], doc['old_data'], doc['old_kept']) == (True, [f'{data}.replaced-s1'],
                                                                   False)
    assert tree_hashes(f'{data}.replaced-s1') == old
    assert journal(home)['state'] == 'swapped'
    assert journal(home)['remove'] == [f'{data}.replaced-s1']
    r = nu('snapshot', 'restore', '--from', str(store), '--home', home, '--replace')
    assert r.returncode == 1  # the kept data is never overwritten by another restore
    assert r.stderr == (f'nearup snapshot restore: {data}.replaced-s1 is in the way (old data an '
                        'earlier restore kept); move it away or remove it, then retry\n')
    nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
          '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    assert d['height'] <= head(port) <= d['height'] + 5
    wait_until(lambda: not os.path.exists(f'{data}.replaced-s1'), 20, what='old data removed')
    wait_until(lambda: journal(home) is None, 20, what='restore.json removed')
    assert 'msg="removed the old data a snapshot restore had kept aside" dirs=1' in log_text(home)
    nu.ok('stop', '--home', home)


def test_keep_old_keeps_the_replaced_data_for_good(nu, tmp_path, source):
    src, store, _ = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, port = old_data(nu, home)
    data = os.path.join(home, 'data')
    r = nu('snapshot', 'restore', '--from', str(store), '--home', home, '--keep-old')
    assert r.returncode == 2
    assert r.stderr == ('nearup snapshot restore: --keep-old goes with --replace (it keeps the '
                        "replaced data); see 'nearup snapshot restore --help'\n")
    r = nu.ok('snapshot', 'restore', '--from', str(store), '--home', home, '--replace',
              '--keep-old')
    assert r.stdout.splitlines()[1] == (f'nearup snapshot restore: the old data is in '
                                        f'{data}.replaced-s1 (kept: --keep-old)')
    assert journal(home) is None
    nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
          '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    nu.ok('stop', '--home', home)
    assert tree_hashes(f'{data}.replaced-s1') == old


# ---- kill -9 at each step of the swap ----

def killed_restore(nu, home, store, step, *extra):
    r = subprocess.run([NEARUP, 'snapshot', 'restore', '--from', str(store), '--home', home,
                        *extra], env=dict(nu.env, **{KILL_ENV: step}), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)


def names(home):
    return sorted(n for n in os.listdir(home) if n.startswith('data'))


# the state each step leaves: which dirs exist, and the journal's state
AFTER = {
    'journal': (['data', 'data.restore-s1'], 'swapping'),
    'aside': (['data.replaced-s1', 'data.restore-s1'], 'swapping'),
    'in': (['data', 'data.replaced-s1'], 'swapping'),
    'done': (['data', 'data.replaced-s1'], 'swapped'),
}


def finished(home):
    return (f'finished the swap of snapshot s1 that was interrupted: {home}/data holds the '
            f'snapshot now; its old data is in {home}/data.replaced-s1')


@pytest.mark.parametrize('step', ['journal', 'aside', 'in'])
def test_kill9_in_the_swap_is_finished_by_the_next_restore(nu, tmp_path, source, step):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, _ = old_data(nu, home)
    killed_restore(nu, home, store, step, '--replace')
    assert (names(home), journal(home)['state']) == AFTER[step]
    r, doc = snap(nu, 'restore', '--from', store, '--home', home, '--replace')
    assert r.stderr == f'nearup snapshot restore: {finished(home)}\n'
    assert (doc['chunks_downloaded'], doc['chunks_present'], doc['replaced']) == (0, d['chunks'],
                                                                                  True)
    assert names(home) == ['data', 'data.replaced-s1']
    assert tree_hashes(os.path.join(home, 'data')) == snapshot_files(store)
    assert tree_hashes(os.path.join(home, 'data.replaced-s1')) == old
    assert journal(home)['state'] == 'swapped'


@pytest.mark.parametrize('step', ['journal', 'aside', 'in', 'done'])
def test_kill9_in_the_swap_is_finished_by_the_next_run(nu, tmp_path, source, step):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, port = old_data(nu, home)
    killed_restore(nu, home, store, step, '--replace')
    assert (names(home), journal(home)['state']) == AFTER[step]
    assert tree_hashes(os.path.join(home, 'data.restore-s1' if step in ('journal', 'aside')
                                    else 'data')) == snapshot_files(store)
    r = nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
              '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    lines = r.stdout.splitlines()
    if step != 'done':
        assert lines[0] == f'nearup run: {finished(home)}'
    assert lines[-1].startswith(f'nearup run: neard 2.4.0 running for {home} (pid ')
    assert d['height'] <= head(port) <= d['height'] + 5  # it opened the snapshot's data
    wait_until(lambda: names(home) == ['data'] and journal(home) is None, 20,
               what='old data removed')
    nu.ok('stop', '--home', home)


def test_kill9_before_the_journal_of_a_new_home_then_run(nu, tmp_path, source):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    killed_restore(nu, home, store, 'journal')
    assert (names(home), journal(home)['state']) == (['data.restore-s1'], 'swapping')
    port = free_port()
    r = nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
              '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    assert r.stdout.splitlines()[0] == (f'nearup run: finished the swap of snapshot s1 that was '
                                        f'interrupted: {home}/data holds the snapshot now')
    assert d['height'] <= head(port) <= d['height'] + 5
    assert names(home) == ['data'] and journal(home) is None
    nu.ok('stop', '--home', home)


def test_kill9_between_the_renames_then_restart_recovers_in_the_supervisor(nu, tmp_path, source):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, port = old_data(nu, home)
    killed_restore(nu, home, store, 'aside', '--replace')
    assert not os.path.exists(os.path.join(home, 'data'))
    nu.ok('restart', '--home', home)  # no `run` in between: the supervisor settles it
    assert f'msg="{finished(home)}"' in log_text(home)
    assert d['height'] <= head(port) <= d['height'] + 5
    wait_until(lambda: names(home) == ['data'], 20, what='old data removed')
    nu.ok('stop', '--home', home)


def test_a_lost_staging_dir_is_rolled_back(nu, tmp_path, source):
    src, store, _ = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, port = old_data(nu, home)
    killed_restore(nu, home, store, 'aside', '--replace')
    subprocess.run(['rm', '-rf', os.path.join(home, 'data.restore-s1')], check=True)
    r = nu.ok('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--restart', 'no',
              '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    assert r.stdout.splitlines()[0] == ('nearup run: rolled back the swap of snapshot s1 that '
                                        'was interrupted: its restored data was gone')
    assert head(port) < 100  # its own few blocks again, not the snapshot's head
    nu.ok('stop', '--home', home)
    assert names(home) == ['data'] and journal(home) is None


def test_neard_never_starts_on_a_missing_data_dir(nu, tmp_path, source):
    src, store, _ = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old_data(nu, home)
    killed_restore(nu, home, store, 'aside', '--replace')
    for n in ('data.restore-s1', 'data.replaced-s1'):
        subprocess.run(['rm', '-rf', os.path.join(home, n)], check=True)
    gone = (f'the old data of {home}/data is gone (neither it nor {home}/data.replaced-s1 is '
            'there); not starting neard on it: put the data back by hand')
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, *ports())
    assert (r.returncode, r.stderr) == (1, f'nearup run: {gone}\n')
    r = nu('restart', '--home', home)
    assert (r.returncode, r.stderr) == (1, f'nearup restart: {gone}\n')
    r = nu('snapshot', 'restore', '--from', str(store), '--home', home, '--replace')
    assert (r.returncode, r.stderr) == (1, f'nearup snapshot restore: {gone}\n')
    assert names(home) == [] and neards_of(home) == []
    assert journal(home)['state'] == 'swapping'


def test_a_journal_that_cannot_be_read_stops_everything(nu, tmp_path, source):
    src, store, _ = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old_data(nu, home)
    path = os.path.join(home, '.nearup', 'restore.json')
    with open(path, 'w') as fh:
        json.dump({'format': 'nearup-restore-swap', 'version': 1, 'state': 'swapping',
                   'snapshot': 's1', 'replace': True, 'keep_old': False,
                   'dirs': [{'target': f'{home}/data', 'staging': '/etc', 'old': f'{home}/x',
                             'had_data': True}], 'remove': []}, fh)
    want = (f'{path} cannot be read (the paths of dir {home}/data do not belong together); '
            'nearup starts neither neard nor a restore for this home until it can: check the '
            'data dirs by hand, then remove it')
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, *ports())
    assert (r.returncode, r.stderr) == (1, f'nearup run: {want}\n')
    r = nu('snapshot', 'restore', '--from', str(store), '--home', home, '--replace')
    assert (r.returncode, r.stderr) == (1, f'nearup snapshot restore: {want}\n')
    assert names(home) == ['data'] and neards_of(home) == []


# ---- snapshot verify --home ----

def test_verify_home_proves_the_data_and_removes_the_old(nu, tmp_path, source):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old_data(nu, home)
    data = os.path.join(home, 'data')
    snap(nu, 'restore', '--from', store, '--home', home, '--replace')
    r = nu.ok('snapshot', 'verify', '--from', str(store), '--home', home)
    assert r.stdout.splitlines() == [
        f"nearup snapshot verify: the data of {home} matches snapshot s1: {d['files']} files, "
        f"{d['chunks']} chunks ({r.stdout.split('(')[1].split(')')[0]}), every one's sha256",
        'nearup snapshot verify: removed the old data the restore had kept aside (1 dir)']
    assert names(home) == ['data'] and journal(home) is None
    assert tree_hashes(data) == snapshot_files(store)
    _, doc = snap(nu, 'verify', '--from', store, '--home', home)  # again: nothing left to remove
    assert (doc['ok'], doc['snapshot'], doc['files'], doc['files_bad'], doc['old_removed']) == (
        True, 's1', d['files'], 0, 0)


def test_verify_home_keeps_the_old_data_when_the_data_differs(nu, tmp_path, source):
    src, store, d = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    old, _ = old_data(nu, home)
    data = os.path.join(home, 'data')
    snap(nu, 'restore', '--from', store, '--home', home, '--replace')
    with open(os.path.join(data, 'CURRENT'), 'ab') as fh:
        fh.write(b'x')
    with open(os.path.join(data, 'stray'), 'w') as fh:
        fh.write('not in the snapshot')
    r, doc = snap(nu, 'verify', '--from', store, '--home', home, ok=False)
    assert r.returncode == 1
    assert (doc['ok'], doc['files_bad'], doc['old_removed']) == (False, 2, 0)
    assert r.stderr.startswith(f'nearup snapshot verify: the data of {home} differs from '
                               'snapshot s1 in 2 files, the first: ')
    assert r.stderr.endswith('; any old data kept aside stays\n')
    assert doc['first_bad'] in (f'{data}/stray is not in snapshot s1',
                                f'{data}/CURRENT has {os.path.getsize(data + "/CURRENT")} bytes, '
                                f'the snapshot {os.path.getsize(data + "/CURRENT") - 1}')
    assert tree_hashes(f'{data}.replaced-s1') == old and journal(home)['state'] == 'swapped'


def test_verify_home_of_a_running_node_is_refused(nu, tmp_path, source):
    src, store, _ = source
    home = twin_home(src, tmp_path / 'dst', sync=1)
    snap(nu, 'restore', '--from', store, '--home', home)
    n = SimNode(home).start()
    try:
        r = nu('snapshot', 'verify', '--from', str(store), '--home', home)
    finally:
        n.stop()
    assert (r.returncode, r.stderr) == (
        1, f'nearup snapshot verify: the node of {home} is running, so its data is no longer the '
           f"snapshot's; stop it first with 'nearup stop --home {home}'\n")
