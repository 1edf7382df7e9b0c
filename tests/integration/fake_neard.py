"""A neard stand-in for supervisor tests where neard-sim cannot misbehave
the right way. `fake_neard.py --version` prints neard's version line;
`fake_neard.py --home H run [--rpc-addr A] ...` serves GET /status on A
(default: config.json rpc.addr) with a head that grows every 100 ms.
Behaviour from the environment:
  FAKE_IGNORE_TERM=1   ignore SIGTERM (stop must end in SIGKILL)
  FAKE_EXIT=N          print FAKE_LINES lines, then exit N at once (no RPC)
  FAKE_LINES=N         lines printed before exiting (default 3)
  FAKE_CHATTY=N        print numbered lines "chatty <k>" N per 10 ms tick
  FAKE_STALL=1         the head never moves
  FAKE_DELAY=S         wait S seconds before serving (a slow start)
"""
import http.server
import json
import os
import signal
import sys
import threading
import time


def main():
    argv = sys.argv[1:]
    if argv == ['--version']:
        print('neard (release 9.9.9) (build fake) (rustc 1.82.0) (protocol 73) (db 42)')
        return 0
    home = argv[argv.index('--home') + 1]
    if os.environ.get('FAKE_IGNORE_TERM') == '1':
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    if 'FAKE_EXIT' in os.environ:
        for i in range(int(os.environ.get('FAKE_LINES', '3'))):
            print(f'fake neard line {i + 1}', flush=True)
        return int(os.environ['FAKE_EXIT'])
    addr = None
    if '--rpc-addr' in argv:
        addr = argv[argv.index('--rpc-addr') + 1]
    else:
        with open(os.path.join(home, 'config.json')) as fh:
            addr = json.load(fh)['rpc']['addr']
    host, port = addr.rsplit(':', 1)
    if 'FAKE_DELAY' in os.environ:
        print('INFO fake: starting', flush=True)
        time.sleep(float(os.environ['FAKE_DELAY']))
    start = time.monotonic()
    stall = os.environ.get('FAKE_STALL') == '1'

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            height = 1 if stall else 1 + int((time.monotonic() - start) * 10)
            body = json.dumps({'sync_info': {'latest_block_height': height,
                                             'syncing': False}}).encode()
            self.send_response(200 if self.path == '/status' else 404)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(f'INFO fake: serving {addr}', flush=True)
    chatty = int(os.environ.get('FAKE_CHATTY', '0'))
    k = 0
    while True:
        if chatty:
            out = []
            for _ in range(chatty):
                k += 1
                out.append(f'chatty {k}\n')
            sys.stdout.write(''.join(out))
            sys.stdout.flush()
        time.sleep(0.01)


if __name__ == '__main__':
    sys.exit(main())
