#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The test bed itself and the generator's run at boot. The runner installs
# the project and tests/vm/seed/ (two definitions: boot-probe, valid, and
# boot-broken, invalid) before systemd starts, so everything checked here
# happened during boot, before any daemon-reload.
. "$(dirname "$0")/lib.sh"

check_output "systemd is PID 1" '^systemd$' cat /proc/1/comm
check "the agent generator is installed" \
        test -x /lib/systemd/system-generators/agent-generator -o -x /usr/lib/systemd/system-generators/agent-generator
check "the seeded definitions are in place" \
        test -f "$AGENTS_DIR/boot-probe$AGENT_SUFFIX" -a -f "$AGENTS_DIR/boot-broken$AGENT_SUFFIX"
check "the generator wrote agent@boot-probe.service at boot" \
        test -f /run/systemd/generator/agent@boot-probe.service
check_output "systemctl cat shows the generated unit with its source" \
        "SourcePath=$AGENTS_DIR/boot-probe$AGENT_SUFFIX" systemctl cat agent@boot-probe.service
# Generators log to /dev/kmsg, which a container does not have.
if on_vm; then
        check_output "the boot journal shows agent-generator in the kernel log" \
                'agent-generator' journalctl -k -b -q --no-pager
        check_output "the kernel log names the broken definition" \
                "agent-generator.*boot-broken$AGENT_SUFFIX" journalctl -k -b -q --no-pager
else
        skip "the boot journal shows agent-generator in the kernel log" "needs vm: no /dev/kmsg in a container"
        skip "the kernel log names the broken definition" "needs vm: no /dev/kmsg in a container"
fi
check "no unit was generated for the broken definition" \
        test ! -e /run/systemd/generator/agent@boot-broken.service
check_no_output "no unit failed during boot" '.' \
        systemctl list-units --state=failed --no-legend --plain

# The runner loaded the project's AppArmor profiles; they must be in the
# kernel under the names the files declare.
profiles_loaded() {
        local f name
        for f in /etc/apparmor.d/agentcage-*; do
                [ -f "$f" ] || continue
                for name in $(apparmor_parser -N "$f"); do
                        grep -q "^$name (" /sys/kernel/security/apparmor/profiles || { echo "$name ($f) not loaded"; return 1; }
                done
        done
}
if on_vm; then
        check_output "AppArmor is enabled" '^Yes$' aa-enabled
        if compgen -G '/etc/apparmor.d/agentcage-*' >/dev/null; then
                check "the project's AppArmor profiles are loaded" profiles_loaded
        else
                skip "the project's AppArmor profiles are loaded" "none installed"
        fi
else
        skip "AppArmor is enabled" "needs vm: no AppArmor in this host's kernel"
        skip "the project's AppArmor profiles are loaded" "needs vm: no AppArmor in this host's kernel"
fi
finish
