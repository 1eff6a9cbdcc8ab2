#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Nothing an agent had is left in RAM after recycle. Values are put into a
# secret, the agent's /workspace and its /tmp; the host dumps the guest's
# whole physical memory (QEMU's dump-guest-memory, tests/vm/ramdump-lib.sh)
# while the agent runs, and the search must find each of them; then the agent
# stops, recycle runs, and the same search over a new dump must find none.
# The guest kernel runs with init_on_free=1, which agent-runtime requires
# (README, "The data promise"): freed pages (the ramfs, the tmpfs, the
# workspace's plaintext page cache) are zeroed.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

name=e2e-vol-ram
unit=agent@$name.service
modprobe dm_crypt 2>/dev/null
src=/etc/agents/secrets/e2e-ram

check "the kernel zeroes freed pages (init_on_free=1)" grep -qw 'init_on_free=1' /proc/cmdline

t_secret=$(ramdump_token) t_ws=$(ramdump_token) t_tmp=$(ramdump_token)
install -d -m 0700 /etc/agents/secrets
ramdump_put "$t_secret" "$src" env && chmod 0600 "$src" && sync
trap 'forget_unit "$unit"; rm -f "$src"; _lib_cleanup' EXIT

write_volume_agent "$name" "--interval=1" "[Secrets]
ram=/etc/agents/secrets/e2e-ram"
reload
forget_unit "$unit"

check "the agent starts" systemctl start "$unit" || diag "$(status_of "$unit")"
ws=$RUNTIME_DIR/$name/workspace
tmp=$RUNTIME_DIR/$name/tmp
check "the agent writes to its workspace" wait_in_unit "$unit" "$ws/demo-agent.log" 60
check "the secret is staged" in_unit "$unit" test -s "$RUNTIME_DIR/$name/secrets/ram"
# From now on the staged copy is the only one the agent's start made; the
# operator's source file goes (its page cache with it).
rm -f "$src"
check "a value goes into /workspace" ramdump_put "$t_ws" "$ws/e2e-ram" in_unit "$unit"
check "a value goes into /tmp" ramdump_put "$t_tmp" "$tmp/e2e-ram" in_unit "$unit"
in_unit "$unit" sync

out=$(ramdump_search running "$t_secret" "$t_ws" "$t_tmp")
diag "while running: $(printf '%s' "$out" | tr '\n' ' ')"
check "the host dumped the guest's RAM" test "$(ramdump_count "$out" DUMP-BYTES)" -gt $((1024 * 1024 * 1024))
check "the search finds the secret in RAM while the agent runs" test "$(ramdump_count "$out" "$t_secret")" -gt 0
check "the search finds the workspace value while the agent runs" test "$(ramdump_count "$out" "$t_ws")" -gt 0
check "the search finds the /tmp value while the agent runs" test "$(ramdump_count "$out" "$t_tmp")" -gt 0

check "the agent stops" systemctl stop "$unit"
check "recycle ran and nothing is left" nothing_left "$name"
sleep 3 # the unit's mount namespace goes with its last reference

out=$(ramdump_search recycled "$t_secret" "$t_ws" "$t_tmp")
diag "after recycle: $(printf '%s' "$out" | tr '\n' ' ')"
check "the host dumped the guest's RAM again" test "$(ramdump_count "$out" DUMP-BYTES)" -gt $((1024 * 1024 * 1024))
check "after recycle no copy of the secret is in RAM" test "$(ramdump_count "$out" "$t_secret")" = 0
check "after recycle no copy of the workspace value is in RAM" test "$(ramdump_count "$out" "$t_ws")" = 0
check "after recycle no copy of the /tmp value is in RAM" test "$(ramdump_count "$out" "$t_tmp")" = 0
finish
