#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# A running agent's workspace and secrets, seen from the host: a dm-crypt
# mapping exists, what the agent writes to /workspace is plaintext only above
# dm-crypt and never in the RAM behind it (the loop device over the memfd),
# the key is in no file and not in the journal, the secrets (a host file and
# a systemd credential) arrive 0400 owned by the agent, and the agent's uid
# maps to the leased range. Then it stops and nothing is left.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

name=e2e-vol-run
unit=agent@$name.service
build_volume_image || bail "cannot build the test image"
modprobe dm_crypt 2>/dev/null

# The agent writes the sentinel through tr, so the exact string is in no
# file, unit or command line: only in what the agent writes. (The script
# avoids '$' and '%', which mean something in unit files.)
sentinel=AGENTCAGE-SENTINEL-7d1e9c2b5a

install -d -m 0700 /etc/agents/secrets /etc/credstore
secret_value=e2e-file-secret-4b8f0a
cred_value=e2e-credential-9c31d7
printf '%s' "$secret_value" >/etc/agents/secrets/e2e-token
chmod 0600 /etc/agents/secrets/e2e-token
printf '%s' "$cred_value" >/etc/credstore/e2e-cred
chmod 0600 /etc/credstore/e2e-cred
trap 'rm -f /etc/agents/secrets/e2e-token /etc/credstore/e2e-cred; _lib_cleanup' EXIT

write_volume_agent "$name" \
        "echo AGENTCAGE_SENTINEL_7d1e9c2b5a | tr _ - >/workspace/sentinel; sync; id -u >/workspace/uid; ls -ln /run/secrets >/workspace/secret-modes; cat /run/secrets/token >/workspace/token-copy; cat /run/secrets/cred >/workspace/cred-copy; echo done >/workspace/ready; sleep 600" \
        "[Secrets]
token=/etc/agents/secrets/e2e-token
cred=cred:e2e-cred"
reload

cursor=$(journal_cursor)
check "the agent starts" systemctl start "$unit" || { journalctl -u "$unit" --no-pager | tail -30 | sed 's/^/# /'; }
check "the agent finished writing" wait_file "$RUNTIME_DIR/$name/workspace/ready" 120
ws=$RUNTIME_DIR/$name/workspace

# --- the mapping --------------------------------------------------------------
check_output "dmsetup ls shows the mapping" "^agentcage-$name[[:space:]]" dmsetup ls
check_output "it is dm-crypt with aes-xts-plain64" " crypt aes-xts-plain64 " dmsetup table "agentcage-$name"
check_output "the workspace is ext4, nosuid,nodev,noexec" \
        "nosuid,nodev,noexec" findmnt -n -o OPTIONS,FSTYPE --target "$ws"
check_output "the workspace is the mapping" "/dev/mapper/agentcage-$name|/dev/dm-" findmnt -n -o SOURCE --target "$ws"
loop=$(loop_devices_of "$name")
check "one loop device is backed by the agent's memfd" test "$(echo "$loop" | grep -c .)" -eq 1

# --- plaintext above, ciphertext below ------------------------------------------
sync -f "$ws/sentinel" 2>/dev/null; sync
check_output "the agent wrote the sentinel" "^$sentinel\$" cat "$ws/sentinel"
check "control: the sentinel is readable through the mapping" \
        grep -q -a -F "$sentinel" "/dev/mapper/agentcage-$name"
if [ -n "$loop" ]; then
        # Drop cached pages of the loop device so the read goes to the memfd.
        blockdev --flushbufs "$loop" 2>/dev/null
        check "the sentinel is not in the RAM behind the mapping ($loop)" \
                bash -c "! grep -q -a -F '$sentinel' '$loop'"
else
        skip "the sentinel is not in the RAM behind the mapping" "no loop device found"
fi

# --- the key --------------------------------------------------------------------
key=$(dmsetup table --showkeys "agentcage-$name" 2>/dev/null | awk '{ print $5 }')
check "the key is 512 bits from the kernel table" test "${#key}" -eq 128
if [ "${#key}" -eq 128 ]; then
        check "the key is in no file under /run, /etc, /var, /tmp, /root" \
                bash -c "! grep -r -D skip -l -a -F -i '$key' /run /etc /var /tmp /root 2>/dev/null"
        check "the key is not in the journal" \
                bash -c "! journalctl -b --no-pager -o cat | grep -q -i -F '$key'"
        check "the key is in no process's environment or command line" \
                bash -c "! cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | grep -q -a -i -F '$key'"
fi

# --- secrets ----------------------------------------------------------------------
check_output "the credential is 0400 and owned by the agent's uid inside" \
        '^-r-------- 1 65534 65534 .* cred$' cat "$ws/secret-modes"
check_output "the file secret is 0400 and owned by the agent's uid inside" \
        '^-r-------- 1 65534 65534 .* token$' cat "$ws/secret-modes"
check_output "the file secret arrived" "^$secret_value\$" cat "$ws/token-copy"
check_output "the credential arrived (CREDENTIALS_DIRECTORY reaches configure)" "^$cred_value\$" cat "$ws/cred-copy"
check_output "the secrets directory is a ramfs" "ramfs" findmnt -n -o FSTYPE --target "$RUNTIME_DIR/$name/secrets"
check "no secret value in the journal" \
        bash -c "! journalctl -b --no-pager -o cat | grep -q -F -e '$secret_value' -e '$cred_value'"

# --- user namespace -----------------------------------------------------------------
check_output "runtime.env carries the leased range" '^AGENTCAGE_USERNS=[0-9]+:65536$' cat "$RUNTIME_DIR/$name/runtime.env"
base=$(sed -n 's/^AGENTCAGE_USERNS=\([0-9]*\):65536$/\1/p' "$RUNTIME_DIR/$name/runtime.env")
check "the range is at or above 0x70000000" test "${base:-0}" -ge $((0x70000000))
check "the lease file names the agent" test -n "$(lease_of "$name")"
check_output "the agent runs as uid 65534 inside" '^65534$' cat "$ws/uid"
check "host-side, the agent's files belong to BASE+65534" \
        test "$(stat -c %u "$ws/uid")" = "$((base + 65534))"

# --- and gone -----------------------------------------------------------------------
stop_quietly "$unit"
check "after stop nothing is left" nothing_left "$name"
check_output "recycle logged what it scrubbed" "Deactivated dm-crypt mapping agentcage-$name" \
        journal_after "$cursor" -u "$unit" -o cat
finish
