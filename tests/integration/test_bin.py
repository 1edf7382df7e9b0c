"""nearup bin: the content-addressed cache of neard binaries, fetched from a
local server laid out like NEAR's release bucket (bucket.py)."""
import hashlib
import json
import os
import pty
import select
import signal
import stat
import subprocess
import threading

import pytest

from bucket import commit_for
from conftest import NEARUP, free_port, wait_until
from lifecycle import alive, read_pid


class Nearup:
    """Runs nearup with HOME and every XDG dir inside tmp_path."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.env = dict(os.environ)
        for var, sub in (('HOME', 'userhome'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config'),
                         ('XDG_DATA_HOME', 'data')):
            self.env[var] = str(tmp_path / sub)
        os.makedirs(self.env['HOME'], exist_ok=True)
        self.cache = tmp_path / 'cache' / 'nearup'
        self.os_arch = '{0.sysname}-{0.machine}'.format(os.uname())

    def __call__(self, *args, timeout=60):
        return subprocess.run([NEARUP, *[str(a) for a in args]], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def popen(self, *args, **kw):
        return subprocess.Popen([NEARUP, *[str(a) for a in args]], env=self.env, text=True, **kw)

    def blob(self, sha):
        return self.cache / 'blobs' / sha

    def entry(self, version):
        return self.cache / 'versions' / self.os_arch / version

    def files(self):
        """Every regular file under the cache dir, relative, with its mode."""
        out = {}
        for root, _, names in os.walk(self.cache):
            for n in names:
                p = os.path.join(root, n)
                out[os.path.relpath(p, self.cache)] = stat.S_IMODE(os.stat(p).st_mode)
        return out

    def executables(self):
        return sorted(p for p, mode in self.files().items() if mode & 0o111)

    def stop(self, home):
        """nearup stop, then SIGKILL by PID for anything its pid files name."""
        self('stop', '--home', home, timeout=120)
        for name in ('supervisor.pid', 'neard.pid'):
            entry = read_pid(os.path.join(str(home), '.nearup', name))
            if alive(entry):
                os.kill(entry[0], signal.SIGKILL)

    def register(self, home, binary, sha):
        """A registered home whose run.json names binary, as `nearup run`
        leaves it (registry entry: "<home>\\n" under $XDG_STATE_HOME)."""
        state = os.path.join(home, '.nearup')
        os.makedirs(state, exist_ok=True)
        with open(os.path.join(state, 'run.json'), 'w') as fh:
            json.dump({'network': 'testnet', 'binary': str(binary), 'neard_sha256': sha}, fh)
        reg = os.path.join(self.env['XDG_STATE_HOME'], 'nearup', 'homes')
        os.makedirs(reg, exist_ok=True)
        name = hashlib.sha256(str(home).encode()).hexdigest()[:32]
        with open(os.path.join(reg, name), 'w') as fh:
            fh.write(f'{home}\n')


@pytest.fixture
def nu(tmp_path):
    return Nearup(tmp_path)


def fetch(nu, bucket, version, *extra):
    return nu('bin', 'fetch', version, '--release-url', bucket.url, '--json', *extra)


def ok_json(r):
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def one_line_error(r):
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ''
    assert r.stderr.endswith('\n') and r.stderr.count('\n') == 1, r.stderr
    return r.stderr.rstrip('\n')


def gets(bucket):
    return [(r.path, r.range) for r in bucket.requests() if r.method == 'GET']


# ---- fetch and cache ----

def test_pinned_fetch_downloads_once_then_makes_no_request(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    b = ok_json(fetch(nu, bucket, '2.5.0'))
    assert b == {'version': '2.5.0', 'commit': None, 'sha256': rel['sha256'],
                 'path': str(nu.blob(rel['sha256'])), 'downloaded': True}
    pinned = rel['pinned_path']
    assert gets(bucket) == [(pinned + '.sha256', None), (pinned, None)]
    with open(b['path'], 'rb') as fh:
        assert fh.read() == rel['data']
    assert stat.S_IMODE(os.stat(b['path']).st_mode) == 0o755
    assert nu.entry('2.5.0').read_text() == f"{rel['sha256']} -\n"

    bucket.clear_requests()
    again = ok_json(fetch(nu, bucket, '2.5.0'))
    assert again == dict(b, downloaded=False)
    assert bucket.requests() == []
    # the cached binary is the release it claims to be
    out = subprocess.run([b['path'], '--version'], capture_output=True, text=True)
    assert out.stdout.startswith('neard (release 2.5.0) (build sim)'), out


def test_human_output(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    r = nu('bin', 'fetch', '2.5.0', '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''  # no terminal: no progress bar
    assert r.stdout == (f"neard 2.5.0 downloaded and verified\n  commit  -\n"
                        f"  sha256  {rel['sha256']}\n  path    {nu.blob(rel['sha256'])}\n")


def test_latest_resolves_through_latest_release_and_latest_deploy(nu, bucket):
    old = bucket.add_release('testnet', '2.4.0')
    bucket.add_release('testnet', '2.5.0', latest=False)
    b = ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    assert b == {'version': '2.4.0', 'commit': old['commit'], 'sha256': old['sha256'],
                 'path': str(nu.blob(old['sha256'])), 'downloaded': True}
    assert gets(bucket) == [('nearcore-deploy/testnet/latest_release', None),
                            ('nearcore-deploy/testnet/latest_deploy', None),
                            (old['path'] + '.sha256', None), (old['path'], None)]
    assert nu.entry('2.4.0').read_text() == f"{old['sha256']} {old['commit']}\n"

    # the same deploy again: only the two pointers are read
    bucket.clear_requests()
    assert ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))['downloaded'] is False
    assert gets(bucket) == [('nearcore-deploy/testnet/latest_release', None),
                            ('nearcore-deploy/testnet/latest_deploy', None)]

    # a new deploy is downloaded
    bucket.set_latest('testnet', '2.5.0', commit_for('2.5.0'))
    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    assert (b['version'], b['commit'], b['downloaded']) == ('2.5.0', commit_for('2.5.0'), True)


def test_latest_after_pinned_reuses_the_blob(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    ok_json(fetch(nu, bucket, '2.5.0'))
    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    assert (b['version'], b['commit'], b['downloaded']) == ('2.5.0', rel['commit'], False)
    # the checksum names bytes already cached: no binary download
    assert gets(bucket) == [('nearcore-deploy/testnet/latest_release', None),
                            ('nearcore-deploy/testnet/latest_deploy', None),
                            (rel['path'] + '.sha256', None)]


@pytest.mark.parametrize('chain,deploy', [('localnet', 'testnet'), ('my-chain', 'testnet'),
                                          ('mainnet', 'mainnet'), (None, 'mainnet')])
def test_which_chain_names_the_latest_release(nu, bucket, chain, deploy):
    bucket.add_release(deploy, '2.5.0')
    extra = ('--chain', chain) if chain else ()
    b = ok_json(fetch(nu, bucket, 'latest', *extra))
    assert b['version'] == '2.5.0'
    assert gets(bucket)[:2] == [(f'nearcore-deploy/{deploy}/latest_release', None),
                                (f'nearcore-deploy/{deploy}/latest_deploy', None)]


def test_interrupted_download_resumes_with_a_range_request(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0', pad=200_000)
    pinned = rel['pinned_path']
    bucket.cut_next(pinned, 50_000)
    msg = one_line_error(fetch(nu, bucket, '2.5.0'))
    assert msg.startswith('nearup bin: download of neard 2.5.0 interrupted: '
                          f'GET {bucket.url}/{pinned}: '), msg
    assert msg.endswith('; run again to resume it')
    part = nu.cache / 'blobs' / '.partial' / (rel['sha256'] + '.part')
    assert part.stat().st_size == 50_000
    assert nu.executables() == []
    assert not nu.entry('2.5.0').exists()

    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, '2.5.0'))
    assert b['downloaded'] is True
    assert gets(bucket) == [(pinned + '.sha256', None), (pinned, 'bytes=50000-')]
    with open(b['path'], 'rb') as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == rel['sha256']
    assert sorted(os.listdir(nu.cache / 'blobs' / '.partial')) == []


def test_tampered_binary_is_rejected_and_nothing_executable_is_left(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    got = bucket.tamper(rel['pinned_path'])
    msg = one_line_error(fetch(nu, bucket, '2.5.0'))
    assert msg == (f"nearup bin: checksum mismatch for neard 2.5.0: expected {rel['sha256']}, "
                   f"got {got}; nothing was installed")
    assert nu.executables() == []
    assert sorted(os.listdir(nu.cache / 'blobs')) == ['.partial']
    assert os.listdir(nu.cache / 'blobs' / '.partial') == []
    assert not nu.entry('2.5.0').exists()
    assert ok_json(nu('bin', 'list', '--json'))['binaries'] == []


def test_wrong_checksum_file_is_rejected(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    wrong = bucket.wrong_sha256(rel['pinned_path'], 'ab' * 32)
    msg = one_line_error(fetch(nu, bucket, '2.5.0'))
    assert msg == (f"nearup bin: checksum mismatch for neard 2.5.0: expected {wrong}, "
                   f"got {rel['sha256']}; nothing was installed")
    assert nu.executables() == []


def test_neard_sha256_flag_replaces_the_checksum_file(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    wrong = 'CD' * 32
    msg = one_line_error(fetch(nu, bucket, '2.5.0', '--neard-sha256', wrong))
    assert msg == (f"nearup bin: checksum mismatch for neard 2.5.0: expected {wrong.lower()}, "
                   f"got {rel['sha256']}; nothing was installed")
    assert gets(bucket) == [(rel['pinned_path'], None)]  # neard.sha256 is not read
    assert nu.executables() == []

    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, '2.5.0', '--neard-sha256', rel['sha256'].upper()))
    assert (b['sha256'], b['downloaded']) == (rel['sha256'], True)
    assert gets(bucket) == [(rel['pinned_path'], None)]


def test_cached_binary_with_another_hash_than_requested_is_not_used(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    ok_json(fetch(nu, bucket, '2.5.0'))
    bucket.clear_requests()
    msg = one_line_error(fetch(nu, bucket, '2.5.0', '--neard-sha256', 'ef' * 32))
    assert 'expected ' + 'ef' * 32 in msg
    assert gets(bucket) == [(rel['pinned_path'], None)]
    # the good cached one is still there
    assert ok_json(fetch(nu, bucket, '2.5.0'))['downloaded'] is False


def test_corrupted_cache_entry_is_downloaded_again(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    path = ok_json(fetch(nu, bucket, '2.5.0'))['path']
    with open(path, 'ab') as fh:
        fh.write(b'garbage\n')
    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, '2.5.0'))
    assert b['downloaded'] is True
    assert gets(bucket) == [(rel['pinned_path'] + '.sha256', None), (rel['pinned_path'], None)]
    with open(path, 'rb') as fh:
        assert fh.read() == rel['data']


def stamp_of(path):
    """What verified/<sha> must hold for the blob at path as it is now."""
    st = os.stat(path)
    sha = os.path.basename(path)
    return (f'{sha} {st.st_size} {st.st_mtime_ns // 10**9}.{st.st_mtime_ns % 10**9:09d} '
            f'{st.st_ctime_ns // 10**9}.{st.st_ctime_ns % 10**9:09d} {st.st_ino} {st.st_dev}\n')


def test_a_verified_blob_is_stamped(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    path = ok_json(fetch(nu, bucket, '2.5.0'))['path']
    stamp = nu.cache / 'verified' / rel['sha256']
    assert stamp.read_text() == stamp_of(path)
    assert stat.S_IMODE(stamp.stat().st_mode) == 0o644
    # a cache hit trusts the stamp: the file was not touched since it was hashed
    assert ok_json(fetch(nu, bucket, '2.5.0'))['downloaded'] is False
    assert stamp.read_text() == stamp_of(path)


def test_blob_changed_in_place_with_its_mtime_restored_is_downloaded_again(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    path = ok_json(fetch(nu, bucket, '2.5.0'))['path']
    before = os.stat(path)
    with open(path, 'r+b') as fh:  # same size, one byte different
        fh.seek(3)
        byte = fh.read(1)
        fh.seek(3)
        fh.write(bytes([byte[0] ^ 0x20]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, '2.5.0'))
    assert b['downloaded'] is True
    assert gets(bucket) == [(rel['pinned_path'] + '.sha256', None), (rel['pinned_path'], None)]
    with open(path, 'rb') as fh:
        assert fh.read() == rel['data']
    assert (nu.cache / 'verified' / rel['sha256']).read_text() == stamp_of(path)


def test_a_stamp_not_younger_than_the_blobs_last_change_is_not_trusted(nu, bucket):
    """On a kernel whose file times are coarse (one jiffy: Debian 12's 6.1),
    a write in the clock tick in which the stamp was taken leaves the ctime
    the stamp recorded, so the stamp would vouch for bytes nobody hashed.
    This kernel's ctimes are fine-grained, so the test makes that state by
    hand: the blob is changed in place (mtime restored), and its stamp
    describes the changed file and is exactly as old as the change."""
    rel = bucket.add_release('testnet', '2.5.0')
    path = ok_json(fetch(nu, bucket, '2.5.0'))['path']
    before = os.stat(path)
    with open(path, 'r+b') as fh:
        fh.seek(3)
        byte = fh.read(1)
        fh.seek(3)
        fh.write(bytes([byte[0] ^ 0x20]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    stamp = nu.cache / 'verified' / rel['sha256']
    stamp.write_text(stamp_of(path))
    changed = os.stat(path).st_ctime_ns
    os.utime(stamp, ns=(changed, changed))
    bucket.clear_requests()
    b = ok_json(fetch(nu, bucket, '2.5.0'))
    assert b['downloaded'] is True
    assert gets(bucket) == [(rel['pinned_path'] + '.sha256', None), (rel['pinned_path'], None)]
    with open(path, 'rb') as fh:
        assert fh.read() == rel['data']
    assert stamp.read_text() == stamp_of(path)


def test_prune_removes_the_stamps_of_removed_blobs(nu, bucket):
    rels = fetch_all(nu, bucket, ['2.4.0', '2.5.0'])
    assert ok_json(nu('bin', 'prune', '--keep', '1', '--json')) == {
        'removed': 1, 'kept': ['2.5.0']}
    assert os.listdir(nu.cache / 'verified') == [rels['2.5.0']['sha256']]


# ---- errors ----

def test_unreachable_bucket(nu):
    url = f'http://127.0.0.1:{free_port()}'
    r = nu('bin', 'fetch', '2.5.0', '--release-url', url)
    msg = one_line_error(r)
    assert msg.startswith('nearup bin: cannot reach the release bucket: '
                          f'GET {url}/nearcore/{nu.os_arch}/2.5.0/neard.sha256: '), msg
    assert msg.endswith('; check the connection and --release-url')
    r = nu('bin', 'fetch', 'latest', '--chain', 'testnet', '--release-url', url)
    assert one_line_error(r).startswith(
        f'nearup bin: cannot reach the release bucket: GET {url}/nearcore-deploy/testnet/'
        'latest_release: ')


def test_unknown_version_is_a_404_naming_the_url(nu, bucket):
    msg = one_line_error(fetch(nu, bucket, '9.9.9'))
    assert msg == (f'nearup bin: no neard 9.9.9 for {nu.os_arch} in the release bucket: '
                   f'GET {bucket.url}/nearcore/{nu.os_arch}/9.9.9/neard.sha256: HTTP 404')


def test_missing_binary_beside_its_checksum(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    bucket.fail(rel['pinned_path'], 404)
    msg = one_line_error(fetch(nu, bucket, '2.5.0'))
    assert msg == (f'nearup bin: no neard 2.5.0 for {nu.os_arch} in the release bucket: '
                   f"GET {bucket.url}/{rel['pinned_path']}: HTTP 404")
    assert nu.executables() == []


def test_server_error_on_latest(nu, bucket):
    bucket.add_release('testnet', '2.5.0')
    bucket.fail('nearcore-deploy/testnet/latest_release', 500)
    msg = one_line_error(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    assert msg == ('nearup bin: cannot read latest_release from the release bucket: '
                   f'GET {bucket.url}/nearcore-deploy/testnet/latest_release: HTTP 500')


def test_garbage_in_latest_release_is_refused(nu, bucket):
    bucket.add_release('testnet', '2.5.0')
    bucket.put('nearcore-deploy/testnet/latest_release', '../../etc\n')
    msg = one_line_error(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    assert msg == (f'nearup bin: GET {bucket.url}/nearcore-deploy/testnet/latest_release: '
                   "latest_release is not a valid name: '../../etc'")
    assert [p for p, _ in gets(bucket)] == ['nearcore-deploy/testnet/latest_release']


@pytest.mark.parametrize('args,err', [
    (('fetch',), "nearup bin: fetch needs a VERSION (or 'latest')"),
    (('fetch', '../x'), "nearup bin: invalid neard version '../x'"),
    (('fetch', '2.5.0', '--neard-sha256', 'abc'),
     'nearup bin: --neard-sha256: "abc" is not 64 hex digits'),
    (('fetch', '2.5.0', '--release-url', 'ftp://x'),
     'nearup bin: --release-url: "ftp://x" is not an http:// or https:// URL'),
    (('fetch', 'latest', '--chain', 'Bad/Chain'), 'nearup bin: --chain: unknown network "Bad/Chain"'),
    (('prune', '--keep', '-1'), 'nearup bin: --keep: "-1" is not a whole number'),
    (('list', '--bogus'), "nearup bin: unknown option '--bogus'"),
    (('frobnicate',), "nearup bin: unknown subcommand 'frobnicate'"),
])
def test_usage_errors(nu, args, err):
    r = nu('bin', *args)
    assert r.returncode == 2
    assert r.stderr == err + "; see 'nearup bin --help'\n"


# ---- list and prune ----

def test_list_json_exact_values(nu, bucket):
    a = bucket.add_release('testnet', '2.4.0', pad=1000)
    b = bucket.add_release('testnet', '2.10.0')
    ok_json(fetch(nu, bucket, '2.4.0'))
    ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    bucket.clear_requests()
    listed = ok_json(nu('bin', 'list', '--json'))
    assert bucket.requests() == []

    def item(rel, commit):
        return {'version': rel['version'], 'commit': commit, 'sha256': rel['sha256'],
                'size': rel['size'], 'cached_at': int(nu.entry(rel['version']).stat().st_mtime),
                'in_use': False, 'path': str(nu.blob(rel['sha256']))}
    assert listed == {'cache_dir': str(nu.cache), 'os_arch': nu.os_arch,
                      'binaries': [item(b, b['commit']), item(a, None)]}
    assert a['size'] == 1000


def test_list_table(nu, bucket):
    r = nu('bin', 'list')
    assert (r.returncode, r.stdout) == (0, f'no cached neard binaries in {nu.cache}\n')
    rel = bucket.add_release('testnet', '2.5.0')
    ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))
    lines = nu('bin', 'list').stdout.splitlines()
    assert lines[0].split() == ['VERSION', 'COMMIT', 'SHA256', 'SIZE', 'CACHED', 'IN', 'USE']
    f = lines[1].split()
    assert f[:5] == ['2.5.0', rel['commit'][:12], rel['sha256'][:12], str(rel['size']), 'B']
    assert f[-1] == 'no'


def fetch_all(nu, bucket, versions):
    rels = {}
    for v in versions:
        rels[v] = bucket.add_release('testnet', v, latest=False)
        ok_json(fetch(nu, bucket, v))
    return rels


def test_prune_keeps_the_newest_versions(nu, bucket):
    rels = fetch_all(nu, bucket, ['2.3.0', '2.10.0', '2.5.0-rc.1', '2.5.0', '2.4.1'])
    order = [x['version'] for x in ok_json(nu('bin', 'list', '--json'))['binaries']]
    assert order == ['2.10.0', '2.5.0', '2.5.0-rc.1', '2.4.1', '2.3.0']
    bucket.clear_requests()
    r = nu('bin', 'prune', '--keep', '2', '--json')
    assert ok_json(r) == {'removed': 3, 'kept': ['2.10.0', '2.5.0']}
    assert bucket.requests() == []
    assert sorted(os.listdir(nu.cache / 'blobs')) == sorted(
        ['.partial', rels['2.10.0']['sha256'], rels['2.5.0']['sha256']])
    r = nu('bin', 'prune')  # default keeps 3: nothing left to remove
    assert (r.returncode, r.stdout) == (0, 'removed 0 cached versions, kept 2\n')


def test_prune_never_removes_a_binary_in_use(nu, bucket, tmp_path):
    rels = fetch_all(nu, bucket, ['2.3.0', '2.4.0', '2.5.0'])
    old = rels['2.3.0']
    nu.register(tmp_path / 'node-home', nu.blob(old['sha256']), old['sha256'])
    listed = ok_json(nu('bin', 'list', '--json'))['binaries']
    assert [(x['version'], x['in_use']) for x in listed] == [
        ('2.5.0', False), ('2.4.0', False), ('2.3.0', True)]
    assert ok_json(nu('bin', 'prune', '--keep', '1', '--json')) == {
        'removed': 1, 'kept': ['2.5.0', '2.3.0']}
    assert nu.blob(old['sha256']).exists()
    assert not nu.blob(rels['2.4.0']['sha256']).exists()
    assert ok_json(nu('bin', 'prune', '--keep', '0', '--json')) == {
        'removed': 1, 'kept': ['2.3.0']}
    assert sorted(os.listdir(nu.cache / 'blobs')) == ['.partial', old['sha256']]


def test_prune_removes_abandoned_partial_downloads(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0', pad=100_000)
    bucket.cut_next(rel['pinned_path'], 10_000)
    one_line_error(fetch(nu, bucket, '2.5.0'))
    assert os.listdir(nu.cache / 'blobs' / '.partial') == [rel['sha256'] + '.part']
    assert ok_json(nu('bin', 'prune', '--json')) == {'removed': 0, 'kept': []}
    assert os.listdir(nu.cache / 'blobs' / '.partial') == []


# ---- concurrency, signals, terminal ----

def test_two_concurrent_fetches_download_once(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0', pad=300_000)
    bucket.slow(rel['pinned_path'], 1.0)
    procs = [nu.popen('bin', 'fetch', '2.5.0', '--release-url', bucket.url, '--json',
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    results = [json.loads(o[0]) for o in outs]
    assert sorted(r['downloaded'] for r in results) == [False, True]
    assert {r['path'] for r in results} == {str(nu.blob(rel['sha256']))}
    assert [p for p, _ in gets(bucket)].count(rel['pinned_path']) == 1
    with open(nu.blob(rel['sha256']), 'rb') as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == rel['sha256']
    assert nu.executables() == ['blobs/' + rel['sha256']]


def test_sigint_keeps_the_partial_download_for_a_resume(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0', pad=400_000)
    bucket.slow(rel['pinned_path'], 4.0)
    p = nu.popen('bin', 'fetch', '2.5.0', '--release-url', bucket.url,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = nu.cache / 'blobs' / '.partial' / (rel['sha256'] + '.part')
    wait_until(lambda: part.exists() and part.stat().st_size > 0, what='a partial download')
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert err == 'nearup bin: download of neard 2.5.0 interrupted; run again to resume it\n'
    size = part.stat().st_size
    assert 0 < size < rel['size']
    assert nu.executables() == []
    bucket.slow(rel['pinned_path'], None)
    bucket.clear_requests()
    assert ok_json(fetch(nu, bucket, '2.5.0'))['downloaded'] is True
    assert gets(bucket)[-1] == (rel['pinned_path'], f'bytes={size}-')


def run_on_pty(nu, *args):
    """Runs nearup with stderr on a terminal; returns (rc, stdout, terminal output)."""
    master, slave = pty.openpty()
    p = nu.popen(*args, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out, _ = p.communicate(timeout=30)
    os.close(master)
    return p.returncode, out, b''.join(chunks).decode()


def test_progress_bar_on_a_terminal_only(nu, bucket):
    rel = bucket.add_release('testnet', '2.5.0', pad=2 * 1024 * 1024)
    rc, out, tty = run_on_pty(nu, 'bin', 'fetch', '2.5.0', '--release-url', bucket.url)
    assert rc == 0, tty
    assert out.startswith('neard 2.5.0 downloaded and verified\n')
    final = tty.rstrip('\r\n').split('\r')[-1]
    assert final.startswith('neard 2.5.0  2.0 MiB / 2.0 MiB  [')
    assert '] 100%  ' in final and '/s  ETA 0:00\x1b[K' in final
    assert tty.endswith('\n')
    # cached: nothing is drawn
    rc, _, tty = run_on_pty(nu, 'bin', 'fetch', '2.5.0', '--release-url', bucket.url)
    assert (rc, tty) == (0, '')
    assert rel['size'] >= 2 * 1024 * 1024


def test_help(nu):
    r = nu('bin', '--help')
    assert r.returncode == 0
    assert r.stdout.startswith('usage: nearup bin list [--json]\n')
    r = nu('bin')
    assert r.returncode == 2 and r.stderr.startswith('usage: nearup bin list')


# ---- nearup run uses the cache ----

def test_run_keeps_the_build_it_ran_when_its_release_is_redeployed(nu, bucket, tmp_path):
    first = bucket.add_release('testnet', '2.5.0')
    home = tmp_path / 'testnet'
    run = ('run', 'testnet', '--home', home, '--release-url', bucket.url)
    try:
        r = nu(*run)
        assert r.returncode == 0, r.stderr
        nu.stop(home)
        # 2.5.0 is deployed again as another build, and fetched: the cache's
        # 2.5.0 is that build now
        second = bucket.add_release('testnet', '2.5.0', commit='f' * 40, pad=1000)
        assert ok_json(fetch(nu, bucket, 'latest', '--chain', 'testnet'))['sha256'] == \
            second['sha256']
        assert nu.entry('2.5.0').read_text() == f"{second['sha256']} {'f' * 40}\n"

        def runs(rel):
            r = nu(*run)
            assert r.returncode == 0, r.stderr
            rc = json.loads((home / '.nearup' / 'run.json').read_text())
            assert (rc['binary'], rc['neard_sha256'], rc['neard_commit']) == (
                str(nu.blob(rel['sha256'])), rel['sha256'], rel['commit'])
            nu.stop(home)

        # the home runs the build it ran, from the cache, with no request
        bucket.clear_requests()
        runs(first)
        assert bucket.requests() == []

        # its blob is gone: that exact build is fetched again, checked against its hash
        os.unlink(nu.blob(first['sha256']))
        bucket.clear_requests()
        runs(first)
        assert gets(bucket) == [(first['path'], None)]

        # gone again, and the bucket has other bytes under its name: an error, no switch
        os.unlink(nu.blob(first['sha256']))
        bucket.put(first['path'], second['data'])
        r = nu(*run)
        assert r.returncode == 1
        assert r.stderr == (
            f"nearup run: checksum mismatch for neard 2.5.0: expected {first['sha256']}, got "
            f"{second['sha256']}; the build this home ran is no longer cached and the release "
            'bucket has other bytes under its name now; pass --neard-version or --binary-path '
            'to choose a build\n')
        rc = json.loads((home / '.nearup' / 'run.json').read_text())
        assert rc['neard_sha256'] == first['sha256']
        assert not (home / '.nearup' / 'supervisor.pid').exists()
        assert nu.executables() == ['blobs/' + second['sha256']]
    finally:
        nu.stop(home)


def test_run_downloads_once_and_a_second_run_makes_no_request(nu, bucket, tmp_path):
    rel = bucket.add_release('testnet', '2.5.0')
    home = tmp_path / 'testnet'
    try:
        r = nu('run', 'testnet', '--home', home, '--release-url', bucket.url)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ''  # no terminal: no progress bar
        reqs = bucket.requests()
        assert [(q.path, q.range) for q in reqs if q.path.startswith('nearcore/')] == [
            (rel['path'] + '.sha256', None), (rel['path'], None)]
        assert sorted(q.path for q in reqs if '/latest_' in q.path) == [
            'nearcore-deploy/testnet/latest_deploy', 'nearcore-deploy/testnet/latest_release']
        listed = ok_json(nu('bin', 'list', '--json'))['binaries']
        assert [(x['version'], x['commit'], x['in_use']) for x in listed] == [
            ('2.5.0', rel['commit'], True)]
        r = nu('stop', '--home', home)
        assert r.returncode == 0, r.stderr

        bucket.clear_requests()
        r = nu('run', 'testnet', '--home', home, '--release-url', bucket.url)
        assert r.returncode == 0, r.stderr
        assert bucket.requests() == []

        # a registered home's binary is never pruned, even with --keep 0
        other = bucket.add_release('testnet', '2.6.0', latest=False)
        ok_json(fetch(nu, bucket, '2.6.0'))
        assert ok_json(nu('bin', 'prune', '--keep', '0', '--json')) == {
            'removed': 1, 'kept': ['2.5.0']}
        assert not nu.blob(other['sha256']).exists()
        assert nu.blob(rel['sha256']).exists()
    finally:
        nu.stop(home)
