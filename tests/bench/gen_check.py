#!/usr/bin/env python3
"""Checks procsniff-gen's frames with tshark as the reference dissector.

Writes a small pcap with every application mix, then asks tshark (with
IPv4/TCP/UDP checksum validation on) whether the frames are what the
generator promises: valid checksums, consistent TCP sequence numbers,
HTTP/DNS/TLS/QUIC/SSH fields readable where the naming scheme puts them,
and bulk frame sizes exactly the requested mix.
Usage: gen_check.py PROCSNIFF_GEN   (exit 0 pass, 1 fail, 77 skip)
"""
import collections
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
             "-o", "udp.check_checksum:TRUE"]
failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def tshark(path, fields, dfilter=None):
    cmd = ["tshark", "-n", "-r", path] + CHECKSUMS + ["-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    if dfilter:
        cmd += ["-Y", dfilter]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit(f"tshark failed: {r.stderr}")
    return [line.split("\t") for line in r.stdout.splitlines()]


def site_of(client_ip):
    """Generator naming scheme: flow f < 65000 has client 198.18.0.0 + 1 + f
    and names site<f % 1000>.example.com."""
    flow = int(ipaddress.ip_address(client_ip)) - int(ipaddress.ip_address("198.18.0.1"))
    return f"site{flow % 1000}.example.com"


def main():
    gen = sys.argv[1]
    if not shutil.which("tshark"):
        print("tshark not installed: skip")
        return 77
    tmp = tempfile.mkdtemp(prefix="psbench-gencheck-")
    try:
        app = os.path.join(tmp, "app.pcap")
        subprocess.run([gen, "--write", app, "-c", "4000", "-n", "200", "-a", "100",
                        "-s", "3", "-q"], check=True, timeout=30, stdout=subprocess.DEVNULL)
        bulk = os.path.join(tmp, "bulk.pcap")
        subprocess.run([gen, "--write", bulk, "-c", "1200", "-n", "100", "-a", "0", "-m",
                        "imix", "-s", "3", "-q"], check=True, timeout=30,
                       stdout=subprocess.DEVNULL)

        # Checksums: tshark marks a bad one with status 0 (1 good, 2 unverified).
        for path in (app, bulk):
            rows = tshark(path, ["frame.number"],
                          "ip.checksum.status != 1 or tcp.checksum.status == 0 or "
                          "udp.checksum.status == 0 or _ws.malformed or "
                          "_ws.expert.severity >= 0x00600000 or "
                          "(tcp.analysis.flags and not tcp.analysis.reused_ports)")
            if rows:
                fail(f"{os.path.basename(path)}: {len(rows)} frames with a bad checksum, "
                     f"malformed, a warning (e.g. QUIC decryption) or a TCP sequence "
                     f"problem, first {rows[0][0]}")
            good = tshark(path, ["frame.number"],
                          "tcp.checksum.status == 1 or udp.checksum.status == 1")
            total = tshark(path, ["frame.number"])
            if len(good) != len(total):
                fail(f"{os.path.basename(path)}: {len(good)} of {len(total)} L4 checksums good")

        # Bulk IMIX: frame sizes exactly 64/576/1500 in 7:4:1.
        sizes = collections.Counter(int(r[0]) for r in tshark(bulk, ["frame.len"]))
        if sizes != {64: 700, 576: 400, 1500: 100}:
            fail(f"imix sizes {dict(sizes)} != 700x64, 400x576, 100x1500")

        # Application fields where the naming scheme says they are.
        seen = collections.Counter()
        for src, dst, host, uri in tshark(app, ["ip.src", "ip.dst", "http.host",
                                                 "http.request.uri"], "http.request"):
            seen["http"] += 1
            if host != site_of(src) or not uri.startswith("/bench/"):
                fail(f"http: host {host} uri {uri} from {src}")
        for r in tshark(app, ["http.response.code"], "http.response"):
            if r[0] != "200":
                fail(f"http response code {r[0]}")
        for src, dst, resp, name, rcode in tshark(
                app, ["ip.src", "ip.dst", "dns.flags.response", "dns.qry.name",
                      "dns.flags.rcode"], "dns"):
            seen["dns"] += 1
            client = dst if resp in ("1", "True") else src
            if name != site_of(client):
                fail(f"dns: name {name} for client {client}")
        for src, sni, alpn in tshark(app, ["ip.src", "tls.handshake.extensions_server_name",
                                           "tls.handshake.extensions_alpn_str"],
                                     "tcp and tls.handshake.type == 1"):
            seen["tls"] += 1
            if sni != site_of(src) or alpn != "h2,http/1.1":
                fail(f"tls: sni {sni} alpn {alpn} from {src}")
        for (suite,) in tshark(app, ["tls.handshake.ciphersuite"],
                               "tcp and tls.handshake.type == 2"):
            seen["tls-sh"] += 1
            if suite != "0x1301":
                fail(f"tls server hello suite {suite}")
        for ver, dcid_len in tshark(app, ["quic.version", "quic.dcil"],
                                    "quic.long.packet_type == 0"):
            seen["quic"] += 1
            if ver != "0x00000001" or dcid_len != "8":
                fail(f"quic: version {ver} dcid length {dcid_len}")
        # tshark decrypts Initials with the RFC 9001 keys: the SNI is inside.
        for sni, alpn in tshark(app, ["tls.handshake.extensions_server_name",
                                      "tls.handshake.extensions_alpn_str"],
                                "quic and tls.handshake.type == 1"):
            seen["quic-sni"] += 1
            if not re.fullmatch(r"site\d+\.example\.com", sni) or alpn != "h3":
                fail(f"quic: sni {sni} alpn {alpn}")
        for (suite,) in tshark(app, ["tls.handshake.ciphersuite"],
                               "quic and tls.handshake.type == 2"):
            seen["quic-sh"] += 1
            if suite != "0x1301":
                fail(f"quic server hello suite {suite}")
        for (proto,) in tshark(app, ["ssh.protocol"], "ssh.protocol"):
            seen["ssh"] += 1
            if not proto.startswith("SSH-2.0-"):
                fail(f"ssh banner {proto}")
        for k in ("http", "dns", "tls", "tls-sh", "quic", "quic-sni", "quic-sh", "ssh"):
            if seen[k] == 0:
                fail(f"no {k} messages found by tshark")
        print("tshark saw:", dict(seen))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
