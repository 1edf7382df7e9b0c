"""nearup snapshot prune: keeps the newest N snapshots (and the one
`latest` names), deletes chunks no remaining snapshot references unless
they are younger than the grace period, and loses nothing when a create
runs at the same time (either started first)."""
import json
import os
import subprocess
import time

import pytest

from conftest import NEARUP, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from snaputil import (chunks_of, head, make_home, manifest, manifests_in, snap,  # noqa: E402
                      stored_chunks, wait_head)

pytest_plugins = ('nodeutil',)


@pytest.fixture
def three(nu, tmp_path):
    """A store with snapshots a, b, c of a running node (each create restarts
    it, so each has new SST and WAL files)."""
    home = make_home(tmp_path / 'home', age_s=24)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 150)
    store = tmp_path / 'store'
    for name in ('a', 'b', 'c'):
        snap(nu, 'create', '--home', home, '--to', store, '--name', name)
        wait_head(port, head(port) + 5)
    return home, port, store


def test_keeps_the_newest_and_deletes_unreferenced_chunks(nu, tmp_path, three):
    _, _, store = three
    a, b, c = (chunks_of(manifest(store, n)) for n in 'abc')
    _, p = snap(nu, 'prune', '--from', store, '--keep', '2', '--grace', '0')
    assert (p['snapshots'], p['kept'], p['manifests_deleted']) == (3, 2, 1)
    assert p['chunks'] == len(a | b | c) and p['chunks_referenced'] == len(b | c)
    assert p['chunks_deleted'] == len(a - (b | c)) > 0 and p['chunks_young'] == 0
    assert p['chunks_deferred'] is False and p['stale_markers'] == 0
    assert manifests_in(store) == ['b.json', 'c.json']
    assert stored_chunks(store) == b | c
    _, v = snap(nu, 'verify', '--from', store)
    assert v['ok'] is True and v['snapshots'] == 2
    r = nu.ok('snapshot', 'prune', '--from', store, '--keep', '2', '--grace', '0')
    assert r.stdout == ('nearup snapshot prune: kept 2 of 2 snapshots, deleted 0\n'
                        f'nearup snapshot prune: deleted 0 of {len(b | c)} chunks (0 B); kept '
                        f'{len(b | c)} referenced and 0 younger than 0s\n')


def test_grace_period_dry_run_and_latest(nu, tmp_path, three):
    _, _, store = three
    a, b, c = (chunks_of(manifest(store, n)) for n in 'abc')
    before = stored_chunks(store)
    _, p = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0', '--dry-run')
    assert (p['manifests_deleted'], p['chunks_deleted']) == (2, len((a | b) - c))
    assert manifests_in(store) == ['a.json', 'b.json', 'c.json'] and stored_chunks(store) == before
    _, p = snap(nu, 'prune', '--from', store, '--keep', '2')  # default grace: an hour
    assert p['manifests_deleted'] == 1 and p['chunks_deleted'] == 0
    assert p['chunks_young'] == len(a - (b | c))
    assert stored_chunks(store) == before
    with open(store / 'latest', 'w') as fh:
        fh.write('b\n')
    _, p = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0')
    assert (p['kept'], p['manifests_deleted']) == (2, 0)  # c, and b which latest names
    assert stored_chunks(store) == b | c


def test_prune_while_a_create_uploads_deletes_no_chunk(nu, tmp_path, three):
    home, port, store = three
    wait_head(port, head(port) + 10)
    env = dict(nu.env, NEARUP_SNAPSHOT_TEST_DELAY_MS='300')
    p = subprocess.Popen([NEARUP, 'snapshot', 'create', '--home', home, '--to', str(store),
                          '--name', 'd', '--parallel', '1', '--json'], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: os.path.exists(os.path.join(home, 'data.nearup-checkpoint')), 30,
               what='create uploading')
    _, pr = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0')
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert pr['chunks_deferred'] is True and pr['deferred_by'] == 'd'
    assert pr['chunks_deleted'] == 0 and pr['manifests_deleted'] == 2
    assert manifests_in(store) == ['c.json', 'd.json']
    _, v = snap(nu, 'verify', '--from', store)
    assert v['ok'] is True and v['snapshots'] == 2
    c, d = chunks_of(manifest(store, 'c')), chunks_of(manifest(store, 'd'))
    _, pr = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0')
    assert pr['chunks_deferred'] is False and pr['chunks_deleted'] > 0
    assert stored_chunks(store) == d
    _, v = snap(nu, 'verify', '--from', store)
    assert v['ok'] is True and v['chunks'] == len(d)
    assert c - d


def test_create_waits_for_a_running_prune(nu, tmp_path, three):
    home, port, store = three
    env = dict(nu.env, NEARUP_SNAPSHOT_TEST_DELAY_MS='700')
    p = subprocess.Popen([NEARUP, 'snapshot', 'prune', '--from', str(store), '--keep', '1',
                          '--grace', '0', '--parallel', '1', '--json'], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: any(n.startswith('prune-') for n in os.listdir(store / 'locks')), 30,
               what='prune marker')
    r, d = snap(nu, 'create', '--home', home, '--to', store, '--name', 'e')
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    pr = json.loads(out)
    assert pr['chunks_deleted'] > 0
    assert 'nearup snapshot create: waiting for a prune of the store to finish' in r.stderr
    _, v = snap(nu, 'verify', '--from', store, '--name', 'e')
    assert v['ok'] is True and v['chunks_bad'] == 0


def test_stale_markers_and_unreadable_manifests(nu, tmp_path, three):
    _, _, store = three
    os.makedirs(store / 'locks', exist_ok=True)
    dead = store / 'locks' / 'create-dead'
    dead.write_text('{}\n')
    old = time.time() - 2 * 86400
    os.utime(dead, (old, old))
    _, p = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0')
    assert p['stale_markers'] == 1 and p['chunks_deferred'] is False and p['chunks_deleted'] > 0
    assert os.listdir(store / 'locks') == []
    (store / 'manifests' / 'junk.json').write_text('{"format": "nearup-snapshot"')
    r, _ = snap(nu, 'prune', '--from', store, '--keep', '1', ok=False)
    assert r.returncode == 1
    assert r.stderr.startswith('nearup snapshot prune: snapshot junk cannot be read (')
    assert r.stderr.endswith('); nothing was pruned\n')
    assert manifests_in(store) == ['c.json', 'junk.json']
    r, _ = snap(nu, 'prune', '--from', store, '--keep', '0', ok=False)
    assert r.returncode == 2
