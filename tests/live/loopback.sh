#!/usr/bin/env bash
# Loopback and "any": the kernel shows a packet socket every loopback packet
# twice (outgoing and incoming); procsniff must count it once. Then a BPF
# filter on the fanout sockets. Runs in a
# private network namespace so no other loopback traffic is seen, with
# -i lo and with -i any, and checks exact packet and byte counts.
#
# usage: loopback.sh PROCSNIFF
set -euo pipefail
bin=$(readlink -f "$1")
ns="psl-$$-lo"
tmp=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root"; exit 77; fi

ip netns add "$ns"
ip -n "$ns" link set lo up
fails=0
for iface in lo any; do
	ip netns exec "$ns" timeout -k 5 30 "$bin" -i "$iface" -W 2 --json \
		--json-file "$tmp/$iface.json" --duration 3 2>"$tmp/err" &
	pid=$!
	sleep 1
	ip netns exec "$ns" python3 - <<'PY'
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 39999))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 39998))
for i in range(7):
    s.sendto(b"0123456789", ("127.0.0.1", 39999))
PY
	wait "$pid" || { echo "FAIL: procsniff -i $iface exited non-zero"; cat "$tmp/err"; fails=$((fails + 1)); continue; }
	# 7 datagrams of 14 + 20 + 8 + 10 = 52 bytes, each seen once.
	if python3 - "$tmp/$iface.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fl = [e for e in ev if e["event"] == "flow" and e.get("dport") == 39999]
tot = [e for e in ev if e["event"] == "stats" and e["worker"] == "all"][-1]
ok = (len(fl) == 1 and fl[0]["sport"] == 39998 and fl[0]["pkts_c2s"] == 7
      and fl[0]["bytes_c2s"] == 7 * 52 and fl[0]["pkts_s2c"] == 0 and tot["packets"] == 7)
print(fl, tot["packets"])
sys.exit(0 if ok else 1)
PY
	then echo "ok    -i $iface: 7 datagrams counted once"
	else echo "FAIL  -i $iface"; fails=$((fails + 1)); fi
done
# A BPF filter in tcpdump syntax keeps only matching packets: two flows
# sent, one passes "udp dst port 39999".
ip netns exec "$ns" timeout -k 5 30 "$bin" -i lo -W 2 -f 'udp dst port 39999' --json \
	--json-file "$tmp/filter.json" --duration 3 2>"$tmp/err" &
pid=$!
sleep 1
ip netns exec "$ns" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"a", ("127.0.0.1", 39999))
    s.sendto(b"b", ("127.0.0.1", 39997))
PY
if wait "$pid" && python3 - "$tmp/filter.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fl = [e for e in ev if e["event"] == "flow"]
tot = [e for e in ev if e["event"] == "stats" and e["worker"] == "all"][-1]
sys.exit(0 if [f["dport"] for f in fl] == [39999] and tot["packets"] == 5 else 1)
PY
then echo "ok    -f 'udp dst port 39999': only the matching flow, 5 packets"
else echo "FAIL  -f filter"; cat "$tmp/err"; fails=$((fails + 1)); fi

echo "$((3 - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
