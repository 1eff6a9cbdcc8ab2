# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# ramdump-lib.sh: sourced by run.sh. Lets a guest case have the guest's whole
# RAM searched, from outside, for values it put there (tests/vm/e2e/lib.sh,
# ramdump_search). QEMU gets a QMP socket; while the VM runs, ramdump_serve
# watches the results share for requests:
#
#   results/ramdump/NAME.req   one token per line, written by the guest
#   results/ramdump/NAME.res   "TOKEN COUNT" per line, written here
#
# For each request the VM is dumped (QMP dump-guest-memory, which pauses it
# for the dump) into the work folder, searched, and deleted. Each token is
# searched for with its hex digits 0-9a-f mapped to g-v (tr): the guest case
# keeps the token in its own memory without it being found, and writes the
# mapped copies (made by short-lived processes) where they should be found.

# ramdump_qemu_args WORK: the arguments that give QEMU the QMP socket.
ramdump_qemu_args() {
        printf '%s\n' -qmp "unix:$1/qmp.sock,server=on,wait=off"
}

# ramdump_dump SOCKET FILE: dumps the guest's RAM into FILE (ELF).
ramdump_dump() {
        python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(600)
s.connect(sys.argv[1])
f = s.makefile("rw")
def call(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args} if args else {"execute": cmd}) + "\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m:
            return
        if "error" in m:
            sys.exit("qmp %s: %s" % (cmd, m["error"]))
json.loads(f.readline())  # greeting
call("qmp_capabilities")
call("dump-guest-memory", paging=False, protocol="file:" + sys.argv[2])
PY
}

# ramdump_serve WORK: answers requests until killed.
ramdump_serve() {
        local work=$1 dir=$1/results/ramdump req name res tok count
        mkdir -p "$dir"
        while sleep 1; do
                for req in "$dir"/*.req; do
                        [ -f "$req" ] || continue
                        name=$(basename "$req" .req)
                        res=$dir/$name.res
                        [ -e "$res" ] && continue
                        if ! ramdump_dump "$work/qmp.sock" "$work/ramdump.elf" 2>"$dir/$name.err"; then
                                echo "DUMP-FAILED 0" >"$res.tmp" && mv "$res.tmp" "$res"
                                continue
                        fi
                        : >"$res.tmp"
                        while IFS= read -r tok; do
                                [ -n "$tok" ] || continue
                                count=$(LC_ALL=C grep -a -o -F -- "$(printf '%s' "$tok" | tr 0-9a-f g-v)" "$work/ramdump.elf" | wc -l)
                                echo "$tok $count" >>"$res.tmp"
                        done <"$req"
                        echo "DUMP-BYTES $(stat -c %s "$work/ramdump.elf")" >>"$res.tmp"
                        rm -f "$work/ramdump.elf"
                        mv "$res.tmp" "$res"
                done
        done
}
