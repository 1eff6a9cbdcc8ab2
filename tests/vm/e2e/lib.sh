# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# A tiny TAP library for the end-to-end cases in this folder. A case is a
# self-contained bash script tests/vm/e2e/NN-name.sh that sources this file,
# calls the check functions and ends with `finish`:
#
#     . "$(dirname "$0")/lib.sh"
#     check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
#     check_output "unit is generated" 'ExecStart=' systemctl cat agent@demo
#     check_fails "unknown agent is refused" 'not defined' systemctl start agent@nope
#     finish
#
# Every check prints exactly one "ok N - …" or "not ok N - …" line; on failure
# the command, its exit status and the tail of its output follow as "#" lines.
# `finish` prints the plan and exits non-zero if anything failed or nothing was
# checked, so a case can never pass by asserting nothing.
#
# A case declares what it needs in a header line, read by the runners:
#     # needs: vm            (dm-crypt, AppArmor, cgroup controllers: VM only)
# Without such a line a case also runs in the fast nspawn tier.

_tap_n=0
_tap_failed=0
_tap_skipped=0
# How many trailing output lines a failed check shows.
TAP_DIAG_LINES=${TAP_DIAG_LINES:-20}

# Definitions live here; the suffix is the one the generator reads.
AGENTS_DIR=${AGENTS_DIR:-/etc/agents}
AGENT_SUFFIX=${AGENT_SUFFIX:-.agent}

diag() {
        local line
        for line in "$@"; do
                printf '%s\n' "$line" | sed 's/^/# /'
        done
}

_tap_result() {
        # $1: 0 = pass; $2: description; rest: diagnostics already formatted
        _tap_n=$((_tap_n + 1))
        if [ "$1" -eq 0 ]; then
                printf 'ok %d - %s\n' "$_tap_n" "$2"
        else
                _tap_failed=$((_tap_failed + 1))
                printf 'not ok %d - %s\n' "$_tap_n" "$2"
        fi
}

_tap_show_failure() {
        # $1: exit status, $2: output, rest: the command
        local rc=$1 out=$2
        shift 2
        diag "command: $*" "exit status: $rc"
        if [ -n "$out" ]; then
                diag "output (last $TAP_DIAG_LINES lines):"
                printf '%s\n' "$out" | tail -n "$TAP_DIAG_LINES" | sed 's/^/#   /'
        fi
}

# check DESCRIPTION COMMAND [ARGS…]: passes when COMMAND exits 0.
check() {
        local desc=$1 out rc
        shift
        out=$("$@" 2>&1 </dev/null)
        rc=$?
        _tap_result "$rc" "$desc"
        [ "$rc" -eq 0 ] || _tap_show_failure "$rc" "$out" "$@"
        return "$rc"
}

# check_output DESCRIPTION REGEX COMMAND [ARGS…]: passes when COMMAND exits 0
# and its combined stdout/stderr matches the extended REGEX (grep -E).
check_output() {
        local desc=$1 regex=$2 out rc
        shift 2
        out=$("$@" 2>&1 </dev/null)
        rc=$?
        if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -Eq -- "$regex"; then
                _tap_result 0 "$desc"
                return 0
        fi
        _tap_result 1 "$desc"
        diag "expected output matching: $regex"
        _tap_show_failure "$rc" "$out" "$@"
        return 1
}

# check_fails DESCRIPTION REGEX COMMAND [ARGS…]: passes when COMMAND exits
# non-zero and its output matches REGEX (an empty REGEX matches anything).
check_fails() {
        local desc=$1 regex=$2 out rc
        shift 2
        out=$("$@" 2>&1 </dev/null)
        rc=$?
        if [ "$rc" -ne 0 ] && { [ -z "$regex" ] || printf '%s\n' "$out" | grep -Eq -- "$regex"; }; then
                _tap_result 0 "$desc"
                return 0
        fi
        _tap_result 1 "$desc"
        diag "expected failure with output matching: ${regex:-(anything)}"
        _tap_show_failure "$rc" "$out" "$@"
        return 1
}

# check_no_output DESCRIPTION REGEX COMMAND [ARGS…]: passes when COMMAND exits
# 0 and nothing in its output matches REGEX (e.g. "no unit left behind").
check_no_output() {
        local desc=$1 regex=$2 out rc
        shift 2
        out=$("$@" 2>&1 </dev/null)
        rc=$?
        if [ "$rc" -eq 0 ] && ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
                _tap_result 0 "$desc"
                return 0
        fi
        _tap_result 1 "$desc"
        diag "expected no output matching: $regex"
        _tap_show_failure "$rc" "$out" "$@"
        return 1
}

# skip DESCRIPTION REASON: a check that could not run here. It is reported as
# a TAP skip, which every consumer counts apart from passes.
skip() {
        _tap_n=$((_tap_n + 1))
        _tap_skipped=$((_tap_skipped + 1))
        printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"
}

# bail REASON: the case cannot go on (a precondition is broken). Prints a
# failing check so the suite notices, then the plan, and exits 1.
bail() {
        _tap_result 1 "precondition: $1"
        finish
}

# finish: print the plan; exit 1 if a check failed or none ran.
finish() {
        printf '1..%d\n' "$_tap_n"
        if [ "$_tap_failed" -gt 0 ]; then
                diag "$_tap_failed of $_tap_n checks failed"
                exit 1
        fi
        [ "$((_tap_n - _tap_skipped))" -gt 0 ] || { diag "no check ran"; exit 1; }
        exit 0
}

# --- helpers for the cases ---------------------------------------------------

# on_vm: true in the qemu test bed, false in the nspawn tier. For single
# checks that need the VM inside an otherwise generator-level case:
#     if on_vm; then check …; else skip "…" "needs vm: no kernel log in nspawn"; fi
on_vm() {
        [ "${AGENTCAGE_TESTBED:-vm}" = vm ]
}

_agents_written=()

# write_agent NAME: writes stdin to the definition of agent NAME and
# remembers it, so that the case's exit removes it again (cases must not
# leak definitions into the cases that follow).
write_agent() {
        mkdir -p "$AGENTS_DIR"
        cat >"$AGENTS_DIR/$1$AGENT_SUFFIX"
        _agents_written+=("$AGENTS_DIR/$1$AGENT_SUFFIX")
}

_lib_cleanup() {
        if [ "${#_agents_written[@]}" -gt 0 ]; then
                rm -f -- "${_agents_written[@]}"
                # (the harness self-test sets this: it must not touch the host)
                [ -n "${E2E_NO_RELOAD:-}" ] || systemctl daemon-reload >/dev/null 2>&1 || true
        fi
}
trap _lib_cleanup EXIT

# reload: daemon-reload, which reruns the generators. A failure here means
# every later check is meaningless, so it bails.
reload() {
        systemctl daemon-reload || bail "systemctl daemon-reload failed"
}

# wait_for SECONDS COMMAND [ARGS…]: retries COMMAND (quietly) once a second
# until it succeeds; returns its last status. Under TCG everything is 10-20x
# slower than native, so anything asynchronous is awaited, never slept for.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 1
        done
}

# unit_is UNIT STATE…: true if UNIT's ActiveState is one of the STATEs.
unit_is() {
        local unit=$1 st
        st=$(systemctl show -p ActiveState --value "$unit" 2>/dev/null)
        shift
        local s
        for s in "$@"; do
                [ "$st" = "$s" ] && return 0
        done
        return 1
}

# journal_cursor: prints a cursor to pass to `journal_after CURSOR [ARGS…]`
# so that a check only looks at the lines a step produced.
journal_cursor() {
        journalctl -n 1 --show-cursor -q -o cat 2>/dev/null | sed -n 's/^-- cursor: //p'
}
journal_after() {
        # Messages logged a moment ago (e.g. by a generator to /dev/kmsg) may
        # not have been read by journald yet: --sync waits for that.
        journalctl --sync 2>/dev/null
        if [ -n "$1" ]; then
                journalctl -q --no-pager --after-cursor="$1" "${@:2}"
        else
                journalctl -q --no-pager -b "${@:2}"
        fi
}

# --- searching the guest's whole RAM (the host side is tests/vm/ramdump-lib.sh)
# ramdump_token: a fresh random token (24 hex digits). Put copies of it where
# they should be found with ramdump_put, never the token itself in a file.
ramdump_token() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
# ramdump_put TOKEN FILE [CMD…]: writes TOKEN with its digits mapped to g-v
# into FILE (through CMD, e.g. nsenter, if given); short-lived processes make
# the copy, so it is not in this shell's memory.
ramdump_put() {
        local tok=$1 file=$2
        shift 2
        "$@" sh -c 'printf %s "$1" | tr 0-9a-f g-v >"$2"' _ "$tok" "$file"
}
# ramdump_search NAME TOKEN…: has the host dump the guest's RAM and count the
# mapped copies of each token; prints "TOKEN COUNT" lines (and DUMP-BYTES).
RAMDUMP_DIR=${RAMDUMP_DIR:-/run/agentcage-testbed/results/ramdump}
ramdump_search() {
        local name=$1 i
        shift
        [ -d "$RAMDUMP_DIR" ] || { echo "no $RAMDUMP_DIR: the host does not serve RAM dumps"; return 1; }
        rm -f "$RAMDUMP_DIR/$name.res"
        printf '%s\n' "$@" >"$RAMDUMP_DIR/$name.req.tmp" && mv "$RAMDUMP_DIR/$name.req.tmp" "$RAMDUMP_DIR/$name.req"
        for ((i = 0; i < 1200; i++)); do
                if [ -e "$RAMDUMP_DIR/$name.res" ]; then
                        cat "$RAMDUMP_DIR/$name.res"
                        return 0
                fi
                sleep 0.5
        done
        echo "the host did not answer the RAM dump request $name"
        return 1
}
# ramdump_count OUTPUT TOKEN: the count ramdump_search printed for TOKEN.
ramdump_count() { printf '%s\n' "$1" | awk -v t="$2" '$1 == t { print $2 }'; }
