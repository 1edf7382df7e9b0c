#!/usr/bin/python3
"""Prints the closing line of `make test`: "N passed, N failed[, N skipped]".

Counts test cases from the JUnit XML files written by cmocka and pytest. A
meson test that failed without recording a failing case (a crash, a
sanitizer abort, a timeout) counts as one failed case, so nothing is hidden.
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def count_xml(path):
    passed = failed = skipped = 0
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return 0, 1, 0
    for case in root.iter('testcase'):
        if case.find('failure') is not None or case.find('error') is not None:
            failed += 1
        elif case.find('skipped') is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main():
    results_dir, testlog = sys.argv[1], sys.argv[2]
    passed = failed = skipped = 0
    failed_by_test = {}
    for path in sorted(glob.glob(os.path.join(results_dir, '*.xml'))):
        p, f, s = count_xml(path)
        passed, failed, skipped = passed + p, failed + f, skipped + s
        base = os.path.basename(path)[:-4].split('-')[0]
        failed_by_test[base] = failed_by_test.get(base, 0) + f
    if os.path.exists(testlog):
        with open(testlog) as fh:
            for line in fh:
                entry = json.loads(line)
                if entry.get('result') in ('OK', 'SKIP', 'EXPECTEDFAIL'):
                    continue
                if failed_by_test.get(entry['name'], 0) == 0:
                    failed += 1
                    print(f"meson test {entry['name']}: {entry.get('result')}", file=sys.stderr)
    else:
        failed += 1
        print(f'missing {testlog}', file=sys.stderr)
    line = f'{passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    print(line)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
