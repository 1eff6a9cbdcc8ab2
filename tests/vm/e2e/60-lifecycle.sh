#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# One agent's whole life, as an operator sees it (the same walk as demo/run,
# asserted): start, running as a registered machine, its output in the
# journal, a clean stop on SIGTERM, and recycling that leaves no state,
# mount, mapping or loop device behind. Then the hard TTL: RuntimeMaxSec=
# ends an agent that would run forever, and it is recycled too.
. "$(dirname "$0")/lib.sh"

state_root=/run/agentcage
demo_image=
for p in /usr/share/agentcage/images/demo /usr/local/share/agentcage/images/demo; do
        [ -x "$p/usr/bin/demo-agent" ] && demo_image=$p && break
done
[ -n "$demo_image" ] || bail "the demo image tree is not installed"

name=e2e-life
unit=agent@$name.service
write_agent "$name" <<DEF
[Agent]
Image=$demo_image
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min
DEF
write_agent e2e-ttl <<DEF
[Agent]
Image=$demo_image
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=20s
# on-failure would rightly start a fresh agent after the timeout; here the
# timeout itself is under test.
Restart=no
DEF
cleanup_units() {
        systemctl stop "$unit" agent@e2e-ttl.service >/dev/null 2>&1
        systemctl reset-failed "$unit" agent@e2e-ttl.service >/dev/null 2>&1
        _lib_cleanup
}
trap cleanup_units EXIT
reload

# nothing_left NAME: no state folder, machine, mount, mapping or loop device.
nothing_left() {
        local n=$1 out
        [ ! -e "$state_root/$n" ] || { echo "$state_root/$n exists"; return 1; }
        out=$(machinectl list --no-legend 2>&1 | grep -w "$n") && { echo "machine: $out"; return 1; }
        out=$(grep -F "$state_root/$n" /proc/self/mountinfo) && { echo "mount: $out"; return 1; }
        out=$(dmsetup ls 2>/dev/null | grep -F "$n") && { echo "mapping: $out"; return 1; }
        out=$(losetup --list --noheadings 2>/dev/null | grep -F "$n") && { echo "loop: $out"; return 1; }
        return 0
}

cursor=$(journal_cursor)
# show_journal UNIT: the unit's last lines as diagnostics.
show_journal() {
        diag "journal of $1:"
        journalctl -q --no-pager -o cat -u "$1" -n 15 2>&1 | sed 's/^/  /' | while IFS= read -r l; do diag "$l"; done
}

# Everything after this needs a running agent; a failed start ends the case
# here instead of waiting out every check below.
if ! check "systemctl start $unit succeeds" timeout 180 systemctl start "$unit"; then
        show_journal "$unit"
        bail "the agent did not start"
fi
check "it is active" wait_for 30 unit_is "$unit" active
check_output "machinectl lists it as a container" "^$name +container +systemd-nspawn" \
        machinectl list --no-legend
check_output "machinectl status knows it" "^$name" machinectl status --no-pager "$name"
check "its state folder exists while it runs" test -d "$state_root/$name"
check "the agent says it started, as uid 65534" \
        wait_for 30 sh -c "journalctl -q --no-pager -o cat -u '$unit' | grep -q 'demo-agent: started as uid 65534'"
check "the agent ticks" \
        wait_for 30 sh -c "journalctl -q --no-pager -o cat -u '$unit' | grep -q 'demo-agent: tick 2'"

check "systemctl stop $unit succeeds" timeout 120 systemctl stop "$unit"
check_output "it stopped cleanly (inactive, not failed)" '^ActiveState=inactive$' \
        systemctl show -p ActiveState "$unit"
check_output "its result is success" '^Result=success$' systemctl show -p Result "$unit"
check_output "the agent saw SIGTERM and exited on its own" 'demo-agent: asked to stop, exiting' \
        journal_after "$cursor" -u "$unit" -o cat
check "recycling left nothing behind" nothing_left "$name"

ttl=agent@e2e-ttl.service
t0=$SECONDS
if ! check "the TTL agent starts" timeout 180 systemctl start "$ttl"; then
        show_journal "$ttl"
        bail "the TTL agent did not start"
fi
check "RuntimeMaxSec=20s ends it" wait_for 120 unit_is "$ttl" inactive failed
elapsed=$((SECONDS - t0))
check "not before its 20 s were up (${elapsed}s)" test "$elapsed" -ge 20
check_output "systemd ended it for the runtime limit" '^Result=timeout$' systemctl show -p Result "$ttl"
check "the TTL agent was recycled too" wait_for 30 nothing_left e2e-ttl
finish
