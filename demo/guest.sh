#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The demo's script inside the test bed VM (run by demo/run through
# tests/vm/run.sh): walks one agent through its life and prints a transcript
# of every command and its output. Exits non-zero if a step that must work
# did not.

name=demo
unit=agent@$name.service
image=/var/lib/agents/images/demo
# Where the package installs the distroless demo tree (agents/meson.build).
shipped=/usr/share/agentcage/images/demo
state=/run/agentcage/$name
failed=0

bold=$'\e[1m' dim=$'\e[2m' red=$'\e[31m' off=$'\e[0m'
[ -n "${NO_COLOR:-}" ] && bold='' dim='' red='' off=''

step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
# run CMD…: shows the command, its output, and marks a failure.
run() {
        printf '%s# %s%s\n' "$bold" "$*" "$off"
        "$@" 2>&1 | sed 's/\r$//'
        local rc=${PIPESTATUS[0]}
        if [ "$rc" -ne 0 ]; then
                printf '%s(exit status %d)%s\n' "$red" "$rc" "$off"
                failed=1
        fi
        return "$rc"
}
# run_may_fail CMD…: like run, for commands whose failure is the point.
run_may_fail() {
        printf '%s# %s%s\n' "$bold" "$*" "$off"
        "$@" 2>&1 | sed 's/\r$//'
        printf '%s(exit status %d)%s\n' "$dim" "${PIPESTATUS[0]}" "$off"
}

step "0. The host"
run uname -r
note "$(systemctl --version | head -1)"
note "AppArmor: $(aa-enabled 2>&1)"
note "agentcage $(dpkg-query -W -f='${Version}' agentcage 2>&1) (Debian package), reaper timer $(systemctl is-active agentcage-reaper.timer)"

step "1. An operator installs an image: a distroless tree, one static binary"
if [ -d "$shipped" ]; then
        mkdir -p "$(dirname "$image")"
        rm -rf "$image"
        run cp -a "$shipped" "$image"
        run find "$image" -mindepth 1
else
        note "The demo image $shipped is not installed (the build did not produce it)."
        failed=1
fi

step "2. An operator declares an agent"
mkdir -p /etc/agents
cat >/etc/agents/$name.agent <<'DEF'
[Agent]
Description=agentcage demo agent
Image=demo
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min

[Resources]
Memory=256M
DEF
run cat /etc/agents/$name.agent

step "3. systemd reads it through the generator"
run systemctl daemon-reload
note "The generated unit (the sandbox settings that follow ExecStopPost= are left out here):"
printf '%s# systemctl cat %s | sed -n 1,/^ExecStopPost=/p%s\n' "$bold" "$unit" "$off"
systemctl cat "$unit" 2>&1 | sed -n '1,/^ExecStopPost=/p' | grep -v '^#'

step "4. Start the agent"
run systemctl start "$unit"
# Under emulation nspawn takes a few seconds to bring the agent up.
for _ in $(seq 60); do
        case $(systemctl is-active "$unit") in
        activating|reloading) sleep 1 ;;
        *) break ;;
        esac
done
sleep 2
run systemctl status --no-pager --lines=0 "$unit"

step "5. It is a registered machine; agentctl shows its state"
run machinectl list --no-pager
run machinectl status --no-pager "$name"
run agentctl list
run agentctl status "$name"

step "6. What it says"
run journalctl -q --no-pager -o cat -u "$unit" -n 25

step "7. Its cage, as systemd sees it"
printf '%s# systemd-analyze security %s | tail -1%s\n' "$bold" "$unit" "$off"
systemd-analyze security --no-pager "$unit" 2>&1 | tail -1
run_may_fail ls -la "$state"
note "The workspace: ext4 on dm-crypt over RAM, keyed by the kernel (the key is never shown)."
run_may_fail dmsetup ls --target crypt
note "It is mounted in the unit's own mount namespace, where systemd-nspawn runs:"
run_may_fail nsenter -t "$(systemctl show -p MainPID --value "$unit")" -m -- findmnt --noheadings "$state/workspace"

step "8. Stop it"
run systemctl stop "$unit"
run_may_fail systemctl is-active "$unit"

step "9. Recycled: nothing left behind"
run_may_fail machinectl list --no-pager
if [ -e "$state" ]; then
        note "LEFT BEHIND: $state"
        run_may_fail ls -laR "$state"
        failed=1
else
        note "$state: gone"
fi
run_may_fail dmsetup ls
run_may_fail losetup --list --noheadings
if dmsetup ls 2>/dev/null | grep -q "$name"; then
        note "LEFT BEHIND: a device-mapper mapping for $name"
        failed=1
fi

rm -f /etc/agents/$name.agent
systemctl daemon-reload
step "$([ "$failed" -eq 0 ] && echo "The demo ran through." || echo "${red}Some step of the demo failed (see above).${off}")"
exit "$failed"
