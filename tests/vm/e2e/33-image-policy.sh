#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The approved-image policy: an image with a shell (a /bin/sh symlink), a
# network tool and a setuid file is refused at provisioning, every offending
# path is named in the journal, and nothing stays mounted. A bare image name
# is looked up in the image store and refused the same way.
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

name=e2e-shell
unit=agent@$name.service
base=$(image_path probe) || bail "the probe image is not installed"
runtime=$(runtime_path) || bail "agent-runtime is not installed"
bad=$IMAGE_STORE/e2e-shell
state=$(mktemp -d /run/agentcage-e2e-policy.XXXXXX)
trap 'forget_unit "$unit"; rm -rf --one-file-system "$bad" "$state"; _lib_cleanup' EXIT

mkdir -p "$IMAGE_STORE"
rm -rf "$bad"
cp -a "$base" "$bad"
mkdir -p "$bad/bin"
ln -s /usr/bin/agent-probe "$bad/bin/sh"
install -m 0755 /dev/null "$bad/usr/bin/curl"
install -m 4755 /dev/null "$bad/usr/bin/helper"

write_agent "$name" <<DEF
[Agent]
Image=$bad
Exec=/usr/bin/agent-probe

[Lifecycle]
Restart=no
DEF
reload
forget_unit "$unit"

check_fails "starting an agent on that image fails" '' systemctl start "$unit"
log=$(unit_log "$unit")
has_log() { printf '%s\n' "$log" | grep -Eq -- "$1"; }
check "the journal names /bin/sh as a shell" has_log '/bin/sh: a shell'
check "the journal names /usr/bin/curl as a network tool" has_log '/usr/bin/curl: a network tool'
check "the journal names the setuid file" has_log '/usr/bin/helper: a setuid file'
check "the journal says the image was refused" has_log 'Refusing image .*: 3 policy violations'
check_no_output "nothing of the agent stays mounted" "$RUNTIME_DIR/$name" findmnt -rn -o TARGET
check "its root mount point is gone" test ! -e "$RUNTIME_DIR/$name/root"

# The same by hand, by bare name, in a scratch state directory.
check_fails "provision by bare name lists the offending paths" \
        '/bin/sh: a shell' env AGENTCAGE_RUNTIME_DIR="$state" "$runtime" provision --name="$name" --image=e2e-shell
check "and leaves nothing in its state directory" test -z "$(ls -A "$state")"
check_fails "an unknown bare name says where it looked" \
        "$IMAGE_STORE/e2e-nonexistent.raw" env AGENTCAGE_RUNTIME_DIR="$state" "$runtime" provision --name="$name" --image=e2e-nonexistent
finish
