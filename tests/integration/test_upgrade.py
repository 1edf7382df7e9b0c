"""nearup upgrade: the new release is fetched and verified first; with
--at-height neard stops itself there (expected_shutdown + SIGHUP) and the
supervisor starts the new binary; without it the supervisor switches at
once; --jitter staggers several nodes. Two releases come from the local
bucket as wrapper scripts around neard-sim (NEARD_SIM_RELEASE)."""
import hashlib
import json
import os
import re
import signal

import pytest

from conftest import NEARD_SIM, wait_until
from lifecycle import Nearup, alive, head, node_url, read_pid, rpc, wait_synced


def load(path):
    with open(path) as fh:
        return json.load(fh)


def version(url):
    try:
        return rpc(url, 'status')['version']['version']
    except (OSError, AssertionError):
        return None


@pytest.fixture
def nu(tmp_path):
    n = Nearup(tmp_path)
    yield n
    n.cleanup()


@pytest.fixture
def releases(bucket):
    return bucket.add_release('testnet', '2.4.0'), bucket.add_release('testnet', '2.5.0')


def localnet(nu, bucket, root, nodes=1):
    nu.ok('localnet', '--home', root, '--nodes', nodes, '--neard-version', '2.4.0',
          '--release-url', bucket.url, '--fast')
    homes = [root / f'node{i}' for i in range(nodes)]
    urls = [node_url(h) for h in homes]
    wait_synced(urls, peers=nodes - 1)
    assert [version(u) for u in urls] == ['2.4.0'] * nodes
    return homes, urls


def blob(nu, sha):
    return os.path.join(nu.env['XDG_CACHE_HOME'], 'nearup', 'blobs', sha)


def assert_upgraded(nu, home, rel):
    run = load(home / '.nearup' / 'run.json')
    assert (run['binary'], run['neard_version'], run['neard_sha256']) == (
        blob(nu, rel['sha256']), '2.5.0', rel['sha256'])
    assert not (home / '.nearup' / 'upgrade.json').exists()
    assert 'expected_shutdown' not in load(home / 'config.json')


def test_upgrade_at_height(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    sup = read_pid(home / '.nearup' / 'supervisor.pid')
    neard = read_pid(home / '.nearup' / 'neard.pid')
    order = list(load(home / 'config.json'))
    target = head(url) + 25
    r = nu.ok('upgrade', '--to', '2.5.0', '--at-height', target, '--home', root)
    m = re.fullmatch(rf'{home}: neard 2\.4\.0 -> 2\.5\.0 at height {target} \(head now (\d+)\): '
                     r'neard stops itself there, then the supervisor starts 2\.5\.0\n'
                     rf'watch it with: nearup status --home {root}\n', r.stdout)
    assert m and int(m.group(1)) < target, r.stdout

    # Pending: verified binary in the cache, upgrade.json, expected_shutdown.
    assert load(home / '.nearup' / 'upgrade.json') == {
        'version': '2.5.0', 'commit': '', 'sha256': new['sha256'],
        'binary': blob(nu, new['sha256']), 'at_height': target, 'jitter_s': 0}
    cfg = load(home / 'config.json')
    assert cfg['expected_shutdown'] == target
    assert list(cfg) == order + ['expected_shutdown']

    wait_until(lambda: version(url) == '2.5.0', 30, interval=0.2, what='2.5.0 running')
    wait_until(lambda: head(url) > target, 15, what='head past the upgrade height')
    log = (home / '.nearup' / 'logs' / 'neard.log').read_text()
    assert 'INFO config: Updated ClientConfig' in log
    stops = re.findall(r'Expected shutdown triggered: head block\((\d+)\) >= \((\d+)\)', log)
    assert len(stops) == 1 and int(stops[0][0]) >= target and int(stops[0][1]) == target
    assert f'msg="neard exited" pid={neard[0]} how="exit code 0"' in log
    assert 'msg="upgraded neard" from=2.4.0 to=2.5.0' in log
    assert_upgraded(nu, home, new)
    assert list(load(home / 'config.json')) == order
    assert read_pid(home / '.nearup' / 'supervisor.pid') == sup and alive(sup)
    assert read_pid(home / '.nearup' / 'neard.pid') != neard and not alive(neard)
    node = nu.status('--home', root)['nodes'][0]
    assert (node['neard_version'], node['state'], node['health']) == ('2.5.0', 'up', 200)


def test_height_not_above_head_is_refused(tmp_path, nu, bucket, releases):
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    cfg = (home / 'config.json').read_bytes()
    # `nearup run` returns once neard answers, possibly before its first block.
    wait_until(lambda: head(url) >= 1, 15, what='a first block')
    below = head(url) - 1
    r = nu('upgrade', '--to', '2.5.0', '--at-height', below, '--home', home)
    assert r.returncode == 1
    m = re.fullmatch(rf'nearup upgrade: --at-height {below} is not above the head of {home} '
                     r'\((\d+)\); pick a later height\n', r.stderr)
    assert m and int(m.group(1)) > below, r.stderr
    assert not (home / '.nearup' / 'upgrade.json').exists()
    assert (home / 'config.json').read_bytes() == cfg
    assert version(url) == '2.4.0'


def test_immediate_upgrade(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    r = nu.ok('upgrade', '--to', '2.5.0', '--home', home)
    assert r.stdout.splitlines()[0] == (f'{home}: neard 2.4.0 -> 2.5.0 now: the supervisor '
                                        'stops neard and starts 2.5.0')
    wait_until(lambda: version(url) == '2.5.0', 30, interval=0.2, what='2.5.0 running')
    assert_upgraded(nu, home, new)
    log = (home / '.nearup' / 'logs' / 'neard.log').read_text()
    assert 'WARN neard: SIGTERM, stopping...' in log

    # Again: already there, nothing to do.
    r = nu.ok('upgrade', '--to', '2.5.0', '--home', home)
    assert r.stdout.splitlines()[0] == (f'{home}: already runs neard 2.5.0 '
                                        f'({blob(nu, new["sha256"])}); nothing to do')


def test_jitter_on_two_nodes(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    homes, urls = localnet(nu, bucket, root, nodes=2)
    r = nu.ok('upgrade', '--to', '2.5.0', '--jitter', '2', '--home', root)
    assert r.stdout.splitlines()[:2] == [
        f'{h}: neard 2.4.0 -> 2.5.0 now: the supervisor stops neard and starts 2.5.0 after a '
        'random delay of up to 2 s' for h in homes]
    wait_until(lambda: [version(u) for u in urls] == ['2.5.0'] * 2, 40, interval=0.2,
               what='both nodes on 2.5.0')
    for home in homes:
        assert_upgraded(nu, home, new)
        log = (home / '.nearup' / 'logs' / 'neard.log').read_text()
        delays = re.findall(r'msg="applying upgrade" to=2\.5\.0 delay_s=([\d.]+)', log)
        assert len(delays) == 1 and 0 <= float(delays[0]) <= 2.0
    wait_synced(urls, peers=1)


def test_stopped_node_switches_run_json(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    nu.ok('stop', '--home', root)
    r = nu('upgrade', '--to', '2.5.0', '--at-height', '100000', '--home', root)
    assert r.returncode == 1
    assert r.stderr == (f'nearup upgrade: {home} is not running, so it cannot stop at a height; '
                        'upgrade it without --at-height (its next start uses the new binary)\n')
    r = nu.ok('upgrade', '--to', '2.5.0', '--home', root)
    assert r.stdout.splitlines()[0] == (f'{home}: stopped; run.json now runs neard 2.5.0 '
                                        '(was 2.4.0), used at its next start')
    assert_upgraded(nu, home, new)
    nu.ok('localnet', '--home', root)
    wait_until(lambda: version(url) == '2.5.0', 20, what='2.5.0 running')


def test_binary_path_must_report_the_version(tmp_path, nu, bucket, releases):
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    wrapper = tmp_path / 'neard-2.6.0'
    wrapper.write_text(f'#!/bin/sh\nNEARD_SIM_RELEASE=2.6.0 exec {NEARD_SIM} "$@"\n')
    wrapper.chmod(0o755)
    r = nu('upgrade', '--to', '2.5.0', '--binary-path', wrapper, '--home', home)
    assert r.returncode == 1
    assert r.stderr == (f'nearup upgrade: {wrapper} reports release 2.6.0, not 2.5.0; check '
                        '--to and --binary-path\n')
    assert not (home / '.nearup' / 'upgrade.json').exists()
    nu.ok('upgrade', '--to', '2.6.0', '--binary-path', wrapper, '--home', home)
    wait_until(lambda: version(url) == '2.6.0', 30, interval=0.2, what='2.6.0 running')
    run = load(home / '.nearup' / 'run.json')
    assert (run['binary'], run['neard_version']) == (str(wrapper), '2.6.0')


def test_failed_fetch_changes_nothing(tmp_path, nu, bucket, releases):
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    run = (home / '.nearup' / 'run.json').read_bytes()
    r = nu('upgrade', '--to', '9.9.9', '--home', home)
    assert r.returncode == 1
    assert r.stderr.startswith('nearup upgrade: ') and '9.9.9' in r.stderr
    assert bucket.url in r.stderr
    r = nu('upgrade', '--to', '2.5.0', '--neard-sha256', 'ab' * 32, '--home', home)
    assert r.returncode == 1
    assert 'checksum mismatch' in r.stderr and 'ab' * 32 in r.stderr
    assert not (home / '.nearup' / 'upgrade.json').exists()
    assert (home / '.nearup' / 'run.json').read_bytes() == run
    assert 'expected_shutdown' not in load(home / 'config.json')
    assert version(url) == '2.4.0'


# ---- a binary changed after it was verified is never executed ----

def tamper(path):
    """Rewrites the fake neard at path in place, same size and mtime
    restored, so that running it would leave TAMPERED in its working dir
    (the home). Returns its new sha256."""
    with open(path, 'rb') as fh:
        lines = fh.read().split(b'\n')
    cmd = b'touch TAMPERED #'
    lines[1] = cmd + b'x' * (len(lines[1]) - len(cmd))
    data = b'\n'.join(lines)
    before = os.stat(path)
    with open(path, 'r+b') as fh:
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    return hashlib.sha256(data).hexdigest()


def status_json(home):
    try:
        return load(home / '.nearup' / 'status.json')
    except (OSError, ValueError):
        return {}


def gave_up(home):
    return status_json(home).get('state') == 'gave_up'


def refused(path, want, got):
    return (f'neard binary {path} does not match its sha256: expected {want}, got {got}; '
            'it was not executed')


def test_tampered_binary_is_not_executed_at_the_upgrade_height(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    sup = read_pid(home / '.nearup' / 'supervisor.pid')
    run = (home / '.nearup' / 'run.json').read_bytes()
    target = head(url) + 15
    nu.ok('upgrade', '--to', '2.5.0', '--at-height', target, '--home', root)
    path = blob(nu, new['sha256'])
    got = tamper(path)

    wait_until(lambda: gave_up(home), 30, interval=0.2, what='the supervisor to give up')
    assert not (home / 'TAMPERED').exists()
    st = status_json(home)
    assert st['reason'] == (
        f'upgrade failed: {refused(path, new["sha256"], got)}; neard stopped at its upgrade '
        'height and upgrade.json is kept: fetch the binary again (nearup bin fetch 2.5.0) and '
        'start the node')
    assert (st['neard_pid'], st['neard_version']) == (None, '2.4.0')
    wait_until(lambda: not alive(sup), 10, what='the supervisor to exit')
    log = (home / '.nearup' / 'logs' / 'neard.log').read_text()
    assert f'msg="checking the sha256 of neard binary" binary={path}\n' in log
    assert 'msg="upgrade failed"' in log and 'msg="upgraded neard"' not in log
    assert (home / '.nearup' / 'run.json').read_bytes() == run
    assert load(home / '.nearup' / 'upgrade.json')['sha256'] == new['sha256']
    assert load(home / 'config.json')['expected_shutdown'] == target

    # Recovery as the reason says: the cache sees the change and fetches the
    # binary again; the old neard stops at the height; the upgrade goes on.
    r = nu.ok('bin', 'fetch', '2.5.0', '--release-url', bucket.url, '--json')
    assert json.loads(r.stdout)['downloaded'] is True
    nu.ok('localnet', '--home', root)
    wait_until(lambda: version(url) == '2.5.0', 30, interval=0.2, what='2.5.0 running')
    assert_upgraded(nu, home, new)
    assert not (home / 'TAMPERED').exists()


def test_tampered_immediate_upgrade_keeps_the_running_release(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    run = (home / '.nearup' / 'run.json').read_bytes()
    sup = read_pid(home / '.nearup' / 'supervisor.pid')
    # The supervisor is held still while `nearup upgrade` fetches and checks
    # the binary and sends its SIGHUP; the binary is changed before it runs.
    os.kill(sup[0], signal.SIGSTOP)
    try:
        nu.ok('upgrade', '--to', '2.5.0', '--home', home)
        path = blob(nu, new['sha256'])
        got = tamper(path)
    finally:
        os.kill(sup[0], signal.SIGCONT)

    def refused_now():
        return 'upgrade to 2.5.0 refused' in (status_json(home).get('reason') or '')
    wait_until(refused_now, 30, interval=0.2, what='the upgrade refused')
    # neard answering comes first; the supervisor says running once its own
    # probe has had the answer.
    wait_until(lambda: version(url) == '2.4.0' and status_json(home).get('state') == 'running',
               30, interval=0.2, what='2.4.0 running again')
    st = status_json(home)
    assert st['reason'] == f'upgrade to 2.5.0 refused: {refused(path, new["sha256"], got)}'
    assert st['state'] == 'running' and st['neard_version'] == '2.4.0'
    assert not (home / 'TAMPERED').exists()
    assert not (home / '.nearup' / 'upgrade.json').exists()
    assert (home / '.nearup' / 'run.json').read_bytes() == run
    log = (home / '.nearup' / 'logs' / 'neard.log').read_text()
    assert 'msg="upgrade refused; starting the release that ran" to=2.5.0' in log


def test_binary_changed_while_it_runs_is_not_restarted(tmp_path, nu, bucket, releases):
    old, new = releases
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)
    neard = read_pid(home / '.nearup' / 'neard.pid')
    path = blob(nu, old['sha256'])
    log = home / '.nearup' / 'logs' / 'neard.log'
    got = tamper(path)
    os.kill(neard[0], signal.SIGKILL)
    wait_until(lambda: gave_up(home), 30, interval=0.2, what='the supervisor to give up')
    assert status_json(home)['reason'] == refused(path, old['sha256'], got)
    assert not (home / 'TAMPERED').exists()
    text = log.read_text()
    assert 'msg="refused to start neard"' in text
    # hashed at the first start and before the restart, not in between
    assert text.count(f'msg="checking the sha256 of neard binary" binary={path}\n') == 2
    # A first start of it (the supervisor alone, no `nearup run` to check
    # the cache first) is refused the same way.
    r = nu('supervise', '--home', home)
    assert (r.returncode, r.stderr.splitlines()[-1]) == (
        1, f'nearup supervise: {refused(path, old["sha256"], got)}')
    assert not (home / 'TAMPERED').exists()
    assert not (home / '.nearup' / 'neard.pid').exists()


@pytest.mark.parametrize('args,code,err', [
    ([], 2, "nearup upgrade: --to VERSION is required; see 'nearup upgrade --help'\n"),
    (['--to', '2.5.0', '--at-height', '-5'], 2,
     "nearup upgrade: --at-height: \"-5\" is not a whole number; see 'nearup upgrade --help'\n"),
    (['--to', '2.5.0', '--jitter', '99999999'], 2,
     "nearup upgrade: --jitter: 99999999 is out of range [0, 86400] s; "
     "see 'nearup upgrade --help'\n"),
    (['--to', '2.5.0', '--home', 'x', '--all'], 2,
     "nearup upgrade: --home and --all exclude each other; see 'nearup upgrade --help'\n"),
    (['--to', '2.5.0'], 1,
     'nearup upgrade: no nodes registered; start one with `nearup run NETWORK`\n'),
])
def test_usage_errors(nu, args, code, err):
    r = nu('upgrade', *args)
    assert (r.returncode, r.stdout, r.stderr) == (code, '', err)
