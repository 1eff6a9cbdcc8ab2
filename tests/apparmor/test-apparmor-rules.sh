#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks that the agentcage-agent profile still carries the rules the design
# promises (docs: what an agent may not do), as TAP: deleting or weakening one
# of them fails this test. Comments are stripped first, so a rule that is
# merely commented out counts as missing. The last checks run the same
# checker on mutated copies to show that it can fail.
#
# Usage: test-apparmor-rules.sh PROFILE

profile=$1
. "$(dirname "$0")/../tap.sh"
scratch=$(mktemp -d) || exit 1
trap 'rm -rf "$scratch"' EXIT

strip() {
        # Drop comments and blank lines; squeeze blanks.
        sed -e 's/#.*$//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' "$1" | grep -v '^$'
}

# Rules that must be present: an extended regex, '%', what it means.
required() {
        cat <<'RULES'
^profile agentcage-agent flags=\(([a-z_]+,)*attach_disconnected(,[a-z_]+)*\) \{$%the profile is named agentcage-agent and attaches disconnected paths
^deny @\{PROC\}/sys/\*\* [rkl]*w[rwkl]*,$%writes under /proc/sys are denied
^deny @\{PROC\}/sysrq-trigger [rwklx]*w[rwklx]*,$%/proc/sysrq-trigger is denied
^deny /sys/\*\* [rwklx]*r[rwklx]*,$%reading /sys/** is denied
^deny /sys/\*\* [rwklx]*w[rwklx]*,$%writing /sys/** is denied
^deny /sys/ [rwklx]*r[rwklx]*,$%listing /sys is denied
^deny mount,$%mount is denied
^deny umount,$%umount is denied
^deny pivot_root,$%pivot_root is denied
^deny ptrace,$%ptrace is denied
^deny change_profile,$%change_profile is denied
^deny network inet raw,$%raw inet sockets are denied
^deny network inet6 raw,$%raw inet6 sockets are denied
^deny network packet,$%packet sockets are denied
^/workspace/\*\* rw[kl]*,$%/workspace/** is readable and writable
^/tmp/\*\* rw[kl]*,$%/tmp/** is readable and writable
^/run/secrets/\*\* r,$%/run/secrets/** is readable
^network unix stream,$%unix stream sockets are allowed
^network unix dgram,$%unix datagram sockets are allowed
^network inet stream,$%inet stream sockets are allowed
^network inet dgram,$%inet datagram sockets are allowed
^network inet6 stream,$%inet6 stream sockets are allowed
^network inet6 dgram,$%inet6 datagram sockets are allowed
^signal \(send, ?receive\) peer=agentcage-agent,$%signals flow within the profile
^include if exists <local/agentcage-agent>$%site additions are included
RULES
        # Every capability but net_bind_service is denied explicitly.
        for cap in chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap \
                   linux_immutable net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module \
                   sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice \
                   sys_resource sys_time sys_tty_config mknod lease audit_write audit_control \
                   setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read \
                   perfmon bpf; do
                echo "^deny capability $cap,\$%capability $cap is denied"
        done
}

# Rules that must not be present, in the same format.
forbidden() {
        cat <<'RULES'
^(audit )?(allow )?capability,$%no rule grants every capability
^(audit )?(allow )?capability .*(sys_admin|sys_ptrace|sys_module|net_raw|net_admin|dac_override|setuid|setgid|sys_chroot|mknod)%no rule grants a dangerous capability
^(audit )?(allow )?change_profile%no rule allows changing the profile
^(audit )?(allow )?(mount|umount|remount|pivot_root)\b%no rule allows mounting
^(audit )?(allow )?ptrace\b%no rule allows ptrace
^(audit )?(allow )?network,$%no rule allows every network family
^(audit )?(allow )?network (raw|packet|netlink|inet raw|inet6 raw)%no rule allows raw, packet or netlink sockets
^(audit )?(allow )?(owner )?/(\{[^}]*\})?(\*\*|\{,\*\*\}) [a-z]*[wa]%no rule makes the whole tree writable
^(audit )?(allow )?(owner )?/(workspace|tmp|dev/shm|shared|run)/[^ ]* [a-z]*[mxX]%nothing writable is mappable or executable
^(audit )?(allow )?(owner )?/(\{[^}]*\})?(\*\*|\{,\*\*\}) [a-z]*[mx]%the whole tree is not mappable or executable
[^a-z](ux|Ux|pux|PUx|cux|CUx),$%no exec leaves confinement
^(audit )?(allow )?(owner )?(/sys|@\{sys\})%no rule allows /sys
^(audit )?(allow )?(owner )?@\{PROC\}/sys.* [a-z]*w%no rule allows writing /proc/sys
^(audit )?(allow )?(owner )?@\{PROC\}/sysrq%no rule allows /proc/sysrq-trigger
RULES
}

check() {
        # $1: profile file; prints TAP through tap_result(); returns the number of failures
        strip "$1" >"$scratch/stripped"
        before=$tap_failed

        required >"$scratch/required"
        while IFS='%' read -r pattern what; do
                grep -Eq -- "$pattern" "$scratch/stripped"
                rc=$?
                [ $rc -gt 1 ] && echo "# bad pattern: $pattern"
                tap_result $rc "$what"
        done <"$scratch/required"

        forbidden >"$scratch/forbidden"
        while IFS='%' read -r pattern what; do
                grep -En -- "$pattern" "$scratch/stripped" >"$scratch/hits"
                rc=$?
                if [ $rc -eq 0 ]; then
                        sed 's/^/#   found: /' "$scratch/hits"
                        tap_result 1 "$what"
                elif [ $rc -eq 1 ]; then
                        tap_result 0 "$what"
                else
                        echo "# bad pattern: $pattern"
                        tap_result 1 "$what"
                fi
        done <"$scratch/forbidden"

        return $((tap_failed - before))
}

# Runs check() on a mutated copy in a subshell, without printing its lines,
# and reports whether it found a problem.
must_fail() {
        # $1: sed expression; $2: description
        sed -e "$1" "$profile" >"$scratch/mutant"
        if cmp -s "$profile" "$scratch/mutant"; then
                tap_result 1 "$2 (the mutation changed nothing)"
                return
        fi
        if (tap_n=0; tap_failed=0; check "$scratch/mutant" >/dev/null); then
                tap_result 1 "$2"
        else
                tap_result 0 "$2"
        fi
}

if [ ! -r "$profile" ]; then
        echo "Bail out! cannot read profile '$profile'"
        exit 1
fi

check "$profile"

must_fail '/^ *deny mount,/d' "the check notices a deleted 'deny mount,'"
must_fail 's/^\( *\)deny \/sys\/\*\* rwklx,/\1# deny \/sys\/** rwklx,/' "the check notices a commented-out /sys deny"
must_fail 's/^\( *\)deny capability sys_admin,/\1capability sys_admin,/' "the check notices a granted sys_admin"
must_fail 's/^\( *\)\/tmp\/\*\* rwkl,/\1\/tmp\/** rwklix,/' "the check notices exec from /tmp"
must_fail 's/^\( *\)deny network packet,/\1network packet,/' "the check notices allowed packet sockets"

tap_finish
