"""neard's log under the supervisor: size rotation into zstd generations
(keeping N, each under the size, whole lines, nothing lost or truncated),
and `nearup logs` (-n, -f across rotation, --node of a localnet root)."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import wait_until
pytest.register_assert_rewrite('nodeutil')
from nodeutil import fake_neard, init_home, log_path, log_text, read_pidfile  # noqa: E402

pytest_plugins = ('nodeutil',)  # the nu fixture

MAX = 1024


def logs_dir(home):
    return os.path.dirname(log_path(home))


def unzstd(path):
    r = subprocess.run(['zstd', '-dc', path], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def chatty_numbers(text):
    return [int(m) for m in re.findall(r'^chatty (\d+)$', text, re.M)]


def all_generations(home):
    """Every kept line, oldest first: neard.log.N.zst ... .1.zst, neard.log."""
    d = logs_dir(home)
    gens = sorted((int(f.split('.')[2]) for f in os.listdir(d) if f.endswith('.zst')),
                  reverse=True)
    return ''.join(unzstd(os.path.join(d, f'neard.log.{g}.zst')) for g in gens) + log_text(home)


def run_chatty(nu, tmp_path, home, keep, chatty=4):
    init_home(home)
    binary = fake_neard(tmp_path, chatty=chatty)
    nu.run_node(home, '--log-max-size', str(MAX), '--log-keep', str(keep), binary=binary)


def test_rotation_keeps_n_compressed_generations_under_the_size(nu, tmp_path):
    home = tmp_path / 'node'
    run_chatty(nu, tmp_path, home, keep=2)
    d = logs_dir(home)
    wait_until(lambda: os.path.exists(os.path.join(d, 'neard.log.2.zst')), 30,
               what='two rotated generations')
    time.sleep(0.5)  # a few more rotations: the oldest must be dropped
    nu.ok('stop', '--home', home)
    assert sorted(os.listdir(d)) == ['neard.log', 'neard.log.1.zst', 'neard.log.2.zst']
    assert os.path.getsize(os.path.join(d, 'neard.log')) <= MAX
    for g in (1, 2):
        text = unzstd(os.path.join(d, f'neard.log.{g}.zst'))
        assert 0 < len(text) <= MAX and text.endswith('\n')
    nums = chatty_numbers(all_generations(home))
    assert nums == list(range(nums[0], nums[0] + len(nums)))  # nothing lost in between
    assert nums[0] > 1  # and the oldest lines were dropped


def test_keep_zero_keeps_only_the_current_file(nu, tmp_path):
    home = tmp_path / 'node'
    run_chatty(nu, tmp_path, home, keep=0)
    def rotated():
        try:
            text = log_text(home)
        except FileNotFoundError:  # between dropping the old file and opening the new one
            return False
        return 'chatty 400\n' in text and 'chatty 1\n' not in text
    wait_until(rotated, 30, what='a rotation')
    nu.ok('stop', '--home', home)
    assert os.listdir(logs_dir(home)) == ['neard.log']


def test_restart_appends_and_rotation_continues(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    nu.run_node(home, '--log-max-size', '1M')
    before = log_text(home)
    nu.ok('restart', '--home', home)
    assert log_text(home).startswith(before)


def test_a_crash_left_plain_generation_is_compressed(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    os.makedirs(home / '.nearup' / 'logs')
    with open(home / '.nearup' / 'logs' / 'neard.log.1', 'w') as fh:
        fh.write('left behind\n')
    nu.run_node(home)
    nu.ok('stop', '--home', home)
    d = logs_dir(home)
    assert sorted(os.listdir(d)) == ['neard.log', 'neard.log.1.zst']
    assert unzstd(os.path.join(d, 'neard.log.1.zst')) == 'left behind\n'


def test_logs_n_prints_the_last_lines(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home)
    nu.ok('stop', '--home', home)
    lines = log_text(home).splitlines(keepends=True)
    assert len(lines) > 5
    r = nu.ok('logs', '--home', home, '-n', '3')
    assert r.stdout == ''.join(lines[-3:])
    r = nu.ok('logs', '--home', home, '-n', '0')
    assert r.stdout == ''
    r = nu.ok('logs', '--home', home)
    assert r.stdout == ''.join(lines[-100:])
    r = nu.ok('logs')  # the one registered node
    assert r.stdout == ''.join(lines[-100:])


def test_logs_of_a_home_without_log(nu, tmp_path):
    home = tmp_path / 'node'
    init_home(home)
    r = nu('logs', '--home', home)
    assert r.returncode == 1
    assert r.stderr.startswith(f'nearup logs: no log at {home}/.nearup/logs/neard.log (')


def test_logs_follow_across_rotation(nu, tmp_path):
    home = tmp_path / 'node'
    run_chatty(nu, tmp_path, home, keep=5)
    follower = nu.popen('logs', '--home', home, '-f', '-n', '0')
    time.sleep(0.2)
    start = max(chatty_numbers(all_generations(home)))

    def lines_after_start():
        try:
            nums = chatty_numbers(log_text(home))
        except FileNotFoundError:
            return False  # between a rotation's rename and the new file
        return nums and nums[-1] > start + 600  # over 6 KiB: 5 rotations and more
    wait_until(lines_after_start, 30, what='several rotations while following')
    nu.ok('stop', '--home', home)
    last = chatty_numbers(all_generations(home))[-1]
    time.sleep(0.5)  # let the follower read the end
    follower.send_signal(signal.SIGTERM)
    out, err = follower.communicate(timeout=10)
    assert follower.returncode == 0, err
    nums = chatty_numbers(out)
    assert len(nums) > 600
    assert nums == list(range(nums[0], last + 1))  # every line once, in order, to the end


def test_logs_follow_ends_on_sigint(nu, tmp_path):
    home = tmp_path / 'node'
    nu.run_node(home)
    last = log_text(home).splitlines(keepends=True)[-1]
    follower = nu.popen('logs', '--home', home, '-f', '-n', '1')
    time.sleep(0.3)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=10)
    assert (follower.returncode, err) == (0, '')
    assert out.startswith(last) and out in log_text(home)
    nu.ok('stop', '--home', home)


def test_logs_node_of_a_localnet_root(nu, tmp_path):
    root = tmp_path / 'localnet'
    for i in range(2):
        nu.run_node(root / f'node{i}')
    nu.ok('stop', '--home', root)
    r = nu.ok('logs', '--home', root, '--node', '1', '-n', '4')
    assert r.stdout == ''.join(log_text(root / 'node1').splitlines(keepends=True)[-4:])
    r = nu('logs', '--home', root)
    assert r.returncode == 2
    assert r.stderr == f'nearup logs: {root} holds 2 nodes; pass --node I (0-1)\n'
    r = nu('logs', '--home', root, '--node', '2')
    assert r.returncode == 2
    assert r.stderr == f'nearup logs: --node 2: {root} has 2 nodes (0-1)\n'
    assert read_pidfile(root / 'node0', 'neard.pid') is None
