#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run.sh: the end-to-end suite in a disposable qemu VM with systemd as PID 1.
#
#   tests/vm/run.sh [--keep] [--raw] [--release R] [--script FILE]… BUILD_DIR [CASE…]
#
#   BUILD_DIR  a meson build directory of this project (set up with
#              --prefix=/usr if it does not exist, and compiled: some
#              --script files use its test programs); results land in it.
#              What the guest runs is the Debian package: built from the
#              source tree in a build chroot of the guest's release
#              (build-chroot.sh, dpkg-buildpackage, lintian), installed with
#              dpkg -i before systemd starts (image/preinit).
#   --release R  the guest's Debian release: bookworm (default, or
#              $AGENTCAGE_VM_RELEASE) or trixie.
#   CASE       run only the cases whose file names start with CASE
#              ("10", "10-units"); default: every tests/vm/e2e/[0-9]*.sh.
#   --script FILE  run FILE (relative to the source tree or absolute inside
#              it) instead of the e2e cases; may repeat.
#   --raw      print the scripts' output as it is instead of merged TAP
#              (used by demo/run for its transcript).
#   --keep     keep the work folder (staging, results, console log).
#
# Output: one TAP stream on stdout (each case's checks renumbered and
# prefixed with the case name), then the plan. Exit status 0 only if every
# check passed, every case printed its full plan and the guest reported back;
# 77 (with "1..0 # SKIP reason") when the test bed cannot run here.
# The guest's console, journal, kernel log and per-case output are copied to
# $AGENTCAGE_VM_RESULTS (default BUILD_DIR/vm-results).
#
# Environment:
#   AGENTCAGE_VM_TIMEOUT   hard limit for the whole VM run, seconds (1500)
#   AGENTCAGE_VM_CASE_TIMEOUT  limit for one case inside the guest (600)
#   AGENTCAGE_VM_CACHE     image cache root (see build-image.sh)
#   AGENTCAGE_VM_KVM=1     try KVM instead of TCG (stock kernels do not boot
#                          on this kind of host's KVM; TCG is the default)
#   AGENTCAGE_VM_VERBOSE=1 stream the guest console to stderr
#   CI                     when set, missing host packages are installed
#
# The image is built on first use (~3 min) and cached by recipe hash; a boot
# takes 30-50 s under TCG.

set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
. "$here/host-lib.sh"
. "$here/ramdump-lib.sh"

keep='' raw='' scripts=() release=${AGENTCAGE_VM_RELEASE:-bookworm}
while [ $# -gt 0 ]; do
        case $1 in
        --keep) keep=1; shift ;;
        --raw) raw=1; shift ;;
        --release) release=$2; shift 2 ;;
        --script) scripts+=("$2"); shift 2 ;;
        --help|-h) sed -n '3,40p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
        esac
done
[ $# -ge 1 ] || { echo "usage: tests/vm/run.sh [--keep] [--raw] [--release R] [--script FILE]… BUILD_DIR [CASE…]" >&2; exit 2; }
build=$1
shift
timeout=${AGENTCAGE_VM_TIMEOUT:-1500}
case $release in
bookworm|trixie) ;;
*) echo "run.sh: unknown release '$release' (bookworm or trixie)" >&2; exit 2 ;;
esac
log() { echo "vm: $*" >&2; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

# --- host prerequisites -------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip_all "needs root (mmdebstrap --mode=root, image cache)"
require_host_tools qemu-system-x86_64:qemu-system-x86 mmdebstrap:mmdebstrap mke2fs:e2fsprogs meson:meson ninja:ninja-build

# --- work folder, always cleaned up, qemu always killed ---------------------
work=$(mktemp -d /var/tmp/agentcage-vm.XXXXXX)
qpid='' tailpid='' rdpid=''
cleanup() {
        local rc=$?
        [ -n "$qpid" ] && kill -KILL "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
        [ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
        [ -n "$rdpid" ] && kill "$rdpid" 2>/dev/null
        if [ -n "$keep" ]; then
                log "kept $work"
        else
                rm -rf --one-file-system "$work"
        fi
        exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

t_start=$(date +%s)

# --- build the package for the guest's release, stage it ------------------------
# BUILD_DIR is compiled too: a few --script files use its test programs.
mkdir -p "$work/staging/root" "$work/staging/debs" "$work/results"
if [ ! -f "$build/build.ninja" ]; then
        meson setup --prefix=/usr "$build" "$srcdir" >"$work/stage.log" 2>&1 ||
                { tap_merge_fail "setting up $build" "$(tail -30 "$work/stage.log")"; tap_merge_finish; exit 1; }
fi
ninja -C "$build" >>"$work/stage.log" 2>&1 ||
        { tap_merge_fail "building $build" "$(tail -30 "$work/stage.log")"; tap_merge_finish; exit 1; }
build_package "$srcdir" "$release" "$work/staging/debs" "$work/package.log"
prc=$?
if [ $prc = 1 ]; then
        tap_merge_fail "$release: the package builds (dpkg-buildpackage in a $release chroot)" "$(tail -30 "$work/package.log")"
        tap_merge_finish
        cp "$work/package.log" "${AGENTCAGE_VM_RESULTS:-$build/vm-results}.package.log" 2>/dev/null
        exit 1
fi
# --raw (the demo's transcript) keeps these two checks off stdout.
pkg_tap() { if [ -n "$raw" ]; then "$@" >&2; else "$@"; fi; }
pkg_tap _merge_emit 0 "$release: the package builds (dpkg-buildpackage in a $release chroot)"
if [ $prc = 0 ]; then
        pkg_tap _merge_emit 0 "$release: lintian --fail-on error passes"
else
        pkg_tap tap_merge_fail "$release: lintian --fail-on error passes" "$(grep '^E:' "$work/staging/debs/lintian.txt")"
fi
rm -f "$work"/staging/debs/*-dbgsym_*.deb
stage_seed "$srcdir" "$work/staging/root"
t_staged=$(date +%s)

# --- the image ------------------------------------------------------------------
t0=$(date +%s)
img=$("$here/build-image.sh" "$release") || { tap_merge_fail "building the $release VM image (tests/vm/build-image.sh)"; tap_merge_finish; exit 1; }
t_image=$(($(date +%s) - t0))

# --- what to run ---------------------------------------------------------------
if [ ${#scripts[@]} -gt 0 ]; then
        for s in "${scripts[@]}"; do
                case $s in /*) s=${s#"$srcdir"/} ;; esac
                [ -f "$srcdir/$s" ] || { echo "run.sh: no such script $s in $srcdir" >&2; exit 2; }
                echo "$s"
        done >"$work/results/request"
else
        cases=$(select_cases "$here/e2e" "$@") || exit 2
        [ -n "$cases" ] || { tap_merge_fail "no e2e cases found in $here/e2e"; tap_merge_finish; exit 1; }
        printf '%s\n' "$cases" | sed "s|^$srcdir/||" >"$work/results/request"
fi
# KEY=VALUE lines read by the guest suite.
echo "CASE_TIMEOUT=${AGENTCAGE_VM_CASE_TIMEOUT:-600}" >"$work/results/settings"

# --- boot ----------------------------------------------------------------------
accel=(-accel tcg,thread=multi -cpu max)
[ -n "${AGENTCAGE_VM_KVM:-}" ] && [ -w /dev/kvm ] && accel=(-accel kvm -cpu host)
share() { echo "local,path=$1,mount_tag=agentcage-$2,security_model=none${3:+,$3}"; }
qemu=(qemu-system-x86_64 "${accel[@]}" -smp 2 -m 2G
      -display none -monitor none -serial stdio -no-reboot -snapshot
      -kernel "$img/vmlinuz" -initrd "$img/initrd.img"
      -append "$(cat "$img/cmdline") systemd.wants=agentcage-testbed.service init_on_free=1"
      -drive "file=$img/root.img,format=raw,if=virtio"
      -nic user,model=virtio-net-pci
      -virtfs "$(share "$srcdir" src readonly=on)"
      -virtfs "$(share "$work/staging" staging readonly=on)"
      -virtfs "$(share "$work/results" results)")
mapfile -t -O "${#qemu[@]}" qemu < <(ramdump_qemu_args "$work")
log "booting $release ($(wc -l <"$work/results/request") scripts, timeout ${timeout}s, image $(basename "$img"))"
t_boot=$(date +%s)
"${qemu[@]}" </dev/null >"$work/console.log" 2>"$work/qemu.err" &
qpid=$!
ramdump_serve "$work" &
rdpid=$!
if [ -n "${AGENTCAGE_VM_VERBOSE:-}" ]; then
        tail -n +1 -f "$work/console.log" >&2 &
        tailpid=$!
fi
timed_out=
while kill -0 "$qpid" 2>/dev/null; do
        if [ $(($(date +%s) - t_boot)) -ge "$timeout" ]; then
                timed_out=1
                log "timeout after ${timeout}s, killing qemu"
                kill -KILL "$qpid"
                break
        fi
        sleep 1
done
wait "$qpid" 2>/dev/null
qrc=$?
qpid=
t_vm=$(($(date +%s) - t_boot))

# --- results -------------------------------------------------------------------
res=$work/results
out=${AGENTCAGE_VM_RESULTS:-$build/vm-results}
rm -rf "$out" && mkdir -p "$out" && cp -a "$res/." "$work/console.log" "$work/qemu.err" "$work/stage.log" "$work/package.log" "$work/staging/debs/lintian.txt" "$out/" 2>/dev/null
{
        echo "image: $img (built or found in ${t_image}s)"
        echo "release: $release"
        echo "build, package, lintian: $((t_staged - t_start))s"
        echo "vm run (boot, scripts, poweroff): ${t_vm}s, qemu exit $qrc"
        echo "total: $(($(date +%s) - t_start))s"
} >"$out/timing.txt"

rc=0
if [ -n "$raw" ]; then
        while IFS= read -r s; do
                n=$(basename "$s" .sh)
                [ -f "$res/$n.out" ] && cat "$res/$n.out"
                [ "$(cat "$res/$n.rc" 2>/dev/null)" = 0 ] || rc=1
        done <"$res/request"
        [ -f "$res/done" ] || { log "the guest never reported back; console tail:"; tail -30 "$work/console.log" >&2; rc=1; }
else
        while IFS= read -r s; do
                n=$(basename "$s" .sh)
                tap_merge_case "$n" "$res/$n.out" "$res/$n.rc"
        done <"$res/request"
        if [ ! -f "$res/done" ]; then
                tap_merge_fail "the guest reported back${timed_out:+ (killed after ${timeout}s)}" \
                        "qemu exited $qrc after ${t_vm}s; its stderr:" "$(tail -5 "$work/qemu.err")" \
                        "console tail:" "$(tail -25 "$work/console.log" | tr -d '\r')"
        fi
        tap_merge_finish || rc=1
fi
sed 's/^/vm: /' "$out/timing.txt" >&2
[ -f "$res/boot.txt" ] && sed 's/^/vm: guest /' "$res/boot.txt" >&2
log "logs in $out"
exit "$rc"
