#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One bad definition never stops the run: its error reaches the kernel log
# (generators run before the journal; they log to /dev/kmsg) naming the file,
# no unit is generated for it, and the good agents beside it still get theirs.
. "$(dirname "$0")/lib.sh"

write_agent e2e-good <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min
DEF
write_agent e2e-bad <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=soon
DEF
write_agent e2e-bad-exec <<'DEF'
[Agent]
Image=/var/lib/agents/images/demo
Exec=relative/path
DEF

cursor=$(journal_cursor)
reload

# Generators log to /dev/kmsg, which a container does not have.
if on_vm; then
        check_output "the kernel log names the bad file" \
                "agent-generator.*$AGENTS_DIR/e2e-bad$AGENT_SUFFIX" journal_after "$cursor" -k
        check_output "the kernel log points at the bad key" \
                "e2e-bad$AGENT_SUFFIX.*RuntimeMaxSec" journal_after "$cursor" -k
        check_output "the kernel log names the second bad file" \
                "agent-generator.*$AGENTS_DIR/e2e-bad-exec$AGENT_SUFFIX" journal_after "$cursor" -k
        check_output "the bad agent's error is also visible with dmesg" \
                "e2e-bad$AGENT_SUFFIX" dmesg
else
        for what in "the kernel log names the bad file" "the kernel log points at the bad key" \
                    "the kernel log names the second bad file" "the bad agent's error is also visible with dmesg"; do
                skip "$what" "needs vm: no /dev/kmsg in a container"
        done
fi
check "no unit was generated for the bad agent" \
        test ! -e /run/systemd/generator/agent@e2e-bad.service
check "no unit was generated for the bad Exec" \
        test ! -e /run/systemd/generator/agent@e2e-bad-exec.service
check "the good agent beside them still has its unit" \
        test -f /run/systemd/generator/agent@e2e-good.service
check_output "the good agent is loadable" \
        '^LoadState=loaded$' systemctl show -p LoadState agent@e2e-good.service
check_output "the agents from earlier are still generated too" \
        "SourcePath=$AGENTS_DIR/boot-probe$AGENT_SUFFIX" systemctl cat agent@boot-probe.service
finish
