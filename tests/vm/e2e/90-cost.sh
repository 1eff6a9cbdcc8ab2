#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# needs: vm
#
# What the hardening costs, measured in this VM run (compare only ratios:
# under emulation everything is 10-20x slower than on hardware):
#   start: "systemctl start agent@X" of a Notify=yes agent returns when the
#          agent sent READY=1, its first act; against systemd-nspawn of the
#          same image tree with no hardening, running the same agent until
#          its first line (it exits right after it);
#   stop:  "systemctl stop" until recycled (workspace unmounted, mapping and
#          key destroyed, loop device and memory freed).
# Medians of 3. The goal for start is 1.3x bare nspawn; the checks only
# demand that every measurement was taken, the figures are reported.
. "$(dirname "$0")/lib.sh"

image=
for p in /usr/share/agentcage/images/demo /usr/local/share/agentcage/images/demo; do
        [ -x "$p/usr/bin/demo-agent" ] && image=$p && break
done
[ -n "$image" ] || bail "the demo image tree is not installed"

write_agent e2e-cost <<DEF
[Agent]
Image=$image
Exec=/usr/bin/demo-agent --interval=1
[Lifecycle]
Notify=yes
Restart=no
DEF
trap 'systemctl stop agent@e2e-cost.service >/dev/null 2>&1; systemctl reset-failed agent@e2e-cost.service >/dev/null 2>&1; _lib_cleanup' EXIT
reload

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

bare=() start=() stop=()
for i in 1 2 3; do
        t0=$(ms)
        out=$(systemd-nspawn -q --register=no --read-only --private-network -D "$image" \
                /usr/bin/demo-agent --interval=1 --count=1 2>&1)
        t1=$(ms)
        [[ $out == *"tick 1"* ]] && bare+=($((t1 - t0)))

        t0=$(ms)
        systemctl start agent@e2e-cost.service && t1=$(ms) && start+=($((t1 - t0)))
        t0=$(ms)
        systemctl stop agent@e2e-cost.service && t1=$(ms) && stop+=($((t1 - t0)))
        systemctl reset-failed agent@e2e-cost.service >/dev/null 2>&1
done

check "bare systemd-nspawn ran the agent 3 times" test ${#bare[@]} -eq 3
check "the hardened agent started 3 times" test ${#start[@]} -eq 3
check "and was stopped and recycled 3 times" test ${#stop[@]} -eq 3
if [ ${#bare[@]} -eq 3 ] && [ ${#start[@]} -eq 3 ] && [ ${#stop[@]} -eq 3 ]; then
        b=$(median "${bare[@]}") s=$(median "${start[@]}") t=$(median "${stop[@]}")
        diag "$(printf 'bare systemd-nspawn to first line: %5d ms' "$b")"
        diag "$(printf 'agent@ start to READY=1:           %5d ms  (%s x bare; goal 1.3 x)' "$s" \
                "$(awk -v a="$s" -v b="$b" 'BEGIN { printf "%.2f", a / b }')")"
        diag "$(printf 'agent@ stop until recycled:        %5d ms  (%s x bare run)' "$t" \
                "$(awk -v a="$t" -v b="$b" 'BEGIN { printf "%.2f", a / b }')")"
        check "nothing of it is left" test ! -e /run/agentcage/e2e-cost
fi
finish
