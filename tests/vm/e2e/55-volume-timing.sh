#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Cost of the encrypted workspace next to a plain tmpfs of the same size:
# `agent-runtime configure` (lease, filter, memfd, loop, dm-crypt, mkfs,
# mount) and `recycle`, against `mount -t tmpfs` and `umount`. The figures
# are printed as diagnostics (TCG makes absolute numbers ~10-20x native;
# compare ratios). Checks only that each step worked and left nothing.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

rt=$(runtime_path) || bail "agent-runtime is not installed"
modprobe dm_crypt 2>/dev/null
name=e2e-vol-timing

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

for size in 16777216 268435456; do
        mib=$((size / 1048576))
        t0=$(now)
        check "configure with a ${mib} MiB workspace" \
                "$rt" configure --name="$name" --uid=65534 --workspace-size="$size"
        t1=$(now)
        check_output "${mib} MiB: the workspace is mounted" "ext4" \
                findmnt -n -o FSTYPE --target "$RUNTIME_DIR/$name/workspace"
        # The agent's first write pays for itself; measure it on both.
        t2=$(now)
        check "${mib} MiB: write 8 MiB into the workspace" \
                dd if=/dev/zero of="$RUNTIME_DIR/$name/workspace/f" bs=1M count=8 conv=fsync status=none
        t3=$(now)
        check "recycle after a ${mib} MiB workspace" "$rt" recycle --name="$name"
        t4=$(now)
        check "${mib} MiB: nothing is left" nothing_left "$name"

        d=$(mktemp -d)
        t5=$(now)
        check "tmpfs of ${mib} MiB mounts" mount -t tmpfs -o size="$size",nosuid,nodev,noexec e2e-tmpfs "$d"
        t6=$(now)
        dd if=/dev/zero of="$d/f" bs=1M count=8 conv=fsync status=none
        t7=$(now)
        check "tmpfs of ${mib} MiB unmounts" umount "$d"
        t8=$(now)
        rmdir "$d"

        diag "workspace ${mib} MiB: set-up $(elapsed "$t0" "$t1") s, 8 MiB write $(elapsed "$t2" "$t3") s, teardown $(elapsed "$t3" "$t4") s"
        diag "tmpfs     ${mib} MiB: mount  $(elapsed "$t5" "$t6") s, 8 MiB write $(elapsed "$t6" "$t7") s, umount   $(elapsed "$t7" "$t8") s"
done
finish
