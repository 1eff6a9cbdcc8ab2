#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run.sh: the fast end-to-end tier: systemd as PID 1 inside systemd-nspawn on
# this host (seconds instead of the VM's minute), for the generator-level
# cases of tests/vm/e2e/.
#
#   tests/nspawn/run.sh [--keep] BUILD_DIR [CASE…]
#
# BUILD_DIR and CASE as for tests/vm/run.sh (results land in BUILD_DIR).
# The bookworm Debian package (built as for the VM, host-lib.sh
# build_package), unpacked, and tests/vm/seed/ lie as an overlay over a cached, pristine
# bookworm tree (tests/nspawn/build-rootfs.sh); the container boots with
# systemd.wants=agentcage-testbed.service, which runs the same guest suite as
# the VM (tests/vm/guest/suite.sh) and powers the container off.
#
# Cases that declare "# needs: vm" (dm-crypt, AppArmor, cgroup controllers,
# none of which this host's kernel or an unprivileged nested container offers)
# are listed as "ok N - NAME # SKIP needs vm", never as passed.
#
# Output: one TAP stream; exit 0 only if every check that ran passed and the
# container reported back; 77 with "1..0 # SKIP reason" if this host cannot
# run it. Logs: $AGENTCAGE_NSPAWN_RESULTS (default BUILD_DIR/nspawn-results).
# AGENTCAGE_NSPAWN_TIMEOUT (default 300 s) bounds the whole run.

set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
. "$srcdir/tests/vm/host-lib.sh"

keep=''
while [ $# -gt 0 ]; do
        case $1 in
        --keep) keep=1; shift ;;
        --help|-h) sed -n '3,25p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
        esac
done
[ $# -ge 1 ] || { echo "usage: tests/nspawn/run.sh [--keep] BUILD_DIR [CASE…]" >&2; exit 2; }
build=$1
shift
timeout=${AGENTCAGE_NSPAWN_TIMEOUT:-300}
log() { echo "nspawn: $*" >&2; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (systemd-nspawn, overlayfs)"
require_host_tools systemd-nspawn:systemd-container mmdebstrap:mmdebstrap meson:meson ninja:ninja-build

work=$(mktemp -d /var/tmp/agentcage-nspawn.XXXXXX)
npid='' mounted=''
# stop_container: ask nspawn to power the container off (SIGTERM), then kill
# it and the container's init. Killing nspawn alone would leave the init,
# reparented to PID 1, running on.
stop_container() {
        local inner i
        [ -n "$npid" ] || return 0
        inner=$(pgrep -P "$npid" 2>/dev/null)
        kill -TERM "$npid" 2>/dev/null
        for i in $(seq 20); do
                kill -0 "$npid" 2>/dev/null || break
                sleep 0.5
        done
        kill -KILL "$npid" $inner 2>/dev/null
        wait "$npid" 2>/dev/null
        npid=''
}
cleanup() {
        local rc=$?
        stop_container
        [ -n "$mounted" ] && umount -l "$work/root" 2>/dev/null
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

mkdir -p "$work/staging" "$work/results" "$work/upper" "$work/ovl" "$work/root"
# The bookworm package (as in the VM), unpacked: no maintainer scripts run
# here, the container boots with it in place.
build_package "$srcdir" bookworm "$work/debs" "$work/stage.log"
[ $? = 1 ] && { tap_merge_fail "building the bookworm package" "$(tail -30 "$work/stage.log")"; tap_merge_finish; exit 1; }
for deb in "$work"/debs/*.deb; do
        case $deb in *-dbgsym_*) continue ;; esac
        dpkg-deb -x "$deb" "$work/staging" ||
                { tap_merge_fail "unpacking $(basename "$deb")"; tap_merge_finish; exit 1; }
done
stage_seed "$srcdir" "$work/staging"
rootfs=$("$here/build-rootfs.sh") || { tap_merge_fail "building the rootfs (tests/nspawn/build-rootfs.sh)"; tap_merge_finish; exit 1; }
merge_usr "$rootfs" "$work/staging"
install -D -m 0644 "$srcdir/tests/vm/image/agentcage-testbed.service" \
        "$work/staging/etc/systemd/system/agentcage-testbed.service"

# The staged tree over the pristine rootfs; writes go to upper/ and vanish
# with the work folder.
mount -t overlay agentcage-e2e -o "lowerdir=$work/staging:$rootfs,upperdir=$work/upper,workdir=$work/ovl" "$work/root" ||
        { tap_merge_fail "mounting the overlay root"; tap_merge_finish; exit 1; }
mounted=1

# What runs here and what is skipped, in file order.
cases=$(select_cases "$srcdir/tests/vm/e2e" "$@") || exit 2
order=()
: >"$work/results/request"
for f in $cases; do
        n=$(basename "$f" .sh)
        if [[ " $(case_needs "$f") " == *" vm "* ]]; then
                order+=("skip:$n")
        else
                order+=("run:$n")
                echo "${f#"$srcdir"/}" >>"$work/results/request"
        fi
done
printf "TESTBED=nspawn\nINSTALLED=overlay\n" >"$work/results/settings"

if [ -s "$work/results/request" ]; then
        machine=agentcage-e2e-$$
        log "booting $machine ($(wc -l <"$work/results/request") cases, timeout ${timeout}s)"
        t_boot=$(date +%s)
        systemd-nspawn -q -b -D "$work/root" -M "$machine" --register=no --keep-unit \
                --console=pipe --private-network \
                --bind-ro="$srcdir:/run/agentcage-testbed/src" \
                --bind="$work/results:/run/agentcage-testbed/results" \
                systemd.wants=agentcage-testbed.service \
                </dev/null >"$work/console.log" 2>&1 &
        npid=$!
        while kill -0 "$npid" 2>/dev/null; do
                if [ $(($(date +%s) - t_boot)) -ge "$timeout" ]; then
                        log "timeout after ${timeout}s, stopping the container"
                        stop_container
                        break
                fi
                sleep 0.5
        done
        wait "$npid" 2>/dev/null
        npid=
        t_run=$(($(date +%s) - t_boot))
fi

res=$work/results
out=${AGENTCAGE_NSPAWN_RESULTS:-$build/nspawn-results}
rm -rf "$out" && mkdir -p "$out" && cp -a "$res/." "$work/stage.log" "$out/" 2>/dev/null
[ -f "$work/console.log" ] && cp "$work/console.log" "$out/"

for entry in "${order[@]}"; do
        n=${entry#*:}
        case $entry in
        skip:*) tap_merge_skip "$n" "needs vm (dm-crypt, AppArmor or cgroup controllers); run tests/vm/run.sh" ;;
        run:*) tap_merge_case "$n" "$res/$n.out" "$res/$n.rc" ;;
        esac
done
if [ -s "$res/request" ] && [ ! -f "$res/done" ]; then
        tap_merge_fail "the container reported back" "console tail:" "$(tail -25 "$work/console.log" 2>/dev/null)"
fi
rc=0
tap_merge_finish || rc=1
log "container run ${t_run:-0}s, total $(($(date +%s) - t_start))s; logs in $out"
exit "$rc"
