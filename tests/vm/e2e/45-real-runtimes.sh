#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Real runtimes nobody here wrote: distroless Python 3 and Node.js images,
# built in the guest from its own Debian packages with make-runtime-image.sh,
# run as agents. Each reads its secret and writes and reads back its
# workspace (the agent's own "agent: STEP: RESULT" lines in the journal);
# the Python agent becomes ready over $NOTIFY_SOCKET and keeps its
# heartbeats within WatchdogSec=. The interpreter is refused by the
# approved-image policy unless ImageAllow= names it, and the start says which
# exceptions it used; Node.js (V8's JIT) fails at once under the default
# MemoryDenyWriteExecute=yes with a line naming the key, and runs with
# MemoryDenyWriteExecute=no.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

share=/usr/share/agentcage
maker=$share/make-runtime-image.sh
py_image=$IMAGE_STORE/e2e-python
node_image=$IMAGE_STORE/e2e-node
secret=/etc/agents/secrets/e2e-rt-token
secret_value=e2e-runtime-secret-9b1f3c

units=(agent@e2e-py.service agent@e2e-py-refused.service agent@e2e-node-wx.service agent@e2e-node.service)
cleanup() {
        local u
        for u in "${units[@]}"; do forget_unit "$u"; done
        rm -rf --one-file-system "$py_image" "$node_image"
        rm -f "$secret"
        _lib_cleanup
}
trap cleanup EXIT

[ -x "$maker" ] || bail "$maker is not installed"
[ -r "$share/examples/agent.py" ] && [ -r "$share/examples/agent.js" ] || bail "the example agents are not installed"
command -v python3 >/dev/null && command -v node >/dev/null || bail "the guest lacks python3 or nodejs"

mkdir -p "$IMAGE_STORE"
check "the Python image builds from the guest's python3" sh "$maker" python "$py_image" "$share/examples/agent.py"
check "the Node.js image builds from the guest's nodejs" sh "$maker" node "$node_image" "$share/examples/agent.js"
py=$(readlink -f /usr/bin/python3)
node=$(readlink -f /usr/bin/node)
check "the Python image holds the interpreter $py and no shell" \
        test -x "$py_image$py" -a ! -e "$py_image/bin/sh" -a ! -e "$py_image/usr/bin/sh"
check "the Node.js image holds the interpreter $node and no shell" \
        test -x "$node_image$node" -a ! -e "$node_image/bin/sh" -a ! -e "$node_image/usr/bin/sh"

install -d -m 0700 /etc/agents/secrets
printf '%s' "$secret_value" >"$secret"
chmod 0600 "$secret"

write_agent e2e-py <<DEF
[Agent]
Image=$py_image
ImageAllow=$py
Exec=$py /app/agent.py --secret token --heartbeat 2

[Lifecycle]
Restart=no
Notify=yes
WatchdogSec=20s

[Secrets]
token=$secret
DEF
write_agent e2e-py-refused <<DEF
[Agent]
Image=$py_image
Exec=$py /app/agent.py

[Lifecycle]
Restart=no
DEF
write_agent e2e-node-wx <<DEF
[Agent]
Image=$node_image
ImageAllow=$node
Exec=$node /app/agent.js --secret token

[Lifecycle]
Restart=no

[Secrets]
token=$secret
DEF
write_agent e2e-node <<DEF
[Agent]
Image=$node_image
ImageAllow=$node
Exec=$node /app/agent.js --secret token

[Lifecycle]
Restart=no

[Security]
MemoryDenyWriteExecute=no

[Secrets]
token=$secret
DEF
reload
for u in "${units[@]}"; do forget_unit "$u"; done

has() { unit_log "$1" | grep -Eq -- "$2"; }
log_tail() { unit_log "$1" | tail -n 30; }

# --- Python: ImageAllow= for its interpreter, secret, workspace, heartbeats
check_output "the Python unit passes ImageAllow= to provision" "--image-allow=$py" systemctl cat agent@e2e-py.service
check "the Python agent starts and becomes ready (READY=1)" timeout 300 systemctl start agent@e2e-py.service
check "its start names the exception it used, in one line" \
        has agent@e2e-py.service "approved-image policy exceptions used \\(ImageAllow=\\): $py\$"
check "it runs as the agent's uid" wait_log agent@e2e-py.service "^agent: start: python 3\\.[0-9.]+ as uid 65534" 120
check "it read its secret (${#secret_value} bytes)" \
        wait_log agent@e2e-py.service "^agent: secret: token read, ${#secret_value} bytes" 60
check "it wrote and read back its workspace" \
        wait_log agent@e2e-py.service "^agent: workspace: write and read back ok" 60
check "it said ready over \$NOTIFY_SOCKET" wait_log agent@e2e-py.service "^agent: notify: ready" 60
check_output "systemd shows the agent's STATUS= text" "agent: serving" \
        systemctl show -p StatusText --value agent@e2e-py.service
# Over twice WatchdogSec= later it is still there: the heartbeats arrive
# (agent-init ends an agent that misses its deadline).
sleep 45
check "45s later (WatchdogSec=20s) it is still active: its heartbeats arrive" unit_is agent@e2e-py.service active
check "and agent-init never said it missed one" bash -c "! journalctl -q --no-pager -o cat -u agent@e2e-py.service | grep -q 'missed its heartbeat'"
systemctl stop agent@e2e-py.service >/dev/null 2>&1
unit_is agent@e2e-py.service active && log_tail agent@e2e-py.service | sed 's/^/# /'

# --- the same image without ImageAllow=: refused at start, naming the path
check_fails "without ImageAllow= the Python image is refused at start" '' \
        timeout 300 systemctl start agent@e2e-py-refused.service
check "the journal names $py as an interpreter" has agent@e2e-py-refused.service "  $py: an interpreter\$"
check "and says the image was refused" has agent@e2e-py-refused.service "Refusing image $py_image: 1 policy violation\\."
check_no_output "nothing of it stays mounted" "$RUNTIME_DIR/e2e-py-refused" findmnt -rn -o TARGET

# --- Node.js under the default W^X: fails at once, naming the key
t0=$SECONDS
check_fails "Node.js with the default MemoryDenyWriteExecute=yes does not stay up" '' \
        bash -c 'timeout 300 systemctl start agent@e2e-node-wx.service && sleep 20 && systemctl is-active -q agent@e2e-node-wx.service'
check "it ends failed" wait_for 120 unit_is agent@e2e-node-wx.service failed
check "within 120s of the start (no hang)" test $((SECONDS - t0)) -lt 150
check "agent-init names MemoryDenyWriteExecute=no" \
        has agent@e2e-node-wx.service "set \\[Security\\] MemoryDenyWriteExecute=no in its definition"
check "the agent died of V8's abort, not of a bare SIGSYS" \
        bash -c "journalctl -q --no-pager -o cat -u agent@e2e-node-wx.service | tr -d '\r' | grep -E 'The agent died of signal (5|6|4|11|7) '"
diag "what the operator sees:"
unit_log agent@e2e-node-wx.service | grep -E 'Fatal|Check failed|agent-init|died' | head -n 8 | sed 's/^/#   /'

# --- Node.js with MemoryDenyWriteExecute=no: runs
# Once, to agent-runtime start, which hands it to configure (the filter) and
# agent-init (the hint) itself.
check "the Node.js unit passes the key to agent-runtime start" \
        test "$(systemctl cat agent@e2e-node.service | grep -c -- '--memory-deny-write-execute=no')" = 1
check "Node.js with MemoryDenyWriteExecute=no starts" timeout 300 systemctl start agent@e2e-node.service
check "its start names the exception it used" \
        has agent@e2e-node.service "approved-image policy exceptions used \\(ImageAllow=\\): $node\$"
check "it runs as the agent's uid" wait_log agent@e2e-node.service "^agent: start: node v[0-9.]+ as uid 65534" 180
check "it read its secret" wait_log agent@e2e-node.service "^agent: secret: token read, ${#secret_value} bytes" 60
check "it wrote and read back its workspace" \
        wait_log agent@e2e-node.service "^agent: workspace: write and read back ok" 60
check "it ran all its steps" wait_log agent@e2e-node.service "^agent: done: all steps ran" 60
check "and keeps running" unit_is agent@e2e-node.service active
unit_is agent@e2e-node.service active || log_tail agent@e2e-node.service | sed 's/^/# /'
systemctl stop agent@e2e-node.service >/dev/null 2>&1
finish
