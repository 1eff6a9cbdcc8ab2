#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs inside the test bed VM (started by agentcage-testbed.service once the
# system is up). The host (tests/vm/run.sh) wrote the list of scripts to run,
# relative to the source tree, into results/request. Each script's output
# (TAP for the e2e cases, a transcript for the demo) goes to
# results/NAME.out and its exit status to results/NAME.rc; the journal, the
# kernel log and the failed units follow, and results/done marks a complete
# run. The unit powers the VM off when this script ends, whatever happened.
#
# No daemon-reload happens before the cases: the project's package was
# installed before systemd started (image/preinit), so the generator's output in place now is
# the one from boot, which is what 00-boot.sh checks.

base=/run/agentcage-testbed
src=$base/src
res=$base/results
say() { echo "agentcage-testbed: $*"; }

if [ ! -f "$res/request" ]; then
        say "no request file, nothing to run"
        exit 1
fi
# Settings the host passed (a small KEY=VALUE file, written by run.sh).
[ -f "$res/settings" ] && . "$res/settings"
per_script_timeout=${CASE_TIMEOUT:-600}

state=$(timeout 300 systemctl is-system-running --wait 2>&1)
say "system state: $state"
{
        echo "state: $state"
        systemd-analyze time 2>&1
        echo "uptime: $(cut -d' ' -f1 /proc/uptime) s"
        if [ -e "$base/installed" ] || [ -n "${INSTALLED:-}" ]; then
                echo "installed: yes ${INSTALLED:-(dpkg -i before boot)}"
        else
                echo "installed: NO"
        fi
} >"$res/boot.txt"

# The project's AppArmor profiles have to be loaded before a unit can name
# them. The package's postinst loads them when AppArmor is enabled, but it ran
# before systemd mounted securityfs (image/preinit), so this loads them.
if command -v aa-enabled >/dev/null && aa-enabled -q 2>/dev/null; then
        for p in /etc/apparmor.d/agentcage-*; do
                [ -f "$p" ] || continue
                if apparmor_parser -r -W "$p" >>"$res/apparmor.log" 2>&1; then
                        echo "loaded $p" >>"$res/apparmor.log"
                else
                        say "apparmor_parser -r $p failed (see apparmor.log)"
                fi
        done
else
        echo "AppArmor not enabled" >>"$res/apparmor.log"
fi

export AGENTCAGE_TESTBED=${TESTBED:-vm}
while IFS= read -r script; do
        [ -n "$script" ] || continue
        name=$(basename "$script" .sh)
        say "running $script"
        t0=$(date +%s.%N)
        (cd "$(dirname "$src/$script")" && timeout -k 10 "$per_script_timeout" bash "$src/$script") \
                >"$res/$name.out" 2>&1 </dev/null
        echo $? >"$res/$name.rc"
        awk -v n="$name" -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%s %.1f s\n", n, b - a }' >>"$res/durations"
        say "finished $script: exit $(cat "$res/$name.rc")"
done <"$res/request"

journalctl -b --no-pager -o short-monotonic >"$res/journal.txt" 2>&1
journalctl -k -b --no-pager -o short-monotonic >"$res/kernel.txt" 2>&1
systemctl list-units --failed --no-pager >"$res/failed-units.txt" 2>&1
echo "uptime at end: $(cut -d' ' -f1 /proc/uptime) s" >>"$res/boot.txt"
touch "$res/done"
sync
say "done, powering off"
systemctl poweroff --no-block
