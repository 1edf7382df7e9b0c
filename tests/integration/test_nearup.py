"""The nearup command's dispatch: version, help, usage errors (exit 2)."""
import subprocess

from conftest import NEARUP


def run(*args):
    return subprocess.run([NEARUP, *args], capture_output=True, text=True, timeout=30)


def test_version_flag_and_command_agree():
    a, b = run('--version'), run('version')
    assert a.returncode == 0 and b.returncode == 0
    assert a.stdout == b.stdout == 'nearup 0.1.0\n'


def test_help_lists_commands():
    r = run('help')
    assert r.returncode == 0
    assert r.stdout.startswith('usage: nearup ')
    assert '  version ' in r.stdout


def test_unknown_command_is_usage_error():
    r = run('frobnicate')
    assert r.returncode == 2
    assert r.stderr == "nearup: unknown command 'frobnicate'; see 'nearup help'\n"
    assert r.stdout == ''


def test_no_arguments_is_usage_error():
    r = run()
    assert r.returncode == 2
    assert r.stderr.startswith('usage: nearup ')
