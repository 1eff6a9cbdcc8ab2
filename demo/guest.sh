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
failed=0

bold=$'\e[1m' dim=$'\e[2m' red=$'\e[31m' off=$'\e[0m'
[ -n "${NO_COLOR:-}" ] && bold= dim= red= off=

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
if [ ! -d "$image" ]; then
        note "The demo image $image is not installed (the build did not produce it)."
        failed=1
fi

step "1. An operator declares an agent"
mkdir -p /etc/agents
cat >/etc/agents/$name.agent <<'DEF'
[Agent]
Description=agentcage demo agent
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min

[Resources]
Memory=256M
DEF
run cat /etc/agents/$name.agent

step "2. systemd reads it through the generator"
run systemctl daemon-reload
run systemctl cat "$unit"

step "3. Start the agent"
run systemctl start "$unit"
sleep 3
run systemctl status --no-pager --lines=0 "$unit"

step "4. It is a registered machine"
run machinectl list --no-pager
run machinectl status --no-pager "$name"

step "5. What it says"
run journalctl -q --no-pager -o cat -u "$unit" -n 25

step "6. Its cage, as systemd sees it"
printf '%s# systemd-analyze security %s | tail -1%s\n' "$bold" "$unit" "$off"
systemd-analyze security --no-pager "$unit" 2>&1 | tail -1
run_may_fail ls -la /run/agents/$name
run_may_fail dmsetup ls

step "7. Stop it"
run systemctl stop "$unit"
run_may_fail systemctl is-active "$unit"

step "8. Recycled: nothing left behind"
run_may_fail machinectl list --no-pager
if [ -e /run/agents/$name ]; then
        note "LEFT BEHIND: /run/agents/$name"
        run_may_fail ls -laR /run/agents/$name
        failed=1
else
        note "/run/agents/$name: gone"
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
