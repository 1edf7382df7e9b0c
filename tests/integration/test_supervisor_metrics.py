"""nearup_node_* from nearup-supervisor: the file in node_exporter's
textfile directory (--metrics-textfile-dir) and GET /metrics on
--metrics-listen. Exact series and labels, `promtool check metrics`,
state changes after kill -9, a pending upgrade, head_advancing while
neard-sim is stalled through /sim/control, two homes, a clean stop."""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import NEARD_SIM, free_port, wait_until
pytest.register_assert_rewrite('nodeutil')
from nodeutil import alive, init_home, read_pidfile, run_json, status_json

pytest_plugins = ('nodeutil',)  # the nu fixture

STATES = ('starting', 'running', 'backoff', 'gave_up', 'upgrading', 'stopping')
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        m = SAMPLE.fullmatch(line)
        assert m, line
        labels = tuple(LABEL.findall(m.group(2)))
        assert ','.join(f'{k}="{v}"' for k, v in labels) == m.group(2), line
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def textfile(tfdir, home):
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    name = ('nearup_node_' + re.sub(r'[^A-Za-z0-9_]', '_', str(home).lstrip('/'))[:160] +
            f'_{digest}.prom')
    return tfdir / name


def read_metrics(path):
    try:
        return parse(path.read_text())
    except FileNotFoundError:
        return None


def expected(home, state, restarts=0, exit_code=None, exit_at=None, upgrade=0, version='2.4.0',
             sha256='', advancing=1, started=None, chain_id='simnet'):
    base = (('home', str(home)), ('chain_id', chain_id))
    want = {('nearup_node_state', base + (('state', s),)): float(s == state) for s in STATES}
    want[('nearup_node_restarts_total', base)] = restarts
    if exit_code is not None:
        want[('nearup_node_last_exit_code', base)] = exit_code
        want[('nearup_node_last_exit_timestamp_seconds', base)] = exit_at
    want[('nearup_node_pending_upgrade_height', base)] = upgrade
    want[('nearup_node_info', base + (('version', version), ('sha256', sha256)))] = 1
    want[('nearup_node_head_advancing', base)] = advancing
    want[('nearup_node_supervisor_start_time_seconds', base)] = started
    return want


def start_time(m):
    return next(v for (n, _), v in m.items() if n == 'nearup_node_supervisor_start_time_seconds')


def wait_metrics(path, pred, timeout=30.0, what='metrics'):
    def check():
        m = read_metrics(path)
        return m if m is not None and pred(m) else None
    return wait_until(check, timeout, interval=0.05, what=what)


def value(m, name, **labels):
    return next((v for (n, ls), v in m.items() if n == name and
                 all(dict(ls).get(k) == x for k, x in labels.items())), None)


def state_of(m):
    return [s for s in STATES if value(m, 'nearup_node_state', state=s) == 1]


def promtool_check(text):
    promtool = shutil.which('promtool')
    assert promtool, 'promtool (Debian prometheus) is needed'
    r = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True,
                       text=True, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, '', '')


def run_with_metrics(nu, tmp_path, name='node', *extra, binary=NEARD_SIM):
    home = tmp_path / name
    init_home(home)
    tf = tmp_path / 'textfile'
    tf.mkdir(exist_ok=True)
    r, port = nu.run_node(home, '--metrics-textfile-dir', tf, *extra, binary=binary)
    return home, textfile(tf, home), port


def test_textfile_series_crash_and_clean_stop(nu, tmp_path):
    home, path, port = run_with_metrics(nu, tmp_path)
    assert (run_json(home)['metrics_textfile_dir'], run_json(home)['metrics_listen']) == (
        str(tmp_path / 'textfile'), '')
    m = wait_metrics(path, lambda m: state_of(m) == ['running'] and
                     value(m, 'nearup_node_head_advancing') == 1)
    assert m == expected(home, 'running', started=start_time(m))
    assert abs(start_time(m) - os.stat(home / '.nearup' / 'supervisor.pid').st_mtime) < 2
    promtool_check(path.read_text())
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left

    # kill -9 neard: the supervisor waits 1 s (backoff), then restarts it.
    neard = read_pidfile(home, 'neard.pid')
    os.kill(neard[0], signal.SIGKILL)
    m = wait_metrics(path, lambda m: state_of(m) == ['backoff'], what='backoff')
    at = status_json(home)['last_exit']['at']
    assert m == expected(home, 'backoff', exit_code=137, exit_at=at, advancing=0,
                         started=start_time(m))
    m = wait_metrics(path, lambda m: state_of(m) == ['running'] and
                     value(m, 'nearup_node_head_advancing') == 1, what='running again')
    assert m == expected(home, 'running', restarts=1, exit_code=137, exit_at=at,
                         started=start_time(m))
    promtool_check(path.read_text())

    nu.ok('stop', '--home', home)
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_two_homes_write_two_files(nu, tmp_path):
    # Names that read the same once '-' becomes '_': the hash keeps them apart.
    a, path_a, _ = run_with_metrics(nu, tmp_path, 'node-a')
    b, path_b, _ = run_with_metrics(nu, tmp_path, 'node_a')
    assert path_a != path_b
    for home, path in ((a, path_a), (b, path_b)):
        m = wait_metrics(path, lambda m: state_of(m) == ['running'] and
                         value(m, 'nearup_node_head_advancing') == 1)
        assert m == expected(home, 'running', started=start_time(m))
    assert sorted(p.name for p in path_a.parent.iterdir()) == sorted([path_a.name, path_b.name])
    nu.ok('stop', '--home', a)
    assert sorted(p.name for p in path_a.parent.iterdir()) == [path_b.name]
    nu.ok('stop', '--home', b)
    assert list(path_a.parent.iterdir()) == []


def get(url, method='GET'):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get('Content-Type'), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get('Content-Type'), e.read().decode()


def raw(port, data):
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(data)
        reply = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return reply.decode()
            reply += chunk


def test_listen_serves_the_same_text_and_survives_bad_requests(nu, tmp_path):
    mport = free_port()
    home, path, _ = run_with_metrics(nu, tmp_path, 'node', '--metrics-listen', str(mport))
    assert run_json(home)['metrics_listen'] == str(mport)
    m = wait_metrics(path, lambda m: state_of(m) == ['running'] and
                     value(m, 'nearup_node_head_advancing') == 1)
    url = f'http://127.0.0.1:{mport}/metrics'
    status, ctype, text = get(url)
    assert (status, ctype) == (200, 'text/plain; version=0.0.4; charset=utf-8')
    assert parse(text) == m == expected(home, 'running', started=start_time(m))
    assert text == path.read_text()
    promtool_check(text)

    assert get(f'http://127.0.0.1:{mport}/') == (
        404, 'text/plain; charset=utf-8', 'not found: the supervisor serves /metrics only\n')
    assert get(url, 'POST') == (405, 'text/plain; charset=utf-8',
                                'method not allowed: use GET\n')
    assert raw(mport, b'NOT HTTP AT ALL\r\n\r\n').startswith('HTTP/1.1 400 ')
    big = b'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 9000 + b'\r\n\r\n'
    assert raw(mport, big).startswith('HTTP/1.1 431 ')
    sup = read_pidfile(home, 'supervisor.pid')
    assert alive(sup)
    assert get(url)[0] == 200

    nu.ok('stop', '--home', home)
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', mport), timeout=5).close()


@pytest.mark.parametrize('args,err', [
    (['--metrics-listen', '0'],
     'nearup run: metrics listen address 0: the port must be 1 to 65535'),
    (['--metrics-listen', 'example.com:9100'],
     'nearup run: metrics listen address example.com:9100: the host must be an IP address or '
     'localhost'),
    (['--metrics-textfile-dir', '/nonexistent/dir'],
     'nearup run: --metrics-textfile-dir /nonexistent/dir is not a directory'),
])
def test_bad_metrics_flags_are_usage_errors(nu, tmp_path, args, err):
    home = tmp_path / 'node'
    init_home(home)
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, *args)
    assert (r.returncode, r.stderr) == (2, err + "; see 'nearup run --help'\n")
    assert not (home / '.nearup' / 'supervisor.pid').exists()


def test_listen_port_in_use_fails_the_run(nu, tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        home = tmp_path / 'node'
        init_home(home)
        r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--rpc-addr',
               f'127.0.0.1:{free_port()}', '--network-addr', f'127.0.0.1:{free_port()}',
               '--metrics-listen', f'127.0.0.1:{port}')
    assert r.returncode == 1
    assert re.fullmatch(r'nearup run: --metrics-listen: .*127\.0\.0\.1:\d+.*in use.*\n',
                        r.stderr), r.stderr


def sim_control_binary(tmp_path):
    path = tmp_path / 'neard-ctl'
    path.write_text(f'#!/bin/sh\nexec {NEARD_SIM} --sim-control "$@"\n')
    path.chmod(0o755)
    return str(path)


def control(port, **body):
    req = urllib.request.Request(f'http://127.0.0.1:{port}/sim/control', method='POST',
                                 data=json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def test_head_advancing_follows_a_stall(nu, tmp_path):
    """Under a systemd watchdog of 1.5 s the window is 1.5 s: the head must
    move within it (neard-sim --fast makes a block every 120 to 500 ms)."""
    home = tmp_path / 'node'
    init_home(home)
    tf = tmp_path / 'textfile'
    tf.mkdir()
    path = textfile(tf, home)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / 'notify.sock'))
    port = free_port()
    with notify:
        p = nu.popen('run', 'simnet', '--home', home, '--binary-path', sim_control_binary(tmp_path),
                     '--foreground', '--rpc-addr', f'127.0.0.1:{port}', '--network-addr',
                     f'127.0.0.1:{free_port()}', '--metrics-textfile-dir', tf,
                     extra_env={'NOTIFY_SOCKET': str(tmp_path / 'notify.sock'),
                                'WATCHDOG_USEC': '1500000'})
        m = wait_metrics(path, lambda m: state_of(m) == ['running'] and
                         value(m, 'nearup_node_head_advancing') == 1)
        control(port, stall=True)
        m = wait_metrics(path, lambda m: value(m, 'nearup_node_head_advancing') == 0,
                         what='head_advancing 0')
        assert m == expected(home, 'running', advancing=0, started=start_time(m))
        control(port, stall=False)
        m = wait_metrics(path, lambda m: value(m, 'nearup_node_head_advancing') == 1,
                         what='head_advancing 1 again')
        assert m == expected(home, 'running', started=start_time(m))
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    assert p.returncode == 0
    assert not path.exists()


@pytest.fixture
def releases(bucket):
    return bucket.add_release('testnet', '2.4.0'), bucket.add_release('testnet', '2.5.0')


def test_pending_upgrade_height_then_the_new_release(nu, tmp_path, bucket, releases):
    old, new = releases
    home = tmp_path / 'node'
    init_home(home)
    tf = tmp_path / 'textfile'
    tf.mkdir()
    path, port = textfile(tf, home), free_port()
    nu.ok('run', 'simnet', '--home', home, '--neard-version', '2.4.0', '--release-url',
          bucket.url, '--rpc-addr', f'127.0.0.1:{port}', '--network-addr',
          f'127.0.0.1:{free_port()}', '--metrics-textfile-dir', tf)
    m = wait_metrics(path, lambda m: state_of(m) == ['running'] and
                     value(m, 'nearup_node_head_advancing') == 1)
    assert m == expected(home, 'running', sha256=old['sha256'], started=start_time(m))
    st = urllib.request.urlopen(f'http://127.0.0.1:{port}/status', timeout=10)
    target = json.load(st)['sync_info']['latest_block_height'] + 30
    nu.ok('upgrade', '--to', '2.5.0', '--at-height', target, '--home', home)
    m = wait_metrics(path, lambda m: value(m, 'nearup_node_pending_upgrade_height') == target,
                     what='pending upgrade height')
    assert m == expected(home, 'running', upgrade=target, sha256=old['sha256'],
                         started=start_time(m))
    promtool_check(path.read_text())

    # neard stops itself at the height (exit code 0), the supervisor starts 2.5.0.
    m = wait_metrics(path, lambda m: value(m, 'nearup_node_info', version='2.5.0') == 1 and
                     state_of(m) == ['running'] and
                     value(m, 'nearup_node_head_advancing') == 1, what='2.5.0 running')
    at = status_json(home)['last_exit']['at']
    assert m == expected(home, 'running', exit_code=0, exit_at=at, version='2.5.0',
                         sha256=new['sha256'], started=start_time(m))
