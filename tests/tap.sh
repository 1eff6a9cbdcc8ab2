# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# TAP for the shell tests meson runs (protocol: 'tap'); POSIX sh, sourced:
#     . "$(dirname "$0")/../tap.sh"
# The cases of the test beds have their own, richer library
# (tests/vm/e2e/lib.sh).

tap_n=0
tap_failed=0

# tap_result STATUS DESCRIPTION [DIAGNOSTICS]: one "ok N - DESCRIPTION" line
# when STATUS is 0, else "not ok N - …" followed by DIAGNOSTICS (if any) as
# "#   " lines.
tap_result() {
        tap_n=$((tap_n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $tap_n - $2"
                return 0
        fi
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_n - $2"
        [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/#   /'
        return 0
}

# tap_check DESCRIPTION COMMAND…: tap_result of COMMAND's exit status; a
# failure shows $out, the output the test kept last (if it keeps one).
tap_check() {
        _tap_what=$1
        shift
        if "$@"; then
                tap_result 0 "$_tap_what"
        else
                tap_result 1 "$_tap_what" "${out:-}"
        fi
}

# tap_finish: prints the plan; false when a check failed or none ran.
tap_finish() {
        echo "1..$tap_n"
        [ "$tap_failed" -eq 0 ] && [ "$tap_n" -gt 0 ]
}
