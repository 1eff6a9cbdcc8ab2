#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Helpers for the workspace/secrets/recycle cases 50-59, and, run as a case
# of its own, the checks that those cases' preconditions hold in the test bed
# (dm-crypt loads, agent-runtime and the demo image are installed, an agent
# with a workspace starts and is recycled).
#
# Sourced by the other cases with VOLUME_LIB_ONLY=1:
#     VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"
# It brings the probe cases' helpers along (image_path, runtime_path,
# wait_state, unit_log, forget_unit, RUNTIME_DIR).

PROBE_LIB_ONLY=1 . "$(dirname "${BASH_SOURCE[0]}")/30-probe-lib.sh"

# write_volume_agent NAME ARGS [EXTRA-INI-LINES]: a definition running the
# demo agent (which appends "demo-agent: tick N" lines to
# /workspace/demo-agent.log) with ARGS, no restarts, a ${VOL_WORKSPACE:-16M}
# workspace, RuntimeMaxSec=${VOL_TTL:-10min}, plus the lines given.
write_volume_agent() {
        local name=$1 args=$2 extra=${3:-} image
        image=$(image_path demo) || return 1
        write_agent "$name" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/demo-agent $args

[Lifecycle]
RuntimeMaxSec=${VOL_TTL:-10min}
Restart=no

[Volumes]
Workspace=${VOL_WORKSPACE:-16M}

$extra
DEF
}

# mapping_of NAME / loop_devices_of NAME / lease_of NAME: what the kernel and
# the lease directory still hold for NAME.
mapping_of() { dmsetup ls 2>/dev/null | awk -v m="agentcage-$1" '$1 == m { print $1 }'; }
loop_devices_of() {
        local f
        for f in /sys/block/loop*/loop/backing_file; do
                [ -r "$f" ] || continue
                if [ "$(cat "$f" 2>/dev/null)" = "/memfd:agentcage-workspace-$1 (deleted)" ]; then
                        f=${f#/sys/block/}
                        echo "/dev/${f%%/*}"
                fi
        done
}
LEASE_DIR=${LEASE_DIR:-/var/lib/agentcage/userns}
lease_of() { cat "$LEASE_DIR/$1" 2>/dev/null; }

# nothing_left NAME: succeeds when no mapping, loop device, lease, mount or
# state directory of NAME remains; prints what is left otherwise.
nothing_left() {
        local name=$1 left=0 m
        m=$(mapping_of "$name");       [ -z "$m" ] || { echo "mapping left: $m"; left=1; }
        m=$(loop_devices_of "$name");  [ -z "$m" ] || { echo "loop device left: $m"; left=1; }
        m=$(grep -F " $RUNTIME_DIR/$name/" /proc/self/mountinfo); [ -z "$m" ] || { echo "mount left: $m"; left=1; }
        [ ! -e "$RUNTIME_DIR/$name" ] || { echo "left: $(find "$RUNTIME_DIR/$name" 2>&1 | head)"; left=1; }
        return "$left"
}

# wait_file PATH [SECONDS]
wait_file() {
        local i
        for ((i = 0; i < ${2:-120} * 2; i++)); do
                [ -e "$1" ] && return 0
                sleep 0.5
        done
        echo "$1 did not appear"
        return 1
}

# in_unit UNIT CMD…: runs CMD in the mount namespace of UNIT's main process
# (systemd-nspawn, exec'd by "agent-runtime start"), where the image, the
# workspace, the secrets and /tmp are mounted; the host does not see them.
in_unit() {
        local pid
        pid=$(systemctl show -p MainPID --value "$1")
        shift
        [ "${pid:-0}" -gt 0 ] || { echo "no main process"; return 1; }
        nsenter -t "$pid" -m -- "$@"
}

# wait_in_unit UNIT PATH [SECONDS]: waits until PATH exists in UNIT's mounts.
wait_in_unit() {
        local i
        for ((i = 0; i < ${3:-120} * 2; i++)); do
                in_unit "$1" test -e "$2" 2>/dev/null && return 0
                sleep 0.5
        done
        echo "$2 did not appear in $1's mount namespace"
        return 1
}

# status_of UNIT: `systemctl status` as an operator sees it (exit status 0).
status_of() { systemctl status --no-pager --full -n 40 "$1" 2>&1 | tr -d '\r'; true; }

[ -n "${VOLUME_LIB_ONLY:-}" ] && return 0

# --- run as a case: the preconditions of 51-59 ---------------------------------
check "dm_crypt loads" modprobe dm_crypt
check "loop devices are available" test -c /dev/loop-control
check "agent-runtime is installed" runtime_path
check "mkfs.ext4 is installed" command -v mkfs.ext4
check "the demo image is installed" image_path demo

name=e2e-vol-lib
unit=agent@$name.service
write_volume_agent "$name" "--interval=1"
reload
check "an agent with a workspace starts" systemctl start "$unit" || diag "$(status_of "$unit")"
check "it writes into /workspace" wait_in_unit "$unit" "$RUNTIME_DIR/$name/workspace/demo-agent.log" 60
forget_unit "$unit"
check "after stop nothing is left" nothing_left "$name"
finish
