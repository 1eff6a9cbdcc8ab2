#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Adds up the checks of every tier of tests/run: TAP lines in *.tap files and
# in the output of each meson test (testlog.json). A test that failed without
# printing a failing TAP line (a crash, a sanitizer abort, a timeout) counts
# as one failure. Prints each failing check with its diagnostics (the "#"
# lines after it, at most 15) to stderr, so that a CI log says why, then
# "N passed, N failed[, N skipped]"; exits 1 if anything failed or nothing ran.
import json
import pathlib
import re
import sys

tapdir = pathlib.Path(sys.argv[1])
skipped_tiers = int(sys.argv[2])
passed = failed = skipped = 0
line_re = re.compile(r'^(not ok|ok)\b(.*)$')


def count(text, where):
    p = f = s = 0
    shown = None
    for line in text.splitlines():
        m = line_re.match(line)
        if not m:
            if shown is not None and line.startswith('#') and shown < 15:
                print('    ' + line, file=sys.stderr)
                shown += 1
            continue
        shown = None
        if re.search(r'#\s*SKIP', m.group(2), re.I):
            s += 1
        elif m.group(1) == 'ok':
            p += 1
        else:
            f += 1
            print(f"FAILED ({where}): {line}", file=sys.stderr)
            shown = 0
    return p, f, s


for j in sorted(tapdir.glob('*.meson.json')):
    for line in j.read_text().splitlines():
        t = json.loads(line)
        p, f, s = count(t.get('stdout', '') or '', t.get('name'))
        if t.get('result') not in ('OK', 'EXPECTEDFAIL', 'SKIP') and f == 0:
            f += 1
            print(f"FAILED without a failing check: {t.get('name')} ({t.get('result')})", file=sys.stderr)
        passed, failed, skipped = passed + p, failed + f, skipped + s

for tap in sorted(tapdir.glob('*.tap')):
    p, f, s = count(tap.read_text(errors='replace'), tap.stem)
    passed, failed, skipped = passed + p, failed + f, skipped + s

skipped += skipped_tiers
if passed + failed == 0:
    failed = 1
    print('no test ran', file=sys.stderr)
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
