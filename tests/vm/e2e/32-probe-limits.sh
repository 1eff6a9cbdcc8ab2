#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Resource limits, seen from inside: the probe forks until the tasks limit
# says EAGAIN, lets a child allocate until the memory limit kills it (the
# probe itself survives), and fills /workspace and /tmp until ENOSPC. It then
# exits with the number of failed expectations, which must be 0.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

name=e2e-limits
unit=agent@$name.service
image=$(image_path probe) || bail "the probe image is not installed"
trap 'forget_unit "$unit"; _lib_cleanup' EXIT

write_agent "$name" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/agent-probe --all

[Lifecycle]
RuntimeMaxSec=10min
Restart=no

[Resources]
Memory=96M
Tasks=32

[Volumes]
Workspace=16M
Tmp=8M
DEF
reload
forget_unit "$unit"

check "$unit starts" systemctl start "$unit"
check "the probe finishes" wait_state "$unit" "inactive|failed" 400
json=$(probe_json "$unit")
table=$(probe_table "$unit")
[ -n "$json" ] || bail "no JSON report from the probe"
diag "the attack table:" "$table"

row() { printf '%s\n' "$table" | grep -E "^$1 +\|"; }
check_output "the fork bomb hits the tasks limit (EAGAIN)" 'EAGAIN.*\| PASS$' row 'fork bomb'
check_output "the memory bomb's child is killed or refused, the probe lives" '\| PASS$' row 'memory bomb \(in a child\)'
check_output "/workspace fills up (ENOSPC)" 'ENOSPC.*\| PASS$' row 'fill /workspace'
check_output "/tmp fills up (ENOSPC)" 'ENOSPC.*\| PASS$' row 'fill /tmp'
check "every expectation held" bash -c 'printf "%s\n" "$1" | grep -q "\"failed\":0}$"' _ "$json"
check "the unit ended successfully (exit status 0)" \
        bash -c "[ \"\$(systemctl show -p Result --value $unit)\" = success ]"
check "its state under $RUNTIME_DIR is gone" test ! -e "$RUNTIME_DIR/$name"
finish
