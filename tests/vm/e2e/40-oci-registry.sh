#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Image= as a registry reference: a real registry (docker-registry) on
# 127.0.0.1:5000, the demo image pushed with skopeo and signed with a GPG key,
# /etc/agentcage/policy.json requiring that key. The signed image is pulled
# (agentctl pull), checked and cached, and the agent runs from it; an unsigned
# image is refused with skopeo's reason; with the registry stopped the signed
# image starts again from the cache. Timings against a start from the local
# tree.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

demo=$(image_path demo) || bail "the demo image is not installed"
for t in docker-registry skopeo umoci gpg mksquashfs agentctl; do
        command -v "$t" >/dev/null || bail "$t is not installed in the VM image"
done

w=$(mktemp -d /var/tmp/e2e-oci.XXXXXX)
reg=127.0.0.1:5000
units="agent@e2e-oci.service agent@e2e-oci-unsigned.service agent@e2e-oci-local.service"
reg_pid=
cleanup() {
        for u in $units; do forget_unit "$u"; done
        [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null
        GNUPGHOME=$w/gpg gpgconf --kill gpg-agent 2>/dev/null
        rm -f /etc/agentcage/policy.json /etc/containers/registries.conf.d/e2e-oci.conf \
                /etc/containers/registries.d/e2e-oci.yaml
        [ -n "$made_conf" ] && rm -f /etc/containers/registries.conf
        rm -rf "$w" /var/lib/agents/oci
        _lib_cleanup
}
trap cleanup EXIT
ms() { echo $((($2 - $1) / 1000000)); }

start_registry() {
        docker-registry serve "$w/registry.yml" >"$w/registry.log" 2>&1 &
        reg_pid=$!
        wait_for 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/5000"
}
cat >"$w/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $w/registry
http:
  addr: $reg
EOF
# Not inside check: that runs it in a subshell, and reg_pid must reach the
# kill below.
start_registry
check "the registry listens on $reg" bash -c "exec 3<>/dev/tcp/127.0.0.1/5000"

# Client side: plain HTTP for the loopback registry, signatures in a
# lookaside directory, the trust policy agentcage reads.
mkdir -p /etc/containers/registries.conf.d /etc/containers/registries.d /etc/agentcage "$w/sigstore" "$w/gpg"
made_conf=
[ -e /etc/containers/registries.conf ] || { : >/etc/containers/registries.conf; made_conf=1; }
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" >/etc/containers/registries.conf.d/e2e-oci.conf
printf 'docker:\n  %s:\n    lookaside: file://%s/sigstore\n    lookaside-staging: file://%s/sigstore\n' \
        "$reg" "$w" "$w" >/etc/containers/registries.d/e2e-oci.yaml
chmod 700 "$w/gpg"
export GNUPGHOME=$w/gpg
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key e2e@agentcage.test ed25519 sign never 2>/dev/null
gpg --batch --quiet --export e2e@agentcage.test >"$w/key.gpg"
cat >/etc/agentcage/policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$reg": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$w/key.gpg"}]}}}
EOF
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$w/push-policy.json"

# The demo tree as an OCI image (umoci), pushed signed and unsigned.
umoci init --layout "$w/layout" && umoci new --image "$w/layout:v1" &&
        umoci unpack --image "$w/layout:v1" "$w/bundle" >/dev/null && cp -a "$demo/." "$w/bundle/rootfs/" &&
        umoci repack --image "$w/layout:v1" "$w/bundle" >/dev/null
check "the demo tree is an OCI image" test -f "$w/layout/index.json"
push() { skopeo --policy "$w/push-policy.json" copy -q "$@"; }
check "the signed image is pushed" push --sign-by e2e@agentcage.test --digestfile "$w/signed.digest" \
        "oci:$w/layout:v1" "docker://$reg/e2e/demo:v1"
check "the unsigned image is pushed" push --digestfile "$w/unsigned.digest" "oci:$w/layout:v1" \
        "docker://$reg/e2e/unsigned:v1"
signed=$(cat "$w/signed.digest")
unsigned=$(cat "$w/unsigned.digest")

agent() { # NAME IMAGE
        write_agent "$1" <<DEF
[Agent]
Image=$2
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min
Restart=no

[Volumes]
Workspace=8M
DEF
}
agent e2e-oci "docker://$reg/e2e/demo@$signed"
agent e2e-oci-unsigned "docker://$reg/e2e/unsigned@$unsigned"
agent e2e-oci-local "$demo"
reload

# --- refusals ------------------------------------------------------------------
check_fails "agentctl pull refuses the unsigned image" 'A signature was required, but no signature exists' \
        agentctl pull e2e-oci-unsigned
check "nothing of it is cached" test -z "$(ls /var/lib/agents/oci/*"${unsigned#sha256:}"* 2>/dev/null)"
check_fails "starting it fails" '' systemctl start agent@e2e-oci-unsigned.service
log=$(unit_log agentcage-pull@e2e-oci-unsigned.service)
has_log() { printf '%s\n' "$log" | grep -qF -- "$1"; }
check "the start's pull unit says why: no signature" has_log "A signature was required"
check_output "the agent never ran: its pull failed first" 'inactive|failed' \
        systemctl show -P ActiveState agent@e2e-oci-unsigned.service

# --- the signed image: pulled, cached, runs ---------------------------------------
t0=$(date +%s%N)
check_output "agentctl pull provisions the signed image into the cache" '/var/lib/agents/oci/sha256-' \
        agentctl pull e2e-oci
t1=$(date +%s%N)
check "the agent starts from the cached image" systemctl start agent@e2e-oci.service
t2=$(date +%s%N)
check "it runs" wait_log agent@e2e-oci.service 'demo-agent: tick 1' 120
check_output "its root is the read-only squashfs of the cache" '^/dev/loop[0-9]+ .*ro' \
        nsenter -t "$(systemctl show -p MainPID --value agent@e2e-oci.service)" -m -- \
        findmnt -n -o SOURCE,OPTIONS --mountpoint "$RUNTIME_DIR/e2e-oci/root"
check_output "agentctl images lists it with its agent" 'e2e-oci' agentctl images
check "it stops" systemctl stop agent@e2e-oci.service

# --- the registry stopped: from the cache -----------------------------------------------
kill -KILL "$reg_pid"
wait "$reg_pid" 2>/dev/null
reg_pid=
# The port is closed once the process and its listener are gone.
wait_for 30 bash -c '! (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null'
check_fails "the registry is down" '' bash -c "exec 3<>/dev/tcp/127.0.0.1/5000"
t3=$(date +%s%N)
check "the signed image starts again with the registry stopped" systemctl start agent@e2e-oci.service
t4=$(date +%s%N)
check "it runs from the cache" wait_log agent@e2e-oci.service 'demo-agent: tick 1' 120
check "it stops" systemctl stop agent@e2e-oci.service
check_output "agentctl pull answers from the cache too" 'is /var/lib/agents/oci/' agentctl pull e2e-oci

# --- against a local tree ---------------------------------------------------------
t5=$(date +%s%N)
check "the same image from the local tree starts" systemctl start agent@e2e-oci-local.service
t6=$(date +%s%N)
check "it runs" wait_log agent@e2e-oci-local.service 'demo-agent: tick 1' 120
check "it stops" systemctl stop agent@e2e-oci-local.service
diag "timing: pull + unpack + policy + squashfs $(ms "$t0" "$t1") ms; first start from the cache $(ms "$t1" "$t2") ms; start with the registry stopped $(ms "$t3" "$t4") ms; start from the local tree $(ms "$t5" "$t6") ms"
finish
