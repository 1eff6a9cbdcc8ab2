# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Host-side helpers shared by tests/vm/run.sh and tests/nspawn/run.sh: build
# the Debian package for a release, select cases, and merge
# the TAP of several case scripts into one renumbered TAP stream, so the whole
# suite counts as one TAP test with one line per check.

_merge_n=0
_merge_failed=0

# tap_merge_case NAME OUTFILE RCFILE: appends the checks of one case,
# prefixed with NAME, and adds a failing line if the case's own plan is
# missing or short, or it exited non-zero without a failing check.
tap_merge_case() {
        local name=$1 out=$2 rcfile=$3 rc line count=0 plan='' failed=0 rest
        if [ ! -f "$out" ]; then
                _merge_emit 1 "$name: did not run (no output)"
                return
        fi
        rc=$(cat "$rcfile" 2>/dev/null || echo missing)
        while IFS= read -r line || [ -n "$line" ]; do
                if [[ $line =~ ^(not\ )?ok\ [0-9]+(\ -)?\ ?(.*)$ ]]; then
                        count=$((count + 1))
                        rest=${BASH_REMATCH[3]}
                        if [ -n "${BASH_REMATCH[1]}" ]; then
                                failed=$((failed + 1))
                                _merge_emit 1 "$name: $rest"
                        else
                                _merge_emit 0 "$name: $rest"
                        fi
                elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
                        plan=${BASH_REMATCH[1]}
                elif [[ $line =~ ^# ]]; then
                        printf '%s\n' "$line"
                else
                        printf '# %s\n' "$line"
                fi
        done <"$out"
        if [ -z "$plan" ]; then
                _merge_emit 1 "$name: printed no plan (exit status $rc)"
        elif [ "$plan" -ne "$count" ]; then
                _merge_emit 1 "$name: planned $plan checks, ran $count"
        elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
                _merge_emit 1 "$name: timed out"
        elif [ "$rc" != 0 ] && [ "$failed" -eq 0 ]; then
                _merge_emit 1 "$name: exit status $rc without a failing check"
        elif [ "$count" -eq 0 ]; then
                _merge_emit 1 "$name: ran no check"
        fi
}

# tap_merge_skip NAME REASON: a whole case that cannot run in this test bed.
tap_merge_skip() {
        _merge_n=$((_merge_n + 1))
        printf 'ok %d - %s # SKIP %s\n' "$_merge_n" "$1" "$2"
}

# tap_merge_fail DESCRIPTION [DIAG…]: a failure of the harness itself.
tap_merge_fail() {
        _merge_emit 1 "$1"
        shift
        if [ $# -gt 0 ]; then printf '%s\n' "$@" | sed 's/^/# /'; fi
}

_merge_emit() {
        _merge_n=$((_merge_n + 1))
        if [ "$1" -eq 0 ]; then
                printf 'ok %d - %s\n' "$_merge_n" "$2"
        else
                _merge_failed=$((_merge_failed + 1))
                printf 'not ok %d - %s\n' "$_merge_n" "$2"
        fi
}

# tap_merge_finish: prints the plan; returns 1 if anything failed or nothing
# was counted at all.
tap_merge_finish() {
        printf '1..%d\n' "$_merge_n"
        [ "$_merge_failed" -eq 0 ] && [ "$_merge_n" -gt 0 ]
}

# require_host_tools COMMAND:PACKAGE…: every COMMAND is on this host, or the
# run ends: with CI set, the missing PACKAGEs are installed first (exit 1 if
# that fails); without, the whole run is skipped ("1..0 # SKIP", exit 77).
require_host_tools() {
        local t missing=()
        for t in "$@"; do
                command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ -z "${CI:-}" ]; then
                echo "1..0 # SKIP missing host packages: ${missing[*]} (apt-get install them, or set CI=1)"
                exit 77
        fi
        echo "installing ${missing[*]}" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 ||
                { echo "1..0 # apt-get install ${missing[*]} failed"; exit 1; }
}

# case_needs FILE: prints the needs a case declares ("# needs: vm …").
case_needs() {
        sed -n 's/^#[[:space:]]*needs:[[:space:]]*//p' "$1" | tr ',' ' '
}

# select_cases DIR [PATTERN…]: prints DIR/[0-9]*.sh in order, only those
# whose name starts with one of the PATTERNs if any are given ("10", "10-units",
# "10-units.sh" all select 10-units.sh). An unmatched PATTERN is an error.
select_cases() {
        local dir=$1 f base p hit
        shift
        for p in "$@"; do
                hit=
                for f in "$dir"/[0-9]*.sh; do
                        base=$(basename "$f")
                        [[ $base == "${p%.sh}"* ]] && hit=1
                done
                [ -n "$hit" ] || { echo "no case matches '$p' in $dir" >&2; return 1; }
        done
        for f in "$dir"/[0-9]*.sh; do
                [ -f "$f" ] || continue
                base=$(basename "$f")
                if [ $# -eq 0 ]; then
                        echo "$f"
                        continue
                fi
                for p in "$@"; do
                        if [[ $base == "${p%.sh}"* ]]; then
                                echo "$f"
                                break
                        fi
                done
        done
}

# build_package SRCDIR RELEASE OUTDIR LOG: builds the Debian package of the
# source tree (its tracked and new files, as they are now) with
# dpkg-buildpackage in a build chroot of RELEASE (build-chroot.sh), in an
# overlay so the cached chroot stays pristine, runs lintian --fail-on error on
# it and copies the .deb files into OUTDIR (lintian's output in
# OUTDIR/lintian.txt). The result is kept by hash of the source and the
# chroot in /var/cache/agentcage/packages/ (a day), so the test beds of one
# tree build it once. Returns 1 if the build failed, 2 if only lintian did;
# the reason is in LOG.
build_package() {
        local srcdir=$1 release=$2 out=$3 logf=$4 chroot w rc key cache
        : >"$logf"
        chroot=$("$srcdir/tests/vm/build-chroot.sh" "$release" 2>>"$logf") || return 1
        w=$(mktemp -d /var/tmp/agentcage-pkg.XXXXXX)
        mkdir -p "$w/upper" "$w/work" "$w/root" "$w/build/src" "$out"
        (cd "$srcdir" && git ls-files -z --cached --others --exclude-standard >"$w/files" &&
                tar --null -T "$w/files" -cf "$w/src.tar" 2>/dev/null)
        # The key ignores timestamps; the tree keeps them (lintian refuses
        # files older than the changelog's date in the package).
        key=$({ cd "$srcdir" && tar --null -T "$w/files" -cf - --sort=name --mtime=@0 --owner=0 --group=0 2>/dev/null |
                sha256sum; echo "$chroot"; } | sha256sum | cut -c1-16)
        cache=$(dirname "${AGENTCAGE_VM_CACHE:-/var/cache/agentcage/vm}")/packages
        if [ -f "$cache/$release-$key/rc" ]; then
                echo "package of this tree for $release found in $cache/$release-$key" >>"$logf"
                cp "$cache/$release-$key"/* "$out/"
                rc=$(cat "$out/rc")
                rm -f "$out/rc"
                rm -rf --one-file-system "$w"
                return "$rc"
        fi
        tar -C "$w/build/src" -xf "$w/src.tar" || { rm -rf "$w"; return 1; }
        # A private mount namespace: every mount vanishes with it.
        unshare --mount --propagation private /bin/sh -euc '
                w=$1 lower=$2
                mount -t overlay agentcage-pkg -o "lowerdir=$lower,upperdir=$w/upper,workdir=$w/work" "$w/root"
                mkdir -p "$w/root/build"
                mount --bind "$w/build" "$w/root/build"
                mount -t proc proc "$w/root/proc"
                mount --rbind /dev "$w/root/dev"
                chroot "$w/root" /bin/sh -euc "cd /build/src && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b"
        ' sh "$w" "$chroot" >>"$logf" 2>&1
        rc=$?
        [ $rc = 0 ] || rc=1
        if [ $rc = 0 ]; then
                cp "$w"/build/*.deb "$w"/build/*.changes "$out/" 2>>"$logf" || rc=1
        fi
        if [ $rc = 0 ]; then
                unshare --mount --propagation private /bin/sh -euc '
                        w=$1 lower=$2
                        mount -t overlay agentcage-pkg -o "lowerdir=$lower,upperdir=$w/upper,workdir=$w/work" "$w/root"
                        mount --bind "$w/build" "$w/root/build"
                        mount -t proc proc "$w/root/proc"
                        chroot "$w/root" sh -c "cd /build && lintian --fail-on error *.changes"
                ' sh "$w" "$chroot" >"$out/lintian.txt" 2>&1 || rc=2
                cat "$out/lintian.txt" >>"$logf"
        fi
        if [ $rc != 1 ]; then
                mkdir -p "$cache/.new-$key"
                cp "$out"/*.deb "$out/lintian.txt" "$cache/.new-$key/" && echo "$rc" >"$cache/.new-$key/rc" &&
                        mv -T "$cache/.new-$key" "$cache/$release-$key" 2>/dev/null
                rm -rf "$cache/.new-$key"
                find "$cache" -mindepth 1 -maxdepth 1 -mtime +1 -exec rm -rf {} + 2>/dev/null
        fi
        rm -rf --one-file-system "$w"
        return $rc
}

# stage_seed SRCDIR STAGING: adds tests/vm/seed/ (definitions the generator
# must meet at boot) to STAGING.
stage_seed() {
        mkdir -p "$2"
        cp -a "$1/tests/vm/seed/." "$2/"
}

# merge_usr ROOT STAGING: the staged tree has real /lib, /bin, /sbin where a
# merged-/usr ROOT has symlinks into /usr. Moves their contents under usr/ so
# that STAGING can lie over ROOT (overlayfs) without hiding those symlinks.
merge_usr() {
        local root=$1 staging=$2 d target
        for d in bin sbin lib lib32 lib64 libx32; do
                [ -d "$staging/$d" ] && [ ! -L "$staging/$d" ] || continue
                [ -L "$root/$d" ] || continue
                target=$(readlink "$root/$d")
                target=${target#/}
                mkdir -p "$staging/$target"
                cp -a "$staging/$d/." "$staging/$target/"
                rm -rf --one-file-system "${staging:?}/$d"
        done
}
