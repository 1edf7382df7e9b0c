"""Restores from the public layouts NEAR and FASTNEAR used, each served by
a local HTTP server laid out like their buckets: NEAR's `latest` naming a
folder listed with S3 ListObjectsV2 (paged, ETags), FASTNEAR's latest.txt
and files.txt. Their weaker checks are reported as such."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
from xml.sax.saxutils import escape

import pytest

from conftest import NEARUP, SimNode, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from snaputil import DirServer, make_home, snap, tree_hashes, twin_home  # noqa: E402

pytest_plugins = ('nodeutil',)
FOLDER = '2026-11-29T00:00:00Z'
PAGE = 3  # keys per listing page, so paging is exercised


def list_handler(srv, h, body):
    """S3 ListObjectsV2 on the bucket root: GET /?list-type=2&prefix=..."""
    path, _, query = h.path.partition('?')
    if path != '/' or not query:
        return False
    q = urllib.parse.parse_qs(query)
    assert q['list-type'] == ['2']
    prefix = q['prefix'][0]
    keys = []
    for dirpath, _, files in os.walk(srv.root):
        for n in files:
            k = os.path.relpath(os.path.join(dirpath, n), srv.root)
            if k.startswith(prefix):
                keys.append(k)
    keys += srv.extra_keys
    keys.sort()
    start = int(q.get('continuation-token', ['0'])[0])
    page, more = keys[start:start + PAGE], start + PAGE < len(keys)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
           f'<Name>b</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>',
           f'<MaxKeys>{PAGE}</MaxKeys><IsTruncated>{"true" if more else "false"}</IsTruncated>']
    for k in page:
        p = os.path.join(srv.root, k)
        data = open(p, 'rb').read() if os.path.exists(p) else b''
        etag = srv.etags.get(k, hashlib.md5(data).hexdigest())
        out.append(f'<Contents><Key>{escape(k)}</Key><LastModified>2026-11-29T00:00:00.000Z'
                   f'</LastModified><ETag>&quot;{etag}&quot;</ETag><Size>{len(data)}</Size>'
                   '<StorageClass>STANDARD</StorageClass></Contents>')
    if more:
        out.append(f'<NextContinuationToken>{start + PAGE}</NextContinuationToken>')
    out.append('</ListBucketResult>')
    data = ''.join(out).encode()
    h.send_response(200)
    h.send_header('Content-Type', 'application/xml')
    h.send_header('Content-Length', str(len(data)))
    h.end_headers()
    h.wfile.write(data)
    return True


@pytest.fixture
def source(tmp_path):
    """The data dir of a node that ran for a moment, as the buckets hold it."""
    home = make_home(tmp_path / 'src', age_s=20)
    n = SimNode(home).start()
    wait_until(lambda: n.height() >= 150, 20, what='source synced')
    n.stop()
    data = os.path.join(home, 'data')
    for n in os.listdir(data):
        if n == 'LOCK' or n.startswith('LOG'):
            os.unlink(os.path.join(data, n))
    return home, data


@pytest.fixture
def near(tmp_path, source):
    home, data = source
    root = tmp_path / 'near'
    shutil.copytree(data, root / 'backups' / 'simnet' / 'rpc' / FOLDER)
    (root / 'backups' / 'simnet' / 'rpc' / 'latest').write_text(FOLDER + '\n')
    srv = DirServer(root, handler=list_handler)
    srv.extra_keys, srv.etags = [], {}
    yield home, data, root, srv
    srv.stop()


def test_near_layout(nu, tmp_path, near):
    home, data, _, srv = near
    dst = twin_home(home, tmp_path / 'dst')
    r, doc = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'near')
    n = len(os.listdir(data))
    assert (doc['layout'], doc['name'], doc['files'], doc['chunks_downloaded']) == (
        'near', FOLDER, n, n)
    assert doc['checks'] == (f'weaker: sizes from the bucket listing, MD5 (ETag) of {n} of {n} '
                             'files (the layout publishes no content hashes or signature; chain '
                             'taken from the home)')
    assert tree_hashes(os.path.join(dst, 'data')) == tree_hashes(data)
    assert len([p for p in srv.gets('/?') if 'continuation-token' in p]) == (n - 1) // PAGE
    node = SimNode(dst).start()
    try:
        assert node.status()['sync_info']['latest_block_height'] >= 150
    finally:
        node.stop()


def test_near_layout_refuses_bad_md5_and_escaping_keys(nu, tmp_path, near):
    home, data, root, srv = near
    dst = twin_home(home, tmp_path / 'dst')
    SimNode(dst).start().stop()
    old = tree_hashes(os.path.join(dst, 'data'))
    srv.etags[f'backups/simnet/rpc/{FOLDER}/CURRENT'] = '0' * 32
    r, _ = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'near', '--replace',
                ok=False)
    md5 = hashlib.md5(open(os.path.join(data, 'CURRENT'), 'rb').read()).hexdigest()
    assert r.stderr == (f"nearup snapshot restore: CURRENT: MD5 {md5} does not match the "
                        f"bucket's ETag {'0' * 32}\n")
    srv.etags.clear()
    srv.extra_keys.append(f'backups/simnet/rpc/{FOLDER}/../../../../evil')
    r, _ = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'near', '--replace',
                ok=False)
    assert r.stderr == ("nearup snapshot restore: the bucket listing names '../../../../evil', "
                        'which escapes the data dir or is malformed\n')
    assert tree_hashes(os.path.join(dst, 'data')) == old
    r, _ = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'near', '--kind',
                'archive', ok=False)
    assert r.stderr == (f'nearup snapshot restore: {srv.url}/backups/simnet/archive/latest: '
                        'HTTP 404\n')


@pytest.fixture
def fastnear(tmp_path, source):
    home, data = source
    root = tmp_path / 'fastnear'
    folder = root / 'simnet' / 'rpc' / '123456'
    shutil.copytree(data, folder)
    (root / 'simnet' / 'rpc' / 'latest.txt').write_text('123456\n')
    names = sorted(os.listdir(folder))
    (folder / 'files.txt').write_text(''.join(n + '\n' for n in names))
    srv = DirServer(root)
    yield home, data, folder, names, srv
    srv.stop()


def test_fastnear_layout(nu, tmp_path, fastnear):
    home, data, folder, names, srv = fastnear
    dst = twin_home(home, tmp_path / 'dst')
    _, doc = snap(nu, 'restore', '--from', srv.url + '/', '--home', dst, '--layout', 'fastnear')
    assert (doc['layout'], doc['name'], doc['height'], doc['files']) == (
        'fastnear', '123456', 123456, len(names))
    assert doc['checks'] == ('weaker: file count against files.txt and HTTP lengths only (the '
                             'layout publishes no sizes, hashes or signature; chain taken from '
                             'the home)')
    assert tree_hashes(os.path.join(dst, 'data')) == tree_hashes(data)
    r = nu.ok('snapshot', 'restore', '--from', srv.url, '--home', dst, '--layout', 'fastnear',
              '--replace')
    assert f'downloaded {len(names)} files (' in r.stdout


def test_fastnear_refuses_bad_lists_and_missing_files(nu, tmp_path, fastnear):
    home, data, folder, names, srv = fastnear
    dst = twin_home(home, tmp_path / 'dst')
    (folder / 'files.txt').write_text('CURRENT\n/etc/passwd\n')
    r, _ = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'fastnear',
                ok=False)
    assert r.stderr == ("nearup snapshot restore: the files.txt listing names '/etc/passwd', "
                        'which escapes the data dir or is malformed\n')
    (folder / 'files.txt').write_text('CURRENT\nmissing.sst\n')
    r, _ = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'fastnear',
                ok=False)
    assert r.stderr == (f'nearup snapshot restore: {srv.url}/simnet/rpc/123456/missing.sst: '
                        'HTTP 404\n')
    assert not os.path.exists(os.path.join(dst, 'data'))
    (srv.root and open(os.path.join(srv.root, 'simnet', 'rpc', 'latest.txt'), 'w')).write('x\n')
    r, _ = snap(nu, 'restore', '--from', srv.url, '--home', dst, '--layout', 'fastnear',
                ok=False)
    assert r.stderr == "nearup snapshot restore: 'x' is not a block height\n"


def test_interrupted_public_restore_resumes(nu, tmp_path, fastnear):
    home, data, folder, names, srv = fastnear
    dst = twin_home(home, tmp_path / 'dst')
    args = [NEARUP, 'snapshot', 'restore', '--from', srv.url, '--home', dst, '--layout',
            'fastnear', '--parallel', '1', '--json']
    p = subprocess.Popen(args, env=dict(nu.env, NEARUP_SNAPSHOT_TEST_DELAY_MS='400'),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    files = lambda: [g for g in srv.gets('/simnet/rpc/123456/') if not g.endswith('files.txt')]
    wait_until(lambda: len(files()) >= 2, 30, what='two files fetched')
    time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    first = len(files())
    assert not os.path.exists(os.path.join(dst, 'data'))
    srv.reset()
    r = subprocess.run(args, env=nu.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc['chunks_present'] >= first - 1 >= 1
    assert doc['chunks_downloaded'] == len(files()) == len(names) - doc['chunks_present']
    assert tree_hashes(os.path.join(dst, 'data')) == tree_hashes(data)
