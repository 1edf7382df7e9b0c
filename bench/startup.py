#!/usr/bin/python3
"""nearup's start-up cost: a command that needs no network must not pay for it.

- Wall time, side by side in one hyperfine run (-N: no shell, warm-up
  first): `true`, then for each nearup binary given (--before, the build
  to compare with, and --nearup) `nearup stop --all` with no node (the
  no-op the issue names), `nearup --version`, and `nearup snapshot list
  --from EMPTY-DIR` (a command that loads libcurl: what the network
  commands pay).
- Where the time goes, counted rather than timed (valgrind's callgrind:
  instructions from execve to exit, ld.so included; the same on every
  run): the whole `stop --all`, the share of it in the dynamic loader's
  relocation, and ld.so's own statistics (LD_DEBUG=statistics: symbol and
  relative relocations) and the shared objects mapped at start (ldd);
  and the whole `snapshot list`, which loads libcurl with dlopen instead.
- Which libraries cost it: an empty main() linked (--no-as-needed) against
  growing sets of nearup's libraries, counted the same way.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_MS = 3.0

LIB_SETS = [
    ('libc only', []),
    ('+ libuv, jansson, libsodium, libzstd, inih (what nearup maps now)',
     ['uv', 'jansson', 'sodium', 'zstd', 'inih']),
    ('+ OpenSSL libcrypto', ['uv', 'jansson', 'sodium', 'zstd', 'inih', 'crypto']),
    ('+ libcrypto, libsystemd', ['uv', 'jansson', 'sodium', 'zstd', 'inih', 'crypto', 'systemd']),
    ('+ libcrypto, libsystemd, libcurl, liblzma (what nearup mapped before)',
     ['uv', 'jansson', 'sodium', 'zstd', 'inih', 'crypto', 'systemd', 'curl', 'lzma']),
]


def empty_env(tmp):
    env = {k: v for k, v in os.environ.items() if k != 'NOTIFY_SOCKET'}
    for var, sub in (('HOME', 'home'), ('XDG_CACHE_HOME', 'cache'), ('XDG_STATE_HOME', 'state'),
                     ('XDG_CONFIG_HOME', 'config'), ('XDG_DATA_HOME', 'data')):
        env[var] = os.path.join(tmp, sub)
        os.makedirs(env[var], exist_ok=True)
    return env


def hyperfine(env, runs, commands):
    """{command: {median, mean, stddev, min, max, user, system}} in ms."""
    out = tempfile.mktemp(suffix='.json')
    subprocess.run(['hyperfine', '-N', '--warmup', '20', '--runs', str(runs), '--export-json',
                    out, *commands], env=env, check=True, capture_output=True)
    with open(out) as fh:
        results = json.load(fh)['results']
    os.unlink(out)
    keys = ('median', 'mean', 'stddev', 'min', 'max', 'user', 'system')
    return {r['command']: {k: r[k] * 1000 for k in keys} for r in results}


def instructions(env, argv):
    """Instructions callgrind counts for argv, and the share in ld.so's relocation."""
    if shutil.which('valgrind') is None:
        return None, None
    out = tempfile.mktemp(suffix='.cg')
    r = subprocess.run(['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}', *argv],
                       env=env, capture_output=True, text=True)
    total = int(re.search(r'Collected : (\d+)', r.stderr).group(1))
    ann = subprocess.run(['callgrind_annotate', '--inclusive=yes', out], capture_output=True,
                         text=True).stdout
    os.unlink(out)
    reloc = re.search(r'^\s*([\d,]+) \([^)]*\)\s+\S*dl-reloc\.c:_dl_relocate_object \[', ann, re.M)
    return total, int(reloc.group(1).replace(',', '')) if reloc else 0


def loader_stats(env, argv):
    """ld.so's relocation counts (LD_DEBUG=statistics) and the objects ldd lists."""
    r = subprocess.run(argv, env=dict(env, LD_DEBUG='statistics'), capture_output=True, text=True)
    sym = re.search(r'number of relocations: (\d+)', r.stderr)
    rel = re.search(r'number of relative relocations: (\d+)', r.stderr)
    ldd = subprocess.run(['ldd', argv[0]], capture_output=True, text=True).stdout
    return {'symbol_relocs': int(sym.group(1)) if sym else 0,
            'relative_relocs': int(rel.group(1)) if rel else 0,
            'objects': len([line for line in ldd.splitlines() if line.strip()])}


def link_costs(tmp, env):
    """Instructions to start and exit an empty main() per library set."""
    src = os.path.join(tmp, 'empty.c')
    with open(src, 'w') as fh:
        fh.write('int main(void) { return 0; }\n')
    rows = []
    for i, (label, libs) in enumerate(LIB_SETS):
        exe = os.path.join(tmp, f'empty{i}')
        subprocess.run(['cc', '-O2', src, '-o', exe, '-Wl,--no-as-needed',
                        *[f'-l{lib}' for lib in libs]], check=True, capture_output=True)
        n, _ = instructions(env, [exe])
        rows.append((label, n, loader_stats(env, [exe])['objects']))
    return rows


def measure(binaries, runs):
    tmp = tempfile.mkdtemp(prefix='nearup-bench-start-')
    try:
        env = empty_env(tmp)
        store = os.path.join(tmp, 'store')
        os.makedirs(store)
        cmds = {name: [[b, 'stop', '--all'], [b, '--version'],
                       [b, 'snapshot', 'list', '--from', store]] for name, b in binaries}
        for name, b in binaries:  # each must work before it is timed
            for argv in cmds[name]:
                subprocess.run(argv, env=env, check=True, capture_output=True)
        flat = ['true'] + [' '.join(a) for name, _ in binaries for a in cmds[name]]
        times = hyperfine(env, runs, flat)
        counts = {name: instructions(env, [b, 'stop', '--all']) for name, b in binaries}
        curl_counts = {name: instructions(env, cmds[name][2])[0] for name, b in binaries}
        stats = {name: loader_stats(env, [b, 'stop', '--all']) for name, b in binaries}
        links = link_costs(tmp, env)
        true_n, _ = instructions(env, ['/usr/bin/true'])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cmds, times, counts, curl_counts, stats, links, true_n


def commit_of(binary):
    return os.path.basename(os.path.dirname(os.path.realpath(binary)))


def section(binaries, runs, machine, now, result):
    cmds, times, counts, curl_counts, stats, links, true_n = result
    names = [n for n, _ in binaries]
    t = times['true']
    lines = [f'### nearup start-up ({now})', '',
             f'Machine: {machine}. Release builds; `bench/startup.py` (method in its docstring), '
             f'hyperfine -N, {runs} runs each, all commands in one run. Binaries: ' +
             ', '.join(f'{n} = `{b}`' for n, b in binaries) +
             f'. Target: `nearup stop --all` with no node under {TARGET_MS:.0f} ms.', '',
             '| command | ' + ' | '.join(f'{n}: median ms (user + sys)' for n in names) + ' |',
             '|---|' + '---:|' * len(names),
             f'| `true` | ' + ' | '.join(f'{t["median"]:.2f} ({t["user"]:.2f} + {t["system"]:.2f})'
                                       for _ in names) + ' |']
    for k, label in enumerate(['`nearup stop --all` (no node)', '`nearup --version`',
                               '`nearup snapshot list --from EMPTY-DIR` (loads libcurl)']):
        cells = []
        for n in names:
            m = times[' '.join(cmds[n][k])]
            cells.append(f'{m["median"]:.2f} ({m["user"]:.2f} + {m["system"]:.2f})')
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'Where `nearup stop --all` spends its start-up (counted: callgrind instructions, '
              f'execve to exit; `true` takes {true_n:,}):', '',
              '| binary | instructions | in ld.so relocation | symbol relocations | relative '
              'relocations | shared objects at start | `snapshot list` (loads libcurl): '
              'instructions |', '|---|---:|---:|---:|---:|---:|---:|']
    for n in names:
        total, reloc = counts[n]
        s = stats[n]
        share = f'{reloc:,} ({100 * reloc / total:.0f}%)' if total else '-'
        lines.append(f'| {n} | {total:,} | {share} | {s["symbol_relocs"]} | '
                     f'{s["relative_relocs"]} | {s["objects"]} | {curl_counts[n]:,} |')
    lines += ['', 'What each library costs: an empty `main()` linked against them (instructions to '
              'start and exit):', '', '| libraries | instructions | shared objects |',
              '|---|---:|---:|']
    lines += [f'| {label} | {n:,} | {objs} |' for label, n, objs in links]
    after = times[' '.join(cmds[names[-1]][0])]['median']
    lines += ['', f'Target: `stop --all` under {TARGET_MS:.0f} ms: '
              f'{"met" if after < TARGET_MS else "NOT met"} ({after:.2f} ms).', '']
    return '\n'.join(lines)


def run_all(nearup, before, runs, machine, now):
    binaries = ([('before', before)] if before else []) + [('after', nearup)]
    return section(binaries, runs, machine, now, measure(binaries, runs))


def main():
    import argparse
    import datetime
    sys.path.insert(0, os.path.join(ROOT, 'bench'))
    from run import machine
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nearup', default=os.path.join(ROOT, 'build', 'nearup'))
    ap.add_argument('--before', help='another nearup to compare with (e.g. a build of main)')
    ap.add_argument('--runs', type=int, default=300)
    args = ap.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    print(run_all(os.path.realpath(args.nearup), args.before and os.path.realpath(args.before),
                  args.runs, machine(), now))
    return 0


if __name__ == '__main__':
    sys.exit(main())
