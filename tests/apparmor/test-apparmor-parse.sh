#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Compiles every AppArmor profile of agentcage with apparmor_parser, without
# loading it (-Q), without touching the cache (-K -T), as TAP. Each profile is
# compiled against the running kernel's features and against the two feature
# sets apparmor ships for vanilla and for out-of-tree-network kernels, so a
# rule the target kernels cannot take shows up here and not on a host.
#
# Usage: test-apparmor-parse.sh APPARMOR_PARSER PROFILE…
#        (APPARMOR_PARSER empty: apparmor is not installed; the test skips)

parser=$1
shift

if [ -z "$parser" ] || [ ! -x "$parser" ]; then
        echo "1..0 # SKIP apparmor_parser not found (install the apparmor package)"
        exit 0
fi

. "$(dirname "$0")/../tap.sh"
scratch=$(mktemp -d) || exit 1
trap 'rm -rf "$scratch"' EXIT

ok() { tap_result 0 "$1"; }
not_ok() { tap_result 1 "$1" "$(cat "$scratch/err")"; }

# Warnings that point at mistakes in a profile (not at what the build host's
# kernel happens to enforce) are errors.
werror="--Werror=abi --Werror=deprecated --Werror=format --Werror=missing --Werror=override --Werror=dangerous"

compile() {
        # $1: profile; rest: extra parser options
        profile=$1
        shift
        # shellcheck disable=SC2086
        "$parser" -Q -K -T $werror "$@" "$profile" >"$scratch/out" 2>"$scratch/err"
}

for profile in "$@"; do
        name=$(basename "$profile")

        if compile "$profile"; then
                ok "$name compiles (apparmor_parser -Q -K -T)"
        else
                not_ok "$name compiles (apparmor_parser -Q -K -T)"
        fi

        for features in /etc/apparmor.d/abi/kernel-5.4-vanilla /etc/apparmor.d/abi/kernel-5.4-outoftree-network; do
                [ -f "$features" ] || continue
                if compile "$profile" --kernel-features="$features"; then
                        ok "$name compiles for $(basename "$features") kernels"
                else
                        not_ok "$name compiles for $(basename "$features") kernels"
                fi
        done

        if "$parser" -N "$profile" >"$scratch/names" 2>"$scratch/err" && grep -qx "$name" "$scratch/names"; then
                ok "$name defines the profile $name"
        else
                not_ok "$name defines the profile $name"
        fi

        # The check must be able to fail: a copy with an invalid permission
        # ('z') in a rule is refused.
        sed 's/^\(  \/tmp\/\*\* \)rwkl,/\1rwklz,/' "$profile" >"$scratch/broken"
        if cmp -s "$profile" "$scratch/broken"; then
                not_ok "a corrupted copy of $name is refused (nothing to corrupt: no '/tmp/** rwkl,' rule)"
        elif compile "$scratch/broken"; then
                not_ok "a corrupted copy of $name is refused"
        else
                ok "a corrupted copy of $name is refused"
        fi
done

tap_finish
