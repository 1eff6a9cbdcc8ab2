#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The orphan reaper: with OrphanTimeoutSec=20s an agent without a task and one
# whose lease expired are stopped once they have been orphans for longer than
# 20s, with the reason in the journal; one with a live lease and one with
# OrphanTimeoutSec=0 are kept. The timeout is the one fixed at start
# (agent.state): an agent whose agent.state says 20s is reaped although its
# definition says 0 and has since been broken. The second pass runs through
# agentcage-reaper.service, so its sandbox is exercised too.
AGENTCTL_LIB_ONLY=1 . "$(dirname "$0")/70-agentctl-lib.sh"

# The timer the package starts would reap on its own, every 30 s, before the
# pass this case makes and looks at: it is held for the case.
systemctl stop agentcage-reaper.timer

none=e2e-reap-none
lease=e2e-reap-lease
expired=e2e-reap-expired
never=e2e-reap-never
fixed=e2e-reap-fixed
# Started in this order, and the leases assigned before the last start: the
# first pass must come before any of them has been an orphan for 20s.
all=("$never" "$fixed" "$lease" "$expired" "$none")
units=("${all[@]/#/agent@}")
units=("${units[@]/%/.service}")
trap 'stop_quietly "${units[@]}"; _lib_cleanup' EXIT

for n in "$none" "$lease" "$expired"; do
        write_ctl_agent "$n" "OrphanTimeoutSec=20s"
done
write_ctl_agent "$never" "OrphanTimeoutSec=0"
write_ctl_agent "$fixed" "OrphanTimeoutSec=0"
reload
stop_quietly "${units[@]}"

for n in "$never" "$fixed" "$lease" "$expired"; do
        check_output "start $n" "^Started agent $n\.$" agentctl start "$n" || bail "$n did not start"
done
# What start fixed: 20s. Then the definition is edited into an invalid one.
set_agent_state "$fixed" ORPHAN_TIMEOUT_USEC=20000000
printf 'Bogus=1\n' >>"$AGENTS_DIR/$fixed.agent"
check_fails "the edited definition of $fixed is invalid" "error" agentctl verify "$AGENTS_DIR/$fixed.agent"
check "assign a 10min lease" agentctl assign "$lease" keep-me --lease=10min
check "assign a 1s lease" agentctl assign "$expired" short-job --lease=1s
check_output "start $none" "^Started agent $none\.$" agentctl start "$none" || bail "$none did not start"

# Young orphans are left alone.
check_no_output "reap right away stops nothing" 'reaped' agentctl reap
for n in "${all[@]}"; do
        check "$n still runs after the first pass" unit_is "agent@$n.service" active
done

# The last start plus the timeout, with a margin for the slow test bed.
cursor=$(journal_cursor)
sleep 23
check "agentcage-reaper.service runs agentctl reap" systemctl start agentcage-reaper.service
check_output "the reaper service succeeded" '^Result=success$' systemctl show -p Result agentcage-reaper.service
check "$none (no task) was reaped" unit_is "agent@$none.service" inactive
check "$expired (expired lease) was reaped" unit_is "agent@$expired.service" inactive
check "$lease (live lease) is kept" unit_is "agent@$lease.service" active
check "$fixed (20s in agent.state, broken definition) was reaped" unit_is "agent@$fixed.service" inactive
check "$never (OrphanTimeoutSec=0) is kept" unit_is "agent@$never.service" active
check_output "the journal says why: no task" \
        "reaped $none: no task assignment for [0-9]+(s|min [0-9]+s) \(OrphanTimeoutSec=20s\)" \
        journal_after "$cursor" -o cat
check_output "the journal says why: the lease expired" \
        "reaped $expired: lease of task short-job expired [0-9]+s ago \(OrphanTimeoutSec=20s\)" \
        journal_after "$cursor" -o cat
check_output "the reason is attached to the agent's unit" "reaped $none: " \
        journal_after "$cursor" -u "agent@$none.service" -o cat
check "the reaped agent was recycled" test ! -e "$RUNTIME_DIR/$none"

check_no_output "a second pass reaps nothing more" 'reaped' agentctl reap
check_fails "reap as nobody: needs root" "needs root" as_nobody agentctl reap
check_fails "reap takes no arguments" "no arguments" agentctl reap "$lease"
systemctl start agentcage-reaper.timer
finish
