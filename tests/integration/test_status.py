"""nearup status: values match what each node reports itself, down nodes
are rows (not failures), lag against a reference or the best local node,
exact --json schema and an aligned table."""
import json
import os
import signal
import socket

import pytest

from conftest import NEARD_SIM, wait_until
from lifecycle import Nearup, alive, head, http, node_url, read_pid, rpc, start_time, wait_synced

KEYS = ['home', 'network', 'chain_id', 'state', 'pid', 'uptime_s', 'neard_version', 'neard_build',
        'rpc_url', 'head', 'syncing', 'peers', 'health', 'lag', 'supervisor', 'error',
        'chain_check']
HEADER = ['HOME', 'NETWORK', 'STATE', 'VERSION', 'PID', 'UPTIME', 'HEAD', 'SYNC', 'PEERS',
          'HEALTH', 'LAG', 'SUPERVISOR']


@pytest.fixture(scope='module')
def net(tmp_path_factory):
    """One synced 4-node localnet shared by the tests of this file."""
    tmp = tmp_path_factory.mktemp('status')
    nu = Nearup(tmp)
    root = tmp / 'localnet'
    nu.ok('localnet', '--home', root, '--binary-path', NEARD_SIM, '--fast')
    homes = [root / f'node{i}' for i in range(4)]
    urls = [node_url(h) for h in homes]
    try:
        wait_synced(urls, peers=3)
        yield nu, root, homes, urls
    finally:
        nu.cleanup()


def test_json_matches_each_nodes_own_status(net):
    nu, root, homes, urls = net
    before = [head(u) for u in urls]
    doc = nu.status('--home', root)
    after = [rpc(u, 'status') for u in urls]
    assert list(doc) == ['reference', 'nodes']
    assert doc['reference'] is None
    assert [n['home'] for n in doc['nodes']] == [str(h) for h in homes]
    best = max(n['head'] for n in doc['nodes'])
    for node, home, url, lo, own in zip(doc['nodes'], homes, urls, before, after):
        assert list(node) == KEYS
        neard = read_pid(home / '.nearup' / 'neard.pid')
        sup = read_pid(home / '.nearup' / 'supervisor.pid')
        with open(home / '.nearup' / 'status.json') as fh:
            sup_status = json.load(fh)
        assert alive(neard) and node['pid'] == neard[0]
        assert node['state'] == 'up' and node['error'] is None
        assert (node['network'], node['chain_id']) == ('localnet', own['chain_id'])
        assert node['neard_version'] == own['version']['version'] == '2.4.0'
        assert node['neard_build'] == own['version']['build'] == 'sim'
        assert node['rpc_url'] == url
        # The head was read between the two direct queries.
        assert lo <= node['head'] <= own['sync_info']['latest_block_height']
        assert node['syncing'] is False is own['sync_info']['syncing']
        assert node['peers'] == 3
        assert node['health'] == 200
        assert node['lag'] == best - node['head']
        assert 0 <= node['uptime_s'] <= own['uptime_sec'] + 1
        assert node['supervisor'] == {'pid': sup[0], 'state': sup_status['state'],
                                      'restarts': sup_status['restarts']}
        assert node['supervisor']['state'] == 'running'


def test_table_is_aligned(net):
    nu, root, homes, urls = net
    r = nu.ok('status', '--home', root)
    lines = r.stdout.splitlines()
    assert lines[0].split() == HEADER
    assert len(lines) == 5
    cols = [lines[0].index(h) for h in HEADER]
    for i, line in enumerate(lines[1:]):
        cells = [line[a:b].strip() for a, b in zip(cols, cols[1:] + [None])]
        assert cells[0] == str(homes[i])
        assert cells[1:3] == ['localnet', 'up']
        assert cells[3] == '2.4.0'
        assert int(cells[4]) == read_pid(homes[i] / '.nearup' / 'neard.pid')[0]
        assert cells[7] == 'synced' and cells[8] == '3' and cells[9] == '200 ok'
        assert cells[11] == 'running, 0 restarts'
    assert r.stderr == ''


def test_all_lists_registered_nodes(net):
    nu, root, homes, urls = net
    doc = nu.status('--all')
    assert [n['home'] for n in doc['nodes']] == [str(h) for h in homes]
    assert [n['home'] for n in nu.status()['nodes']] == [str(h) for h in homes]


def test_reference_lag(net):
    nu, root, homes, urls = net
    doc = nu.status('--home', homes[1], '--reference', urls[0])
    ref = doc['reference']
    assert ref['url'] == urls[0] and ref['error'] is None
    node = doc['nodes'][0]
    assert node['home'] == str(homes[1])
    assert node['lag'] == max(0, ref['head'] - node['head'])
    assert ref['head'] <= head(urls[0])

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        dead = f'http://127.0.0.1:{s.getsockname()[1]}'
        doc = nu.status('--home', homes[1], '--reference', dead)
        r = nu('status', '--home', homes[1], '--reference', dead)
    assert doc['reference']['url'] == dead and doc['reference']['head'] is None
    assert doc['reference']['error'].startswith(f'POST {dead}: ')
    assert doc['nodes'][0]['lag'] is None
    assert r.returncode == 0
    assert r.stderr.startswith(f'nearup status: reference {dead} did not answer (POST {dead}: ')
    assert r.stderr.endswith('); lag is unknown\n')


def test_stale_pid_file_is_down(tmp_path):
    """A neard.pid naming a live process with another start time (a reused
    pid) is not this node: reported down, its port never probed."""
    nu = Nearup(tmp_path)
    home = tmp_path / 'h'
    os.makedirs(home / '.nearup')
    with open(home / 'config.json', 'w') as fh:
        json.dump({'rpc': {'addr': '127.0.0.1:1'}}, fh)
    with open(home / '.nearup' / 'neard.pid', 'w') as fh:
        fh.write(f'{os.getpid()} {start_time(os.getpid()) + 1}\n')
    doc = nu.status('--home', home)
    node = doc['nodes'][0]
    assert node['state'] == 'down' and node['pid'] is None
    assert node['error'] == 'neard is not running'
    assert node['rpc_url'] == 'http://127.0.0.1:1'
    assert node['supervisor'] == {'pid': None, 'state': None, 'restarts': None}
    for key in ('head', 'syncing', 'peers', 'health', 'lag', 'uptime_s', 'neard_version'):
        assert node[key] is None


def test_no_nodes(tmp_path):
    nu = Nearup(tmp_path)
    r = nu.ok('status')
    assert r.stdout == ('no nodes registered; start one with `nearup run NETWORK` or '
                        '`nearup localnet`\n')
    assert nu.status() == {'reference': None, 'nodes': []}


def test_home_without_node_is_error(tmp_path):
    nu = Nearup(tmp_path)
    (tmp_path / 'empty').mkdir()
    r = nu('status', '--home', tmp_path / 'empty')
    assert r.returncode == 1
    assert r.stderr.startswith(f'nearup status: no node in {tmp_path}/empty: ')
    assert r.stderr.endswith('; pass a node home or a localnet root\n')


@pytest.mark.parametrize('args,err', [
    (['--bogus'], "nearup status: unknown option '--bogus'; see 'nearup status --help'\n"),
    (['--home'], "nearup status: --home needs a value; see 'nearup status --help'\n"),
    (['--home', 'x', '--all'],
     "nearup status: --home and --all exclude each other; see 'nearup status --help'\n"),
    (['extra'], "nearup status: unexpected argument 'extra'; see 'nearup status --help'\n"),
])
def test_usage_errors(tmp_path, args, err):
    r = Nearup(tmp_path)('status', *args)
    assert (r.returncode, r.stdout, r.stderr) == (2, '', err)


def test_down_node_is_a_row(tmp_path):
    """Last, on its own localnet: a stopped node is reported down while the
    others stay up, and the command still succeeds."""
    nu = Nearup(tmp_path)
    root = tmp_path / 'ln'
    try:
        nu.ok('localnet', '--home', root, '--nodes', '2', '--binary-path', NEARD_SIM, '--fast')
        urls = [node_url(root / f'node{i}') for i in range(2)]
        wait_synced(urls, peers=1)
        entry = read_pid(root / 'node1' / '.nearup' / 'neard.pid')
        nu.ok('stop', '--home', root / 'node1')
        assert not alive(entry)
        r = nu.ok('status', '--home', root, '--json')
        doc = json.loads(r.stdout)
        up, down = doc['nodes']
        assert up['state'] == 'up' and up['health'] == 200
        assert down['state'] == 'down'
        assert down['pid'] is None and down['head'] is None and down['health'] is None
        assert down['error'].startswith('neard is not running')
        assert down['lag'] is None
        r = nu.ok('status', '--home', root)
        assert f'{root}/node1: neard is not running' in r.stdout
    finally:
        nu.cleanup()
