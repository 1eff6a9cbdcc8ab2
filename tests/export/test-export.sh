#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# agentctl export on the fixture definitions (minimal, full, hostile, fetcher):
#  - kubernetes: YAML and JSON, validated by the npm package kubernetes-models
#    plus our strict checks (check-manifests.cjs), YAML read back by python3's
#    YAML parser too; deliberately broken manifests are rejected;
#  - the NetworkPolicy, exactly: deny-all for Network=none, deny-ingress for
#    Network=private, an allow-list for [Egress] (fetcher);
#  - oci-seccomp: the effective allow-list (defaults plus SystemCalls=);
#  - docker: the command line run by /bin/sh against a stand-in docker that
#    records its argv: hostile strings arrive as the same words;
#  - the errors: unknown agent, bad options, an Image= path without --image.
#
#     test-export.sh AGENTCTL SRC_DIR NPM_DIR PYTHON3 DEFAULT_PROFILE_JSON
#
# NPM_DIR gets kubernetes-models and yaml from tests/export/package-lock.json
# (npm ci, from the npm registry, cached by npm outside the source tree).
# Without node or npm the test fails: it is never skipped.
set -u

AGENTCTL=$1
SRC=$(cd "$2" && pwd) || exit 1
NPM_DIR=$(realpath -m "$3")
PYTHON=$4
DEFAULT_PROFILE=$5
n=0
failed=0
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export AGENTCAGE_PATH=$SRC/fixtures

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $1"
        sed 's/^/#   /' "$OUT/stdout" "$OUT/stderr" 2>/dev/null | tail -n 25
}
# t DESC CMD…: one TAP line from a command's status; its output is kept.
t() {
        local desc=$1
        shift
        if "$@" >"$OUT/stdout" 2>"$OUT/stderr"; then ok "$desc"; else not_ok "$desc"; fi
}
export_to() { # FILE ARGS…
        local f=$1
        shift
        "$AGENTCTL" export "$@" >"$f" 2>"$OUT/export.err"
}

# ---- the validators -------------------------------------------------------
setup_npm() {
        command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed (tools/ensure-deps)"; return 1; }
        [ -d "$NPM_DIR/node_modules/kubernetes-models" ] && [ -d "$NPM_DIR/node_modules/yaml" ] &&
                cmp -s "$SRC/package-lock.json" "$NPM_DIR/package-lock.json" && return 0
        mkdir -p "$NPM_DIR" && cp "$SRC/package.json" "$SRC/package-lock.json" "$NPM_DIR/" &&
                npm ci --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error
}
t "kubernetes-models and yaml are installed from the lock file" setup_npm
check() { node "$SRC/check-manifests.cjs" "$NPM_DIR" "$@"; }

# ---- kubernetes -----------------------------------------------------------
same_in_python_yaml() { # YAML JSON
        "$PYTHON" -c '
import json, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")))
items = json.load(open(sys.argv[2], encoding="utf-8"))["items"]
sys.exit(0 if docs == items else 1)' "$1" "$2"
}

declare -A network=([minimal]=none [full]=private [hostile]=none [fetcher]=egress)
for agent in minimal full hostile fetcher; do
        y=$OUT/$agent.yaml j=$OUT/$agent.json
        t "$agent: exported as YAML" export_to "$y" "$agent" --format kubernetes --image registry.example/agents/$agent:1
        t "$agent: exported as JSON" export_to "$j" "$agent" --format kubernetes --output json --image registry.example/agents/$agent:1
        t "$agent: kubernetes-models, the strict field list and every restricted rule accept it" \
                check "$y" "$j" "${network[$agent]}"
        t "$agent: python3's YAML parser reads the same objects as the JSON" same_in_python_yaml "$y" "$j"
        t "$agent: the YAML opens with what Kubernetes cannot express" \
                grep -q '^# What Kubernetes cannot express' "$y"
        t "$agent: the JSON carries it in an annotation" grep -q '"agentcage.io/not-expressed"' "$j"
done

for agent in minimal full fetcher; do
        net=${network[$agent]}
        check --mutate-all "$OUT/$agent.json" "$net" >"$OUT/mutations" 2>&1
        for m in $(check --list-mutations "$net"); do
                line=$(grep -E "^(rejected|ACCEPTED) $m(:|$)" "$OUT/mutations")
                if [[ $line == "rejected $m:"* ]]; then ok "$agent: a broken manifest is rejected: $line"; else
                        echo "$line" >"$OUT/stdout"; : >"$OUT/stderr"; not_ok "$agent: a broken manifest is rejected: $m"; fi
        done
done

pod_field() { # JSON PYTHON-EXPR EXPECTED
        "$PYTHON" -c '
import json, sys
pod = [o for o in json.load(open(sys.argv[1]))["items"] if o["kind"] == "Pod"][0]
got = eval(sys.argv[2], {"pod": pod, "c": pod["spec"]["containers"][0]})
print(repr(got))
sys.exit(0 if got == eval(sys.argv[3]) else 1)' "$@"
}
f=$OUT/full.json h=$OUT/hostile.json mi=$OUT/minimal.json
t "full: Capabilities= adds NET_BIND_SERVICE, nothing else" pod_field "$f" 'c["securityContext"]["capabilities"]' '{"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}'
t "minimal: no capability is added" pod_field "$mi" '"add" in c["securityContext"]["capabilities"]' False
t "full: User=1000 is runAsUser, runAsGroup and fsGroup" pod_field "$f" '[pod["spec"]["securityContext"][k] for k in ("runAsUser", "runAsGroup", "fsGroup")]' '[1000, 1000, 1000]'
t "minimal: the default user is 65534" pod_field "$mi" 'c["securityContext"]["runAsUser"]' 65534
t "full: RuntimeMaxSec=90min is activeDeadlineSeconds 5400" pod_field "$f" 'pod["spec"]["activeDeadlineSeconds"]' 5400
t "full: Restart=always is Always" pod_field "$f" 'pod["spec"]["restartPolicy"]' '"Always"'
t "hostile: Restart=no is Never" pod_field "$h" 'pod["spec"]["restartPolicy"]' '"Never"'
t "minimal: Restart=on-failure is OnFailure" pod_field "$mi" 'pod["spec"]["restartPolicy"]' '"OnFailure"'
t "full: Memory=1G and CPUQuota=50% are the limits" pod_field "$f" 'c["resources"]["limits"]' '{"cpu": "500m", "memory": "1Gi"}'
t "full: Workspace=64M and Tmp=16M are the emptyDir sizes" pod_field "$f" '[v["emptyDir"]["sizeLimit"] for v in pod["spec"]["volumes"] if "emptyDir" in v]' '["16Mi", "64Mi"]'
t "full: the secrets are one secret volume at /run/secrets, 0400, one item each" pod_field "$f" '[v["secret"] for v in pod["spec"]["volumes"] if "secret" in v]' '[{"secretName": "full-secrets", "defaultMode": 256, "items": [{"key": "token", "path": "token"}, {"key": "api.key", "path": "api.key"}]}]' 
t "full: /run/secrets is mounted read-only" pod_field "$f" '[m for m in c["volumeMounts"] if m["mountPath"] == "/run/secrets"]' '[{"name": "secrets", "mountPath": "/run/secrets", "readOnly": True}]'
t "full: HealthCheck= is the livenessProbe" pod_field "$f" 'c["livenessProbe"]' '{"exec": {"command": ["/usr/bin/coder", "--health"]}, "periodSeconds": 15, "failureThreshold": 4}'
t "full: Exec= is command and args" pod_field "$f" '[c["command"], c["args"]]' '[["/usr/bin/coder"], ["--serve", "--port", "80"]]'
t "full: SharedState= is a claim at /shared" pod_field "$f" '[v for v in pod["spec"]["volumes"] if v["name"] == "shared"]' '[{"name": "shared", "persistentVolumeClaim": {"claimName": "full-shared"}}]'
t "full: WorkingDirectory= is workingDir" pod_field "$f" 'c["workingDir"]' '"/workspace/src"'
t "hostile: every Exec word arrives unchanged" pod_field "$h" 'c["args"]' \
        '["it'"'"'s a \"test\"", "$(touch /tmp/pwned)", "`id`", "a  b", "- x: y", "{flow: [1]}", "a\u2028ls", "&anchor", "*alias", "yes", "null", "0x10", "~", "\u00e9"]'
t "hostile: the environment arrives unchanged" pod_field "$h" 'c["env"]' \
        '[{"name": "A", "value": "1"}, {"name": "Q", "value": "it'"'"'s \"q\""}, {"name": "D", "value": "$PATH"}, {"name": "N", "value": "line1 line2"}, {"name": "Y", "value": "no"}, {"name": "E", "value": ""}]'
netpol_is() { # JSON EXPECTED-PYTHON-EXPR: the NetworkPolicy, exactly
        "$PYTHON" -c '
import json, sys
np = [o for o in json.load(open(sys.argv[1]))["items"] if o["kind"] == "NetworkPolicy"][0]
want = eval(sys.argv[2])
if np != want:
    print(json.dumps(np, indent=1))
    sys.exit(1)' "$@"
}
fe=$OUT/fetcher.json fy=$OUT/fetcher.yaml
t "full: the NetworkPolicy of Network=private denies ingress only" netpol_is "$f" '{
 "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
 "metadata": {"name": "full-deny-ingress", "labels": {"agentcage.io/agent": "full"}},
 "spec": {"podSelector": {"matchLabels": {"agentcage.io/agent": "full"}}, "policyTypes": ["Ingress"]}}'
for agent in minimal hostile; do
        t "$agent: Network=none without [Egress] is still deny-all, no rule at all" netpol_is "$OUT/$agent.json" '{
 "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
 "metadata": {"name": "'$agent'-deny-all", "labels": {"agentcage.io/agent": "'$agent'"}},
 "spec": {"podSelector": {"matchLabels": {"agentcage.io/agent": "'$agent'"}}, "policyTypes": ["Ingress", "Egress"]}}'
done
t "fetcher: [Egress] is an allow-list: DNS to kube-dns, TCP 22, 443, 8443 to public addresses" netpol_is "$fe" '{
 "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
 "metadata": {"name": "fetcher-egress", "labels": {"agentcage.io/agent": "fetcher"}, "annotations": {
   "agentcage.io/egress-allow": "api.example.com:443 *.cdn.example.net:8443 mirror.example.org:8443 git.example.com:22",
   "agentcage.io/egress-deny": "bad.cdn.example.net:8443",
   "agentcage.io/egress-methods": "read-only",
   "agentcage.io/not-expressed": "host names are not enforced: this policy lets the Pod reach every public address on TCP ports 22, 443, 8443, not only the hosts of agentcage.io/egress-allow; agentcage.io/egress-deny and agentcage.io/egress-methods are not enforced at all. Enforcing them needs an egress proxy or gateway (then narrow this policy to it) or a CNI with FQDN policies."}},
 "spec": {"podSelector": {"matchLabels": {"agentcage.io/agent": "fetcher"}}, "policyTypes": ["Ingress", "Egress"],
  "egress": [
   {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
   {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
              "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4"]}},
           {"ipBlock": {"cidr": "::/0", "except": ["::/96", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
              "64:ff9b::/104", "64:ff9b::a00:0/104", "64:ff9b::6440:0/106", "64:ff9b::7f00:0/104", "64:ff9b::a9fe:0/112",
              "64:ff9b::ac10:0/108", "64:ff9b::c000:0/120", "64:ff9b::c0a8:0/112", "64:ff9b::e000:0/100", "64:ff9b::f000:0/100",
              "2002::/24", "2002:a00::/24", "2002:6440::/26", "2002:7f00::/24", "2002:a9fe::/32",
              "2002:ac10::/28", "2002:c000::/40", "2002:c0a8::/32", "2002:e000::/20", "2002:f000::/20"]}}],
    "ports": [{"protocol": "TCP", "port": 22}, {"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8443}]}]}}'
t "fetcher: the Pod names no proxy (HTTP_PROXY and the like are not set)" pod_field "$fe" '"env" in c' False
t "fetcher: the YAML header says what the egress policy allows" \
        grep -qx '# A NetworkPolicy cannot match host names, so fetcher-egress allows: TCP to ports 22, 443, 8443 on public' "$fy"
t "fetcher: the YAML header names the host patterns" \
        grep -qx '# Egress: \[Egress\] Allow=api.example.com:443 \*.cdn.example.net:8443 mirror.example.org:8443 git.example.com:22' "$fy"
t "fetcher: the YAML header lists Deny= as not expressible, with its patterns" \
        grep -qx '# - \[Egress\] Deny=: not expressible: .*(this agent: Deny=bad.cdn.example.net:8443)' "$fy"
t "fetcher: the YAML header lists Methods=read-only as not expressible" \
        grep -qx '# - \[Egress\] Methods=read-only: not expressible: .*(this agent: Methods=read-only)' "$fy"
t "minimal: without [Egress] the header has no egress paragraph and names no patterns" \
        eval '! grep -Eq "^# Egress:|this agent:" "$OUT/minimal.yaml"'

# ---- oci-seccomp ------------------------------------------------------------
profile_check() { # PROFILE DEFAULT EXTRA…
        "$PYTHON" -c '
import json, sys
p, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
extra = sys.argv[3:]
names = lambda prof: {n for r in prof["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]}
assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == 1, "default: EPERM"
assert p["architectures"] == d["architectures"]
got, base = names(p), names(d)
assert got - base == set(extra), "allowed beyond the defaults: %s" % sorted(got - base)
assert base <= got, "a default is missing"
assert [r for r in p["syscalls"] if "args" in r or r["action"] != "SCMP_ACT_ALLOW"] == \
       [r for r in d["syscalls"] if "args" in r or r["action"] != "SCMP_ACT_ALLOW"], "argument filters differ"
' "$@"
}
t "minimal: oci-seccomp exported" export_to "$OUT/minimal.seccomp.json" minimal --format oci-seccomp
t "minimal: the profile is the default allow-list, argument filters and EPERM default" profile_check "$OUT/minimal.seccomp.json" "$DEFAULT_PROFILE"
t "full: oci-seccomp exported" export_to "$OUT/full.seccomp.json" full --format oci-seccomp
t "full: the profile adds exactly SystemCalls= (mlockall munlockall; mlock is a default)" profile_check "$OUT/full.seccomp.json" "$DEFAULT_PROFILE" mlockall munlockall

# ---- docker -----------------------------------------------------------------
mkdir -p "$OUT/bin"
cat >"$OUT/bin/docker" <<'EOF'
#!/bin/sh
for a in "$@"; do printf '%s\0' "$a"; done
EOF
chmod +x "$OUT/bin/docker"
docker_argv() { # AGENT EXPECTED-PYTHON-LIST-EXPR [EXPORT-OPTION…]
        export_to "$OUT/$1.docker.sh" "$1" --format docker "${@:3}" || return 1
        PATH=$OUT/bin:$PATH sh "$OUT/$1.docker.sh" >"$OUT/$1.argv" || return 1
        "$PYTHON" -c '
import sys
argv = open(sys.argv[1], "rb").read().decode().split("\0")[:-1]
checks = eval(sys.argv[2])
for c in checks:
    if callable(c):
        assert c(argv), "failed: %s" % argv
' "$OUT/$1.argv" "$2"
}
pairs='lambda a, o, v: any(a[i] == o and a[i + 1] == v for i in range(len(a) - 1))'
t "hostile: the docker command gives docker exactly the hostile words" docker_argv hostile "[
 lambda a: a[0] == 'run',
 lambda a: a[a.index('tools') + 1:] == ['it\'s a \"test\"', '\$(touch /tmp/pwned)', '\`id\`', 'a  b', '- x: y', '{flow: [1]}', 'a\u2028ls', '&anchor', '*alias', 'yes', 'null', '0x10', '~', '\u00e9'],
 lambda a: ($pairs)(a, '--entrypoint', '/usr/bin/agent'),
 lambda a: ($pairs)(a, '-e', 'Q=it\'s \"q\"') and ($pairs)(a, '-e', 'D=\$PATH') and ($pairs)(a, '-e', 'E='),
 lambda a: ($pairs)(a, '--workdir', '/workspace/dir with space'),
 lambda a: ($pairs)(a, '--mount', 'type=bind,\"source=/etc/agents/secrets/a,b\"\"c\'d \$x\",target=/run/secrets/tok,readonly'),
 lambda a: '--rm' in a,
]"
t "minimal: the docker command carries the floor" docker_argv minimal "[
 lambda a: '--read-only' in a,
 lambda a: ($pairs)(a, '--cap-drop', 'ALL') and '--cap-add' not in a,
 lambda a: ($pairs)(a, '--security-opt', 'no-new-privileges'),
 lambda a: ($pairs)(a, '--security-opt', 'seccomp=minimal.seccomp.json'),
 lambda a: ($pairs)(a, '--security-opt', 'apparmor=agentcage-agent'),
 lambda a: ($pairs)(a, '--user', '65534:65534'),
 lambda a: ($pairs)(a, '--network', 'none'),
 lambda a: ($pairs)(a, '--tmpfs', '/tmp:size=104857600,noexec,nosuid,nodev'),
 lambda a: ($pairs)(a, '--tmpfs', '/workspace:size=524288000,nosuid,nodev'),
 lambda a: ($pairs)(a, '--memory', '536870912') and ($pairs)(a, '--memory-swap', '536870912'),
 lambda a: ($pairs)(a, '--cpus', '1.00') and ($pairs)(a, '--pids-limit', '256'),
 lambda a: ($pairs)(a, '--restart', 'on-failure:5'),
 lambda a: a[-1] == 'tools',
]"
t "full: the docker command adds NET_BIND_SERVICE, mounts the file secret, restarts always" docker_argv full "[
 lambda a: ($pairs)(a, '--cap-add', 'NET_BIND_SERVICE'),
 lambda a: ($pairs)(a, '--restart', 'always') and '--rm' not in a,
 lambda a: ($pairs)(a, '--mount', 'type=bind,\"source=/etc/agents/secrets/full-token\",target=/run/secrets/token,readonly'),
 lambda a: '--network' not in a,
 lambda a: ($pairs)(a, '--cpus', '0.50') and ($pairs)(a, '--pids-limit', '128') and ($pairs)(a, '--user', '1000:1000'),
 lambda a: a[-4:] == ['registry.example/agents/full:1', '--serve', '--port', '80'],
]" --image registry.example/agents/full:1
t "full: the docker header names the credential it cannot mount and the network difference" \
        grep -q '^# - secret api.key comes from the systemd credential full.api' "$OUT/full.docker.sh"
t "docker: the user namespace difference is stated" grep -q 'userns-remap' "$OUT/minimal.docker.sh"
t "fetcher: the docker command has no network, and its header says [Egress] is not carried" docker_argv fetcher "[
 lambda a: ($pairs)(a, '--network', 'none'),
 lambda a: not any('PROXY' in w for w in a),
]"
t "fetcher: the docker header says [Egress] is not carried" grep -q '^# - \[Egress\] is not carried' "$OUT/fetcher.docker.sh"

# ---- errors -------------------------------------------------------------------
status() { # WANT REGEX ARGS…: agentctl's status and a stderr line
        local want=$1 re=$2
        shift 2
        "$AGENTCTL" "$@" >"$OUT/stdout" 2>"$OUT/stderr"
        local rc=$?
        [ "$rc" -eq "$want" ] && grep -Eq -- "$re" "$OUT/stderr" && [ ! -s "$OUT/stdout" ]
}
t "an unknown agent: status 3" status 3 "No agent 'nope'" export nope --format docker
t "no --format: status 2" status 2 "needs --format" export minimal
t "a bad --format: status 2" status 2 "Invalid --format 'helm'" export minimal --format helm
t "--format twice: status 2" status 2 "given twice" export minimal --format docker --format docker
t "--output with docker: status 2" status 2 "applies to --format kubernetes only" export minimal --format docker --output json
t "a bad --output: status 2" status 2 "Invalid --output" export minimal --format kubernetes --output toml
t "an invalid name: status 2" status 2 "not a valid agent name" export ../x --format docker
t "an unknown option: status 2" status 2 "Unknown option" export minimal --format docker --bogus
t "a control character in --image: status 2" status 2 "Invalid --image" export minimal --format docker --image "$(printf 'a\nb')"
t "Image= a host path without --image: status 1, naming the key" status 1 "full.agent: \[Agent\] Image=/var/lib/agents/images/coder is a host path .*--image" export full --format kubernetes
t "a definition with errors: status 1, naming file, line, section and key" status 1 "broken.agent:7: \[Resources\] Memory" export broken --format kubernetes
t "agentctl export --help" "$AGENTCTL" export --help

echo "1..$n"
[ "$failed" -eq 0 ]
