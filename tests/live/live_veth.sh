#!/usr/bin/env bash
# Live capture across a veth pair between two network namespaces.
#
# Sends FLOWS x ROUNDS UDP datagrams from namespace a to namespace b and runs
# procsniff with 2 workers on b's interface. Checks that every worker saw
# packets, that the packets procsniff counted equal the interface's
# rx_packets delta, that there were no kernel drops, and that each flow was
# reported exactly once with all its packets. The receiving side is kept
# silent (static ARP, no IPv6, UDP sinks), so every frame on the interface
# is one that was sent. Namespaces are removed on every exit path.
#
# usage: live_veth.sh PROCSNIFF [BACKEND]
set -euo pipefail

bin=$(readlink -f "$1")
backend=${2:-tpacket}
here=$(cd "$(dirname "$0")" && pwd)
FLOWS=128
ROUNDS=40
ns_a="psl-$$-a"
ns_b="psl-$$-b"
tmp=$(mktemp -d)
sink_pid=""
ps_pid=""

cleanup() {
	[ -n "$ps_pid" ] && kill "$ps_pid" 2>/dev/null || true
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
	ip netns del "$ns_a" 2>/dev/null || true
	ip netns del "$ns_b" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root for network namespaces"
	exit 77
fi

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
for ns in "$ns_a" "$ns_b"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$ns_a" addr add 198.18.0.1/30 dev veth-a
ip -n "$ns_b" addr add 198.18.0.2/30 dev veth-b
mac_a=$(ip netns exec "$ns_a" cat /sys/class/net/veth-a/address)
mac_b=$(ip netns exec "$ns_b" cat /sys/class/net/veth-b/address)
ip -n "$ns_a" neigh add 198.18.0.2 lladdr "$mac_b" dev veth-a nud permanent
ip -n "$ns_b" neigh add 198.18.0.1 lladdr "$mac_a" dev veth-b nud permanent
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up

ip netns exec "$ns_b" timeout 60 python3 "$here/udp_flows.py" sink 9000 "$FLOWS" 50 \
	>"$tmp/sink.out" &
sink_pid=$!
for _ in $(seq 50); do grep -q ready "$tmp/sink.out" 2>/dev/null && break; sleep 0.1; done

ip netns exec "$ns_b" timeout -k 5 60 "$bin" -i veth-b -W 2 --backend "$backend" --json \
	--json-file "$tmp/out.json" --duration 40 2>"$tmp/err" &
ps_pid=$!
sleep 1.5
kill -0 "$ps_pid" || { echo "procsniff exited early:"; cat "$tmp/err"; exit 1; }
rx0=$(ip netns exec "$ns_b" cat /sys/class/net/veth-b/statistics/rx_packets)

sent=$(ip netns exec "$ns_a" timeout 60 python3 "$here/udp_flows.py" send 198.18.0.2 9000 \
	"$FLOWS" "$ROUNDS")
sleep 1
rx1=$(ip netns exec "$ns_b" cat /sys/class/net/veth-b/statistics/rx_packets)
kill -INT "$ps_pid"
status=0
wait "$ps_pid" || status=$?
ps_pid=""
if [ "$status" -ne 0 ]; then
	echo "FAIL: procsniff exited with $status"
	cat "$tmp/err"
	exit 1
fi

python3 - "$tmp/out.json" "$((rx1 - rx0))" "$sent" "$FLOWS" "$ROUNDS" <<'PY'
import json, sys
path, rx, sent, flows, rounds = sys.argv[1], *map(int, sys.argv[2:])
events = [json.loads(l) for l in open(path)]
final = [e for e in events if e["event"] == "stats" and e.get("final")]
workers = [e for e in final if e["worker"] != "all"]
total = [e for e in final if e["worker"] == "all"][0]
udp = {}
for e in events:
    if e["event"] == "flow" and e["proto"] == "udp" and e["dst"] == "198.18.0.2":
        key = (e["sport"], e["dport"])
        udp.setdefault(key, []).append(e)
fails = []
def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        fails.append(msg)
check(sent == flows * rounds, f"sender sent {sent} datagrams")
check(rx == sent, f"interface rx_packets delta {rx} equals datagrams sent {sent}")
check(len(workers) == 2, "two workers reported")
for w in workers:
    check(w["packets"] > 0, f"worker {w['worker']} saw {w['packets']} packets")
check(total["packets"] == rx, f"procsniff counted {total['packets']} == rx delta {rx}")
check(total["kernel_drops"] == 0, f"kernel drops {total['kernel_drops']}")
check(total["queue_drops"] == 0, f"queue drops {total['queue_drops']}")
check(len(udp) == flows, f"{len(udp)} of {flows} flows reported")
once = all(len(v) == 1 for v in udp.values())
check(once, "every flow reported exactly once")
full = all(v[0]["pkts_c2s"] == rounds and v[0]["pkts_s2c"] == 0 for v in udp.values())
check(full, f"every flow carries its {rounds} packets, initiator first")
check(all(v[0]["end"] == "shutdown" for v in udp.values()), "open flows end as shutdown")
print(f"{len(fails) == 0 and 1 or 0} passed, {len(fails) and 1 or 0} failed")
sys.exit(1 if fails else 0)
PY
