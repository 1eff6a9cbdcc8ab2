#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# selftest.sh: checks the test beds' own machinery without booting anything
# (the TAP merge, case selection, '# needs:' parsing, the merged-/usr staging
# fix-up and the e2e TAP library), so that a broken harness cannot report a
# green suite. Prints TAP; needs only bash and coreutils.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/host-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
t() {   # t DESCRIPTION COMMAND…
        local d=$1
        shift
        n=$((n + 1))
        if "$@" >/dev/null 2>&1; then
                echo "ok $n - $d"
        else
                failed=$((failed + 1))
                echo "not ok $n - $d"
        fi
}
# merged CONTENT RC: what tap_merge_case makes of a case's output and status.
merged() {
        printf '%s' "$1" >"$tmp/case.out"
        echo "$2" >"$tmp/case.rc"
        (
                _merge_n=0 _merge_failed=0
                tap_merge_case c "$tmp/case.out" "$tmp/case.rc"
                tap_merge_finish
        )
}
passes() { merged "$1" "$2" >/dev/null; }
fails() { ! merged "$1" "$2" >/dev/null; }

t "a passing case passes" passes $'ok 1 - a\nok 2 - b\n1..2\n' 0
t "its checks keep their names" grep -q '^ok 2 - c: b$' <(merged $'ok 1 - a\nok 2 - b\n1..2\n' 0)
t "a failing check fails" fails $'ok 1 - a\nnot ok 2 - b\n1..2\n' 1
t "a short plan fails" fails $'ok 1 - a\n1..3\n' 0
t "a missing plan fails" fails $'ok 1 - a\n' 0
t "an exit status without a failing check fails" fails $'ok 1 - a\n1..1\n' 2
t "a timed-out case fails" fails $'ok 1 - a\n1..1\n' 124
t "an empty case fails" fails $'1..0\n' 0
t "a case that did not run fails" bash -c '. "$0"; ! { tap_merge_case x /nonexistent /nonexistent; tap_merge_finish; }' "$here/host-lib.sh"
t "a skip stays a skip" grep -q '^ok 1 - c: a # SKIP why$' <(merged $'ok 1 - a # SKIP why\nok 2 - b\n1..2\n' 0)
t "stray output becomes a comment" grep -q '^# stray$' <(merged $'stray\nok 1 - a\n1..1\n' 0)
t "numbering runs on across cases" bash -c '
        . "$0"; d=$(mktemp -d); trap "rm -rf $d" EXIT
        printf "ok 1 - a\n1..1\n" >"$d/1"; printf "ok 1 - b\n1..1\n" >"$d/2"; echo 0 >"$d/rc"
        out=$(tap_merge_case one "$d/1" "$d/rc"; tap_merge_case two "$d/2" "$d/rc"; tap_merge_finish)
        grep -q "^ok 2 - two: b$" <<<"$out" && grep -q "^1\.\.2$" <<<"$out"' "$here/host-lib.sh"

mkdir -p "$tmp/e2e"
printf '#!/bin/bash\n# needs: vm\n' >"$tmp/e2e/10-a.sh"
printf '#!/bin/bash\n' >"$tmp/e2e/11-b.sh"
printf '#!/bin/bash\n' >"$tmp/e2e/20-c.sh"
t "no pattern selects every case in order" test "$(select_cases "$tmp/e2e" | xargs -n1 basename | tr '\n' ' ')" = "10-a.sh 11-b.sh 20-c.sh "
t "a number prefix selects its cases" test "$(select_cases "$tmp/e2e" 1 | wc -l)" = 2
t "a full name selects one case" test "$(select_cases "$tmp/e2e" 20-c.sh | xargs basename)" = 20-c.sh
t "an unmatched pattern is an error" bash -c '. "$0"; ! select_cases "$1" 99' "$here/host-lib.sh" "$tmp/e2e"
t "'# needs: vm' is read" test "$(case_needs "$tmp/e2e/10-a.sh")" = vm
t "no needs line means none" test -z "$(case_needs "$tmp/e2e/11-b.sh")"

mkdir -p "$tmp/root/usr/lib" "$tmp/stage/lib/systemd" "$tmp/stage/usr/bin"
ln -s usr/lib "$tmp/root/lib"
touch "$tmp/stage/lib/systemd/gen" "$tmp/stage/usr/bin/tool"
merge_usr "$tmp/root" "$tmp/stage"
t "merge_usr moves lib/ under usr/lib" test -f "$tmp/stage/usr/lib/systemd/gen" -a ! -e "$tmp/stage/lib"
t "merge_usr leaves usr/ alone" test -f "$tmp/stage/usr/bin/tool"

# The e2e library: a case can fail, and cannot pass by asserting nothing.
lib() { printf '. %q\n%s\n' "$here/e2e/lib.sh" "$1" >"$tmp/lib-case.sh"; AGENTS_DIR=$tmp/agents E2E_NO_RELOAD=1 bash "$tmp/lib-case.sh"; }
t "lib: passing checks exit 0" lib 'check a true; check_output b "^x$" echo x; check_fails c "no" sh -c "echo no; exit 3"; finish'
t "lib: a failing check exits 1" bash -c '! "$@"' _ lib 'check a false; finish'
t "lib: check_output needs the match" bash -c '! "$@"' _ lib 'check_output a "^y$" echo x; finish'
t "lib: check_output needs exit 0" bash -c '! "$@"' _ lib 'check_output a "x" sh -c "echo x; exit 1"; finish'
t "lib: check_fails needs a failure" bash -c '! "$@"' _ lib 'check_fails a "" true; finish'
t "lib: check_no_output refuses a match" bash -c '! "$@"' _ lib 'check_no_output a "x" echo x; finish'
t "lib: check_no_output passes without a match" lib 'check_no_output a "y" echo x; finish'
t "lib: check_fails needs its output to match" bash -c '! "$@"' _ lib 'check_fails a "^y$" sh -c "echo x; exit 1"; finish'
t "lib: a failed check_output says what it expected" grep -q '^# expected output matching: ^y\$$' <(lib 'check_output a "^y$" echo x; finish')
t "lib: a failed check_fails says what it expected" grep -q '^# expected failure with output matching: (anything)$' <(lib 'check_fails a "" true; finish')
t "host: require_host_tools passes when every tool is there" bash -c '. "$1"; require_host_tools bash:bash sh:dash' _ "$here/host-lib.sh"
t "host: a missing tool skips the run without CI" bash -c 'out=$(. "$1"; CI= require_host_tools bash:bash no-such-tool-x:pkg-x); [ $? = 77 ] && [ "$out" = "1..0 # SKIP missing host packages: pkg-x (apt-get install them, or set CI=1)" ]' _ "$here/host-lib.sh"
t "lib: no check is a failure" bash -c '! "$@"' _ lib 'finish'
t "lib: only skips is a failure" bash -c '! "$@"' _ lib 'skip a why; finish'
t "lib: bail fails" bash -c '! "$@"' _ lib 'bail broken'
t "lib: a failure shows the command's output" grep -q '^#   boom$' <(lib 'check a sh -c "echo boom; exit 1"; finish')
t "lib: write_agent's definitions go when the case ends" bash -c '
        "$@" >/dev/null; test ! -e "$AGENTS_DIR/x.agent"' _ lib 'write_agent x </dev/null; check "written" test -f "$AGENTS_DIR/x.agent"; finish'

echo "1..$n"
[ "$failed" -eq 0 ]
