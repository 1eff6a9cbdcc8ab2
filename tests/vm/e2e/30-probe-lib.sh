#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Helpers for the image and probe cases 30-49 and, run as a case of its own,
# the checks that their preconditions hold in the test bed: the demo and
# probe images and agent-runtime are installed, agent-runtime digest works,
# and provision accepts and mounts the probe image read-only.
#
# Sourced by the other cases with PROBE_LIB_ONLY=1:
#     PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The state root of the agents (docs/DESIGN.md); /run/agents holds definitions.
RUNTIME_DIR=/run/agentcage
IMAGE_STORE=/var/lib/agents/images

# image_path NAME: where the build installed image tree NAME (demo, probe).
image_path() {
        local p
        for p in /usr/share/agentcage/images/"$1" /usr/local/share/agentcage/images/"$1" "$IMAGE_STORE/$1"; do
                [ -d "$p/usr/bin" ] && { echo "$p"; return 0; }
        done
        return 1
}

# runtime_path: the installed agent-runtime.
runtime_path() {
        local p
        for p in /usr/libexec/agentcage/agent-runtime /usr/local/libexec/agentcage/agent-runtime; do
                [ -x "$p" ] && { echo "$p"; return 0; }
        done
        return 1
}

# wait_state UNIT REGEX [SECONDS]: waits until the unit's ActiveState matches.
wait_state() {
        local unit=$1 regex=$2 secs=${3:-60} i state
        for ((i = 0; i < secs * 2; i++)); do
                state=$(systemctl show -p ActiveState --value "$unit")
                [[ $state =~ ^($regex)$ ]] && return 0
                sleep 0.5
        done
        echo "$unit is $state, not $regex after ${secs}s"
        return 1
}

# unit_log UNIT: the unit's journal of this boot as plain lines (nspawn's pty
# ends lines in \r).
unit_log() {
        journalctl --sync 2>/dev/null
        journalctl -q --no-pager -b -u "$1" -o cat | tr -d '\r'
}

# wait_log UNIT REGEX [SECONDS]: waits until a line of the unit's journal
# matches the extended REGEX.
wait_log() {
        local unit=$1 regex=$2 secs=${3:-60} i
        for ((i = 0; i < secs; i++)); do
                unit_log "$unit" | grep -Eq -- "$regex" && return 0
                sleep 1
        done
        echo "no line matching $regex from $unit after ${secs}s"
        return 1
}

# probe_json UNIT: the last JSON report the probe printed.
probe_json() {
        unit_log "$1" | grep '^{"probe":"agentcage-probe"' | tail -n 1
}

# probe_table UNIT: the attempt rows of the last report ("… | PASS/FAIL").
probe_table() {
        unit_log "$1" | grep -E '\| (PASS|FAIL)$'
}

# json_mount_options JSON MOUNTPOINT: the mount options the probe saw.
json_mount_options() {
        printf '%s\n' "$1" | grep -o "\"$2\":{\"options\":\"[^\"]*\"" | head -n 1 |
                sed 's/.*"options":"//; s/"$//'
}

# has_option OPTIONS OPTION: OPTIONS (comma-separated) contains OPTION.
has_option() {
        [[ ",$1," == *",$2,"* ]]
}

# forget_unit UNIT: stop it and clear a failed state, for the next case.
forget_unit() {
        systemctl stop "$1" >/dev/null 2>&1
        systemctl reset-failed "$1" >/dev/null 2>&1
        return 0
}

if [ -z "${PROBE_LIB_ONLY:-}" ]; then
        probe=$(image_path probe)
        check "the probe image is installed" test -n "$probe"
        check "the demo image is installed" image_path demo
        runtime=$(runtime_path)
        check "agent-runtime is installed" test -n "$runtime"
        [ -n "$probe" ] && [ -n "$runtime" ] || bail "no probe image or agent-runtime"

        check "the probe image holds the static probe" test -x "$probe/usr/bin/agent-probe"
        check "the probe image holds no shell" test ! -e "$probe/bin/sh" -a ! -e "$probe/usr/bin/sh"
        check_output "agent-runtime digest prints sha256:HEX" '^sha256:[0-9a-f]{64}$' "$runtime" digest "$probe"
        d1=$("$runtime" digest "$probe" 2>/dev/null)
        d2=$("$runtime" digest "$probe" 2>/dev/null)
        check "the digest is stable" test -n "$d1" -a "$d1" = "$d2"

        # provision by hand, in a scratch state directory
        state=$(mktemp -d /run/agentcage-e2e-lib.XXXXXX)
        check "provision accepts the probe image" \
                env AGENTCAGE_RUNTIME_DIR="$state" "$runtime" provision --name=e2e-lib --image="$probe" --image-digest="$d1"
        opts=$(findmnt -n -o OPTIONS --mountpoint "$state/e2e-lib/root" 2>/dev/null)
        check "the image is mounted at NAME/root" test -n "$opts"
        check "the mount is read-only, nosuid, nodev" \
                bash -c "[[ ,$opts, == *,ro,* && ,$opts, == *,nosuid,* && ,$opts, == *,nodev,* ]]"
        check_fails "nothing can be written into it" '' touch "$state/e2e-lib/root/usr/bin/x"
        umount "$state/e2e-lib/root" 2>/dev/null
        rm -rf --one-file-system "$state"
        finish
fi
