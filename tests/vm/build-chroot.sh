#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# build-chroot.sh: builds (or finds cached) a Debian build chroot of RELEASE
# with the package's build dependencies (debian/control) and lintian, and
# prints its folder:
#
#     tests/vm/build-chroot.sh bookworm  -> /var/cache/agentcage/chroot/bookworm-<hash>
#
# <hash> covers this script, debian/control and the mirror, so a changed
# Build-Depends makes a new chroot. Built in a temporary folder and renamed
# into place: a failed build never leaves a half cache. build_package
# (host-lib.sh) builds in an overlay over it, so the cached tree stays
# pristine.
#
# Environment: AGENTCAGE_VM_CACHE (the VM cache root; chroots go into its
# sibling folder "chroot"), AGENTCAGE_VM_MIRROR. Needs root and mmdebstrap;
# ~1-2 minutes.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
release=${1:?usage: build-chroot.sh RELEASE}
cache=$(dirname "${AGENTCAGE_VM_CACHE:-/var/cache/agentcage/vm}")/chroot
mirror=${AGENTCAGE_VM_MIRROR:-http://deb.debian.org/debian}

hash=$({ cat "$here/build-chroot.sh" "$srcdir/debian/control"; echo "$mirror $release"; } | sha256sum | cut -c1-16)
dest=$cache/$release-$hash
if [ -f "$dest/.complete" ]; then
        touch "$dest"
        echo "$dest"
        exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "build-chroot.sh: must run as root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "build-chroot.sh: mmdebstrap not found" >&2; exit 1; }
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$release-$hash.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
start=$(date +%s)
echo "build-chroot.sh: building $release-$hash" >&2

# apt-get build-dep on a folder holding debian/control resolves the
# alternatives (systemd-dev on trixie, systemd on bookworm) the way a
# Debian build daemon does.
mmdebstrap --variant=buildd --mode=root \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include=lintian \
        --customize-hook='mkdir -p "$1/tmp/deps/debian"' \
        --customize-hook="cp '$srcdir/debian/control' \"\$1/tmp/deps/debian/control\"" \
        --customize-hook='chroot "$1" apt-get build-dep -y -q /tmp/deps' \
        --customize-hook='chroot "$1" apt-get clean' \
        --customize-hook='rm -rf "$1/tmp/deps"' \
        "$release" "$tmp/root" \
        "deb $mirror $release main" \
        "deb $mirror $release-updates main" \
        "deb ${mirror%/debian}/debian-security $release-security main" \
        </dev/null >&2

mv "$tmp/root" "$tmp/tree"
mv -T "$tmp/tree" "$tmp.tree"
touch "$tmp.tree/.complete"
if ! mv -T "$tmp.tree" "$dest" 2>/dev/null; then
        rm -rf --one-file-system "$tmp.tree"
        [ -f "$dest/.complete" ] || { echo "build-chroot.sh: cannot publish $dest" >&2; exit 1; }
fi
# Chroots of older recipes unused for a week go.
find "$cache" -mindepth 1 -maxdepth 1 -type d -name "$release-*" ! -name "$release-$hash" -mtime +7 \
        -exec rm -rf --one-file-system {} + 2>/dev/null || true
echo "build-chroot.sh: built $dest in $(($(date +%s) - start)) s" >&2
echo "$dest"
