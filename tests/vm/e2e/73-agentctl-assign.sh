#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# agentctl assign and release: the assignment file in the agent's state
# directory (atomic, key=value), its survival across daemon-reload, release
# logging "released: task X completed" and stopping the agent, and the error
# paths (not running, no task, bad task, not root).
AGENTCTL_LIB_ONLY=1 . "$(dirname "$0")/70-agentctl-lib.sh"

a=e2e-ctl-task
trap 'stop_quietly agent@$a.service; _lib_cleanup' EXIT
write_ctl_agent "$a" "OrphanTimeoutSec=0"
reload
stop_quietly "agent@$a.service"
file=$RUNTIME_DIR/$a/assignment

check_fails "assign to a stopped agent: not running" "Agent $a is not running" agentctl assign "$a" t-0
check_output "start" "^Started agent $a\.$" agentctl start "$a"
check_fails "release without a task: refused" "Agent $a has no task assigned" agentctl release "$a"

before=$(($(date +%s) * 1000000))
check_output "assign: a task without lease" "assigned: task build-42 to $a, no lease" agentctl assign "$a" build-42
check_output "the file has the task" '^task=build-42$' cat "$file"
check_output "the file has the lease (none)" '^lease_until=0$' cat "$file"
assigned=$(sed -n 's/^assigned=//p' "$file")
check "assigned= is the realtime clock in µs" test "${assigned:-0}" -ge "$before"
check_output "the file is 0600 root" '^600 root$' stat -c '%a %U' "$file"
check_no_output "no temporary file is left" '\.tmp$' ls -A "$RUNTIME_DIR/$a"
check_output "list shows the task" "^$a +active/running .* build-42$" agentctl list
jq_is "status --json shows the task" "$(agentctl status --json "$a")" .assignment.task build-42

check_output "assign again with a lease replaces the task" "assigned: task fix bug #7 to $a, lease until" \
        agentctl assign "$a" "fix bug #7" --lease=10min
check_output "the new task" '^task=fix bug #7$' cat "$file"
st=$(agentctl status --json "$a")
jq_true "lease_until is 10min after assigned" "$st" \
        '.assignment.lease_until_usec - .assignment.assigned_usec == 600000000'
reload
check_output "the assignment survives daemon-reload" '^task=fix bug #7$' cat "$file"
check "… and the agent still runs" unit_is "agent@$a.service" active

check_fails "a task with a control character: usage error" "printable" agentctl assign "$a" $'a\tb'
check_fails "a task over 256 bytes: usage error" "1 to 256 bytes" agentctl assign "$a" "$(head -c 257 /dev/zero | tr '\0' x)"
check_fails "a bad lease: usage error" "Invalid --lease" agentctl assign "$a" t --lease=forever
check_fails "assign to an undefined agent: exit 3" "No agent 'e2e-nope'" agentctl assign e2e-nope t
check_fails "assign as nobody: needs root" "needs root" as_nobody agentctl assign "$a" t
check_fails "release as nobody: needs root" "needs root" as_nobody agentctl release "$a"
check_output "the failed attempts left the task alone" '^task=fix bug #7$' cat "$file"

cursor=$(journal_cursor)
check_output "release: the task is completed, the agent stops" "released: task fix bug #7 completed" \
        agentctl release "$a"
check "release: the agent is stopped" unit_is "agent@$a.service" inactive
check "release: the assignment went with the state directory" test ! -e "$RUNTIME_DIR/$a"
check_output "release: the journal says so, attached to the agent's unit" "released: task fix bug #7 completed" \
        journal_after "$cursor" -u "agent@$a.service" -o cat
# (field matches without a cursor: journalctl 252 finds nothing when
# --after-cursor= and such matches are combined)
check_output "release: the entry carries the event and the agent as fields" \
        "MESSAGE=released: task fix bug #7 completed" \
        journal_after "" -o verbose AGENTCAGE_EVENT=released AGENTCAGE_AGENT="$a"
check_output "release: logged as agentctl" "SYSLOG_IDENTIFIER=agentctl" \
        journal_after "" -o verbose AGENTCAGE_EVENT=released AGENTCAGE_AGENT="$a"
check_fails "release of a stopped agent: not running" "Agent $a is not running" agentctl release "$a"
finish
