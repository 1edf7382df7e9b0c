"""Snapshots in S3: a real S3-compatible server (npm s3rver, installed by
`make deps` into tools/s3rver) on 127.0.0.1, requests signed with SigV4 by
libcurl, credentials from the environment or ~/.aws/credentials."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import ROOT, SimNode, free_port, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from snaputil import head, make_home, snap, tree_hashes, twin_home, wait_head  # noqa: E402

pytest_plugins = ('nodeutil',)
S3RVER = os.path.join(ROOT, 'tools', 's3rver', 'node_modules', 's3rver', 'bin', 's3rver.js')
BUCKET = 'snaps'


class S3rver:
    def __init__(self, root):
        assert shutil.which('node'), 'node is not installed (s3rver needs it)'
        assert os.path.exists(S3RVER), 'tools/s3rver is not installed: run `make deps`'
        self.dir = str(root)
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = str(root) + '.log'
        self.log = open(self.log_path, 'wb')
        self._from = 0
        # its request log names the method only with colours on (see requests())
        env = dict(os.environ, FORCE_COLOR='1')
        self.proc = subprocess.Popen(
            # s3rver makes continuation tokens with DES, which OpenSSL 3 keeps in its
            # legacy provider
            [shutil.which('node'), '--openssl-legacy-provider', S3RVER, '-d', self.dir, '-a', '127.0.0.1', '-p',
             str(self.port), '--configure-bucket', BUCKET],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=env)

        def up():
            assert self.proc.poll() is None, 's3rver exited'
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_until(up, 20, what='s3rver')

    def object(self, key):
        with open(os.path.join(self.dir, BUCKET, key + '._S3rver_object'), 'rb') as fh:
            return fh.read()

    def keys(self, prefix=''):
        base = os.path.join(self.dir, BUCKET)
        out = set()
        for dirpath, _, files in os.walk(base):
            for n in files:
                if n.endswith('._S3rver_object'):
                    k = os.path.relpath(os.path.join(dirpath, n[:-len('._S3rver_object')]), base)
                    if k.startswith(prefix):
                        out.add(k)
        return out

    def mark(self):
        """requests() returns what s3rver answers from now on."""
        self._from = os.path.getsize(self.log_path)

    def requests(self):
        """[(method, path with query, status)] answered since mark(), from
        s3rver's log (koa-logger: "info: --> METHOD PATH STATUS TIME SIZE",
        written once the answer is sent)."""
        time.sleep(0.2)
        with open(self.log_path, 'rb') as fh:
            fh.seek(self._from)
            text = re.sub(r'\x1b\[[0-9;]*m', '', fh.read().decode())
        return [(m[1], m[2], int(m[3])) for m in
                re.finditer(r'^info: (GET|PUT|HEAD|POST|DELETE) (\S+) (\d{3}) ', text, re.M)]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture
def s3(tmp_path):
    os.makedirs(tmp_path / 's3')
    srv = S3rver(tmp_path / 's3')
    yield srv
    srv.stop()


@pytest.fixture
def aws(nu):
    for k in ('AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_SESSION_TOKEN'):
        nu.env.pop(k, None)
    nu.env.update(AWS_ACCESS_KEY_ID='S3RVER', AWS_SECRET_ACCESS_KEY='S3RVER',
                  AWS_REGION='us-east-1')
    return nu


def m_of(s3, name):
    return json.loads(s3.object(f'near/simnet/manifests/{name}.json'))


def chunks(m):
    return {c['sha256'] for f in m['files'] for c in f['chunks']}


def test_create_incremental_list_verify_restore_prune(aws, tmp_path, s3):
    nu = aws
    home = make_home(tmp_path / 'home', age_s=30)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 200)
    nu.ok('restart', '--home', home)
    wait_head(port, head(port) + 2)
    store = f's3://{BUCKET}/near/simnet'
    ep = ['--s3-endpoint', s3.url]
    _, d1 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'one', *ep)
    m1 = m_of(s3, 'one')
    assert d1['chunks_uploaded'] == len(chunks(m1))
    assert s3.object('near/simnet/latest') == b'one\n'
    wait_head(port, d1['height'] + 20)
    _, d2 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'two', *ep)
    m2 = m_of(s3, 'two')
    assert d2['chunks_uploaded'] == len(chunks(m2) - chunks(m1)) > 0
    assert d2['chunks_uploaded'] < d2['chunks']
    assert s3.keys('near/simnet/chunks/') == {
        f'near/simnet/chunks/{c[:2]}/{c}' for c in chunks(m1) | chunks(m2)}
    assert s3.keys('near/simnet/locks/') == set()

    _, lst = snap(nu, 'list', '--from', store, *ep)
    assert [(x['name'], x['latest']) for x in lst] == [('one', False), ('two', True)]
    _, v = snap(nu, 'verify', '--from', store, *ep)
    assert v['ok'] is True and v['chunks'] == len(chunks(m1) | chunks(m2))

    dst = twin_home(home, tmp_path / 'dst')
    _, r = snap(nu, 'restore', '--from', store, '--home', dst, *ep)
    assert r['name'] == 'two' and r['chunks_downloaded'] == r['chunks'] == d2['chunks']
    assert set(tree_hashes(os.path.join(dst, 'data'))) == {f['path'] for f in m2['files']}

    _, p = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0', *ep)
    gone = chunks(m1) - chunks(m2)
    assert (p['kept'], p['manifests_deleted'], p['chunks_deleted']) == (1, 1, len(gone))
    assert s3.keys('near/simnet/manifests/') == {'near/simnet/manifests/two.json'}
    assert s3.keys('near/simnet/chunks/') == {f'near/simnet/chunks/{c[:2]}/{c}'
                                              for c in chunks(m2)}


def test_credentials_file_profiles_and_errors(nu, tmp_path, s3):
    home = make_home(tmp_path / 'home', age_s=3)
    SimNode(home).start().stop()
    for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'):
        nu.env.pop(k, None)
    aws_dir = os.path.join(nu.env['HOME'], '.aws')
    os.makedirs(aws_dir)
    with open(os.path.join(aws_dir, 'credentials'), 'w') as fh:
        fh.write('[default]\naws_access_key_id = NOPE\naws_secret_access_key = x\n\n'
                 '[ci]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n')
    nu.env['AWS_ENDPOINT_URL_S3'] = s3.url
    store = f's3://{BUCKET}/p'
    r, _ = snap(nu, 'create', '--home', home, '--to', store, '--name', 'x', ok=False)
    assert r.returncode == 1
    assert r.stderr == ('nearup snapshot create: manifests/x.json: HTTP 403: access denied (check '
                        "the credentials and the bucket's policy)\n")
    r, _ = snap(nu, 'list', '--from', store, ok=False)
    assert r.stderr == ('nearup snapshot list: listing: HTTP 403 InvalidAccessKeyId: The AWS '
                        'Access Key Id you provided does not exist in our records.\n')
    nu.env['AWS_PROFILE'] = 'ci'
    _, d = snap(nu, 'create', '--home', home, '--to', store, '--name', 'x')
    assert d['chunks_uploaded'] > 0 and s3.object('p/latest') == b'x\n'
    # the same bucket read anonymously over plain HTTP (a public bucket)
    dst = twin_home(home, tmp_path / 'dst')
    _, r = snap(nu, 'restore', '--from', f'{s3.url}/{BUCKET}/p', '--home', dst)
    assert r['name'] == 'x' and r['chunks_downloaded'] == d['chunks']
    r, _ = snap(nu, 'list', '--from', f'{s3.url}/{BUCKET}/p', ok=False)
    assert r.stderr.startswith(f'nearup snapshot list: store {s3.url}/{BUCKET}/p is plain HTTP '
                               'and cannot be listed')
    r, _ = snap(nu, 'create', '--home', home, '--to', f'{s3.url}/{BUCKET}/p', ok=False)
    assert r.stderr == (f'nearup snapshot create: store {s3.url}/{BUCKET}/p is read-only (plain '
                        'HTTP); create into a directory or s3:// store\n')
    r, _ = snap(nu, 'list', '--from', 's3://Bad_Bucket/x', ok=False)
    assert r.stderr == "nearup snapshot list: store s3://Bad_Bucket/x: bad bucket name 'Bad_Bucket'\n"


def test_many_chunks_list_in_pages(aws, tmp_path, s3):
    """More than one ListObjectsV2 page (1000 keys) is followed by its
    continuation token, so prune and verify see every chunk."""
    nu = aws
    home = make_home(tmp_path / 'home', age_s=3)
    data = os.path.join(home, 'data')
    os.makedirs(data)
    for i in range(1100):
        with open(os.path.join(data, f'{i:06d}.sst'), 'wb') as fh:
            fh.write(i.to_bytes(4, 'little') * 8)
    store = f's3://{BUCKET}/many'
    _, d = snap(nu, 'create', '--home', home, '--to', store, '--name', 'm', '--parallel', '16',
                '--s3-endpoint', s3.url, timeout=600)
    assert d['chunks_uploaded'] == 1100
    _, p = snap(nu, 'prune', '--from', store, '--keep', '1', '--grace', '0', '--s3-endpoint',
                s3.url)
    assert (p['chunks'], p['chunks_referenced'], p['chunks_deleted']) == (1100, 1100, 0)


def test_requests_of_a_first_a_resumed_and_an_unchanged_create(aws, tmp_path, s3):
    """A first create learns which chunks the store has from one listing,
    not a lookup per chunk, and PUTs each new chunk with no HEAD before it.
    The rerun of an interrupted first create (chunks, no manifest) finds
    them listed, reads each header with a ranged GET and uploads none again;
    a create whose chunks the latest snapshot names asks about no chunk."""
    nu = aws
    home = make_home(tmp_path / 'home', age_s=3)
    SimNode(home).start().stop()
    store, ep = f's3://{BUCKET}/req', ['--s3-endpoint', s3.url]

    def chunk_requests():
        reqs = s3.requests()
        lists = sorted(p for m, p, _ in reqs if m == 'GET' and '?' in p)
        return [(m, st) for m, p, st in reqs if p.startswith(f'/{BUCKET}/req/chunks/')], lists

    s3.mark()
    _, d1 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'one', *ep)
    chunks1, lists = chunk_requests()
    assert d1['chunks_uploaded'] == len(chunks(m_of_req(s3, 'one'))) > 2
    assert chunks1 == [('PUT', 200)] * d1['chunks_uploaded']
    assert lists == [f'/{BUCKET}/?list-type=2&prefix=req%2Fchunks%2F',
                     f'/{BUCKET}/?list-type=2&prefix=req%2Flocks%2F']

    # as if create one had been killed before its manifest
    for key in ('req/latest', 'req/manifests/one.json'):
        for suffix in ('._S3rver_object', '._S3rver_object.md5', '._S3rver_metadata.json'):
            os.unlink(os.path.join(s3.dir, BUCKET, key + suffix))
    s3.mark()
    _, d2 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'two', *ep)
    chunks2, _ = chunk_requests()
    assert (d2['chunks'], d2['chunks_uploaded']) == (d1['chunks'], 0)
    assert chunks2 == [('GET', 206)] * d2['chunks']

    s3.mark()
    _, d3 = snap(nu, 'create', '--home', home, '--to', store, '--name', 'three', *ep)
    chunks3, lists = chunk_requests()
    assert (d3['chunks'], d3['chunks_uploaded'], chunks3) == (d1['chunks'], 0, [])
    assert lists == [f'/{BUCKET}/?list-type=2&prefix=req%2Flocks%2F']
    dst = twin_home(home, tmp_path / 'dst')
    _, r = snap(nu, 'restore', '--from', store, '--home', dst, *ep)
    assert r['name'] == 'three' and r['chunks_downloaded'] == d1['chunks']
    assert tree_hashes(os.path.join(dst, 'data')) == {
        k: v for k, v in tree_hashes(os.path.join(home, 'data')).items()
        if k in {f['path'] for f in m_of_req(s3, 'three')['files']}}


def m_of_req(s3, name):
    return json.loads(s3.object(f'req/manifests/{name}.json'))
