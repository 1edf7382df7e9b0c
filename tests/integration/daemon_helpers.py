"""A long-running nearup process (health sidecar, canary) serving HTTP on a
127.0.0.1 port, its output in a log file: start and wait until it listens,
plain HTTP requests, /metrics parsed into samples, stop with a signal."""
import http.client
import re
import signal
import socket
import subprocess

from conftest import wait_until

PROMTOOL = '/usr/bin/promtool'
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$')
METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'


class Daemon:
    def __init__(self, what, cmd, port, log_path):
        self.what = what
        self.port = port
        self.log_path = log_path
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        wait_until(self.listening, 15, what=f'{what} listening')

    def listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f'{self.what} exited {self.proc.returncode}:\n{self.log()}')
        try:
            with socket.create_connection(('127.0.0.1', self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def log(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def request(self, method, path):
        """(status, headers lowercased, body bytes)."""
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def samples(self):
        """(text, {'name{labels}': value}) of GET /metrics."""
        status, headers, body = self.request('GET', '/metrics')
        assert status == 200
        assert headers['content-type'] == METRICS_TYPE
        text = body.decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith('#'):
                m = SAMPLE.match(line)
                assert m, line
                samples[m.group(1)] = float(m.group(2))
        return text, samples

    def stop(self, sig=signal.SIGTERM):
        """Stops the process with sig; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f'{self.what} did not stop on {sig}')
        self._log.close()
        return self.proc.returncode

    def stop_clean(self, last_line):
        """SIGTERM: exit 0 (a leak found by LeakSanitizer would make it
        non-zero), last_line logged."""
        rc = self.stop()
        log = self.log()
        assert rc == 0, log
        assert 'Sanitizer' not in log, log
        assert last_line in log, log

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self._log.closed:
            self._log.close()


def promtool_ok(text):
    """promtool check metrics finds nothing wrong with text."""
    r = subprocess.run([PROMTOOL, 'check', 'metrics'], input=text, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
