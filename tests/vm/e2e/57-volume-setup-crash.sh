#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The start helper killed in the middle of setting up (SIGKILL while the unit
# is still activating, i.e. before systemd-nspawn runs): recycle must still
# leave no mapping, loop device, lease, mount or state behind, and the next
# start must work. Repeated at a few moments of the set-up, so that the kill
# lands in different steps (provision, secrets, the dm-crypt volume, mkfs),
# and once in the window between creating the mapping and loading its table.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

name=e2e-vol-crash
unit=agent@$name.service
trap 'forget_unit "$unit"; _lib_cleanup' EXIT
VOL_WORKSPACE=256M write_volume_agent "$name" "--interval=1"
reload

hit_setup=0
# The later moments are for a slower guest, where systemd is still setting
# up the unit's sandbox at the earlier ones.
for delay in 0.2 0.5 0.8 1.2 1.8 2.5; do
        systemctl start --no-block "$unit"
        sleep "$delay"
        state=$(systemctl show -p ActiveState --value "$unit")
        pid=$(systemctl show -p MainPID --value "$unit")
        comm=$(cat "/proc/$pid/comm" 2>/dev/null)
        systemctl kill -s KILL "$unit" >/dev/null 2>&1
        if [ "$state" = activating ] && [ "$comm" = agent-runtime ]; then
                hit_setup=$((hit_setup + 1))
                diag "killed agent-runtime start during set-up after ${delay}s"
        else
                diag "after ${delay}s the unit was $state ($comm): killed later than set-up"
        fi
        wait_for 120 unit_is "$unit" inactive failed
        if ! check "killed after ${delay}s: nothing is left" wait_for 60 nothing_left "$name"; then
                diag "what is left:" "$(nothing_left "$name")" "the unit's journal:" \
                        "$(journalctl -b -q --no-pager -o short-monotonic -u "$unit" | tail -n 15)"
        fi
        systemctl reset-failed "$unit" >/dev/null 2>&1
done
check "at least one kill landed in the middle of set-up" test "$hit_setup" -ge 1

# The narrowest window: killed between the ioctl that makes the mapping and
# the one that loads its table, a start leaves a device of the mapping's name
# with no table, which libcryptsetup will not touch. Made here on purpose; the
# next start must clear it, not fail on the name for good.
check "a device-mapper device without a table, as such a kill leaves it, is made" \
        dmsetup create "agentcage-$name" --notable

check "the next start works" systemctl start "$unit" ||
        diag "the unit's journal:" "$(journalctl -b -q --no-pager -o short-monotonic -u "$unit" | tail -n 25)"
check_output "the start said it removed the unfinished device" \
        "Removed device-mapper device agentcage-$name, left without a crypt table" \
        journalctl -b -q --no-pager -o cat -u "$unit"
check "and writes into its new workspace" wait_in_unit "$unit" "$RUNTIME_DIR/$name/workspace/demo-agent.log" 60
forget_unit "$unit"
check "after stop nothing is left" wait_for 60 nothing_left "$name"
finish
