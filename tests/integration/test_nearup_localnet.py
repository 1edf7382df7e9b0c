"""nearup localnet: generated once through `neard localnet`, bound to
127.0.0.1 unless --public, one supervisor per node, reused (never wiped)
on the next run, stopped cleanly by `nearup stop --home <root>`."""
import json
import os
import re
import subprocess

import pytest

from conftest import NEARD_SIM, wait_until
from lifecycle import Nearup, alive, head, node_url, read_pid, rpc, wait_synced

SIM = os.path.realpath(NEARD_SIM)


def pids(homes):
    return [(read_pid(h / '.nearup' / 'supervisor.pid'), read_pid(h / '.nearup' / 'neard.pid'))
            for h in homes]


def load(path):
    with open(path) as fh:
        return json.load(fh)


def answers(url):
    try:
        return head(url) >= 0
    except OSError:
        return False


def host(addr):
    return addr.rsplit(':', 1)[0]


@pytest.fixture
def nu(tmp_path):
    n = Nearup(tmp_path)
    yield n
    n.cleanup()


def test_four_nodes_sync_and_stop_cleanly(tmp_path, nu):
    root = tmp_path / 'ln'
    r = nu.ok('localnet', '--home', root, '--binary-path', NEARD_SIM, '--fast')
    homes = [root / f'node{i}' for i in range(4)]
    urls = [node_url(h) for h in homes]
    procs = pids(homes)
    lines = r.stdout.splitlines()
    assert lines[0] == f'localnet in {root}: 4 nodes (new)'
    for i, (line, url, (_, neard)) in enumerate(zip(lines[1:5], urls, procs)):
        assert line.split() == [f'node{i}', 'validator', url, 'started,', 'neard', 'pid',
                                str(neard[0])]
    assert lines[5:] == [f'next: nearup status --home {root}',
                         f'      nearup logs --home {root} --node 0 -f',
                         f'      nearup stop --home {root}']
    assert sorted(os.listdir(tmp_path)) == sorted(['ln', 'userhome', 'cache', 'state', 'config',
                                                   'data', 'run'])  # no temp dir left behind

    # Every address is on 127.0.0.1, every node has its run.json and is registered.
    for i, home in enumerate(homes):
        cfg = load(home / 'config.json')
        assert host(cfg['rpc']['addr']) == host(cfg['network']['addr']) == '127.0.0.1'
        boots = [b for b in cfg['network']['boot_nodes'].split(',') if b]
        assert all(host(b.split('@')[1]) == '127.0.0.1' for b in boots)
        assert len(boots) == (0 if i == 0 else 1)
        run = load(home / '.nearup' / 'run.json')
        assert (run['network'], run['chain_id'], run['binary']) == ('localnet', 'localnet', SIM)
        assert run['args'] == [] and run['neard_version'] == ''
        assert cfg['consensus']['min_block_production_delay'] == {'secs': 0, 'nanos': 120000000}
    assert [n['home'] for n in nu.status('--all')['nodes']] == [str(h) for h in homes]

    wait_synced(urls, peers=3)
    for url in urls:
        assert rpc(url, 'network_info')['num_active_peers'] == 3
        assert rpc(url, 'status')['sync_info']['syncing'] is False

    r = nu.ok('stop', '--home', root)
    assert r.returncode == 0
    for sup, neard in procs:
        assert not alive(sup) and not alive(neard)
    assert procs_naming(root) == []
    for home, (_, neard) in zip(homes, procs):
        log = (home / '.nearup' / 'logs' / 'neard.log').read_text()
        assert 'WARN neard: SIGTERM, stopping... this may take a few minutes.' in log
        exits = re.findall(r'msg="neard exited" pid=(\d+) how="([^"]+)"', log)
        assert exits == [(str(neard[0]), 'exit code 0')]
    assert all(n['state'] == 'down' for n in nu.status('--home', root)['nodes'])
    # `nearup logs` reads one node of the root.
    r = nu.ok('logs', '--home', root, '--node', '2', '-n', '3')
    tail = (homes[2] / '.nearup' / 'logs' / 'neard.log').read_text().splitlines()[-3:]
    assert r.stdout.splitlines() == tail


def test_rerun_reuses_running_and_stopped_localnet(tmp_path, nu):
    root = tmp_path / 'ln'
    nu.ok('localnet', '--home', root, '--nodes', '2', '--binary-path', NEARD_SIM, '--fast')
    homes = [root / 'node0', root / 'node1']
    urls = [node_url(h) for h in homes]
    keys = [(h / 'node_key.json').read_text() for h in homes]
    cfgs = [(h / 'config.json').read_bytes() for h in homes]
    first = pids(homes)
    wait_synced(urls, peers=1)

    # Running: nothing is restarted or rewritten; --nodes is only a note.
    r = nu.ok('localnet', '--home', root, '--nodes', '3')
    assert r.stdout.splitlines()[0] == (
        f'reusing the localnet of 2 nodes in {root} (--nodes/--rpc/--archival apply to a new '
        'one; remove the directory for that)')
    assert r.stdout.splitlines()[1] == f'localnet in {root}: 2 nodes (reused)'
    assert 'already running, neard pid' in r.stdout.splitlines()[2]
    assert pids(homes) == first
    assert [(h / 'config.json').read_bytes() for h in homes] == cfgs

    # Stopped: started again on the same keys and data (the head resumes).
    h0 = head(urls[0])
    nu.ok('stop', '--home', root)
    r = nu.ok('localnet', '--home', root)
    assert 'started, neard pid' in r.stdout
    assert [(h / 'node_key.json').read_text() for h in homes] == keys
    assert [(h / 'config.json').read_bytes() for h in homes] == cfgs
    assert head(urls[0]) >= h0
    assert load(homes[0] / '.nearup' / 'run.json')['binary'] == SIM

    # --reset-data refuses a running node, and deletes only data/ otherwise.
    r = nu('localnet', '--home', root, '--reset-data')
    assert r.returncode == 1
    assert r.stderr == (f'nearup localnet: {homes[0]} is running; stop it '
                        f'(nearup stop --home {root}) before --reset-data\n')
    nu.ok('stop', '--home', root)
    marker = homes[1] / 'data' / 'marker'
    marker.write_text('x')
    # A neard started by hand holds the database: its data is never removed.
    by_hand = subprocess.Popen([NEARD_SIM, '--home', str(homes[1]), 'run'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(urls[1]), 20, what='neard run by hand answers')
        r = nu('localnet', '--home', root, '--reset-data')
        assert r.returncode == 1
        assert r.stderr == (f'nearup localnet: the database in {homes[1]}/data is open by a '
                            'process nearup does not supervise; stop it before --reset-data\n')
        assert marker.read_text() == 'x'
    finally:
        by_hand.terminate()
        by_hand.wait(timeout=30)
    nu.ok('stop', '--home', root)  # node0 started before node1 was refused
    nu.ok('localnet', '--home', root, '--reset-data')
    assert not marker.exists()
    assert (homes[1] / 'node_key.json').read_text() == keys[1]
    wait_synced(urls, peers=1)


def test_public_then_local_rewrites_keeping_field_order(tmp_path, nu):
    root = tmp_path / 'ln'
    nu.ok('localnet', '--home', root, '--nodes', '2', '--binary-path', NEARD_SIM, '--fast',
          '--public')
    homes = [root / 'node0', root / 'node1']
    for home in homes:
        cfg = load(home / 'config.json')
        assert host(cfg['rpc']['addr']) == host(cfg['network']['addr']) == '0.0.0.0'
    boot = load(homes[1] / 'config.json')['network']['boot_nodes']
    assert host(boot.split('@')[1]) == '127.0.0.1'
    order = [list(load(h / 'config.json')) for h in homes]
    urls = [node_url(h) for h in homes]
    wait_synced(urls, peers=1)
    doc = nu.status('--home', root)
    assert [n['rpc_url'] for n in doc['nodes']] == urls  # 0.0.0.0 probed on 127.0.0.1

    nu.ok('stop', '--home', root)
    nu.ok('localnet', '--home', root)
    for home, keys in zip(homes, order):
        cfg = load(home / 'config.json')
        assert host(cfg['rpc']['addr']) == host(cfg['network']['addr']) == '127.0.0.1'
        assert list(cfg) == keys
    wait_synced(urls, peers=1)


def test_rpc_and_archival_roles(tmp_path, nu):
    root = tmp_path / 'ln'
    r = nu.ok('localnet', '--home', root, '--nodes', '1', '--rpc', '1', '--archival', '1',
              '--binary-path', NEARD_SIM, '--fast')
    roles = [line.split()[:2] for line in r.stdout.splitlines()[1:4]]
    assert roles == [['node0', 'validator'], ['node1', 'archival'], ['node2', 'rpc']]
    assert load(root / 'node1' / 'config.json')['archive'] is True
    assert not (root / 'node3').exists()


def test_generation_failure_leaves_nothing(tmp_path, nu):
    fake = tmp_path / 'bad-neard'
    fake.write_text('#!/bin/sh\necho "Error: cannot make a localnet here" >&2\nexit 1\n')
    fake.chmod(0o755)
    r = nu('localnet', '--home', tmp_path / 'ln', '--binary-path', fake)
    assert r.returncode == 1
    assert r.stderr == (f'nearup localnet: {fake} localnet failed (exit 1): '
                        'Error: cannot make a localnet here\n')
    assert not (tmp_path / 'ln').exists()
    assert not [n for n in os.listdir(tmp_path) if 'nearup-' in n]


def test_root_with_other_files_is_not_overwritten(tmp_path, nu):
    root = tmp_path / 'ln'
    root.mkdir()
    (root / 'notes.txt').write_text('mine')
    r = nu('localnet', '--home', root, '--binary-path', NEARD_SIM, '--fast')
    assert r.returncode == 1
    assert r.stderr == (f'nearup localnet: {root} exists and is not an empty localnet root: '
                        'Directory not empty\n')
    assert os.listdir(root) == ['notes.txt']
    assert not [n for n in os.listdir(tmp_path) if 'nearup-' in n]


@pytest.mark.parametrize('args,err', [
    (['--nodes', '0'],
     "nearup localnet: --nodes: 0 is out of range [1, 64]; see 'nearup localnet --help'\n"),
    (['--rpc', 'x'],
     "nearup localnet: --rpc: \"x\" is not a whole number; see 'nearup localnet --help'\n"),
    (['--nodes', '40', '--rpc', '30'],
     "nearup localnet: at most 64 nodes in all; see 'nearup localnet --help'\n"),
    (['--binary-path', 'a', '--neard-version', '2.4.0'],
     'nearup localnet: --binary-path and --neard-version exclude each other; '
     "see 'nearup localnet --help'\n"),
    (['--env', 'NOEQUALS'],
     "nearup localnet: --env: \"NOEQUALS\" is not KEY=VALUE; see 'nearup localnet --help'\n"),
    (['--frob'], "nearup localnet: unknown option '--frob'; see 'nearup localnet --help'\n"),
    (['extra'], "nearup localnet: unexpected argument 'extra'; see 'nearup localnet --help'\n"),
])
def test_usage_errors(nu, args, err):
    r = nu('localnet', *args)
    assert (r.returncode, r.stdout, r.stderr) == (2, '', err)


def test_missing_binary(tmp_path, nu):
    r = nu('localnet', '--home', tmp_path / 'ln', '--binary-path', tmp_path / 'nope')
    assert r.returncode == 1
    assert r.stderr == (f'nearup localnet: no executable neard at {tmp_path}/nope; '
                        'check --binary-path\n')


def test_localnet_from_the_bucket(tmp_path, nu, bucket):
    """Without --binary-path the release comes from the bucket into the cache."""
    bucket.add_release('testnet', '2.4.0')
    root = tmp_path / 'ln'
    nu.ok('localnet', '--home', root, '--nodes', '1', '--neard-version', '2.4.0',
          '--release-url', bucket.url, '--fast')
    run = load(root / 'node0' / '.nearup' / 'run.json')
    assert run['neard_version'] == '2.4.0'
    assert run['release_url'] == bucket.url
    assert run['binary'] == str(tmp_path / 'cache' / 'nearup' / 'blobs' / run['neard_sha256'])
    url = node_url(root / 'node0')
    wait_until(lambda: rpc(url, 'status')['version']['version'] == '2.4.0', 10)


def test_failed_start_stops_the_nodes_started_before(tmp_path, nu):
    """node1's neard exits at start: the command fails naming it, and node0,
    already started, is stopped again, so nothing is left running."""
    wrapper = tmp_path / 'neard'
    wrapper.write_text('#!/bin/sh\n'
                       'case "$2" in */node1) echo "Error: node1 refuses to run" >&2; exit 1;; '
                       'esac\n'
                       f'exec {NEARD_SIM} "$@"\n')
    wrapper.chmod(0o755)
    root = tmp_path / 'ln'
    r = nu('localnet', '--home', root, '--nodes', '2', '--binary-path', wrapper, '--fast',
           '--restart', 'no')
    assert r.returncode == 1
    assert r.stderr.startswith('nearup localnet: node1 did not start: ')
    assert 'node1 refuses to run' in r.stderr
    assert procs_naming(root) == []
    assert [n['state'] for n in nu.status('--home', root)['nodes']] == ['down', 'down']
    log = (root / 'node0' / '.nearup' / 'logs' / 'neard.log').read_text()
    assert 'WARN neard: SIGTERM, stopping...' in log


def procs_naming(path):
    """Live processes whose command line names path (this test's own dir)."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as fh:
                cmd = fh.read().replace(b'\0', b' ').decode(errors='replace')
            with open(f'/proc/{pid}/stat') as fh:
                zombie = fh.read().rsplit(')', 1)[1].split()[0] == 'Z'
        except OSError:
            continue
        if str(path) in cmd and not zombie:
            found.append((int(pid), cmd))
    return found
