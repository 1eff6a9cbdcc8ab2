#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Autostart=yes makes agents.target want the agent; without it nothing does.
. "$(dirname "$0")/lib.sh"

write_agent e2e-auto <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1
Autostart=yes

[Lifecycle]
RuntimeMaxSec=5min
DEF
write_agent e2e-manual <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1
Autostart=no
DEF
reload

check_output "agents.target exists" '^LoadState=loaded$' systemctl show -p LoadState agents.target
check "the generator linked the autostart agent into agents.target.wants" \
        test -L /run/systemd/generator/agents.target.wants/agent@e2e-auto.service
check_output "agents.target wants agent@e2e-auto" \
        '(^|[ =])agent@e2e-auto\.service( |$)' systemctl show -p Wants --value agents.target
check_output "agent@e2e-auto is wanted by agents.target" \
        'agents\.target' systemctl show -p WantedBy --value agent@e2e-auto.service
check_no_output "the manual agent is not wanted by agents.target" \
        'agent@e2e-manual\.service' systemctl show -p Wants --value agents.target
check "no wants link for the manual agent" \
        test ! -e /run/systemd/generator/agents.target.wants/agent@e2e-manual.service
check_output "agents.target is part of the boot (multi-user.target wants it)" \
        'agents\.target' systemctl show -p Wants --value multi-user.target
finish
