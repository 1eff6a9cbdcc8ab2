#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The security floor, seen from inside: agent@probe runs the probe image; the
# probe reports what it sees as one JSON line in the journal and tries the
# escapes of its table. Every property of the floor is asserted from that
# report (ids, capabilities, no-new-privs, seccomp, AppArmor, read-only
# root, /tmp and /workspace, no network, own PID namespace, the secret as a
# 0400 file and nowhere else), and every attempt must have been blocked.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

name=probe
unit=agent@$name.service
image=$(image_path probe) || bail "the probe image is not installed"

secret_value=e2e-probe-secret-5e0c8a71
install -d -m 0700 /etc/agents/secrets
printf '%s' "$secret_value" >/etc/agents/secrets/e2e-probe-token
chmod 0600 /etc/agents/secrets/e2e-probe-token
trap 'forget_unit "$unit"; rm -f /etc/agents/secrets/e2e-probe-token; _lib_cleanup' EXIT

# --linger keeps it running after the report, so machinectl can see it.
write_agent "$name" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/agent-probe --linger=600
Environment=PROBE_MARKER=visible

[Lifecycle]
RuntimeMaxSec=15min
Restart=no

[Resources]
Memory=128M
Tasks=64

[Volumes]
Workspace=16M
Tmp=8M

[Secrets]
token=/etc/agents/secrets/e2e-probe-token
DEF
reload
forget_unit "$unit"

check "agent@probe starts" systemctl start "$unit"
check "it is running" wait_state "$unit" active 60
check "the probe printed its report" wait_log "$unit" '^\{"probe":"agentcage-probe"' 180
check_output "machinectl list shows it" "^${name}[[:space:]]+container" machinectl list --no-legend

json=$(probe_json "$unit")
table=$(probe_table "$unit")
[ -n "$json" ] || bail "no JSON report from the probe"
diag "the attack table:" "$(unit_log "$unit" | grep -E '^ATTEMPT ')" "$table"

has() { printf '%s\n' "$json" | grep -Eq -- "$1"; }

check "it runs as uid 65534" has '"uid":65534,"euid":65534,"gid":65534,"egid":65534,"groups":\[\]'
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        check "$set is empty" has "\"$set\":\"0000000000000000\""
done
check "no-new-privileges is set" has '"no_new_privs":1'
check "a seccomp filter is in force" has '"seccomp":2'
check "it is confined by the agentcage-agent AppArmor profile" has '"apparmor":"agentcage-agent( \(enforce\))?"'

root_opts=$(json_mount_options "$json" /)
tmp_opts=$(json_mount_options "$json" /tmp)
ws_opts=$(json_mount_options "$json" /workspace)
diag "/: $root_opts" "/tmp: $tmp_opts" "/workspace: $ws_opts"
for o in ro nosuid nodev; do
        check "/ is mounted $o" has_option "$root_opts" "$o"
done
for o in rw nosuid nodev noexec; do
        check "/tmp is mounted $o" has_option "$tmp_opts" "$o"
done
shm_opts=$(json_mount_options "$json" /dev/shm)
diag "/dev/shm: $shm_opts"
for o in nosuid nodev noexec; do
        check "/dev/shm is mounted $o" has_option "$shm_opts" "$o"
done
check "/workspace is mounted read-write" has_option "$ws_opts" rw
check "/workspace is nosuid" has_option "$ws_opts" nosuid
check "/workspace is nodev" has_option "$ws_opts" nodev

check "the only network interface is lo" has '"interfaces":\["lo"\]'
check "it sees only init and itself" has '"pids":\[1,[0-9]+\]'
check "the secret is a 0400 file owned by the agent, readable by it" \
        has '"secrets":\[\{"name":"token","type":"file","mode":"0400","uid":65534,"gid":65534,"size":25,"readable":true\}\]'
check "the environment reached it" has '"PROBE_MARKER=visible"'
check_no_output "the secret's value is not in its environment" "$secret_value" printf '%s\n' "$json"
check_no_output "the secret's value is in no journal line" "$secret_value" journalctl -q --no-pager -b -o cat

check "the probe tried at least 90 escapes" test "$(printf '%s\n' "$table" | wc -l)" -ge 90
# The floor as the policy states it: the exact errno, never a SIGSYS of a
# filter the unit installed.
row() { printf '%s\n' "$table" | grep -E "^$1 +\|"; }
for fam in 'socket\(AF_INET, SOCK_STREAM\)' 'socket\(AF_INET6, SOCK_STREAM\)' 'socket\(AF_INET, SOCK_DGRAM\)'; do
        check_output "allowed: $fam" '\| works +\| PASS$' row "$fam"
done
for fam in AF_PACKET 'AF_NETLINK, ROUTE' AF_VSOCK AF_ALG AF_XDP; do
        check_output "refused with EPERM: socket($fam)" 'EPERM +\| PASS$' row "socket\($fam"
done
check_output "ptrace fails with EPERM, not SIGSYS" 'EPERM +\| PASS$' row 'ptrace \[policy errno\]'
check_output "i386 syscalls fail with EPERM, not SIGSYS" 'EPERM +\| PASS$' row 'i386 getpid'
check_output "W+X memory is refused by the agent's own filter" 'EPERM +\| PASS$' row 'mmap\(PROT_WRITE\|PROT_EXEC\)'
check_output "a file written to /dev/shm does not execute" 'EACCES +\| PASS$' row 'exec a file written to /dev/shm'
check_output "a file written to /workspace does not execute" 'EACCES +\| PASS$' row 'exec a file written to /workspace'
check_output "memfd_create is refused" 'EPERM +\| PASS$' row 'memfd_create'
check_output "setpriority on PID 1 fails" 'EPERM +\| PASS$' row 'setpriority\(PID 1'
check_output "kill of PID 1 fails" 'EPERM +\| PASS$' row 'kill\(PID 1, SIGTERM\)'
check_output "prlimit on PID 1 fails" 'EPERM +\| PASS$' row 'prlimit\(PID 1'
check_no_output "no attempt was killed by SIGSYS" 'killed by SYS' printf '%s\n' "$table"
while IFS= read -r row; do
        attempt=$(printf '%s' "$row" | cut -d'|' -f1 | sed 's/[[:space:]]*$//')
        result=$(printf '%s' "$row" | cut -d'|' -f3 | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
        check "blocked: $attempt ($result)" bash -c '[[ $1 == *"| PASS" ]]' _ "$row"
done <<<"$table"
check "the probe counts no failed expectation" has '"failed":0\}$'

check "agent@probe stops" systemctl stop "$unit"
check "it ended cleanly (the probe exits with its failure count, 0)" \
        bash -c "[ \"\$(systemctl show -p Result --value $unit)\" = success ]"
check_no_output "machinectl no longer lists it" "^${name}[[:space:]]" machinectl list --no-legend
check "its state under $RUNTIME_DIR is gone" test ! -e "$RUNTIME_DIR/$name"
finish
