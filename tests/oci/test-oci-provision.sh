#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Provisioning of Image= references against a real registry on this host:
# signatures under a trust policy, the approved-image policy on the pulled
# tree, crafted hostile layers, the scan hook, the cache (registry stopped,
# concurrent first pulls), oci-archive: and docker-archive:, the generator's
# refusal of a tag, and timings. Needs root (mounts, the unpacking uid).
#
#   test-oci-provision.sh AGENT-RUNTIME AGENT-GENERATOR
set -u
runtime=$1
generator=$2
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/../tap.sh"
check() { tap_check "$@"; }

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (loop mounts, the unpacking uid)"
        exit 0
fi
for t in docker-registry skopeo umoci gpg mksquashfs python3; do
        command -v "$t" >/dev/null || { echo "Bail out! $t is missing (tools/ensure-deps installs it)"; exit 1; }
done

OCI_DIR=$(mktemp -d /tmp/test-oci.XXXXXX)
chmod 755 "$OCI_DIR"
OCI_PORT=$((20000 + RANDOM % 20000))
export AGENTCAGE_OCI_DIR=$OCI_DIR/cache AGENTCAGE_RUNTIME_DIR=$OCI_DIR/run
export AGENTCAGE_SCAN_HOOK=$OCI_DIR/no-scan-hook
cleanup() {
        oci_registry_stop
        for h in "$OCI_DIR"/gpg-*; do GNUPGHOME=$h gpgconf --kill gpg-agent 2>/dev/null; done
        for m in "$OCI_DIR"/run/*/root "$OCI_DIR"/mnt; do
                mountpoint -q "$m" 2>/dev/null && umount "$m"
        done
        rm -rf "$OCI_DIR"
}
trap cleanup EXIT

oci_registry_start "$OCI_DIR" "$OCI_PORT" || { echo "Bail out! no registry"; exit 1; }
oci_setup_client "$OCI_DIR" "$OCI_PORT"
oci_gpg_key "$OCI_DIR/gpg-a" a@agentcage.test
oci_gpg_key "$OCI_DIR/gpg-b" b@agentcage.test
reg=127.0.0.1:$OCI_PORT

cat >"$OCI_DIR/policy-signed.json" <<EOF
{"default": [{"type": "reject"}],
 "transports": {
   "docker": {"$reg": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$OCI_DIR/gpg-a/pub.gpg"}]},
   "oci-archive": {"": [{"type": "insecureAcceptAnything"}]},
   "docker-archive": {"": [{"type": "insecureAcceptAnything"}]},
   "oci": {"": [{"type": "insecureAcceptAnything"}]}}}
EOF
export AGENTCAGE_OCI_POLICY=$OCI_DIR/policy-signed.json

spec() { # spec NAME 'ENTRIES OF LAYER 1' ['LAYER 2' …]
        local f=$OCI_DIR/$1.json first=1
        shift
        {
                printf '['
                for l in "$@"; do
                        [ $first = 1 ] && printf '[%s%s]' "$oci_base_entries" "${l:+,$l}" || printf ',[%s]' "$l"
                        first=0
                done
                printf ']\n'
        } >"$f"
        echo "$f"
}

provision() { # provision NAME REF: sets out and rc
        out=$("$runtime" provision --name="$1" --image="$2" 2>&1)
        rc=$?
}
unmount() { mountpoint -q "$OCI_DIR/run/$1/root" && umount "$OCI_DIR/run/$1/root"; rmdir "$OCI_DIR/run/$1/root" "$OCI_DIR/run/$1" 2>/dev/null; true; }
note() { grep -E "Refusing|Failed" <<<"$out" | head -2 | cut -c1-400 | sed 's/^/# /'; }
has() { grep -qF -- "$1" <<<"$out"; }
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

good=$(spec good '{"path":"usr/bin/agent","data":"#!agent\n","mode":493}')
d_signed=$(oci_push "$good" t/signed:v1 "$OCI_DIR/gpg-a" a@agentcage.test)
d_unsigned=$(oci_push "$(spec unsigned '{"path":"usr/bin/agent2","data":"x","mode":493}')" t/unsigned:v1)
d_other=$(oci_push "$(spec other '{"path":"usr/bin/agent3","data":"x","mode":493}')" t/other:v1 "$OCI_DIR/gpg-b" b@agentcage.test)
[ -n "$d_signed" ] && [ -n "$d_unsigned" ] && [ -n "$d_other" ] || { echo "Bail out! pushing the test images failed"; exit 1; }

# --- signatures ---------------------------------------------------------------
t0=$(now)
provision sig "docker://$reg/t/signed@$d_signed"
t1=$(now)
check "the image signed by the trusted key is accepted" [ "$rc" = 0 ]
check "its tree is mounted" test -f "$OCI_DIR/run/sig/root/usr/bin/agent"
stem=sha256-${d_signed#sha256:}
check "the cache holds it read-only as a squashfs file" test -f "$OCI_DIR/cache/$stem.squashfs"
check "the cache records the source reference" grep -qF "docker:\\/\\/$reg\\/t\\/signed@$d_signed" "$OCI_DIR/cache/$stem.json"
unmount sig
first_ms=$(ms "$t0" "$t1")

provision unsig "docker://$reg/t/unsigned@$d_unsigned"
check "an unsigned image is refused under a policy requiring signatures" [ "$rc" != 0 ]
note
check "the refusal names the trust policy and skopeo's reason" \
        eval 'has "the trust policy $OCI_DIR/policy-signed.json rejects it" && has "ignature"'
check "nothing of the unsigned image is cached" test ! -e "$OCI_DIR/cache/sha256-${d_unsigned#sha256:}.squashfs"
check "no unpacked tree is left behind" eval '[ -z "$(ls -A "$OCI_DIR/cache/tmp")" ]'

provision other "docker://$reg/t/other@$d_other"
check "an image signed by another key is refused" [ "$rc" != 0 ]
note
check "the refusal says the signature is not trusted" eval 'has "rejects it" && has "ignature"'
check "nothing of it is cached" test ! -e "$OCI_DIR/cache/sha256-${d_other#sha256:}.squashfs"

# The same digest under another repository: its signature was made for
# t/signed, not for t/copy. The cached entry must not stand in for the
# policy's verdict on a reference it was never accepted under.
oci_skopeo copy -q "docker://$reg/t/signed@$d_signed" "docker://$reg/t/copy:v1" 2>/dev/null
provision copy "docker://$reg/t/copy@$d_signed"
check "a cached digest under another repository still needs that repository's signature" \
        eval '[ "$rc" != 0 ] && has "rejects it"'
check "the refused reference is not recorded on the entry" eval '! grep -qF "t\\/copy" "$OCI_DIR/cache/$stem.json"'

# --- the rest under a policy accepting anything: the tree is what is tested -----
export AGENTCAGE_OCI_POLICY=$OCI_DIR/policy-any.json

d=$(oci_push "$(spec shell '{"path":"usr/bin/agent","data":"x","mode":493},{"path":"bin","type":"dir"},{"path":"bin/sh","data":"#!","mode":493}')" t/shell:v1)
provision shell "docker://$reg/t/shell@$d"
check "an image with a shell is refused" [ "$rc" != 0 ]
check "the refusal names /bin/sh" has "/bin/sh: a shell"
note
check "nothing of it is cached" test ! -e "$OCI_DIR/cache/sha256-${d#sha256:}.squashfs"

. "$(dirname "$0")/hostile.sh"

# --- the scan hook ----------------------------------------------------------------
cat >"$OCI_DIR/scan-hook" <<EOF
#!/bin/bash
echo "\$@" >"$OCI_DIR/scan-hook.args"
if [ -e "\$1/usr/bin/vulnerable" ]; then echo "CVE-2099-0001 in /usr/bin/vulnerable"; exit 3; fi
echo "scan clean"
EOF
chmod 755 "$OCI_DIR/scan-hook"
export AGENTCAGE_SCAN_HOOK=$OCI_DIR/scan-hook
d=$(oci_push "$(spec vuln '{"path":"usr/bin/vulnerable","data":"x","mode":493}')" t/vuln:v1)
provision vuln "docker://$reg/t/vuln@$d"
check "the scan hook's failure refuses the image" [ "$rc" != 0 ]
check "the refusal carries the scanner's output" eval 'has "scan hook $OCI_DIR/scan-hook failed (exit 3)" && has CVE-2099-0001'
check "nothing of it is cached" test ! -e "$OCI_DIR/cache/sha256-${d#sha256:}.squashfs"
d=$(oci_push "$(spec clean '{"path":"usr/bin/fine","data":"x","mode":493}')" t/clean:v1)
provision clean "docker://$reg/t/clean@$d"
check "a clean image passes the scan hook" [ "$rc" = 0 ]
check "the hook was given the unpacked tree, the reference and the digest" \
        eval 'read -r a b c <"$OCI_DIR/scan-hook.args" && [ "${a##*/}" = rootfs ] && [ "$b" = "docker://$reg/t/clean@$d" ] && [ "$c" = "$d" ]'
unmount clean
chmod 777 "$OCI_DIR/scan-hook"
d=$(oci_push "$(spec clean2 '{"path":"usr/bin/fine2","data":"x","mode":493}')" t/clean2:v1)
provision clean2 "docker://$reg/t/clean2@$d"
check "a scan hook others could change refuses the image" eval '[ "$rc" != 0 ] && has "scan hook"'
export AGENTCAGE_SCAN_HOOK=$OCI_DIR/no-scan-hook

# --- concurrent first pulls of one digest ------------------------------------------
d=$(oci_push "$(spec conc '{"path":"usr/bin/c","data":"x","mode":493}')" t/conc:v1)
pids=()
for i in 1 2 3; do
        "$runtime" provision --name="conc$i" --image="docker://$reg/t/conc@$d" >"$OCI_DIR/conc$i.log" 2>&1 &
        pids+=($!)
done
wait "${pids[@]}"
out=$(cat "$OCI_DIR"/conc?.log)
check "three concurrent first starts all succeed" eval '[ "$(grep -c "^Provisioned" <<<"$out")" = 3 ]'
check "the image was pulled once" eval '[ "$(grep -c "^Pulling" <<<"$out")" = 1 ]'
for i in 1 2 3; do unmount "conc$i"; done

# --- archives ------------------------------------------------------------------
layout=$(mktemp -d "$OCI_DIR/arch.XXXXXX")
python3 "$oci_here/mkimage.py" "$layout" v1 "$(spec arch '{"path":"usr/bin/arch","data":"x","mode":493}')" >/dev/null
oci_skopeo copy -q "oci:$layout:v1" "oci-archive:$OCI_DIR/image.tar:v1"
oci_skopeo copy -q "oci:$layout:v1" "docker-archive:$OCI_DIR/docker.tar:agentcage/arch:v1"
export AGENTCAGE_OCI_POLICY=$OCI_DIR/policy-signed.json
provision oa "oci-archive:$OCI_DIR/image.tar:v1"
check "an oci-archive: file is provisioned" eval '[ "$rc" = 0 ] && test -f "$OCI_DIR/run/oa/root/usr/bin/arch"'
unmount oa
provision oa "oci-archive:$OCI_DIR/image.tar:v1"
check "a second start of it comes from the cache" eval '[ "$rc" = 0 ] && has "is cached"'
unmount oa
provision da "docker-archive:$OCI_DIR/docker.tar"
check "a docker-archive: file is provisioned" eval '[ "$rc" = 0 ] && test -f "$OCI_DIR/run/da/root/usr/bin/arch"'
unmount da
provision ol "oci:$layout:v1"
check "an oci: layout is provisioned" eval '[ "$rc" = 0 ] && test -f "$OCI_DIR/run/ol/root/usr/bin/arch"'
unmount ol

# --- the registry stopped: the signed image from the cache -----------------------
oci_registry_stop
t0=$(now)
provision sig "docker://$reg/t/signed@$d_signed"
t1=$(now)
check "with the registry stopped the signed image starts from the cache" eval '[ "$rc" = 0 ] && has "is cached"'
unmount sig
cached_ms=$(ms "$t0" "$t1")
provision unsig "docker://$reg/t/unsigned@$d_unsigned"
check "an uncached image fails with the registry stopped" [ "$rc" != 0 ]

# --- a read-only cache, as inside an agent's sandbox (ProtectSystem=strict) ----------
ro() { # ro NAME REF: provision in a mount namespace where the cache is read-only
        out=$(unshare -m --propagation private sh -c 'mount --bind -o ro "$1" "$1" && exec "$2" provision --name="$3" --image="$4"' \
                sh "$OCI_DIR/cache" "$runtime" "$1" "$2" 2>&1)
        rc=$?
}
ro rosig "docker://$reg/t/signed@$d_signed"
check "a cached registry image provisions from a read-only cache" eval '[ "$rc" = 0 ] && has "is cached"'
ro rooa "oci-archive:$OCI_DIR/image.tar:v1"
check "a cached archive provisions from a read-only cache without skopeo" eval '[ "$rc" = 0 ] && ! has Pulling'
ro rounsig "docker://$reg/t/unsigned@$d_unsigned"
check "an uncached image in a read-only cache says to pull it first" eval '[ "$rc" != 0 ] && has "agentctl pull"'
echo changed >>"$OCI_DIR/image.tar"
ro rooa2 "oci-archive:$OCI_DIR/image.tar:v1"
check "a changed archive is not taken for the cached one" eval '[ "$rc" != 0 ] && has "agentctl pull"'

# --- a tag without digest is refused at generation ------------------------------------
mkdir -p "$OCI_DIR/defs" "$OCI_DIR/gen"
printf '[Agent]\nImage=docker://%s/t/signed:v1\nExec=/usr/bin/agent\n' "$reg" >"$OCI_DIR/defs/tagged.agent"
printf '[Agent]\nImage=docker://%s/t/signed@%s\nExec=/usr/bin/agent\n' "$reg" "$d_signed" >"$OCI_DIR/defs/pinned.agent"
out=$(AGENTCAGE_PATH=$OCI_DIR/defs "$generator" "$OCI_DIR/gen" "$OCI_DIR/gen" "$OCI_DIR/gen" 2>&1)
check "the generator refuses a tag without digest, saying why" \
        eval 'has "Image" && has "pinned by digest" && test ! -e "$OCI_DIR/gen/agent@tagged.service"'
check "the generator accepts the pinned reference" test -e "$OCI_DIR/gen/agent@pinned.service"
check "the unit passes the reference to provision" grep -qF -- "--image=docker://$reg/t/signed@$d_signed" "$OCI_DIR/gen/agent@pinned.service"

# --- timing: against a local tree -----------------------------------------------------
tree=$OCI_DIR/tree
mkdir -p "$tree"/{usr/bin,dev,proc,sys,run,tmp,workspace,etc}
echo x >"$tree/usr/bin/agent"
t0=$(now)
provision tree "$tree"
t1=$(now)
check "the local tree provisions" [ "$rc" = 0 ]
unmount tree
echo "# timing: first start (pull + unpack + policy + squashfs) ${first_ms} ms, cached ${cached_ms} ms, local tree $(ms "$t0" "$t1") ms"
check "nothing is left in the cache's work directory" eval '[ -z "$(ls -A "$OCI_DIR/cache/tmp")" ]'
check "no temporary image file is left" eval '[ -z "$(ls -A "$OCI_DIR/cache" | grep "^\.")" ]'

tap_finish
