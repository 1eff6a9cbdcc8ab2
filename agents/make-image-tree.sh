#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-image-tree.sh OUTDIR BINARY NAME
#
# Builds a distroless agent image tree: the static BINARY as /usr/bin/NAME,
# and the empty directories systemd-nspawn needs as mount points when it runs
# the tree with --read-only (see src/runtime/image/image-policy.c), plus /shared, the
# target of [Volumes] SharedState=. Nothing else: no shell, no libraries, no
# /etc files. agent-runtime provision must accept it.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 OUTDIR BINARY NAME" >&2; exit 2; }
out=$1
bin=$2
name=$3

case $name in
        */* | "" | .*) echo "$0: bad program name '$name'" >&2; exit 2 ;;
esac

rm -rf "$out"
mkdir -p "$out"
for d in dev etc proc run shared sys tmp usr usr/bin workspace; do
        mkdir -m 0755 "$out/$d"
done
install -m 0755 "$bin" "$out/usr/bin/$name"
# The same tree digests the same wherever it is built.
chmod 0755 "$out"
