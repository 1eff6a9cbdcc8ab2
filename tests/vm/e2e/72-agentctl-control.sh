#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# agentctl start, stop and restart wait for systemd's job and report its
# result; a start that fails says so and points to agentctl status; the
# error paths exit with their documented status; an agent whose definition
# was deleted while it runs is still listed, shown and stopped.
AGENTCTL_LIB_ONLY=1 . "$(dirname "$0")/70-agentctl-lib.sh"

a=e2e-ctl-job
f=e2e-ctl-fail
bad=e2e-ctl-bad
gone=e2e-ctl-gone
trap 'stop_quietly agent@$a.service agent@$f.service agent@$gone.service; _lib_cleanup' EXIT
write_ctl_agent "$a" "OrphanTimeoutSec=0"
write_agent "$f" <<'DEF'
[Agent]
Image=/nonexistent/e2e-image
Exec=/usr/bin/demo-agent

[Lifecycle]
Restart=no
DEF
write_agent "$bad" <<'DEF'
[Agent]
Image=/nonexistent/e2e-image
Exec=/usr/bin/demo-agent
Bogus=1
DEF
reload
stop_quietly "agent@$a.service" "agent@$f.service"

check_output "start: reports the job's success" "^Started agent $a\.$" agentctl start "$a"
check "start: the unit is active when agentctl returns" unit_is "agent@$a.service" active
check "start: the agent's state directory exists" test -d "$RUNTIME_DIR/$a"
pid1=$(systemctl show -p MainPID --value "agent@$a.service")
check_output "start of a running agent: done, nothing to do" "^Started agent $a\.$" agentctl start "$a"
check_output "restart: reports the job's success" "^Restarted agent $a\.$" agentctl restart "$a"
pid2=$(systemctl show -p MainPID --value "agent@$a.service")
check "restart: a new main process" test "$pid1" != "$pid2" -a "$pid2" != 0
check "restart: active again" unit_is "agent@$a.service" active
check_output "stop: reports the job's success" "^Stopped agent $a\.$" agentctl stop "$a"
check "stop: the unit is inactive when agentctl returns" unit_is "agent@$a.service" inactive failed
check "stop: the agent was recycled" test ! -e "$RUNTIME_DIR/$a"
check_output "stop of a stopped agent: done" "^Stopped agent $a\.$" agentctl stop "$a"

check_fails "a failing start: exit 1, the job result and a pointer to status" \
        "Failed to start agent $f: the job ended 'failed'\. See 'agentctl status $f'" agentctl start "$f"
check_output "the failed agent shows up failed in list" "^$f +failed/failed " agentctl list
check_fails "an invalid definition cannot start" "definition has errors" agentctl start "$bad"
check_fails "an undefined agent: exit 3" "No agent 'e2e-nope' is defined" agentctl start e2e-nope
agentctl start e2e-nope >/dev/null 2>&1
check "… and the status is 3" test $? -eq 3
as_nobody agentctl stop "$a" >/dev/null 2>&1
check "not root: exit 4" test $? -eq 4
check_fails "not root: says root is needed" "needs root" as_nobody agentctl restart "$a"
check_fails "a bad argument: usage error" "exactly one agent NAME" agentctl start
agentctl start >/dev/null 2>&1
check "… with status 2" test $? -eq 2

# A definition deleted while its agent runs: the agent is still there.
write_ctl_agent "$gone" "OrphanTimeoutSec=0"
reload
check_output "start $gone" "^Started agent $gone\.$" agentctl start "$gone" || bail "$gone did not start"
rm -f "$AGENTS_DIR/$gone.agent"
check_output "deleted definition: still listed, running, definition missing" \
        "^$gone +active/running,missing " agentctl list
jq_is "deleted definition: list --json says definition missing" "$(agentctl list --json)" \
        ".[] | select(.name == \"$gone\") | .definition" missing
st=$(agentctl status --json "$gone")
jq_is "deleted definition: status --json shows it running" "$st" .active_state active
jq_is "deleted definition: status --json has no definition path" "$st" .definition.path null
check_output "deleted definition: status says so" "Definition: none" agentctl status "$gone"
check_fails "deleted definition: start refuses it" "No agent '$gone' is defined" agentctl start "$gone"
check_output "deleted definition: stop stops it" "^Stopped agent $gone\.$" agentctl stop "$gone"
check "deleted definition: stopped and recycled" test ! -e "$RUNTIME_DIR/$gone"
agentctl status "$gone" >/dev/null 2>&1
check "deleted definition: once stopped, unknown (exit 3)" test $? -eq 3
finish
