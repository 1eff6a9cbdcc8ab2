#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Helpers for the workspace/secrets/recycle cases 50-59, and, run as a case
# of its own, the checks that those cases' preconditions hold in the test bed
# (dm-crypt loads, agent-runtime is installed, the test image starts).
#
# Sourced by the other cases with VOLUME_LIB_ONLY=1:
#     VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNTIME_DIR=/run/agents
# A minimal image: bash and a few coreutils with their libraries, enough for
# an agent written as a bash -c script. Built once per boot.
VOL_IMAGE=/var/lib/agents/images/e2e-volume

# agent_runtime_path: where the installed agent-runtime is.
agent_runtime_path() {
        local p
        for p in /usr/libexec/agentcage/agent-runtime /usr/local/libexec/agentcage/agent-runtime \
                 /usr/lib/agentcage/agent-runtime; do
                [ -x "$p" ] && { echo "$p"; return 0; }
        done
        return 1
}

# build_volume_image: makes $VOL_IMAGE (idempotent).
build_volume_image() {
        local d=$VOL_IMAGE bin lib
        [ -x "$d/bin/bash" ] && return 0
        mkdir -p "$d"/{bin,usr/bin,etc,dev,proc,sys,run,tmp,workspace,shared,var/tmp} || return 1
        for bin in bash cat sleep sync head tr dd true false id ls stat; do
                bin=$(command -v "$bin") || return 1
                cp -L "$bin" "$d/bin/" || return 1
                for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
                        [ -e "$d$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$d$lib" || return 1
                done
        done
        # nspawn wants something that looks like an OS tree
        : >"$d/usr/.agentcage-e2e"
        printf 'ID=agentcage-e2e\n' >"$d/etc/os-release"
        chmod 1777 "$d/tmp"
}

# write_volume_agent NAME SCRIPT [EXTRA-INI-LINES]: a definition running
# `bash -c SCRIPT` in the test image, no restarts, a ${VOL_WORKSPACE:-16M}
# workspace, RuntimeMaxSec=${VOL_TTL:-10min}, plus the extra lines (sections
# and keys) given. SCRIPT must not contain '"', '$' or '%'.
write_volume_agent() {
        local name=$1 script=$2 extra=${3:-}
        write_agent "$name" <<DEF
[Agent]
Image=$VOL_IMAGE
Exec=/bin/bash -c "$script"

[Lifecycle]
RuntimeMaxSec=${VOL_TTL:-10min}
Restart=no

[Volumes]
Workspace=${VOL_WORKSPACE:-16M}

$extra
DEF
}

# mapping_of NAME / loop_devices_of NAME: what the kernel still holds for NAME.
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
lease_of() { grep -lx -- "$1" "$RUNTIME_DIR"/.userns/* 2>/dev/null; }

# nothing_left NAME: succeeds when no mapping, loop device, lease, mount or
# state directory of NAME remains; prints what is left otherwise.
nothing_left() {
        local name=$1 left=0 m
        m=$(mapping_of "$name");       [ -z "$m" ] || { echo "mapping left: $m"; left=1; }
        m=$(loop_devices_of "$name");  [ -z "$m" ] || { echo "loop device left: $m"; left=1; }
        m=$(lease_of "$name");         [ -z "$m" ] || { echo "lease left: $m"; left=1; }
        m=$(grep -F " $RUNTIME_DIR/$name" /proc/self/mountinfo); [ -z "$m" ] || { echo "mount left: $m"; left=1; }
        [ ! -e "$RUNTIME_DIR/$name" ] || { echo "left: $(find "$RUNTIME_DIR/$name" 2>&1 | head)"; left=1; }
        return "$left"
}

# wait_state UNIT REGEX [SECONDS]: waits until ActiveState matches.
wait_state() {
        local unit=$1 re=$2 t=${3:-120} i s
        for ((i = 0; i < t * 2; i++)); do
                s=$(systemctl show -p ActiveState --value "$unit")
                [[ $s =~ ^($re)$ ]] && return 0
                sleep 0.5
        done
        echo "$unit is $s, expected $re"
        return 1
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

# stop_quietly UNIT: stop and forget a unit's failed state.
stop_quietly() {
        systemctl stop "$1" >/dev/null 2>&1
        systemctl reset-failed "$1" >/dev/null 2>&1
        true
}

[ -n "${VOLUME_LIB_ONLY:-}" ] && return 0

# --- run as a case: the preconditions of 51-59 ---------------------------------
check "dm_crypt loads" modprobe dm_crypt
check "loop devices are available" test -c /dev/loop-control
check "agent-runtime is installed" agent_runtime_path
check "mkfs.ext4 is installed" command -v mkfs.ext4
check "the test image builds" build_volume_image
check "the test image's bash runs" chroot "$VOL_IMAGE" /bin/bash -c 'exit 0'

name=e2e-vol-lib
write_volume_agent "$name" 'echo ready >/workspace/ready; sleep 600'
reload
unit=agent@$name.service
check "the workspace test agent starts" systemctl start "$unit"
check "it writes into /workspace" wait_file "$RUNTIME_DIR/$name/workspace/ready" 60
stop_quietly "$unit"
check "after stop nothing is left" nothing_left "$name"
finish
