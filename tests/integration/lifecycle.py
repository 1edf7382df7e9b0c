"""Helpers shared by the status, localnet and upgrade tests: nearup with
HOME and XDG dirs inside the test's tmp dir, JSON over HTTP, and a cleanup
that leaves no supervisor or neard behind (by PID, never by name)."""
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

from conftest import NEARUP, wait_until


def http(url, body=None, timeout=5.0):
    """(status, decoded JSON or None) of a GET, or of a POST when body is given."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data,
                                 headers={'Content-Type': 'application/json'} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, None


def rpc(url, method):
    status, reply = http(url, {'jsonrpc': '2.0', 'id': 't', 'method': method, 'params': []})
    assert status == 200 and 'result' in reply, (url, method, status, reply)
    return reply['result']


def read_pid(path):
    """(pid, start time) from a "<pid> <start>" file, or None."""
    try:
        with open(path) as fh:
            pid, start = fh.read().split()
        return int(pid), int(start)
    except (OSError, ValueError):
        return None


def start_time(pid):
    try:
        with open(f'/proc/{pid}/stat') as fh:
            return int(fh.read().rsplit(')', 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid_start):
    """True while the process of a pid file entry lives (zombies do not count)."""
    if pid_start is None:
        return False
    pid, start = pid_start
    try:
        with open(f'/proc/{pid}/stat') as fh:
            state = fh.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state != 'Z' and start_time(pid) == start


class Nearup:
    """Runs nearup with HOME and every XDG dir inside root."""

    def __init__(self, root):
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if k != 'NOTIFY_SOCKET'}
        for var, sub in (('HOME', 'userhome'), ('XDG_CACHE_HOME', 'cache'),
                         ('XDG_STATE_HOME', 'state'), ('XDG_CONFIG_HOME', 'config'),
                         ('XDG_DATA_HOME', 'data'), ('XDG_RUNTIME_DIR', 'run')):
            self.env[var] = str(root / sub)
            os.makedirs(self.env[var], mode=0o700, exist_ok=True)

    def __call__(self, *args, timeout=120):
        return subprocess.run([NEARUP, *[str(a) for a in args]], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def ok(self, *args, timeout=120):
        r = self(*args, timeout=timeout)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def status(self, *args):
        return json.loads(self.ok('status', '--json', *args).stdout)

    def cleanup(self):
        """Stops every node under root: `nearup stop --all`, then SIGKILL by
        PID for anything a pid file still names."""
        try:
            self('stop', '--all', timeout=120)
        except subprocess.TimeoutExpired:
            pass
        for dirpath, _, names in os.walk(self.root):
            for name in ('supervisor.pid', 'neard.pid'):
                if name in names and os.path.basename(dirpath) == '.nearup':
                    entry = read_pid(os.path.join(dirpath, name))
                    if alive(entry):
                        os.kill(entry[0], signal.SIGKILL)


def node_url(home):
    with open(os.path.join(str(home), 'config.json')) as fh:
        addr = json.load(fh)['rpc']['addr']
    return 'http://' + addr.replace('0.0.0.0', '127.0.0.1')


def wait_synced(urls, peers=None, timeout=60.0):
    """Waits until every node answers /health 200 (synced) and, if given,
    has that many active peers."""
    def ready():
        for url in urls:
            try:
                if http(url + '/health', timeout=2)[0] != 200:
                    return False
                if peers is not None and rpc(url, 'network_info')['num_active_peers'] != peers:
                    return False
            except OSError:
                return False
        return True
    wait_until(ready, timeout, interval=0.2, what='nodes synced')


def head(url):
    return rpc(url, 'status')['sync_info']['latest_block_height']


def wait_gone(entries, timeout=30.0):
    wait_until(lambda: not any(alive(e) for e in entries), timeout, what='processes gone')
