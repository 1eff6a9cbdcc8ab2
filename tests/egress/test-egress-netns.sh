#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The egress proxy against real programs, in network namespaces made here:
#
#   agent ns (lo only) --hand-over fd--> proxy ns ==veth== internet ns
#   curl, python3 urllib                  agentcage-egress    dnsmasq, python3 -m http.server,
#   at 127.0.0.1:3128                     198.51.100.1        openssl s_server (test CA)
#
# Only TEST-NET addresses (198.51.100.0/24, 203.0.113.0/24) exist, inside
# namespaces this script made; nothing has a default route. Needs root;
# prints a TAP SKIP otherwise. Ends with the benchmark (latency per request,
# 64 MiB throughput, proxy against direct), printed as TAP comments.
#
# The policy comes from a definition through agent-generator, and a "reload"
# is what systemd does on daemon-reload: the output directory is removed and
# the generator run again.
#
# Usage: test-egress-netns.sh PATH-TO-agentcage-egress PATH-TO-agent-generator
set -uo pipefail

PROXY=${1:?usage: $0 agentcage-egress agent-generator}
GEN=${2:?usage: $0 agentcage-egress agent-generator}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

skip() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip dnsmasq curl openssl unshare "$PY"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }

T=$(mktemp -d /tmp/test-egress.XXXXXX)
chmod 755 "$T"
NS_A=egA$$ NS_P=egP$$ NS_W=egW$$
mkdir "$T/pids"
# spawn NS NAME COMMAND…: runs COMMAND in NS in the background; its own PID
# (not that of ip netns exec) lands in $T/pids/NAME for the cleanup.
spawn() {
        local ns=$1 name=$2; shift 2
        ip netns exec "$ns" sh -c 'echo $$ >"$0"; exec "$@"' "$T/pids/$name" "$@" &
}
cleanup() {
        for f in "$T"/pids/*; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
        sleep 0.2
        for f in "$T"/pids/*; do [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
        for ns in "$NS_A" "$NS_P" "$NS_W"; do ip netns del "$ns" 2>/dev/null; done
        rm -rf "$T"
}
trap cleanup EXIT

inA() { ip netns exec "$NS_A" "$@"; }
inP() { ip netns exec "$NS_P" "$@"; }
inW() { ip netns exec "$NS_W" "$@"; }

# --- the namespaces and the fake internet
ip netns add "$NS_A" && ip netns add "$NS_P" && ip netns add "$NS_W" || skip "cannot create network namespaces"
ip link add egp$$ netns "$NS_P" type veth peer name egw$$ netns "$NS_W" || skip "cannot create a veth pair"
inP ip link set lo up; inW ip link set lo up; inA ip link set lo up
inP ip link set egp$$ up; inW ip link set egw$$ up
inP ip addr add 198.51.100.1/24 dev egp$$
inP ip addr add 203.0.113.1/24 dev egp$$
for a in 198.51.100.10/24 198.51.100.11/24 198.51.100.53/24 203.0.113.10/24; do inW ip addr add $a dev egw$$; done

cat >"$T/hosts" <<HOSTS
198.51.100.10 www.test ok.sub.test bad.sub.test sub.test other.test mixed.test
198.51.100.11 tls.test
203.0.113.10 rebind.test
127.0.0.1 lo.test
10.0.0.5 private.test
169.254.169.254 mixed.test
HOSTS
chmod 644 "$T/hosts"
spawn "$NS_W" dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$T/hosts" \
        --listen-address=198.51.100.53 --bind-interfaces --local=/test/ --local-ttl=0 --no-negcache \
        --pid-file="$T/dnsmasq.pid" --user=root --log-facility="$T/dnsmasq.log"
echo "nameserver 198.51.100.53" >"$T/resolv.conf"
chmod 644 "$T/resolv.conf"

mkdir -p "$T/www/sub"
echo "hello from www.test" >"$T/www/hello.txt"
head -c 64M /dev/zero >"$T/www/big.bin"
spawn "$NS_W" www "$PY" -m http.server 80 --bind 198.51.100.10 --directory "$T/www" >/dev/null 2>&1
spawn "$NS_W" www2 "$PY" -m http.server 80 --bind 203.0.113.10 --directory "$T/www" >/dev/null 2>&1
spawn "$NS_W" www3 "$PY" -m http.server 8080 --bind 198.51.100.10 --directory "$T/www" >/dev/null 2>&1

# a test CA and a certificate for tls.test
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=agentcage test CA" \
        -keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=tls.test" -keyout "$T/tls.key" -out "$T/tls.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:tls.test\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/tls.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/ext.cnf" -out "$T/tls.pem" >/dev/null 2>&1
spawn "$NS_W" tls openssl s_server -quiet -accept 198.51.100.11:443 -cert "$T/tls.pem" -key "$T/tls.key" -www >/dev/null 2>&1 </dev/null

# --- the proxy (in its namespace, with the fake internet's resolver) and the agent's hand-over
mkdir -p "$T/defs" "$T/state"
cat >"$T/defs/eg1.agent" <<DEF
[Agent]
Image=/var/lib/machines/eg1
Exec=/bin/agent

[Egress]
Allow=www.test:80 tls.test *.sub.test:80 lo.test:80 private.test:80 rebind.test:80 mixed.test:80 nowhere.test:80
Deny=bad.sub.test:80
Methods=read-only
DEF
# what systemd does on daemon-reload: a new output directory, the generator again
generate() {
        rm -rf "$T/gen" && mkdir "$T/gen" && AGENTCAGE_PATH="$T/defs" "$GEN" "$T/gen" "$T/gen" "$T/gen" 2>"$T/gen.log"
}
generate
check "the generator writes the compiled policy" grep -qx "allow \*.sub.test:80" "$T/gen/agentcage-egress/eg1.policy"
check "… and the backstop into the unit" grep -qx "IPAddressAllow=localhost" "$T/gen/agent@eg1.service"
spawn "$NS_P" proxy unshare -m sh -c "mount --bind '$T/resolv.conf' /etc/resolv.conf && exec '$PROXY' --control='$T/ctl.sock' \
        --policy-dir='$T/gen/agentcage-egress' --state-dir='$T/state' --log=stderr" 2>"$T/proxy.log"
for _ in $(seq 50); do [ -S "$T/ctl.sock" ] && break; sleep 0.1; done
spawn "$NS_A" agent "$PROXY" hand-over --control="$T/ctl.sock" eg1 -- sleep 600 2>"$T/handover.log"
for _ in $(seq 50); do grep -q "Agent eg1: egress listener registered" "$T/proxy.log" && break; sleep 0.1; done
check "the agent's listening socket is handed over" grep -q "Agent eg1: egress listener registered" "$T/proxy.log"
for _ in $(seq 50); do inW "$PY" -c 'import socket; socket.create_connection(("198.51.100.11", 443), 1); socket.create_connection(("198.51.100.10", 80), 1)' 2>/dev/null && break; sleep 0.1; done

P=http://127.0.0.1:3128
# curl through the proxy from inside the agent's namespace: prints "CODE BODY"
fetch() { inA curl -s -m 10 --proxy "$P" -o "$T/body" -w '%{http_code}' "$@" 2>/dev/null; }
expect() { # expect WHAT CODE BODY-SUBSTRING CURL-ARGS...
        local what=$1 code=$2 sub=$3; shift 3
        local got; got=$(fetch "$@")
        if [ "$got" = "$code" ] && grep -qF -- "$sub" "$T/body"; then ok "$what"
        else nok "$what"; echo "#   got $got: $(head -c 300 "$T/body")"; fi
}

# --- allowed
expect "plain HTTP to an allowed host" 200 "hello from www.test" http://www.test/hello.txt
expect "CONNECT + TLS (test CA) to an allowed host" 200 "" --cacert "$T/ca.pem" https://tls.test/
grep -q "s_server" "$T/body" && ok "the TLS answer comes from openssl s_server" || nok "the TLS answer comes from openssl s_server"
expect "a subdomain of *.sub.test" 200 "hello" http://ok.sub.test/hello.txt
py_out=$(inA env HTTPS_PROXY=$P HTTP_PROXY=$P "$PY" -c '
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
print(urllib.request.urlopen("https://tls.test/", context=ctx, timeout=10).status)
print(urllib.request.urlopen("http://www.test/hello.txt", timeout=10).read().decode().strip())
' "$T/ca.pem" 2>&1)
check "python3 urllib over HTTPS_PROXY (CONNECT, CA file) and HTTP_PROXY" test "$py_out" = "200
hello from www.test"

# --- denied, each with the rule named in the 403
expect "a host not allowed: 403 naming Allow=" 403 "Allow= (no pattern matches other.test:80)" http://other.test/
expect "Deny= wins over *.sub.test" 403 "Deny=bad.sub.test:80" http://bad.sub.test/
expect "*.sub.test does not cover the apex" 403 "no pattern matches sub.test:80" http://sub.test/
expect "a port not allowed" 403 "no pattern matches www.test:8080" http://www.test:8080/
expect "an IP literal" 403 "IP literal" http://198.51.100.10/hello.txt
expect "a name that resolves to loopback" 403 "address 127.0.0.1 is loopback" http://lo.test/
expect "a name that resolves to a private address" 403 "address 10.0.0.5 is private 10.0.0.0/8" http://private.test/
expect "a name with a public and a metadata address" 403 "cloud metadata 169.254.169.254" http://mixed.test/
expect "Methods=read-only refuses POST" 403 "Methods=read-only" -d x=1 http://www.test/
expect "Methods=read-only lets HEAD through" 200 "" -I http://www.test/hello.txt
expect "a name that does not resolve" 502 "resolver" http://nowhere.test/

# --- rebinding: the proxy judges what it resolved and connects to exactly that
expect "rebind.test while public" 200 "hello" http://rebind.test/hello.txt
# the record is written when the proxy has closed both ends, just after curl is done
for _ in $(seq 30); do grep -q "EGRESS_HOST=rebind.test" "$T/proxy.log" && break; sleep 0.1; done
grep "EGRESS_HOST=rebind.test" "$T/proxy.log" | grep -q "EGRESS_ADDRESS=203.0.113.10 " \
        && ok "the connection went to the address that was checked" || nok "the connection went to the address that was checked"
sed -i 's/^203.0.113.10 rebind.test/127.0.0.1 rebind.test/' "$T/hosts"
kill -HUP "$(cat "$T/dnsmasq.pid")"; sleep 0.3
expect "rebind.test after it rebinds to 127.0.0.1" 403 "address 127.0.0.1 is loopback" http://rebind.test/hello.txt

# --- malformed requests, straight onto the socket
raw() { inA "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 3128), 5)
s.sendall(sys.argv[1].encode().decode("unicode_escape").encode("latin-1"))
print(s.recv(4096).decode("latin-1", "replace"))' "$1" 2>&1; }
r=$(raw 'GET http://www.test/ HTTP/1.1\nHost: www.test\r\n\r\n')
check "a bare LF is refused with 400 naming it" grep -q "400 Bad Request.*" <<<"$r"
grep -q "bare LF" <<<"$r" && ok "the 400 names the rule (bare LF)" || nok "the 400 names the rule (bare LF)"
r=$(raw 'GET http://www.test/ HTTP/1.1\r\nHost: www.test\r\nHost: other.test\r\n\r\n')
check "two Host headers are refused" grep -q "duplicate Host" <<<"$r"
r=$(raw 'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n')
check "an IPv6 literal through CONNECT is refused (403 IP literal)" grep -q "403 Forbidden.*" <<<"$r"
grep -q "IP literal" <<<"$r" && ok "… the 403 names the rule" || nok "… the 403 names the rule"
r=$(raw 'GET http://www.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n')
check "a Host that differs from the target is refused" grep -q "differs from the target" <<<"$r"

# --- no route around the proxy
if inA "$PY" -c 'import socket; socket.create_connection(("198.51.100.10", 80), 2)' 2>/dev/null; then
        nok "a direct connect from the agent's namespace fails"
else
        ok "a direct connect from the agent's namespace fails"
fi

# --- live reload: the file changes, the running agent gets the new list
sed -i 's/^Methods=read-only/Methods=all/' "$T/defs/eg1.agent"
generate
expect "after Methods=all and a reload, POST reaches the server (501 from http.server)" 501 "" -d x=1 http://www.test/
mv "$T/defs/eg1.agent" "$T/eg1.agent.off"
generate
expect "after [Egress] is gone and a reload, everything is denied" 403 "no egress policy" http://www.test/hello.txt
mv "$T/eg1.agent.off" "$T/defs/eg1.agent"
sed -i 's/^Allow=.*/Allow=www.test:80/' "$T/defs/eg1.agent"
generate
code=$(inA curl -s -m 10 --proxy "$P" --cacert "$T/ca.pem" -o /dev/null -w '%{http_connect}' https://tls.test/ 2>/dev/null)
check "after a reload with a shorter Allow=, CONNECT to the dropped host gets 403 ($code)" test "$code" = 403
for _ in $(seq 30); do grep -q 'EGRESS_HOST=tls.test EGRESS_PORT=443 EGRESS_METHOD=CONNECT EGRESS_VERDICT=deny' "$T/proxy.log" && break; sleep 0.1; done
grep -q 'EGRESS_HOST=tls.test EGRESS_PORT=443 EGRESS_METHOD=CONNECT EGRESS_VERDICT=deny' "$T/proxy.log" \
        && ok "… recorded as a denial" || nok "… recorded as a denial"

# --- the records and the counters
L="$T/proxy.log"
check "a record of an allowed request carries every field" grep -qE \
        'EGRESS_AGENT=eg1 EGRESS_HOST=www.test EGRESS_PORT=80 EGRESS_METHOD=GET EGRESS_VERDICT=allow EGRESS_RULE="Allow=www.test:80" EGRESS_ADDRESS=198.51.100.10 EGRESS_BYTES_UP=[1-9][0-9]* EGRESS_BYTES_DOWN=[1-9][0-9]* EGRESS_DURATION_USEC=[0-9]+ OBJECT_SYSTEMD_UNIT=agent@eg1.service' "$L"
check "a record of a denied request names the rule" grep -qE \
        'EGRESS_HOST=bad.sub.test EGRESS_PORT=80 EGRESS_METHOD=GET EGRESS_VERDICT=deny EGRESS_RULE="Deny=bad.sub.test:80" EGRESS_ADDRESS=- EGRESS_BYTES_UP=0 EGRESS_BYTES_DOWN=0' "$L"
check "a CONNECT record counts the tunnelled bytes" grep -qE \
        'EGRESS_HOST=tls.test EGRESS_PORT=443 EGRESS_METHOD=CONNECT EGRESS_VERDICT=allow .*EGRESS_BYTES_UP=[1-9][0-9]* EGRESS_BYTES_DOWN=[1-9][0-9]*' "$L"
sleep 1.2 # the counters reach the file once a second
allowed=$(grep -c 'EGRESS_AGENT=eg1 .*EGRESS_VERDICT=allow' "$L")
denied=$(grep -c 'EGRESS_AGENT=eg1 .*EGRESS_VERDICT=deny' "$L")
check "the counters file agrees with the records ($allowed allowed, $denied denied)" \
        grep -qx "allowed=$allowed" "$T/state/eg1.stats"
check "… denied too" grep -qx "denied=$denied" "$T/state/eg1.stats"
grep -qx "denied=$denied" "$T/state/eg1.stats" || sed 's/^/#   stats: /' "$T/state/eg1.stats"

# --- benchmark: latency per request and 64 MiB throughput, proxy against direct
cat >"$T/bench.py" <<'PYB'
# One side of the benchmark, run in its namespace; the two sides are run
# alternately, several rounds, best round each (the machine is shared).
import http.client, os, statistics, sys, time
proxy = sys.argv[1] == "proxy"
def cpu_ns():  # user+system time of the proxy (argv[2], all its threads), whatever else the machine runs
    if not proxy: return 0
    with open("/proc/%s/stat" % sys.argv[2]) as f: v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) * 10**9 // os.sysconf("SC_CLK_TCK")
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", 3128, timeout=20) if proxy else http.client.HTTPConnection("198.51.100.10", 80, timeout=20)
    c.request("GET", "http://www.test" + path if proxy else path, headers={"Host": "www.test"})
    r = c.getresponse(); n = 0
    while True:
        b = r.read(1 << 20)
        if not b: break
        n += len(b)
    c.close(); return n
for _ in range(10): get("/hello.txt")
lat = []
c0 = cpu_ns()
for _ in range(300):
    t = time.perf_counter(); get("/hello.txt"); lat.append(time.perf_counter() - t)
c1 = cpu_ns()
t = time.perf_counter(); n = get("/big.bin"); dt = time.perf_counter() - t
c2 = cpu_ns()
assert n == 64 << 20, n
print("%.3f %.1f %.1f %.1f" % (statistics.median(lat) * 1000, n / dt / (1 << 20), (c1 - c0) / 300 / 1000, (c2 - c1) / 1e6))
PYB
dl=999 dt=0 pl=999 pt=0 runs=0
for round in 1 2 3; do
        d=$(inP "$PY" "$T/bench.py" direct 2>&1 | tail -1)
        p=$(inA "$PY" "$T/bench.py" proxy "$(cat "$T/pids/proxy")" 2>&1 | tail -1)
        [[ "$d" =~ ^[0-9.]+\ [0-9.]+ && "$p" =~ ^[0-9.]+\ [0-9.]+ ]] || { echo "#   bench round $round: '$d' '$p'"; continue; }
        runs=$((runs + 1))
        read -r a b _ _ <<<"$d"; read -r c e cpu_req cpu_big <<<"$p"
        echo "# bench round $round: direct ${a} ms ${b} MiB/s; proxy ${c} ms ${e} MiB/s; proxy CPU ${cpu_req} us/request, ${cpu_big} ms per 64 MiB"
        dl=$(awk -v x="$dl" -v y="$a" 'BEGIN{print (y<x)?y:x}'); dt=$(awk -v x="$dt" -v y="$b" 'BEGIN{print (y>x)?y:x}')
        pl=$(awk -v x="$pl" -v y="$c" 'BEGIN{print (y<x)?y:x}'); pt=$(awk -v x="$pt" -v y="$e" 'BEGIN{print (y>x)?y:x}')
done
direct="$dl $dt" proxied="$pl $pt"
[ "$runs" = 3 ] || direct=
if [[ "$direct" =~ ^[0-9.]+\ [0-9.]+$ && "$proxied" =~ ^[0-9.]+\ [0-9.]+$ ]]; then
        ok "benchmark ran (64 MiB downloads complete, direct and through the proxy)"
        read -r dl dt <<<"$direct"; read -r pl pt <<<"$proxied"
        awk -v la="$(cut -d' ' -f1-3 /proc/loadavg)" -v dl="$dl" -v dt="$dt" -v pl="$pl" -v pt="$pt" 'BEGIN {
                printf "# bench (load average now: %s)\n", la
                printf "# bench: latency per request (best median of 3 x 300, new connection each): direct %.3f ms, proxy %.3f ms, added %.3f ms (goal <= 0.3)\n", dl, pl, pl - dl
                printf "# bench: 64 MiB download: direct %.0f MiB/s, proxy %.0f MiB/s, ratio %.0f%% (goal >= 80%%)\n", dt, pt, 100 * pt / dt }'
else
        nok "benchmark ran"; echo "#   direct: $direct"; echo "#   proxied: $proxied"
fi

# --- the agent goes, its listener goes with it
# the registering process (now sleep, by exec) is the one the proxy watches
reg=$(sed -n 's/.*Agent eg1: egress listener registered by PID \([0-9]*\),.*/\1/p' "$T/proxy.log" | head -1)
check "the proxy watches the process that registered (PID $reg)" test "$reg" = "$(cat "$T/pids/agent")"
kill "$(cat "$T/pids/agent")"
for _ in $(seq 50); do grep -q "Agent eg1: gone" "$T/proxy.log" && break; sleep 0.1; done
check "when the registering process exits the listener is closed" grep -q "Agent eg1: gone" "$T/proxy.log"
if inA "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 3128), 2)' 2>/dev/null; then
        nok "nothing listens on 127.0.0.1:3128 in the agent's namespace any more"
else
        ok "nothing listens on 127.0.0.1:3128 in the agent's namespace any more"
fi

if [ "$FAILED" -gt 0 ]; then echo "# proxy log:"; sed 's/^/#   /' "$T/proxy.log" | tail -40; fi
echo "1..$N"
[ "$FAILED" = 0 ]
