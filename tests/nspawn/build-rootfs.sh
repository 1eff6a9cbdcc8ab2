#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# build-rootfs.sh: builds (or finds cached) the small bookworm tree that the
# fast test tier boots with systemd-nspawn, and prints its path:
#
#     tests/nspawn/build-rootfs.sh       -> /var/cache/agentcage/nspawn/<hash>/rootfs
#
# <hash> covers this script; the tree is built in a temporary folder and
# renamed into place, so a failed build never leaves a half cache. The tree is
# never modified afterwards: runs lay an overlay over it.
#
# Environment: AGENTCAGE_NSPAWN_CACHE (default /var/cache/agentcage/nspawn),
# AGENTCAGE_VM_MIRROR (Debian mirror, shared with the VM image).
# Needs root and mmdebstrap; ~1 minute.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${AGENTCAGE_NSPAWN_CACHE:-/var/cache/agentcage/nspawn}
mirror=${AGENTCAGE_VM_MIRROR:-http://deb.debian.org/debian}

# systemd as PID 1 and what the generator-level cases call; the project's
# runtime libraries so the installed binaries run.
packages=(
        systemd systemd-sysv systemd-container dbus procps util-linux
        libseccomp2 libcryptsetup12 libiniparser1 libmount1 libsystemd0
)

hash=$({ cat "$here/build-rootfs.sh"; echo "$mirror"; } | sha256sum | cut -c1-16)
dest=$cache/$hash
if [ -z "${AGENTCAGE_NSPAWN_REBUILD:-}" ] && [ -x "$dest/rootfs/usr/lib/systemd/systemd" ]; then
        echo "$dest/rootfs"
        exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "build-rootfs.sh: must run as root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "build-rootfs.sh: mmdebstrap not found" >&2; exit 1; }

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$hash.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
start=$(date +%s)
echo "build-rootfs.sh: building $hash in $tmp" >&2
mmdebstrap --variant=apt --mode=root \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include="$(IFS=,; echo "${packages[*]}")" \
        --customize-hook='echo agentcage-nspawn >"$1/etc/hostname"' \
        --customize-hook='for u in apt-daily.timer apt-daily-upgrade.timer systemd-timesyncd.service console-getty.service; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
        --customize-hook='mkdir -p "$1/var/lib/agents/images" "$1/etc/agents"' \
        --customize-hook='rm -f "$1/etc/machine-id"; : >"$1/etc/machine-id"' \
        bookworm "$tmp/rootfs" \
        "deb $mirror bookworm main" \
        "deb $mirror bookworm-updates main" \
        "deb ${mirror%/debian}/debian-security bookworm-security main" \
        </dev/null >&2
echo "$(($(date +%s) - start))" >"$tmp/build-seconds"

if [ -n "${AGENTCAGE_NSPAWN_REBUILD:-}" ] && [ -d "$dest" ]; then
        mv -T "$dest" "$tmp.old" && rm -rf --one-file-system "$tmp.old"
fi
if ! mv -T "$tmp" "$dest" 2>/dev/null; then
        [ -x "$dest/rootfs/usr/lib/systemd/systemd" ] || { echo "build-rootfs.sh: cannot publish $dest" >&2; exit 1; }
fi
trap - EXIT
[ ! -d "$tmp" ] || rm -rf --one-file-system "$tmp"
echo "build-rootfs.sh: built $dest in $(cat "$dest/build-seconds") s" >&2
echo "$dest/rootfs"
