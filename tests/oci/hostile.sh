# SPDX-License-Identifier: LGPL-2.1-or-later
# Crafted hostile layers (sourced by test-oci-provision.sh). OUT is a
# directory outside the image that everyone may write to: were the unpacker
# to follow a path out of the tree, nothing (not its uid) would stop it, so
# an untouched OUT shows the tree held.
OUT=$OCI_DIR/outside
mkdir -p "$OUT"
chmod 1777 "$OUT"
echo secret >"$OUT/secret"
echo keep >"$OUT/keep-me"
out_state() { (cd "$OUT" && find . -printf '%p %n %s %m\n' | sort; cat secret keep-me); }
out_before=$(out_state)
rel=$(realpath --relative-to=/ "$OUT")
up=../../../../../../../../../..

hostile() { # hostile NAME EXPECT(accept|refuse) 'LAYER 1' ['LAYER 2' …]
        local name=$1 expect=$2 d
        shift 2
        d=$(oci_push "$(spec "h-$name" "$@")" "h/$name:v1") || { tap_result 1 "$name: pushed"; return; }
        provision "h$name" "docker://$reg/h/$name@$d"
        if [ "$expect" = accept ]; then
                check "$name: the image is accepted (neutralised)" [ "$rc" = 0 ]
        else
                check "$name: the image is refused" [ "$rc" != 0 ]
                check "$name: nothing of it is cached" test ! -e "$OCI_DIR/cache/sha256-${d#sha256:}.squashfs"
        fi
        check "$name: nothing outside the image changed" eval '[ "$(out_state)" = "$out_before" ]'
        root=$OCI_DIR/run/h$name/root
}

hostile dotdot accept "{\"path\":\"$up/$rel/escaped\",\"data\":\"x\"}"
check "dotdot: the entry landed inside the tree" test -f "$root/$rel/escaped"
unmount hdotdot
hostile absolute accept "{\"path\":\"$OUT/escaped\",\"data\":\"x\"}"
check "absolute: the entry landed inside the tree" test -f "$root/$rel/escaped"
unmount habsolute
hostile abslink accept "{\"path\":\"abs\",\"type\":\"symlink\",\"target\":\"$OUT\"},{\"path\":\"abs/escaped\",\"data\":\"x\"}"
unmount habslink
hostile rellink accept "{\"path\":\"rel\",\"type\":\"symlink\",\"target\":\"$up/$rel\"},{\"path\":\"rel/escaped\",\"data\":\"x\"}"
unmount hrellink
hostile link-layer2 accept "{\"path\":\"abs\",\"type\":\"symlink\",\"target\":\"$OUT\"}" '{"path":"abs/escaped","data":"x"}'
unmount hlink-layer2
hostile link-overwrite accept "{\"path\":\"abs\",\"type\":\"symlink\",\"target\":\"$OUT/secret\"}" '{"path":"abs","data":"overwritten"}'
unmount hlink-overwrite
hostile hardlink refuse "{\"path\":\"hl\",\"type\":\"hardlink\",\"target\":\"$OUT/secret\"}"
check "hardlink: the refusal says unpacking failed" has "unpacking its layers failed"
hostile hardlink-rel refuse "{\"path\":\"hl\",\"type\":\"hardlink\",\"target\":\"$up/$rel/secret\"}"
hostile hardlink-via-symlink refuse "{\"path\":\"abs\",\"type\":\"symlink\",\"target\":\"$OUT\"},{\"path\":\"hl\",\"type\":\"hardlink\",\"target\":\"abs/secret\"}"
check "no host file gained a link" eval '[ "$(stat -c %h "$OUT/secret")" = 1 ]'
hostile devices accept '{"path":"null","type":"chardev","major":1,"minor":3},{"path":"sda","type":"blockdev","major":8,"minor":0}'
check "devices: the character device became an empty regular file" eval 'test -f "$root/null" && ! test -s "$root/null"'
check "devices: the block device became an empty regular file" eval 'test -f "$root/sda" && ! test -b "$root/sda"'
check "devices: no device node anywhere in the image" eval '[ -z "$(find "$root" \( -type b -o -type c \) -print -quit)" ]'
unmount hdevices
hostile setuid refuse '{"path":"usr/bin/suid","data":"x","mode":2541}'
check "setuid: the refusal names the file" eval 'has "/usr/bin/suid" && has setuid'
hostile setgid refuse '{"path":"usr/bin/sgid","data":"x","mode":1517}'
check "setgid: the refusal names the file" eval 'has "/usr/bin/sgid" && has setgid'
hostile capability accept '{"path":"usr/bin/cap","data":"x","mode":493,"xattrs":{"security.capability":"0100000200200000000000000000000000000000"}}'
check "capability: the file carries no capability in the image" \
        python3 -c 'import os,sys
try: os.getxattr(sys.argv[1], "security.capability", follow_symlinks=False); sys.exit(1)
except OSError as e: sys.exit(0 if e.errno in (61, 95) else 1)' "$root/usr/bin/cap"
unmount hcapability
hostile whiteouts accept \
        '{"path":"etc/old","data":"old"},{"path":"etc/keep","data":"keep"},{"path":"opq","type":"dir"},{"path":"opq/gone","data":"x"}' \
        '{"path":"etc/.wh.old","data":""},{"path":"opq/.wh..wh..opq","data":""},{"path":"opq/new","data":"n"}'
check "whiteouts: the whited-out file is gone" test ! -e "$root/etc/old"
check "whiteouts: its neighbour stays" test -f "$root/etc/keep"
check "whiteouts: the opaque directory lost its lower content" test ! -e "$root/opq/gone"
check "whiteouts: and kept its own" test -f "$root/opq/new"
check "whiteouts: no whiteout marker is left in the image" eval '[ -z "$(find "$root" -name ".wh.*" -print -quit)" ]'
unmount hwhiteouts
hostile whiteout-escape accept '' "{\"path\":\"etc/.wh.$up/$rel/keep-me\",\"data\":\"\"}"
unmount hwhiteout-escape
hostile whiteout-via-symlink accept "{\"path\":\"abs\",\"type\":\"symlink\",\"target\":\"$OUT\"}" '{"path":"abs/.wh.keep-me","data":""}'
unmount hwhiteout-via-symlink
hostile owners accept '{"path":"usr/bin/own","data":"x","uid":1000,"gid":1000,"mode":511}'
check "owners: every file in the image is root's" eval '[ -z "$(find "$root" \( ! -uid 0 -o ! -gid 0 \) -print -quit)" ]'
unmount howners
