#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A valid definition in /etc/agents becomes agent@NAME.service on
# daemon-reload, generated (not the static fallback) and loadable.
. "$(dirname "$0")/lib.sh"

write_agent e2e-unit <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1
Description=end-to-end unit check

[Lifecycle]
RuntimeMaxSec=5min
DEF
reload

unit=agent@e2e-unit.service
check "the generator wrote $unit" test -f "/run/systemd/generator/$unit"
check_output "systemctl cat shows the generated unit" \
        "^# /run/systemd/generator/$unit" systemctl cat "$unit"
check_output "the unit names its definition as SourcePath" \
        "^SourcePath=$AGENTS_DIR/e2e-unit$AGENT_SUFFIX\$" systemctl cat "$unit"
check_output "the unit starts through agent-runtime start" \
        '^ExecStart=.*/agent-runtime start' systemctl cat "$unit"
# ExecStart= spans several lines in the file; systemd's parsed argv does not.
check_output "agent-runtime start takes the agent's configuration, its command line after --" \
        'argv\[\]=/usr/.*/agent-runtime start --name=e2e-unit .* -- /usr/bin/demo-agent --interval 1 ' \
        systemctl show -p ExecStart --value "$unit"
check_no_output "the unit builds no nspawn command line of its own" 'systemd-nspawn|ALLOCATED' \
        systemctl show -p ExecStart --value "$unit"
check_output "systemd loaded it without errors" \
        '^LoadState=loaded$' systemctl show -p LoadState "$unit"
check_output "the fragment is the generated file" \
        "^FragmentPath=/run/systemd/generator/$unit\$" systemctl show -p FragmentPath "$unit"
check_output "RuntimeMaxSec=5min reached systemd" \
        '^RuntimeMaxUSec=5min$' systemctl show -p RuntimeMaxUSec "$unit"
check_output "the description reached systemd" \
        'end-to-end unit check' systemctl show -p Description "$unit"
check_no_output "systemd-analyze verify has no complaint about the unit" \
        '[Uu]nknown|[Ii]nvalid|[Ff]ailed|[Ee]rror|ignoring' \
        systemd-analyze verify --man=no "/run/systemd/generator/$unit"
check_no_output "the unit is not started by the reload (no Autostart)" \
        '^ActiveState=(active|activating)$' systemctl show -p ActiveState "$unit"
finish
