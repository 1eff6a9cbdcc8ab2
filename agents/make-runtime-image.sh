#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-runtime-image.sh python|node OUTDIR SCRIPT
#
# Builds a distroless image tree for an agent written in Python or
# JavaScript from this system's own Debian packages (python3, nodejs): the
# interpreter, the shared libraries it links (as ldd resolves them), its
# standard library, the agent SCRIPT as /app/agent.py or /app/agent.js, and
# the empty mount points systemd-nspawn needs. No shell, no package manager,
# no /etc beyond what name resolution of numeric ids needs. The interpreter
# itself is refused by the approved-image policy unless the definition allows
# it with ImageAllow= (see agentcage.agent(5)).
set -eu

[ $# -eq 3 ] || { echo "usage: $0 python|node OUTDIR SCRIPT" >&2; exit 2; }
kind=$1 out=$2 script=$3

copy() { # copy PATH into the tree at the same place, keeping symlinks as they are
        for p in "$@"; do
                [ -e "$p" ] || [ -L "$p" ] || continue
                mkdir -p "$out$(dirname "$p")"
                cp -a "$p" "$out$p"
                if [ -L "$p" ]; then
                        t=$(readlink -f "$p")
                        [ "$t" = "$p" ] || copy "$t"
                fi
        done
}

copy_with_libs() { # copy BINARY and every library ldd lists for it
        copy "$1"
        ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' | while read -r lib; do
                copy "$lib"
        done
}

rm -rf "$out"
mkdir -p "$out"
for d in dev etc proc run shared sys tmp usr/bin usr/lib usr/lib64 workspace app; do
        mkdir -p -m 0755 "$out/$d"
done
# merged /usr: the loader is found as /lib64/ld-linux-x86-64.so.2
ln -s usr/lib "$out/lib"
ln -s usr/lib64 "$out/lib64"
ln -s usr/bin "$out/bin"

case $kind in
python)
        py=$(readlink -f /usr/bin/python3)
        ver=$(basename "$py")
        copy_with_libs "$py"
        # glibc loads libgcc_s at thread exit (pthread_cancel unwinding)
        copy /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
        copy "/usr/lib/$ver"
        # what an agent in a cage cannot use anyway: tests, GUI, installers
        rm -rf "$out/usr/lib/$ver/test" "$out/usr/lib/$ver/idlelib" "$out/usr/lib/$ver/tkinter" \
                "$out/usr/lib/$ver/ensurepip" "$out/usr/lib/$ver/lib2to3" "$out/usr/lib/$ver/turtledemo" \
                "$out/usr/lib/$ver/config-"* "$out/usr/lib/$ver/venv"
        find "$out/usr/lib/$ver" -name __pycache__ -prune -exec rm -rf {} +
        # extension modules (_ssl, _hashlib, …) link libraries of their own
        for so in "/usr/lib/$ver/lib-dynload/"*.so; do
                [ -e "$so" ] && copy_with_libs "$so"
        done
        install -m 0644 "$script" "$out/app/agent.py"
        ;;
node)
        copy_with_libs "$(readlink -f /usr/bin/node)"
        copy /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
        [ -d /usr/share/nodejs ] && copy /usr/share/nodejs
        install -m 0644 "$script" "$out/app/agent.js"
        ;;
*)
        echo "$0: kind must be python or node" >&2; exit 2 ;;
esac
# Numeric ids only: nothing in the cage resolves names.
printf 'root:x:0:0::/:/nonexistent\nnobody:x:65534:65534::/:/nonexistent\n' >"$out/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$out/etc/group"
chown -R 0:0 "$out"
chmod -R go-w "$out"
chmod 0755 "$out"
