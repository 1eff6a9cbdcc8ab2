#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Starting an agent that has no definition fails, and says why: the static
# agent@.service fallback is what systemd finds when the generator wrote no
# agent@NAME.service.
. "$(dirname "$0")/lib.sh"

unit=agent@undefined.service
check "there is no definition named 'undefined'" \
        test ! -e "$AGENTS_DIR/undefined$AGENT_SUFFIX"
check "the generator wrote no unit for it" \
        test ! -e "/run/systemd/generator/$unit"
check_output "the static agent@.service fallback is installed and loads" \
        '^LoadState=loaded$' systemctl show -p LoadState "$unit"
check_no_output "the static fallback, not a generated unit, is what systemd loads" \
        '^FragmentPath=(/run/systemd/generator.*)?$' systemctl show -p FragmentPath "$unit"
check_fails "systemctl start $unit fails" '' \
        timeout 120 systemctl start "$unit"
check_output "the unit ended failed" \
        '^ActiveState=failed$' systemctl show -p ActiveState "$unit"
check_output "its journal says there is no such definition, naming the agent" \
        'undefined has no (valid )?definition|[Nn]o (valid )?definition.*undefined' \
        journalctl -q --no-pager -b -u "$unit"
check_no_output "no container was started for it" \
        'undefined' machinectl list --no-legend
systemctl reset-failed "$unit" >/dev/null 2>&1
finish
