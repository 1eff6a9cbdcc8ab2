# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the host-side image tests (tests/oci/*.sh) and the VM cases
# (tests/vm/e2e/4*.sh): a real registry (Debian's docker-registry) on a
# loopback port, images written by mkimage.py, pushed with skopeo, GPG keys.

oci_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# oci_registry_start DIR PORT: a registry keeping its data in DIR/registry.
oci_registry_start() {
        local dir=$1 port=$2
        mkdir -p "$dir/registry"
        cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/registry
http:
  addr: 127.0.0.1:$port
EOF
        docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
        oci_registry_pid=$!
        for _ in $(seq 100); do
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
                sleep 0.1
        done
        echo "# registry did not come up:" >&2
        sed 's/^/#   /' "$dir/registry.log" >&2
        return 1
}

oci_registry_stop() {
        [ -n "${oci_registry_pid:-}" ] || return 0
        kill "$oci_registry_pid" 2>/dev/null
        wait "$oci_registry_pid" 2>/dev/null
        oci_registry_pid=
}

# oci_setup_client DIR PORT: registries.conf marking the loopback registry
# as plain HTTP, a registries.d with file lookaside storage for signatures,
# and an accept-anything policy for pushing.
oci_setup_client() {
        local dir=$1 port=$2
        mkdir -p "$dir/registries.d" "$dir/sigstore"
        cat >"$dir/registries.conf" <<EOF
[[registry]]
location = "127.0.0.1:$port"
insecure = true
EOF
        cat >"$dir/registries.d/local.yaml" <<EOF
docker:
  127.0.0.1:$port:
    lookaside: file://$dir/sigstore
    lookaside-staging: file://$dir/sigstore
EOF
        echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$dir/policy-any.json"
        export AGENTCAGE_OCI_REGISTRIES_CONF=$dir/registries.conf AGENTCAGE_OCI_REGISTRIES_D=$dir/registries.d
}

oci_skopeo() {
        skopeo --policy "$OCI_DIR/policy-any.json" --registries-conf "$OCI_DIR/registries.conf" \
                --registries.d "$OCI_DIR/registries.d" "$@"
}

# oci_gpg_key HOME EMAIL: a throwaway key without passphrase; prints nothing,
# exports the public key to HOME/pub.gpg.
oci_gpg_key() {
        local home=$1 email=$2
        mkdir -p "$home"
        chmod 700 "$home"
        GNUPGHOME=$home gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
                --quick-gen-key "$email" ed25519 sign never 2>/dev/null
        GNUPGHOME=$home gpg --batch --quiet --export "$email" >"$home/pub.gpg"
}

# oci_push SPEC.json REPO:TAG [GNUPGHOME EMAIL]: builds the image, pushes it
# (signed if a key is given) and prints the manifest digest.
oci_push() {
        local spec=$1 dest=$2 home=${3:-} email=${4:-} layout
        layout=$(mktemp -d "$OCI_DIR/layout.XXXXXX")
        python3 "$oci_here/mkimage.py" "$layout" v1 "$spec" >/dev/null || return 1
        if [ -n "$home" ]; then
                GNUPGHOME=$home oci_skopeo copy -q --sign-by "$email" --digestfile "$layout.digest" \
                        "oci:$layout:v1" "docker://127.0.0.1:$OCI_PORT/$dest" >&2 || return 1
        else
                oci_skopeo copy -q --digestfile "$layout.digest" "oci:$layout:v1" \
                        "docker://127.0.0.1:$OCI_PORT/$dest" >&2 || return 1
        fi
        cat "$layout.digest"
}

# The directories every good image needs (the approved-image policy's
# mount points), as mkimage.py entries.
oci_base_entries='{"path":"usr","type":"dir"},{"path":"usr/bin","type":"dir"},{"path":"dev","type":"dir"},
{"path":"proc","type":"dir"},{"path":"sys","type":"dir"},{"path":"run","type":"dir"},{"path":"tmp","type":"dir"},
{"path":"workspace","type":"dir"},{"path":"etc","type":"dir"}'
