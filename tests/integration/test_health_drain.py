"""nearup health --drain / --undrain: a running sidecar is told (POST
/drain, /undrain, loopback clients only) to stop serving its node as
healthy, whatever the checks say: /healthcheck 503 "draining", the agent
"up drain #draining", the state gauge "draining"; and then to serve again."""
import json
import subprocess

from conftest import NEARUP, free_port
from test_health_sidecar import sidecars, sim, url  # noqa: F401

REASON = 'drained by an operator (POST /drain); POST /undrain to serve again'


def nearup(*args):
    return subprocess.run([NEARUP, 'health', *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=30)


def test_drain_and_undrain(sim, sidecars):  # noqa: F811
    sc = sidecars(url(sim), '--interval', 100)
    sc.wait_health(200, 'ok')
    side = f'http://127.0.0.1:{sc.port}'

    r = nearup('--drain', '--sidecar', side, '--wait-idle', 1)
    assert (r.returncode, r.stderr) == (0, '')
    assert r.stdout == (f"{side}: draining: /healthcheck answers 503, the agent 'drain'\n"
                        f'{side}: waited 1 s for requests in flight to finish\n')
    code, body = sc.health()
    assert (code, body['status'], body['reason'], body['weight']) == (503, 'draining', REASON, 0)
    assert body['check'] == 'ok'  # the node itself is still judged healthy
    assert sc.agent() == 'up drain #draining\n'
    _, m = sc.metrics()
    assert m['nearup_health_state{state="draining"}'] == 1
    assert m['nearup_health_state{state="ok"}'] == 0
    assert m['nearup_health_up'] == 0 and m['nearup_health_weight_percent'] == 0

    # Again: still draining; checks go on without lifting it.
    r = nearup('--drain', '--sidecar', side + '/')
    assert (r.returncode, r.stdout) == (
        0, f"{side}/: draining: /healthcheck answers 503, the agent 'drain'\n")
    assert sc.request('GET', '/drain')[0] == 405
    assert sc.wait_health(503, 'draining')['successes'] >= 1

    r = nearup('--undrain', '--sidecar', side)
    assert (r.returncode, r.stdout, r.stderr) == (0, f'{side}: serving again (state ok)\n', '')
    code, body = sc.health()
    assert (code, body['status'], body['reason']) == (200, 'ok', '')
    assert sc.agent() == 'up ready 100%\n'
    _, m = sc.metrics()
    assert m['nearup_health_state{state="draining"}'] == 0
    assert m['nearup_health_state{state="ok"}'] == 1
    log = open(sc.log_path).read()
    assert log.count('msg="draining: not serving until POST /undrain" peer=127.0.0.1:') == 1
    assert log.count('msg="drain lifted" peer=127.0.0.1:') == 1


def test_drain_errors(sim):  # noqa: F811
    side = f'http://127.0.0.1:{free_port()}'
    r = nearup('--drain', '--sidecar', side)
    assert r.returncode == 1
    assert r.stderr.startswith(f'nearup health: POST {side}/drain: ') and \
        r.stderr.endswith('; is the sidecar running there?\n'), r.stderr
    # Something that is not a sidecar: neard-sim's RPC port.
    r = nearup('--drain', '--sidecar', url(sim))
    assert r.returncode == 1
    assert r.stderr.startswith(f'nearup health: {url(sim)}/drain answered HTTP '), r.stderr
    assert r.stderr.endswith('; is it a nearup health sidecar?\n'), r.stderr

    help_ = "; see 'nearup health --help'"
    for args, msg in ((['--drain', '--undrain', '--sidecar', side],
                       '--drain and --undrain exclude each other'),
                      (['--drain'], '--drain needs --sidecar URL (the sidecar\'s HTTP address)'),
                      (['--undrain', '--sidecar', side, '--wait-idle', 5],
                       '--wait-idle goes with --drain'),
                      (['--drain', '--wait', '--sidecar', side],
                       '--wait and --drain/--undrain exclude each other'),
                      (['--node', url(sim), '--sidecar', side],
                       '--sidecar and --wait-idle go with --drain or --undrain')):
        r = nearup(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.splitlines()[0] == f'nearup health: {msg}{help_}', r.stderr
