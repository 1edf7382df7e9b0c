"""Helpers of the S3 benchmarks (s3_vs_rclone.py, join.py): an s3rver on
127.0.0.1 whose log is read back as the requests it answered, the CPU
seconds of a running process, and the environment nearup and rclone get.

s3rver (npm, tools/s3rver) logs one line per answered request through
koa-logger ("METHOD /bucket/key STATUS TIME SIZE"); the method is only in
the line when colours are on (its logger cuts a fixed prefix meant for a
coloured line), hence FORCE_COLOR=1 and the ANSI codes stripped here.
"""
import collections
import os
import re
import shutil
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S3RVER = os.path.join(ROOT, 'tools', 's3rver', 'node_modules', 's3rver', 'bin', 's3rver.js')
BUCKET = 'snaps'
KEY = 'S3RVER'  # s3rver's built-in key pair: S3RVER / S3RVER
ANSI = re.compile(r'\x1b\[[0-9;]*m')
LINE = re.compile(r'^info: (GET|PUT|HEAD|POST|DELETE) (\S+) (\d{3}) ')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a running process (all its threads), seconds."""
    with open(f'/proc/{pid}/stat') as fh:
        fields = fh.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def clean_env(base=None):
    """The environment without AWS_* (this machine sets AWS_CA_BUNDLE, which
    rclone's SDK refuses for a plain-HTTP endpoint) and NOTIFY_SOCKET."""
    env = dict(base if base is not None else os.environ)
    for k in list(env):
        if k.startswith('AWS_') or k.startswith('RCLONE_') or k == 'NOTIFY_SOCKET':
            del env[k]
    return env


def nearup_env(base, endpoint):
    env = dict(base)
    env.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=KEY, AWS_REGION='us-east-1',
               AWS_ENDPOINT_URL_S3=endpoint)
    return env


def rclone_env(base, endpoint):
    """rclone's `:s3:` backend on the fly: no config file, path-style."""
    env = dict(base)
    env.update(RCLONE_S3_PROVIDER='Other', RCLONE_S3_ENDPOINT=endpoint,
               RCLONE_S3_ACCESS_KEY_ID=KEY, RCLONE_S3_SECRET_ACCESS_KEY=KEY,
               RCLONE_S3_REGION='us-east-1', RCLONE_CONFIG=os.devnull)
    return env


class S3rver:
    """One s3rver with bucket BUCKET over a fresh directory."""

    def __init__(self, root):
        if not shutil.which('node') or not os.path.exists(S3RVER):
            raise RuntimeError('s3rver is not installed (make deps: tools/s3rver)')
        self.dir = root
        os.makedirs(root)
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = root + '.log'
        self.log = open(self.log_path, 'wb')
        env = clean_env()
        env['FORCE_COLOR'] = '1'
        # s3rver makes continuation tokens with DES, in OpenSSL 3's legacy provider
        self.proc = subprocess.Popen(
            [shutil.which('node'), '--openssl-legacy-provider', S3RVER, '-d', root, '-a',
             '127.0.0.1', '-p', str(self.port), '--configure-bucket', BUCKET],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f's3rver exited: {open(self.log_path).read()[-500:]}')
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError('s3rver did not start')
                time.sleep(0.05)
        self.mark()

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def mark(self):
        """Requests from here on are what requests() returns."""
        self.log.flush()
        self._from = os.path.getsize(self.log_path)

    def requests(self, settle=0.2):
        """[(method, path, status)] answered since mark()."""
        time.sleep(settle)  # the last line is written after the answer
        with open(self.log_path, 'rb') as fh:
            fh.seek(self._from)
            text = fh.read().decode('utf-8', 'replace')
        out = []
        for line in text.splitlines():
            m = LINE.match(ANSI.sub('', line))
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3))))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            os.unlink(self.log_path)
        except FileNotFoundError:
            pass


def kind(method, path, status):
    """A request as a row of the request tables: 'GET chunk 206' etc."""
    key = path.split('?', 1)[0]
    if '?' in path and method == 'GET' and key.rstrip('/').count('/') <= 1:
        what = 'list'
    elif '/chunks/' in key:
        what = 'chunk'
    elif '/manifests/' in key:
        what = 'manifest' if not key.endswith('.sig') else 'signature'
    elif '/locks/' in key:
        what = 'marker'
    elif key.endswith('/latest'):
        what = 'latest'
    elif key.rstrip('/').count('/') <= 1:
        what = 'bucket'
    else:
        what = 'object'
    return f'{method} {what} {status}'


def count(reqs):
    return collections.Counter(kind(*r) for r in reqs)


def by_method(reqs):
    return collections.Counter(r[0] for r in reqs)
