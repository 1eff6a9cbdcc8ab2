#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# agentctl list and status --json against what systemctl show and
# machinectl show say about the same agent, running and stopped.
AGENTCTL_LIB_ONLY=1 . "$(dirname "$0")/70-agentctl-lib.sh"

a=e2e-ctl-run
b=e2e-ctl-idle
trap 'stop_quietly agent@$a.service agent@$b.service; _lib_cleanup' EXIT
write_ctl_agent "$a" "OrphanTimeoutSec=0"
write_ctl_agent "$b"
reload
stop_quietly "agent@$a.service" "agent@$b.service"

check_output "agentctl start starts it" "^Started agent $a\.$" agentctl start "$a"
# Let the agent print something and systemd account some CPU time.
check "the agent logs to the journal" wait_for 60 sh -c "journalctl -q -u agent@$a.service -o cat | grep -q 'demo-agent: tick'"

list=$(agentctl list --json)
row=".[] | select(.name == \"$a\")"
idle=".[] | select(.name == \"$b\")"
show() { systemctl show -p "$1" --value "agent@$2.service"; }

jq_is "list: active_state is systemd's" "$list" "$row.active_state" "$(show ActiveState "$a")"
jq_is "list: sub_state is systemd's" "$list" "$row.sub_state" "$(show SubState "$a")"
jq_is "list: restarts is NRestarts" "$list" "$row.restarts" "$(show NRestarts "$a")"
jq_is "list: runtime_max_usec is RuntimeMaxSec=10min" "$list" "$row.runtime_max_usec" 600000000
jq_true "list: 0 < ttl_left_usec <= runtime_max_usec" "$list" "$row | .ttl_left_usec > 0 and .ttl_left_usec <= .runtime_max_usec"
jq_true "list: uptime + TTL left = RuntimeMaxSec (±2s)" "$list" \
        "$row | (.uptime_usec + .ttl_left_usec - .runtime_max_usec) | (if . < 0 then -. else . end) < 2000000"
jq_true "list: memory_current_bytes is a number, as MemoryCurrent" "$list" "$row.memory_current_bytes > 0"
check "systemd also has a MemoryCurrent" test "$(show MemoryCurrent "$a")" -gt 0
jq_is "list: no task" "$list" "$row.task" null
jq_is "list: the stopped agent is listed (it is defined)" "$list" "$idle.active_state" inactive
jq_is "list: the stopped agent has no uptime" "$list" "$idle.uptime_usec" null
jq_is "list: the stopped agent has no TTL" "$list" "$idle.ttl_left_usec" null
check_output "list: a table row for the running agent" "^$a +active/running +[0-9]" agentctl list
check_output "list: a table row for the stopped agent" "^$b +inactive/dead +- +- " agentctl list

st=$(agentctl status --json "$a")
jq_is "status: unit" "$st" .unit "agent@$a.service"
jq_is "status: main_pid is MainPID" "$st" .main_pid "$(show MainPID "$a")"
jq_is "status: control_group is ControlGroup" "$st" .control_group "$(show ControlGroup "$a")"
jq_true "status: tasks_current is a number" "$st" ".tasks_current > 0"
jq_true "status: cpu_usage_nsec is a number" "$st" ".cpu_usage_nsec >= 0"
peak=/sys/fs/cgroup$(show ControlGroup "$a")/memory.peak
if [ -e "$peak" ]; then
        jq_true "status: memory_peak_bytes from memory.peak" "$st" ".memory_peak_bytes >= .memory_current_bytes"
else
        jq_is "status: memory_peak_bytes is null without memory.peak" "$st" .memory_peak_bytes null
fi
jq_is "status: machine leader is machined's" "$st" .machine.leader "$(machinectl show -p Leader --value "$a")"
jq_is "status: machine class is machined's" "$st" .machine.class "$(machinectl show -p Class --value "$a")"
jq_is "status: machine class is container" "$st" .machine.class container
# The volume is mounted in the unit's own mount namespace: seen from the
# host through the root of its main process.
ws=$RUNTIME_DIR/$a/workspace
ns_ws=/proc/$(show MainPID "$a")/root$ws
jq_is "status: the workspace path" "$st" .workspace.path "$ws"
jq_is "status: the workspace size is what statfs says in the unit's namespace" "$st" .workspace.size_bytes \
        "$(( $(stat -f -c '%b * %S' "$ns_ws") ))"
jq_true "status: the workspace is the 16M volume" "$st" \
        ".workspace.size_bytes > 8000000 and .workspace.size_bytes <= 16777216 and .workspace.used_bytes >= 0"
jq_is "status: the definition's file" "$st" .definition.path "$AGENTS_DIR/$a.agent"
jq_is "status: orphan_timeout_usec" "$st" .orphan_timeout_usec 0
# What was fixed at start comes from agent.state; an agent-runtime that does
# not write one yet leaves the definition as the source, and says so.
if [ -e "$RUNTIME_DIR/$a/agent.state" ]; then
        jq_is "status: the orphan timeout from agent.state" "$st" .orphan_timeout_source agent.state
        jq_true "status: the AppArmor mode" "$st" '.apparmor == "required" or .apparmor == "optional"'
        jq_true "status: the image" "$st" '.image | type == "string"'
        check_output "status: human output shows the AppArmor mode" "AppArmor: " agentctl status "$a"
else
        jq_is "status: without agent.state, the orphan timeout from the definition" "$st" \
                .orphan_timeout_source definition
        jq_is "status: without agent.state, no AppArmor mode" "$st" .apparmor null
        check_output "status: human output says agent.state is missing" "Start: no agent.state" \
                agentctl status "$a"
fi
jq_true "status: at most 10 journal lines, the agent's among them" "$st" \
        '(.journal | length) <= 10 and any(.journal[]; .message | test("demo-agent: tick"))'
# What agent.state says is shown, loudly when AppArmor is optional.
set_agent_state "$a" APPARMOR=optional IMAGE_DIGEST=sha256:00ff IMAGE_EXCEPTIONS="/usr/bin/e2e-x /etc/e2e-y"
st2=$(agentctl status --json "$a")
jq_is "status: the AppArmor mode from agent.state" "$st2" .apparmor optional
jq_is "status: the image digest from agent.state" "$st2" .image_digest sha256:00ff
jq_is "status: the image exceptions from agent.state" "$st2" '.image_exceptions | join(",")' "/usr/bin/e2e-x,/etc/e2e-y"
jq_is "status: the orphan timeout from agent.state" "$st2" .orphan_timeout_source agent.state
check_output "status: a loud line when AppArmor is optional" "AppArmor: OPTIONAL - this agent may run WITHOUT AppArmor" \
        agentctl status "$a"
check_output "status: the image exceptions" "Exceptions: /usr/bin/e2e-x \(ImageAllow=\)" agentctl status "$a"
check_output "status: the image and its digest" "Image: .* \(sha256:00ff\)" agentctl status "$a"
restore_agent_state "$a"
check_output "status: human output names the machine" "Machine: $a \(class container" agentctl status "$a"
check_output "status: human output shows the TTL" "TTL: .* left \(RuntimeMaxSec=10min\)" agentctl status "$a"

check_output "agentctl stop stops it" "^Stopped agent $a\.$" agentctl stop "$a"
st=$(agentctl status --json "$a")
jq_is "status after stop: inactive" "$st" .active_state inactive
jq_is "status after stop: no machine" "$st" .machine null
jq_is "status after stop: no workspace" "$st" .workspace null
check_fails "status of an undefined agent: exit 3" "No agent 'e2e-nope' is defined" agentctl status e2e-nope
check_output "status works without root (read-only)" "agent@$a.service" as_nobody agentctl status "$a"
check_output "list works without root" "^$a " as_nobody agentctl list
finish
