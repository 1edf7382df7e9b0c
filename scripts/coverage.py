#!/usr/bin/python3
"""Line coverage of src/ and sim/ from a coverage build (make coverage).

Runs gcovr once over BUILD_DIR's .gcda files: the per-file report goes to
BUILD_DIR/meson-logs/coverage.txt (and .json), and a table with one row per
directory (src/lib, src/gateway, ..., sim, sim/rpc) and the total of src/
and sim/ is printed. Exits 1 when the total is below --min (percent), or
when gcovr fails.

    scripts/coverage.py build-cov [--min 85]
"""
import argparse
import json
import os
import posixpath
import re
import subprocess
import sys

COUNTED = ('src', 'sim')  # top-level directories the figure is about
GCOVR_JOBS = 2


def directory_of(filename):
    """The directory a report row belongs to: a file's own directory,
    relative to the source root ('src/gateway', 'sim/rpc', 'sim')."""
    return posixpath.dirname(filename) or '.'


def by_directory(files):
    """{directory: (covered, total)} over gcovr's per-file summaries
    (dicts with filename, line_covered, line_total)."""
    dirs = {}
    for f in files:
        d = directory_of(f['filename'])
        covered, total = dirs.get(d, (0, 0))
        dirs[d] = (covered + f['line_covered'], total + f['line_total'])
    return dirs


def tenths(covered, total):
    """Coverage in tenths of a percent, rounded down (100.0% for no lines:
    nothing to miss), so 85.0% shown means 85% reached."""
    return covered * 1000 // total if total else 1000


def report(dirs, minimum):
    """(text, ok): the table of dirs sorted by name with a total row, and
    whether the total reaches minimum (a percent)."""
    covered = sum(c for c, _ in dirs.values())
    total = sum(t for _, t in dirs.values())
    rows = [(d, c, t) for d, (c, t) in sorted(dirs.items())]
    label = ' and '.join(f'{d}/' for d in COUNTED)
    rows.append((label, covered, total))
    width = max(len(r[0]) for r in rows)
    lines = [f'{"directory":<{width}}  {"lines":>6}  {"covered":>7}  {"cover":>6}']
    for i, (d, c, t) in enumerate(rows):
        if i == len(rows) - 1:
            lines.append('-' * len(lines[0]))
        p = tenths(c, t)
        lines.append(f'{d:<{width}}  {t:>6}  {c:>7}  {p // 10:>3}.{p % 10}%')
    ok = covered * 100 >= minimum * total
    verdict = 'reaches' if ok else 'is below'
    lines.append(f'line coverage of {label} {verdict} the minimum of {minimum:g}%')
    return '\n'.join(lines) + '\n', ok


def source_root(build_dir):
    """The source tree a meson build dir was set up from."""
    with open(os.path.join(build_dir, 'meson-info', 'meson-info.json'), encoding='utf-8') as f:
        return json.load(f)['directories']['source']


def run_gcovr(build_dir, txt, summary):
    root = source_root(build_dir)
    filters = []
    for d in COUNTED:
        filters += ['-f', re.escape(os.path.join(root, d) + os.sep)]
    cmd = ['gcovr', '-r', root, *filters, '-j', str(GCOVR_JOBS),
           '--txt', txt, '--json-summary', summary, build_dir]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('build_dir')
    ap.add_argument('--min', type=float, default=85.0, help='least total percent (default 85)')
    args = ap.parse_args(argv)
    build_dir = os.path.abspath(args.build_dir)
    if not os.path.isfile(os.path.join(build_dir, 'meson-info', 'meson-info.json')):
        sys.stderr.write(f'coverage: {args.build_dir} is not a meson build dir; set one up with '
                         '-Db_coverage=true (make coverage does)\n')
        return 1
    logs = os.path.join(build_dir, 'meson-logs')
    os.makedirs(logs, exist_ok=True)
    txt = os.path.join(logs, 'coverage.txt')
    summary = os.path.join(logs, 'coverage.json')
    r = run_gcovr(build_dir, txt, summary)
    sys.stderr.write(r.stderr)  # its warnings too
    if r.returncode != 0:
        sys.stderr.write(f'coverage: gcovr failed (exit {r.returncode}); see the lines above\n')
        return 1
    with open(summary, encoding='utf-8') as f:
        files = json.load(f)['files']
    if not files:
        sys.stderr.write(f'coverage: no coverage data in {args.build_dir}; run the tests of a '
                         'build set up with -Db_coverage=true first\n')
        return 1
    text, ok = report(by_directory(files), args.min)
    sys.stdout.write(text)
    print(f'per file: {txt}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
