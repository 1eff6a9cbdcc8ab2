#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The exported seccomp profile means the same thing under another runtime.
# The probe runs twice in this VM: as agent@probe (nspawn, agent-init, the
# whole floor, as in case 31) and from an OCI bundle under crun whose
# config.json carries `agentctl export probe --format oci-seccomp` as its
# linux.seccomp, with what the Kubernetes and docker exports ask of a runtime:
# read-only root, uid 65534 in a user namespace, no capabilities,
# no_new_privs, the AppArmor profile agentcage-agent, tmpfs /tmp (noexec,
# nosuid, nodev) and /workspace, loopback only, memory and pids limits.
# The probe's own table of attempts is the expectation (the one case 31
# asserts row by row); here both runs must block every attempt, list the
# same attempts and, attempt by attempt, fail them with the same result
# (or differ only where the layers around the agent under nspawn decide
# first, each difference explained below).
PROBE_LIB_ONLY=1 . "$(dirname "$0")/30-probe-lib.sh"

name=probe
unit=agent@$name.service
container=agentcage-crun-parity
image=$(image_path probe) || bail "the probe image is not installed"
crun=$(command -v crun) || bail "crun is not installed in the VM image"
work=$(mktemp -d /var/tmp/crun-parity.XXXXXX)
trap 'forget_unit "$unit"; "$crun" delete -f "$container" >/dev/null 2>&1; rm -rf "$work"; _lib_cleanup' EXIT

write_agent "$name" <<DEF
[Agent]
Image=$image
Exec=/usr/bin/agent-probe
Environment=PROBE_MARKER=visible

[Lifecycle]
RuntimeMaxSec=15min
Restart=no

[Resources]
Memory=128M
Tasks=64

[Volumes]
Workspace=16M
Tmp=8M
DEF
reload
forget_unit "$unit"

# ---- under nspawn -------------------------------------------------------------
check "agent@probe starts" systemctl start "$unit"
check "the probe printed its report under nspawn" wait_log "$unit" '^\{"probe":"agentcage-probe"' 300
unit_log "$unit" | grep -E '\| (PASS|FAIL)$' >"$work/nspawn.table"
check "nspawn: the probe tried at least 30 escapes" test "$(wc -l <"$work/nspawn.table")" -ge 30
forget_unit "$unit"

# ---- under crun ---------------------------------------------------------------
check "agentctl exports the agent's seccomp profile" \
        bash -c "agentctl export $name --format oci-seccomp >'$work/profile.json'"
check_output "the profile is JSON with the EPERM default" '^SCMP_ACT_ERRNO 1$' \
        python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["defaultAction"], p["defaultErrnoRet"])' "$work/profile.json"

mkdir -p "$work/bundle"
# (check runs its command with stdin from /dev/null: the program is a file)
cat >"$work/make-config.py" <<'PY'
import json, sys
profile, rootfs, out = sys.argv[1:]
ro_nosuid = ["nosuid", "noexec", "nodev", "ro"]
config = {
    "ociVersion": "1.0.2",
    "root": {"path": rootfs, "readonly": True},
    "hostname": "probe",
    "process": {
        "terminal": False,
        "user": {"uid": 65534, "gid": 65534},
        "args": ["/usr/bin/agent-probe"],
        "env": ["PATH=/usr/bin", "PROBE_MARKER=visible"],
        "cwd": "/workspace",
        "noNewPrivileges": True,
        "apparmorProfile": "agentcage-agent",
        "capabilities": {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    },
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ro_nosuid},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "mode=1777", "size=8m"]},
        {"destination": "/workspace", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=16m"]},
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "mode=755", "size=1m"]},
    ],
    "linux": {
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "user", "cgroup")],
        "uidMappings": [{"containerID": 0, "hostID": 1000000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 1000000, "size": 65536}],
        "resources": {"memory": {"limit": 128 << 20, "swap": 128 << 20}, "pids": {"limit": 64}},
        "seccomp": json.load(open(profile)),
        "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
        "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
}
json.dump(config, open(out, "w"), indent=1)
PY
check "config.json is written from the exported profile" \
        python3 "$work/make-config.py" "$work/profile.json" "$image" "$work/bundle/config.json"
check "the bundle's seccomp is the exported profile, unchanged" python3 -c '
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["linux"]["seccomp"] == json.load(open(sys.argv[2])) else 1)' \
        "$work/bundle/config.json" "$work/profile.json"

"$crun" delete -f "$container" >/dev/null 2>&1
timeout 600 "$crun" run --bundle "$work/bundle" "$container" >"$work/crun.out" 2>"$work/crun.err" </dev/null
rc=$?
diag "crun exit status $rc" "$(tail -n 5 "$work/crun.err")"
check "under crun the probe ran and counted no failed expectation (exit 0)" test "$rc" -eq 0
grep -E '\| (PASS|FAIL)$' "$work/crun.out" >"$work/crun.table"
json=$(grep '^{"probe":"agentcage-probe"' "$work/crun.out" | tail -n 1)
[ -n "$json" ] || bail "no JSON report from the probe under crun"

has() { printf '%s\n' "$json" | grep -Eq -- "$1"; }
check "crun: it runs as uid 65534" has '"uid":65534,"euid":65534,"gid":65534,"egid":65534'
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        check "crun: $set is empty" has "\"$set\":\"0000000000000000\""
done
check "crun: no-new-privileges is set" has '"no_new_privs":1'
check "crun: a seccomp filter is in force" has '"seccomp":2'
check "crun: it is confined by agentcage-agent" has '"apparmor":"agentcage-agent( \(enforce\))?"'
check "crun: the only network interface is lo" has '"interfaces":\["lo"\]'
root_opts=$(json_mount_options "$json" /)
tmp_opts=$(json_mount_options "$json" /tmp)
check "crun: / is read-only" has_option "$root_opts" ro
for o in nosuid nodev noexec; do
        check "crun: /tmp is $o" has_option "$tmp_opts" "$o"
done

# ---- the parity table ---------------------------------------------------------
# ATTEMPT | EXPECTED | RESULT | PASS/FAIL, from both runs, side by side.
parity=$(python3 - "$work/nspawn.table" "$work/crun.table" <<'PY'
import sys
def rows(path):
    out = {}
    for line in open(path):
        cols = [c.strip() for c in line.split("|")]
        out[cols[0]] = (cols[2], cols[3])
    return out
n, c = rows(sys.argv[1]), rows(sys.argv[2])
print("%-40s | %-28s | %-28s" % ("ATTEMPT", "NSPAWN", "CRUN"))
for k in n.keys() | c.keys():
    a, b = n.get(k, ("-", "-")), c.get(k, ("-", "-"))
    mark = "" if a == b else "   <-- differs"
    print("%-40s | %-28s | %-28s%s" % (k, " ".join(a), " ".join(b), mark))
PY
)
diag "the parity table:" "$parity"
same_attempts() { diff <(cut -d'|' -f1 "$work/nspawn.table" | sed 's/ *$//' | sort) <(cut -d'|' -f1 "$work/crun.table" | sed 's/ *$//' | sort); }
check "both runs tried the same attempts" same_attempts
while IFS= read -r row; do
        attempt=$(printf '%s' "$row" | cut -d'|' -f1 | sed 's/[[:space:]]*$//')
        check "crun blocks it too: $attempt" bash -c '[[ $1 == *"| PASS" ]]' _ "$row"
done <"$work/crun.table"
while IFS= read -r row; do
        attempt=$(printf '%s' "$row" | cut -d'|' -f1 | sed 's/[[:space:]]*$//')
        check "nspawn blocks it: $attempt" bash -c '[[ $1 == *"| PASS" ]]' _ "$row"
done <"$work/nspawn.table"
# Results must be the same attempt by attempt, except where something
# around the agent under nspawn decides first; each such row must be one of
# these, and is shown:
#  - nspawn "killed by SYS", crun "EPERM": the unit's own SystemCallFilter=
#    (stacked on the agent's; the kernel takes the strictest action) kills,
#    while the exported profile does not allow the syscall, so it says EPERM
#    (checked against the profile);
#  - kill(1, SIGKILL): under nspawn PID 1 is agent-init, under crun the probe
#    itself (a PID namespace's init ignores SIGKILL from inside);
#  - chmod u+s on a /tmp file: the unit's RestrictSUIDSGID= refuses the chmod,
#    crun sets the bit on a nosuid /tmp; both meet "blocked or nosuid".
cat >"$work/compare.py" <<'PY'
import json, re, sys
def rows(path):
    out = {}
    for line in open(path):
        cols = [c.strip() for c in line.split("|")]
        out[cols[0]] = (cols[2], cols[3])
    return out
n, c = rows(sys.argv[1]), rows(sys.argv[2])
profile = json.load(open(sys.argv[3]))
allowed = {x for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for x in r["names"]}
same = unexplained = 0
for k in sorted(n):
    (rn, pn), (rc, pc) = n[k], c.get(k, ("-", "-"))
    if (rn, pn) == (rc, pc):
        same += 1
        continue
    name = re.match(r"[a-z_0-9]+", k).group(0)
    if rn == "killed by SYS" and rc == "EPERM" and name not in allowed:
        why = "the unit's filter kills; the profile does not allow %s: EPERM" % name
    elif k == "kill(1, SIGKILL)" and pn == pc == "PASS":
        why = "PID 1 is agent-init under nspawn, the probe itself under crun"
    elif k == "chmod u+s on a /tmp file" and pn == pc == "PASS" and rc == "set, but /tmp is nosuid":
        why = "RestrictSUIDSGID= refuses the chmod under nspawn; /tmp is nosuid under crun"
    else:
        why = "UNEXPLAINED"
        unexplained += 1
    print("%s: nspawn %s, crun %s (%s)" % (k, rn, rc, why))
print("%d of %d attempts end with the same result" % (same, len(n)))
sys.exit(1 if unexplained or same < 30 else 0)
PY
compare() { python3 "$work/compare.py" "$work/nspawn.table" "$work/crun.table" "$work/profile.json"; }
diag "where the results differ, and why:" "$(compare)"
check "every attempt ends the same under both, or differs only where the layers around nspawn decide first" compare
finish
