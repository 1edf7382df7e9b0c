"""Helpers for the supervisor, run and logs tests: nearup with HOME and the
XDG dirs inside the test's tmp dir, pid files, /proc checks, and a fixture
that leaves no supervisor or neard behind (killed by PID, never by name)."""
import os
import signal
import subprocess
import sys

import pytest

from conftest import NEARD_SIM, NEARUP, free_port, load_json, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_NEARD = os.path.join(HERE, 'fake_neard.py')


def read_pidfile(home, name):
    """(pid, start time) from <home>/.nearup/<name>, or None."""
    try:
        with open(os.path.join(str(home), '.nearup', name)) as fh:
            pid, start = fh.read().split()
        return int(pid), int(start)
    except (OSError, ValueError):
        return None


def proc_stat(pid):
    try:
        with open(f'/proc/{pid}/stat') as fh:
            rest = fh.read().rsplit(')', 1)[1].split()
        return rest[0], int(rest[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid_start):
    """True while the process of a pid file entry lives (zombies do not)."""
    if pid_start is None:
        return False
    st = proc_stat(pid_start[0])
    return st is not None and st[0] not in ('Z', 'X') and st[1] == pid_start[1]


def pid_gone(pid):
    st = proc_stat(pid)
    return st is None or st[0] in ('Z', 'X')


def neards_of(home):
    """PIDs of live processes whose command line runs `--home <home> run`."""
    found = []
    want = ['--home', str(home), 'run']
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/cmdline', 'rb') as fh:
                argv = fh.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if any(argv[i:i + 3] == want for i in range(len(argv))) and not pid_gone(int(d)):
            found.append(int(d))
    return found


def status_json(home):
    return load_json(os.path.join(str(home), '.nearup', 'status.json'))


def run_json(home):
    return load_json(os.path.join(str(home), '.nearup', 'run.json'))


def log_path(home):
    return os.path.join(str(home), '.nearup', 'logs', 'neard.log')


def log_text(home):
    with open(log_path(home), 'rb') as fh:
        return fh.read().decode('utf-8', 'replace')


def init_home(home, chain_id='simnet', fast=True):
    args = [NEARD_SIM, '--home', str(home), 'init', '--chain-id', chain_id]
    if fast:
        args.append('--fast')
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def fake_neard(tmp_path, name='fake-neard', **env):
    """A neard stand-in (fake_neard.py) behind a shell wrapper that sets its
    behaviour through environment variables (see fake_neard.py)."""
    path = tmp_path / name
    lines = ['#!/bin/sh']
    lines += [f"export FAKE_{k.upper()}='{v}'" for k, v in env.items()]
    lines.append(f'exec {sys.executable} {FAKE_NEARD} "$@"')
    path.write_text('\n'.join(lines) + '\n')
    path.chmod(0o755)
    return str(path)


class Nearup:
    """Runs nearup with HOME and every XDG dir inside root; remembers the
    homes it touched so cleanup() can kill whatever is left there."""

    def __init__(self, root):
        self.root = root
        self.homes = set()
        self.procs = []
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ('NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID')}
        for var, sub in (('HOME', 'userhome'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config'),
                         ('XDG_DATA_HOME', 'data'), ('XDG_RUNTIME_DIR', 'run')):
            self.env[var] = str(root / sub)
            os.makedirs(self.env[var], mode=0o700, exist_ok=True)

    def _track(self, args):
        args = [str(a) for a in args]
        if '--home' in args:
            self.homes.add(args[args.index('--home') + 1])
        return args

    def __call__(self, *args, timeout=120):
        args = self._track(args)
        return subprocess.run([NEARUP, *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout)

    def popen(self, *args, extra_env=None, **kw):
        args = self._track(args)
        env = dict(self.env, **(extra_env or {}))
        p = subprocess.Popen([NEARUP, *args], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        return p

    def ok(self, *args, timeout=120):
        r = self(*args, timeout=timeout)
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        return r

    def run_node(self, home, *extra, binary=NEARD_SIM, network='simnet'):
        """`nearup run` on fresh 127.0.0.1 ports; returns (result, rpc port)."""
        port = free_port()
        r = self.ok('run', network, '--home', home, '--binary-path', binary,
                    '--rpc-addr', f'127.0.0.1:{port}', '--network-addr',
                    f'127.0.0.1:{free_port()}', *extra)
        return r, port

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
        for home in list(self.homes):
            roots = [home] + [os.path.join(home, d) for d in
                              (os.listdir(home) if os.path.isdir(home) else [])]
            for h in roots:
                for name in ('supervisor.pid', 'neard.pid'):
                    ps = read_pidfile(h, name)
                    if alive(ps):
                        os.kill(ps[0], signal.SIGKILL)
            for pid in neards_of(home):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def nu(tmp_path):
    n = Nearup(tmp_path)
    yield n
    n.cleanup()


def wait_status(home, pred, timeout=30.0, what='status.json'):
    def check():
        try:
            st = status_json(home)
        except (OSError, ValueError):
            return None
        return st if pred(st) else None
    return wait_until(check, timeout, what=what)
