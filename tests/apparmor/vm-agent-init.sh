#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The seccomp filter and the AppArmor profile together with the real
# agent-init, on the test bed's kernel: agent-init (installed) runs in a new
# PID namespace with the filter export-policy writes, drops to uid 65534,
# enters agentcage-agent and execs a shell that reports what it is and what
# it may do. Then the filter's own probe program (test-seccomp-filter) runs
# on this kernel too. TAP on stdout.
#
# Runs in the VM test bed:
#     tests/vm/run.sh --script tests/apparmor/vm-agent-init.sh BUILD_DIR
# It finds the build directory's export-policy and test-seccomp-filter in the
# source tree the test bed shares (the newest build wins). Elsewhere it skips.

set -u

if [ -z "${AGENTCAGE_TESTBED:-}" ]; then
        echo "1..0 # SKIP runs only in the test bed (tests/vm/run.sh)"
        exit 0
fi

src=$(cd "$(dirname "$0")/../.." && pwd)
n=0
failed=0

result() {
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                failed=$((failed + 1))
                echo "not ok $n - $2"
        fi
}

newest() {
        # newest existing file among the arguments
        ls -t "$@" 2>/dev/null | head -n 1
}

export_policy=$(newest "$src"/*/src/seccomp/export-policy)
filter_test=$(newest "$src"/*/src/seccomp/test-seccomp-filter)
init=$(newest /usr/libexec/agentcage/agent-init /usr/local/libexec/agentcage/agent-init)

if [ -z "$export_policy" ] || [ -z "$init" ]; then
        echo "Bail out! export-policy ($export_policy) or agent-init ($init) not found"
        exit 1
fi
echo "# export-policy: $export_policy"
echo "# agent-init: $init"

work=$(mktemp -d)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT

"$export_policy" --bpf "$work/seccomp.bpf"
result $? "export-policy writes the agent filter"

aa=no
command -v aa-enabled >/dev/null && aa-enabled -q 2>/dev/null && aa=yes
echo "# AppArmor enabled: $aa"

# The "agent": one line per check, PASS or FAIL, read by the loop below.
cat >"$work/agent.sh" <<'EOF'
check() {
        # $1 description; rest: command
        d=$1
        shift
        if "$@" >/dev/null 2>&1; then echo "PASS $d"; else echo "FAIL $d"; fi
}
status() { grep "^$1:" /proc/self/status | awk '{ print $2 }'; }

check "runs as uid 65534" test "$(id -u)" = 65534
check "no_new_privs is set" test "$(status NoNewPrivs)" = 1
check "seccomp is in filter mode" test "$(status Seccomp)" = 2
check "no effective capabilities" test "$(status CapEff)" = 0000000000000000
check "no bounding capabilities" test "$(status CapBnd)" = 0000000000000000
if [ "$AA" = yes ]; then
        check "the agent is in the agentcage-agent profile" test "$(cat /proc/self/attr/current)" = "agentcage-agent (enforce)"
        check "its children too" sh -c 'test "$(cat /proc/self/attr/current)" = "agentcage-agent (enforce)"'
        check "/sys is unreadable" sh -c '! cat /sys/devices/system/cpu/online'
fi
check "a shell pipeline runs (fork, exec, pipes, wait)" sh -c 'ls / | grep -q usr && echo x | cat >/dev/null'
check "files are written and read in /tmp" sh -c 'echo hi >"$TMPDIR/f" && test "$(cat "$TMPDIR/f")" = hi && rm "$TMPDIR/f"'
check "dates and sleeps work" sh -c 'date >/dev/null && sleep 0.01'
check "unshare -U is refused" sh -c '! unshare -U true'
check "unshare -n is refused" sh -c '! unshare -n true'
check "setpriv cannot regain privileges" sh -c '! setpriv --reuid=0 true'
check "mount is refused" sh -c '! mount -t tmpfs none /mnt'
echo DONE
EOF
chmod 0644 "$work/agent.sh"
mkdir -m 1777 "$work/tmp"

# As nspawn would run it: PID 1 of a new PID namespace, with /proc to match.
unshare --pid --fork --mount --mount-proc \
        env AA="$aa" TMPDIR="$work/tmp" \
        "$init" --uid=65534 --seccomp-filter="$work/seccomp.bpf" -- /bin/sh "$work/agent.sh" \
        >"$work/out" 2>"$work/err"
rc=$?
result $rc "agent-init ran the agent under the filter and exited with its status ($rc)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$work/err"

while read -r verdict what; do
        case $verdict in
        PASS) result 0 "$what" ;;
        FAIL) result 1 "$what" ;;
        esac
done <"$work/out"
grep -qx DONE "$work/out"
result $? "the agent ran all its checks"

# The filter test program itself, on this kernel (no python3 in the image).
if [ -n "$filter_test" ]; then
        "$filter_test" >"$work/filter.tap" 2>&1
        rc=$?
        while IFS= read -r line; do
                case $line in
                "ok "*) result 0 "test-seccomp-filter: ${line#ok * - }" ;;
                "not ok "*) result 1 "test-seccomp-filter: ${line#not ok * - }" ;;
                "#"*) echo "$line" ;;
                esac
        done <"$work/filter.tap"
        result $rc "test-seccomp-filter exits 0 on this kernel"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
