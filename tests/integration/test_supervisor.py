"""The per-home supervisor: one per home (lock), pid files with start
times, restarts with backoff, giving up on a crash loop, restart policies,
stop (SIGTERM, then SIGKILL with a warning), and recovery after kill -9."""
import hashlib
import json
import os
import re
import signal
import socket
import time
import urllib.request

import pytest

from conftest import NEARD_SIM, free_port, load_json, wait_until
pytest.register_assert_rewrite('nodeutil')
from nodeutil import (alive, fake_neard, init_home, log_text, neards_of, pid_gone, read_pidfile,
                      run_json, status_json, wait_status)

pytest_plugins = ('nodeutil',)  # the nu fixture


def started_line(home, version, pid, port):
    return (f'nearup run: neard {version} running for {home} (pid {pid}), '
            f'rpc http://127.0.0.1:{port}, logs {home}/.nearup/logs/neard.log\n')


def test_run_then_stop_leaves_no_process(nu, tmp_path):
    home = tmp_path / 'node'
    r, port = nu.run_node(home)
    neard, sup = read_pidfile(home, 'neard.pid'), read_pidfile(home, 'supervisor.pid')
    assert r.stdout == started_line(home, '2.4.0', neard[0], port)
    assert r.stderr == ''
    assert alive(neard) and alive(sup)
    st = status_json(home)
    assert st['state'] == 'running'
    assert st['supervisor_pid'] == sup[0] and st['neard_pid'] == neard[0]
    assert st['restarts'] == 0 and st['last_exit'] is None
    assert st['neard_version'] == '2.4.0' and st['binary'] == NEARD_SIM

    r = nu('stop', '--home', home)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f'nearup stop: stopped neard (pid {neard[0]}) of {home}\n'
    assert r.stderr == ''
    assert pid_gone(neard[0]) and pid_gone(sup[0])
    assert neards_of(home) == []
    assert not os.path.exists(home / '.nearup' / 'neard.pid')
    assert not os.path.exists(home / '.nearup' / 'supervisor.pid')
    st = status_json(home)
    assert st['state'] == 'stopped' and st['neard_pid'] is None
    assert st['last_exit']['code'] == 0 and st['last_exit']['signal'] is None
    assert 'WARN neard: SIGTERM, stopping...' in log_text(home)

    r = nu('stop', '--home', home)
    assert (r.returncode, r.stdout) == (0, f'nearup stop: nothing running for {home}\n')
    r = nu('stop')
    assert (r.returncode, r.stdout) == (0, 'nearup stop: nothing running\n')


def test_concurrent_runs_start_exactly_one_neard(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    port, net = free_port(), free_port()
    args = ('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM,
            '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{net}')
    procs = [nu.popen(*args) for _ in range(3)]
    results = [p.communicate(timeout=90) + (p.returncode,) for p in procs]
    codes = sorted(rc for _, _, rc in results)
    assert codes == [0, 1, 1], results
    sup = read_pidfile(home, 'supervisor.pid')
    for out, err, rc in results:
        if rc == 1:
            assert out == ''
            assert err == (f'nearup run: a node is already running for {home} (supervisor pid '
                           f'{sup[0]}); use \'nearup stop --home {home}\'\n')
    assert neards_of(home) == [read_pidfile(home, 'neard.pid')[0]]
    nu.ok('stop', '--home', home)
    assert neards_of(home) == []


def test_kill_9_of_neard_restarts_it(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home)
    old = read_pidfile(home, 'neard.pid')
    os.kill(old[0], signal.SIGKILL)
    st = wait_status(home, lambda s: s['restarts'] == 1 and s['state'] == 'running')
    new = read_pidfile(home, 'neard.pid')
    assert new[0] != old[0] and alive(new) and pid_gone(old[0])
    assert st['neard_pid'] == new[0]
    assert st['last_exit']['signal'] == 9 and st['last_exit']['code'] is None
    log = log_text(home)
    assert (f'msg="neard exited" pid={old[0]} how="killed by signal 9 (Killed)"') in log
    assert 'msg="restarting neard" in_s=1' in log
    assert f'msg="started neard" pid={new[0]} ' in log
    assert neards_of(home) == [new[0]]


def test_kill_9_of_supervisor_takes_neard_down_and_run_recovers(nu, tmp_path):
    home = tmp_path / 'node'
    _, port = nu.run_node(home)
    sup, neard = read_pidfile(home, 'supervisor.pid'), read_pidfile(home, 'neard.pid')
    os.kill(sup[0], signal.SIGKILL)
    wait_until(lambda: pid_gone(neard[0]), 20, what='neard to follow its supervisor')
    # The pid files are stale now: they name dead processes.
    assert read_pidfile(home, 'supervisor.pid') == sup
    assert read_pidfile(home, 'neard.pid') == neard
    r = nu('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM,
           '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    assert r.returncode == 0, r.stderr
    sup2, neard2 = read_pidfile(home, 'supervisor.pid'), read_pidfile(home, 'neard.pid')
    assert alive(sup2) and alive(neard2)
    assert sup2 != sup and neard2 != neard
    assert neards_of(home) == [neard2[0]]
    nu.ok('stop', '--home', home)


def test_stale_pid_files_from_a_reboot_are_replaced(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    (home / '.nearup').mkdir()
    # pid 1 exists but with another start time: a recycled pid after a reboot.
    for name in ('supervisor.pid', 'neard.pid'):
        (home / '.nearup' / name).write_text('1 999999999\n')
    nu.run_node(home)
    assert read_pidfile(home, 'neard.pid')[0] != 1 and alive(read_pidfile(home, 'neard.pid'))
    r = nu.ok('stop', '--home', home)
    assert r.stdout.startswith('nearup stop: stopped neard (pid ')
    assert alive((1, read_pidfile_start(1)))


def read_pidfile_start(pid):
    with open(f'/proc/{pid}/stat') as fh:
        return int(fh.read().rsplit(')', 1)[1].split()[19])


def test_stop_timeout_ends_in_sigkill_with_a_warning(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    stubborn = fake_neard(tmp_path, ignore_term=1)
    r, _ = nu.run_node(home, '--stop-timeout', '1', binary=stubborn)
    assert 'neard 9.9.9 running' in r.stdout
    neard = read_pidfile(home, 'neard.pid')
    r = nu('stop', '--home', home)
    assert r.returncode == 0
    assert r.stderr == (f'nearup stop: warning: neard (pid {neard[0]}) of {home} did not stop in '
                        f'time after SIGTERM; killed it with SIGKILL\n')
    assert r.stdout == f'nearup stop: stopped neard (pid {neard[0]}) of {home}\n'
    assert pid_gone(neard[0]) and neards_of(home) == []
    assert ('msg="neard did not stop in time after SIGTERM; sending SIGKILL" '
            f'pid={neard[0]} timeout_s=1') in log_text(home)
    assert status_json(home)['last_exit']['signal'] == 9


def test_orphaned_stubborn_neard_is_stopped_directly(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    stubborn = fake_neard(tmp_path, ignore_term=1)
    nu.run_node(home, binary=stubborn)
    sup, neard = read_pidfile(home, 'supervisor.pid'), read_pidfile(home, 'neard.pid')
    os.kill(sup[0], signal.SIGKILL)  # PDEATHSIG's SIGTERM is ignored: neard lives on
    wait_until(lambda: pid_gone(sup[0]), 10, what='supervisor gone')
    time.sleep(0.3)
    assert alive(neard)
    r = nu('stop', '--home', home, '--timeout', '1')
    assert r.returncode == 0
    assert r.stderr == (f'nearup stop: warning: neard (pid {neard[0]}) of {home} did not stop in '
                        f'time after SIGTERM; killed it with SIGKILL\n')
    assert pid_gone(neard[0])
    assert not os.path.exists(home / '.nearup' / 'neard.pid')


def test_new_supervisor_waits_for_a_previous_neard_of_the_home(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    stubborn = fake_neard(tmp_path, ignore_term=1)
    _, port = nu.run_node(home, binary=stubborn)
    sup, old = read_pidfile(home, 'supervisor.pid'), read_pidfile(home, 'neard.pid')
    os.kill(sup[0], signal.SIGKILL)  # the orphan ignores PDEATHSIG's SIGTERM and holds the port
    wait_until(lambda: pid_gone(sup[0]), 10, what='supervisor gone')
    r = nu('run', 'simnet', '--home', home, '--binary-path', stubborn, '--stop-timeout', '1',
           '--rpc-addr', f'127.0.0.1:{port}')
    assert r.returncode == 0, r.stderr
    new = read_pidfile(home, 'neard.pid')
    assert pid_gone(old[0]) and alive(new) and new != old
    assert neards_of(home) == [new[0]]
    log = log_text(home)
    assert f'msg="waiting for a previous neard of this home to exit" pid={old[0]}' in log
    assert f'msg="previous neard did not stop in time; sending SIGKILL" pid={old[0]}' in log
    assert log.index('msg="previous neard is gone"') < log.index(f'msg="started neard" pid={new[0]}')


def test_crash_loop_gives_up_with_reason_and_last_lines(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    crasher = fake_neard(tmp_path, exit=3, lines=2)
    r = nu('run', 'simnet', '--home', home, '--binary-path', crasher, '--foreground',
           timeout=120)
    assert r.returncode == 1
    why = ('neard exited 5 times in a row within 10 s of starting (last: exit code 3); '
           'not restarting it')
    assert r.stderr.endswith(f'nearup run: {why}; last lines of neard:\n'
                             '  fake neard line 1\n  fake neard line 2\n'), r.stderr
    st = status_json(home)
    assert st['state'] == 'gave_up' and st['restarts'] == 4
    assert st['reason'] == f'{why}; last lines of neard:\nfake neard line 1\nfake neard line 2'
    assert st['last_lines'] == ['fake neard line 1', 'fake neard line 2']
    assert st['last_exit']['code'] == 3
    log = log_text(home)
    assert log.count('msg="restarting neard"') == 4
    for secs in (1, 2, 4, 8):
        assert f'msg="restarting neard" in_s={secs}\n' in log
    assert f'level=error component=nearup msg="{why}"' in log
    assert not os.path.exists(home / '.nearup' / 'supervisor.pid')


def test_restart_no_leaves_it_stopped(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home, '--restart', 'no')
    sup, neard = read_pidfile(home, 'supervisor.pid'), read_pidfile(home, 'neard.pid')
    os.kill(neard[0], signal.SIGKILL)
    st = wait_status(home, lambda s: s['state'] == 'stopped')
    assert st['restarts'] == 0
    assert st['reason'] == 'neard exited (killed by signal 9 (Killed)); restart policy is no'
    wait_until(lambda: pid_gone(sup[0]), 10, what='supervisor exit')
    assert neards_of(home) == []
    assert run_json(home)['restart'] == 'no'


def test_restart_on_failure_restarts_crashes_but_not_clean_exits(nu, tmp_path):
    home = tmp_path / 'node'
    _, port = nu.run_node(home, '--restart', 'on-failure')
    first = read_pidfile(home, 'neard.pid')
    os.kill(first[0], signal.SIGKILL)
    wait_status(home, lambda s: s['restarts'] == 1 and s['state'] == 'running')
    second = read_pidfile(home, 'neard.pid')
    # A clean exit: neard stops itself (exit 0) at expected_shutdown.
    cfg_path = home / 'config.json'
    cfg = load_json(cfg_path)
    head = nu_height(port)
    cfg['expected_shutdown'] = head + 2
    cfg_path.write_text(json.dumps(cfg, indent=2))
    os.kill(second[0], signal.SIGHUP)
    st = wait_status(home, lambda s: s['state'] == 'stopped', timeout=30)
    assert st['last_exit'] == {'code': 0, 'signal': None, 'at': st['last_exit']['at']}
    assert st['reason'] == 'neard exited (exit code 0); restart policy is on-failure'
    assert st['restarts'] == 1
    # status.json says stopped just before the supervisor exits
    sup = read_pidfile(home, 'supervisor.pid')
    wait_until(lambda: sup is None or not alive(sup), 10, what='supervisor exit')
    assert neards_of(home) == []


def nu_height(port):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/status', timeout=5) as resp:
        return json.loads(resp.read())['sync_info']['latest_block_height']


def test_foreground_stops_cleanly_on_sigterm(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    port = free_port()
    p = nu.popen('run', 'simnet', '--home', home, '--binary-path', NEARD_SIM, '--foreground',
                 '--rpc-addr', f'127.0.0.1:{port}', '--network-addr', f'127.0.0.1:{free_port()}')
    wait_status(home, lambda s: s['state'] == 'running')
    neard = read_pidfile(home, 'neard.pid')
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert 'msg="neard answers /status"' in err  # the supervisor's lines go to stderr too
    assert 'msg=stopping signal=SIGTERM' in err
    assert pid_gone(neard[0]) and neards_of(home) == []
    assert status_json(home)['state'] == 'stopped'


def test_restart_command_uses_run_json(nu, tmp_path):
    home = tmp_path / 'node'
    _, port = nu.run_node(home, '--env', 'RUST_LOG=debug')
    before = read_pidfile(home, 'neard.pid')
    r = nu('restart', '--home', home)
    assert r.returncode == 0, r.stderr
    after = read_pidfile(home, 'neard.pid')
    assert after != before and alive(after) and pid_gone(before[0])
    assert r.stdout == (f'nearup restart: neard 2.4.0 running for {home} (pid {after[0]}), '
                        f'rpc http://127.0.0.1:{port}, logs {home}/.nearup/logs/neard.log\n')
    with open(f'/proc/{after[0]}/environ', 'rb') as fh:
        env = fh.read().split(b'\0')
    assert b'RUST_LOG=debug' in env and b'RUST_BACKTRACE=1' in env
    assert neards_of(home) == [after[0]]


def run_slow_node(nu, tmp_path, home):
    """A node whose neard never answers /status (it is still starting when
    `nearup run --ready-timeout 1` gives up on it); returns its neard pid."""
    init_home(home)
    slow = fake_neard(tmp_path, delay=600)
    r = nu('run', 'simnet', '--home', home, '--binary-path', slow, '--ready-timeout', '1',
           '--rpc-addr', f'127.0.0.1:{free_port()}', '--network-addr',
           f'127.0.0.1:{free_port()}')
    assert r.returncode == 1, r.stderr
    return read_pidfile(home, 'neard.pid')


def test_restart_ready_timeout_leaves_the_node_starting(nu, tmp_path):
    home = tmp_path / 'node'
    before = run_slow_node(nu, tmp_path, home)
    r = nu('restart', '--home', home, '--ready-timeout', '1')
    assert r.returncode == 1
    assert (r.stdout, r.stderr) == ('', "nearup restart: neard did not answer /status within 1 s; "
                                        "it keeps starting in the background (see 'nearup logs "
                                        f"--home {home}')\n")
    after = read_pidfile(home, 'neard.pid')
    assert pid_gone(before[0]) and alive(after)
    assert status_json(home)['state'] == 'starting'
    assert neards_of(home) == [after[0]]
    nu.ok('stop', '--home', home)
    assert neards_of(home) == []


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_restart_interrupted_while_waiting_stops_the_node(nu, tmp_path, sig):
    home = tmp_path / 'node'
    before = run_slow_node(nu, tmp_path, home)
    p = nu.popen('restart', '--home', home)
    neard = wait_until(lambda: read_pidfile(home, 'neard.pid') not in (None, before) and
                       read_pidfile(home, 'neard.pid'), what='the new neard started')
    sup = read_pidfile(home, 'supervisor.pid')
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert (out, err) == ('', 'nearup restart: interrupted before neard answered /status; the '
                              f'node of {home} was stopped\n')
    assert pid_gone(before[0]) and not alive(neard) and not alive(sup)
    assert neards_of(home) == []
    assert status_json(home)['state'] == 'stopped'


def test_restart_ready_timeout_usage(nu, tmp_path):
    r = nu('restart', '--home', tmp_path / 'h', '--ready-timeout', '0')
    assert (r.returncode, r.stderr) == (
        2, "nearup restart: --ready-timeout: 0 is out of range [1, 86400] s; "
        "see 'nearup restart --help'\n")
    r = nu('stop', '--home', tmp_path / 'h', '--ready-timeout', '5')
    assert (r.returncode, r.stderr) == (
        2, "nearup stop: unknown option '--ready-timeout'; see 'nearup stop --help'\n")


def test_stop_all_and_several_running_need_a_choice(nu, tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    nu.run_node(a)
    nu.run_node(b)
    pa, pb = read_pidfile(a, 'neard.pid'), read_pidfile(b, 'neard.pid')
    r = nu('stop')
    assert r.returncode == 2
    assert r.stderr == (f'nearup stop: 2 nodes are running ({a}, {b}); pass --home DIR or '
                        '--all\n')
    r = nu('stop', '--all')
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f'nearup stop: stopped neard (pid {pa[0]}) of {a}\n'
                        f'nearup stop: stopped neard (pid {pb[0]}) of {b}\n')
    assert pid_gone(pa[0]) and pid_gone(pb[0])


def test_stop_of_a_localnet_root_stops_every_node(nu, tmp_path):
    root = tmp_path / 'localnet'
    pids = []
    for i in range(2):
        nu.run_node(root / f'node{i}')
        pids.append(read_pidfile(root / f'node{i}', 'neard.pid')[0])
    r = nu('stop', '--home', root)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ''.join(f'nearup stop: stopped neard (pid {p}) of {root}/node{i}\n'
                               for i, p in enumerate(pids))
    assert all(pid_gone(p) for p in pids)


def test_supervise_is_refused_while_another_holds_the_home(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home)
    sup = read_pidfile(home, 'supervisor.pid')
    r = nu('supervise', '--home', home)
    assert r.returncode == 1
    assert r.stderr == (f'nearup supervise: a node is already running for {home} '
                        f'(supervisor pid {sup[0]})\n')
    assert read_pidfile(home, 'supervisor.pid') == sup and alive(sup)


def test_neard_output_goes_to_the_log_and_survives_restarts(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home)
    first = log_text(home)
    assert 'INFO neard: version="2.4.0"' in first
    nu.ok('restart', '--home', home)
    second = log_text(home)
    assert second.startswith(first)  # appended, never truncated
    assert second.count('msg="supervisor started"') == 2


# ---- upgrades (upgrade.json as `nearup upgrade` writes it) ----

def release_wrapper(tmp_path, version):
    """A second "neard version" from the one simulator binary."""
    path = tmp_path / f'neard-{version}'
    path.write_text(f'#!/bin/sh\nNEARD_SIM_RELEASE={version} exec {NEARD_SIM} "$@"\n')
    path.chmod(0o755)
    return str(path)


def sha256_of(path):
    with open(path, 'rb') as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def write_upgrade(home, binary, at_height=None, jitter_s=0):
    """upgrade.json naming binary with its sha256 (a made-up one when the
    binary does not exist)."""
    sha = sha256_of(binary) if os.path.exists(binary) else 'ab' * 32
    (home / '.nearup' / 'upgrade.json').write_text(json.dumps({
        'version': '2.5.0', 'commit': 'c0ffee', 'sha256': sha, 'binary': binary,
        'at_height': at_height, 'jitter_s': jitter_s}))


def status_version(port):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/status', timeout=5) as resp:
        return json.loads(resp.read())['version']['version']


def test_sighup_applies_an_immediate_upgrade(nu, tmp_path):
    home = tmp_path / 'node'
    _, port = nu.run_node(home)
    cfg = load_json(home / 'config.json')
    cfg['expected_shutdown'] = 10 ** 9  # left over: the upgrade must remove it
    (home / 'config.json').write_text(json.dumps(cfg, indent=2))
    new = release_wrapper(tmp_path, '2.5.0')
    write_upgrade(home, new)
    old = read_pidfile(home, 'neard.pid')
    sup = read_pidfile(home, 'supervisor.pid')
    os.kill(sup[0], signal.SIGHUP)
    st = wait_status(home, lambda s: s['neard_version'] == '2.5.0' and s['state'] == 'running')
    assert st['restarts'] == 0 and st['binary'] == new
    assert pid_gone(old[0]) and alive(read_pidfile(home, 'neard.pid'))
    assert status_version(port) == '2.5.0'
    rc = run_json(home)
    assert (rc['binary'], rc['neard_version'], rc['neard_commit'], rc['neard_sha256']) == \
        (new, '2.5.0', 'c0ffee', sha256_of(new))
    assert not os.path.exists(home / '.nearup' / 'upgrade.json')
    after = load_json(home / 'config.json')
    del cfg['expected_shutdown']
    assert list(after) == list(cfg) and after == cfg
    log = log_text(home)
    assert 'msg="SIGHUP: stopping neard for the pending upgrade"' in log
    assert 'msg="applying upgrade" to=2.5.0 delay_s=0.0' in log
    assert f'msg="upgraded neard" from=2.4.0 to=2.5.0 binary={new}' in log
    assert neards_of(home) == [read_pidfile(home, 'neard.pid')[0]]


def test_upgrade_at_height_when_neard_stops_itself(nu, tmp_path):
    home = tmp_path / 'node'
    _, port = nu.run_node(home)
    new = release_wrapper(tmp_path, '2.5.0')
    target = nu_height(port) + 3
    write_upgrade(home, new, at_height=target, jitter_s=1)
    os.kill(read_pidfile(home, 'supervisor.pid')[0], signal.SIGHUP)  # nothing to do yet
    cfg = load_json(home / 'config.json')
    cfg['expected_shutdown'] = target
    (home / 'config.json').write_text(json.dumps(cfg, indent=2))
    os.kill(read_pidfile(home, 'neard.pid')[0], signal.SIGHUP)
    st = wait_status(home, lambda s: s['neard_version'] == '2.5.0' and s['state'] == 'running',
                     timeout=40)
    assert st['last_exit']['code'] == 0 and st['restarts'] == 0
    assert nu_height(port) >= target
    assert 'expected_shutdown' not in load_json(home / 'config.json')
    log = log_text(home)
    assert 'msg="SIGHUP: upgrade waits for neard to stop at its height"' in log
    assert re.search(r'msg="applying upgrade" to=2\.5\.0 delay_s=[01]\.\d\n', log)
    assert f'Expected shutdown triggered: head block({target}) >= ({target})' in log


def test_upgrade_to_a_missing_binary_gives_up(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home)
    write_upgrade(home, str(tmp_path / 'gone'))
    os.kill(read_pidfile(home, 'supervisor.pid')[0], signal.SIGHUP)
    st = wait_status(home, lambda s: s['state'] == 'gave_up')
    assert st['reason'] == f'upgrade failed: {tmp_path}/gone is not an executable file'
    assert run_json(home)['binary'] == NEARD_SIM
    assert neards_of(home) == []


# ---- systemd notify protocol ----

def notify_messages(sock, until, timeout=20.0):
    """Datagrams from the supervisor until until(messages) holds."""
    msgs = []
    deadline = time.monotonic() + timeout
    while not until(msgs):
        left = deadline - time.monotonic()
        assert left > 0, f'timed out; got {msgs}'
        sock.settimeout(left)
        try:
            msgs.append(sock.recv(4096).decode())
        except socket.timeout:
            continue
    return msgs


def notify_node(nu, tmp_path, watchdog_usec=600000, **fake_env):
    home = tmp_path / 'node'
    init_home(home)
    path = str(tmp_path / 'notify.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    binary = fake_neard(tmp_path, **fake_env)
    p = nu.popen('run', 'simnet', '--home', home, '--binary-path', binary, '--foreground',
                 '--rpc-addr', f'127.0.0.1:{free_port()}',
                 extra_env={'NOTIFY_SOCKET': path, 'WATCHDOG_USEC': str(watchdog_usec)})
    return home, sock, p


def drain(sock, msgs):
    sock.setblocking(False)
    while True:
        try:
            msgs.append(sock.recv(4096).decode())
        except BlockingIOError:
            return msgs


def watchdogs_after_ready(msgs):
    ready = [i for i, m in enumerate(msgs) if m.startswith('READY=1')]
    return sum(m == 'WATCHDOG=1' for m in msgs[ready[0]:]) if ready else 0


def test_notify_ready_then_watchdog_while_the_head_moves(nu, tmp_path):
    home, sock, p = notify_node(nu, tmp_path)
    with sock:
        msgs = notify_messages(sock, lambda m: watchdogs_after_ready(m) >= 3)
        neard = read_pidfile(home, 'neard.pid')
        ready = [m for m in msgs if m.startswith('READY=1')]
        assert ready == [f'READY=1\nSTATUS=neard 9.9.9 running (pid {neard[0]})']
        # Before READY only the starting status and its keep-alives (a loaded
        # machine may take more than a watchdog period to answer /status).
        before = msgs[:msgs.index(ready[0])]
        assert all(m == 'WATCHDOG=1' or m == f'STATUS=neard 9.9.9 starting (pid {neard[0]})'
                   for m in before), msgs
        with open(f'/proc/{neard[0]}/environ', 'rb') as fh:
            env = fh.read().split(b'\0')
        assert not any(e.startswith((b'NOTIFY_SOCKET=', b'WATCHDOG_USEC=')) for e in env)
        # The supervisor is nearup-supervisor in place of `nearup run` (same pid).
        with open(f'/proc/{p.pid}/cmdline', 'rb') as fh:
            argv = fh.read().split(b'\0')
        assert argv[:6] == [b'nearup-supervisor', b'--cmd', b'run', b'--home',
                            str(home).encode(), b'--notify']
        p.send_signal(signal.SIGTERM)
        msgs = notify_messages(sock, lambda m: any(x.startswith('STOPPING=1') for x in m))
        assert 'STOPPING=1\nSTATUS=stopping neard' in msgs
    p.communicate(timeout=30)
    assert p.returncode == 0


def test_notify_no_watchdog_keepalive_while_the_head_stalls(nu, tmp_path):
    home, sock, p = notify_node(nu, tmp_path, stall=1)
    with sock:
        msgs = notify_messages(sock, lambda m: any(x.startswith('READY=1') for x in m))
        time.sleep(2.0)  # about ten watchdog periods, all at the same height
        after = drain(sock, [])
        # The first height seen, with the reply that made it ready, then nothing.
        assert after == ['WATCHDOG=1']
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    assert p.returncode == 0


def between(msgs, first, then):
    """Messages after the first one starting with `first` and before the
    next one starting with `then`."""
    i = next(k for k, m in enumerate(msgs) if m.startswith(first))
    j = next(k for k in range(i + 1, len(msgs)) if msgs[k].startswith(then))
    return msgs[i + 1:j]


def test_notify_keepalives_while_neard_starts_slowly(nu, tmp_path):
    home, sock, p = notify_node(nu, tmp_path, watchdog_usec=300000, delay=1.5)
    with sock:
        msgs = notify_messages(sock, lambda m: any(x.startswith('READY=1') for x in m))
        starting = between(msgs, 'STATUS=neard 9.9.9 starting', 'READY=1')
        # 1.5 s of a neard that does not answer yet, keep-alives every 100 ms
        assert set(starting) == {'WATCHDOG=1'} and len(starting) >= 5, msgs
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    assert p.returncode == 0


def test_notify_keepalives_during_backoff(nu, tmp_path):
    home, sock, p = notify_node(nu, tmp_path, watchdog_usec=300000, exit=3)
    with sock:
        msgs = notify_messages(sock, lambda m: any('restarting in 2 s' in x for x in m))
        backoff = between(msgs, 'STATUS=neard exit code 3; restarting in 1 s',
                          'STATUS=neard 9.9.9 starting')
        # neard is down for the 1 s backoff: systemd must not kill the supervisor meanwhile
        assert set(backoff) == {'WATCHDOG=1'} and len(backoff) >= 5, msgs
        assert not any(m.startswith('READY=1') for m in msgs)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    assert p.returncode == 0
