#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Many start/stop cycles of one agent leave nothing behind: no mapping, no
# loop device, no lease, no mount, no state directory, no growth in the
# number of loop devices or in shared memory. ${E2E_CYCLES:-20} cycles: one
# leaked 16M workspace or loop device a cycle already fails the checks below.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

name=e2e-vol-cycle
unit=agent@$name.service
cycles=${E2E_CYCLES:-20}
modprobe dm_crypt 2>/dev/null

write_volume_agent "$name" "--interval=1"
reload

shmem_kb() { awk '$1 == "Shmem:" { print $2 }' /proc/meminfo; }
loops_bound() { grep -l . /sys/block/loop*/loop/backing_file 2>/dev/null | wc -l; }

# one warm-up cycle, so that first-time costs (modules, caches) are not counted
systemctl start "$unit" && wait_in_unit "$unit" "$RUNTIME_DIR/$name/workspace/demo-agent.log" 60 >/dev/null
forget_unit "$unit"
shmem0=$(shmem_kb)
loops0=$(loops_bound)

fail_start=0 fail_ready=0 fail_clean=0 first_left=
t0=$(date +%s)
for ((i = 1; i <= cycles; i++)); do
        systemctl start "$unit" || fail_start=$((fail_start + 1))
        wait_in_unit "$unit" "$RUNTIME_DIR/$name/workspace/demo-agent.log" 60 >/dev/null || fail_ready=$((fail_ready + 1))
        systemctl stop "$unit"
        if ! left=$(nothing_left "$name"); then
                fail_clean=$((fail_clean + 1))
                [ -n "$first_left" ] || first_left="cycle $i: $left"
        fi
        systemctl reset-failed "$unit" 2>/dev/null
done
t1=$(date +%s)
diag "$cycles cycles in $((t1 - t0)) s"

check "every start succeeded ($fail_start failed)" test "$fail_start" -eq 0
check "every agent reached its workspace ($fail_ready did not)" test "$fail_ready" -eq 0
check "every stop left nothing behind ($fail_clean did not${first_left:+; first: $first_left})" test "$fail_clean" -eq 0
check "nothing is left at the end" nothing_left "$name"
check "no loop device leaked ($loops0 bound before, $(loops_bound) after)" test "$(loops_bound)" -le "$loops0"
shmem1=$(shmem_kb)
# 16M workspaces: one leaked memfd per cycle would show as many MiB; allow
# 8 MiB of unrelated noise.
check "shared memory did not grow (${shmem0} kB before, ${shmem1} kB after)" \
        test "$((shmem1 - shmem0))" -lt 8192
check_no_output "no agentcage mapping at all is left" '^agentcage-e2e-vol-cycle' dmsetup ls
finish
