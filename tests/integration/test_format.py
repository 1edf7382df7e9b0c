"""The C sources follow .clang-format (applied across the tree in its own
commit): a change that is not formatted fails here, with clang-format's
own words for where."""
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def c_files():
    r = subprocess.run(['git', 'ls-files', '-z', '--', '*.c', '*.h'], cwd=ROOT,
                       capture_output=True, check=True)
    files = [f for f in r.stdout.decode().split('\0') if f]
    assert len(files) > 100, files  # the tree's sources, not an empty listing
    return files


def test_every_c_file_is_clang_formatted():
    tool = shutil.which('clang-format')
    assert tool, 'clang-format (deps/debian-packages.txt) is needed'
    r = subprocess.run([tool, '--dry-run', '--Werror', *c_files()], cwd=ROOT,
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, ''), r.stderr[:4000]
