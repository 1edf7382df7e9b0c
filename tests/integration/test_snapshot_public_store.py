"""A public, read-only snapshot store: deploy/public-store/nginx-store.conf
run for real by nginx over HTTPS in front of a directory store, and
`nearup snapshot restore --from https://...` against it, unsigned and signed
(the test CA through SSL_CERT_FILE, as an operator behind a private CA
would). The store refuses writes and listings and sends the cache headers
docs/snapshots.md promises."""
import http.client
import json
import os
import pwd
import shutil
import signal
import ssl
import subprocess

import pytest

from conftest import free_port, load_json, wait_until
pytest.register_assert_rewrite('nodeutil', 'snaputil')
from snaputil import head, make_home, manifest, snap, tree_hashes, twin_home, wait_head  # noqa: E402

pytest_plugins = ('nodeutil',)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SITE = os.path.join(ROOT, 'deploy', 'public-store', 'nginx-store.conf')
POLICY = os.path.join(ROOT, 'deploy', 'public-store', 's3-bucket-policy.json')
TLS = os.path.join(HERE, 'tls')
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'


def start_nginx(work, root):
    """nginx with the deploy site file, placeholders filled in; (proc, port)."""
    port = free_port()
    with open(SITE) as fh:
        site = fh.read()
    for k, v in (('__LISTEN__', f'127.0.0.1:{port} ssl'), ('__STORE_ROOT__', str(root)),
                 ('__CERT__', os.path.join(TLS, 'loopback.crt')),
                 ('__KEY__', os.path.join(TLS, 'loopback.key'))):
        assert k in site, k
        site = site.replace(k, v)
    assert '__' not in site.replace('__init__', '')
    prefix = os.path.join(str(work), 'nginx')
    os.makedirs(os.path.join(prefix, 'logs'), exist_ok=True)
    with open(os.path.join(prefix, 'site.conf'), 'w') as fh:
        fh.write(site)
    with open(os.path.join(prefix, 'nginx.conf'), 'w') as fh:
        # as root, nginx's workers would run as nobody, who cannot read a
        # pytest tmp dir (0700): they run as whoever runs the test
        user = f'user {pwd.getpwuid(os.geteuid()).pw_name};' if os.geteuid() == 0 else ''
        fh.write(f"""daemon off;
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""")
    p = subprocess.Popen([NGINX, '-p', prefix, '-c', os.path.join(prefix, 'nginx.conf')],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def listening():
        assert p.poll() is None, p.stderr.read().decode()
        try:
            https(port, 'HEAD', '/')
            return True
        except OSError:
            return False
    wait_until(listening, 10, what='nginx listening')
    return p, port


def https(port, method, path, body=None):
    ctx = ssl.create_default_context(cafile=os.path.join(TLS, 'loopback.crt'))
    c = http.client.HTTPSConnection('127.0.0.1', port, context=ctx, timeout=5)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


@pytest.fixture
def public(nu, tmp_path):
    """A node snapshotted twice into root/mainnet/rpc (s1 unsigned, s2
    signed), served by nginx; (home, url, port, signing public key)."""
    home = make_home(tmp_path / 'src', age_s=30)
    _, port = nu.run_node(home, '--restart', 'no')
    wait_head(port, 200)
    root = tmp_path / 'public'
    store = root / 'mainnet' / 'rpc'
    snap(nu, 'create', '--home', home, '--to', store, '--name', 's1')
    wait_head(port, head(port) + 2)
    key = os.path.join(home, 'validator_key.json')
    snap(nu, 'create', '--home', home, '--to', store, '--name', 's2', '--sign-key', key)
    nu.ok('stop', '--home', home)
    proc, nport = start_nginx(tmp_path, root)
    try:
        yield home, f'https://127.0.0.1:{nport}/mainnet/rpc', nport, load_json(key)['public_key']
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)


def restore(nu, src, dst, url, *extra, ok=True):
    return snap(nu, 'restore', '--from', url, '--home', dst, *extra, ok=ok,
                env={'SSL_CERT_FILE': os.path.join(TLS, 'loopback.crt')})


def test_unsigned_and_signed_restores_over_https(nu, tmp_path, public):
    home, url, _, pk = public
    a = twin_home(home, tmp_path / 'a')
    _, r = restore(nu, home, a, url, '--name', 's1')
    assert (r['name'], r['chain_id'], r['chunks_downloaded']) == ('s1', 'simnet', r['chunks'])
    assert r['files'] == len(manifest(tmp_path / 'public' / 'mainnet' / 'rpc', 's1')['files'])
    b = twin_home(home, tmp_path / 'b')
    _, r = restore(nu, home, b, url, '--verify-key', pk)  # latest is s2, signed
    assert (r['name'], r['height']) == ('s2', manifest(tmp_path / 'public/mainnet/rpc',
                                                       's2')['block_height'])
    assert r['checks'] == 'sha256 of every chunk; manifest signature', r['checks']
    # the restored tree is the snapshot's, file for file
    m = manifest(tmp_path / 'public' / 'mainnet' / 'rpc', 's2')
    got = tree_hashes(os.path.join(b, 'data'))
    assert sorted(got) == sorted(f['path'] for f in m['files'] if f.get('dir', 'hot') == 'hot')


def test_signature_rules_hold_over_https(nu, tmp_path, public):
    home, url, _, pk = public
    dst = twin_home(home, tmp_path / 'dst')
    r, _ = restore(nu, home, dst, url, '--name', 's1', '--verify-key', pk, ok=False)
    assert (r.returncode, r.stderr) == (1, 'nearup snapshot restore: snapshot s1 is not signed, '
                                        'and --verify-key requires a signature\n')
    other = load_json(os.path.join(dst, 'validator_key.json'))['public_key']
    assert other != pk
    r, _ = restore(nu, home, dst, url, '--name', 's2', '--verify-key', other, ok=False)
    assert (r.returncode, r.stderr) == (1, f'nearup snapshot restore: the snapshot is signed by '
                                        f'{pk}, not by {other}\n')
    assert not os.path.exists(os.path.join(dst, 'data')) or not os.listdir(
        os.path.join(dst, 'data'))


def test_an_untrusted_certificate_is_refused(nu, tmp_path, public):
    home, url, _, _ = public
    dst = twin_home(home, tmp_path / 'dst')
    r, _ = snap(nu, 'restore', '--from', url, '--home', dst, ok=False,
                env={'SSL_CERT_FILE': os.path.join(TLS, 'other.crt')})
    assert (r.returncode, r.stderr) == (1, f'nearup snapshot restore: GET {url}/latest: SSL peer '
                                        'certificate or SSH remote key was not OK\n')


def test_the_store_is_read_only_and_sends_the_documented_cache_headers(public):
    _, _, port, _ = public
    st, hd, body = https(port, 'GET', '/mainnet/rpc/latest')
    assert (st, body, hd['Cache-Control']) == (200, b's2\n', 'public, max-age=60')
    st, hd, body = https(port, 'GET', '/mainnet/rpc/manifests/s1.json')
    assert st == 200 and hd['Cache-Control'] == 'public, max-age=31536000, immutable'
    assert json.loads(body)['name'] == 's1'
    for method, path in (('PUT', '/mainnet/rpc/latest'), ('DELETE', '/mainnet/rpc/latest'),
                         ('POST', '/mainnet/rpc/manifests/s1.json')):
        st, _, _ = https(port, method, path, body=b'x' if method != 'DELETE' else None)
        assert st == 403, (method, path, st)
    # no listing, nothing outside the layout
    for path in ('/', '/mainnet/rpc/', '/mainnet/rpc/chunks/', '/etc/passwd', '/mainnet/x'):
        st, _, _ = https(port, 'GET', path)
        assert st == 404, (path, st)
    with open(os.path.join(str(public[0]), '..', 'public', 'mainnet', 'rpc', 'latest')) as fh:
        assert fh.read() == 's2\n'


def test_the_bucket_policy_grants_reads_of_the_layout_only():
    doc = load_json(POLICY)
    allow = [s for s in doc['Statement'] if s['Effect'] == 'Allow']
    assert len(allow) == 1 and allow[0]['Action'] == 's3:GetObject'
    assert allow[0]['Principal'] == '*'
    assert sorted(r.split('/*/', 1)[1] for r in allow[0]['Resource']) == [
        'chunks/*', 'latest', 'manifests/*']
    deny = [s for s in doc['Statement'] if s['Effect'] == 'Deny']
    assert deny[0]['Condition'] == {'Bool': {'aws:SecureTransport': 'false'}}
