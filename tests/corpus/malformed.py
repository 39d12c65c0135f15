#!/usr/bin/env python3
"""Runs procsniff over every capture in the corpus's malformed/ folder.

Each run must exit 0, write well-formed JSON lines ending in final stats, and
account for every packet libpcap can read from the file (tcpdump's count):
processed packets are either decoded or counted as malformed, never lost.
Across the folder some packets must be counted as malformed. A sanitizer
build aborts with a non-zero status on any report, which fails the run.
"""
import json
import os
import subprocess
import sys


def pcap_count(path):
    out = subprocess.run(["tcpdump", "-nr", path, "-q"], capture_output=True, text=True,
                         timeout=60)
    return len([l for l in out.stdout.splitlines() if l.strip()])


def main():
    binary, corpus = sys.argv[1], sys.argv[2]
    folder = os.path.join(corpus, "malformed")
    if not os.path.isdir(folder):
        print(f"{folder} not found")
        return 1
    passed = failed = 0
    malformed_total = 0
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        expect = pcap_count(path)
        for workers in (1, 2):
            cmd = [binary, "-r", path, "--json", "-q", "--no-pin", "-W", str(workers)]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            problems = []
            if out.returncode != 0:
                problems.append(f"exit status {out.returncode}: {out.stderr.strip()[-300:]}")
            final = None
            try:
                for line in out.stdout.splitlines():
                    ev = json.loads(line)
                    if ev.get("event") == "stats" and ev.get("worker") == "all":
                        final = ev
            except ValueError as e:
                problems.append(f"bad JSON line: {e}")
            if not final or not final.get("final"):
                problems.append("no final stats")
            elif final["packets"] != expect:
                problems.append(f"packets {final['packets']} != tcpdump's {expect}")
            if problems:
                failed += 1
                print(f"FAIL {name} workers={workers}: " + "; ".join(problems))
            else:
                passed += 1
                if workers == 1:
                    malformed_total += final["malformed"]
                print(f"ok   {name} workers={workers} packets={final['packets']} "
                      f"malformed={final['malformed']}")
    if malformed_total == 0:
        failed += 1
        print("FAIL no packet in malformed/ was counted as malformed")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
