#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# A payload cannot switch its health checks off by using up the tasks limit:
# the probe forks until TasksMax= says no and keeps every child; agent-init's
# health check then cannot even start, which counts as a failed check, so
# after HealthCheckRetries= the agent is ended (exit 4) instead of init
# retrying every millisecond. And the journal stays short.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

name=e2e-forkhold
unit=agent@$name.service
image=$(image_path probe) || bail "the probe image is not installed"
trap 'forget_unit "$unit"; _lib_cleanup' EXIT

write_agent "$name" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/agent-probe --fork-hold

[Lifecycle]
RuntimeMaxSec=10min
Restart=no
HealthCheck=/usr/bin/agent-probe --help
HealthCheckIntervalSec=5s
HealthCheckRetries=3

[Resources]
Memory=128M
Tasks=32

[Volumes]
Workspace=16M
Tmp=8M
DEF
reload
forget_unit "$unit"

check "$unit starts" systemctl start "$unit"
check "the probe holds every task it can" wait_log "$unit" '^fork-hold: [0-9]+ children, holding' 300
check "agent-init ends the agent for failed health checks" wait_state "$unit" "inactive|failed" 120
log=$(unit_log "$unit")
diag "$(printf '%s\n' "$log" | grep -iE 'health|fork-hold' | head -n 20)"
check "the failed starts were counted" bash -c 'printf "%s\n" "$1" | grep -q "could not start"' _ "$log"
check "it failed 3 health checks in a row" bash -c 'printf "%s\n" "$1" | grep -q "failed 3 health checks in a row"' _ "$log"
check "agent-init exited 4 (unhealthy)" bash -c "[ \"\$(systemctl show -p ExecMainStatus --value $unit)\" = 4 ]"
lines=$(printf '%s\n' "$log" | grep -ci 'health check')
check "no flood of health-check lines ($lines)" test "$lines" -le 10
finish
