"""nearup debug bundle against real nodes (neard-sim under `nearup run`)
and a real gateway: the exact members, their JSON with exact fields, no
secret anywhere in the decompressed archive (known key files, a key a log
printed, a password in a URL, a token in the environment), --since cutting
old log lines exactly, --max-size keeping the newest lines and saying what
it cut, a stopped node, the usage errors, and an output that is written
whole or not at all (interrupted, failed). The node keeps running and its
home is only read."""
import hashlib
import http.server
import io
import json
import os
import re
import resource
import signal
import socket
import subprocess
import tarfile
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import NEARD_SIM, NEARUP, load_json, wait_until
from gateway_helpers import gateways  # noqa: F401 (fixture)
pytest.register_assert_rewrite('nodeutil')
from nodeutil import alive, read_pidfile  # noqa: E402

pytest_plugins = ('nodeutil',)  # the nu fixture

USER, PASSWORD = 'u5er-b0b', 'pa55-w0rd-never-shown'
TOKEN = 'tok-n3ver-sh0wn-9876'
DROPPED = '[nearup debug bundle: line removed, it named a key field]'
NODE_MEMBERS = ['config.json', 'genesis-digest.json', 'run.json', 'supervisor-status.json',
                'pids.json', 'restarts.json', 'binary.json', 'disk.json', 'files.json']
RUNNING_MEMBERS = ['neard-status.json', 'metrics.txt', 'process.json', 'limits.txt']


def fresh_keys(tmp_path):
    """Two real key files' contents (validator's, node's) that no home of
    the test has: made by neard-sim init in a scratch home."""
    scratch = tmp_path / 'keys'
    r = subprocess.run([NEARD_SIM, '--home', str(scratch), 'init', '--chain-id', 'scratch'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return load_json(scratch / 'validator_key.json'), load_json(scratch / 'node_key.json')


def stamp(t, supervisor=False):
    """A log line's time as neard (microseconds) or the supervisor (ms) writes it."""
    t = t.astimezone(timezone.utc)
    if supervisor:
        return 'ts=' + t.strftime('%Y-%m-%dT%H:%M:%S.') + f'{t.microsecond // 1000:03d}Z'
    return t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def write_zst(path, text):
    subprocess.run(['zstd', '-q', '-f', '-o', str(path)], input=text.encode(), check=True)


def unpack(path):
    """(member names in order, {name: bytes}, the whole decompressed tar)."""
    raw = subprocess.run(['zstd', '-dc', str(path)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        members = tf.getmembers()
        assert all(m.isfile() and m.mode == 0o644 for m in members)
        files = {m.name: tf.extractfile(m).read() for m in members}
    return [m.name for m in members], files, raw


def jmember(files, name):
    return json.loads(files['nearup-bundle/' + name])


def manifest(files):
    return jmember(files, 'MANIFEST.json')


def record(man, name):
    """The manifest's record of a member (or of something left out)."""
    full = 'nearup-bundle/' + name
    for key in ('members', 'omitted', 'failed'):
        for r in man[key]:
            if r['name'] == full:
                return key, r
    raise AssertionError(f'{name} is not in the manifest')


def bundle(nu, *args, cwd=None, **kw):
    return subprocess.run([NEARUP, 'debug', 'bundle', *[str(a) for a in args]],
                          capture_output=True, text=True, env=nu.env, timeout=120, cwd=cwd, **kw)


def host():
    return re.sub(r'[^A-Za-z0-9._-]', '_', socket.gethostname())


def tree(root):
    """Every entry under root: (mtime_ns, size, mode, inode), symlinks not followed."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino)
    st = os.lstat(root)
    out['.'] = (st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino)
    return out


def quiet(entries):
    """What a running node does not write itself: all but its data, its
    log and the supervisor's status.json (and the dirs they are in)."""
    busy = ('.nearup', '.nearup/logs', '.nearup/logs/neard.log', '.nearup/status.json', 'data')
    return {p: v for p, v in entries.items() if p not in busy and not p.startswith('data/')}


def add_extra_key(home, key):
    """A third key file with a known secret, beside the two neard made."""
    with open(os.path.join(home, 'backup_key.json'), 'w') as fh:
        json.dump(key, fh, indent=2)
    os.chmod(os.path.join(home, 'backup_key.json'), 0o600)


def key_secrets(home):
    out = []
    for name in ('validator_key.json', 'node_key.json', 'backup_key.json'):
        sk = load_json(os.path.join(home, name))['secret_key']
        out += [sk, sk.split(':', 1)[1]]
    return out


def logdir(home):
    return os.path.join(str(home), '.nearup', 'logs')


def set_logs(home, gens):
    """Replaces the log dir's files with gens: {generation: text}; 0 is
    the plain neard.log, the others neard.log.N.zst."""
    d = logdir(home)
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    for n, text in gens.items():
        if n == 0:
            with open(os.path.join(d, 'neard.log'), 'w') as fh:
                fh.write(text)
        else:
            write_zst(os.path.join(d, f'neard.log.{n}.zst'), text)


def run_node(nu, home, *extra):
    _, port = nu.run_node(home, *extra)
    return f'http://127.0.0.1:{port}'


def stopped_node(nu, tmp_path, name='h'):
    home = tmp_path / name
    run_node(nu, home)
    nu.ok('stop', '--home', home)
    return home


def rpc_head(url):
    body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'status', 'params': []}).encode()
    import urllib.request
    req = urllib.request.Request(url, data=body, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())['result']['sync_info']['latest_block_height']


# ---- a running node behind a gateway ----

def test_running_node_behind_a_gateway(nu, tmp_path, gateways):  # noqa: F811
    home = tmp_path / 'h'
    url = run_node(nu, home, '--env', f'NEAR_API_TOKEN={TOKEN}', '--env', 'RUST_LOG=info')
    backup, leaked = fresh_keys(tmp_path)
    add_extra_key(home, backup)
    config = load_json(home / 'config.json')
    # A password in a URL of config.json (the node has read its config already).
    config['telemetry']['endpoints'] = [f'https://{USER}:{PASSWORD}@telemetry.example/x']
    with open(home / 'config.json', 'w') as fh:
        json.dump(config, fh, indent=2)
    # A neard that logged what it should not have, in an old generation.
    now = datetime.now(timezone.utc)
    secret = leaked['secret_key']
    leak = (f'{stamp(now)}  INFO neard: key {{"account_id":"x","secret_key":"{secret}"}}\n'
            f'{stamp(now)}  WARN neard: signer {secret} is slow\n'
            f'{stamp(now)}  INFO neard: GET https://{USER}:{PASSWORD}@bucket.example/genesis\n')
    write_zst(os.path.join(logdir(home), 'neard.log.3.zst'), leak)
    gw = gateways(tmp_path, [('n0', {'url': url})]).start(wait_ok=['n0'])
    before = quiet(tree(home))
    head0 = rpc_head(url)
    neard = read_pidfile(home, 'neard.pid')
    sup = read_pidfile(home, 'supervisor.pid')

    out = tmp_path / 'out' / 'b.tar.zst'
    out.parent.mkdir()
    t0 = time.time()
    r = bundle(nu, '--home', home, '--gateway', f'http://127.0.0.1:{gw.port}', '-o', out)
    t1 = time.time()
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    assert re.fullmatch(rf'nearup debug bundle: wrote {re.escape(str(out))} \(\S+ \S+; 19 members, '
                        r'\S+ \S+ before compression\) in \d+\.\d\d s\n'
                        r'nearup debug bundle: 2 left out, 0 could not be collected; '
                        r'MANIFEST\.json says which and why\n', r.stdout), r.stdout
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert os.listdir(out.parent) == ['b.tar.zst']

    # The node went on: same processes, still producing blocks, files untouched.
    assert alive(neard) and alive(sup)
    assert read_pidfile(home, 'neard.pid') == neard
    wait_until(lambda: rpc_head(url) > head0 + 1, 20, what='head advancing')
    after = quiet(tree(home))
    assert after == before
    assert {'config.json', 'validator_key.json', '.nearup/run.json', '.nearup/neard.pid',
            '.nearup/supervisor.lock', '.nearup/logs/neard.log.3.zst'} <= set(after)

    names, files, raw = unpack(out)
    node = ['nearup-bundle/nodes/h/' + m for m in NODE_MEMBERS + RUNNING_MEMBERS]
    assert names == (['nearup-bundle/status.json', 'nearup-bundle/system.json'] + node +
                     ['nearup-bundle/gateway/upstreams.json', 'nearup-bundle/gateway/metrics.txt',
                      'nearup-bundle/nodes/h/logs/neard.log',
                      'nearup-bundle/nodes/h/logs/neard.log.3', 'nearup-bundle/MANIFEST.json'])

    # No secret anywhere, not even the name of the field that holds one.
    for s in key_secrets(home) + [secret, secret.split(':')[1], PASSWORD, USER, TOKEN]:
        assert s.encode() not in raw, s
    for field in (b'secret_key', b'private_key'):
        assert field not in raw

    man = manifest(files)
    assert list(man) == ['format', 'nearup_version', 'created_at', 'host', 'since_s',
                         'since_cutoff', 'max_size', 'gateway', 'homes', 'bytes', 'members',
                         'omitted', 'failed']
    assert (man['format'], man['nearup_version'], man['host']) == (1, '0.1.0', host())
    created = datetime.strptime(man['created_at'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(
        tzinfo=timezone.utc).timestamp()
    assert t0 - 1 <= created <= t1
    assert (man['since_s'], man['since_cutoff'], man['max_size']) == (None, None, 256 << 20)
    assert man['gateway'] == f'http://127.0.0.1:{gw.port}'
    assert man['homes'] == [{'name': 'h', 'home': str(home), 'state': 'up'}]
    assert [m['name'] for m in man['members']] == names[:-1]
    for m in man['members']:
        assert m['bytes'] == len(files[m['name']]), m
    assert man['bytes'] == sum(m['bytes'] for m in man['members'])
    assert man['failed'] == []
    assert man['omitted'] == [
        {'name': 'nearup-bundle/nodes/h/upgrade.json',
         'source': str(home / '.nearup' / 'upgrade.json'), 'why': 'absent'},
        {'name': 'nearup-bundle/nodes/h/restore.json',
         'source': str(home / '.nearup' / 'restore.json'), 'why': 'absent'}]

    # What nearup status --json says, from the same code.
    st = jmember(files, 'status.json')
    assert st['reference'] is None and len(st['nodes']) == 1
    n0 = st['nodes'][0]
    assert (n0['home'], n0['state'], n0['pid'], n0['rpc_url']) == (str(home), 'up', neard[0], url)
    assert n0['supervisor'] == {'pid': sup[0], 'state': 'running', 'restarts': 0}
    assert n0['neard_version'] == '2.4.0' and n0['neard_build'] == 'sim'

    # config.json: every field as the file has it but the password.
    want = json.loads(json.dumps(config).replace(f'{USER}:{PASSWORD}@', '***@'))
    assert jmember(files, 'nodes/h/config.json') == want
    assert record(man, 'nodes/h/config.json')[1]['redacted'] == 1
    rj = jmember(files, 'nodes/h/run.json')
    assert rj['env'] == ['NEAR_API_TOKEN=***', 'RUST_LOG=info']
    assert {k: v for k, v in rj.items() if k != 'env'} == \
        {k: v for k, v in load_json(home / '.nearup' / 'run.json').items() if k != 'env'}
    assert jmember(files, 'nodes/h/supervisor-status.json')['state'] == 'running'

    genesis = open(home / 'genesis.json', 'rb').read()
    assert jmember(files, 'nodes/h/genesis-digest.json') == {
        'file': 'genesis.json', 'bytes': len(genesis), 'sha256': hashlib.sha256(genesis).hexdigest()}
    assert jmember(files, 'nodes/h/pids.json') == {
        'supervisor.pid': {'text': f'{sup[0]} {sup[1]}', 'pid': sup[0], 'start_time': sup[1],
                           'alive': True},
        'neard.pid': {'text': f'{neard[0]} {neard[1]}', 'pid': neard[0], 'start_time': neard[1],
                      'alive': True}}
    assert jmember(files, 'nodes/h/restarts.json') == {
        'restarts': 0, 'state': 'running', 'reason': None, 'last_exit': None,
        'started_at': load_json(home / '.nearup' / 'status.json')['started_at'],
        'restart_policy': 'always'}
    sim = open(NEARD_SIM, 'rb').read()
    assert jmember(files, 'nodes/h/binary.json') == {
        'path': NEARD_SIM, 'bytes': len(sim), 'sha256': hashlib.sha256(sim).hexdigest(),
        'expected_sha256': None, 'sha256_matches': None, 'neard_version': None,
        'neard_commit': None, 'reported_version': '2.4.0', 'reported_build': 'sim',
        'network': 'simnet', 'error': None}
    disk = jmember(files, 'nodes/h/disk.json')['filesystems']
    vfs = os.statvfs(home)
    assert [(d['role'], d['dir']) for d in disk] == [('hot', str(home / 'data')),
                                                     ('home', str(home))]
    assert disk[0]['total_bytes'] == vfs.f_blocks * vfs.f_frsize
    assert disk[0]['inodes'] == vfs.f_files

    # Key files by name and mode only; the others with size and time.
    entries = {e['path']: e for e in jmember(files, 'nodes/h/files.json')['entries']}
    for k in ('validator_key.json', 'node_key.json', 'backup_key.json'):
        assert entries[k] == {'path': k, 'type': 'file', 'mode': '0600', 'key_file': True}
    cst = os.stat(home / 'config.json')
    assert entries['config.json'] == {'path': 'config.json', 'type': 'file', 'mode': '0644',
                                      'bytes': cst.st_size, 'mtime': int(cst.st_mtime)}
    assert entries['.nearup/logs/neard.log.3.zst']['type'] == 'file'

    ns = jmember(files, 'nodes/h/neard-status.json')
    assert (ns['chain_id'], ns['version']['build']) == ('simnet', 'sim')
    assert head0 <= ns['sync_info']['latest_block_height']
    metrics = files['nearup-bundle/nodes/h/metrics.txt'].decode()
    assert re.search(r'^near_block_height_head \d+$', metrics, re.M)
    proc = jmember(files, 'nodes/h/process.json')
    limits = open(f'/proc/{neard[0]}/limits').read()
    assert files['nearup-bundle/nodes/h/limits.txt'].decode() == limits
    soft, hard = re.search(r'^Max open files\s+(\S+)\s+(\S+)', limits, re.M).groups()
    assert list(proc) == ['pid', 'name', 'state', 'vm_rss_kib', 'vm_hwm_kib', 'vm_size_kib',
                          'threads', 'open_fds', 'max_open_files']
    assert (proc['pid'], proc['name']) == (neard[0], 'neard-sim')
    assert proc['max_open_files'] == {'soft': soft, 'hard': hard}
    assert 0 < proc['vm_rss_kib'] <= proc['vm_hwm_kib'] <= proc['vm_size_kib']
    assert proc['threads'] >= 1 and proc['open_fds'] >= 3

    ups = jmember(files, 'gateway/upstreams.json')
    assert [(u['name'], u['state']) for u in ups['upstreams']] == [('n0', 'ok')]
    assert 'nearup_gateway_' in files['nearup-bundle/gateway/metrics.txt'].decode()

    # The logs: neard.log as it was when read, the old generation scrubbed.
    log = files['nearup-bundle/nodes/h/logs/neard.log'].decode()
    assert 'msg="started neard"' in log and log.endswith('\n')
    assert open(home / '.nearup' / 'logs' / 'neard.log').read().startswith(log)
    old = files['nearup-bundle/nodes/h/logs/neard.log.3'].decode().splitlines()
    assert old == [DROPPED, f'{stamp(now)}  WARN neard: signer ed25519:*** is slow',
                   f'{stamp(now)}  INFO neard: GET https://***@bucket.example/genesis']
    _, rec = record(man, 'nodes/h/logs/neard.log.3')
    assert rec == {'name': 'nearup-bundle/nodes/h/logs/neard.log.3',
                   'source': os.path.join(logdir(home), 'neard.log.3.zst'),
                   'bytes': len(files['nearup-bundle/nodes/h/logs/neard.log.3']), 'redacted': 3,
                   'lines': 3, 'decompressed': True}
    gw.stop()


# ---- a stopped node ----

def test_stopped_node_bundles_and_its_home_is_only_read(nu, tmp_path):
    home = stopped_node(nu, tmp_path)
    before = tree(home)
    out = tmp_path / 'b.tar.zst'
    r = bundle(nu, '--home', home, '-o', out)
    assert r.returncode == 0, r.stderr
    assert tree(home) == before  # every file and dir, data/ included: nothing written
    names, files, raw = unpack(out)
    assert names == (['nearup-bundle/status.json', 'nearup-bundle/system.json'] +
                     ['nearup-bundle/nodes/h/' + m for m in NODE_MEMBERS] +
                     ['nearup-bundle/nodes/h/logs/neard.log', 'nearup-bundle/MANIFEST.json'])
    for s in key_secrets_of(home):
        assert s.encode() not in raw
    assert b'secret_key' not in raw
    man = manifest(files)
    assert man['homes'] == [{'name': 'h', 'home': str(home), 'state': 'down'}]
    st = jmember(files, 'status.json')['nodes'][0]
    assert (st['state'], st['pid'], st['error']) == \
        ('down', None, 'neard is not running; supervisor state stopped')
    assert st['supervisor'] == {'pid': None, 'state': 'stopped', 'restarts': 0}
    rs = jmember(files, 'nodes/h/restarts.json')
    assert (rs['state'], rs['restarts'], rs['last_exit']['code'], rs['last_exit']['signal']) == \
        ('stopped', 0, 0, None)
    assert jmember(files, 'nodes/h/pids.json') == {'supervisor.pid': None, 'neard.pid': None}
    why = 'not asked: node down (neard is not running; supervisor state stopped)'
    port = load_json(home / '.nearup' / 'run.json')['args'][1].rsplit(':', 1)[1]
    assert man['omitted'] == [
        {'name': 'nearup-bundle/nodes/h/upgrade.json',
         'source': str(home / '.nearup' / 'upgrade.json'), 'why': 'absent'},
        {'name': 'nearup-bundle/nodes/h/restore.json',
         'source': str(home / '.nearup' / 'restore.json'), 'why': 'absent'},
        {'name': 'nearup-bundle/nodes/h/neard-status.json',
         'source': f'http://127.0.0.1:{port}/status', 'why': why},
        {'name': 'nearup-bundle/nodes/h/metrics.txt',
         'source': f'http://127.0.0.1:{port}/metrics', 'why': why},
        {'name': 'nearup-bundle/nodes/h/process.json', 'source': None,
         'why': 'neard is not running'},
        {'name': 'nearup-bundle/nodes/h/limits.txt', 'source': None,
         'why': 'neard is not running'}]
    log = open(os.path.join(logdir(home), 'neard.log'), 'rb').read()
    assert files['nearup-bundle/nodes/h/logs/neard.log'] == log
    assert 'msg="supervisor exiting" state=stopped' in log.decode()


def key_secrets_of(home):
    out = []
    for name in ('validator_key.json', 'node_key.json'):
        sk = load_json(os.path.join(home, name))['secret_key']
        out += [sk, sk.split(':', 1)[1]]
    return out


def test_a_key_file_is_never_opened_even_through_a_symlink(nu, tmp_path):
    """config.json a symlink to the validator key: refused by its real
    name, not read and scrubbed."""
    home = stopped_node(nu, tmp_path)
    os.rename(home / 'config.json', home / 'config.real')
    os.symlink('validator_key.json', home / 'config.json')
    out = tmp_path / 'b.tar.zst'
    r = bundle(nu, '--home', home, '-o', out)
    assert r.returncode == 0, r.stderr
    names, files, raw = unpack(out)
    assert 'nearup-bundle/nodes/h/config.json' not in names
    man = manifest(files)
    assert record(man, 'nodes/h/config.json') == ('omitted', {
        'name': 'nearup-bundle/nodes/h/config.json', 'source': str(home / 'config.json'),
        'why': 'a key file: never read'})
    entries = {e['path']: e for e in jmember(files, 'nodes/h/files.json')['entries']}
    assert entries['config.json'] == {'path': 'config.json', 'type': 'symlink', 'mode': '0777',
                                      'bytes': len('validator_key.json'),
                                      'mtime': int(os.lstat(home / 'config.json').st_mtime),
                                      'target': 'validator_key.json'}
    for s in key_secrets_of(home):
        assert s.encode() not in raw


# ---- logs: --since and --max-size ----

def test_since_keeps_exactly_the_lines_of_the_window(nu, tmp_path):
    home = stopped_node(nu, tmp_path)
    now = datetime.now(timezone.utc)

    def at(minutes, text, sup=False):
        return f'{stamp(now - timedelta(minutes=minutes), sup)} {text}\n'
    gen0 = at(15, ' INFO neard: a') + at(31, ' INFO neard: clock went back') + at(5, ' INFO x: b')
    gen1_old = at(120, ' INFO neard: c') + at(45, ' WARN neard: d') + '  at frame 1\n'
    gen1_new = (at(25, 'level=warn component=nearup msg="restarting neard"', sup=True) +
                '  at frame 2\n' + at(20, ' INFO neard: e'))
    gen2 = at(300, ' INFO neard: f') + at(240, ' INFO neard: g')
    set_logs(home, {0: gen0, 1: gen1_old + gen1_new, 2: gen2, 3: at(400, ' INFO neard: h')})
    out = tmp_path / 'b.tar.zst'
    t0 = time.time()
    r = bundle(nu, '--home', home, '--since', '30m', '-o', out)
    t1 = time.time()
    assert r.returncode == 0, r.stderr
    names, files, _ = unpack(out)
    man = manifest(files)
    assert man['since_s'] == 1800
    cutoff = datetime.strptime(man['since_cutoff'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(
        tzinfo=timezone.utc).timestamp()
    assert t0 - 1800 - 1 <= cutoff <= t1 - 1800
    logs = [n for n in names if '/logs/' in n]
    assert logs == ['nearup-bundle/nodes/h/logs/neard.log', 'nearup-bundle/nodes/h/logs/neard.log.1']
    assert files[logs[0]].decode() == gen0  # from its first line on, out of order ones too
    assert files[logs[1]].decode() == gen1_new
    d = os.path.join(logdir(home), '')
    assert record(man, 'nodes/h/logs/neard.log')[1] == {
        'name': logs[0], 'source': d + 'neard.log', 'bytes': len(gen0), 'redacted': 0,
        'lines': 3, 'decompressed': False, 'since_dropped_lines': 0}
    assert record(man, 'nodes/h/logs/neard.log.1')[1] == {
        'name': logs[1], 'source': d + 'neard.log.1.zst', 'bytes': len(gen1_new), 'redacted': 0,
        'lines': 3, 'decompressed': True, 'since_dropped_lines': 3}
    # The first generation wholly before the window ends the search.
    assert [o for o in man['omitted'] if '/logs/' in o['name']] == [
        {'name': 'nearup-bundle/nodes/h/logs/neard.log.2', 'source': d + 'neard.log.2.zst',
         'why': 'older than --since'},
        {'name': 'nearup-bundle/nodes/h/logs/neard.log.3', 'source': d + 'neard.log.3.zst',
         'why': 'older than --since'}]

    # Without --since: every line of every generation.
    r = bundle(nu, '--home', home, '-o', out)
    assert r.returncode == 0, r.stderr
    names, files, _ = unpack(out)
    assert [files[n].decode() for n in names if '/logs/' in n] == \
        [gen0, gen1_old + gen1_new, gen2, at(400, ' INFO neard: h')]


def test_max_size_keeps_the_newest_lines_and_says_what_it_cut(nu, tmp_path):
    home = stopped_node(nu, tmp_path)
    now = datetime.now(timezone.utc)
    line = '{}  INFO stats: #{:06d} 12 peers 1.2 bps ' + 'x' * 40 + '\n'
    gen1 = [line.format(stamp(now - timedelta(seconds=9000 - i)), i) for i in range(3000)]
    gen0 = [line.format(stamp(now - timedelta(seconds=3000 - i)), i) for i in range(1500)]
    set_logs(home, {0: ''.join(gen0), 1: ''.join(gen1), 2: line.format(stamp(now), 0)})
    out = tmp_path / 'b.tar.zst'
    r = bundle(nu, '--home', home, '--max-size', '256K', '-o', out)
    assert r.returncode == 0, r.stderr
    names, files, _ = unpack(out)
    man = manifest(files)
    assert man['max_size'] == 256 << 10
    assert man['bytes'] == sum(len(files[n]) for n in names[:-1]) <= 256 << 10
    # neard.log fits whole; neard.log.1 keeps its newest lines, as many as fit.
    assert files['nearup-bundle/nodes/h/logs/neard.log'].decode() == ''.join(gen0)
    _, rec = record(man, 'nodes/h/logs/neard.log.1')
    kept = rec['lines']
    assert 0 < kept < 3000
    assert files['nearup-bundle/nodes/h/logs/neard.log.1'].decode() == ''.join(gen1[-kept:])
    assert (rec['size_dropped_lines'], rec['size_dropped_bytes']) == \
        (3000 - kept, len(''.join(gen1[:-kept])))
    assert man['bytes'] + len(gen1[-kept - 1]) > 256 << 10  # one more line would not fit
    assert record(man, 'nodes/h/logs/neard.log.2') == ('omitted', {
        'name': 'nearup-bundle/nodes/h/logs/neard.log.2',
        'source': os.path.join(logdir(home), 'neard.log.2.zst'), 'why': '--max-size reached'})
    assert 'nearup-bundle/nodes/h/logs/neard.log.2' not in names


def test_two_homes_of_the_same_name_and_all(nu, tmp_path):
    a = stopped_node(nu, tmp_path / 'a', 'node')
    b = stopped_node(nu, tmp_path / 'b', 'node')
    out = tmp_path / 'b.tar.zst'
    r = bundle(nu, '--all', '-o', out)
    assert r.returncode == 0, r.stderr
    names, files, _ = unpack(out)
    man = manifest(files)
    assert man['homes'] == [{'name': 'node', 'home': str(a), 'state': 'down'},
                            {'name': 'node-2', 'home': str(b), 'state': 'down'}]
    for n in ('node', 'node-2'):
        assert f'nearup-bundle/nodes/{n}/config.json' in names
        assert f'nearup-bundle/nodes/{n}/logs/neard.log' in names
    assert [n['home'] for n in jmember(files, 'status.json')['nodes']] == [str(a), str(b)]
    # No --home is --all.
    r = bundle(nu, '-o', out)
    assert r.returncode == 0, r.stderr
    assert manifest(unpack(out)[1])['homes'] == man['homes']


# ---- the command line and the output ----

def test_usage_and_bad_home(nu, tmp_path):
    cwd = tmp_path / 'cwd'
    cwd.mkdir()
    r = bundle(nu, '--home', tmp_path / 'nope', cwd=cwd)
    assert r.returncode == 1
    assert r.stderr.startswith(f'nearup debug bundle: no node in {tmp_path}/nope: ')
    assert r.stderr.endswith('; pass a node home or a localnet root\n')
    assert r.stderr.count('\n') == 1 and r.stdout == ''
    r = bundle(nu, cwd=cwd)
    assert (r.returncode, r.stderr) == (1, 'nearup debug bundle: no nodes registered; pass '
                                           '--home DIR\n')
    for args, msg in [(['--home'], '--home needs a value'),
                      (['--home', 'x', '--all'], '--home and --all exclude each other'),
                      (['--since', '2x'], '--since: "2x" is not a number of seconds (30, 30s, 5m, 1h)'),
                      (['--max-size', '1K'], '--max-size: 1K is out of range [65536, '
                                             '68719476736] bytes'),
                      (['--gateway', 'ftp://h'], "--gateway: 'ftp://h' is not an http:// or "
                                                 "https:// URL"),
                      (['--bogus'], "unknown option '--bogus'")]:
        r = bundle(nu, *args, cwd=cwd)
        assert (r.returncode, r.stdout) == (2, ''), args
        assert r.stderr == f"nearup debug bundle: {msg}; see 'nearup debug bundle --help'\n"
    r = subprocess.run([NEARUP, 'debug'], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith('usage: nearup debug bundle ')
    assert os.listdir(cwd) == []


def test_default_name_and_output_dir(nu, tmp_path):
    home = stopped_node(nu, tmp_path)
    cwd = tmp_path / 'cwd'
    cwd.mkdir()
    r = bundle(nu, '--home', home, cwd=cwd)
    assert r.returncode == 0, r.stderr
    [name] = os.listdir(cwd)
    m = re.fullmatch(rf'nearup-bundle-{re.escape(host())}-(\d{{8}}T\d{{6}}Z)\.tar\.zst', name)
    assert m, name
    t = datetime.strptime(m.group(1), '%Y%m%dT%H%M%SZ').replace(tzinfo=timezone.utc)
    assert abs(t.timestamp() - time.time()) < 60
    assert r.stdout.startswith(f'nearup debug bundle: wrote {name} (')
    assert os.stat(cwd / name).st_mode & 0o777 == 0o600
    outdir = tmp_path / 'into'
    outdir.mkdir()
    r = bundle(nu, '--home', home, '-o', outdir)
    assert r.returncode == 0, r.stderr
    [name] = os.listdir(outdir)
    assert name.startswith(f'nearup-bundle-{host()}-') and name.endswith('.tar.zst')
    assert unpack(outdir / name)[0][-1] == 'nearup-bundle/MANIFEST.json'


class Silent(http.server.BaseHTTPRequestHandler):
    """A gateway that takes the request and never answers."""
    seen = threading.Event()

    def do_GET(self):
        Silent.seen.set()
        time.sleep(30)

    def log_message(self, *a):
        pass


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupted_leaves_no_file(nu, tmp_path, sig):
    home = stopped_node(nu, tmp_path)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Silent)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Silent.seen.clear()
    outdir = tmp_path / 'out'
    outdir.mkdir()
    old = outdir / 'b.tar.zst'
    old.write_bytes(b'the bundle of yesterday')
    try:
        p = subprocess.Popen([NEARUP, 'debug', 'bundle', '--home', str(home), '--gateway',
                              f'http://127.0.0.1:{srv.server_address[1]}', '-o', str(old)],
                             env=nu.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        assert Silent.seen.wait(30)
        assert any(n.startswith('b.tar.zst.tmp.') for n in os.listdir(outdir))
        p.send_signal(sig)
        out, err = p.communicate(timeout=10)
    finally:
        srv.shutdown()
        srv.server_close()
    assert p.returncode == 1, err
    assert err == 'nearup debug bundle: interrupted; no bundle was written\n'
    assert out == ''
    assert os.listdir(outdir) == ['b.tar.zst']
    assert old.read_bytes() == b'the bundle of yesterday'


def test_a_failed_write_leaves_no_file(nu, tmp_path):
    home = stopped_node(nu, tmp_path)
    outdir = tmp_path / 'out'
    outdir.mkdir()

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    r = bundle(nu, '--home', home, '-o', outdir / 'b.tar.zst', preexec_fn=small_files)
    assert r.returncode == 1
    assert r.stderr == (f'nearup debug bundle: write {outdir}/b.tar.zst: Write error (File too '
                        'large); no bundle was written\n')
    assert os.listdir(outdir) == []
    r = bundle(nu, '--home', home, '-o', tmp_path / 'missing' / 'b.tar.zst')
    assert r.returncode == 1
    assert r.stderr == (f'nearup debug bundle: create temp file for {tmp_path}/missing/b.tar.zst: '
                        'No such file or directory; no bundle was written\n')

