#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# A running agent's workspace and secrets, seen from the host: a dm-crypt
# mapping exists; what the agent writes to /workspace is plaintext above
# dm-crypt and never in the RAM behind it (the loop device over the memfd);
# the key is in no file, not in the journal, in no environment or command
# line; the secrets (a host file and a systemd credential) are staged in a
# ramfs, 0400, owned by the agent's host uid; the agent's uid maps into the
# leased range. Then it stops and nothing is left.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

name=e2e-vol-run
unit=agent@$name.service
modprobe dm_crypt 2>/dev/null

# What the demo agent writes into /workspace/demo-agent.log: known plaintext.
sentinel='demo-agent: tick'

install -d -m 0700 /etc/agents/secrets /etc/credstore
secret_value=e2e-file-secret-4b8f0a
cred_value=e2e-credential-9c31d7
printf '%s' "$secret_value" >/etc/agents/secrets/e2e-token
chmod 0600 /etc/agents/secrets/e2e-token
printf '%s' "$cred_value" >/etc/credstore/e2e-vol-run.cred
chmod 0600 /etc/credstore/e2e-vol-run.cred
trap 'forget_unit "$unit"; rm -f /etc/agents/secrets/e2e-token /etc/credstore/e2e-vol-run.cred; _lib_cleanup' EXIT

write_volume_agent "$name" "--interval=1" "[Secrets]
token=/etc/agents/secrets/e2e-token
cred=cred:e2e-vol-run.cred"
reload
forget_unit "$unit"

cursor=$(journal_cursor)
check "the agent starts" systemctl start "$unit" || diag "$(status_of "$unit")"
ws=$RUNTIME_DIR/$name/workspace
sec=$RUNTIME_DIR/$name/secrets
check "the agent writes to its workspace" wait_in_unit "$unit" "$ws/demo-agent.log" 60
sleep 2

# --- the mapping ------------------------------------------------------------------
check_output "dmsetup ls shows the mapping" "^agentcage-$name[[:space:]]" dmsetup ls
check_output "it is dm-crypt with aes-xts-plain64" " crypt aes-xts-plain64 " dmsetup table "agentcage-$name"
check_output "the workspace is mounted nosuid,nodev,noexec" \
        "(^|,)nosuid,nodev,noexec(,|$)" in_unit "$unit" findmnt -n -o OPTIONS --mountpoint "$ws"
check_output "the workspace is ext4 on the mapping" "^/dev/mapper/agentcage-$name ext4$|^/dev/dm-[0-9]+ ext4$" \
        in_unit "$unit" findmnt -n -o SOURCE,FSTYPE --mountpoint "$ws"
loop=$(loop_devices_of "$name")
check "one loop device is backed by the agent's memfd" test "$(printf '%s' "$loop" | grep -c .)" -eq 1

# --- plaintext above, ciphertext below ------------------------------------------------
in_unit "$unit" sync
check_output "the agent wrote its lines" "^$sentinel [0-9]+" in_unit "$unit" cat "$ws/demo-agent.log"
check "control: the lines are readable through the mapping" \
        grep -q -a -F "$sentinel" "/dev/mapper/agentcage-$name"
if [ -n "$loop" ]; then
        blockdev --flushbufs "$loop" 2>/dev/null
        check "the lines are not in the RAM behind the mapping ($loop)" \
                bash -c "! grep -q -a -F '$sentinel' '$loop'"
else
        skip "the lines are not in the RAM behind the mapping" "no loop device found"
fi

# --- the key ---------------------------------------------------------------------------
# The key stays in this shell's memory: the searches get it on a pipe, never
# on a command line (where the last check would find it).
key=$(dmsetup table --showkeys "agentcage-$name" 2>/dev/null | awk '{ print $5 }')
key_in_files() { grep -r -D skip -l -a -F -i -f <(printf '%s\n' "$key") /run /etc /var /tmp /root 2>/dev/null || true; }
key_in_journal() { journalctl -b --no-pager -o cat | grep -a -i -F -f <(printf '%s\n' "$key") | head -3; }
key_in_procs() { cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -a -i -F -f <(printf '%s\n' "$key") | head -3; }
check "the kernel holds a 512-bit key" test "${#key}" -eq 128
if [ "${#key}" -eq 128 ]; then
        check_no_output "the key is in no file under /run, /etc, /var, /tmp, /root" . key_in_files
        check_no_output "the key is not in the journal" . key_in_journal
        check_no_output "the key is in no process's environment or command line" . key_in_procs
fi

# --- secrets -----------------------------------------------------------------------------
base=$(sed -n 's/^USERNS_BASE=\([0-9]*\)$/\1/p' "$RUNTIME_DIR/$name/agent.state" 2>/dev/null)
owner=$((${base:-0} + 65534))
check_output "the secrets are a ramfs" "^ramfs$" in_unit "$unit" findmnt -n -o FSTYPE --mountpoint "$sec"
check_output "the secrets directory is 0500, owned by the agent" "^500 $owner$" in_unit "$unit" stat -c '%a %u' "$sec"
check_output "the file secret is 0400, owned by the agent" "^400 $owner $owner$" in_unit "$unit" stat -c '%a %u %g' "$sec/token"
check_output "the credential is 0400, owned by the agent" "^400 $owner $owner$" in_unit "$unit" stat -c '%a %u %g' "$sec/cred"
check_output "the file secret is the source's content" "^$secret_value\$" in_unit "$unit" cat "$sec/token"
check_output "the credential arrived (configure sees \$CREDENTIALS_DIRECTORY)" "^$cred_value\$" in_unit "$unit" cat "$sec/cred"
check "no secret value in the journal" \
        bash -c "! journalctl -b --no-pager -o cat | grep -q -F -e '$secret_value' -e '$cred_value'"

# --- user namespace ----------------------------------------------------------------------
check_output "agent.state carries the leased range" '^USERNS_BASE=[0-9]+$' cat "$RUNTIME_DIR/$name/agent.state"
check "the range lies in systemd's container range" \
        test "${base:-0}" -ge $((0x00080000)) -a "${base:-0}" -le $((0x6FFF0000)) -a $((${base:-1} % 65536)) -eq 0
check "the lease file holds the agent's range" test "$(lease_of "$name")" = "$(printf '0x%08x' "${base:-0}")"
check_output "nspawn runs with exactly that range" "--private-users=${base:-x}:65536" \
        sed 's/\x0/ /g' "/proc/$(systemctl show -p MainPID --value "$unit")/cmdline"
check_output "host-side, the agent's files belong to BASE+65534" "^$owner$" in_unit "$unit" stat -c %u "$ws/demo-agent.log"

# --- and gone ------------------------------------------------------------------------------
forget_unit "$unit"
check "after stop nothing is left" nothing_left "$name"
check_output "recycle logged what it scrubbed" "Deactivated dm-crypt mapping agentcage-$name" \
        journal_after "$cursor" -u "$unit" -o cat
finish
