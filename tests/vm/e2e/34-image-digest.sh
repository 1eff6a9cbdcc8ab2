#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The digest pin ([Agent] ImageDigest=): a wrong digest fails the start and
# the journal shows both digests; the digest agent-runtime digest printed
# lets the same image start. The same for an image file (a squashfs image,
# found by bare name as NAME.raw and loop mounted).
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

demo=$(image_path demo) || bail "the demo image is not installed"
runtime=$(runtime_path) || bail "agent-runtime is not installed"
raw=$IMAGE_STORE/e2e-demo-file.raw
trap 'for u in agent@e2e-pin-bad agent@e2e-pin-good agent@e2e-pin-file; do forget_unit $u.service; done; rm -f "$raw"; _lib_cleanup' EXIT

good=$("$runtime" digest "$demo")
wrong=sha256:0000000000000000000000000000000000000000000000000000000000000000
check "agent-runtime digest gives the demo image's digest" bash -c '[[ $1 =~ ^sha256:[0-9a-f]{64}$ ]]' _ "$good"

agent() { # NAME IMAGE DIGEST
        write_agent "$1" <<DEF
[Agent]
Image=$2
ImageDigest=$3
Exec=/usr/bin/demo-agent --interval 1

[Lifecycle]
RuntimeMaxSec=5min
Restart=no

[Volumes]
Workspace=8M
DEF
}
agent e2e-pin-bad "$demo" "$wrong"
agent e2e-pin-good "$demo" "$good"
reload

check_fails "a wrong ImageDigest= fails the start" '' systemctl start agent@e2e-pin-bad.service
log=$(unit_log agent@e2e-pin-bad.service)
# (check runs its command with stdin from /dev/null: no here-strings)
has_log() { printf '%s\n' "$log" | grep -qF -- "$1"; }
check "the journal says the digest does not match" has_log 'does not match its pinned digest'
check "the journal shows the pinned digest" has_log "$wrong"
check "the journal shows the actual digest" has_log "$good"
check "nothing stays mounted" test ! -e "$RUNTIME_DIR/e2e-pin-bad/root"

check "the right ImageDigest= starts" systemctl start agent@e2e-pin-good.service
check "the agent runs" wait_log agent@e2e-pin-good.service 'demo-agent: tick 1' 120
check "it stops" systemctl stop agent@e2e-pin-good.service

# An image file, by bare name.
if command -v mksquashfs >/dev/null; then
        mksquashfs "$demo" "$raw" -quiet -noappend >/dev/null
        file_digest=$("$runtime" digest "$raw")
        check "an image file's digest is the sha256 of its bytes" \
                test "$file_digest" = "sha256:$(sha256sum "$raw" | cut -d' ' -f1)"
        agent e2e-pin-file e2e-demo-file "$file_digest"
        reload
        check "a pinned image file (NAME.raw) starts" systemctl start agent@e2e-pin-file.service
        check "the agent runs from the loop-mounted image" wait_log agent@e2e-pin-file.service 'demo-agent: tick 1' 120
        # The image is mounted in the unit's own mount namespace, where
        # systemd-nspawn runs, not on the host.
        check_output "its root is a read-only loop mount" '^/dev/loop[0-9]+ .*ro' \
                nsenter -t "$(systemctl show -p MainPID --value agent@e2e-pin-file.service)" -m -- \
                findmnt -n -o SOURCE,OPTIONS --mountpoint "$RUNTIME_DIR/e2e-pin-file/root"
        check "it stops" systemctl stop agent@e2e-pin-file.service
        check_no_output "the loop device is gone with it" "$raw" losetup -a
else
        skip "a pinned image file starts" "mksquashfs is not installed"
fi
finish
