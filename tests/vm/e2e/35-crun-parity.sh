#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# The exported seccomp profile means the same thing under another runtime.
# The probe runs twice in this VM: as agent@probe (nspawn, agent-init, the
# whole floor, as in case 31) and from an OCI bundle under crun whose
# config.json carries `agentctl export probe --format oci-seccomp` as its
# linux.seccomp, unchanged, with what the Kubernetes and docker exports ask of
# a runtime: uid 65534 in a user namespace, no capabilities, no_new_privs,
# read-only root, the AppArmor profile agentcage-agent, tmpfs /tmp (noexec,
# nosuid, nodev) and /workspace, loopback only, memory and pids limits.
#
# What is compared is what the profile decides: the attempts whose syscall
# the profile refuses (the "[policy errno]" rows and the other never-allowed
# calls, the socket families, W^X, personality, clone3, memfd_create,
# pkey_alloc, a foreign architecture). Those must end with the same result
# under both, attempt by attempt, with one exception that the OCI format
# itself imposes and that is checked, not waved through: a foreign-
# architecture call (i386 int 0x80). agentcage's own filter refuses it with
# EPERM (SCMP_FLTATR_ACT_BADARCH); an OCI profile has no field for the action
# on an architecture it does not list, and crun leaves libseccomp's default,
# which kills the caller with SIGSYS. Listing SCMP_ARCH_X86 would be worse:
# crun applies every rule to every listed architecture, so the i386 table
# (socketcall, mmap2, ...) would be allowed, with argument filters that do
# not read the same there. Both block the call; only the way differs.
# Every other attempt depends on the runtime around the agent (who PID 1 is,
# mount options, the user namespace) and is shown side by side, not compared:
# under crun the probe is its own PID 1, so the rows aimed at PID 1 mean
# something else there.
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
# The exit status counts the probe's failed expectations; under crun the
# rows aimed at PID 1 (agent-init under nspawn) hit the probe itself, so it
# is not 0 there: the comparison below is what counts.
check "under crun the probe ran to its end (exit status: failed expectations, below 126)" test "$rc" -lt 126
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
# (check runs its command with stdin from /dev/null: the program is a file)
cat >"$work/compare.py" <<'PY'
"""nspawn.table crun.table profile.json [--table]

Rows "ATTEMPT | EXPECTED | RESULT | PASS/FAIL" from both runs. A row is
decided by the profile when its attempt is one of PROFILE below and the
syscall it names is not allowed unconditionally by the profile (checked
here, so that a row cannot be counted as the profile's when the profile
allows the call). Prints the side-by-side table (--table) or the
comparison; exits 1 when a profile row differs unexplained, a profile row
is missing from either run, or fewer than 40 profile rows were compared."""
import json, re, sys

# ATTEMPT regex -> the syscall the profile decides it by (None: the socket
# rules, whose family filter is checked by the row's expectation).
PROFILE = [
    (r"^(\w+) \[policy errno\]$", None),
    (r"^socket(pair)?\(", "socket"),
    (r"^pkey_alloc ", "pkey_alloc"), (r"^clone3 ", "clone3"), (r"^memfd_create$", "memfd_create"),
    (r"^mmap\(PROT_(WRITE|READ)\|PROT_EXEC\)$", "mmap"), (r"^mprotect\(", "mprotect"),
    (r"^personality\(", "personality"), (r"^setuid\(0\)$", "setuid"),
    (r"^i386 getpid via int 0x80$", "i386"),
    # Not "setns into PID 1's mount ns": it opens /proc/1/ns/mnt first, which
    # is agent-init's (another uid) under nspawn and the probe's own under crun.
    (r"^unshare\(", "unshare"), (r"^clone\(CLONE_NEWUSER\)$", "clone"),
    (r"^ptrace\(", "ptrace"), (r"^process_vm_readv\(", "process_vm_readv"), (r"^bpf\(", "bpf"),
    (r"^perf_event_open$", "perf_event_open"), (r"^keyctl\(", "keyctl"), (r"^add_key$", "add_key"),
    (r"^kexec_load$", "kexec_load"), (r"^init_module$", "init_module"), (r"^finit_module$", "finit_module"),
    (r"^io_uring_setup$", "io_uring_setup"), (r"^userfaultfd\(", "userfaultfd"),
    (r"^open_by_handle_at$", "open_by_handle_at"), (r"^mount tmpfs", "mount"), (r"^umount2 ", "umount2"),
    (r"^pivot_root$", "pivot_root"), (r"^chroot ", "chroot"), (r"^sethostname$", "sethostname"),
]

def rows(path):
    # From the right: an attempt's name may hold "|" (PROT_WRITE|PROT_EXEC).
    out = {}
    for line in open(path):
        cols = [c.strip() for c in line.rsplit("|", 3)]
        if len(cols) != 4 or cols[3] not in ("PASS", "FAIL"):
            sys.exit("%s: not a row: %s" % (path, line.rstrip()))
        out[cols[0]] = (cols[2], cols[3])
    return out

def decided_by(attempt, plain_allowed):
    for rx, name in PROFILE:
        m = re.match(rx, attempt)
        if not m:
            continue
        name = name or m.group(1)
        if name in ("socket", "i386") or name not in plain_allowed:
            return name
        return "ALLOWED " + name
    return None

n, c = rows(sys.argv[1]), rows(sys.argv[2])
profile = json.load(open(sys.argv[3]))
plain = {x for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args") for x in r["names"]}
native_only = profile["architectures"] == ["SCMP_ARCH_X86_64"]
order = list(n) + [k for k in c if k not in n]

if "--table" in sys.argv:
    print("%-40s | %-8s | %-32s | %-32s" % ("ATTEMPT", "DECIDED", "NSPAWN", "CRUN"))
    for k in order:
        a, b = n.get(k, ("-", "-")), c.get(k, ("-", "-"))
        who = decided_by(k, plain)
        mark = "" if a == b else "  <-- differs"
        print("%-40s | %-8s | %-32s | %-32s%s" % (k, "profile" if who else "runtime", " ".join(a), " ".join(b), mark))
    sys.exit(0)

compared = same = bad = 0
for k in order:
    who = decided_by(k, plain)
    if not who:
        continue
    compared += 1
    if who.startswith("ALLOWED"):
        print("%s: counted as the profile's, but the profile allows %s" % (k, who[8:]))
        bad += 1
        continue
    if k not in n or k not in c:
        print("%s: missing under %s" % (k, "nspawn" if k not in n else "crun"))
        bad += 1
        continue
    (rn, pn), (rc, pc) = n[k], c[k]
    if (rn, pn) == (rc, pc):
        same += 1
        continue
    if who == "i386" and rn == "EPERM" and pn == "PASS" and rc in ("killed by signal 31", "killed by SYS") and native_only:
        print("%s: nspawn %s, crun %s: blocked by both; the profile lists only SCMP_ARCH_X86_64 and OCI has no "
              "action for other architectures, so crun's filter kills (libseccomp's default) where agentcage's "
              "refuses with EPERM" % (k, rn, rc))
        continue
    print("%s: nspawn %s %s, crun %s %s: UNEXPLAINED" % (k, rn, pn, rc, pc))
    bad += 1
print("%d attempts decided by the profile, %d with the same result under nspawn and crun" % (compared, same))
sys.exit(1 if bad or compared < 40 else 0)
PY
compare() { python3 "$work/compare.py" "$work/nspawn.table" "$work/crun.table" "$work/profile.json" "$@"; }
diag "nspawn and crun, side by side (DECIDED: by the profile, compared; by the runtime, shown):" "$(compare --table)"
diag "the comparison:" "$(compare)"
check "every attempt the profile decides ends the same under nspawn and crun (the i386 one: blocked by both, killed under crun, checked)" compare
check "nspawn: every attempt was blocked (as case 31 asserts)" bash -c "! grep -q '| FAIL\$' '$work/nspawn.table'"
finish
