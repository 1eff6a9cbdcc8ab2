#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Editing a definition and running daemon-reload changes the unit; removing it
# removes the unit.
. "$(dirname "$0")/lib.sh"

unit=agent@e2e-edit.service
write_agent e2e-edit <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min
DEF
reload
check_output "first version: RuntimeMaxSec=5min" \
        '^RuntimeMaxUSec=5min$' systemctl show -p RuntimeMaxUSec "$unit"
check_output "first version: --interval 1" \
        '/usr/bin/demo-agent --interval 1 ' systemctl show -p ExecStart --value "$unit"

cat >"$AGENTS_DIR/e2e-edit$AGENT_SUFFIX" <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 7

[Lifecycle]
RuntimeMaxSec=2h
DEF
check_output "before the reload systemd still has the old unit" \
        '^RuntimeMaxUSec=5min$' systemctl show -p RuntimeMaxUSec "$unit"
reload
check_output "after the reload: RuntimeMaxSec=2h" \
        '^RuntimeMaxUSec=2h$' systemctl show -p RuntimeMaxUSec "$unit"
check_output "after the reload: --interval 7" \
        '/usr/bin/demo-agent --interval 7 ' systemctl show -p ExecStart --value "$unit"
check_no_output "the old command line is gone" \
        'demo-agent --interval 1 ' systemctl show -p ExecStart --value "$unit"
check_output "no reload is pending" '^NeedDaemonReload=no$' systemctl show -p NeedDaemonReload "$unit"

rm -f "$AGENTS_DIR/e2e-edit$AGENT_SUFFIX"
reload
check "removing the definition removes the generated unit" \
        test ! -e "/run/systemd/generator/$unit"
finish
