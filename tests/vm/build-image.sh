#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# build-image.sh: builds (or finds cached) the disposable Debian VM image of
# RELEASE (bookworm, the default, or trixie) for the end-to-end tests and
# prints the folder holding it:
#
#     tests/vm/build-image.sh [RELEASE]  -> /var/cache/agentcage/vm/<hash>
#
# The folder holds root.img (ext4, 2 GiB), vmlinuz, initrd.img and cmdline
# (the kernel command line the image expects). <hash> covers this script and
# tests/vm/image/ and the release, so an unchanged recipe reuses the image and any change to it
# builds a new one. The build happens in a temporary folder that is renamed
# into place at the end: a failed or interrupted build never leaves a half
# cache behind.
#
# Environment:
#   AGENTCAGE_VM_CACHE   cache root (default /var/cache/agentcage/vm)
#   AGENTCAGE_VM_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   AGENTCAGE_VM_REBUILD=1  build even if the cache has this recipe
#
# Needs root, mmdebstrap and mke2fs (e2fsprogs). Takes ~2-3 minutes.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${AGENTCAGE_VM_CACHE:-/var/cache/agentcage/vm}
mirror=${AGENTCAGE_VM_MIRROR:-http://deb.debian.org/debian}
release=${1:-bookworm}
# The project's runtime libraries whose names differ between releases
# (iniparser 4.2 on trixie has soname 4; openssl 3 was renamed for 64-bit
# time_t). The package's Depends: must be met by this list: the guest has no
# network to Debian, and the package is installed with dpkg -i.
case $release in
bookworm) release_libs=(libiniparser1 libssl3) ;;
trixie) release_libs=(libiniparser4 libssl3t64) ;;
*) echo "build-image.sh: unknown release '$release'" >&2; exit 2 ;;
esac

# Everything that goes into the image. Runtime libraries of the project
# (libseccomp2, libcryptsetup12, libiniparser1, libmount1, libsystemd0) are
# listed so the installed binaries run; the rest is what the cases use.
packages=(
        systemd systemd-sysv systemd-container dbus udev kmod
        cryptsetup-bin dmsetup apparmor apparmor-utils
        e2fsprogs procps iproute2 util-linux jq strace
        libseccomp2 libcryptsetup12 libmount1 libsystemd0 "${release_libs[@]}"
        linux-image-amd64 initramfs-tools
        # real agents and what they talk to: the interpreters the Python and
        # Node.js images are built from, a fake internet (DNS, HTTP, TLS),
        # a registry and the OCI tools, crun for the exported profile
        python3 nodejs openssl ca-certificates dnsmasq-base curl
        docker-registry skopeo umoci gnupg erofs-utils squashfs-tools crun
)
# Only what the root disk, the 9p shares and the network card need: makes the
# initrd ~6 MB instead of ~36 MB, which matters at TCG speed.
initrd_modules=(virtio_pci virtio_blk virtio_net 9p 9pnet 9pnet_virtio ext4)
cmdline="console=ttyS0,115200 root=/dev/vda rw apparmor=1 security=apparmor panic=-1 init=/usr/local/lib/agentcage-testbed/preinit"

recipe_hash() {
        {
                cat "$here/build-image.sh"
                echo "$mirror $release"
                (cd "$here/image" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        } | sha256sum | cut -c1-16
}

hash=$(recipe_hash)
dest=$cache/$hash
if [ -z "${AGENTCAGE_VM_REBUILD:-}" ] && [ -f "$dest/root.img" ] && [ -f "$dest/vmlinuz" ] && [ -f "$dest/initrd.img" ]; then
        touch "$dest"   # marks it as in use for the pruning below
        echo "$dest"
        exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "build-image.sh: must run as root" >&2; exit 1; }
for tool in mmdebstrap mke2fs; do
        command -v "$tool" >/dev/null || { echo "build-image.sh: $tool not found (apt-get install mmdebstrap e2fsprogs)" >&2; exit 1; }
done

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$hash.XXXXXX")
cleanup() { rm -rf --one-file-system "$tmp"; }
trap cleanup EXIT
start=$(date +%s)

echo "build-image.sh: building $hash in $tmp" >&2
mmdebstrap --variant=apt --mode=root \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --include="$(IFS=,; echo "${packages[*]}")" \
        --customize-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"' \
        --customize-hook="echo MODULES=list >\"\$1/etc/initramfs-tools/conf.d/agentcage-testbed\"" \
        --customize-hook="printf '%s\n' ${initrd_modules[*]} >\"\$1/etc/initramfs-tools/modules\"" \
        --customize-hook='chroot "$1" update-initramfs -u -k all' \
        --customize-hook="install -D -m 0755 '$here/image/preinit' \"\$1/usr/local/lib/agentcage-testbed/preinit\"" \
        --customize-hook="install -D -m 0644 '$here/image/agentcage-testbed.service' \"\$1/etc/systemd/system/agentcage-testbed.service\"" \
        --customize-hook='echo agentcage-testbed >"$1/etc/hostname"' \
        --customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$1/etc/fstab"' \
        --customize-hook='chroot "$1" passwd -d root' \
        --customize-hook='for u in docker-registry.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-timesyncd.service; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
        --customize-hook='mkdir -p "$1/var/lib/agents/images" "$1/etc/agents"' \
        --customize-hook='rm -f "$1/etc/machine-id"; : >"$1/etc/machine-id"' \
        "$release" "$tmp/rootfs" \
        "deb $mirror $release main" \
        "deb $mirror $release-updates main" \
        "deb ${mirror%/debian}/debian-security $release-security main" \
        </dev/null >&2

cp "$(readlink -f "$tmp"/rootfs/boot/vmlinuz-*)" "$tmp/vmlinuz"
cp "$(readlink -f "$tmp"/rootfs/boot/initrd.img-*)" "$tmp/initrd.img"
echo "$cmdline" >"$tmp/cmdline"
mke2fs -q -t ext4 -L agentcage-root -d "$tmp/rootfs" "$tmp/root.img" 2G >&2
rm -rf --one-file-system "$tmp/rootfs"
echo "$(($(date +%s) - start))" >"$tmp/build-seconds"

# Atomic publish: rename(2) of the finished folder. A forced rebuild first
# moves the old one aside; a concurrent build of the same recipe may have won.
if [ -n "${AGENTCAGE_VM_REBUILD:-}" ] && [ -d "$dest" ]; then
        mv -T "$dest" "$tmp.old" && rm -rf --one-file-system "$tmp.old"
fi
if ! mv -T "$tmp" "$dest" 2>/dev/null; then
        [ -f "$dest/root.img" ] || { echo "build-image.sh: cannot publish $dest" >&2; exit 1; }
fi
trap - EXIT
[ ! -d "$tmp" ] || rm -rf --one-file-system "$tmp"
# Images of older recipes (~0.7 GB each) unused for a week go.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" ! -name '.build-*' -mtime +7 \
        -exec rm -rf --one-file-system {} + 2>/dev/null || true
echo "build-image.sh: built $dest in $(cat "$dest/build-seconds") s" >&2
echo "$dest"
