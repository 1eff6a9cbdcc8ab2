#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# Inputs the generator cannot judge (they depend on the machine and on files
# at start time) make the start fail, with the reason in `systemctl status`,
# and leave nothing behind: a workspace larger than the RAM, secret sources
# that are missing, writable by others, with a second link, too big. Secret
# sources outside the site's secrets directory (a directory, a device, a
# file elsewhere) and another agent's credential are refused by the
# generator already: no unit, the kernel log names the key and the rule.
VOLUME_LIB_ONLY=1 . "$(dirname "$0")/50-volume-lib.sh"

modprobe dm_crypt 2>/dev/null

install -d -m 0700 /etc/agents/secrets
install -d -m 1777 /srv/e2e-open-dir
printf 'x' >/etc/agents/secrets/e2e-open && chmod 0666 /etc/agents/secrets/e2e-open
printf 'x' >/srv/e2e-open-dir/secret && chmod 0600 /srv/e2e-open-dir/secret
head -c 1048577 /dev/zero >/etc/agents/secrets/e2e-big && chmod 0600 /etc/agents/secrets/e2e-big
printf 'x' >/etc/agents/secrets/e2e-linked && chmod 0600 /etc/agents/secrets/e2e-linked &&
        ln -f /etc/agents/secrets/e2e-linked /etc/agents/e2e-linked-elsewhere
trap 'rm -rf /etc/agents/secrets/e2e-open /srv/e2e-open-dir /etc/agents/secrets/e2e-big /etc/agents/secrets/e2e-linked /etc/agents/e2e-linked-elsewhere; _lib_cleanup' EXIT

# refused NAME DESCRIPTION REGEX EXTRA-INI: the start fails, status matches
# REGEX, nothing is left.
refused() {
        local name=$1 desc=$2 regex=$3 extra=$4 unit=agent@$1.service
        write_volume_agent "$name" "--interval=1" "$extra"
        reload
        check_fails "$desc: the start fails" "" systemctl start "$unit"
        check_output "$desc: systemctl status says why" "$regex" status_of "$unit"
        check "$desc: nothing is left" nothing_left "$name"
        forget_unit "$unit"
}

# refused_at_generation NAME DESCRIPTION REGEX EXTRA-INI: no unit is
# generated, the kernel log says why, and a start finds no agent.
refused_at_generation() {
        local name=$1 desc=$2 regex=$3 extra=$4 cursor
        write_volume_agent "$name" "--interval=1" "$extra"
        cursor=$(journal_cursor)
        reload
        check "$desc: no unit is generated" test ! -e "/run/systemd/generator/agent@$name.service"
        check_output "$desc: the kernel log says why" "$regex" journal_after "$cursor" -k
        check_fails "$desc: the start fails" "" systemctl start "agent@$name.service"
        check "$desc: nothing is left" nothing_left "$name"
        rm -f "/etc/agents/$name.agent"
}

mem_kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
diag "MemTotal: $mem_kb kB"
VOL_WORKSPACE=64G refused e2e-vol-huge "a workspace larger than RAM" \
        "larger than this machine's RAM" ""

refused e2e-vol-nosrc "a missing secret source" \
        "Secret 'tok': source /etc/agents/secrets/e2e-missing does not exist" \
        "[Secrets]
tok=/etc/agents/secrets/e2e-missing"

refused_at_generation e2e-vol-dirsrc "the secrets directory itself as secret source" \
        "e2e-vol-dirsrc.*\\[Secrets\\] tok" \
        "[Secrets]
tok=/etc/agents/secrets"

refused_at_generation e2e-vol-devsrc "a device as secret source" \
        "e2e-vol-devsrc.*\\[Secrets\\] tok.*/etc/agents/secrets" \
        "[Secrets]
tok=/dev/null"

refused e2e-vol-opensrc "a secret source others can write" \
        "Secret 'tok': source /etc/agents/secrets/e2e-open: /etc/agents/secrets/e2e-open is writable by group or others; secret sources must be owned by root" \
        "[Secrets]
tok=/etc/agents/secrets/e2e-open"

refused_at_generation e2e-vol-opendir "a secret source outside the secrets directory" \
        "e2e-vol-opendir.*\\[Secrets\\] tok.*/etc/agents/secrets" \
        "[Secrets]
tok=/srv/e2e-open-dir/secret"

refused e2e-vol-linksrc "a secret source with a second link" \
        "Secret 'tok': source /etc/agents/secrets/e2e-linked: /etc/agents/secrets/e2e-linked has more than one link" \
        "[Secrets]
tok=/etc/agents/secrets/e2e-linked"

refused e2e-vol-bigsrc "a secret source over 1 MiB" \
        "Secret 'tok': source /etc/agents/secrets/e2e-big is larger than 1048576 bytes" \
        "[Secrets]
tok=/etc/agents/secrets/e2e-big"

refused_at_generation e2e-vol-nocred "another agent's credential" \
        "e2e-vol-nocred.*\\[Secrets\\] tok.*e2e-nope" \
        "[Secrets]
tok=cred:e2e-nope"
finish
