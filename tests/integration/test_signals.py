"""SIGHUP, SIGTERM and SIGINT in every phase of every daemon: `nearup
gateway`, `nearup health`, `nearup-supervisor` (through `nearup supervise`)
and `neard-sim`. No signal may take its default action (kill the process,
cut requests in flight) in any phase: starting, running, reloading or
draining (the supervisor also: neard starting, backoff, upgrading,
stopping). Each case holds a request in flight across the signal where the
phase allows one (nothing listens yet while a daemon starts) and asserts
its exact answer and the daemon's exit status. Phases are entered without
timing: a FIFO in place of a config file holds a daemon inside the read
(signals_helpers.py), a request whose rest is held back keeps a drain
open. What each daemon does is documented in docs/gateway.md, health.md,
supervisor.md and neard-sim.md ("Signals")."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from conftest import NEARD_SIM, NEARUP, SimNode, free_port, init_local, wait_until
from gateway_helpers import Gateway, call_body
from signals_helpers import Fifo, InFlight, exited, wait_text

SIGS = {'HUP': signal.SIGHUP, 'TERM': signal.SIGTERM, 'INT': signal.SIGINT}
STOPS = ['TERM', 'INT']


def clean(log):
    assert 'ERROR: AddressSanitizer' not in log and 'LeakSanitizer' not in log, log
    return log


@pytest.fixture(scope='module')
def template(tmp_path_factory):
    """A neard-sim home of a fast local chain, copied by each test."""
    home = tmp_path_factory.mktemp('template') / 'home'
    init_local(home)
    return home


def copy_home(template, dest):
    shutil.copytree(template, dest)
    return dest


# ---- nearup gateway ----

@pytest.fixture(scope='module')
def upstream(template, tmp_path_factory):
    node = SimNode(copy_home(template, tmp_path_factory.mktemp('up') / 'n0'))
    node.start()
    wait_until(lambda: node.height() > 0, 30, what='upstream head above 0')
    yield node
    node.kill()


STATUS = call_body('status', [], req_id=7).encode()


def assert_status_reply(got):
    """The JSON-RPC status answer of the local chain, for request id 7."""
    status, _, body = got
    reply = json.loads(body)
    assert status == 200, (status, body)
    assert (reply['jsonrpc'], reply['id']) == ('2.0', 7)
    assert reply['result']['chain_id'] == 'simnet'


class GatewayProc(Gateway):
    """A Gateway whose INI file may be a FIFO (then start() feeds it)."""

    def __init__(self, tmp_path, upstream, fifo=False):
        super().__init__(tmp_path, [('n0', {'url': f'http://{upstream.rpc_addr}'})],
                         drain_timeout='60s')
        self.text = self.ini.read_text()
        self.fifo = Fifo(self.ini) if fifo else None

    def spawn(self):
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen([NEARUP, 'gateway', '-c', str(self.ini)], stdout=self._log,
                                     stderr=self._log, stdin=subprocess.DEVNULL)
        return self

    def feed(self, fd=None):
        self.fifo.feed(fd if fd is not None else self.fifo.wait_reader(self.proc), self.text)

    def ready(self):
        wait_text(self.log, 'msg="gateway listening"', self.proc)
        self.wait_states({'n0': 'ok'})
        return self

    def in_flight(self):
        return InFlight(self.port, body=STATUS)

    def finish_stopped(self, sig):
        """Exit status 0 after a stop by sig, clean log; returns the log."""
        assert exited(self.proc) == 0, self.log()
        log = clean(self.log())
        assert f'msg="stopping: finishing in-flight requests" signal={sig} ' in log
        assert log.rstrip().endswith('msg="gateway stopped"')
        return log


@pytest.fixture
def gateway(tmp_path, upstream):
    made = []

    def make(fifo=False):
        gw = GatewayProc(tmp_path, upstream, fifo)
        made.append(gw)
        return gw.spawn()
    yield make
    for gw in made:
        gw.kill()
        if gw._log:
            gw._log.close()


def test_gateway_sighup_while_starting_reloads_once_listening(gateway):
    gw = gateway(fifo=True)
    fd = gw.fifo.wait_reader(gw.proc)  # inside the first read of the INI file
    gw.proc.send_signal(signal.SIGHUP)
    gw.feed(fd)
    gw.feed()  # the deferred reload reads the file again
    wait_text(gw.log, 'msg="config reloaded"', gw.proc)
    gw.ready()
    assert_status_reply(gw.in_flight().finish())
    assert gw.proc.poll() is None
    gw.proc.send_signal(signal.SIGTERM)
    log = gw.finish_stopped('SIGTERM')
    assert log.index('msg="gateway listening"') < log.index('msg="config reloaded"')


@pytest.mark.parametrize('sig', STOPS)
def test_gateway_stop_signal_while_starting(gateway, sig):
    gw = gateway(fifo=True)
    fd = gw.fifo.wait_reader(gw.proc)
    gw.proc.send_signal(SIGS[sig])
    gw.feed(fd)
    log = gw.finish_stopped(f'SIG{sig}')
    assert log.index('msg="gateway listening"') < log.index('msg="stopping')


def test_gateway_sighup_while_running_keeps_the_request(gateway):
    gw = gateway().ready()
    req = gw.in_flight()
    gw.proc.send_signal(signal.SIGHUP)
    wait_text(gw.log, 'msg="config reloaded"', gw.proc)
    assert_status_reply(req.finish())
    assert gw.proc.poll() is None
    gw.proc.send_signal(signal.SIGTERM)
    gw.finish_stopped('SIGTERM')


@pytest.mark.parametrize('sig', STOPS)
def test_gateway_stop_signal_while_running_drains(gateway, sig):
    gw = gateway().ready()
    req = gw.in_flight()
    gw.proc.send_signal(SIGS[sig])
    wait_text(gw.log, 'msg="stopping: finishing in-flight requests"', gw.proc)
    got = req.finish()
    assert_status_reply(got)
    assert got[1]['connection'] == 'close'
    gw.finish_stopped(f'SIG{sig}')


def start_reloading(gateway):
    """A gateway inside a SIGHUP reload (reading its FIFO), a request in flight."""
    gw = gateway(fifo=True)
    gw.feed()
    gw.ready()
    req = gw.in_flight()
    gw.proc.send_signal(signal.SIGHUP)
    return gw, req, gw.fifo.wait_reader(gw.proc)


def test_gateway_sighup_while_reloading_reloads_again(gateway):
    gw, req, fd = start_reloading(gateway)
    gw.proc.send_signal(signal.SIGHUP)
    gw.feed(fd)
    gw.feed()  # the second SIGHUP's reload
    wait_text(gw.log, 'msg="config reloaded"', gw.proc, count=2)
    assert_status_reply(req.finish())
    assert gw.proc.poll() is None
    gw.proc.send_signal(signal.SIGTERM)
    gw.finish_stopped('SIGTERM')


@pytest.mark.parametrize('sig', STOPS)
def test_gateway_stop_signal_while_reloading_stops_after_it(gateway, sig):
    gw, req, fd = start_reloading(gateway)
    gw.proc.send_signal(SIGS[sig])
    gw.feed(fd)
    wait_text(gw.log, 'msg="stopping: finishing in-flight requests"', gw.proc)
    assert_status_reply(req.finish())
    log = gw.finish_stopped(f'SIG{sig}')
    assert log.index('msg="config reloaded"') < log.index('msg="stopping')


@pytest.mark.parametrize('sig', ['HUP', 'TERM', 'INT'])
def test_gateway_signal_while_draining_is_ignored(gateway, sig):
    """The reported bug: logrotate's SIGHUP during the drain after SIGTERM
    killed the gateway (default action) and cut the request in flight."""
    gw = gateway().ready()
    req = gw.in_flight()
    gw.proc.send_signal(signal.SIGTERM)
    wait_text(gw.log, 'msg="stopping: finishing in-flight requests"', gw.proc)
    gw.proc.send_signal(SIGS[sig])
    wait_text(gw.log, f'msg="draining; signal ignored" signal=SIG{sig} drain_left_ms=', gw.proc)
    assert gw.proc.poll() is None
    assert_status_reply(req.finish())
    log = gw.finish_stopped('SIGTERM')
    assert 'msg="config reloaded"' not in log


# ---- nearup health ----

class Health:
    """A `nearup health` process for node; checks every 10 min unless told."""

    def __init__(self, tmp_path, node, *args):
        self.port = free_port()
        self.log_path = tmp_path / 'health.log'
        self._log = open(self.log_path, 'ab')
        cmd = [NEARUP, 'health', '--node', f'http://{node.rpc_addr}', '--listen',
               f'127.0.0.1:{self.port}', '--interval', '600000', '--timeout', '60000',
               '--drain-timeout', '60000', *args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        wait_text(self.log, 'msg="health sidecar listening"', self.proc)

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors='replace')

    def in_flight(self):
        return InFlight(self.port, 'GET', '/healthcheck')

    def wait_healthy(self):
        def ok():
            got = InFlight(self.port, 'GET', '/healthcheck').finish()
            return got[0] == 200
        wait_until(ok, 30, what='/healthcheck 200')

    def finish_stopped(self, sig):
        assert exited(self.proc) == 0, self.log()
        log = clean(self.log())
        assert f'msg=stopping signal={sig}\n' in log
        assert log.rstrip().endswith('msg="health sidecar stopped"')
        return log


def assert_health(got, code, state):
    status, headers, body = got
    assert (status, headers['content-type']) == (code, 'application/json'), (status, body)
    assert json.loads(body)['status'] == state


@pytest.fixture
def health(tmp_path, template, sim_nodes):
    made = []

    def make(latency=False):
        node = sim_nodes(copy_home(template, tmp_path / 'node'), sim_control=True)
        if latency:  # the first check stays unanswered: the sidecar is starting
            node.request('POST', '/sim/control', body=json.dumps({'latency_ms': 600000}))
        else:  # the first check (the only one for 10 min) finds it healthy
            wait_until(lambda: node.height() > 0 and not node.status()['sync_info']['syncing'],
                       30, what='node synced')
        h = Health(tmp_path, node)
        made.append(h)
        return h, node
    yield make
    for h in made:
        if h.proc.poll() is None:
            h.proc.kill()
            h.proc.wait()
        h._log.close()


HUP_LINE = 'msg="SIGHUP: nothing to reload (settings are flags); checking now"'


def test_health_sighup_while_starting(health):
    h, _ = health(latency=True)
    req = h.in_flight()
    h.proc.send_signal(signal.SIGHUP)
    wait_text(h.log, HUP_LINE, h.proc)
    assert h.proc.poll() is None
    assert_health(req.finish(), 503, 'starting')
    h.proc.send_signal(signal.SIGTERM)
    h.finish_stopped('SIGTERM')


@pytest.mark.parametrize('sig', STOPS)
def test_health_stop_signal_while_starting(health, sig):
    h, _ = health(latency=True)
    req = h.in_flight()
    h.proc.send_signal(SIGS[sig])
    wait_text(h.log, f'msg=stopping signal=SIG{sig}', h.proc)
    assert_health(req.finish(), 503, 'starting')
    h.finish_stopped(f'SIG{sig}')


def test_health_sighup_while_running(health):
    h, _ = health()
    h.wait_healthy()
    req = h.in_flight()
    h.proc.send_signal(signal.SIGHUP)
    wait_text(h.log, HUP_LINE, h.proc)
    assert_health(req.finish(), 200, 'ok')
    h.proc.send_signal(signal.SIGTERM)
    h.finish_stopped('SIGTERM')


@pytest.mark.parametrize('sig', STOPS)
def test_health_stop_signal_while_running(health, sig):
    h, _ = health()
    h.wait_healthy()
    req = h.in_flight()
    h.proc.send_signal(SIGS[sig])
    wait_text(h.log, f'msg=stopping signal=SIG{sig}', h.proc)
    got = req.finish()
    assert_health(got, 200, 'ok')
    assert got[1]['connection'] == 'close'
    h.finish_stopped(f'SIG{sig}')


def start_checking(health):
    """A healthy sidecar whose SIGHUP check is in flight (the node answers
    in 10 minutes), with a request in flight: its "reloading"."""
    h, node = health()
    h.wait_healthy()
    node.request('POST', '/sim/control', body=json.dumps({'latency_ms': 600000}))
    req = h.in_flight()
    h.proc.send_signal(signal.SIGHUP)
    wait_text(h.log, HUP_LINE, h.proc)
    return h, req


def test_health_sighup_while_checking(health):
    h, req = start_checking(health)
    h.proc.send_signal(signal.SIGHUP)
    wait_text(h.log, HUP_LINE, h.proc, count=2)
    assert_health(req.finish(), 200, 'ok')
    h.proc.send_signal(signal.SIGTERM)
    h.finish_stopped('SIGTERM')


@pytest.mark.parametrize('sig', STOPS)
def test_health_stop_signal_while_checking(health, sig):
    h, req = start_checking(health)
    h.proc.send_signal(SIGS[sig])
    wait_text(h.log, f'msg=stopping signal=SIG{sig}', h.proc)
    assert_health(req.finish(), 200, 'ok')
    h.finish_stopped(f'SIG{sig}')


@pytest.mark.parametrize('sig', ['HUP', 'TERM', 'INT'])
def test_health_signal_while_draining_is_ignored(health, sig):
    h, _ = health()
    h.wait_healthy()
    req = h.in_flight()
    h.proc.send_signal(signal.SIGTERM)
    wait_text(h.log, 'msg=stopping signal=SIGTERM', h.proc)
    h.proc.send_signal(SIGS[sig])
    wait_text(h.log, f'msg="draining; signal ignored" signal=SIG{sig}\n', h.proc)
    assert h.proc.poll() is None
    assert_health(req.finish(), 200, 'ok')
    log = h.finish_stopped('SIGTERM')
    assert log.count(HUP_LINE) == 0


# ---- neard-sim ----

@pytest.fixture
def sim(tmp_path, template, sim_nodes):
    """sim(fifo_config=False) -> (SimNode, Fifo or None, config.json text)."""
    def make(fifo_config=False):
        home = copy_home(template, tmp_path / 'sim')
        text = (home / 'config.json').read_text()
        fifo = Fifo(home / 'config.json') if fifo_config else None
        return sim_nodes(home, start=not fifo_config), fifo, text
    return make


def sim_stopped(node, sig):
    assert exited(node.proc) == 0, node.log()
    log = clean(node.log())
    assert f'WARN neard: SIG{sig}, stopping... this may take a few minutes.' in log
    assert log.rstrip().endswith('INFO neard: Waiting for RocksDB to gracefully shutdown')
    return log


def sim_in_flight(node):
    return InFlight(node.rpc_port, body=STATUS)


def test_sim_sighup_while_starting_reloads_once_running(sim):
    node, fifo, text = sim(fifo_config=True)
    node.start(wait=False)
    fd = fifo.wait_reader(node.proc)  # inside load_config
    node.send_signal(signal.SIGHUP)
    fifo.feed(fd, text)
    fifo.feed(fifo.wait_reader(node.proc), text)  # the reload, once running
    wait_text(node.log, 'INFO config: Updated ClientConfig', node.proc)
    node.wait_rpc()
    assert_status_reply(sim_in_flight(node).finish())
    node.send_signal(signal.SIGTERM)
    sim_stopped(node, 'TERM')


@pytest.mark.parametrize('sig', STOPS)
def test_sim_stop_signal_while_starting(sim, sig):
    node, fifo, text = sim(fifo_config=True)
    node.start(wait=False)
    fd = fifo.wait_reader(node.proc)
    node.send_signal(SIGS[sig])
    fifo.feed(fd, text)
    log = sim_stopped(node, sig)
    assert 'Starting http server' in log


def test_sim_sighup_while_running(sim):
    node, _, _ = sim()
    req = sim_in_flight(node)
    node.send_signal(signal.SIGHUP)
    wait_text(node.log, 'INFO config: Updated ClientConfig', node.proc)
    assert_status_reply(req.finish())
    node.send_signal(signal.SIGTERM)
    sim_stopped(node, 'TERM')


@pytest.mark.parametrize('sig', STOPS)
def test_sim_stop_signal_while_running(sim, sig):
    node, _, _ = sim()
    req = sim_in_flight(node)
    node.send_signal(SIGS[sig])
    wait_text(node.log, f'SIG{sig}, stopping...', node.proc)
    assert_status_reply(req.finish())
    sim_stopped(node, sig)


def start_sim_reloading(sim):
    """A node inside a SIGHUP reload (reading config.json), a request in flight."""
    node, _, text = sim()
    fifo = Fifo(os.path.join(node.home, 'config.json'))
    req = sim_in_flight(node)
    node.send_signal(signal.SIGHUP)
    return node, fifo, text, req, fifo.wait_reader(node.proc)


def test_sim_sighup_while_reloading(sim):
    node, fifo, text, req, fd = start_sim_reloading(sim)
    node.send_signal(signal.SIGHUP)
    fifo.feed(fd, text)
    fifo.feed(fifo.wait_reader(node.proc), text)
    wait_text(node.log, 'INFO config: Updated ClientConfig', node.proc, count=2)
    assert_status_reply(req.finish())
    fifo.replace_with_file(text)
    node.send_signal(signal.SIGTERM)
    sim_stopped(node, 'TERM')


@pytest.mark.parametrize('sig', STOPS)
def test_sim_stop_signal_while_reloading(sim, sig):
    node, fifo, text, req, fd = start_sim_reloading(sim)
    node.send_signal(SIGS[sig])
    fifo.feed(fd, text)
    wait_text(node.log, f'SIG{sig}, stopping...', node.proc)
    assert_status_reply(req.finish())
    log = sim_stopped(node, sig)
    assert log.index('Updated ClientConfig') < log.index(f'SIG{sig}, stopping')


@pytest.mark.parametrize('sig', ['HUP', 'TERM', 'INT'])
def test_sim_signal_while_stopping_is_ignored(sim, sig):
    node, _, _ = sim()
    req = sim_in_flight(node)
    node.send_signal(signal.SIGTERM)
    wait_text(node.log, 'SIGTERM, stopping...', node.proc)
    node.send_signal(SIGS[sig])
    wait_text(node.log, f'INFO neard: SIG{sig} received while stopping; ignored', node.proc)
    assert node.proc.poll() is None
    assert_status_reply(req.finish())
    log = sim_stopped(node, 'TERM')
    assert 'Updated ClientConfig' not in log


# ---- nearup-supervisor (nearup supervise: the supervisor in the foreground) ----

class Supervised:
    """`nearup supervise --home H` of a neard-sim home, run.json written here."""

    def __init__(self, tmp_path, template):
        self.home = copy_home(template, tmp_path / 'node')
        self.state = self.home / '.nearup'
        self.state.mkdir()
        self.rpc_port = free_port()
        self.run_json = json.dumps({
            'network': 'simnet', 'chain_id': 'simnet', 'binary': NEARD_SIM,
            'neard_version': '', 'neard_commit': '', 'neard_sha256': '',
            'release_url': 'http://127.0.0.1:9', 'env': [], 'restart': 'always',
            'args': ['--rpc-addr', f'127.0.0.1:{self.rpc_port}',
                     '--network-addr', f'127.0.0.1:{free_port()}'],
            'log_max_size': 1 << 20, 'log_keep': 1, 'stop_timeout': 60})
        self.stderr_path = tmp_path / 'supervise.stderr'
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ('NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID')}
        self.proc = None

    def spawn(self, run_json_fifo=False, config_fifo=False):
        self.run_fifo = Fifo(self.state / 'run.json') if run_json_fifo else None
        if not run_json_fifo:
            (self.state / 'run.json').write_text(self.run_json)
        self.config_text = (self.home / 'config.json').read_text()
        self.config_fifo = Fifo(self.home / 'config.json') if config_fifo else None
        self._err = open(self.stderr_path, 'ab')
        self.proc = subprocess.Popen([NEARUP, 'supervise', '--home', str(self.home)],
                                     stdout=self._err, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=self.env)
        return self

    def log(self):
        try:
            return (self.state / 'logs' / 'neard.log').read_text(errors='replace')
        except FileNotFoundError:
            return ''

    def stderr(self):
        self._err.flush()
        return self.stderr_path.read_text(errors='replace')

    def status(self):
        try:
            return json.loads((self.state / 'status.json').read_text())
        except (OSError, ValueError):
            return {}

    def wait_state(self, state, **more):
        def match():
            st = self.status()
            return st if st.get('state') == state and all(st.get(k) == v
                                                           for k, v in more.items()) else None
        return wait_until(match, 30, interval=0.02, what=f'supervisor state {state} {more}')

    def neard_pid(self):
        return int((self.state / 'neard.pid').read_text().split()[0])

    def in_flight(self):
        return InFlight(self.rpc_port, body=STATUS)

    def signal(self, sig):
        self.proc.send_signal(SIGS[sig])

    def wait_log(self, text, count=1):
        return wait_text(self.log, text, self.proc, count=count)

    def write_upgrade(self, jitter_s):
        (self.state / 'upgrade.json').write_text(json.dumps({
            'version': '2.5.0', 'commit': 'c0ffee', 'sha256': 'ab' * 32, 'binary': NEARD_SIM,
            'at_height': None, 'jitter_s': jitter_s}))

    def finish_stopped(self, sig):
        """Exit 0 after a stop by sig; no neard left; returns the log."""
        assert exited(self.proc) == 0, self.stderr() + self.log()
        clean(self.stderr())
        log = self.log()
        assert f'component=nearup msg=stopping signal={sig}\n' in log
        assert self.status()['state'] == 'stopped'
        assert not (self.state / 'neard.pid').exists()
        assert not (self.state / 'supervisor.pid').exists()
        return log

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if (self.state / 'neard.pid').exists():
            try:
                os.kill(self.neard_pid(), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if self.proc is not None:
            self._err.close()


@pytest.fixture
def supervised(tmp_path, template):
    made = []

    def make():
        s = Supervised(tmp_path, template)
        made.append(s)
        return s
    yield make
    for s in made:
        s.kill()


NO_UPGRADE = 'component=nearup msg="SIGHUP: no pending upgrade"\n'


def serve_then_stop(sup):
    """neard runs and answers a request; SIGTERM stops everything cleanly."""
    sup.wait_state('running')
    assert_status_reply(sup.in_flight().finish())
    assert sup.proc.poll() is None
    sup.signal('TERM')
    return sup.finish_stopped('SIGTERM')


def test_supervisor_sighup_during_setup(supervised):
    sup = supervised().spawn(run_json_fifo=True)
    fd = sup.run_fifo.wait_reader(sup.proc)  # setup reads run.json
    sup.signal('HUP')
    sup.run_fifo.feed(fd, sup.run_json)
    sup.wait_log(NO_UPGRADE)
    sup.run_fifo.replace_with_file(sup.run_json)
    log = serve_then_stop(sup)
    assert log.index(NO_UPGRADE) < log.index('msg="started neard"')


@pytest.mark.parametrize('sig', STOPS)
def test_supervisor_stop_signal_during_setup_starts_no_neard(supervised, sig):
    sup = supervised().spawn(run_json_fifo=True)
    fd = sup.run_fifo.wait_reader(sup.proc)
    sup.signal(sig)
    sup.run_fifo.feed(fd, sup.run_json)
    log = sup.finish_stopped(f'SIG{sig}')
    assert 'msg="started neard"' not in log
    assert sup.status()['last_exit'] is None


def start_neard_starting(supervised):
    """neard started, held inside its config read: the supervisor is starting."""
    sup = supervised().spawn(config_fifo=True)
    fd = sup.config_fifo.wait_reader(sup.proc)
    sup.wait_state('starting')
    return sup, fd


def test_supervisor_sighup_while_neard_starts(supervised):
    sup, fd = start_neard_starting(supervised)
    sup.signal('HUP')
    sup.wait_log(NO_UPGRADE)
    sup.config_fifo.feed(fd, sup.config_text)
    sup.config_fifo.replace_with_file(sup.config_text)
    serve_then_stop(sup)


@pytest.mark.parametrize('sig', STOPS)
def test_supervisor_stop_signal_while_neard_starts(supervised, sig):
    sup, fd = start_neard_starting(supervised)
    sup.signal(sig)
    sup.wait_log(f'msg=stopping signal=SIG{sig}')
    sup.config_fifo.feed(fd, sup.config_text)  # neard starts, then stops on its SIGTERM
    sup.finish_stopped(f'SIG{sig}')
    assert sup.status()['last_exit']['code'] == 0
    assert sup.status()['last_exit']['signal'] is None


def test_supervisor_sighup_while_running(supervised):
    sup = supervised().spawn()
    sup.wait_state('running')
    req = sup.in_flight()
    sup.signal('HUP')
    sup.wait_log(NO_UPGRADE)
    assert_status_reply(req.finish())
    serve_then_stop(sup)


@pytest.mark.parametrize('sig', STOPS)
def test_supervisor_stop_signal_while_running(supervised, sig):
    sup = supervised().spawn()
    sup.wait_state('running')
    req = sup.in_flight()
    sup.signal(sig)
    sup.wait_log('WARN neard: SIGTERM, stopping...')
    assert_status_reply(req.finish())
    sup.finish_stopped(f'SIG{sig}')
    assert sup.status()['last_exit']['code'] == 0


def start_backoff(supervised):
    """neard was killed; the supervisor waits (1 s) to restart it."""
    sup = supervised().spawn()
    sup.wait_state('running')
    os.kill(sup.neard_pid(), signal.SIGKILL)
    sup.wait_state('backoff')
    return sup


def test_supervisor_sighup_in_backoff(supervised):
    sup = start_backoff(supervised)
    sup.signal('HUP')
    sup.wait_log(NO_UPGRADE)
    sup.wait_state('running', restarts=1)
    serve_then_stop(sup)


@pytest.mark.parametrize('sig', STOPS)
def test_supervisor_stop_signal_in_backoff(supervised, sig):
    sup = start_backoff(supervised)
    sup.signal(sig)
    sup.finish_stopped(f'SIG{sig}')
    assert sup.status()['last_exit']['signal'] == 9


def start_upgrading(supervised):
    """An immediate upgrade with a long jitter: neard is stopped for it (a
    request in flight finishes) and the supervisor waits to apply it."""
    sup = supervised().spawn()
    sup.wait_state('running')
    sup.write_upgrade(jitter_s=86400)
    req = sup.in_flight()
    sup.signal('HUP')
    sup.wait_log('msg="SIGHUP: stopping neard for the pending upgrade"')
    assert_status_reply(req.finish())
    sup.wait_log('msg="applying upgrade" to=2.5.0 delay_s=')
    sup.wait_state('upgrading')
    return sup


def test_supervisor_sighup_while_upgrading_is_ignored(supervised):
    sup = start_upgrading(supervised)
    sup.signal('HUP')
    sup.wait_log('component=nearup msg="upgrade in progress; SIGHUP ignored"\n')
    assert sup.proc.poll() is None and sup.status()['state'] == 'upgrading'
    sup.signal('TERM')
    sup.finish_stopped('SIGTERM')
    assert (sup.state / 'upgrade.json').exists()  # still pending for the next start


@pytest.mark.parametrize('sig', STOPS)
def test_supervisor_stop_signal_while_upgrading(supervised, sig):
    sup = start_upgrading(supervised)
    sup.signal(sig)
    log = sup.finish_stopped(f'SIG{sig}')
    assert (sup.state / 'upgrade.json').exists()
    assert json.loads((sup.state / 'run.json').read_text())['binary'] == NEARD_SIM
    assert 'msg="upgraded neard"' not in log


@pytest.mark.parametrize('sig', ['HUP', 'TERM', 'INT'])
def test_supervisor_signal_while_stopping_is_ignored(supervised, sig):
    """neard's clean stop is never cut or restarted: with an immediate
    upgrade pending, a SIGHUP used to turn the stop into an upgrade."""
    sup = supervised().spawn()
    sup.wait_state('running')
    sup.write_upgrade(jitter_s=0)
    req = sup.in_flight()
    sup.signal('TERM')
    sup.wait_log('WARN neard: SIGTERM, stopping...')
    sup.signal(sig)
    if sig == 'HUP':
        sup.wait_log('component=nearup msg="stopping; SIGHUP ignored"\n')
    else:
        sup.wait_log(f'component=nearup msg="already stopping; signal ignored" signal=SIG{sig}\n')
    assert_status_reply(req.finish())
    log = sup.finish_stopped('SIGTERM')
    assert 'pending upgrade' not in log and 'applying upgrade' not in log
    assert (sup.state / 'upgrade.json').exists()
