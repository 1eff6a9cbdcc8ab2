#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# agentctl pull, agentctl images [--json] and agentctl images --prune on a
# real cache made from oci-archive: files (no registry needed). Needs root.
#
#   test-oci-agentctl.sh AGENTCTL
set -u
agentctl=$1
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/../tap.sh"
check() { tap_check "$@"; }
has() { grep -qF -- "$1" <<<"$out"; }

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (the unpacking uid)"
        exit 0
fi

OCI_DIR=$(mktemp -d /tmp/test-oci-ctl.XXXXXX)
chmod 755 "$OCI_DIR"
trap 'rm -rf "$OCI_DIR"' EXIT
export AGENTCAGE_OCI_DIR=$OCI_DIR/cache AGENTCAGE_PATH=$OCI_DIR/defs AGENTCAGE_SCAN_HOOK=$OCI_DIR/none
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$OCI_DIR/policy.json"
export AGENTCAGE_OCI_POLICY=$OCI_DIR/policy.json
mkdir -p "$OCI_DIR/defs"

archive() { # archive NAME FILE-IN-IMAGE
        local layout=$OCI_DIR/$1.layout
        echo "[[$oci_base_entries,{\"path\":\"usr/bin/$2\",\"data\":\"x\",\"mode\":493}]]" >"$OCI_DIR/$1.json"
        python3 "$oci_here/mkimage.py" "$layout" v1 "$OCI_DIR/$1.json" >/dev/null
        skopeo --policy "$OCI_DIR/policy.json" copy -q "oci:$layout:v1" "oci-archive:$OCI_DIR/$1.tar:v1"
}
archive one agent-one
archive two agent-two
printf '[Agent]\nImage=oci-archive:%s/one.tar:v1\nExec=/usr/bin/agent-one\n' "$OCI_DIR" >"$OCI_DIR/defs/a1.agent"
printf '[Agent]\nImage=oci-archive:%s/one.tar:v1\nExec=/usr/bin/agent-one\n' "$OCI_DIR" >"$OCI_DIR/defs/a2.agent"
printf '[Agent]\nImage=oci-archive:%s/two.tar:v1\nExec=/usr/bin/agent-two\n' "$OCI_DIR" >"$OCI_DIR/defs/b.agent"
mkdir -p "$OCI_DIR/tree/usr"
printf '[Agent]\nImage=%s/tree\nExec=/usr/bin/x\n' "$OCI_DIR" >"$OCI_DIR/defs/local.agent"

out=$("$agentctl" images 2>&1)
check "an empty cache lists nothing" eval '[ $? = 0 ] && has "no images cached"'
out=$("$agentctl" pull a1 2>&1)
check "agentctl pull provisions ahead of a start" eval 'has "a1: oci-archive:$OCI_DIR/one.tar:v1 is $OCI_DIR/cache/sha256-"'
out=$("$agentctl" pull a2 2>&1)
check "pulling the same image for another agent uses the cache" has "is cached"
out=$("$agentctl" pull b 2>&1)
check "a second image is pulled" has "b: oci-archive:"
out=$("$agentctl" pull local 2>&1); rc=$?
check "pull of a local image says there is nothing to pull" eval '[ $rc = 2 ] && has "not a reference"'
out=$("$agentctl" pull nosuch 2>&1); rc=$?
check "pull of an undefined agent fails as unknown" [ $rc = 3 ]

out=$("$agentctl" images --json 2>&1)
check "images --json is valid JSON with two entries" \
        python3 -c 'import json,sys; v=json.loads(sys.argv[1]); assert len(v)==2, v' "$out"
check "each entry names the agents using it" \
        python3 -c 'import json,sys
v=json.loads(sys.argv[1]); a=sorted(tuple(e["agents"]) for e in v)
assert a==[("a1","a2"),("b",)], a
for e in v:
    assert e["size"]>0 and e["last_used"]>=e["created"]>0 and e["references"][0].startswith("oci-archive:"), e' "$out"
out=$("$agentctl" images 2>&1)
check "the table shows digest, agents and reference" eval 'has "a1,a2" && has "sha256:" && has "one.tar:v1"'

rm "$OCI_DIR/defs/b.agent"
out=$("$agentctl" images --prune 2>&1)
check "prune removes the image no definition uses" eval 'has "Removed sha256:" && has "two.tar"'
check "and keeps the one in use" eval '[ "$(ls "$OCI_DIR/cache" | grep -c "\.squashfs$")" = 1 ]'
out=$("$agentctl" images --json 2>&1)
check "one entry is left" python3 -c 'import json,sys; assert len(json.loads(sys.argv[1]))==1' "$out"
out=$("$agentctl" list --prune 2>&1); rc=$?
check "--prune is refused on other commands" [ $rc = 2 ]
rm "$OCI_DIR/defs/a1.agent" "$OCI_DIR/defs/a2.agent"
out=$("$agentctl" images --prune 2>&1)
check "the last unused image goes too" eval '[ -z "$(ls "$OCI_DIR/cache" | grep "\.squashfs$")" ]'
# What an interrupted pull leaves (old enough), and what a pull under way has.
stem=sha256-$(printf '%064d' 7)
mkdir -p "$OCI_DIR/cache/tmp/pull.old/bundle/rootfs" "$OCI_DIR/cache/tmp/pull.new"
ln -s /etc "$OCI_DIR/cache/tmp/pull.old/bundle/rootfs/etc"
: >"$OCI_DIR/cache/.$stem.squashfs.AbCdEf"
: >"$OCI_DIR/cache/$stem.json"
: >"$OCI_DIR/cache/.$stem.squashfs.new"
touch -d '2 days ago' "$OCI_DIR/cache/tmp/pull.old" "$OCI_DIR/cache/.$stem.squashfs.AbCdEf" "$OCI_DIR/cache/$stem.json"
out=$("$agentctl" images --prune 2>&1)
check "prune removes the leftovers of interrupted pulls" eval 'has "Removed 3 leftovers" && test ! -e "$OCI_DIR/cache/tmp/pull.old" && test ! -e "$OCI_DIR/cache/$stem.json"'
check "and keeps what a pull under way has" eval 'test -d "$OCI_DIR/cache/tmp/pull.new" && test -e "$OCI_DIR/cache/.$stem.squashfs.new"'
check "without following a symlink out of the work directory" test -f /etc/passwd
if id nobody >/dev/null 2>&1; then
        out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$agentctl" images --prune 2>&1); rc=$?
        check "images --prune needs root" [ $rc = 4 ]
fi

tap_finish
