"""nearup run: flag checks, home init through neard (local chains, testnet
from the bucket, archival), refusing other chains' homes and mainnet
validators, --reset-data, binaries from the cache, the errors a user
meets (port in use, neard dying at start, no permission, bad bucket), and
the wait for neard to answer (--ready-timeout, Ctrl-C)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from conftest import NEARD_SIM, NEARUP, free_port, load_json, wait_until
pytest.register_assert_rewrite('nodeutil')
from nodeutil import (alive, fake_neard, init_home, log_text, neards_of, read_pidfile, run_json,
                      status_json)

pytest_plugins = ('nodeutil',)  # the nu fixture


def addrs():
    return ['--rpc-addr', f'127.0.0.1:{free_port()}', '--network-addr', f'127.0.0.1:{free_port()}']


def test_unknown_network_is_a_usage_error(nu, tmp_path):
    r = nu('run', 'Main Net', '--home', tmp_path / 'h', '--binary-path', NEARD_SIM)
    assert r.returncode == 2
    assert r.stderr == ("nearup run: unknown network 'Main Net'; use mainnet, testnet, betanet, "
                        "localnet or a chain id of [a-z0-9._-]; see 'nearup run --help'\n")
    assert not os.path.exists(tmp_path / 'h')


def test_missing_binary_is_an_error(nu, tmp_path):
    r = nu('run', 'simnet', '--home', tmp_path / 'h', '--binary-path', tmp_path / 'nope')
    assert r.returncode == 1
    assert r.stderr == (f"nearup run: neard binary {tmp_path}/nope: No such file or directory; "
                        "check --binary-path\n")
    assert not os.path.exists(tmp_path / 'h')


def test_new_local_home_is_made_by_neard_init(nu, tmp_path):
    home = tmp_path / 'near' / 'simnet'
    nu.run_node(home, '--env', 'RUST_LOG=info', '--restart', 'on-failure', '--log-max-size',
                '2M', '--log-keep', '3', '--stop-timeout', '7')
    assert sorted(os.listdir(home)) == ['.nearup', 'config.json', 'data', 'genesis.json',
                                        'node_key.json', 'validator_key.json']
    assert load_json(home / 'genesis.json')['chain_id'] == 'simnet'
    assert [d for d in os.listdir(tmp_path / 'near') if d != 'simnet'] == []  # no temp dir left
    rc = run_json(home)
    assert rc['network'] == 'simnet' and rc['chain_id'] == 'simnet'
    assert rc['binary'] == NEARD_SIM and rc['neard_version'] == ''
    assert rc['args'][0::2] == ['--rpc-addr', '--network-addr']
    assert rc['env'] == ['RUST_LOG=info']
    assert (rc['restart'], rc['log_max_size'], rc['log_keep'], rc['stop_timeout']) == \
        ('on-failure', 2 << 20, 3, 7)
    registry = os.listdir(os.path.join(nu.env['XDG_STATE_HOME'], 'nearup', 'homes'))
    assert len(registry) == 1
    nu.ok('stop', '--home', home)


def test_default_home_is_under_home_dot_near(nu, tmp_path):
    r = nu('run', 'simnet', '--binary-path', NEARD_SIM, *addrs())
    home = os.path.join(nu.env['HOME'], '.near', 'simnet')
    nu.homes.add(home)
    assert r.returncode == 0, r.stderr
    assert f'running for {home} (pid ' in r.stdout
    nu.ok('stop', '--home', home)


def test_mainnet_validator_needs_the_flag(nu, tmp_path):
    home = tmp_path / 'mainnet'
    r = nu('run', 'mainnet', '--home', home, '--account-id', 'pool.near', '--binary-path',
           NEARD_SIM)
    assert r.returncode == 1
    assert r.stderr == ('nearup run: --account-id on mainnet makes a validator; pass '
                        '--allow-mainnet-validator if that is what you want\n')
    assert not os.path.exists(home)


def test_existing_mainnet_validator_home_needs_the_flag(nu, tmp_path):
    home = tmp_path / 'mainnet'
    init_home(home, 'mainnet', fast=False)
    (home / 'validator_key.json').write_text('{}')
    r = nu('run', 'mainnet', '--home', home, '--binary-path', NEARD_SIM, *addrs())
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: {home} has a validator_key.json: running a mainnet '
                        'validator needs --allow-mainnet-validator\n')
    assert neards_of(home) == []


def test_home_of_another_chain_is_refused_untouched(nu, tmp_path):
    home = tmp_path / 'home'
    init_home(home, 'otherchain')
    (home / 'data').mkdir()
    (home / 'data' / 'marker').write_text('keep me')
    before = {f: (home / f).read_bytes() for f in ('config.json', 'genesis.json')}
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, *addrs())
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: {home} holds a node of chain otherchain, not simnet; '
                        'choose another --home (nothing was changed)\n')
    assert (home / 'data' / 'marker').read_text() == 'keep me'
    assert {f: (home / f).read_bytes() for f in before} == before
    assert not os.path.exists(home / '.nearup')


def test_reset_data_deletes_data_only(nu, tmp_path):
    home = tmp_path / 'home'
    nu.run_node(home)
    nu.ok('stop', '--home', home)
    (home / 'data' / 'extra').write_text('x')
    keep = {f: (home / f).read_bytes() for f in
            ('config.json', 'genesis.json', 'node_key.json', 'validator_key.json')}
    log_before = log_text(home)
    nu.run_node(home, '--reset-data')
    assert not os.path.exists(home / 'data' / 'extra')
    assert {f: (home / f).read_bytes() for f in keep} == keep
    assert log_text(home).startswith(log_before)
    assert 'Creating a new RocksDB database' in log_text(home)[len(log_before):]
    nu.ok('stop', '--home', home)


def test_without_reset_data_the_data_stays(nu, tmp_path):
    home = tmp_path / 'home'
    nu.run_node(home)
    nu.ok('stop', '--home', home)
    (home / 'data' / 'extra').write_text('x')
    nu.run_node(home)
    assert (home / 'data' / 'extra').read_text() == 'x'
    nu.ok('stop', '--home', home)


def test_neard_dying_at_start_is_reported_with_its_last_lines(nu, tmp_path):
    home = tmp_path / 'home'
    init_home(home)
    (home / 'config.json').write_text('{"rpc": {"addr": "127.0.0.1:1"}, oops}')
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, *addrs())
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == ('nearup run: neard exited at start (killed by signal 6 (Aborted)); '
                        'last lines of neard:')
    assert any(line.startswith('  Error loading config: config.json file issue:')
               for line in lines[1:]), r.stderr
    assert r.stdout == ''
    assert neards_of(home) == []
    assert read_pidfile(home, 'supervisor.pid') is None
    assert status_json(home)['state'] == 'stopped'


def test_port_in_use_is_a_clear_error(nu, tmp_path):
    home = tmp_path / 'home'
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen()
        port = s.getsockname()[1]
        r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM,
               '--rpc-addr', f'127.0.0.1:{port}')
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: rpc address 127.0.0.1:{port} is already in use; stop what '
                        'listens there or pass --rpc-addr\n')
    assert neards_of(home) == []


@pytest.fixture
def as_other_user(nu):
    """Runs nearup as a user without rights on a root-owned dir (as root:
    nobody through setpriv; otherwise the current user). Yields (run, dir)."""
    base = tempfile.mkdtemp(prefix='nearup-perm-')
    os.chmod(base, 0o755)
    # GCOV_PREFIX: in a coverage build (make coverage) the counters of a
    # run go to .gcda files in the root-owned build tree, which this user
    # cannot write; libgcov would say so on stderr. They go to its own home
    # instead (and are not counted). Other builds ignore the variable.
    env = dict(nu.env, HOME=os.path.join(base, 'userhome'),
               XDG_STATE_HOME=os.path.join(base, 'userhome', 'state'),
               XDG_CACHE_HOME=os.path.join(base, 'userhome', 'cache'),
               GCOV_PREFIX=os.path.join(base, 'userhome', 'gcov'))
    os.mkdir(env['HOME'], 0o777)
    os.chmod(env['HOME'], 0o777)
    locked = os.path.join(base, 'locked')
    os.mkdir(locked, 0o555)
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which('setpriv'):
            pytest.skip('setpriv is needed to drop root')
        prefix = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']

    def run(*args):
        return subprocess.run([*prefix, NEARUP, *[str(a) for a in args]], capture_output=True,
                              text=True, env=env, timeout=60)
    yield run, locked
    os.chmod(locked, 0o755)
    shutil.rmtree(base)


def test_no_permission_to_create_the_home(as_other_user):
    run, locked = as_other_user
    r = run('run', 'simnet', '--home', f'{locked}/home', '--binary-path', NEARD_SIM, *addrs())
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: no permission to create {locked}/home (Permission denied); '
                        'choose another --home\n')
    assert os.listdir(locked) == []


def test_no_permission_to_write_an_existing_home(as_other_user):
    run, locked = as_other_user
    os.chmod(locked, 0o755)
    home = os.path.join(locked, 'home')
    init_home(home)
    os.chmod(home, 0o755)
    r = run('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, *addrs())
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: no permission to write {home} (Permission denied); run as '
                        'its owner or choose another --home\n')
    assert not os.path.exists(os.path.join(home, '.nearup'))


def test_failed_init_leaves_no_half_made_home(nu, tmp_path):
    broken = fake_neard(tmp_path, exit=1, lines=2)
    home = tmp_path / 'homes' / 'simnet'
    r = nu('run', 'simnet', '--home', home, '--binary-path', broken)
    assert r.returncode == 1
    assert r.stderr == ('nearup run: neard init failed (exit code 1); its output:\n'
                        '    fake neard line 1\n    fake neard line 2\n')
    assert os.listdir(tmp_path / 'homes') == []


def test_testnet_home_from_the_bucket(nu, tmp_path, bucket):
    home = tmp_path / 'testnet'
    r = nu('run', 'testnet', '--home', home, '--binary-path', NEARD_SIM,
           '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    assert f'rpc http://127.0.0.1:{bucket.testnet_rpc_port},' in r.stdout
    assert load_json(home / 'genesis.json')['chain_id'] == 'testnet'
    assert load_json(home / 'config.json')['rpc']['addr'] == \
        f'127.0.0.1:{bucket.testnet_rpc_port}'
    # nearup checks each file (a one-byte range), then neard init fetches it.
    base = 'nearcore-deploy/testnet'
    assert sorted(q.path for q in bucket.requests()) == [
        f'{base}/genesis.json.xz', f'{base}/genesis.json.xz',
        f'{base}/rpc/config.json', f'{base}/rpc/config.json']
    assert run_json(home)['release_url'] == bucket.url
    nu.ok('stop', '--home', home)


def test_plain_genesis_when_the_bucket_has_no_xz(nu, tmp_path, bucket):
    bucket.remove('nearcore-deploy/testnet/genesis.json.xz')
    home = tmp_path / 'testnet'
    r = nu('run', 'testnet', '--home', home, '--binary-path', NEARD_SIM,
           '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    base = 'nearcore-deploy/testnet'
    assert sorted(q.path for q in bucket.requests()) == [
        f'{base}/genesis.json', f'{base}/genesis.json', f'{base}/genesis.json.xz',
        f'{base}/rpc/config.json', f'{base}/rpc/config.json']
    assert load_json(home / 'genesis.json')['chain_id'] == 'testnet'
    nu.ok('stop', '--home', home)


def test_archival_testnet_node(nu, tmp_path, bucket):
    home = tmp_path / 'testnet'
    r = nu('run', 'testnet', '--home', home, '--binary-path', NEARD_SIM, '--archival',
           '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    assert load_json(home / 'config.json')['archive'] is True
    assert run_json(home)['args'] == ['--archive']
    # No archival/config.json in this bucket: the rpc one is used.
    base = 'nearcore-deploy/testnet'
    assert sorted(q.path for q in bucket.requests()) == [
        f'{base}/archival/config.json', f'{base}/genesis.json.xz', f'{base}/genesis.json.xz',
        f'{base}/rpc/config.json', f'{base}/rpc/config.json']
    nu.ok('stop', '--home', home)


def test_unreachable_bucket_names_the_url(nu, tmp_path):
    port = free_port()
    r = nu('run', 'testnet', '--home', tmp_path / 't', '--binary-path', NEARD_SIM,
           '--release-url', f'http://127.0.0.1:{port}')
    assert r.returncode == 1
    assert r.stderr.startswith(
        f'nearup run: cannot reach the release bucket: GET http://127.0.0.1:{port}/'
        'nearcore-deploy/testnet/genesis.json.xz: '), r.stderr
    assert not os.path.exists(tmp_path / 't')


def test_downloaded_binary_is_reused_without_any_request(nu, tmp_path, bucket):
    rel = bucket.add_release('testnet', '2.5.0')
    home = tmp_path / 'testnet'
    r = nu('run', 'testnet', '--home', home, '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f'nearup run: neard 2.5.0 running for {home} (pid ')
    rc = run_json(home)
    assert (rc['neard_version'], rc['neard_commit'], rc['neard_sha256']) == \
        ('2.5.0', rel['commit'], rel['sha256'])
    assert status_json(home)['neard_version'] == '2.5.0'
    nu.ok('stop', '--home', home)
    bucket.clear_requests()
    r = nu('run', 'testnet', '--home', home, '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    assert bucket.requests() == []
    assert run_json(home)['binary'] == rc['binary']
    nu.ok('stop', '--home', home)


# ---- waiting for neard to answer ----

def test_ready_timeout_leaves_the_node_starting(nu, tmp_path):
    home = tmp_path / 'home'
    init_home(home)
    slow = fake_neard(tmp_path, delay=600)
    r = nu('run', 'simnet', '--home', home, '--binary-path', slow, '--ready-timeout', '1',
           *addrs())
    assert r.returncode == 1
    assert r.stderr == ("nearup run: neard did not answer /status within 1 s; it keeps starting "
                        f"in the background (see 'nearup logs --home {home}')\n")
    st = status_json(home)
    assert st['state'] == 'starting'
    assert st['neard_pid'] == read_pidfile(home, 'neard.pid')[0]
    nu.ok('stop', '--home', home)
    assert neards_of(home) == []


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_waiting_stops_the_node(nu, tmp_path, sig):
    home = tmp_path / 'home'
    init_home(home)
    slow = fake_neard(tmp_path, delay=600)
    p = nu.popen('run', 'simnet', '--home', home, '--binary-path', slow, *addrs())
    wait_until(lambda: read_pidfile(home, 'neard.pid'), what='neard started')
    neard, sup = read_pidfile(home, 'neard.pid'), read_pidfile(home, 'supervisor.pid')
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert (out, err) == ('', 'nearup run: interrupted before neard answered /status; the node '
                              f'of {home} was stopped\n')
    assert not alive(neard) and not alive(sup)
    assert neards_of(home) == []
    assert status_json(home)['state'] == 'stopped'


def test_ready_timeout_usage(nu, tmp_path):
    r = nu('run', 'simnet', '--home', tmp_path / 'h', '--ready-timeout', '0')
    assert r.returncode == 2
    assert r.stderr == ("nearup run: --ready-timeout: 0 is out of range [1, 86400] s; "
                        "see 'nearup run --help'\n")


def test_missing_supervisor_program_is_a_clear_error(nu, tmp_path):
    lone = tmp_path / 'bin'
    lone.mkdir()
    shutil.copy2(NEARUP, lone / 'nearup')
    home = tmp_path / 'h'
    r = subprocess.run([str(lone / 'nearup'), 'run', 'simnet', '--home', str(home),
                        '--binary-path', NEARD_SIM, *addrs()],
                       capture_output=True, text=True, env=nu.env, timeout=60)
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: cannot find nearup-supervisor in {lone}, beside nearup; '
                        'install it there (it is built and installed with nearup)\n')
    assert not home.exists()
    r = subprocess.run([str(lone / 'nearup'), 'supervise', '--home', str(home)],
                       capture_output=True, text=True, env=nu.env, timeout=60)
    assert r.returncode == 1
    assert r.stderr == (f'nearup supervise: cannot find nearup-supervisor in {lone}, beside '
                        'nearup; install it there (it is built and installed with nearup)\n')
