#!/usr/bin/env python3
"""Per-flow packet and byte totals: tshark's reference against procsniff.

reference FILE
    Prints tshark's per-flow totals for FILE as TSV (key, then packets and
    wire bytes each way). The key is the IP header that carries the payload
    (the innermost of IP-in-IP, GRE, VXLAN and GENEVE tunnels, not an ICMP
    error's quoted packet): its address pair and protocol, the transport
    ports when it carries TCP/UDP/SCTP directly, and the outermost VLAN id.
    IP reassembly is off so every frame counts where it was captured: a
    later fragment belongs to the port-less flow of its address pair.

check --procsniff BIN [--workers N ...] [--known FILE] FILE...
    Runs procsniff -r FILE --json --no-dpi for each worker count and compares
    its flow events, summed per key, with the reference. Also checks that
    every worker count gives exactly the same flow and DPI events. Exit 1 on
    any difference not listed in the known-differences file.

Each frame's key is built from tshark fields only; nothing here looks at
procsniff's output except to compare.
"""
import argparse
import ipaddress
import json
import os
import subprocess
import sys
from collections import defaultdict

FIELDS = [
    "frame.len", "frame.protocols", "vlan.id", "ip.src", "ip.dst", "ip.proto",
    "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.fraghdr.nxt", "tcp.srcport",
    "tcp.dstport", "udp.srcport", "udp.dstport", "sctp.srcport", "sctp.dstport",
]

PROTO_NUM = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "gre": 47,
             "esp": 50, "ah": 51, "ip": 4, "ipv6": 41, "igmp": 2, "pim": 103,
             "vrrp": 112, "ospf": 89}
PROTO_NAME = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "gre": 47,
              "esp": 50}
PORTED = {6: "tcp", 17: "udp", 132: "sctp"}


def first(v):
    return v.split(",")[0] if v else ""


def canon(src, sport, dst, dport, proto, vlan):
    """Canonical key and whether src is endpoint a."""
    a = (ipaddress.ip_address(src).packed, sport)
    b = (ipaddress.ip_address(dst).packed, dport)
    if a <= b:
        return (src, sport, dst, dport, proto, vlan), True
    return (dst, dport, src, sport, proto, vlan), False


LINK_GLUE = {"eth", "ethertype", "vlan", "ppp", "mpls", "pppoes", "vxlan", "geneve"}


def net_layer(protos):
    """Index of the network layer that makes the flow: the outermost IP
    header, followed into the tunnels procsniff decodes (IP in IP, GRE,
    VXLAN and GENEVE over UDP), never into an ICMP error's quoted packet."""
    i = next((k for k, p in enumerate(protos) if p in ("ip", "ipv6")), None)
    if i is None:
        return None
    while True:
        j = i + 1
        while j < len(protos) and protos[j].startswith("ipv6."):
            j += 1
        if j >= len(protos):
            return i
        nxt = protos[j]
        if nxt in ("ip", "ipv6"):
            i = j
            continue
        if nxt == "gre" or (nxt == "udp" and j + 1 < len(protos)
                            and protos[j + 1] in ("vxlan", "geneve")):
            k = j + 1
            while k < len(protos) and protos[k] in LINK_GLUE:
                k += 1
            if k < len(protos) and protos[k] in ("ip", "ipv6"):
                i = k
                continue
        return i


def nth(value, n):
    vals = value.split(",") if value else []
    return vals[n] if n < len(vals) else ""


def frame_key(f):
    protos = f["frame.protocols"].split(":")
    net = net_layer(protos)
    if net is None:
        return None
    kind = protos[net]
    occ = protos[:net].count(kind)
    if kind == "ip":
        src, dst = nth(f["ip.src"], occ), nth(f["ip.dst"], occ)
        if not src or not dst or not nth(f["ip.proto"], occ):
            return None
        proto = int(nth(f["ip.proto"], occ))
    else:
        src, dst = nth(f["ipv6.src"], occ), nth(f["ipv6.dst"], occ)
        if not src or not dst:
            return None
        proto = None
    j = net + 1
    while j < len(protos) and protos[j].startswith("ipv6."):
        j += 1
    nxt = protos[j] if j < len(protos) else None
    if proto is None:
        if nxt in PROTO_NUM:
            proto = PROTO_NUM[nxt]
        elif "ipv6.fraghdr" in protos[net + 1:j]:
            proto = int(nth(f["ipv6.fraghdr.nxt"], protos[:net].count("ipv6.fraghdr")))
        elif f["ipv6.nxt"]:
            proto = int(nth(f["ipv6.nxt"], occ))
        else:
            return None
    sport = dport = 0
    if proto in PORTED and nxt == PORTED[proto]:
        name = PORTED[proto]
        tocc = protos[:j].count(name)
        sp, dp = nth(f[name + ".srcport"], tocc), nth(f[name + ".dstport"], tocc)
        if sp and dp:
            sport, dport = int(sp), int(dp)
    vlan = int(first(f["vlan.id"])) if f["vlan.id"] else 0
    return canon(src, sport, dst, dport, proto, vlan)


def reference(path):
    cmd = ["tshark", "-r", path, "-n", "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in FIELDS:
        cmd += ["-e", name]
    env = dict(os.environ, WIRESHARK_CONFIG_DIR="/nonexistent")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    totals = defaultdict(lambda: [0, 0, 0, 0])
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        f = dict(zip(FIELDS, cols))
        k = frame_key(f)
        if k is None:
            continue
        key, src_is_a = k
        t = totals[key]
        d = 0 if src_is_a else 2
        t[d] += 1
        t[d + 1] += int(f["frame.len"])
    return totals


def ours(binary, path, workers, extra=()):
    cmd = [binary, "-r", path, "--json", "--no-dpi", "-W", str(workers), "-q", "--no-pin",
           *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}: {out.stderr.strip()}")
    totals = defaultdict(lambda: [0, 0, 0, 0])
    stats = None
    for line in out.stdout.splitlines():
        ev = json.loads(line)
        if ev["event"] == "stats" and ev["worker"] == "all":
            stats = ev
        if ev["event"] != "flow":
            continue
        proto = PROTO_NAME.get(ev["proto"])
        if proto is None:
            proto = int(ev["proto"])
        key, src_is_a = canon(ev["src"], ev.get("sport", 0), ev["dst"], ev.get("dport", 0),
                              proto, ev["vlan"])
        t = totals[key]
        c2s = (ev["pkts_c2s"], ev["bytes_c2s"])
        s2c = (ev["pkts_s2c"], ev["bytes_s2c"])
        ab, ba = (c2s, s2c) if src_is_a else (s2c, c2s)
        t[0] += ab[0]
        t[1] += ab[1]
        t[2] += ba[0]
        t[3] += ba[1]
    return totals, stats


def events(binary, path, workers):
    """procsniff's flow and DPI events (DPI on), sorted: the run's result
    independent of output order."""
    cmd = [binary, "-r", path, "--json", "-W", str(workers), "-q", "--no-pin"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return sorted(l for l in out.stdout.splitlines() if '"event":"stats"' not in l)


def fmt_key(k):
    return f"{k[0]}:{k[1]} <-> {k[2]}:{k[3]} proto {k[4]} vlan {k[5]}"


def compare(ref, got):
    diffs = []
    for k in sorted(set(ref) | set(got), key=str):
        r, g = ref.get(k), got.get(k)
        if r != g:
            diffs.append(f"{fmt_key(k)}: tshark {r} procsniff {g}")
    return diffs


def load_known(path):
    known = {}
    if path and os.path.exists(path):
        with open(path) as fh:
            for line in fh:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                name, _, reason = line.partition("\t")
                known[name] = reason
    return known


CAPTURE_EXT = (".pcap", ".pcapng", ".cap")


def discover(corpus):
    found = []
    for root, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if d != "malformed")
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(CAPTURE_EXT)]
    return found


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reference")
    r.add_argument("file")
    c = sub.add_parser("check")
    c.add_argument("--procsniff", required=True)
    c.add_argument("--workers", type=int, action="append")
    c.add_argument("--known")
    c.add_argument("--corpus", help="directory the file names are relative to")
    c.add_argument("--discover", action="store_true",
                   help="check every capture under --corpus except malformed/")
    c.add_argument("files", nargs="*")
    args = ap.parse_args()

    if args.cmd == "reference":
        for k, t in sorted(reference(args.file).items(), key=lambda kv: str(kv[0])):
            print("\t".join(str(x) for x in (*k, *t)))
        return 0

    known = load_known(args.known)
    workers = args.workers or [1, 2]
    if args.discover:
        if not args.corpus or not os.path.isdir(args.corpus):
            print(f"corpus directory {args.corpus} not found")
            return 1
        args.files = discover(args.corpus)
    failed = passed = skipped = evicting = 0
    for path in args.files:
        name = os.path.relpath(path, args.corpus) if args.corpus else path
        # Whatever the worker count, a file gives the same flows and events.
        base = events(args.procsniff, path, workers[0])
        for w in workers[1:]:
            other = events(args.procsniff, path, w)
            if other == base:
                passed += 1
                print(f"ok      {name} workers={w}: same {len(base)} events as workers={workers[0]}")
            else:
                failed += 1
                diff = sorted(set(base) ^ set(other))
                print(f"FAIL    {name} workers={w}: {len(diff)} events differ from workers={workers[0]}")
                for d in diff[:5]:
                    print(f"        {d[:200]}")
        ref = reference(path)
        # Last run: a tiny flow table, so flows are evicted and reported in
        # pieces; their pieces must still add up to tshark's totals.
        runs = [(w, ()) for w in workers] + [(workers[0], ("--max-flows", "3"))]
        for w, extra in runs:
            got, stats = ours(args.procsniff, path, w, extra)
            diffs = compare(ref, got)
            label = f"workers={w}" + (" " + " ".join(extra) if extra else "")
            if extra and stats and stats.get("flows_evicted"):
                evicting += 1
            if not diffs:
                passed += 1
                print(f"ok      {name} {label} flows={len(ref)}")
            elif name in known:
                skipped += 1
                print(f"known   {name} {label}: {known[name]} ({len(diffs)} flows differ)")
            else:
                failed += 1
                print(f"FAIL    {name} {label}: {len(diffs)} flows differ")
                for d in diffs[:10]:
                    print(f"        {d}")
    for name in known:
        if args.corpus and not os.path.exists(os.path.join(args.corpus, name)):
            print(f"note: known difference for missing capture {name}")
    if args.files and not evicting:
        failed += 1
        print("FAIL    no capture evicted a flow with --max-flows 3: eviction went untested")
    else:
        print(f"note: {evicting} captures evicted flows with --max-flows 3, totals still equal")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
