#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Helpers for the agentctl cases 71-79 and, run as a case of its own, their
# preconditions: agentctl and the reaper units are installed, and agentctl
# verify and list work against the real systemd of the test bed.
#
# Sourced by the other cases with AGENTCTL_LIB_ONLY=1:
#     AGENTCTL_LIB_ONLY=1 . "$(dirname "$0")/70-agentctl-lib.sh"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNTIME_DIR=/run/agentcage

# demo_image: where the build installed the demo image tree.
demo_image() {
        local p
        for p in /usr/share/agentcage/images/demo /usr/local/share/agentcage/images/demo /var/lib/agents/images/demo; do
                [ -x "$p/usr/bin/demo-agent" ] && { echo "$p"; return 0; }
        done
        return 1
}

# write_ctl_agent NAME [LIFECYCLE_LINES]: a small demo agent (16M workspace,
# no restarts) with extra [Lifecycle] lines, e.g. "OrphanTimeoutSec=20s".
write_ctl_agent() {
        local image
        image=$(demo_image) || return 1
        write_agent "$1" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=10min
Restart=no
${2:-}

[Volumes]
Workspace=16M
Tmp=4M
DEF
}

# stop_quietly UNIT…: what a case started must not outlive it.
stop_quietly() {
        systemctl stop "$@" >/dev/null 2>&1
        systemctl reset-failed "$@" >/dev/null 2>&1
        true
}

# jq_is DESC JSON FILTER EXPECTED: jq -r FILTER over JSON prints EXPECTED.
jq_is() {
        local got
        got=$(printf '%s\n' "$2" | jq -r "$3" 2>&1)
        if [ "$got" = "$4" ]; then
                _tap_result 0 "$1"
        else
                _tap_result 1 "$1"
                diag "jq $3: got '$got', expected '$4'" "in: $(printf '%s' "$2" | head -c 1500)"
        fi
}

# jq_true DESC JSON FILTER: the FILTER is true.
jq_true() {
        jq_is "$1" "$2" "$3" true
}

# set_agent_state NAME KEY=VALUE…: sets keys of NAME's agent.state, the way
# agent-runtime start writes it (a complete file where it wrote none).
# Returns the old file in $AGENT_STATE_SAVED ("" if there was none).
set_agent_state() {
        local f=$RUNTIME_DIR/$1/agent.state kv
        shift
        AGENT_STATE_SAVED=
        if [ -e "$f" ]; then
                AGENT_STATE_SAVED=$(cat "$f")
        else
                printf 'STARTED_USEC=%s\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=0\nAPPARMOR=required\nIMAGE=demo\n' \
                        "$(date +%s)000000" >"$f"
        fi
        for kv in "$@"; do
                if grep -q "^${kv%%=*}=" "$f"; then
                        sed -i "s|^${kv%%=*}=.*|$kv|" "$f"
                else
                        printf '%s\n' "$kv" >>"$f"
                fi
        done
}

# restore_agent_state NAME: puts back what set_agent_state replaced.
restore_agent_state() {
        local f=$RUNTIME_DIR/$1/agent.state
        if [ -n "$AGENT_STATE_SAVED" ]; then
                printf '%s\n' "$AGENT_STATE_SAVED" >"$f"
        else
                rm -f "$f"
        fi
}

as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

[ -n "${AGENTCTL_LIB_ONLY:-}" ] && return 0

# --- run as a case: the preconditions -------------------------------------------
check "agentctl is installed in PATH" command -v agentctl
check_output "agentctl --version" '^agentctl [0-9]' agentctl --version
check_output "the reaper service is installed" '^LoadState=loaded$' \
        systemctl show -p LoadState agentcage-reaper.service
check_output "the reaper timer is installed" '^LoadState=loaded$' \
        systemctl show -p LoadState agentcage-reaper.timer
check_output "the reaper timer fires every 30s" '^OnUnitActiveSec=30s$' \
        systemctl cat agentcage-reaper.timer
check_output "the reaper runs agentctl reap" 'ExecStart=.*/agentctl reap$' \
        systemctl cat agentcage-reaper.service
check_no_output "systemd-analyze verify has no complaint about the reaper units" \
        '[Uu]nknown|[Ii]nvalid|[Ff]ailed|[Ee]rror|ignoring' \
        systemd-analyze verify --man=no "$(systemctl show -p FragmentPath --value agentcage-reaper.service)" \
        "$(systemctl show -p FragmentPath --value agentcage-reaper.timer)"
image=$(demo_image) || bail "the demo image tree is not installed"
write_ctl_agent e2e-ctl-pre "OrphanTimeoutSec=0"
reload
check_output "agentctl verify FILE passes the new definition" "^$AGENTS_DIR/e2e-ctl-pre.agent: OK$" \
        agentctl verify "$AGENTS_DIR/e2e-ctl-pre.agent"
if [ -e "$AGENTS_DIR/boot-broken.agent" ]; then
        check_fails "agentctl verify of the whole search path fails on the broken seed definition" \
                "boot-broken.agent: [0-9]+ errors?" agentctl verify
else
        check_output "agentctl verify of the whole search path passes" "e2e-ctl-pre.agent: OK" agentctl verify
fi
check_output "agentctl list shows it, stopped" '^e2e-ctl-pre +inactive/dead ' agentctl list
check_output "agentctl list --names shows it" '^e2e-ctl-pre$' agentctl list --names
check "the reaper service runs in its sandbox (also before any agent ran)" \
        systemctl start agentcage-reaper.service
check_output "… and succeeds" '^Result=success$' systemctl show -p Result agentcage-reaper.service
finish
