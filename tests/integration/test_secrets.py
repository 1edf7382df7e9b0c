"""Secrets stay secret: every command that takes a URL gets one with
user:password in it (and S3 commands a secret key and a session token in
the environment), with failures forced (unreachable port, 403, 404, a bad
sha256, a missing object, a read-only store), and nothing nearup prints,
logs, writes into a state file or serves as a metric holds a secret.
URLs come back with their userinfo as ***."""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import NEARD_SIM, NEARUP, SimNode, free_port, init_local, wait_until
from lifecycle import Nearup
pytest.register_assert_rewrite('snaputil')
from snaputil import DirServer, make_home, twin_home  # noqa: E402

USER = 'u5er-4l1ce'
PASSWORD = 'pa55-S3cr3t-w0rd'
S3_SECRET = 'S3cretAccessKey-never-shown-0123'
S3_TOKEN = 'S3ssionToken-never-shown-4567'
SECRETS = (USER, PASSWORD, S3_SECRET, S3_TOKEN)
OS_ARCH = '{0.sysname}-{0.machine}'.format(os.uname())


def cred(url):
    """url with user:password in it."""
    scheme, rest = url.split('://', 1)
    return f'{scheme}://{USER}:{PASSWORD}@{rest}'


def shown(url):
    """url as nearup must show it: userinfo redacted."""
    scheme, rest = url.split('://', 1)
    return f'{scheme}://***@{rest}'


_held = []


def closed_url():
    """A URL nothing answers: its port is bound (so no server of the test
    can get it) but not listening, so connections are refused."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    _held.append(sock)
    return f'http://127.0.0.1:{sock.getsockname()[1]}'


class Watch:
    """Runs nearup and keeps every byte it printed; clean() checks those
    and every file under the test's dir (except the inputs the test wrote)
    for the secrets."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.nu = Nearup(tmp_path / 'nu')
        self.texts = []
        self.inputs = set()

    def __call__(self, *args, env=None, timeout=120):
        full = dict(self.nu.env)
        full.update(env or {})
        r = subprocess.run([NEARUP, *[str(a) for a in args]], capture_output=True, text=True,
                           env=full, timeout=timeout)
        self.texts.append((args, r.stdout + r.stderr))
        return r

    def fails(self, *args, code=1, env=None):
        """One error line on stderr and exit code `code`; returns the line."""
        r = self(*args, env=env)
        assert r.returncode == code, (args, r.stdout, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1, (args, r.stderr)
        return lines[0]

    def seen(self, what, text):
        self.texts.append((what, text))

    def clean(self):
        for what, text in self.texts:
            for s in SECRETS:
                assert s not in text, (s, what, text)
        checked = 0
        for dirpath, _, names in os.walk(self.root):
            for n in names:
                p = os.path.join(dirpath, n)
                if p in self.inputs or not os.path.isfile(p) or os.path.islink(p):
                    continue
                with open(p, 'rb') as fh:
                    data = fh.read()
                for s in SECRETS:
                    assert s.encode() not in data, (s, p)
                checked += 1
        return checked


@pytest.fixture
def w(tmp_path):
    watch = Watch(tmp_path)
    yield watch
    watch.nu.cleanup()
    while _held:
        _held.pop().close()


def get(url):
    """(status, body text) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def addrs():
    return ['--rpc-addr', f'127.0.0.1:{free_port()}', '--network-addr',
            f'127.0.0.1:{free_port()}']


def curl_error(line, prefix, url):
    """line is prefix + 'GET <url>: <curl error>' + rest."""
    m = re.fullmatch(re.escape(f'{prefix}GET {url}: ') + r"(.+?)(; .*)?", line)
    assert m, (line, url)
    return m


# ---- the release bucket: bin fetch, run, upgrade, localnet, service ----

def test_release_url_commands(w, bucket):
    bucket.add_release('testnet', '2.5.0')
    base = cred(bucket.url)
    pinned = f'nearcore/{OS_ARCH}/2.5.0/neard'
    down = closed_url()

    line = w.fails('bin', 'fetch', '2.5.0', '--release-url', cred(down))
    curl_error(line, 'nearup bin: cannot reach the release bucket: ',
               f'{shown(down)}/{pinned}.sha256')
    bucket.fail(pinned + '.sha256', 403, times=1)
    assert w.fails('bin', 'fetch', '2.5.0', '--release-url', base) == (
        f'nearup bin: cannot read the checksum of neard 2.5.0: GET {shown(bucket.url)}/{pinned}.sha256: '
        'HTTP 403')
    assert w.fails('bin', 'fetch', '9.9.9', '--release-url', base) == (
        f'nearup bin: no neard 9.9.9 for {OS_ARCH} in the release bucket: GET '
        f'{shown(bucket.url)}/nearcore/{OS_ARCH}/9.9.9/neard.sha256: HTTP 404')
    bucket.fail('nearcore-deploy/mainnet/latest_release', 500, times=1)
    assert w.fails('bin', 'fetch', 'latest', '--release-url', base) == (
        'nearup bin: cannot read latest_release from the release bucket: GET '
        f'{shown(bucket.url)}/nearcore-deploy/mainnet/latest_release: HTTP 500')
    bad = bucket.add_release('testnet', '2.6.0', latest=False)
    bucket.wrong_sha256(bad['pinned_path'])
    assert w.fails('bin', 'fetch', '2.6.0', '--release-url', base) == (
        f'nearup bin: checksum mismatch for neard 2.6.0: expected {"0" * 64}, got '
        f'{bad["sha256"]}; nothing was installed')
    assert w('bin', 'fetch', '2.5.0', '--release-url', base, '--json').returncode == 0
    assert w('bin', 'list', '--json').returncode == 0

    # run: the download works with the credentials; run.json keeps none
    home = w.root / 'h'
    r = w('run', 'testnet', '--home', home, '--release-url', base, '--neard-version', '2.5.0')
    assert r.returncode == 0, r.stderr
    run_json = (home / '.nearup' / 'run.json').read_text()
    assert f'"release_url": "{shown(bucket.url)}"' in run_json
    w.seen('status', w.nu.ok('status', '--json', '--home', home).stdout)
    # the stored URL lost its credentials: nearup says so instead of trying
    assert w.fails('upgrade', '--to', '9.9.9', '--home', home) == (
        f'nearup upgrade: release url {shown(bucket.url)} was stored without its '
        'credentials; pass --release-url with them again')
    assert w.fails('upgrade', '--to', '9.9.9', '--home', home, '--release-url', base) == (
        f'nearup upgrade: no neard 9.9.9 for {OS_ARCH} in the release bucket: GET '
        f'{shown(bucket.url)}/nearcore/{OS_ARCH}/9.9.9/neard.sha256: HTTP 404')
    w.nu.ok('stop', '--home', home)

    line = w.fails('run', 'testnet', '--home', w.root / 'h2', '--release-url', cred(down))
    curl_error(line, 'nearup run: cannot reach the release bucket: ',
               f'{shown(down)}/nearcore-deploy/testnet/latest_release')
    line = w.fails('localnet', '--home', w.root / 'ln', '--nodes', '1', '--release-url',
                   cred(down), '--fast')
    curl_error(line, 'nearup localnet: cannot reach the release bucket: ',
               f'{shown(down)}/nearcore-deploy/testnet/latest_release')
    assert w.fails('service', 'print', 'testnet', '--home', home, '--release-url', base,
                   code=2) == (
        f'nearup service: --release-url: "{shown(bucket.url)}": a unit file is readable by '
        'every user, so it gets no credentials; fetch the binary first (nearup bin fetch '
        "VERSION --release-url URL) and pass --neard-version VERSION; see 'nearup service "
        "--help'")
    assert w.clean() > 5


# ---- snapshot stores: http(s) with userinfo, s3 with keys ----

def forbidden(srv, h, body):
    h.send_response(403)
    h.send_header('Content-Length', '0')
    h.end_headers()
    return True


def basic_auth_only(srv, h, body):
    """Serves files only to USER:PASSWORD (HTTP basic authentication)."""
    want = 'Basic ' + base64.b64encode(f'{USER}:{PASSWORD}'.encode()).decode()
    if h.headers.get('Authorization') == want:
        return False
    h.send_response(401)
    h.send_header('Content-Length', '0')
    h.end_headers()
    return True


def test_snapshot_with_credentials_works_and_shows_none(w, tmp_path):
    home = make_home(tmp_path / 'node')
    node = SimNode(home)
    node.start()
    wait_until(lambda: node.height() >= 5, 30, what='some blocks')
    node.stop()
    w.nu.ok('snapshot', 'create', '--home', home, '--to', tmp_path / 'store', '--name', 's1')
    srv = DirServer(tmp_path / 'store', handler=basic_auth_only)
    try:
        assert w.fails('snapshot', 'restore', '--from', srv.url, '--home',
                       twin_home(home, tmp_path / 'anon')) == (
            'nearup snapshot restore: latest: HTTP 401: access denied (check the credentials '
            "and the bucket's policy)")
        r = w('snapshot', 'restore', '--from', cred(srv.url), '--home',
              twin_home(home, tmp_path / 'new'), '--json')
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)['name'] == 's1'
        r = w('snapshot', 'verify', '--from', cred(srv.url), '--name', 's1')
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith('nearup snapshot verify: 1 snapshot, '), r.stdout
    finally:
        srv.stop()
    assert w.clean() > 5


def test_snapshot_store_commands(w, tmp_path):
    home = make_home(tmp_path / 'node')
    down = closed_url()
    empty = DirServer(tmp_path / 'www')
    os.makedirs(tmp_path / 'www', exist_ok=True)
    deny = DirServer(tmp_path / 'www', handler=forbidden)
    try:
        for sub, extra in (('list', []), ('verify', ['--name', 'latest']),
                           ('prune', ['--keep', '1'])):
            line = w.fails('snapshot', sub, '--from', cred(down), *extra)
            assert shown(down) in line, line
        assert w.fails('snapshot', 'verify', '--from', cred(deny.url), '--name', 'latest') == (
            'nearup snapshot verify: latest: manifests/latest.json: HTTP 403: access denied '
            "(check the credentials and the bucket's policy)")
        assert w.fails('snapshot', 'restore', '--from', cred(deny.url), '--home', home) == (
            "nearup snapshot restore: latest: HTTP 403: access denied (check the credentials "
            "and the bucket's policy)")
        assert w.fails('snapshot', 'list', '--from', cred(empty.url)) == (
            f'nearup snapshot list: store {shown(empty.url)} is plain HTTP and cannot be listed; '
            "use its s3:// address, or name a snapshot (--name) or 'latest'")
        assert w.fails('snapshot', 'restore', '--from', cred(empty.url), '--home', home) == (
            f'nearup snapshot restore: store {shown(empty.url)} has no snapshot '
            "(no 'latest')")
        assert w.fails('snapshot', 'create', '--to', cred(empty.url), '--home', home) == (
            f'nearup snapshot create: store {shown(empty.url)} is read-only (plain HTTP); '
            'create into a directory or s3:// store')
        line = w.fails('run', 'simnet', '--home', tmp_path / 'fresh', '--binary-path', NEARD_SIM,
                       '--from-snapshot', cred(down), *addrs())
        assert line.startswith(f'nearup run: --from-snapshot {shown(down)}: '), line
    finally:
        empty.stop()
        deny.stop()

    # S3: a wrong secret key (403 from S3) and an unreachable endpoint
    keys = {'AWS_ACCESS_KEY_ID': 'S3RVER', 'AWS_SECRET_ACCESS_KEY': S3_SECRET,
            'AWS_SESSION_TOKEN': S3_TOKEN, 'AWS_REGION': 'us-east-1'}
    line = w.fails('snapshot', 'list', '--from', 's3://snaps/p', '--s3-endpoint', cred(down),
                   env=keys)
    curl_error(line, 'nearup snapshot list: ',
               f'{shown(down)}/snaps/?list-type=2&prefix=p%2Fmanifests%2F')
    s3 = S3rver(tmp_path / 's3')
    try:
        # s3rver takes any secret for its own key id: a listing that works
        w('snapshot', 'list', '--from', 's3://snaps/p', '--s3-endpoint', s3.url, env=keys)
        # and an unknown key id gets a 403
        keys['AWS_ACCESS_KEY_ID'] = 'NEARUPUNKNOWNKEYID'
        denied = ('HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not '
                  'exist in our records.')
        assert w.fails('snapshot', 'list', '--from', 's3://snaps/p', '--s3-endpoint',
                       cred(s3.url), env=keys) == f'nearup snapshot list: listing: {denied}'
        line = w.fails('snapshot', 'verify', '--from', 's3://snaps/p', '--name', 'latest',
                       '--s3-endpoint', s3.url, env=keys)
        assert denied in line, line
        line = w.fails('snapshot', 'create', '--home', home, '--to', 's3://snaps/p',
                       '--s3-endpoint', s3.url, env=keys)
        assert re.fullmatch(r'nearup snapshot create: manifests/simnet-\d{8}T\d{6}Z\.json: '
                            r"HTTP 403: access denied \(check the credentials and the "
                            r"bucket's policy\)", line), line
    finally:
        s3.stop()
    assert w.clean() > 5


class S3rver:
    """npm s3rver on 127.0.0.1 (as in test_snapshot_s3.py); it knows only
    the key S3RVER/S3RVER, so any other secret gets a 403."""

    def __init__(self, root):
        from conftest import ROOT
        js = os.path.join(ROOT, 'tools', 's3rver', 'node_modules', 's3rver', 'bin', 's3rver.js')
        assert shutil.which('node') and os.path.exists(js), 's3rver is not installed'
        os.makedirs(root)
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log = open(str(root) + '.log', 'wb')
        self.proc = subprocess.Popen(
            [shutil.which('node'), '--openssl-legacy-provider', js, '-d', str(root), '-a',
             '127.0.0.1', '-p', str(self.port), '--configure-bucket', 'snaps'],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)

        def up():
            assert self.proc.poll() is None, 's3rver exited'
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_until(up, 20, what='s3rver')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


# ---- RPC URLs: status, health, gateway ----

def test_rpc_url_commands(w, tmp_path):
    sim_home = tmp_path / 'sim'
    init_local(sim_home)
    node = SimNode(sim_home)
    node.start()
    node_url = f'http://{node.rpc_addr}'
    try:
        down = closed_url()
        nodes = w.root / 'n'
        w.nu.ok('run', 'simnet', '--home', nodes, '--binary-path', NEARD_SIM, *addrs())
        r = w('status', '--home', nodes, '--reference', cred(down))
        assert re.search(rf'nearup status: reference {re.escape(shown(down))} did not answer ',
                         r.stderr), r.stderr
        r = w('status', '--home', nodes, '--json', '--reference', cred(down))
        assert f'"url": "{shown(down)}"' in r.stdout, r.stdout
        w.nu.ok('stop', '--home', nodes)

        port = free_port()
        log = open(tmp_path / 'health.log', 'w+')
        p = subprocess.Popen([NEARUP, 'health', '--node', cred(node_url), '--reference',
                              cred(down), '--listen', f'127.0.0.1:{port}', '--interval', '100',
                              '--log-level', 'debug'],
                             stdout=log, stderr=subprocess.STDOUT, env=w.nu.env)
        try:
            def answered():
                try:
                    return get(f'http://127.0.0.1:{port}/healthcheck')
                except OSError:
                    return None
            assert wait_until(answered, 15, what='sidecar')[0] == 200
            wait_until(lambda: 'lag unknown' in (tmp_path / 'health.log').read_text(), 15,
                       what='the reference failing')
            for path in ('/healthcheck', '/metrics', '/status'):
                w.seen(path, get(f'http://127.0.0.1:{port}{path}')[1])
        finally:
            p.terminate()
            p.wait(10)
            log.close()

        for up in (cred(node_url), 'a=' + cred(node_url)):
            line = w.fails('gateway', '--upstream', up, '--check')
            assert shown(node_url) in line and 'credentials' in line, line
        cfg = tmp_path / 'gw.ini'
        cfg.write_text(f'[upstream a]\nurl = {cred(node_url)}\n')
        w.inputs.add(str(cfg))
        line = w.fails('gateway', '-c', cfg, '--check')
        assert shown(node_url) in line and 'credentials' in line, line
    finally:
        node.stop()
    assert w.clean() > 3
