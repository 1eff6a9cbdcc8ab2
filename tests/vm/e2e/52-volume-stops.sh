#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Every way an agent can end leaves nothing behind: no dm-crypt mapping, no
# loop device over its memory, no lease, no mount, no /run/agents/NAME.
#   clean exit (status 0), failure exit (status 2), RuntimeMaxSec= expiring,
#   systemctl stop, and systemctl kill -s KILL (no chance to clean up inside).
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

modprobe dm_crypt 2>/dev/null

# run_case NAME DESCRIPTION ARGS EXTRA HOW: starts the demo agent with ARGS,
# waits until it runs with its workspace (or is already gone), ends it HOW,
# checks that nothing is left.
run_case() {
        local name=$1 desc=$2 args=$3 extra=$4 how=$5 unit=agent@$1.service
        write_volume_agent "$name" "$args" "$extra"
        reload
        forget_unit "$unit"
        if [ "$how" = exit ]; then
                # It may end before systemd hears READY=1; --wait returns once
                # the unit has ended again (ExecStopPost= included), with the
                # agent's result as its status.
                systemctl start --wait "$unit" >/dev/null 2>&1
                check_output "$desc: configure set up the workspace" "Workspace of [0-9]+ bytes ready" \
                        unit_log "$unit"
        else
                check "$desc: the agent starts" systemctl start "$unit"
        fi
        case $how in
        exit)
                check "$desc: the unit ends by itself" wait_state "$unit" "inactive|failed" 120 ;;
        ttl)
                check "$desc: the unit is ended by RuntimeMaxSec=" wait_state "$unit" "inactive|failed" 120
                check_output "$desc: systemd says the time ran out" "timeout" \
                        systemctl show -p Result --value "$unit" ;;
        stop)
                check "$desc: the workspace is in use" wait_in_unit "$unit" "$RUNTIME_DIR/$name/workspace/demo-agent.log" 60
                check "$desc: systemctl stop" systemctl stop "$unit" ;;
        kill)
                check "$desc: the workspace is in use" wait_in_unit "$unit" "$RUNTIME_DIR/$name/workspace/demo-agent.log" 60
                check "$desc: systemctl kill -s KILL" systemctl kill -s KILL "$unit"
                check "$desc: the unit ends" wait_state "$unit" "inactive|failed" 120 ;;
        esac
        # ExecStopPost= has run once the unit is inactive/failed.
        check "$desc: nothing is left" nothing_left "$name"
}

run_case e2e-vol-exit0 "clean exit" "--interval=1 --count=2" "" exit
check_output "clean exit: the agent ran to its end" "demo-agent: done, exiting" unit_log agent@e2e-vol-exit0.service
check_output "clean exit: the unit is inactive, result success" '^success$' \
        systemctl show -p Result --value agent@e2e-vol-exit0.service
forget_unit agent@e2e-vol-exit0.service

# an invalid option: the demo agent exits 2 right away
run_case e2e-vol-exit2 "failure exit" "--interval=0" "" exit
check_output "failure exit: the agent said why" "demo-agent: invalid or repeated --interval=0" \
        unit_log agent@e2e-vol-exit2.service
check_output "failure exit: the unit failed with exit-code" '^exit-code$' \
        systemctl show -p Result --value agent@e2e-vol-exit2.service
forget_unit agent@e2e-vol-exit2.service

VOL_TTL=8s run_case e2e-vol-ttl "RuntimeMaxSec" "--interval=1" "" ttl
forget_unit agent@e2e-vol-ttl.service

run_case e2e-vol-stop "systemctl stop" "--interval=1" "" stop
forget_unit agent@e2e-vol-stop.service

run_case e2e-vol-kill "SIGKILL" "--interval=1" "" kill
forget_unit agent@e2e-vol-kill.service
finish
