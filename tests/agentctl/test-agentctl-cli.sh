#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# agentctl without systemd: verify, cat, argument errors, the "systemd
# unreachable" path (no system bus here) and the not-root refusals.
#
#     test-agentctl-cli.sh AGENTCTL DATA_DIR
set -u

AGENTCTL=$1
DATA=$(cd "$2" && pwd) || exit 1
n=0
failed=0
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $1"
        sed 's/^/#   /' "$OUT/stdout" "$OUT/stderr" | tail -n 20
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# run [ENV=V…] -- ARGS…: runs agentctl, keeps stdout/stderr and the status in $rc.
run() {
        local envs=()
        while [ "$1" != "--" ]; do envs+=("$1"); shift; done
        shift
        env "${envs[@]}" "$AGENTCTL" "$@" >"$OUT/stdout" 2>"$OUT/stderr" </dev/null
        rc=$?
}

# expect DESC STATUS [REGEX_STDOUT] [REGEX_STDERR]
expect() {
        local desc=$1 want=$2 re_out=${3:-} re_err=${4:-}
        if [ "$rc" -ne "$want" ]; then
                echo "# exit status $rc, expected $want" >>"$OUT/stderr"
                not_ok "$desc"
                return
        fi
        if [ -n "$re_out" ] && ! grep -Eq -- "$re_out" "$OUT/stdout"; then
                echo "# stdout does not match: $re_out" >>"$OUT/stderr"
                not_ok "$desc"
                return
        fi
        if [ -n "$re_err" ] && ! grep -Eq -- "$re_err" "$OUT/stderr"; then
                echo "# stderr does not match: $re_err" >>"$OUT/stderr"
                not_ok "$desc"
                return
        fi
        ok "$desc"
}

# json_check DESC PYTHON_EXPR: stdout parses as JSON (python3 -m json.tool)
# and the expression over it (bound to d) is true.
json_check() {
        if python3 -m json.tool "$OUT/stdout" >/dev/null 2>>"$OUT/stderr" &&
           python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ('"$2"') else 1)' "$OUT/stdout" 2>>"$OUT/stderr"; then
                ok "$1"
        else
                not_ok "$1"
        fi
}

GOOD=$DATA/good
BAD=$DATA/bad
FILES=$DATA/files
NOBUS=DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/agentctl-test-bus
# Where no generated unit is, so cat renders one.
NOGEN=AGENTCAGE_GENERATOR_DIR=/nonexistent

# --- verify ------------------------------------------------------------------
run AGENTCAGE_PATH="$GOOD" -- verify
expect "verify: a good search path passes" 0 "^$GOOD/web.agent: OK$"
run AGENTCAGE_PATH="$GOOD" -- verify
expect "verify: every agent on the path is checked" 0 "^$GOOD/db.agent: OK$"
run AGENTCAGE_PATH="$BAD" -- verify
expect "verify: one bad definition fails the run" 1 "^$BAD/broken.agent: 1 error$"
expect "verify: the good one is still reported" 1 "^$BAD/web.agent: OK$"
expect "verify: the error names file, line, section and key" 1 "" \
        "^$BAD/broken.agent:6: \[Resources\] Memory: '3X' is not valid"
run -- verify "$FILES/ok.agent"
expect "verify FILE: a good file passes" 0 "ok.agent: OK$"
run -- verify "$FILES/typo.agent"
expect "verify FILE: an unknown key fails with its line" 1 "typo.agent: 1 error" \
        "typo.agent:4: \[Agent\] Tmeout: unknown key"
run -- verify "$FILES/ok.agent" "$FILES/typo.agent"
expect "verify FILE…: any bad file fails the run" 1 "ok.agent: OK"
run -- verify "$FILES/not-a-definition.conf"
expect "verify FILE: a file not named NAME.agent is refused" 1 "" "must be NAME.agent"
run -- verify "$FILES/Bad_Name.agent"
expect "verify FILE: an invalid agent name is refused" 1 "" "invalid agent name 'Bad_Name'"
run -- verify "$FILES/does-not-exist.agent"
expect "verify FILE: a missing file is an error" 1 "" "does-not-exist.agent: cannot open"

run AGENTCAGE_PATH="$BAD" -- verify --json
expect "verify --json: exit 1 with an error" 1
json_check "verify --json: a list with one entry per agent" \
        'isinstance(d, list) and sorted(e["agent"] for e in d) == ["broken", "web"]'
json_check "verify --json: valid and errors per entry" \
        '[e["valid"] for e in sorted(d, key=lambda e: e["agent"])] == [False, True] and all(isinstance(e["errors"], list) and isinstance(e["warnings"], list) for e in d)'
json_check "verify --json: an error has file, line, section, key, message" \
        '[(x["file"].endswith("broken.agent"), x["line"], x["section"], x["key"], "3X" in x["message"]) for e in d if e["agent"] == "broken" for x in e["errors"]] == [(True, 6, "Resources", "Memory", True)]'
if [ -s "$OUT/stderr" ]; then
        not_ok "verify --json: the errors are in the JSON, not on stderr"
else
        ok "verify --json: the errors are in the JSON, not on stderr"
fi
run AGENTCAGE_PATH="$GOOD" -- verify --json
expect "verify --json: exit 0 when all are valid" 0
json_check "verify --json: all valid" 'len(d) == 2 and all(e["valid"] and e["errors"] == [] for e in d)'
run AGENTCAGE_PATH="$FILES" -- verify --json
expect "verify --json: a badly named file on the path fails" 1
json_check "verify --json: it is an entry without agent" \
        'any(e["agent"] is None and not e["valid"] and "Bad_Name" in e["file"] for e in d)'
run -- verify --json "$FILES/typo.agent" "$FILES/not-a-definition.conf"
expect "verify --json FILE…: exit 1" 1
json_check "verify --json FILE…: one entry per file, in order" \
        '[(e["agent"], e["valid"]) for e in d] == [("typo", False), (None, False)] and d[0]["errors"][0]["key"] == "Tmeout"'

# --- cat ---------------------------------------------------------------------
run AGENTCAGE_PATH="$GOOD" $NOGEN -- cat web
expect "cat: the definition under a '# path' header" 0 "^# $GOOD/web.agent$"
expect "cat: the drop-in under its own header" 0 "^# $GOOD/web.agent.d/10-ttl.conf$"
expect "cat: the definition's text" 0 "^OrphanTimeoutSec=20s$"
expect "cat: the unit is rendered when not generated, and says so" 0 \
        "^# agent@web.service \(rendered from the definition, not generated yet\)$"
expect "cat: the rendered unit is the generator's" 0 "^SourcePath=$GOOD/web.agent$"
expect "cat: the drop-in reached the rendered unit" 0 "^RuntimeMaxSec=3600s$"
run AGENTCAGE_PATH="$GOOD" AGENTCAGE_GENERATOR_DIR="$DATA/generated" -- cat web
expect "cat: a generated unit is shown from where the generator wrote it" 0 \
        "^# $DATA/generated/agent@web.service$"
expect "cat: ... with its contents" 0 "^# a stand-in for the generator's output$"
run AGENTCAGE_PATH="$GOOD" $NOGEN -- cat --json web
expect "cat --json: exit 0" 0
json_check "cat --json: definition, drop-ins and unit" \
        'd["agent"] == "web" and d["definition"]["path"].endswith("/web.agent") and "OrphanTimeoutSec=20s" in d["definition"]["text"] and [x["path"].endswith("10-ttl.conf") for x in d["dropins"]] == [True] and d["unit_source"] == "rendered" and "ExecStart=" in d["unit"]["text"]'
run AGENTCAGE_PATH="$BAD" $NOGEN -- cat broken
expect "cat: an invalid definition is shown, without a unit" 0 "^# agent@broken.service \(the definition has errors"
run AGENTCAGE_PATH="$GOOD" -- cat nope
expect "cat: an unknown agent is exit 3" 3 "" "No agent 'nope' is defined"

# --- hostile strings in JSON ---------------------------------------------------
# File names and file contents are operator strings: quotes, control bytes and
# invalid UTF-8 must come out as valid JSON (python decodes strictly).
HOSTILE=$OUT/hostile
mkdir -p "$HOSTILE"
printf '[Agent]\nDescription="q" \\ \033[31m \001 \377\376 end\nImage=demo\n' >"$HOSTILE/evil.agent"
run AGENTCAGE_PATH="$HOSTILE" $NOGEN -- cat --json evil
expect "cat --json of a hostile definition: exit 0" 0
json_check "cat --json: quotes, backslash, ESC and \\001 survive, invalid UTF-8 becomes U+FFFD" \
        'd["definition"]["text"] == "[Agent]\nDescription=\"q\" \\ \x1b[31m \x01 \ufffd\ufffd end\nImage=demo\n"'
run AGENTCAGE_PATH="$HOSTILE" $NOGEN -- cat evil
if grep -q $'\033' "$OUT/stdout"; then not_ok "cat: no ESC reaches the terminal"; else ok "cat: no ESC reaches the terminal"; fi
weird="$HOSTILE/we\"ird"$'\001\377'"name.conf"
: >"$weird"
run -- verify --json "$weird" "$HOSTILE/evil.agent"
expect "verify --json of a hostile file name: exit 1" 1
json_check "verify --json: the hostile name is one valid JSON string" \
        'len(d) == 2 and d[0]["file"].endswith("we\"ird\x01\ufffdname.conf") and d[0]["agent"] is None and d[1]["agent"] == "evil"'

# --- agents without a definition (deleted while they run) ---------------------
STATE=$OUT/state
mkdir -p "$STATE/ghost"
run AGENTCAGE_PATH="$GOOD" AGENTCAGE_RUNTIME_DIR="$STATE" $NOBUS -- status ghost
expect "status of an undefined agent with a state directory asks systemd (none here: exit 5)" 5 "" "system bus"
run AGENTCAGE_PATH="$GOOD" AGENTCAGE_RUNTIME_DIR="$STATE" $NOBUS -- status nothere
expect "status of an undefined agent without a state directory: exit 3" 3 "" "No agent 'nothere'"
run AGENTCAGE_PATH="$GOOD" AGENTCAGE_RUNTIME_DIR="$STATE" $NOGEN -- cat ghost
expect "cat needs a definition: exit 3" 3 "" "No agent 'ghost'"

# --- list --names needs neither systemd nor root -------------------------------
run AGENTCAGE_PATH="$GOOD" -- list --names
if [ "$rc" -eq 0 ] && [ "$(cat "$OUT/stdout")" = "$(printf 'db\nweb')" ]; then
        ok "list --names: the defined agents, sorted"
else
        not_ok "list --names: the defined agents, sorted"
fi

# --- argument errors ---------------------------------------------------------
run -- ; expect "no command: usage error" 2 "" "No command"
run -- frobnicate; expect "unknown command: usage error" 2 "" "Unknown command 'frobnicate'"
run -- --frobnicate list; expect "unknown option: usage error" 2 "" "Unknown option '--frobnicate'"
run -- -x list; expect "unknown short option: usage error" 2 "" "Unknown option '-x'"
run -- status; expect "status without NAME: usage error" 2 "" "exactly one agent NAME"
run -- status a b; expect "status with two NAMEs: usage error" 2 "" "exactly one agent NAME"
run -- list extra; expect "list with an argument: usage error" 2 "" "no arguments"
run -- assign web; expect "assign without TASK: usage error" 2 "" "NAME and TASK"
run -- start --json web; expect "--json on start: usage error" 2 "" "no --json"
run -- --json --json list; expect "--json twice: usage error" 2 "" "twice"
run -- list --lease=5min; expect "--lease on list: usage error" 2 "" "--lease applies to"
run -- assign web t --lease=soon; expect "--lease with a bad duration: usage error" 2 "" "Invalid --lease 'soon'"
run -- assign web t --lease=0; expect "--lease of zero: usage error" 2 "" "Invalid --lease '0'"
run -- assign web t --lease=1h --lease=2h; expect "--lease twice: usage error" 2 "" "twice"
run -- assign web t --lease; expect "--lease without value: usage error" 2 "" "needs a value"
run -- status --names web; expect "--names on status: usage error" 2 "" "--names applies to"
run -- --help; expect "--help prints the commands" 0 "assign NAME TASK"
run -- --version; expect "--version" 0 "^agentctl [0-9]"
run AGENTCAGE_PATH="$GOOD" -- status Not_A_Name; expect "an invalid agent name: usage error" 2 "" "not a valid agent name"
run AGENTCAGE_PATH="$GOOD" -- status nope; expect "an undefined agent: exit 3" 3 "" "No agent 'nope' is defined"
run AGENTCAGE_PATH=relative/path -- list --names; expect "a relative AGENTCAGE_PATH is refused" 1 "" "not absolute"

if [ "$(id -u)" -eq 0 ]; then
        run AGENTCAGE_PATH="$GOOD" -- assign web $'two\nlines'
        expect "assign: a task with a newline is refused" 2 "" "printable"
        run AGENTCAGE_PATH="$GOOD" -- assign web "$(head -c 257 /dev/zero | tr '\0' x)"
        expect "assign: a task over 256 bytes is refused" 2 "" "1 to 256 bytes"
        run AGENTCAGE_PATH="$GOOD" -- start nope
        expect "start: an undefined agent is exit 3" 3 "" "No agent 'nope'"
else
        for i in 1 2 3; do skip "assign/start argument checks ($i)" "needs root to get past the root check"; done
fi

# --- systemd unreachable -----------------------------------------------------
run AGENTCAGE_PATH="$GOOD" $NOBUS -- list
expect "list without a system bus: exit 5" 5 "" "Failed to connect to the system bus"
run AGENTCAGE_PATH="$GOOD" $NOBUS -- status web
expect "status without a system bus: exit 5" 5 "" "system bus"
run AGENTCAGE_PATH="$GOOD" $NOBUS -- list --json
expect "list --json without a system bus: exit 5, nothing on stdout" 5
if [ -s "$OUT/stdout" ]; then not_ok "list --json: no half-written JSON"; else ok "list --json: no half-written JSON"; fi
if [ "$(id -u)" -eq 0 ]; then
        for verb in start stop restart release; do
                run AGENTCAGE_PATH="$GOOD" $NOBUS -- $verb web
                expect "$verb without a system bus: exit 5" 5 "" "system bus"
        done
        run AGENTCAGE_PATH="$GOOD" $NOBUS -- assign web task-1
        expect "assign without a system bus: exit 5" 5 "" "system bus"
        run AGENTCAGE_PATH="$GOOD" $NOBUS -- reap
        expect "reap without a system bus: exit 5" 5 "" "system bus"
else
        for i in 1 2 3 4 5 6; do skip "unreachable systemd as root ($i)" "not root"; done
fi

# --- not root ----------------------------------------------------------------
as_nobody=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
        as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
elif [ "$(id -u)" -ne 0 ]; then
        as_nobody=(env) # already unprivileged
fi
if [ "${#as_nobody[@]}" -gt 0 ]; then
        for args in "start web" "stop web" "restart web" "assign web task-1" "release web" "reap"; do
                # shellcheck disable=SC2086
                "${as_nobody[@]}" env AGENTCAGE_PATH="$GOOD" "$AGENTCTL" $args >"$OUT/stdout" 2>"$OUT/stderr" </dev/null
                rc=$?
                expect "not root: '$args' is refused with exit 4" 4 "" "needs root"
        done
        "${as_nobody[@]}" env AGENTCAGE_PATH="$GOOD" "$AGENTCTL" verify >"$OUT/stdout" 2>"$OUT/stderr" </dev/null
        rc=$?
        expect "not root: verify works" 0 "web.agent: OK"
        "${as_nobody[@]}" env AGENTCAGE_PATH="$GOOD" AGENTCAGE_GENERATOR_DIR=/nonexistent "$AGENTCTL" cat web >"$OUT/stdout" 2>"$OUT/stderr" </dev/null
        rc=$?
        expect "not root: cat works" 0 "^OrphanTimeoutSec=20s$"
else
        for i in 1 2 3 4 5 6 7 8; do skip "not-root checks ($i)" "no setpriv"; done
fi

# --- bash completion ---------------------------------------------------------
COMPLETION=$DATA/../../shell-completion/bash/agentctl
complete_words() {
        # complete_words WORD…: what the completion offers for the last word
        PATH="$(dirname "$AGENTCTL"):$PATH" AGENTCAGE_PATH="$GOOD" bash -c '
                . "$1"; shift
                COMP_WORDS=(agentctl "$@"); COMP_CWORD=$#
                _agentctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@" 2>&1
}
if [ "$(complete_words st | tr '\n' ' ')" = "status start stop " ]; then
        ok "completion: commands"
else
        echo "# got: $(complete_words st | tr '\n' ' ')"; n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - completion: commands"
fi
if [ "$(complete_words status '' | tr '\n' ' ')" = "db web " ]; then
        ok "completion: agent names from agentctl list --names"
else
        echo "# got: $(complete_words status '' | tr '\n' ' ')"; n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - completion: agent names from agentctl list --names"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
