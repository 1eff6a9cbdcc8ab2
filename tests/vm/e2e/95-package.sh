#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
# The Debian package's maintainer scripts on a running system: the runner
# installed the package before systemd started, when its postinst could only
# enable the reaper timer. Here it is removed and installed again with
# systemd running: removal must stop the agents and leave no generated unit
# behind after the reload; installation must reload systemd (the generator
# runs), load the AppArmor profile and start the reaper timer, without a
# reboot. Last in the order, since it takes the package away for a while.
. "$(dirname "$0")/lib.sh"

debs=/run/agentcage-testbed/staging/debs
gen=/run/systemd/generator
profile=agentcage-agent

# generated_leftovers: what the generator wrote that is still there.
generated_leftovers() {
        local d
        for d in "$gen" "$gen.early" "$gen.late"; do
                # agent@NAME units and the egress policies; the test bed's own
                # agentcage-testbed.service is not the package's.
                [ -d "$d" ] && find "$d" \( -name 'agent@*' -o -name 'agentcage-egress' \) -print
        done
        return 0
}

check_output "the package is installed" '^install ok installed$' dpkg-query -W -f='${Status}' agentcage
[ -d "$debs" ] && compgen -G "$debs/agentcage_*.deb" >/dev/null || bail "no package in $debs"
check_output "the reaper timer was enabled at install and runs since boot" '^active$' \
        systemctl is-active agentcage-reaper.timer

write_agent pkg-boot <<'DEF'
[Agent]
Image=/usr/share/agentcage/images/demo
Exec=/usr/bin/demo-agent --interval 1
Autostart=yes
DEF
reload
check "the generator wrote agent@pkg-boot.service" test -f "$gen/agent@pkg-boot.service"
check "it is wanted by agents.target" test -L "$gen/agents.target.wants/agent@pkg-boot.service"
check "agent@pkg-boot starts" systemctl start agent@pkg-boot.service

# --- removal --------------------------------------------------------------
check "dpkg -r agentcage" dpkg -r agentcage
check_fails "the running agent was stopped" '' systemctl is-active --quiet agent@pkg-boot.service
check "the generator is gone" \
        test ! -e /usr/lib/systemd/system-generators/agent-generator -a ! -e /lib/systemd/system-generators/agent-generator
check_no_output "no generated agent unit is left in $gen*" '.' generated_leftovers
check_output "agent@pkg-boot.service is unknown to systemd" '^LoadState=not-found$' \
        systemctl show -p LoadState agent@pkg-boot.service
check_output "agents.target is unknown to systemd" '^LoadState=not-found$' \
        systemctl show -p LoadState agents.target
check_output "the reaper timer is gone" '^LoadState=not-found$' \
        systemctl show -p LoadState agentcage-reaper.timer
# The profile leaves the kernel now (its file, a conffile, is still there),
# so that loading it later is the postinst's doing.
apparmor_parser -R "/etc/apparmor.d/$profile" >/dev/null 2>&1
check_fails "the AppArmor profile is unloaded" '' \
        grep -q "^$profile " /sys/kernel/security/apparmor/profiles
# Removal keeps the timer's enablement (Debian's rule, for a reinstall);
# purge drops it and the profile.
check "dpkg -P agentcage" dpkg -P agentcage
check_no_output "after purge no agentcage symlink is left in /etc/systemd/system" '.' \
        find /etc/systemd/system -lname '*agentcage*' -print
check "after purge the AppArmor profile file is gone" test ! -e "/etc/apparmor.d/$profile"

# --- a fresh installation with systemd running ------------------------------
check "dpkg -i installs the package" dpkg -i "$debs"/agentcage_*.deb
check_output "the postinst loaded the AppArmor profile" "^$profile \\(enforce\\)" \
        cat /sys/kernel/security/apparmor/profiles
check_output "the postinst started the reaper timer" '^active$' systemctl is-active agentcage-reaper.timer
check_output "the timer is enabled" '^enabled$' systemctl is-enabled agentcage-reaper.timer
check "the postinst reloaded systemd: agent@pkg-boot.service is generated again" \
        test -f "$gen/agent@pkg-boot.service"
check_output "and loads" '^LoadState=loaded$' systemctl show -p LoadState agent@pkg-boot.service
check_no_output "systemd needs no further reload" '^NeedDaemonReload=yes$' \
        systemctl show -p NeedDaemonReload agent@pkg-boot.service agents.target agentcage-reaper.timer
check "agent@pkg-boot starts from the reinstalled package" systemctl start agent@pkg-boot.service
check "and stops" systemctl stop agent@pkg-boot.service

# --- upgrade (the same version again): reload, timer restarted, not stopped --
check "dpkg -i again (an upgrade) succeeds" dpkg -i "$debs"/agentcage_*.deb
check_output "the reaper timer still runs after the upgrade" '^active$' systemctl is-active agentcage-reaper.timer
check_output "the profile is still loaded" "^$profile \\(enforce\\)" cat /sys/kernel/security/apparmor/profiles
finish
