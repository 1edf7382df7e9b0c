"""nearup health --wait: the sidecar's checks, the same judge, run until
--rise OK checks in a row (exit 0) or --timeout-total (exit 1 with the last
state and its reason); it serves nothing. Against neard-sim nodes: one kept
syncing until its peer returns, one whose block production is stalled."""
import re
import subprocess
from datetime import datetime, timezone

from conftest import NEARUP, free_port, wait_until
from test_health_sidecar import control, make_syncing, peerless_pair, sim, url  # noqa: F401


def wait_cmd(node_url, *args):
    return [NEARUP, 'health', '--wait', '--node', node_url, *[str(a) for a in args]]


def head_age_s(node):
    t = node.status()['sync_info']['latest_block_time']
    when = datetime.fromisoformat(t[:26].rstrip('Z') + '+00:00')
    return (datetime.now(timezone.utc) - when).total_seconds()


def test_wait_returns_once_the_node_has_synced(tmp_path, sim_nodes):
    peer, node = peerless_pair(tmp_path, sim_nodes)
    make_syncing(peer, node)
    u = url(node)
    p = subprocess.Popen(wait_cmd(u, '--interval', 100, '--rise', 3, '--timeout-total', 120),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()
        assert re.fullmatch(rf'{re.escape(u)}: syncing: node is syncing \(head \d+\)\n', first)
        assert p.poll() is None  # no OK check can come while the node waits for its peer
        peer.start()
        out, err = p.communicate(timeout=90)
    finally:
        p.kill()
        p.wait()
    assert (p.returncode, err) == (0, '')
    lines = out.splitlines()
    assert len(lines) == 2, out
    m1 = re.fullmatch(rf'{re.escape(u)}: ok \(head (\d+)\)', lines[0])
    m2 = re.fullmatch(rf'{re.escape(u)}: healthy: 3 ok checks in a row \(head (\d+)\)', lines[1])
    assert m1 and m2, out
    assert int(m1.group(1)) <= int(m2.group(1)) <= node.height()
    assert node.status()['sync_info']['syncing'] is False


def test_wait_times_out_on_a_stalled_node(sim):  # noqa: F811
    control(sim, stall=True)
    wait_until(lambda: head_age_s(sim) > 1.5, 10, what='the stalled head older than 1.5 s')
    stalled = sim.height()
    u = url(sim)
    r = subprocess.run(wait_cmd(u, '--interval', 100, '--stale', 1, '--timeout-total', 2),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    reason = rf'stale: head {stalled} is \d+\.\d s old \(limit 1\.0 s\)'
    assert re.fullmatch(rf'{re.escape(u)}: {reason}\n', r.stdout), r.stdout
    m = re.fullmatch(rf'nearup health: {re.escape(u)} not healthy after 2 s \((\d+) checks\): '
                     rf'{reason}\n', r.stderr)
    assert m and int(m.group(1)) >= 1, r.stderr
    assert sim.height() == stalled

    # The same node once it produces again: healthy after --rise checks.
    control(sim, stall=False)
    r = subprocess.run(wait_cmd(u, '--interval', 100, '--stale', 1, '--rise', 2),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.splitlines()[-1].startswith(f'{u}: healthy: 2 ok checks in a row (head ')


def test_wait_on_a_node_that_does_not_answer():
    u = f'http://127.0.0.1:{free_port()}'
    r = subprocess.run(wait_cmd(u, '--interval', 100, '--timeout-total', 1), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    line = r.stdout.splitlines()[0]
    assert line.startswith(f'{u}: down: '), r.stdout
    assert r.stderr.startswith(f'nearup health: {u} not healthy after 1 s (')
    assert r.stderr.endswith(f'): {line[len(u) + 2:]}\n'), r.stderr


def test_wait_usage():
    r = subprocess.run(wait_cmd('http://127.0.0.1:1', '--agent-port', 0), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == ("nearup health: --wait serves nothing; drop --agent-port; "
                                        "see 'nearup health --help'")
    r = subprocess.run(wait_cmd('http://127.0.0.1:1', '--timeout-total', 0), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0].startswith('nearup health: --timeout-total: 0 is out of range')


def test_wait_holds_an_unverified_home(sim, home):  # noqa: F811
    """With --home, the restore's chain check gates the wait as it gates
    /healthcheck: a check file that cannot be read keeps the node unverified."""
    check = home / '.nearup' / 'chain-check.json'
    check.parent.mkdir(exist_ok=True)
    check.write_text('{not json')
    u = url(sim)
    r = subprocess.run(wait_cmd(u, '--home', home, '--interval', 100, '--timeout-total', 1),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    m = re.fullmatch(rf'{re.escape(u)}: unverified: (chain check unknown: [^\n]*{check}[^\n]*)\n',
                     r.stdout)
    assert m, r.stdout
    assert r.stderr.endswith(f'): unverified: {m.group(1)}\n'), r.stderr
    check.unlink()
    r = subprocess.run(wait_cmd(u, '--home', home, '--interval', 100, '--rise', 1),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.splitlines()[-1].startswith(f'{u}: healthy: 1 ok checks in a row (head ')
