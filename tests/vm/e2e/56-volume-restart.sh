#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Each start provisions afresh: a configure that finds the leftovers of a run
# that was never recycled (a crash, a restart) tears them down first, keeps
# the agent's user-namespace range, and hands out a new empty workspace with
# a new key. recycle is idempotent. Driven through agent-runtime directly.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

rt=$(runtime_path) || bail "agent-runtime is not installed"
modprobe dm_crypt 2>/dev/null
name=e2e-vol-restart
ws=$RUNTIME_DIR/$name/workspace

check "first configure" "$rt" configure --name="$name" --uid=1000 --workspace-size=16777216
env1=$(lease_of "$name")
key1=$(dmsetup table --showkeys "agentcage-$name" 2>/dev/null | awk '{ print $5 }')
echo old >"$ws/old-file"

check "second configure over the leftovers" "$rt" configure --name="$name" --uid=1000 --workspace-size=16777216
env2=$(lease_of "$name")
key2=$(dmsetup table --showkeys "agentcage-$name" 2>/dev/null | awk '{ print $5 }')
check "the user-namespace range is kept" test -n "$env1" -a "$env1" = "$env2"
check "the old workspace content is gone" test ! -e "$ws/old-file"
check "the new workspace has a new key" test -n "$key2" -a "$key1" != "$key2"
check "exactly one mapping" test "$(mapping_of "$name" | wc -l)" -eq 1
check "exactly one loop device" test "$(loop_devices_of "$name" | wc -l)" -eq 1

check "recycle" "$rt" recycle --name="$name"
check "nothing is left" nothing_left "$name"
check "the lease outlives recycle: the range is the agent's for good" test "$(lease_of "$name")" = "$env1"
check "recycle again" "$rt" recycle --name="$name"
check "recycle of an agent that never ran" "$rt" recycle --name=e2e-vol-never

# A workspace still in use (a process sits in it) is detached lazily and the
# mapping removed once the process is gone, never left behind for good.
check "configure again" "$rt" configure --name="$name" --uid=1000 --workspace-size=16777216
(cd "$ws" && exec sleep 3) &
sleeper=$!
sleep 0.5
check "recycle with a busy workspace succeeds" "$rt" recycle --name="$name"
wait "$sleeper"
sleep 1
check "once the process is gone nothing is left" nothing_left "$name"
finish
