"""scripts/coverage.py, the report of `make coverage`: rows per directory
of src/ and sim/ with exact sums, percentages rounded down to a tenth, the
minimum as the exit status, and clear errors for a build dir that is not
one or has no counts (against the real gcovr)."""
import importlib.util
import json
import os
import subprocess

from conftest import ROOT

SCRIPT = os.path.join(ROOT, 'scripts', 'coverage.py')
spec = importlib.util.spec_from_file_location('coverage_report', SCRIPT)
cov = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cov)

FILES = [
    {'filename': 'src/gateway/router.c', 'line_covered': 60, 'line_total': 64},
    {'filename': 'src/gateway/ratelimit.c', 'line_covered': 40, 'line_total': 56},
    {'filename': 'src/lib/fs.c', 'line_covered': 199, 'line_total': 200},
    {'filename': 'sim/main.c', 'line_covered': 170, 'line_total': 200},
    {'filename': 'sim/rpc/borsh.c', 'line_covered': 0, 'line_total': 0},
]


def test_rows_are_directories_with_exact_sums():
    assert cov.by_directory(FILES) == {
        'src/gateway': (100, 120), 'src/lib': (199, 200), 'sim': (170, 200), 'sim/rpc': (0, 0)}


def test_tenths_round_down():
    assert cov.tenths(100, 120) == 833  # 83.33...
    assert cov.tenths(199, 200) == 995
    assert cov.tenths(1699, 2000) == 849  # 84.95 is not 85.0
    assert cov.tenths(17, 20) == 850
    assert cov.tenths(0, 0) == 1000  # no lines, nothing missed
    assert cov.tenths(0, 7) == 0


def test_report_table_and_verdict():
    text, ok = cov.report(cov.by_directory(FILES), 85)
    assert ok  # 469 of 520 is 90.19%
    assert text == (
        'directory       lines  covered   cover\n'
        'sim               200      170   85.0%\n'
        'sim/rpc             0        0  100.0%\n'
        'src/gateway       120      100   83.3%\n'
        'src/lib           200      199   99.5%\n'
        '--------------------------------------\n'
        'src/ and sim/     520      469   90.1%\n'
        'line coverage of src/ and sim/ reaches the minimum of 85%\n')
    text, ok = cov.report(cov.by_directory(FILES), 90.2)
    assert not ok
    assert text.splitlines()[-1] == 'line coverage of src/ and sim/ is below the minimum of 90.2%'
    # exactly at the minimum reaches it
    assert cov.report({'src/lib': (17, 20)}, 85)[1]
    assert not cov.report({'src/lib': (1699, 2000)}, 85)[1]


def run(*args):
    return subprocess.run(['/usr/bin/python3', SCRIPT, *args], capture_output=True, text=True,
                          timeout=60)


def test_not_a_build_dir(tmp_path):
    r = run(str(tmp_path))
    assert r.returncode == 1
    assert r.stdout == ''
    assert r.stderr == (f'coverage: {tmp_path} is not a meson build dir; set one up with '
                        '-Db_coverage=true (make coverage does)\n')


def test_build_dir_without_counts(tmp_path):
    """A build dir with no .gcda files: gcovr finds nothing, which is an
    error, not a 100% report."""
    src, build = tmp_path / 'src-tree', tmp_path / 'build'
    (src / 'src' / 'lib').mkdir(parents=True)
    (src / 'src' / 'lib' / 'x.c').write_text('int x(void) { return 1; }\n')
    (build / 'meson-info').mkdir(parents=True)
    (build / 'meson-info' / 'meson-info.json').write_text(
        json.dumps({'directories': {'source': str(src), 'build': str(build)}}))
    r = run(str(build), '--min', '85')
    assert r.returncode == 1
    assert r.stdout == ''
    assert r.stderr == (f'coverage: no coverage data in {build}; run the tests of a build set '
                        'up with -Db_coverage=true first\n')
    summary = json.loads((build / 'meson-logs' / 'coverage.json').read_text())
    assert summary['files'] == []
