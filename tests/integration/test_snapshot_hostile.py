"""Hostile stores: manifests whose paths escape the data dir, sizes that
lie, chunks whose bytes do not match their hash, oversized manifests,
another chain, bad signatures, symlinks in the staging tree. Each is a
clear error that leaves the existing data as it was."""
import hashlib
import json
import os

import pytest

from conftest import SimNode, load_json
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from snaputil import (chunk_object, make_home, manifest, snap, tree_hashes,  # noqa: E402
                      twin_home)

pytest_plugins = ('nodeutil',)
CHUNK = 4 << 20


def put_chunk(store, plain, obj=None):
    sha = hashlib.sha256(plain).hexdigest()
    d = os.path.join(store, 'chunks', sha[:2])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, sha), 'wb') as fh:
        fh.write(obj if obj is not None else chunk_object(plain))
    return {'sha256': sha, 'size': len(plain), 'stored_size': len(plain) + 16,
            'compression': 'none'}


def write_store(store, files, name='h1', chain='simnet', edit=None):
    """A directory store holding one snapshot of files ({path: bytes})."""
    store = str(store)
    m = {'format': 'nearup-snapshot', 'version': 1, 'name': name, 'chain_id': chain,
         'block_height': 5, 'block_hash': 'x', 'neard_version': '2.4.0',
         'created_at': '2026-01-01T00:00:00Z', 'chunk_size': CHUNK, 'files': []}
    for path, data in files.items():
        chunks = [put_chunk(store, data[i:i + CHUNK]) for i in range(0, len(data), CHUNK)]
        m['files'].append({'path': path, 'dir': 'hot', 'size': len(data), 'mode': 0o644,
                           'chunks': chunks})
    if edit:
        edit(m)
    os.makedirs(os.path.join(store, 'manifests'), exist_ok=True)
    with open(os.path.join(store, 'manifests', name + '.json'), 'w') as fh:
        json.dump(m, fh)
    with open(os.path.join(store, 'latest'), 'w') as fh:
        fh.write(name + '\n')
    return m


@pytest.fixture
def target(tmp_path):
    """A simnet home with data of its own, and its hashes."""
    home = str(tmp_path / 'home')
    make_home(home, age_s=3)
    n = SimNode(home).start()
    n.stop()
    return home, tree_hashes(os.path.join(home, 'data'))


def refused(nu, store, home, message, *extra):
    r, _ = snap(nu, 'restore', '--from', store, '--home', home, '--replace', *extra, ok=False)
    assert r.returncode == 1, r.stdout
    assert r.stderr == f'nearup snapshot restore: {message}\n'
    return r


def untouched(home, hashes):
    """The data dir holds what it held, and nothing was moved aside."""
    assert tree_hashes(os.path.join(home, 'data')) == hashes
    assert [n for n in os.listdir(home) if '.replaced-' in n] == []


@pytest.mark.parametrize('path', ['../evil', '/etc/evil', 'a/../../evil', 'a//b', '.', 'a/./b',
                                  'sub/..', 'a\\b', 'new\nline'])
def test_paths_that_escape_or_are_malformed(nu, tmp_path, target, path):
    home, hashes = target
    write_store(tmp_path / 's', {path: b'owned'})
    shown = path.replace('\n', '?')
    refused(nu, tmp_path / 's', home,
            f"manifest: files[0]: path '{shown}' escapes the data dir or is malformed")
    untouched(home, hashes)
    assert not os.path.exists(tmp_path / 'evil') and not os.path.exists('/etc/evil')
    assert [n for n in os.listdir(home) if '.restore-' in n] == []


def test_duplicate_and_conflicting_paths(nu, tmp_path, target):
    home, hashes = target
    write_store(tmp_path / 'a', {'x': b'1'}, edit=lambda m: m['files'].append(m['files'][0]))
    refused(nu, tmp_path / 'a', home,
            'manifest: path x is listed twice or used as both file and directory')
    write_store(tmp_path / 'b', {'x': b'1', 'x/y': b'2'})
    refused(nu, tmp_path / 'b', home,
            'manifest: path x is listed twice or used as both file and directory')
    untouched(home, hashes)


def tree_listing(root):
    """Every path under root (files, dirs, symlinks), relative, sorted."""
    out = []
    for d, dirs, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in dirs + files]
    return sorted(out)


@pytest.mark.parametrize('paths,shown', [
    (['a', 'a.x', 'a/b'], 'a'),              # 'a.x' sorts between 'a' and 'a/b'
    (['a/b/c', 'a/b-', 'a/b.x', 'a/b'], 'a/b'),
    (['q', 'p', 'q'], 'q'),
])
def test_conflicts_that_are_not_neighbours(nu, tmp_path, target, paths, shown):
    """Every path is checked against every other; the refused restore writes
    nothing: no staging dir, no lock or state file, no other new file."""
    home, hashes = target
    files = {p: b'x' for p in paths}
    write_store(tmp_path / 's', files, edit=lambda m: m.update(
        files=[dict(m['files'][0], path=p) for p in paths]))
    before = tree_listing(home)
    refused(nu, tmp_path / 's', home,
            f'manifest: path {shown} is listed twice or used as both file and directory')
    untouched(home, hashes)
    assert tree_listing(home) == before


def test_sizes_that_lie(nu, tmp_path, target):
    home, hashes = target

    def grow(m):
        m['files'][0]['size'] = 10
    write_store(tmp_path / 'a', {'CURRENT': b'12345'}, edit=grow)
    refused(nu, tmp_path / 'a', home,
            'manifest: CURRENT: chunks add up to 5 bytes, the file size is 10')

    # the manifest says 8 bytes, the stored object holds 5
    def lie(m):
        f = m['files'][0]
        f['size'] = f['chunks'][0]['size'] = 8
    m = write_store(tmp_path / 'b', {'CURRENT': b'12345'}, edit=lie)
    sha = m['files'][0]['chunks'][0]['sha256']
    refused(nu, tmp_path / 'b', home,
            f'CURRENT: chunk chunks/{sha[:2]}/{sha}: holds 5 bytes, the manifest says 8')

    def huge(m):
        f = m['files'][0]
        f['size'] = f['chunks'][0]['size'] = (64 << 20) + 1
    write_store(tmp_path / 'c', {'CURRENT': b'1'}, edit=huge)
    refused(nu, tmp_path / 'c', home,
            'manifest: CURRENT: "size" must be an integer from 0 to 67108864')
    untouched(home, hashes)


def test_chunk_whose_bytes_do_not_match_its_hash(nu, tmp_path, target):
    home, hashes = target
    store = tmp_path / 's'
    m = write_store(store, {'000001.sst': os.urandom(5000), 'CURRENT': b'MANIFEST-1\n'})
    sha = m['files'][0]['chunks'][0]['sha256']
    with open(os.path.join(store, 'chunks', sha[:2], sha), 'r+b') as fh:
        fh.seek(100)
        fh.write(b'\xff\x00')
    refused(nu, store, home,
            f'000001.sst: chunk chunks/{sha[:2]}/{sha}: sha256 does not match its content')
    untouched(home, hashes)
    r, v = snap(nu, 'verify', '--from', store, ok=False)
    assert r.returncode == 1 and v['chunks_bad'] == 1 and v['chunks'] == 2
    assert r.stderr == ('nearup snapshot verify: 1 of 2 chunks are missing or damaged; first: '
                        f'chunk chunks/{sha[:2]}/{sha}: sha256 does not match its content\n')
    os.unlink(os.path.join(store, 'chunks', sha[:2], sha))
    refused(nu, store, home, f'000001.sst: chunk chunks/{sha[:2]}/{sha} is missing from the store')
    untouched(home, hashes)


def test_oversized_manifest(nu, tmp_path, target):
    home, hashes = target
    write_store(tmp_path / 's', {'CURRENT': b'x'})
    with open(os.path.join(tmp_path, 's', 'manifests', 'h1.json'), 'r+b') as fh:
        fh.truncate((256 << 20) + 1)  # sparse: costs no disk
    refused(nu, tmp_path / 's', home,
            'manifest of h1 is larger than the limit of 268435456 bytes (SNAP_MANIFEST_MAX)')
    untouched(home, hashes)


def test_other_chain_newer_format_and_bad_latest(nu, tmp_path, target):
    home, hashes = target
    write_store(tmp_path / 'a', {'CURRENT': b'x'}, chain='othernet')
    refused(nu, tmp_path / 'a', home,
            f'snapshot h1 is of chain othernet, but {home} is a simnet home; refusing to mix '
            'chains')
    write_store(tmp_path / 'b', {'CURRENT': b'x'}, edit=lambda m: m.update(version=2))
    refused(nu, tmp_path / 'b', home,
            'manifest format version 2 is newer than this nearup understands (1); upgrade nearup')
    write_store(tmp_path / 'c', {'CURRENT': b'x'})
    with open(os.path.join(tmp_path, 'c', 'latest'), 'w') as fh:
        fh.write('../../etc/passwd\n')
    refused(nu, tmp_path / 'c', home, f"store {tmp_path}/c: 'latest' does not name a snapshot")
    write_store(tmp_path / 'd', {'CURRENT': b'x'}, edit=lambda m: m.update(name='other'))
    refused(nu, tmp_path / 'd', home, 'manifest h1 names itself other')
    untouched(home, hashes)


def test_symlinks_in_the_staging_tree_are_never_followed(nu, tmp_path, target):
    home, _ = target
    outside = tmp_path / 'outside'
    os.makedirs(outside / 'dir')
    (outside / 'file').write_bytes(b'precious')
    write_store(tmp_path / 's', {'CURRENT': b'MANIFEST-9\n', 'sub/x.sst': b'data'})
    staging = os.path.join(home, 'data.restore-h1')
    os.makedirs(staging)
    os.symlink(outside / 'file', os.path.join(staging, 'CURRENT'))
    os.symlink(outside / 'dir', os.path.join(staging, 'sub'))
    os.symlink(outside / 'file', os.path.join(staging, 'stray'))
    _, r = snap(nu, 'restore', '--from', tmp_path / 's', '--home', home, '--replace')
    assert (outside / 'file').read_bytes() == b'precious'
    assert os.listdir(outside / 'dir') == []
    data = os.path.join(home, 'data')
    assert sorted(os.listdir(data)) == ['CURRENT', 'sub']
    assert not os.path.islink(os.path.join(data, 'CURRENT'))
    assert not os.path.islink(os.path.join(data, 'sub'))
    assert open(os.path.join(data, 'sub', 'x.sst'), 'rb').read() == b'data'


def test_a_data_dir_that_is_a_symlink_is_refused(nu, tmp_path, target):
    home, hashes = target
    write_store(tmp_path / 's', {'CURRENT': b'x'})
    real = tmp_path / 'real'
    os.rename(os.path.join(home, 'data'), real)
    os.symlink(real, os.path.join(home, 'data'))
    refused(nu, tmp_path / 's', home,
            f'data dir {home}/data is a symlink; point store.path at the real directory')
    assert tree_hashes(real) == hashes


@pytest.fixture
def signed(nu, tmp_path):
    """A store with a snapshot signed by the home's validator key."""
    home = make_home(tmp_path / 'src', age_s=3)
    SimNode(home).start().stop()
    store = tmp_path / 'store'
    _, d = snap(nu, 'create', '--home', home, '--to', store, '--name', 'signed', '--sign-key',
                os.path.join(home, 'validator_key.json'))
    assert d['signed'] is True
    snap(nu, 'create', '--home', home, '--to', store, '--name', 'plain')
    pk = load_json(os.path.join(home, 'validator_key.json'))['public_key']
    other = load_json(os.path.join(home, 'node_key.json'))['public_key']
    return home, store, pk, other


def test_signatures(nu, tmp_path, signed):
    home, store, pk, other = signed
    dst = twin_home(home, tmp_path / 'dst')
    _, r = snap(nu, 'restore', '--from', store, '--home', dst, '--name', 'signed',
                '--verify-key', pk)
    assert r['signature_verified'] is True
    assert r['checks'] == 'sha256 of every chunk; manifest signature'
    sig = load_json(os.path.join(store, 'manifests', 'signed.sig'))
    assert sig['public_key'] == pk and sig['signature'].startswith('ed25519:')
    hashes = tree_hashes(os.path.join(dst, 'data'))
    refused(nu, store, dst, f'the snapshot is signed by {pk}, not by {other}', '--name', 'signed',
            '--verify-key', other)
    refused(nu, store, dst, 'snapshot plain is not signed, and --verify-key requires a signature',
            '--name', 'plain', '--verify-key', pk)
    refused(nu, store, dst, "--verify-key ed25519:nope is not an ed25519:<base58> public key",
            '--name', 'signed', '--verify-key', 'ed25519:nope')
    path = os.path.join(store, 'manifests', 'signed.json')
    m = manifest(store, 'signed')
    m['block_height'] = 1
    with open(path, 'w') as fh:
        json.dump(m, fh)
    refused(nu, store, dst, 'the snapshot\'s signature does not verify: the manifest was changed '
            'after signing', '--name', 'signed', '--verify-key', pk)
    assert tree_hashes(os.path.join(dst, 'data')) == hashes
    r, v = snap(nu, 'verify', '--from', store, '--name', 'signed', '--verify-key', pk, ok=False)
    assert r.returncode == 1 and v['ok'] is False
