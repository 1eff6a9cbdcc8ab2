#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Golden units: tests/golden/run.sh GENERATOR GOLDEN_DIR LIBEXECDIR NSPAWN [--regenerate]
#
# Every GOLDEN_DIR/NAME.agent is generated alone (as /etc/agents/NAME.agent,
# on a host with 4 CPUs and no sealed credentials) and the whole unit is
# compared with GOLDEN_DIR/NAME.service.expected; the configured LIBEXECDIR
# and NSPAWN paths read @LIBEXECDIR@ and @NSPAWN@ there, so the files do not
# depend on the build's prefix. A change to any directive shows up as a diff.
# After an intended change, regenerate and review the diff:
#
#   tests/golden/run.sh build/src/generator/agent-generator tests/golden \
#           /usr/libexec/agentcage "$(command -v systemd-nspawn || echo /usr/bin/systemd-nspawn)" --regenerate
#
# (the two paths as "meson configure build" reports libexecdir and as
# systemd-nspawn is found). Output is TAP.
set -u

generator=$1 golden=$2 libexecdir=$3 nspawn=$4
regenerate=0
[ "${5:-}" = --regenerate ] && regenerate=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

for def in "$golden"/*.agent; do
        name=$(basename "$def" .agent)
        n=$((n + 1))
        mkdir -p "$tmp/$name/defs" "$tmp/$name/out"
        cp "$def" "$tmp/$name/defs/"
        if ! AGENTCAGE_PATH=$tmp/$name/defs AGENTCAGE_CPUS=4 AGENTCAGE_CREDSTORE_ENCRYPTED=$tmp/none \
                "$generator" "$tmp/$name/out" 2>"$tmp/$name/stderr"; then
                failed=$((failed + 1))
                echo "not ok $n - $name: generated"
                sed 's/^/#   /' "$tmp/$name/stderr"
                continue
        fi
        # Literal replacements (no regular expressions: paths are data).
        python3 - "$tmp/$name/out/agent@$name.service" "$tmp/$name/defs" "$libexecdir" "$nspawn" \
                >"$tmp/$name/actual" <<'PY'
import sys
text = open(sys.argv[1]).read()
for old, new in ((sys.argv[2], "/etc/agents"), (sys.argv[3], "@LIBEXECDIR@"), (sys.argv[4], "@NSPAWN@")):
    text = text.replace(old, new)
sys.stdout.write(text)
PY
        expected=$golden/$name.service.expected
        if [ $regenerate = 1 ]; then
                cp "$tmp/$name/actual" "$expected"
                echo "ok $n - $name: regenerated $expected"
        elif out=$(diff -u "$expected" "$tmp/$name/actual"); then
                echo "ok $n - $name: agent@$name.service is as expected"
        else
                failed=$((failed + 1))
                echo "not ok $n - $name: agent@$name.service differs from $name.service.expected"
                printf '%s\n' "$out" | sed 's/^/#   /'
        fi
done

echo "1..$n"
[ $n -gt 0 ] && [ $failed -eq 0 ]
