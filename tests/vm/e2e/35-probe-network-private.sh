#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The floor with Network=private is the same policy: the probe, on its own
# veth link, may create AF_INET and AF_INET6 sockets (the unit's
# RestrictAddressFamilies= no longer refuses them with EAFNOSUPPORT), is
# refused every other family with EPERM, and every attempt of its table is
# blocked exactly as with Network=none.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

name=e2e-netpriv
unit=agent@$name.service
image=$(image_path probe) || bail "the probe image is not installed"
trap 'forget_unit "$unit"; _lib_cleanup' EXIT

write_agent "$name" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/agent-probe

[Lifecycle]
RuntimeMaxSec=10min
Restart=no

[Resources]
Memory=128M
Tasks=64

[Volumes]
Workspace=16M
Tmp=8M

[Security]
Network=private
DEF
reload
forget_unit "$unit"

check "$unit starts" systemctl start "$unit"
check "the probe finishes" wait_state "$unit" "inactive|failed" 300
json=$(probe_json "$unit")
table=$(probe_table "$unit")
[ -n "$json" ] || bail "no JSON report from the probe"
diag "the attack table:" "$table"

row() { printf '%s\n' "$table" | grep -E "^$1 +\|"; }
check "it has an interface besides lo (its veth)" bash -c '[[ $1 == *"\"interfaces\":["*","* ]]' _ "$json"
for fam in 'socket\(AF_INET, SOCK_STREAM\)' 'socket\(AF_INET6, SOCK_STREAM\)' 'socket\(AF_INET, SOCK_DGRAM\)' 'socket\(AF_INET6, SOCK_DGRAM, UDP\)'; do
        check_output "allowed: $fam" '\| works +\| PASS$' row "$fam"
done
for fam in AF_PACKET 'AF_NETLINK, ROUTE' 'AF_NETLINK, AUDIT' AF_VSOCK AF_ALG AF_XDP AF_KEY; do
        check_output "refused with EPERM: socket($fam)" 'EPERM +\| PASS$' row "socket\($fam"
done
check_output "ptrace fails with EPERM, not SIGSYS" 'EPERM +\| PASS$' row 'ptrace \[policy errno\]'
check_no_output "no attempt was killed by SIGSYS" 'killed by SYS' printf '%s\n' "$table"
while IFS= read -r row; do
        attempt=$(printf '%s' "$row" | cut -d'|' -f1 | sed 's/[[:space:]]*$//')
        result=$(printf '%s' "$row" | cut -d'|' -f3 | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
        check "as expected: $attempt ($result)" bash -c '[[ $1 == *"| PASS" ]]' _ "$row"
done <<<"$table"
check "the probe counts no failed expectation" bash -c 'printf "%s\n" "$1" | grep -q "\"failed\":0}$"' _ "$json"
check "the unit ended successfully" bash -c "[ \"\$(systemctl show -p Result --value $unit)\" = success ]"
finish
