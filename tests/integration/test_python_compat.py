"""The Python nearup's command surface (docs/python-nearup.md): its spellings
work with their meaning and one hint line each at nearup's own; its flags
that mean nothing here are refused with what to use instead; and what it
leaves behind is honoured: a neard it still runs (~/.nearup/node.pid) keeps
nearup from starting a second node beside it and is stopped by `nearup
stop`, its logs (~/.nearup/logs) are found by `nearup logs`."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import NEARD_SIM, NEARUP, edit_config, free_port, load_json, run_sim, wait_until
pytest.register_assert_rewrite('nodeutil')
from nodeutil import alive, init_home, pid_gone, read_pidfile, run_json

pytest_plugins = ('nodeutil',)  # the nu fixture

RUST_LOG = 'RUST_LOG=debug,actix_web=info'
HINT_LOCALNET = 'nearup: hint: nearup run localnet is spelled nearup localnet here\n'


def hint(written, spelled):
    return f'nearup: hint: {written} is spelled {spelled} here\n'


def addrs():
    return ['--rpc-addr', f'127.0.0.1:{free_port()}', '--network-addr', f'127.0.0.1:{free_port()}']


@pytest.fixture
def bindir(tmp_path):
    """What the Python nearup's --binary-path names: a directory holding neard."""
    d = tmp_path / 'target' / 'release'
    d.mkdir(parents=True)
    (d / 'neard').symlink_to(NEARD_SIM)
    return d


def nearup_dir(nu):
    return os.path.join(nu.env['HOME'], '.nearup')


def on_tty(nu, args, answer, timeout=120):
    """nearup with a terminal on stdin that answers `answer`."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([NEARUP, *[str(a) for a in args]], stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=nu.env,
                             text=True)
        os.close(slave)
        slave = None
        os.write(master, answer.encode())
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)


# ---- spellings ----

def test_run_localnet_is_localnet_with_python_flags(nu, tmp_path, bindir):
    root = tmp_path / 'localnet'
    nu.homes.add(str(root))
    r = nu('run', 'localnet', '--num-nodes', '2', '--binary-path', bindir, '--home', root,
           '--verbose', '--no-watcher')
    assert r.returncode == 0, r.stderr
    assert r.stderr == (HINT_LOCALNET + hint('--num-nodes N', '--nodes N') +
                        hint('--verbose', f'--env {RUST_LOG}') +
                        hint('--no-watcher', '--restart no'))
    assert r.stdout.splitlines()[0] == f'localnet in {root}: 2 nodes (new)'
    assert sorted(os.listdir(root)) == ['node0', 'node1']
    for i in range(2):
        rc = run_json(root / f'node{i}')
        assert (rc['network'], rc['binary']) == ('localnet', str(bindir / 'neard'))
        assert (rc['env'], rc['restart']) == ([RUST_LOG], 'no')
    pids = [read_pidfile(root / f'node{i}', 'neard.pid') for i in range(2)]
    assert all(alive(p) for p in pids)
    # `nearup stop` alone stops the one localnet, as the Python nearup's did.
    r = nu('stop')
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f'nearup stop: stopped neard (pid {pids[0][0]}) of {root}/node0\n'
                        f'nearup stop: stopped neard (pid {pids[1][0]}) of {root}/node1\n')
    assert not any(alive(p) for p in pids)


def test_run_localnet_shards_archival_fixed_tracked(nu, tmp_path, bindir):
    root = tmp_path / 'localnet'
    nu.homes.add(str(root))
    r = nu('run', 'localnet', '--binary-path', bindir, '--home', root, '--num-nodes', '3',
           '--num-shards', '4', '--fix-accounts', '--archival-nodes', '--tracked-shards', 'none')
    assert r.returncode == 0, r.stderr
    assert r.stderr == (HINT_LOCALNET + hint('--num-nodes N', '--nodes N') +
                        hint('--num-shards N', '--shards N'))
    assert sorted(os.listdir(root)) == ['node0', 'node1', 'node2']
    for i in range(3):
        cfg = load_json(root / f'node{i}' / 'config.json')
        assert cfg['archive'] is True
        assert cfg['tracked_shards_config'] == 'NoShards'
        layout = load_json(root / f'node{i}' / 'genesis.json')['shard_layout']
        assert layout['V1']['fixed_shards'] == ['shard0', 'shard1', 'shard2']
    nu.ok('stop', '--home', root)

    # --fix-accounts with one shard passes nothing, as the Python nearup did.
    other = tmp_path / 'one'
    nu.homes.add(str(other))
    nu.ok('localnet', '--binary-path', bindir, '--home', other, '--nodes', '1', '--fix-accounts')
    assert 'V1' not in load_json(other / 'node0' / 'genesis.json')['shard_layout']
    assert load_json(other / 'node0' / 'config.json').get('archive') is None
    assert load_json(other / 'node0' / 'config.json')['tracked_shards_config'] == 'AllShards'
    nu.ok('stop', '--home', other)


def test_override_makes_a_new_localnet(nu, tmp_path, bindir):
    root = tmp_path / 'localnet'
    nu.homes.add(str(root))
    nu.ok('run', 'localnet', '--num-nodes', '2', '--binary-path', bindir, '--home', root)
    marker = root / 'node0' / 'marker'
    marker.write_text('from the old localnet')
    r = nu('run', 'localnet', '--override', '--num-nodes', '3', '--home', root)
    assert r.returncode == 1
    assert r.stderr == (HINT_LOCALNET + hint('--num-nodes N', '--nodes N') +
                        f'nearup localnet: node0 of {root} is running; stop it '
                        f'(nearup stop --home {root}) before --override\n')
    nu.ok('stop', '--home', root)
    r = nu('run', 'localnet', '--override', '--num-nodes', '3', '--binary-path', bindir,
           '--home', root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f'localnet in {root}: 3 nodes (new)'
    assert sorted(os.listdir(root)) == ['node0', 'node1', 'node2']
    assert not marker.exists()
    nu.ok('stop', '--home', root)


def test_override_with_a_bad_binary_keeps_the_localnet(nu, tmp_path, bindir):
    root = tmp_path / 'localnet'
    nu.homes.add(str(root))
    nu.ok('run', 'localnet', '--num-nodes', '2', '--binary-path', bindir, '--home', root)
    nu.ok('stop', '--home', root)
    marker = root / 'node1' / 'marker'
    marker.write_text('kept')
    missing = tmp_path / 'no-such-dir'
    r = nu('localnet', '--override', '--binary-path', missing, '--home', root)
    assert r.returncode == 1
    assert r.stderr == (f'nearup localnet: no executable neard at {missing}; '
                        'check --binary-path\n')
    assert sorted(os.listdir(root)) == ['node0', 'node1']
    assert marker.read_text() == 'kept'


def test_run_testnet_with_account_binary_dir_and_boot_nodes(nu, tmp_path, bindir, bucket):
    home = tmp_path / 'near' / 'testnet'
    boot = 'ed25519:6DSjZ8mvsRZDvFqFxo8tCKePG96omXW7eVYVSySmDk8e@127.0.0.1:1'
    r = nu('run', 'testnet', '--account-id', 'alice.testnet', '--binary-path', bindir,
           '--home', home, '--boot-nodes', boot, '--release-url', bucket.url)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''  # every word is nearup's own spelling too
    assert load_json(home / 'validator_key.json')['account_id'] == 'alice.testnet'
    assert load_json(home / 'genesis.json')['chain_id'] == 'testnet'
    rc = run_json(home)
    assert (rc['binary'], rc['args']) == (str(bindir / 'neard'), ['--boot-nodes', boot])
    assert (rc['env'], rc['restart']) == ([], 'always')
    nu.ok('stop', '--home', home)
    # Run again the Python nearup's way, louder and without restarts.
    r = nu('run', 'testnet', '--verbose', '--no-watcher', '--home', home)
    assert r.returncode == 0, r.stderr
    assert r.stderr == hint('--verbose', f'--env {RUST_LOG}') + hint('--no-watcher',
                                                                      '--restart no')
    rc = run_json(home)
    assert (rc['env'], rc['restart'], rc['binary']) == ([RUST_LOG], 'no', str(bindir / 'neard'))
    nu.ok('stop', '--home', home)


def test_binary_path_dir_without_neard(nu, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    r = nu('run', 'simnet', '--home', tmp_path / 'h', '--binary-path', empty)
    assert r.returncode == 1
    assert r.stderr == (f'nearup run: neard binary {empty}/neard: No such file or directory; '
                        'check --binary-path\n')


def test_interactive_run_asks_for_the_account(nu, tmp_path, bindir):
    home = tmp_path / 'h'
    nu.homes.add(str(home))
    code, out, err = on_tty(nu, ['run', 'simnet', '--interactive', '--binary-path', bindir,
                                 '--home', home, *addrs()], ' bob.test \n')
    assert code == 0, err
    assert err == 'account id this node validates for (empty: none): '
    assert load_json(home / 'validator_key.json')['account_id'] == 'bob.test'
    nu.ok('stop', '--home', home)
    # A home made already asks nothing.
    code, out, err = on_tty(nu, ['run', 'simnet', '--interactive', '--home', home], '')
    assert (code, err) == (0, '')
    nu.ok('stop', '--home', home)


def test_interactive_without_a_terminal(nu, tmp_path, bindir):
    r = nu('run', 'simnet', '--interactive', '--binary-path', bindir, '--home', tmp_path / 'h')
    assert r.returncode == 2
    assert r.stderr == ("nearup run: --interactive asks on a terminal, and stdin is not one; "
                        "pass --account-id A instead; see 'nearup run --help'\n")
    assert not os.path.exists(tmp_path / 'h')
    r = nu('run', 'localnet', '--interactive', '--binary-path', bindir, '--home', tmp_path / 'l')
    assert r.returncode == 2
    assert r.stderr == (HINT_LOCALNET + "nearup localnet: --interactive asks on a terminal, and "
                        "stdin is not one; pass --nodes N instead; see 'nearup localnet --help'\n")
    assert not os.path.exists(tmp_path / 'l')


def test_interactive_localnet_asks_for_the_nodes(nu, tmp_path, bindir):
    root = tmp_path / 'localnet'
    nu.homes.add(str(root))
    code, out, err = on_tty(nu, ['run', 'localnet', '--interactive', '--binary-path', bindir,
                                 '--home', root], '2\n')
    assert code == 0, err
    assert err == HINT_LOCALNET + 'number of nodes [4]: '
    assert out.splitlines()[0] == f'localnet in {root}: 2 nodes (new)'
    nu.ok('stop', '--home', root)


def test_refused_flags_say_what_to_use(nu, tmp_path):
    r = nu('run', 'simnet', '--neard-log', 'debug')
    assert (r.returncode, r.stdout) == (2, '')
    assert r.stderr == ("nearup run: --neard-log: the Python nearup's: deprecated there already; "
                        "pass --env RUST_LOG=FILTER (or --verbose); see 'nearup run --help'\n")
    r = nu('stop', '--keep-watcher')
    assert r.returncode == 2
    assert r.stderr == ("nearup stop: --keep-watcher: the Python nearup's: there is no watcher to "
                        "keep; a node's supervisor always stops with it, so leave the flag out; "
                        "see 'nearup stop --help'\n")
    r = nu('restart', 'testnet', '--verbose')
    assert r.returncode == 2
    assert r.stderr == ("nearup restart: --verbose: the Python nearup's: restart keeps the "
                        "settings of the node's last 'nearup run'; stop it and run it again with "
                        "--verbose; see 'nearup restart --help'\n")
    r = nu('localnet', '--no-watcher=yes')
    assert r.returncode == 2
    assert r.stderr == "nearup localnet: --no-watcher takes no value; see 'nearup localnet --help'\n"


def test_restart_network_and_logs_l(nu, tmp_path):
    r = nu('run', 'simnet', '--binary-path', NEARD_SIM, *addrs())
    home = os.path.join(nu.env['HOME'], '.near', 'simnet')
    nu.homes.add(home)
    assert r.returncode == 0, r.stderr
    before = read_pidfile(home, 'neard.pid')
    r = nu('restart', 'simnet', '--restart-watcher')
    assert r.returncode == 0, r.stderr
    assert r.stderr == hint('nearup restart simnet', 'nearup restart --home ~/.near/simnet')
    after = read_pidfile(home, 'neard.pid')
    assert alive(after) and after != before and pid_gone(before[0])
    r = nu('logs', '-l', '2')
    assert r.returncode == 0, r.stderr
    assert r.stderr == hint('-l N', '-n N')
    with open(os.path.join(home, '.nearup', 'logs', 'neard.log')) as fh:
        assert r.stdout.splitlines() == fh.read().splitlines()[-2:]
    nu.ok('stop', '--home', home)


# ---- what the Python nearup leaves behind ----

class PythonNode:
    """A neard the Python nearup started: `<dir>/neard --home H run`, and
    "pid|neard|network" in ~/.nearup/node.pid (a localnet: one line per
    node, each with "\\n"). Its output goes beside ~/.nearup/logs/, whose
    files the tests write themselves, so that what `nearup logs` prints is
    known exactly."""

    def __init__(self, nu, bindir):
        self.nu, self.bindir, self.procs = nu, bindir, []
        self.dir = nearup_dir(nu)
        os.makedirs(os.path.join(self.dir, 'logs', 'localnet'), exist_ok=True)

    def start(self, home):
        self.nu.homes.add(str(home))
        with open(os.path.join(str(home), 'neard-output.log'), 'ab') as fh:
            p = subprocess.Popen([str(self.bindir / 'neard'), '--home', str(home), 'run'],
                                 stdout=fh, stderr=fh, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        cfg = load_json(os.path.join(str(home), 'config.json'))
        port = int(cfg['rpc']['addr'].rsplit(':', 1)[1])
        wait_until(lambda: p.poll() is None and _answers(port), 20, what='python node rpc')
        return p

    def write_pidfile(self, network, newline=False):
        lines = [f'{p.pid}|neard|{network}' + ('\n' if newline else '') for p in self.procs]
        with open(os.path.join(self.dir, 'node.pid'), 'w') as fh:
            fh.write(''.join(lines))

    def pidfile(self):
        return os.path.join(self.dir, 'node.pid')

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def _answers(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def python(nu, bindir):
    py = PythonNode(nu, bindir)
    yield py
    py.kill()


def python_testnet_home(nu):
    """~/.near/testnet as the Python nearup made it (here by neard-sim init)."""
    home = os.path.join(nu.env['HOME'], '.near', 'testnet')
    init_home(home)
    edit_config(home, lambda c: c.update(rpc=dict(c['rpc'], addr=f'127.0.0.1:{free_port()}'),
                                         network=dict(c['network'],
                                                      addr=f'127.0.0.1:{free_port()}')))
    return home


def test_a_running_python_node_is_not_doubled_and_stop_stops_it(nu, tmp_path, python):
    home = python_testnet_home(nu)
    log = os.path.join(python.dir, 'logs', 'testnet.log')
    with open(log, 'w') as fh:
        fh.write('first line\nlast line one\nlast line two\n')
    p = python.start(home)
    python.write_pidfile('testnet')
    refusal = (f"the Python nearup's neard is running (pid {p.pid}, in {python.pidfile()}); "
               "stop it first with 'nearup stop'\n")
    r = nu('run', 'testnet', '--home', tmp_path / 'other', '--binary-path', NEARD_SIM)
    assert (r.returncode, r.stdout, r.stderr) == (1, '', 'nearup run: ' + refusal)
    r = nu('localnet', '--home', tmp_path / 'ln', '--binary-path', NEARD_SIM)
    assert (r.returncode, r.stdout, r.stderr) == (1, '', 'nearup localnet: ' + refusal)
    assert not os.path.exists(tmp_path / 'other') and not os.path.exists(tmp_path / 'ln')

    # status shows it, logs reads its log.
    node = json.loads(nu.ok('status', '--json').stdout)['nodes']
    assert [(n['home'], n['network'], n['state'], n['pid']) for n in node] == \
        [(home, 'testnet', 'up', p.pid)]
    assert node[0]['supervisor'] == {'pid': None, 'state': 'python-nearup', 'restarts': None}
    assert nu.ok('logs', '-n', '2').stdout == 'last line one\nlast line two\n'
    assert nu.ok('logs', '--home', home, '-n', '1').stdout == 'last line two\n'

    r = nu('stop')
    assert r.returncode == 0, r.stderr
    assert r.stdout == f'nearup stop: stopped neard (pid {p.pid}) of {home}\n'
    assert p.wait(10) == 0  # neard-sim exits 0 on SIGTERM
    assert not os.path.exists(python.pidfile())
    # Its log is still found once it is gone (and followed), and nothing
    # blocks a run now.
    assert nu.ok('logs', '-n', '1').stdout == 'last line two\n'
    follower = nu.popen('logs', '--follow', '-n', '0')
    time.sleep(0.3)
    with open(log, 'a') as fh:
        fh.write('followed\n')
    time.sleep(0.5)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=10)
    assert (follower.returncode, out, err) == (0, 'followed\n', '')
    r, _ = nu.run_node(tmp_path / 'other', network='simnet')
    assert r.stderr == ''
    nu.ok('stop', '--home', tmp_path / 'other')


def test_stale_python_pid_files_are_ignored(nu, tmp_path, python):
    # A pid that is gone, and one that lives but is no neard (a reused pid).
    gone = subprocess.Popen(['true'])
    gone.wait()
    sleeper = subprocess.Popen(['sleep', '60'])
    try:
        with open(python.pidfile(), 'w') as fh:
            fh.write(f'{gone.pid}|neard|testnet\n{sleeper.pid}|neard|testnet\n')
        r, _ = nu.run_node(tmp_path / 'h', network='simnet')
        assert r.stderr == ''
        r = nu('stop', '--all')
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith('nearup stop: stopped neard (pid ')
        assert sleeper.poll() is None  # never signalled
        assert os.path.exists(python.pidfile())  # not nearup's to remove
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_python_localnet_stops_together_and_its_logs_are_found(nu, tmp_path, python):
    root = os.path.join(nu.env['HOME'], '.near', 'localnet')
    r = run_sim(root, 'localnet', '-v', '2')
    assert r.returncode == 0, r.stderr
    procs = [python.start(os.path.join(root, f'node{i}')) for i in range(2)]
    python.write_pidfile('localnet', newline=True)
    r = nu('logs')
    assert r.returncode == 2
    assert r.stderr == ("nearup logs: the Python nearup ran a localnet, one log per node in "
                        f"{python.dir}/logs/localnet; pass --home ROOT --node I\n")
    with open(os.path.join(python.dir, 'logs', 'localnet', 'node1.log'), 'w') as fh:
        fh.write('node1 says hi\nnode1 says bye\n')
    assert nu.ok('logs', '--home', root, '--node', '1', '-n', '1').stdout == 'node1 says bye\n'
    homes = [n['home'] for n in json.loads(nu.ok('status', '--home', root, '--json').stdout)
             ['nodes']]
    assert homes == [f'{root}/node0', f'{root}/node1']

    r = nu('stop')
    assert r.returncode == 0, r.stderr
    assert r.stdout == ''.join(f'nearup stop: stopped neard (pid {p.pid}) of {root}/node{i}\n'
                               for i, p in enumerate(procs))
    assert [p.wait(10) for p in procs] == [0, 0]
    assert not os.path.exists(python.pidfile())


def test_stop_home_stops_one_python_localnet_node(nu, python):
    root = os.path.join(nu.env['HOME'], '.near', 'localnet')
    assert run_sim(root, 'localnet', '-v', '2').returncode == 0
    procs = [python.start(os.path.join(root, f'node{i}')) for i in range(2)]
    python.write_pidfile('localnet', newline=True)
    r = nu('stop', '--home', os.path.join(root, 'node1'))
    assert r.stdout == f'nearup stop: stopped neard (pid {procs[1].pid}) of {root}/node1\n'
    with open(python.pidfile()) as fh:
        assert fh.read() == f'{procs[0].pid}|neard|localnet\n'
    r = nu('stop', '--home', root)
    assert r.stdout == f'nearup stop: stopped neard (pid {procs[0].pid}) of {root}/node0\n'
    assert not os.path.exists(python.pidfile())
