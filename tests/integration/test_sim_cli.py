"""neard-sim command line: version string, clap-style usage errors, help."""
import os
import subprocess

from conftest import NEARD_SIM, run_sim


def test_version_line():
    r = subprocess.run([NEARD_SIM, '--version'], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout == 'neard (release 2.4.0) (build sim) (rustc 1.82.0) (protocol 73) (db 42)\n'


def test_release_override_from_environment():
    """NEARD_SIM_RELEASE lets tests serve two "neard versions" from one binary."""
    def version(value):
        env = dict(os.environ, NEARD_SIM_RELEASE=value)
        return subprocess.run([NEARD_SIM, '--version'], capture_output=True, text=True,
                              env=env).stdout
    assert version('2.5.0-rc.1') == \
        'neard (release 2.5.0-rc.1) (build sim) (rustc 1.82.0) (protocol 73) (db 42)\n'
    # Anything that is not a plain release name is ignored.
    assert version('2.5 0') == \
        'neard (release 2.4.0) (build sim) (rustc 1.82.0) (protocol 73) (db 42)\n'


def test_no_subcommand_prints_help_on_stderr_exit_2(home):
    r = run_sim(home)
    assert r.returncode == 2
    assert r.stdout == ''
    assert 'Usage: neard [OPTIONS] <COMMAND>' in r.stderr
    for cmd in ('init', 'run', 'localnet'):
        assert f'  {cmd} ' in r.stderr


def test_unknown_flag_is_a_clap_error(home):
    r = run_sim(home, 'run', '--x')
    assert r.returncode == 2
    assert r.stderr == ("error: unexpected argument '--x' found\n\n"
                        "Usage: neard run [OPTIONS]\n\nFor more information, try '--help'.\n")


def test_unknown_global_flag_and_subcommand(home):
    r = run_sim(home, '--bogus', 'init')
    assert r.returncode == 2
    assert r.stderr.startswith("error: unexpected argument '--bogus' found\n")
    r = run_sim(home, 'frobnicate')
    assert r.returncode == 2
    assert r.stderr.startswith("error: unrecognized subcommand 'frobnicate'\n")


def test_missing_value_and_bad_number(home):
    r = run_sim(home, 'init', '--chain-id')
    assert r.returncode == 2
    assert "a value is required for '--chain-id <CHAIN_ID>'" in r.stderr
    r = run_sim(home, 'localnet', '-v', 'four')
    assert r.returncode == 2
    assert "invalid value 'four' for '--validators <VALIDATORS>'" in r.stderr


def test_ignored_global_flags_are_accepted(home):
    r = run_sim(home, '--unsafe-fast-startup', '--verbose', 'init', '--chain-id', 'simnet',
                '--fast')
    assert r.returncode == 0, r.stderr
    r = run_sim(home, '--verbose', 'near', 'init', '--chain-id=simnet')
    assert r.returncode == 0, r.stderr


def test_subcommand_help_exits_0(home):
    r = run_sim(home, 'init', '--help')
    assert r.returncode == 0
    assert 'Usage: neard init [OPTIONS]' in r.stdout
