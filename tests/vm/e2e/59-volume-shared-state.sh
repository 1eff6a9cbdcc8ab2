#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# SharedState= is writable by its agent and by nobody else, and stays its
# own: the directory is writable inside the unit (ReadWritePaths=, despite
# ProtectSystem=strict), 0700 and owned by the agent's host uid; the agent's
# user-namespace range is leased to its name and the same on the next start,
# so what it left there is still its own; another agent (another range) cannot
# read it.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

modprobe dm_crypt 2>/dev/null
a=e2e-shared-a b=e2e-shared-b
dir_a=/var/lib/agents/$a dir_b=/var/lib/agents/$b
install -d -m 0755 "$dir_a" "$dir_b"
trap 'forget_unit "agent@$a.service"; forget_unit "agent@$b.service"; rm -rf "$dir_a" "$dir_b"; _lib_cleanup' EXIT

write_volume_agent "$a" "--interval=1" "SharedState=$dir_a"
write_volume_agent "$b" "--interval=1" "SharedState=$dir_b"
reload
base_of() { sed -n 's/^USERNS_BASE=\([0-9]*\)$/\1/p' "$RUNTIME_DIR/$1/agent.state" 2>/dev/null; }
as_uid() { local uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }

check_output "the unit makes the shared state writable" "ReadWritePaths=.*$dir_a" systemctl cat "agent@$a.service"
check "agent $a starts" systemctl start "agent@$a.service" || diag "$(status_of "agent@$a.service")"
base1=$(base_of "$a")
owner=$((${base1:-0} + 65534))
check "agent.state names the range" test -n "$base1"
check_output "the shared state is 0700, owned by the agent's host uid" "^700 $owner $owner\$" stat -c '%a %u %g' "$dir_a"
check "the agent's uid can write it inside the unit (not read-only)" \
        in_unit "agent@$a.service" setpriv --reuid="$owner" --regid="$owner" --clear-groups touch "$dir_a/left-behind"
check_output "what it wrote is its own" "^$owner\$" stat -c %u "$dir_a/left-behind"
check "agent $a stops" systemctl stop "agent@$a.service"

check "agent $a starts again" systemctl start "agent@$a.service"
check_output "the same range on the next start" "^${base1:-x}\$" base_of "$a"
check "what it left is still its own" as_uid "$owner" test -r "$dir_a/left-behind" -a -w "$dir_a/left-behind"

check "agent $b starts" systemctl start "agent@$b.service" || diag "$(status_of "agent@$b.service")"
base2=$(base_of "$b")
check "agent $b has a range of its own" test -n "$base2" -a "${base2:-x}" != "${base1:-x}"
check_fails "agent $b's uid cannot read agent $a's shared state" "" \
        as_uid "$((${base2:-0} + 65534))" ls "$dir_a"
check "both stop" systemctl stop "agent@$a.service" "agent@$b.service"
check "the leases stay" test -s "$LEASE_DIR/$a" -a -s "$LEASE_DIR/$b"
finish
