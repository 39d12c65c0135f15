#!/usr/bin/env python3
"""Compare procsniff's DPI events with tshark's reference dissection.

For every capture of the corpus outside malformed/, runs
    procsniff -r FILE --json -W 1
and compares its events with NAME.tshark.tsv and NAME.tshark-fp.tsv field by
field: HTTP method/host/uri/status, DNS qname/qtype/rcode, TLS
sni/alpn/version/cipher/JA3/JA3S, QUIC version/dcid/scid, SSH protocol and
HASSH (QUIC: the client's first Initial of each connection). Records are matched by flow (addresses and ports, either way round),
kind (request, response, ClientHello, ...) and sending side, then by order
within that sequence: tshark's frame numbers mean nothing to us.

The default per-flow budget is used (--dpi-budget to change it): the
comparison checks what a user gets from a default run.

Prints a per-protocol agreement table and the disagreements, and exits 1 when
a protocol agrees on less than --threshold percent of tshark's records and
some of its disagreements are not listed in known-differences.tsv (columns:
file, protocol, field, reason; file and field may use shell wildcards; field
"missing" means a record tshark has and we do not). Exits 77 (skip) when the
corpus directory does not exist.

Usage: compare.py --procsniff BIN --corpus DIR [--known FILE] [--only SUBSTR]
"""
import argparse
import fnmatch
import ipaddress
import json
import os
import subprocess
import sys

PROTOCOLS = ["http", "dns", "tls", "quic", "ssh"]

DNS_TYPES = {
    "A": 1, "NS": 2, "MD": 3, "MF": 4, "CNAME": 5, "SOA": 6, "MB": 7, "MG": 8,
    "MR": 9, "NULL": 10, "WKS": 11, "PTR": 12, "HINFO": 13, "MINFO": 14,
    "MX": 15, "TXT": 16, "RP": 17, "AFSDB": 18, "SIG": 24, "KEY": 25,
    "AAAA": 28, "LOC": 29, "NXT": 30, "SRV": 33, "NAPTR": 35, "KX": 36,
    "CERT": 37, "A6": 38, "DNAME": 39, "OPT": 41, "APL": 42, "DS": 43,
    "SSHFP": 44, "IPSECKEY": 45, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48,
    "DHCID": 49, "NSEC3": 50, "NSEC3PARAM": 51, "TLSA": 52, "SMIMEA": 53,
    "HIP": 55, "CDS": 59, "CDNSKEY": 60, "OPENPGPKEY": 61, "CSYNC": 62,
    "ZONEMD": 63, "SVCB": 64, "HTTPS": 65, "SPF": 99, "TKEY": 249,
    "TSIG": 250, "IXFR": 251, "AXFR": 252, "MAILB": 253, "MAILA": 254,
    "ANY": 255, "URI": 256, "CAA": 257,
}
DNS_RCODES = {
    "NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4,
    "REFUSED": 5, "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9,
    "NOTZONE": 10,
}

# Reference columns of NAME.tshark.tsv (see the corpus README).
C_FRAME, C_IP_SRC, C_IP6_SRC, C_TCP_SPORT, C_UDP_SPORT = 0, 1, 2, 3, 4
C_IP_DST, C_IP6_DST, C_TCP_DPORT, C_UDP_DPORT = 5, 6, 7, 8
C_METHOD, C_HOST, C_URI, C_STATUS = 9, 10, 11, 12
C_QNAME, C_QTYPE, C_RCODE = 13, 14, 15
C_SNI, C_ALPN, C_TLSVER, C_CIPHER, C_HSTYPE = 16, 17, 18, 19, 20
C_QUICVER, C_DCID, C_SCID, C_SSH = 22, 23, 24, 25
# NAME.tshark-fp.tsv: the same nine tuple columns, then these.
F_HSTYPE, F_JA3, F_JA3S, F_HASSH, F_HASSHSRV = 9, 10, 12, 14, 16


def norm_addr(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def last(s):
    """Tunnelled packets list outer then inner values: keep the inner."""
    return s.split(",")[-1] if s else s


def flow_key(l4, a, ap, b, bp):
    ea = (norm_addr(a), int(ap))
    eb = (norm_addr(b), int(bp))
    return (l4, min(ea, eb), max(ea, eb))


def split_n(s, n):
    """Splits a comma-joined tshark value into n parts, or None if that is
    ambiguous (values containing commas, or some values absent)."""
    if n == 1:
        return [s]
    parts = s.split(",") if s else []
    return parts if len(parts) == n else [None] * n


def inner_family(stack):
    """From tshark's protocol stack: which IP header carries the payload
    ("ip" or "ipv6") and its index among headers of that family, stopping at
    an ICMP error's quoted packet. None when unknown."""
    if not stack:
        return None
    toks = stack.split(":")
    for stop in ("icmp", "icmpv6"):
        if stop in toks:
            toks = toks[:toks.index(stop)]
    idx = [i for i, t in enumerate(toks) if t in ("ip", "ipv6")]
    if not idx:
        return None
    fam = toks[idx[-1]]
    return fam, toks[:idx[-1]].count(fam)


def quoted(stack):
    """An ICMP error quoting a packet: tshark dissects the quote as if it
    were traffic; it is not, and we do not inspect it."""
    toks = stack.split(":")
    for stop in ("icmp", "icmpv6"):
        if stop in toks and any(t in ("ip", "ipv6") for t in toks[toks.index(stop):]):
            return True
    return False


def nth(s, n):
    parts = s.split(",") if s else []
    return parts[n] if n < len(parts) else ""


def tuple_of(cols, stack=None):
    src = last(cols[C_IP_SRC]) or last(cols[C_IP6_SRC])
    dst = last(cols[C_IP_DST]) or last(cols[C_IP6_DST])
    if stack and quoted(stack):
        return None
    inner = inner_family(stack)
    if inner:
        fam, n = inner
        s_col, d_col = (C_IP_SRC, C_IP_DST) if fam == "ip" else (C_IP6_SRC, C_IP6_DST)
        src, dst = nth(cols[s_col], n) or src, nth(cols[d_col], n) or dst
    if cols[C_TCP_SPORT]:
        l4, sp, dp = "tcp", last(cols[C_TCP_SPORT]), last(cols[C_TCP_DPORT])
    elif cols[C_UDP_SPORT]:
        l4, sp, dp = "udp", last(cols[C_UDP_SPORT]), last(cols[C_UDP_DPORT])
    else:
        return None
    if not src or not dst or not sp or not dp:
        return None
    return flow_key(l4, src, sp, dst, dp), (norm_addr(src), int(sp))


def read_tsv(path, width):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            cols += [""] * (width - len(cols))
            rows.append(cols)
    return rows


def reference(path):
    """Returns {(flow, proto, kind, src): [(frame, {field: value})]}."""
    seqs = {}
    fp = {}
    for cols in read_tsv(path + ".tshark-fp.tsv", 18):
        fp[cols[0]] = cols
    stacks = {}
    for cols in read_tsv(path + ".tshark-protos.tsv", 4):
        stacks[cols[0]] = cols[3]

    def add(t, proto, kind, frame, fields):
        seqs.setdefault((t[0], proto, kind, t[1]), []).append((frame, fields))

    for cols in read_tsv(path + ".tshark.tsv", 26):
        t = tuple_of(cols, stacks.get(cols[C_FRAME]))
        if not t:
            continue
        frame = cols[C_FRAME]
        if cols[C_METHOD]:
            methods = cols[C_METHOD].split(",")
            n = len(methods)
            hosts = split_n(cols[C_HOST], n)
            uris = split_n(cols[C_URI], n)
            for i in range(n):
                add(t, "http", "request", frame,
                    {"method": methods[i], "host": hosts[i], "uri": uris[i]})
        if cols[C_STATUS]:
            for code in cols[C_STATUS].split(","):
                add(t, "http", "response", frame, {"status": code})
        if cols[C_QUICVER]:
            add(t, "quic", "initial", frame, {
                "version": cols[C_QUICVER].split(",")[0],
                "dcid": cols[C_DCID].split(",")[0],
                "scid": cols[C_SCID].split(",")[0]})
        elif cols[C_QTYPE] or cols[C_RCODE]:
            qtypes = cols[C_QTYPE].split(",") if cols[C_QTYPE] else []
            rcodes = cols[C_RCODE].split(",") if cols[C_RCODE] else []
            if t[0][0] == "udp":
                # One datagram, one message: its questions are joined, and
                # we report the first.
                n = 1
                names = [cols[C_QNAME].split(",")[0] if cols[C_QNAME] else ""]
                qtypes, rcodes = qtypes[:1], rcodes[:1]
            else:
                # Several messages per segment; assume one question each.
                n = max(len(qtypes), len(rcodes))
                names = split_n(cols[C_QNAME], n)
            for i in range(n):
                f = {"qname": names[i],
                     "qtype": qtypes[i] if len(qtypes) == n else None}
                if rcodes:
                    f["rcode"] = rcodes[i] if len(rcodes) == n else None
                add(t, "dns", "response" if rcodes else "query", frame, f)
        types = cols[C_HSTYPE].split(",") if cols[C_HSTYPE] else []
        if types and not cols[C_QUICVER]:
            fpc = fp.get(frame, [""] * 18)
            if "1" in types:
                add(t, "tls", "client_hello", frame, {
                    "sni": cols[C_SNI], "alpn": cols[C_ALPN],
                    "ciphers": cols[C_CIPHER] if "2" not in types else None,
                    "ja3": fpc[F_JA3].split(",")[0] or None})
            if "2" in types:
                ver = cols[C_TLSVER].split(",")
                cip = cols[C_CIPHER].split(",")
                add(t, "tls", "server_hello", frame, {
                    "version": ver[-1] if ver else None,
                    "cipher": cip[-1] if "1" not in types else None,
                    "ja3s": fpc[F_JA3S].split(",")[0] or None})
        if cols[C_SSH]:
            add(t, "ssh", "banner", frame, {"protocol": cols[C_SSH]})
    for frame, cols in fp.items():
        t = tuple_of(cols, stacks.get(frame))
        if t and (cols[F_HASSH] or cols[F_HASSHSRV]):
            add(t, "ssh", "kexinit", frame,
                {"hassh": cols[F_HASSH] or cols[F_HASSHSRV]})
    for k in seqs:
        seqs[k].sort(key=lambda r: int(r[0]))
    # QUIC: tshark lists every Initial of both sides; we report the client's
    # first Initial of a connection (what identifies it). Keep that one.
    first = {}
    for k in [k for k in seqs if k[1] == "quic"]:
        rec = seqs.pop(k)[0]
        if k[0] not in first or int(rec[0]) < int(first[k[0]][1][0]):
            first[k[0]] = (k, rec)
    for k, rec in first.values():
        seqs[k] = [rec]
    return seqs


def hexver(v):
    if isinstance(v, int):
        return "0x%08x" % v
    return v


def ours(lines):
    """Our events as {(flow, proto, kind, src): [fields]}."""
    seqs = {}
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        ev = e.get("event", "")
        if "src" not in e or "dir" not in e:
            continue
        l4 = e.get("proto") if e.get("proto") in ("tcp", "udp") else None
        if ev.startswith("ssh_"):
            l4 = "tcp"
        if not l4:
            continue
        key = flow_key(l4, e["src"], e["sport"], e["dst"], e["dport"])
        src = ((norm_addr(e["src"]), int(e["sport"])) if e["dir"] == "c2s"
               else (norm_addr(e["dst"]), int(e["dport"])))
        rec = None
        if ev == "http_request":
            rec = ("http", "request", {"method": e.get("method"),
                                       "host": e.get("host"),
                                       "uri": e.get("uri")})
        elif ev == "http_response":
            st = e.get("status")
            rec = ("http", "response", {"status": None if st is None else str(st)})
        elif ev in ("dns_query", "dns_response"):
            qt = e.get("qtype")
            if isinstance(qt, str):
                qt = str(DNS_TYPES.get(qt, qt[4:] if qt.startswith("TYPE") else qt))
            f = {"qname": e.get("qname"), "qtype": qt}
            if ev == "dns_response":
                rc = e.get("rcode")
                if isinstance(rc, str):
                    rc = str(DNS_RCODES.get(rc, rc[5:] if rc.startswith("RCODE") else rc))
                f["rcode"] = rc
            rec = ("dns", ev[4:], f)
        elif ev == "tls_client_hello":
            rec = ("tls", "client_hello", {
                "sni": e.get("sni"), "alpn": ",".join(e.get("alpn") or []),
                "ciphers": ",".join(e.get("ciphers") or []), "ja3": e.get("ja3")})
        elif ev == "tls_server_hello":
            # tshark's tls.handshake.version is the legacy_version field;
            # compare with ours if reported, else accept a TLS 1.3 (or
            # draft) version where the legacy field must say 0x0303.
            ver = e.get("legacy_version")
            if ver is None:
                ver = e.get("version")
                if isinstance(ver, str) and (ver == "0x0304" or ver.startswith("0xfb") or (
                        ver.startswith("0x7f") and int(ver, 16) >= 0x7f16)):
                    ver = "0x0303"
            rec = ("tls", "server_hello", {
                "version": ver, "cipher": e.get("cipher"), "ja3s": e.get("ja3s")})
        elif ev.startswith("quic") and "version" in e and ev != "quic_version_negotiation":
            rec = ("quic", "initial", {"version": hexver(e.get("version")),
                                       "dcid": e.get("dcid"), "scid": e.get("scid")})
        elif ev == "ssh_banner":
            p = "SSH-%s-%s" % (e.get("version"), e.get("software"))
            if e.get("comments") is not None:
                p += " " + e["comments"]
            rec = ("ssh", "banner", {"protocol": p})
        elif ev == "ssh_kexinit":
            rec = ("ssh", "kexinit", {"hassh": e.get("hassh") or e.get("hassh_server")})
        if rec:
            seqs.setdefault((key, rec[0], rec[1], src), []).append(rec[2])
    return seqs


def text(v):
    """tshark prints bytes that are not UTF-8 as U+FFFD; we print every byte
    >= 0x80 as a \\u00XX escape (its Latin-1 code point). Bring both to the same form:
    the original bytes read as UTF-8, each run of U+FFFD folded to one."""
    try:
        v = v.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:
        pass
    out = []
    for ch in v:
        if ch == "\ufffd" and out and out[-1] == ch:
            continue
        out.append(ch)
    return "".join(out)


def same(ref, our):
    if ref is None:
        return True  # ambiguous in the reference: not compared
    if our is None:
        our = ""
    return text(str(ref)) == text(str(our))


class Known:
    def __init__(self, path):
        self.rules = []
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if not line.strip() or line.startswith("#"):
                        continue
                    cols = line.rstrip("\n").split("\t")
                    if len(cols) >= 3 and cols[0] != "file":
                        self.rules.append((cols[0], cols[1], cols[2]))

    def covers(self, rel, proto, field):
        for f, p, fl in self.rules:
            if (fnmatch.fnmatch(rel, f) or fnmatch.fnmatch(os.path.basename(rel), f)) \
                    and fnmatch.fnmatch(proto, p) and fnmatch.fnmatch(field, fl):
                return True
        return False


def captures(corpus, only):
    for d in sorted(os.listdir(corpus)):
        full = os.path.join(corpus, d)
        if d == "malformed" or not os.path.isdir(full):
            continue
        for name in sorted(os.listdir(full)):
            if name.endswith(".tsv"):
                continue
            path = os.path.join(full, name)
            if not os.path.exists(path + ".tshark.tsv"):
                continue
            rel = os.path.join(d, name)
            if only and only not in rel:
                continue
            yield rel, path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procsniff", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--known", default=os.path.join(os.path.dirname(__file__),
                                                    "known-differences.tsv"))
    ap.add_argument("--dpi-budget", type=int, default=0, help="0: procsniff's default")
    ap.add_argument("--threshold", type=float, default=99.0)
    ap.add_argument("--only", help="only captures whose path contains this")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--verbose", "-v", action="store_true")
    a = ap.parse_args()

    if not os.path.isdir(a.corpus):
        print("compare: corpus %s not found: skipped" % a.corpus)
        return 77
    known = Known(a.known)
    stats = {p: [0, 0] for p in PROTOCOLS}  # compared, agreed
    extra = {p: 0 for p in PROTOCOLS}
    disagreements = []  # (rel, proto, field, detail, known)
    errors = []

    for rel, path in captures(a.corpus, a.only):
        cmd = [a.procsniff, "-r", path, "--json", "-W", "1", "-q"]
        if a.dpi_budget:
            cmd += ["--dpi-budget", str(a.dpi_budget)]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=a.timeout)
        except subprocess.TimeoutExpired:
            errors.append("%s: procsniff timed out" % rel)
            continue
        if r.returncode != 0:
            errors.append("%s: procsniff exited %d: %s" % (
                rel, r.returncode, r.stderr.decode(errors="replace")[-500:]))
            continue
        ref = reference(path)
        got = ours(r.stdout.decode(errors="replace").splitlines())
        for key, recs in ref.items():
            flow, proto, kind, src = key
            mine = got.get(key, [])
            for i, (frame, fields) in enumerate(recs):
                stats[proto][0] += 1
                where = "frame %s %s %s:%d #%d" % (frame, kind, src[0], src[1], i + 1)
                if i >= len(mine):
                    k = known.covers(rel, proto, "missing")
                    disagreements.append((rel, proto, "missing", where + ": not reported", k))
                    continue
                ok = True
                for fld, val in fields.items():
                    if not same(val, mine[i].get(fld)):
                        ok = False
                        k = known.covers(rel, proto, fld)
                        disagreements.append((rel, proto, fld, "%s: tshark %r, ours %r" % (
                            where, val, mine[i].get(fld)), k))
                if ok:
                    stats[proto][1] += 1
        for key, recs in got.items():
            n = len(ref.get(key, []))
            if len(recs) > n:
                extra[key[1]] += len(recs) - n
                if a.verbose:
                    print("  extra: %s %s %s %s: %d more than tshark" % (
                        rel, key[1], key[2], key[3], len(recs) - n))

    print("protocol  records  agreed      %   extra (ours only)")
    failed = []
    for p in PROTOCOLS:
        n, ok = stats[p]
        pct = 100.0 * ok / n if n else 100.0
        print("%-8s %8d %8d %6.2f %7d" % (p, n, ok, pct, extra[p]))
        unknown = [d for d in disagreements if d[1] == p and not d[4]]
        if pct < a.threshold and unknown:
            failed.append(p)
    if disagreements:
        print("\ndisagreements (K = listed in known-differences.tsv):")
        for rel, proto, fld, detail, k in disagreements:
            print("  %s %s %s %s: %s" % ("K" if k else "-", rel, proto, fld, detail))
    for e in errors:
        print("error: " + e)
    if errors:
        return 1
    if failed:
        print("\nFAIL: under %.0f%% with unexplained disagreements: %s" % (
            a.threshold, ", ".join(failed)))
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
