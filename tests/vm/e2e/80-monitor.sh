#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Monitor: readiness over sd_notify, heartbeats (WatchdogSec=), health checks
# (HealthCheck=) and the restart budget (MaxRestarts=). Each way of failing
# must end the agent, leave the reason in its journal, and recycle it; a
# crash loop must stop after its budget, and every restart must provision
# afresh.
. "$(dirname "$0")/lib.sh"

image=
for p in /usr/share/agentcage/images/demo /usr/local/share/agentcage/images/demo; do
        [ -x "$p/usr/bin/demo-agent" ] && image=$p && break
done
[ -n "$image" ] || bail "the demo image tree is not installed"

units=()
agent() { # NAME EXEC LIFECYCLE-LINES…
        local name=$1 exec=$2
        shift 2
        { printf '[Agent]\nImage=%s\nExec=%s\n[Lifecycle]\n' "$image" "$exec"; printf '%s\n' "$@"; } |
                write_agent "$name"
        units+=("agent@$name.service")
}
cleanup() {
        systemctl stop "${units[@]}" >/dev/null 2>&1
        systemctl reset-failed "${units[@]}" >/dev/null 2>&1
        _lib_cleanup
}
trap cleanup EXIT
logs_of() { journalctl -q --no-pager -o cat -u "$1" 2>&1; }
log_has() { logs_of "$1" | grep -q -- "$2"; }

agent e2e-ready "/usr/bin/demo-agent --interval=1" "Notify=yes"
agent e2e-heartbeat "/usr/bin/demo-agent --interval=1 --heartbeats=3" \
        "Notify=yes" "WatchdogSec=5s" "Restart=no"
agent e2e-healthy "/usr/bin/demo-agent --interval=1" \
        "HealthCheck=/usr/bin/demo-agent --count=1" "HealthCheckIntervalSec=2s" "HealthCheckRetries=2"
agent e2e-unhealthy "/usr/bin/demo-agent --interval=1" \
        "HealthCheck=/usr/bin/demo-agent --count=1 --exit-status=1" "HealthCheckIntervalSec=2s" \
        "HealthCheckRetries=2" "Restart=no"
agent e2e-crashloop "/usr/bin/demo-agent --interval=1 --count=1 --exit-status=3" \
        "Restart=on-failure" "RestartSec=1s" "MaxRestarts=2"
reload

# Readiness: with Notify=yes the start job ends on the agent's READY=1,
# relayed by agent-init to systemd-nspawn and on to systemd.
check "a Notify=yes agent starts (its READY=1 reaches systemd)" timeout 180 systemctl start agent@e2e-ready.service
check "it is active" unit_is agent@e2e-ready.service active
check "its NOTIFY_SOCKET is agent-init's, so it did not fail to notify" \
        bash -c '! journalctl -q --no-pager -o cat -u agent@e2e-ready.service | grep -q "cannot notify"'
systemctl stop agent@e2e-ready.service >/dev/null 2>&1

# Heartbeats: three WATCHDOG=1, then silence; WatchdogSec=5s ends it.
check "the heartbeat agent starts" timeout 180 systemctl start agent@e2e-heartbeat.service
t0=$SECONDS
check "missing heartbeats end it" wait_for 120 unit_is agent@e2e-heartbeat.service failed
check "not before its heartbeats stopped plus WatchdogSec=" test $((SECONDS - t0)) -ge 5
check "the journal says why" log_has agent@e2e-heartbeat.service "missed its heartbeat: no WATCHDOG=1 within 5s"
check_output "agent-init's verdict is the unit's exit status (3)" '^ExecMainStatus=3$' \
        systemctl show -p ExecMainStatus agent@e2e-heartbeat.service
check "it was recycled" wait_for 60 test ! -e /run/agentcage/e2e-heartbeat

# Health checks: a passing one keeps the agent, a failing one ends it.
check "the healthy agent starts" timeout 180 systemctl start agent@e2e-healthy.service
check "the unhealthy agent starts" timeout 180 systemctl start agent@e2e-unhealthy.service
check "two failed health checks in a row end the unhealthy agent" \
        wait_for 120 unit_is agent@e2e-unhealthy.service failed
check "the journal says why" log_has agent@e2e-unhealthy.service "failed 2 health checks in a row"
check_output "agent-init's verdict is the unit's exit status (4)" '^ExecMainStatus=4$' \
        systemctl show -p ExecMainStatus agent@e2e-unhealthy.service
check "the health check ran as the agent (uid 65534)" \
        log_has agent@e2e-unhealthy.service "demo-agent: started as uid 65534, interval"
check "the healthy agent is still active after several checks" unit_is agent@e2e-healthy.service active
check "its health checks passed (none failed)" bash -c '! journalctl -q --no-pager -o cat -u agent@e2e-healthy.service | grep -q "Health check failed"'
systemctl stop agent@e2e-healthy.service >/dev/null 2>&1

# Crash loop: exits 3 at once; restarted twice, then given up on.
systemctl start agent@e2e-crashloop.service >/dev/null 2>&1
check "the crash loop ends in the failed state" wait_for 240 unit_is agent@e2e-crashloop.service failed
check_output "because its restart budget ran out" '^Result=(start-limit-hit|exit-code)$' \
        systemctl show -p Result agent@e2e-crashloop.service
# systemd counts the refused third restart in NRestarts too.
check_output "the third restart was the one refused" '^NRestarts=3$' \
        systemctl show -p NRestarts agent@e2e-crashloop.service
check "so it ran exactly three times, each provisioned afresh (a new workspace each time)" \
        test "$(logs_of agent@e2e-crashloop.service | grep -c 'Workspace of .* ready')" -eq 3
check "and recycled each time" test "$(logs_of agent@e2e-crashloop.service | grep -c 'Recycled agent e2e-crashloop')" -ge 3
check "nothing of it is left" test ! -e /run/agentcage/e2e-crashloop
finish
