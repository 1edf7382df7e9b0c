"""Helpers for test_signals.py: a request held in flight, FIFOs that hold a
daemon inside a file read (starting or reloading) until the test lets it
go, and log waits.

A request in flight is a raw HTTP request whose head (and half its body)
was sent and read by the server, with the rest held back: it stays in
flight for as long as the test wants, so no test depends on timing. That
the server has read what was sent is seen in /proc/net/tcp (the
server-side socket's receive queue is empty).

A FIFO in place of a config file blocks the daemon in open() until a
writer comes: opening the FIFO for writing with O_NONBLOCK fails with
ENXIO until the daemon is inside open(), so the test knows exactly when
the daemon is reading (and thus in which phase a signal reaches it)."""
import errno
import http.client
import os
import socket

from conftest import wait_until


class InFlight:
    """One HTTP/1.1 request in flight to 127.0.0.1:port (see above)."""

    def __init__(self, port, method='POST', path='/', body=b'', headers=()):
        self.port = port
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=15)
        lines = [f'{method} {path} HTTP/1.1', f'Host: 127.0.0.1:{port}', *headers]
        if body:
            lines += ['Content-Type: application/json', f'Content-Length: {len(body)}']
            head = ('\r\n'.join(lines) + '\r\n\r\n').encode()
            sent, self.rest = head + body[:len(body) // 2], body[len(body) // 2:]
        else:
            head = ('\r\n'.join(lines) + '\r\n').encode()  # the blank line is held back
            sent, self.rest = head, b'\r\n'
        self.sock.sendall(sent)
        wait_until(self._read_by_server, 15, interval=0.01, what='server read the request head')

    def _read_by_server(self):
        me = self.sock.getsockname()[1]
        want_local, want_remote = f'0100007F:{self.port:04X}', f'0100007F:{me:04X}'
        with open('/proc/net/tcp') as fh:
            for line in fh.readlines()[1:]:
                f = line.split()
                if f[1] == want_local and f[2] == want_remote:
                    return int(f[4].split(':')[1], 16) == 0
        return False

    def finish(self):
        """Sends the rest; returns (status, lowercased headers, body)."""
        self.sock.sendall(self.rest)
        resp = http.client.HTTPResponse(self.sock)
        try:
            resp.begin()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            resp.close()
            self.sock.close()


class Fifo:
    """A FIFO at path (replacing a file there); its text comes from the test."""

    def __init__(self, path):
        self.path = str(path)
        self._renew()

    def _renew(self):
        tmp = self.path + '.fifo'
        os.mkfifo(tmp)
        os.replace(tmp, self.path)

    def wait_reader(self, proc, timeout=20):
        """Blocks until a process has the FIFO open for reading; returns the
        write end. proc dying meanwhile fails the test."""
        def opened():
            if proc.poll() is not None:
                raise AssertionError(f'process exited {proc.returncode} before reading '
                                     f'{self.path}')
            try:
                return [os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)]
            except OSError as e:
                if e.errno == errno.ENXIO:
                    return None
                raise
        return wait_until(opened, timeout, interval=0.01, what=f'a reader of {self.path}')[0]

    def feed(self, fd, text):
        """Writes text to the write end from wait_reader and closes it (EOF).
        A fresh FIFO takes the path before the EOF, so the daemon's next
        open of the path waits for the next feed (never this one's data)."""
        os.set_blocking(fd, True)
        data = text.encode()
        while data:
            data = data[os.write(fd, data):]
        self._renew()
        os.close(fd)

    def replace_with_file(self, text):
        """Puts a regular file with text back in the FIFO's place."""
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as fh:
            fh.write(text)
        os.replace(tmp, self.path)


def wait_text(read, text, proc=None, timeout=20, count=1):
    """Waits until text occurs count times in read(); returns read()."""
    def seen():
        got = read()
        if got.count(text) >= count:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f'exited {proc.returncode} before {text!r}:\n{got}')
        return None
    return wait_until(seen, timeout, interval=0.02, what=repr(text))


def exited(proc, timeout=30):
    """proc's exit status once it ends (fails after timeout)."""
    wait_until(lambda: proc.poll() is not None, timeout, interval=0.02, what='process exit')
    return proc.returncode
