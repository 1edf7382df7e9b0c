"""nearup upgrade --check: the fleet gate "is an upgrade staged on this host
(and is it the one we expect)". It reads upgrade.json, recomputes the sha256
of the binary it names and checks config.json's expected_shutdown, and
changes nothing: exit 0 staged and matching, 1 not, 2 usage."""
import json
import os

import pytest

from lifecycle import Nearup, head
from test_upgrade import blob, load, localnet, tamper


@pytest.fixture
def nu(tmp_path):
    n = Nearup(tmp_path)
    yield n
    n.cleanup()


HELP = "see 'nearup upgrade --help'"


def files(home):
    return {p: (home / p).read_bytes() for p in
            ('config.json', '.nearup/run.json', '.nearup/upgrade.json') if (home / p).exists()}


def check(nu, *args):
    return nu('upgrade', '--check', *args)


def test_check_reports_the_staged_upgrade(tmp_path, nu, bucket):
    bucket.add_release('testnet', '2.4.0')
    new = bucket.add_release('testnet', '2.5.0')
    root = tmp_path / 'ln'
    (home,), (url,) = localnet(nu, bucket, root)

    r = check(nu, '--home', home)
    assert (r.returncode, r.stdout, r.stderr) == (1, f'{home}: not staged: no upgrade is staged\n',
                                                  '')
    r = check(nu, '--home', home, '--json')
    assert r.returncode == 1
    assert json.loads(r.stdout) == {'ok': False, 'nodes': [
        {'home': str(home), 'ok': False, 'staged': False, 'reason': 'no upgrade is staged'}]}

    target = head(url) + 100000  # far ahead: it stays staged for the whole test
    nu.ok('upgrade', '--to', '2.5.0', '--at-height', target, '--home', root)
    before = files(home)
    path = blob(nu, new['sha256'])
    line = f'{home}: staged neard 2.5.0 at height {target} (sha256 {new["sha256"]}, {path})\n'
    for args in ([], ['--to', '2.5.0'], ['--at-height', target],
                 ['--to', '2.5.0', '--at-height', target]):
        r = check(nu, '--home', root, *args)
        assert (r.returncode, r.stdout, r.stderr) == (0, line, ''), args
    r = check(nu, '--home', home, '--to', '2.5.0', '--json')
    assert r.returncode == 0
    assert json.loads(r.stdout) == {'ok': True, 'nodes': [{
        'home': str(home), 'ok': True, 'staged': True, 'reason': None, 'version': '2.5.0',
        'commit': '', 'sha256': new['sha256'], 'binary': path, 'at_height': target, 'jitter_s': 0}]}

    r = check(nu, '--home', home, '--to', '2.6.0')
    assert (r.returncode, r.stdout) == (1, f'{home}: not staged: staged neard 2.5.0, not 2.6.0\n')
    r = check(nu, '--home', home, '--at-height', target + 1)
    assert (r.returncode, r.stdout) == (
        1, f'{home}: not staged: staged at height {target}, not {target + 1}\n')
    r = check(nu, '--home', home, '--at-height', target + 1, '--json')
    assert json.loads(r.stdout)['nodes'][0]['reason'] == f'staged at height {target}, not ' \
        f'{target + 1}'

    # The staged binary changed after it was verified.
    got = tamper(path)
    r = check(nu, '--home', home)
    assert (r.returncode, r.stdout) == (
        1, f'{home}: not staged: staged binary {path} has sha256 {got}, upgrade.json says '
        f'{new["sha256"]}\n')
    assert files(home) == before

    # neard would not stop at the height: expected_shutdown gone from config.json.
    cfg = load(home / 'config.json')
    assert cfg.pop('expected_shutdown') == target
    (home / 'config.json').write_text(json.dumps(cfg))
    r = check(nu, '--home', home, '--to', '2.6.0')
    assert r.stdout == f'{home}: not staged: staged neard 2.5.0, not 2.6.0\n'
    (home / '.nearup' / 'upgrade.json').write_text(json.dumps(
        dict(load(home / '.nearup' / 'upgrade.json'), sha256=got)))
    r = check(nu, '--home', home)
    assert (r.returncode, r.stdout) == (
        1, f'{home}: not staged: staged for height {target} but config.json has no '
        'expected_shutdown\n')


def test_check_usage(tmp_path, nu):
    for args, msg in ((['--jitter', '5'], '--check changes nothing; it takes only --to, '
                       '--at-height, --home, --all and --json'),
                      (['--neard-sha256', 'ab' * 32], '--check changes nothing; it takes only '
                       '--to, --at-height, --home, --all and --json')):
        r = check(nu, *args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.splitlines()[0] == f"nearup upgrade: {msg}; {HELP}"
    r = nu('upgrade', '--json', '--to', '2.5.0')
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "nearup upgrade: --json goes with --check; " + HELP
    r = nu('upgrade')
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "nearup upgrade: --to VERSION is required; " + HELP


def test_check_every_node_of_a_localnet(tmp_path, nu, bucket):
    bucket.add_release('testnet', '2.4.0')
    new = bucket.add_release('testnet', '2.5.0')
    root = tmp_path / 'ln'
    homes, urls = localnet(nu, bucket, root, nodes=2)
    target = max(head(u) for u in urls) + 100000
    nu.ok('upgrade', '--to', '2.5.0', '--at-height', target, '--home', root)
    path = blob(nu, new['sha256'])
    staged = [f'{h}: staged neard 2.5.0 at height {target} (sha256 {new["sha256"]}, {path})'
              for h in homes]
    r = check(nu, '--home', root, '--to', '2.5.0', '--at-height', target)
    assert (r.returncode, r.stdout.splitlines()) == (0, staged)

    # One node's upgrade.json says "now" (as one written without a height):
    # the gate for a height fails on that node only.
    up = homes[1] / '.nearup' / 'upgrade.json'
    up.write_text(json.dumps(dict(load(up), at_height=None)))
    r = check(nu, '--home', root, '--at-height', target)
    assert (r.returncode, r.stdout.splitlines()) == (1, [
        staged[0], f'{homes[1]}: not staged: staged to switch now, not at height {target}'])
    r = check(nu, '--home', root, '--json')
    doc = json.loads(r.stdout)
    assert (r.returncode, doc['ok']) == (0, True)
    assert [n['at_height'] for n in doc['nodes']] == [target, None]
    # A binary that is no regular file (a FIFO would block the hash) is refused.
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    up.write_text(json.dumps(dict(load(up), binary=str(fifo))))
    r = check(nu, '--home', homes[1])
    assert (r.returncode, r.stdout) == (
        1, f'{homes[1]}: not staged: staged binary {fifo} is not a regular file\n')
    up.unlink()
    r = check(nu, '--home', root, '--json')
    doc = json.loads(r.stdout)
    assert (r.returncode, doc['ok']) == (1, False)
    assert [(n['home'], n['ok'], n['staged']) for n in doc['nodes']] == [
        (str(homes[0]), True, True), (str(homes[1]), False, False)]
