#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The agentcage-agent AppArmor profile on a kernel that enforces it: enters
# the profile the way agent-init does (writing "exec agentcage-agent" to
# /proc/self/attr/apparmor/exec before an exec) and checks what a process in
# it may and may not do. TAP on stdout.
#
# Every denial is checked twice, with the same command: unconfined it must
# succeed (so a typo or a missing tool cannot pass for a denial), confined it
# must fail. Denials are tried as root where file modes or capabilities alone
# would already stop uid 65534, so that only AppArmor can be what says no.
#
# Runs in the VM test bed (tests/vm/run.sh --script tests/apparmor/vm-confine.sh
# BUILD_DIR): it mounts over /workspace, /tmp and /run/secrets in a private
# mount namespace and needs root and an enabled AppArmor. Elsewhere it skips.

set -u

profile=agentcage-agent
nobody=65534

if [ -z "${AGENTCAGE_VM_CONFINE_INNER:-}" ]; then
        if [ -z "${AGENTCAGE_TESTBED:-}" ]; then
                echo "1..0 # SKIP runs only in the test bed (tests/vm/run.sh)"
                exit 0
        fi
        if [ "$(id -u)" != 0 ] || ! command -v aa-enabled >/dev/null || ! aa-enabled -q 2>/dev/null; then
                echo "1..0 # SKIP needs root and an enabled AppArmor"
                exit 0
        fi
        exec unshare --mount --propagation private env AGENTCAGE_VM_CONFINE_INNER=1 bash "$0" "$@"
fi

n=0
failed=0

result() {
        # $1: 0 for ok; $2: description
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                failed=$((failed + 1))
                echo "not ok $n - $2"
        fi
}

# as USER CONFINED COMMAND: runs the shell COMMAND as USER (0 or 65534),
# inside the profile if CONFINED is 1. Output goes to $out. The command is
# passed as an argument, never pasted into a script, so quoting stays simple.
out=$(mktemp)
enter_profile='if [ -e /proc/self/attr/apparmor/exec ]; then a=/proc/self/attr/apparmor/exec; else a=/proc/self/attr/exec; fi
printf "exec %s" "$2" >"$a" || exit 99
exec sh -c "$1"'
as() {
        local user=$1 confined=$2 cmd=$3 script='exec sh -c "$1"'
        # What agent-init does: ask for the profile, then exec.
        [ "$confined" = 1 ] && script=$enter_profile
        # A check that hangs fails instead of stalling the run.
        if [ "$user" = 0 ]; then
                timeout -k 5 60 sh -c "$script" sh "$cmd" "$profile" >"$out" 2>&1
        else
                timeout -k 5 60 setpriv --reuid="$user" --regid="$user" --clear-groups \
                        sh -c "$script" sh "$cmd" "$profile" >"$out" 2>&1
        fi
}

allowed() {
        # $1 user, $2 command, $3 description
        as "$1" 1 "$2"
        local rc=$?
        [ $rc -eq 0 ] || sed 's/^/#   /' "$out"
        result $rc "confined (uid $1): $3"
}

denied() {
        # $1 user, $2 command, $3 description
        as "$1" 0 "$2"
        local rc_free=$?
        as "$1" 1 "$2"
        local rc_confined=$?
        if [ $rc_free -ne 0 ]; then
                echo "# unconfined, the command failed ($rc_free): the check proves nothing"
                result 1 "confined (uid $1): $3"
        elif [ $rc_confined -eq 0 ] || [ $rc_confined -eq 99 ]; then
                echo "# confined, the command succeeded or the profile was not entered ($rc_confined)"
                result 1 "confined (uid $1): $3"
        elif [ $rc_confined -eq 124 ] || [ $rc_confined -eq 137 ]; then
                echo "# confined, the command hung: a timeout is not a denial"
                result 1 "confined (uid $1): $3"
        else
                result 0 "confined (uid $1): $3"
        fi
}

# --- the stage: what nspawn would give the agent ---
mkdir -p /workspace /run/secrets /mnt
mount -t tmpfs -o mode=1777 tmpfs /workspace
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run/secrets
printf 'secret-value' >/run/secrets/token
# 0600 and owned by the agent: file modes would allow writing; AppArmor must not.
chown "$nobody:$nobody" /run/secrets/token
chmod 0600 /run/secrets/token
printf 'root file' >/workspace/rootfile
ld_so=$(ls /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1 2>/dev/null | head -n1)

grep -q "^$profile (enforce)" /sys/kernel/security/apparmor/profiles
result $? "the profile $profile is loaded in enforce mode"

# --- what an agent may do ---
allowed $nobody 'test "$(cat /proc/self/attr/current)" = "'$profile' (enforce)"' "runs in the profile"
allowed $nobody 'test "$(sh -c "cat /proc/self/attr/current")" = "'$profile' (enforce)"' "its children stay in the profile"
allowed $nobody 'cat /etc/os-release >/dev/null && ls /usr/bin >/dev/null' "reads the image"
allowed $nobody "$ld_so /usr/bin/true" "maps programs of the image executable (ld.so /usr/bin/true)"
allowed $nobody 'echo hi >/workspace/f && test "$(cat /workspace/f)" = hi' "writes and reads /workspace"
allowed $nobody 'mkdir /workspace/d && mv /workspace/f /workspace/d/g && ln /workspace/d/g /workspace/d/h && rm -r /workspace/d' "creates, renames, links and removes in /workspace"
allowed $nobody 'echo hi >/tmp/f && rm /tmp/f' "writes /tmp"
allowed $nobody 'test "$(cat /run/secrets/token)" = secret-value' "reads /run/secrets"
allowed $nobody 'sleep 5 & kill $!' "signals its own processes"
allowed $nobody 'perl -MSocket -e "socket(my \$s, AF_INET, SOCK_STREAM, 0) or die \"inet: \$!\"; socket(my \$t, AF_INET6, SOCK_DGRAM, 0) or die \"inet6: \$!\"; socket(my \$u, AF_UNIX, SOCK_STREAM, 0) or die \"unix: \$!\""' "opens inet, inet6 and unix sockets"
allowed 0 'perl -MSocket -e "socket(my \$s, AF_INET, SOCK_STREAM, 0) or die; bind(\$s, pack_sockaddr_in(80, inet_aton(\"127.0.0.1\"))) or die \"bind: \$!\""' "binds a port below 1024 (net_bind_service)"

# --- what it may not ---
denied $nobody 'cp /usr/bin/true /tmp/t && chmod 755 /tmp/t && /tmp/t' "cannot execute a file it wrote to /tmp"
denied $nobody 'cp /usr/bin/true /workspace/t && chmod 755 /workspace/t && /workspace/t' "cannot execute a file it wrote to /workspace"
denied $nobody "cp /usr/bin/true /workspace/m && $ld_so /workspace/m" "cannot map a file from /workspace executable (ld.so)"
denied $nobody 'echo more >>/run/secrets/token' "cannot write /run/secrets"
denied $nobody 'cat /sys/devices/system/cpu/online >/dev/null' "cannot read /sys files"
denied $nobody 'ls /sys/ >/dev/null' "cannot list /sys"
denied $nobody 'echo "changeprofile unconfined" >/proc/self/attr/current' "cannot change its profile"
denied 0 'cat /proc/sys/kernel/domainname >/proc/sys/kernel/domainname' "cannot write /proc/sys (even as root)"
denied 0 'echo h >/proc/sysrq-trigger' "cannot use /proc/sysrq-trigger (even as root)"
denied 0 'cat /sys/devices/system/cpu/online >/dev/null' "cannot read /sys (even as root)"
denied 0 'mount -t tmpfs none /mnt && umount /mnt' "cannot mount (even as root)"
denied 0 'chroot / /usr/bin/true' "cannot chroot (even as root)"
denied 0 'chown '$nobody' /workspace/rootfile && chown 0 /workspace/rootfile' "cannot use CAP_CHOWN (even as root)"
denied 0 'perl -e "socket(my \$s, 2, 3, 1) or die \"raw: \$!\""' "cannot open a raw inet socket (even as root)"
denied 0 'perl -e "socket(my \$s, 17, 3, 0) or die \"packet: \$!\""' "cannot open a packet socket (even as root)"

# Signals and ptrace towards a process outside the profile.
setpriv --reuid=$nobody --regid=$nobody --clear-groups sleep 60 &
outside=$!
sleep 0.2
denied $nobody "kill -CONT $outside" "cannot signal an unconfined process of the same uid"
denied 0 "perl -e 'syscall(101, 16, $outside, 0, 0) == 0 or die \"ptrace: \$!\"; syscall(101, 17, $outside, 0, 0)'" "cannot ptrace (even as root)"
# SIGKILL: the unconfined ptrace control may have left it stopped.
kill -KILL "$outside" 2>/dev/null
wait "$outside" 2>/dev/null

rm -f "$out"
echo "1..$n"
[ "$failed" -eq 0 ]
