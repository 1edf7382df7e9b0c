"""deploy/ansible: the role and playbooks pass yamllint, ansible-lint and
--syntax-check, and run for real with ansible-core against a fleet of four
'hosts' on this machine (ansible_connection=local, each with its own home,
HOME/XDG dirs, 127.0.0.1 ports and zone), each a neard-sim node under
nearup's own supervisor, with a gateway host in front; releases come from
the local bucket (bucket.py). The fleet tests share one module-scoped fleet
and run in file order: each starts from the state the previous one left."""
import json
import os
import re
import signal
import subprocess

import pytest

from bucket import Bucket, commit_for, sha256sum_line
from conftest import NEARD_SIM, NEARUP, ROOT, free_port, wait_until
from lifecycle import alive, http, read_pid, rpc

ANSIBLE = os.path.join(ROOT, 'deploy', 'ansible')
PLAYBOOKS = sorted(p for p in os.listdir(os.path.join(ANSIBLE, 'playbooks')) if p.endswith('.yml'))
NODES = ['n1', 'n2', 'n3', 'n4']
ZONES = {'n1': 'zone-a', 'n2': 'zone-a', 'n3': 'zone-b', 'n4': 'zone-b'}
ANALYZE = '/usr/bin/systemd-analyze'
# nearup-supervisor of the same build as NEARUP (build/src/cli/nearup -> build/src/node/).
SUPERVISOR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(NEARUP))), 'src', 'node',
                          'nearup-supervisor')


def ansible_env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_CONFIG=os.path.join(ANSIBLE, 'ansible.cfg'),
               ANSIBLE_HOME=str(tmp / 'ansible-home'),
               ANSIBLE_LOCAL_TEMP=str(tmp / 'ansible-tmp'),
               ANSIBLE_REMOTE_TEMP=str(tmp / 'ansible-tmp'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3',
               HOME=str(tmp / 'controller'))
    os.makedirs(env['HOME'], exist_ok=True)
    return env


def run(cmd, env, timeout=300, cwd=ANSIBLE):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)


def recap(out):
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from PLAY RECAP."""
    rows = {}
    for m in re.finditer(r'^(\S+)\s+: ((?:\w+=\d+\s*)+)$', out.split('PLAY RECAP')[-1], re.M):
        rows[m.group(1)] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
    return rows


# ---- lint ----

def test_yamllint_ansible_lint_and_syntax_check(tmp_path):
    env = ansible_env(tmp_path)
    r = run(['/usr/bin/yamllint', '-s', '-c', os.path.join(ANSIBLE, '.yamllint'), '.'], env)
    assert (r.returncode, r.stdout, r.stderr) == (0, '', '')
    r = run(['/usr/bin/ansible-lint', '--offline', '-q', '--nocolor'], env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {'site.yml', 'upgrade.yml'} <= set(PLAYBOOKS), PLAYBOOKS
    for pb in PLAYBOOKS:
        r = run(['ansible-playbook', '--syntax-check', os.path.join('playbooks', pb)], env)
        assert r.returncode == 0, (pb, r.stdout, r.stderr)
        assert f'playbook: playbooks/{pb}' in r.stdout


# ---- a fleet of four local 'hosts' ----

class Fleet:
    def __init__(self, root):
        self.root = root
        self.bucket = Bucket(NEARD_SIM)
        self.old = self.bucket.add_release('testnet', '2.4.0')
        self.env = ansible_env(root)
        self.hosts = {}
        for name in NODES:
            self.add_host(name)
        gw = root / 'gw'
        self.gateway_port = free_port()
        self.gateway = {'nearup_bin': str(gw / 'bin' / 'nearup'), 'nearup_zone': 'zone-a',
                        'nearup_gateway_config': str(gw / 'gateway.ini'),
                        'nearup_gateway_pidfile': str(gw / 'gateway.pid'),
                        'nearup_gateway_log': str(gw / 'gateway.log'),
                        'nearup_gateway_listen': f'127.0.0.1:{self.gateway_port}'}
        self.inventory = root / 'inventory.json'
        self.write_inventory()

    def add_host(self, name, zone=None, **extra):
        d = self.root / name
        xdg = {'HOME': str(d / 'userhome'), 'XDG_CACHE_HOME': str(d / 'cache'),
               'XDG_STATE_HOME': str(d / 'state'), 'XDG_CONFIG_HOME': str(d / 'config'),
               'XDG_DATA_HOME': str(d / 'data'), 'XDG_RUNTIME_DIR': str(d / 'run')}
        for p in xdg.values():
            os.makedirs(p, mode=0o700, exist_ok=True)
        self.hosts[name] = {
            'nearup_home': str(d / 'node'), 'nearup_bin': str(d / 'bin' / 'nearup'),
            'nearup_env': xdg, 'nearup_zone': zone or ZONES[name],
            'nearup_rpc_addr': f'127.0.0.1:{free_port()}',
            'nearup_network_addr': f'127.0.0.1:{free_port()}',
            'nearup_health_listen': f'127.0.0.1:{free_port()}', **extra}

    def write_inventory(self, nodes=None):
        nodes = NODES if nodes is None else nodes
        inv = {'all': {
            'vars': {'ansible_connection': 'local',
                     'ansible_python_interpreter': '/usr/bin/python3',
                     'nearup_network': 'testnet', 'nearup_neard_version': '2.4.0',
                     'nearup_release_url': self.bucket.url, 'nearup_binary_src': NEARUP,
                     'nearup_supervisor_src': SUPERVISOR,
                     'nearup_use_systemd': False, 'nearup_ready_timeout': 30,
                     'nearup_gateway_max_lag': 1000000, 'nearup_gate_timeout': 20,
                     'nearup_drain_wait_idle': 0},
            'children': {
                'nearup_nodes': {'hosts': {n: self.hosts[n] for n in nodes}},
                'nearup_gateways': {'hosts': {'gw': self.gateway}}}}}
        self.inventory.write_text(json.dumps(inv, indent=1))

    def play(self, playbook, *extra, timeout=300):
        return run(['ansible-playbook', '-i', self.inventory, os.path.join('playbooks', playbook),
                    *extra], self.env, timeout=timeout)

    def url(self, name):
        return 'http://' + self.hosts[name]['nearup_rpc_addr']

    def home(self, name):
        return self.hosts[name]['nearup_home']

    def version(self, name):
        try:
            return rpc(self.url(name), 'status')['version']['version']
        except (OSError, AssertionError):
            return None

    def run_json(self, name):
        with open(os.path.join(self.home(name), '.nearup', 'run.json')) as fh:
            return json.load(fh)

    def pidfiles(self):
        for name in self.hosts:
            for f in ('supervisor.pid', 'neard.pid', 'health.pid'):
                yield os.path.join(self.home(name), '.nearup', f)
        yield self.gateway['nearup_gateway_pidfile']

    def close(self):
        for name in self.hosts:
            if os.path.exists(self.home(name)):
                subprocess.run([NEARUP, 'stop', '--home', self.home(name)], capture_output=True,
                               env={**os.environ, **self.hosts[name]['nearup_env']}, timeout=120)
        for path in self.pidfiles():
            entry = read_pid(path)
            if entry is None and os.path.exists(path):
                with open(path) as fh:  # start-stop-daemon's: the pid alone
                    pid = int(fh.read().strip() or 0)
                if pid and os.path.exists(f'/proc/{pid}'):
                    os.kill(pid, signal.SIGKILL)
            elif alive(entry):
                os.kill(entry[0], signal.SIGKILL)
        self.bucket.close()


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    f = Fleet(tmp_path_factory.mktemp('fleet'))
    yield f
    f.close()


def test_site_builds_the_fleet_and_is_idempotent(fleet):
    r = fleet.play('site.yml')
    assert r.returncode == 0, r.stdout + r.stderr
    rows = recap(r.stdout)
    assert sorted(rows) == sorted(NODES + ['gw'])
    assert all(rows[h]['failed'] == 0 and rows[h]['changed'] > 0 for h in rows), rows
    for name in NODES:
        assert fleet.version(name) == '2.4.0'
        rc = fleet.run_json(name)
        assert (rc['neard_version'], rc['neard_sha256']) == ('2.4.0', fleet.old['sha256'])
        assert rc['binary'].startswith(fleet.hosts[name]['nearup_env']['XDG_CACHE_HOME'])
        assert os.path.exists(fleet.hosts[name]['nearup_bin'])
        hl = 'http://' + fleet.hosts[name]['nearup_health_listen']
        wait_until(lambda: http(hl + '/healthcheck', timeout=2)[0] == 200, 30, interval=0.2,
                   what=f'{name} sidecar healthy')
    ini = open(fleet.gateway['nearup_gateway_config']).read()
    for name in NODES:
        assert (f'[upstream {name}]\nurl = {fleet.url(name)}\nzone = {ZONES[name]}\n') in ini
    gw = f'http://127.0.0.1:{fleet.gateway_port}'
    wait_until(lambda: http(gw + '/healthcheck', timeout=2)[0] == 200, 30, interval=0.2,
               what='gateway healthy')
    wait_until(lambda: all(st == 'ok' for _, st in upstreams(fleet).values()), 30,
               interval=0.2, what='every upstream ok')
    assert upstreams(fleet) == {n: (ZONES[n], 'ok') for n in NODES}
    res = rpc(gw, 'status')
    assert (res['chain_id'], res['version']['version']) == ('testnet', '2.4.0')

    r = fleet.play('site.yml')
    assert r.returncode == 0, r.stdout + r.stderr
    rows = recap(r.stdout)
    assert {h: (rows[h]['changed'], rows[h]['failed']) for h in rows} == \
        {h: (0, 0) for h in NODES + ['gw']}, r.stdout


def waves(out):
    """The hosts of each play batch, in order (one 'TASK [Check the release to
    roll out]' per wave)."""
    parts = out.split('TASK [Check the release to roll out]')[1:]
    return [sorted(set(re.findall(r'^ok: \[(\w+)\]', p.split('TASK [')[0], re.M))) for p in parts]


def task_hosts(out, task, status):
    """The hosts a task reported `status` (ok, changed, ...) for, over every wave."""
    parts = out.split(f'TASK [{task}]')[1:]
    return sorted(h for p in parts
                  for h in re.findall(rf'^{status}: \[(\w+)\]', p.split('TASK [')[0], re.M))


def test_upgrade_rolls_out_in_waves(fleet):
    new = fleet.bucket.add_release('testnet', '2.5.0')
    r = fleet.play('upgrade.yml', '-e', 'nearup_upgrade_to=2.5.0')
    assert r.returncode == 0, r.stdout + r.stderr
    assert waves(r.stdout) == [['n1'], ['n2'], ['n3', 'n4']], r.stdout
    rows = recap(r.stdout)
    assert all(rows[h]['failed'] == 0 and rows[h]['rescued'] == 0 for h in NODES), rows
    assert task_hosts(r.stdout, 'nearup : Drain the node', 'changed') == NODES
    assert task_hosts(r.stdout, 'nearup : Wait for nearup health --wait', 'ok') == NODES
    assert task_hosts(r.stdout, 'nearup : Put the node back into rotation', 'changed') == NODES
    for name in NODES:
        assert fleet.version(name) == '2.5.0'
        rc = fleet.run_json(name)
        assert (rc['neard_version'], rc['neard_sha256']) == ('2.5.0', new['sha256'])
        log = open(os.path.join(fleet.home(name), '.nearup', 'logs', 'health.log')).read()
        assert log.count('msg="draining: not serving until POST /undrain"') == 1, log
        assert log.count('msg="drain lifted"') == 1, log
    # Once every host runs it, a rerun changes nothing.
    r = fleet.play('upgrade.yml', '-e', 'nearup_upgrade_to=2.5.0')
    assert r.returncode == 0, r.stdout + r.stderr
    assert {h: recap(r.stdout)[h]['changed'] for h in NODES} == {h: 0 for h in NODES}


def bad_release(bucket, version):
    """A release whose neard answers --version but exits 1 at `run`."""
    commit = commit_for(version)
    data = (f'#!/bin/sh\n# neard {version} {commit}\n'
            f'case " $* " in *" run "*) echo "neard {version}: broken build" >&2; exit 1;; esac\n'
            f'NEARD_SIM_RELEASE={version} exec {NEARD_SIM} "$@"\n').encode()
    for path in (bucket.binary_path(version, commit), bucket.binary_path(version)):
        bucket.put(path, data)
        bucket.put(path + '.sha256', sha256sum_line(data))


def test_bad_release_stops_at_wave_one_and_rolls_back(fleet):
    before = {n: fleet.run_json(n) for n in NODES}
    assert {n: before[n]['neard_version'] for n in NODES} == {n: '2.5.0' for n in NODES}
    bad_release(fleet.bucket, '2.6.0')
    fleet.bucket.clear_requests()
    r = fleet.play('upgrade.yml', '-e', 'nearup_upgrade_to=2.6.0')
    assert r.returncode == 2, r.stdout + r.stderr
    assert waves(r.stdout) == [['n1']], r.stdout
    rows = recap(r.stdout)
    assert sorted(rows) == ['n1']
    assert (rows['n1']['failed'], rows['n1']['rescued']) == (1, 1), rows
    assert ('n1: the upgrade to 2.6.0 failed (Wait for the node to answer, synced: 2.6.0'
            in r.stdout), r.stdout
    assert 'rolled back to 2.5.0; the rollout stops here' in r.stdout
    # n1 did try 2.6.0; nobody else even fetched it.
    log = open(os.path.join(fleet.home('n1'), '.nearup', 'logs', 'neard.log')).read()
    assert 'neard 2.6.0: broken build' in log
    bins = [fleet.bucket.binary_path('2.6.0', commit_for('2.6.0')),
            fleet.bucket.binary_path('2.6.0')]
    assert len([q for q in fleet.bucket.requests() if q.method == 'GET' and q.path in bins]) == 1
    # n1 is back on 2.5.0, its run.json as before; the rest never saw 2.6.0.
    assert fleet.version('n1') == '2.5.0'
    assert fleet.run_json('n1')['neard_sha256'] == before['n1']['neard_sha256']
    for name in NODES[1:]:
        assert fleet.version(name) == '2.5.0'
        assert fleet.run_json(name) == before[name]
        cache = fleet.hosts[name]['nearup_env']['XDG_CACHE_HOME']
        blobs = os.listdir(os.path.join(cache, 'nearup', 'blobs'))
        assert sorted(b for b in blobs if not b.startswith('.')) == sorted(
            [fleet.old['sha256'], before[name]['neard_sha256']])


def test_systemd_mode_writes_units_that_verify(tmp_path):
    """nearup_use_systemd: the node's unit and the snapshotter's pair come
    from `nearup service install` (NEARUP_SYSTEMD_DIR here, no systemd to
    start them), the sidecar's and the gateway's from the role; all pass
    systemd-analyze verify, and a second run changes nothing."""
    b = Bucket(NEARD_SIM)
    try:
        b.add_release('testnet', '2.4.0')
        units = tmp_path / 'units'
        units.mkdir()
        d = tmp_path / 'h1'
        xdg = {'HOME': str(d / 'userhome'), 'XDG_CACHE_HOME': str(d / 'cache'),
               'XDG_STATE_HOME': str(d / 'state'), 'XDG_CONFIG_HOME': str(d / 'config'),
               'XDG_RUNTIME_DIR': str(d / 'run'), 'NEARUP_SYSTEMD_DIR': str(units)}
        for p in xdg.values():
            os.makedirs(p, mode=0o700, exist_ok=True)
        common = {'nearup_bin': str(tmp_path / 'bin' / 'nearup'), 'nearup_env': xdg,
                  'nearup_systemd_dir': str(units)}
        inv = {'all': {
            'vars': {'ansible_connection': 'local',
                     'ansible_python_interpreter': '/usr/bin/python3',
                     'nearup_network': 'testnet', 'nearup_neard_version': '2.4.0',
                     'nearup_release_url': b.url, 'nearup_binary_src': NEARUP,
                     'nearup_supervisor_src': SUPERVISOR, 'nearup_use_systemd': True,
                     'nearup_systemd_manage': False},
            'children': {
                'nearup_nodes': {'hosts': {'h1': {
                    **common, 'nearup_home': str(d / 'node'), 'nearup_zone': 'zone-a',
                    'nearup_rpc_addr': '127.0.0.1:3030', 'nearup_snapshotter': True,
                    'nearup_snapshot_store': str(tmp_path / 'snaps'),
                    'nearup_from_snapshot': str(tmp_path / 'snaps')}}},
                'nearup_gateways': {'hosts': {'gw': {
                    **common, 'nearup_gateway_config': str(tmp_path / 'gw' / 'gateway.ini')}}}}}}
        (tmp_path / 'inv.json').write_text(json.dumps(inv))
        env = ansible_env(tmp_path)
        cmd = ['ansible-playbook', '-i', tmp_path / 'inv.json', 'playbooks/site.yml']
        r = run(cmd, env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert sorted(os.listdir(units)) == [
            'nearup-gateway.service', 'nearup-health-testnet.service',
            'nearup-snapshot-testnet.service', 'nearup-snapshot-testnet.timer',
            'nearup-testnet.service']
        node = (units / 'nearup-testnet.service').read_text()
        assert (f'ExecStart={tmp_path}/bin/nearup run testnet --foreground --home {d}/node '
                f'--neard-version 2.4.0 --rpc-addr 127.0.0.1:3030 --network-addr 0.0.0.0:24567 '
                f'--release-url {b.url} --from-snapshot {tmp_path}/snaps') in node, node
        health = (units / 'nearup-health-testnet.service').read_text()
        assert (f'ExecStart={tmp_path}/bin/nearup health --node http://127.0.0.1:3030 '
                f'--home {d}/node --listen 127.0.0.1:3032\n') in health
        for unit in sorted(units.iterdir()):
            v = subprocess.run([ANALYZE, 'verify', str(unit)], capture_output=True, text=True,
                               timeout=60, env=env)
            assert (unit.name, v.returncode, v.stdout, v.stderr) == (unit.name, 0, '', '')
        # Nothing ran: no node, no neard.
        assert not os.path.exists(d / 'node' / '.nearup' / 'supervisor.pid')
        r = run(cmd, env)
        assert r.returncode == 0, r.stdout + r.stderr
        rows = recap(r.stdout)
        assert {h: rows[h]['changed'] for h in rows} == {'h1': 0, 'gw': 0}, r.stdout
    finally:
        b.close()


def head(fleet, name):
    return rpc(fleet.url(name), 'status')['sync_info']['latest_block_height']


def test_hardfork_stages_every_host_and_reports_the_rest(fleet):
    new = fleet.bucket.add_release('testnet', '2.7.0', latest=False)
    # n4 is down (a broken host): it cannot be staged for a height.
    nu_env = {**os.environ, **fleet.hosts['n4']['nearup_env']}
    r = subprocess.run([NEARUP, 'stop', '--home', fleet.home('n4')], capture_output=True,
                       text=True, env=nu_env, timeout=120)
    assert r.returncode == 0, r.stderr
    height = max(head(fleet, n) for n in NODES[:3]) + 100000
    args = ['-e', 'nearup_upgrade_to=2.7.0', '-e', f'nearup_upgrade_at_height={height}']
    r = fleet.play('hardfork.yml', *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert (f'not staged for 2.7.0 at height {height}: n4 (nearup upgrade: {fleet.home("n4")} '
            'is not running, so it cannot stop at a height;') in r.stdout, r.stdout
    assert 'every host is staged' not in r.stdout
    assert task_hosts(r.stdout, 'nearup : Ask nearup upgrade --check', 'ok') == ['n1', 'n2', 'n3']
    for name in NODES[:3]:
        with open(os.path.join(fleet.home(name), '.nearup', 'upgrade.json')) as fh:
            pending = json.load(fh)
        assert (pending['version'], pending['sha256'], pending['at_height']) == (
            '2.7.0', new['sha256'], height)
        with open(os.path.join(fleet.home(name), 'config.json')) as fh:
            assert json.load(fh)['expected_shutdown'] == height
        assert fleet.version(name) == '2.5.0'
    assert not os.path.exists(os.path.join(fleet.home('n4'), '.nearup', 'upgrade.json'))

    # n4 back up: a second run stages n4 alone and reports every host staged.
    r = subprocess.run([NEARUP, 'restart', '--home', fleet.home('n4')], capture_output=True,
                       text=True, env=nu_env, timeout=120)
    assert r.returncode == 0, r.stderr
    r = fleet.play('hardfork.yml', *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f'every host is staged for 2.7.0 at height {height}' in r.stdout
    rows = recap(r.stdout)
    # n4 had fetched 2.7.0 in the first run: only its schedule changes.
    assert {h: rows[h]['changed'] for h in NODES} == {'n1': 0, 'n2': 0, 'n3': 0, 'n4': 1}, rows
    with open(os.path.join(fleet.home('n4'), '.nearup', 'upgrade.json')) as fh:
        assert json.load(fh)['at_height'] == height


def upstreams(fleet):
    """{name: (zone, state)} from the gateway's /upstreams."""
    status, body = http(f'http://127.0.0.1:{fleet.gateway_port}/upstreams', timeout=2)
    assert status == 200
    return {u['name']: (u['zone'], u['state']) for u in body['upstreams']}


def test_remove_node_then_add_node(fleet):
    r = fleet.play('remove-node.yml', '-e', 'nearup_remove=n4')
    assert r.returncode == 0, r.stdout + r.stderr
    ini = open(fleet.gateway['nearup_gateway_config']).read()
    assert '[upstream n4]' not in ini and '[upstream n3]' in ini
    wait_until(lambda: sorted(upstreams(fleet)) == ['n1', 'n2', 'n3'], 20, interval=0.2,
               what='the gateway without n4')
    n4 = fleet.hosts['n4']
    st = json.loads(subprocess.run([NEARUP, 'status', '--home', fleet.home('n4'), '--json'],
                                   capture_output=True, text=True, timeout=60,
                                   env={**os.environ, **n4['nearup_env']}).stdout)
    assert [n['state'] for n in st['nodes']] == ['down']
    assert not os.path.exists(os.path.join(fleet.home('n4'), '.nearup', 'health.pid'))
    assert os.path.isdir(os.path.join(fleet.home('n4'), 'data'))  # the data stays
    assert fleet.version('n4') is None
    # Again: nothing left to do.
    r = fleet.play('remove-node.yml', '-e', 'nearup_remove=n4')
    assert r.returncode == 0, r.stdout + r.stderr
    assert {h: recap(r.stdout)[h]['changed'] for h in ('gw', 'n4')} == {'gw': 0, 'n4': 0}

    fleet.add_host('n5', zone='zone-c', nearup_neard_version='2.5.0')
    fleet.write_inventory(['n1', 'n2', 'n3', 'n5'])
    r = fleet.play('add-node.yml', '-e', 'nearup_add=n5')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(recap(r.stdout)) == ['gw', 'localhost', 'n5']
    assert fleet.version('n5') == '2.5.0'
    assert f'[upstream n5]\nurl = {fleet.url("n5")}\nzone = zone-c\n' in open(
        fleet.gateway['nearup_gateway_config']).read()
    wait_until(lambda: upstreams(fleet).get('n5') == ('zone-c', 'ok'), 20, interval=0.2,
               what='n5 in the gateway, ok')
    assert sorted(upstreams(fleet)) == ['n1', 'n2', 'n3', 'n5']
