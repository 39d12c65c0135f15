#!/usr/bin/env python3
"""procsniff benchmark harness.

Creates two network namespaces joined by a veth pair (198.18.0.0/15), sends
traffic with procsniff-gen from one side and runs capture tools on the other
side, one tool per generator run (identical runs: same seed, mix, flows, rate
and duration), and reports what the interface delivered against what each
tool saw. Namespaces are named psbench-<pid>-gen/-cap and are always deleted
(finally blocks plus SIGINT/SIGTERM handlers). Every subprocess has a timeout.

Modes (see bench/README.md):
  --quick           smoke sweep (< 2 min) with accounting checks; exit 1 if a check fails
  --mode sweep      mixes x rates x tools (live)
  --mode claims     1 Gbit/s IMIX and 512 B for procsniff -W 2, 30 s each, and
                    the 64 B zero-loss search for procsniff -W 2 and tcpdump
  --mode search     highest zero-loss rate at 64 B for each tool
  --mode offline    1M-packet pcap, procsniff -r vs tcpdump/tshark/ndpiReader
  --mode profile    procsniff --profile: cycles per packet per stage
Results: a markdown table on stdout and bench/results/<timestamp>-<mode>.{md,json}.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GEN_IF = "psg0"
CAP_IF = "psc0"
GEN_MAC = "02:50:53:00:00:01"
# Not the capture side's MAC: frames arrive as PACKET_OTHERHOST, so the
# capture namespace's IP stack drops them at once and never answers (an
# answer would be an outgoing frame that the capture tools also count).
DST_MAC = "02:50:53:00:00:02"
PROCSNIFF_RING_BYTES = 8 * 4 * 1024 * 1024  # procsniff default ring per worker

_children = set()
_namespaces = []


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=30, check=True, capture=True):
    """Runs a short command with a timeout; returns stdout."""
    r = subprocess.run(cmd, timeout=timeout, check=False, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout if capture else ""


class Namespaces:
    """The generator and capture namespaces joined by a veth pair."""

    def __init__(self, pid):
        self.gen = f"psbench-{pid}-gen"
        self.cap = f"psbench-{pid}-cap"

    def create(self):
        for ns in (self.gen, self.cap):
            run(["ip", "netns", "add", ns])
            _namespaces.append(ns)
            # No IPv6: no router solicitations or DAD frames on the link.
            run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                 "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", GEN_IF, "netns", self.gen, "address", GEN_MAC,
             "type", "veth", "peer", "name", CAP_IF, "netns", self.cap])
        run(["ip", "-n", self.gen, "addr", "add", "198.18.255.1/15", "dev", GEN_IF])
        run(["ip", "-n", self.cap, "addr", "add", "198.18.255.2/15", "dev", CAP_IF])
        run(["ip", "-n", self.gen, "link", "set", GEN_IF, "arp", "off", "up"])
        run(["ip", "-n", self.cap, "link", "set", CAP_IF, "arp", "off", "promisc", "on", "up"])

    def set_rps(self, mask):
        """Steers the capture side's receive processing (softirq, packet taps)
        to the CPUs in mask; 0 leaves it on the sending CPU."""
        run(["ip", "netns", "exec", self.cap, "sh", "-c",
             f"echo {mask:x} > /sys/class/net/{CAP_IF}/queues/rx-0/rps_cpus"])

    def delete(self):
        for ns in (self.cap, self.gen):
            if ns in _namespaces:
                subprocess.run(["ip", "netns", "del", ns], timeout=30,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                _namespaces.remove(ns)

    def link_stats(self, ns, ifname):
        out = run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", ifname])
        st = json.loads(out)[0]["stats64"]
        return {"rx_packets": st["rx"]["packets"], "rx_bytes": st["rx"]["bytes"],
                "tx_packets": st["tx"]["packets"], "tx_dropped": st["tx"]["dropped"],
                "rx_dropped": st["rx"]["dropped"]}


def cleanup_all():
    for p in list(_children):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for ns in list(_namespaces):
        subprocess.run(["ip", "netns", "del", ns], timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _namespaces.remove(ns)


def on_signal(sig, _frame):
    log(f"signal {sig}: cleaning up")
    cleanup_all()
    sys.exit(128 + sig)


def cpu_times():
    """Per-CPU (busy, total) jiffies from /proc/stat, plus softirq."""
    res = {}
    with open("/proc/stat") as f:
        for line in f:
            if not re.match(r"cpu\d", line):
                continue
            p = line.split()
            v = [int(x) for x in p[1:]]
            idle = v[3] + v[4]
            res[p[0]] = {"total": sum(v[:8]), "idle": idle, "softirq": v[6], "sys": v[2]}
    return res


def cpu_delta(a, b):
    out = {}
    for k in a:
        tot = b[k]["total"] - a[k]["total"] or 1
        out[k] = {"busy": round(100.0 * (tot - (b[k]["idle"] - a[k]["idle"])) / tot, 1),
                  "softirq": round(100.0 * (b[k]["softirq"] - a[k]["softirq"]) / tot, 1)}
    return out


TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def spawn(cmd, out_path, err_path, ns=None):
    """Starts cmd in its own process group (in namespace ns if given) under
    GNU time when installed: a child forked by python inherits python's
    peak RSS in ru_maxrss, one forked by time does not."""
    full = list(cmd)
    time_path = out_path + ".time"
    if TIME_BIN:
        full = [TIME_BIN, "-o", time_path, "-f", "%M %U %S %e"] + full
    if ns:
        full = ["ip", "netns", "exec", ns] + full
    out = open(out_path, "w")
    err = open(err_path, "w")
    p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    out.close()
    err.close()
    p.time_path = time_path if TIME_BIN else None
    _children.add(p)
    return p


def reap(p, timeout, sig_first=None):
    """Waits for p (sending sig_first first, SIGKILL at the timeout); returns
    (returncode, cpu_seconds, peak_rss_kib, killed). CPU covers the process
    and the children it waited for."""
    if sig_first is not None:
        try:
            os.killpg(p.pid, sig_first)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    killed = False
    nap = 0.001
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.monotonic() > deadline and not killed:
            log(f"timeout: killing {' '.join(p.args[:6])} ...")
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            killed = True
            deadline = time.monotonic() + 10
        elif killed and time.monotonic() > deadline:
            raise RuntimeError("process did not die after SIGKILL")
        time.sleep(nap)
        nap = min(nap * 2, 0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    _children.discard(p)
    cpu, rss = ru.ru_utime + ru.ru_stime, None
    if p.time_path:
        try:
            with open(p.time_path) as f:
                last = f.read().strip().splitlines()[-1].split()
            rss = int(last[0])
            if p.returncode == 0 or len(last) == 4:
                cpu = float(last[1]) + float(last[2])
        except (OSError, IndexError, ValueError):
            pass
    return p.returncode, cpu, rss, killed


def descendants(pid):
    """pid and all its descendants, from one scan of /proc."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def proc_cpu(pids):
    """User + system CPU seconds of pids (all threads), now."""
    ticks = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        v = st[st.rindex(")") + 2:].split()
        ticks += int(v[11]) + int(v[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_ready(p, path, pattern, timeout):
    """Waits until the file at path matches pattern (or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return False
        try:
            with open(path, errors="replace") as f:
                if re.search(pattern, f.read()):
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- tools

class Tool:
    """A capture tool: how to start it, when it is ready, what it saw."""

    name = "?"
    ready_pattern = None
    ready_file = "err"
    settle = 0.0
    stop_timeout = 20  # seconds from SIGINT to SIGKILL

    def __init__(self, cfg):
        self.cfg = cfg

    def command(self, work, duration):
        raise NotImplementedError

    def parse(self, work):
        raise NotImplementedError


class Procsniff(Tool):
    def __init__(self, cfg, workers, dpi=True, profile=False):
        super().__init__(cfg)
        self.workers = workers
        self.dpi = dpi
        self.profile = profile
        self.name = f"procsniff -W {workers}" + ("" if dpi else " --no-dpi")

    def command(self, work, duration):
        cmd = [self.cfg.procsniff, "-i", CAP_IF, "-W", str(self.workers), "--json",
               "--json-file", os.path.join(work, "ps.json"),
               "--duration", str(int(duration + 30)), "--stats-interval", "1"]
        if not self.dpi:
            cmd.append("--no-dpi")
        if self.profile:
            cmd.append("--profile")
        return cmd

    def ready(self, p, work, timeout):
        # Ready when the first stats line is out, else after a fixed 2 s.
        if wait_ready(p, os.path.join(work, "ps.json"), r'"event"\s*:\s*"stats"', timeout):
            return True
        return p.poll() is None

    def parse(self, work):
        return parse_procsniff_json(os.path.join(work, "ps.json"))


def parse_procsniff_json(path):
    final, last = {}, {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if '"stats"' not in line:
                    continue
                try:
                    o = json.loads(line)
                except ValueError:
                    continue
                if o.get("event") != "stats":
                    continue
                w = str(o.get("worker"))
                last[w] = o
                if o.get("final"):
                    final[w] = o
    except FileNotFoundError:
        return {"error": "no JSON output"}
    src = final or last
    if not src:
        return {"error": "no stats objects"}
    workers = {k: v for k, v in src.items() if k != "all"}
    tot = src.get("all")
    if tot is None:
        tot = {}
        for k in ("packets", "bytes", "kernel_drops", "kernel_freezes", "malformed",
                  "flows", "event_drops"):
            tot[k] = sum(int(v.get(k, 0)) for v in workers.values())
    res = {"seen": int(tot.get("packets", 0)), "drops": int(tot.get("kernel_drops", 0)),
           "freezes": int(tot.get("kernel_freezes", 0)),
           "malformed": int(tot.get("malformed", 0)), "flows": tot.get("flows"),
           "event_drops": int(tot.get("event_drops", 0)), "final": bool(final),
           "dpi_events": tot.get("dpi_events"), "queue_drops": tot.get("queue_drops"),
           "per_worker": {k: {f: v.get(f) for f in ("packets", "kernel_drops",
                                                     "kernel_freezes", "malformed", "flows",
                                                     "dpi_events", "event_drops",
                                                     "cycles_decode", "cycles_flow",
                                                     "cycles_dissect", "profiled_packets")
                              if f in v} for k, v in sorted(workers.items())}}
    return res


class Tcpdump(Tool):
    ready_pattern = r"listening on"
    settle = 1.5  # libpcap's TPACKET_V3 blocks retire after its 1 s timeout

    def __init__(self, cfg, buffer_kib=None):
        super().__init__(cfg)
        self.buffer_kib = buffer_kib
        self.name = "tcpdump" + (f" -B {buffer_kib}" if buffer_kib else "")

    def command(self, work, duration):
        cmd = ["tcpdump", "-i", CAP_IF, "-w", "/dev/null"]
        if self.buffer_kib:
            cmd += ["-B", str(self.buffer_kib)]
        return cmd

    def ready(self, p, work, timeout):
        return wait_ready(p, os.path.join(work, "err"), self.ready_pattern, timeout)

    def parse(self, work):
        txt = open(os.path.join(work, "err"), errors="replace").read()
        cap = re.search(r"(\d+) packets? captured", txt)
        rcv = re.search(r"(\d+) packets? received by filter", txt)
        drp = re.search(r"(\d+) packets? dropped by kernel", txt)
        if not cap:
            return {"error": "no statistics on stderr"}
        return {"seen": int(cap.group(1)), "received": int(rcv.group(1)) if rcv else None,
                "drops": int(drp.group(1)) if drp else 0}


class Tshark(Tool):
    settle = 1.5
    # tshark dissects what dumpcap buffered after the traffic ends; past this
    # it is killed and the row says so.
    stop_timeout = 60

    name = "tshark"

    def command(self, work, duration):
        # A statistics tap, so tshark dissects every frame (with -q alone and no
        # tap or filter it only counts them).
        return ["tshark", "-i", CAP_IF, "-q", "-n", "-z", "io,phs"]

    def ready(self, p, work, timeout):
        return wait_ready(p, os.path.join(work, "err"), r"Capturing on", timeout)

    def parse(self, work):
        txt = open(os.path.join(work, "err"), errors="replace").read()
        cap = re.search(r"(\d+) packets? captured", txt)
        drp = re.search(r"(\d+) packets? dropped", txt)
        if not cap:
            return {"error": "no statistics on stderr"}
        return {"seen": int(cap.group(1)), "drops": int(drp.group(1)) if drp else 0}


class Ndpi(Tool):
    name = "ndpiReader"
    settle = 1.5

    def command(self, work, duration):
        return ["ndpiReader", "-i", CAP_IF, "-s", str(int(duration + 30))]

    def ready(self, p, work, timeout):
        if wait_ready(p, os.path.join(work, "out"), r"Capturing live|Running thread", timeout):
            time.sleep(0.5)
        return p.poll() is None

    def parse(self, work):
        txt = open(os.path.join(work, "out"), errors="replace").read()
        tot = re.search(r"of (\d+) packets total", txt)
        drp = re.search(r"[Dd]ropped[^:\n]*:\s*(\d+)", txt)
        if not tot:
            return {"error": "no statistics on stdout"}
        return {"seen": int(tot.group(1)), "drops": int(drp.group(1)) if drp else 0}


def make_tools(cfg, names):
    tools = []
    for n in names:
        if n.startswith("procsniff"):
            if not os.access(cfg.procsniff, os.X_OK):
                log(f"{cfg.procsniff} not built: skipping {n}")
                continue
            m = re.fullmatch(r"procsniff(?:-W(\d+))?(-nodpi)?", n)
            if not m:
                raise SystemExit(f"unknown tool {n} (procsniff-W<N>[-nodpi])")
            tools.append(Procsniff(cfg, int(m.group(1) or 1), dpi=not m.group(2)))
        elif n == "tcpdump":
            tools.append(Tcpdump(cfg))
        elif n == "tcpdump-B":
            tools.append(Tcpdump(cfg, PROCSNIFF_RING_BYTES // 1024))
        elif n == "tshark":
            if shutil.which("tshark"):
                tools.append(Tshark(cfg))
        elif n == "ndpiReader":
            if shutil.which("ndpiReader"):
                tools.append(Ndpi(cfg))
            else:
                log("ndpiReader not installed (apt-get install libndpi-bin): skipping")
        elif n == "none":
            tools.append(None)
        else:
            raise SystemExit(f"unknown tool {n}")
    return tools


# ---------------------------------------------------------------- live runs

def parse_rate(text):
    """'1G' -> (1e9, 'bps'), '100k' or '100kpps' -> (1e5, 'pps'), 'max'."""
    if text == "max":
        return None, "max"
    m = re.fullmatch(r"([\d.]+)([kKmMgG]?)(pps|bps)?", text)
    if not m:
        raise SystemExit(f"bad rate {text}")
    v = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2).lower()]
    return v, m.group(3) or "pps"


def live_run(cfg, ns, tool, mix, rate, duration, extra_gen=(), perf=False):
    """One generator run with one tool (or none) capturing. Returns a row.
    With perf, `perf stat` watches the tool for the generator's run."""
    work = tempfile.mkdtemp(prefix="psbench-", dir=cfg.workdir)
    row = {"mix": mix, "rate": rate, "duration": duration,
           "tool": tool.name if tool else "(none)"}
    p = None
    try:
        if tool:
            p = spawn(tool.command(work, duration), os.path.join(work, "out"),
                      os.path.join(work, "err"), ns=ns.cap)
            if not tool.ready(p, work, 10):
                log(f"{tool.name}: not ready after 10 s; going on")
        pids = descendants(p.pid) if tool else []
        cap0 = ns.link_stats(ns.cap, CAP_IF)
        gen0 = ns.link_stats(ns.gen, GEN_IF)
        t0 = proc_cpu(pids)
        c0 = cpu_times()
        perf_p = None
        if perf and tool and shutil.which("perf"):
            perf_p = spawn(["perf", "stat", "-e",
                            "task-clock,cycles,instructions,cache-misses,branch-misses",
                            "-p", ",".join(str(x) for x in pids[1:] or pids), "--",
                            "sleep", str(duration)],
                           os.path.join(work, "perf.out"), os.path.join(work, "perf.err"))
        gcmd = ["ip", "netns", "exec", ns.gen, cfg.gen, "-i", GEN_IF, "-m", mix,
                "-n", str(cfg.flows), "-a", str(cfg.dpi_share), "-R", rate,
                "-d", str(duration), "-s", str(cfg.seed), "--dst-mac", DST_MAC, "-q"]
        if cfg.gen_cpu >= 0:
            gcmd += ["-C", str(cfg.gen_cpu)]
        target, unit = parse_rate(rate)
        if unit == "pps":
            # A paced run sends an exact count, so every tool gets the same frames;
            # the duration stays as a bound.
            gcmd += ["-c", str(int(round(target * duration)))]
            gcmd[gcmd.index("-d") + 1] = str(duration * 1.5 + 2)
        gcmd += list(extra_gen)
        r = subprocess.run(gcmd, timeout=duration * 1.5 + 30, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        c1 = cpu_times()
        t1 = proc_cpu(pids)
        if perf_p is not None:
            reap(perf_p, 15)
            with open(os.path.join(work, "perf.err"), errors="replace") as f:
                row["perf_stat"] = f.read().strip()
        if r.returncode != 0:
            raise RuntimeError(f"generator failed: {r.stderr.strip()}")
        g = json.loads(r.stdout.strip().splitlines()[-1])
        time.sleep(max(0.5, tool.settle if tool else 0.5))
        cap1 = ns.link_stats(ns.cap, CAP_IF)
        gen1 = ns.link_stats(ns.gen, GEN_IF)
        row.update({"gen_frames": g["frames"], "gen_bytes": g["bytes"],
                    "gen_seconds": g["seconds"], "gen_pps": g["pps"], "gen_gbps": g["gbps"],
                    "gen_cpu_s": round(g["cpu_user_s"] + g["cpu_sys_s"], 3),
                    "gen_cpu_util": g["cpu_util"],
                    "delivered": cap1["rx_packets"] - cap0["rx_packets"],
                    "delivered_bytes": cap1["rx_bytes"] - cap0["rx_bytes"],
                    "veth_drops": gen1["tx_dropped"] - gen0["tx_dropped"],
                    "gen_if_tx": gen1["tx_packets"] - gen0["tx_packets"],
                    "cpus": cpu_delta(c0, c1)})
        if tool and g["seconds"] > 0:
            row["tool_cpu_pct"] = round(100.0 * (t1 - t0) / g["seconds"], 1)
        if target:
            achieved = g["pps"] if unit == "pps" else g["gbps"] * 1e9
            row["gen_limited"] = achieved < 0.97 * target
        else:
            row["gen_limited"] = True
        if tool:
            rc, cpu, rss, killed = reap(p, tool.stop_timeout, signal.SIGINT)
            p = None
            row.update({"tool_rc": rc, "tool_cpu_s": round(cpu, 3),
                        "tool_rss_mib": round(rss / 1024.0, 1) if rss else None,
                        "tool_killed": killed})
            row.update(tool.parse(work))
            if killed:
                row["error"] = (f"did not finish within {tool.stop_timeout} s of SIGINT "
                                f"(killed)")
                row["verdict"] = "did not finish"
            elif "seen" in row and row["delivered"]:
                lost = row["delivered"] - row["seen"]
                row["loss_pct"] = round(100.0 * max(lost, 0) / row["delivered"], 4)
                row["verdict"] = ("zero loss" if lost == 0 else
                                  "extra frames" if lost < 0 else "loss")
    finally:
        if p is not None:
            reap(p, 5, signal.SIGKILL)
        if not cfg.keep:
            shutil.rmtree(work, ignore_errors=True)
    return row


def check_row(row):
    """Accounting checks for the smoke test: returns a list of failures."""
    bad = []
    if row.get("error"):
        bad.append(f"{row['tool']}: {row['error']}")
    if not row.get("delivered"):
        bad.append(f"{row['tool']}: nothing delivered")
    # veth counts a frame that entered the peer's backlog as psg0 tx and psc0
    # rx, and one the backlog refused as psg0 tx_dropped.
    if row["gen_frames"] != row["gen_if_tx"] + row["veth_drops"]:
        bad.append(f"{row['tool']}: generator says {row['gen_frames']} frames, its "
                   f"interface sent {row['gen_if_tx']} and dropped {row['veth_drops']}")
    if row["gen_if_tx"] != row["delivered"]:
        bad.append(f"{row['tool']}: psg0 sent {row['gen_if_tx']} != psc0 delivered "
                   f"{row['delivered']}")
    if row["tool"] == "(none)":
        return bad
    if "seen" not in row:
        bad.append(f"{row['tool']}: no count")
        return bad
    if row["seen"] + row.get("drops", 0) != row["delivered"]:
        bad.append(f"{row['tool']}: seen {row['seen']} + drops {row.get('drops', 0)} "
                   f"!= delivered {row['delivered']}")
    if row.get("received") is not None and row["received"] != row["delivered"]:
        bad.append(f"{row['tool']}: received by filter {row['received']} != delivered "
                   f"{row['delivered']}")
    if row["tool"].startswith("procsniff") and not row.get("final"):
        bad.append(f"{row['tool']}: no final stats objects")
    return bad


# ---------------------------------------------------------------- tables

def fmt_num(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if v < 100 else f"{v:,.0f}"
    return f"{v:,}"


LIVE_COLS = [
    ("mix", "mix"), ("rate", "offered"), ("gen_pps", "gen pps"), ("gen_gbps", "gen Gbit/s"),
    ("delivered", "delivered"), ("veth_drops", "veth drops"), ("tool", "tool"),
    ("seen", "seen"), ("drops", "drops"),
    ("freezes", "freezes"), ("loss_pct", "loss %"), ("tool_cpu_s", "tool CPU s"),
    ("tool_cpu_pct", "tool CPU % (traffic)"),
    ("tool_rss_mib", "tool RSS MiB"), ("gen_cpu_s", "gen CPU s"), ("cpu_busy", "CPU busy % (each)"),
    ("verdict", "verdict"),
]


def table(rows, cols):
    out = ["| " + " | ".join(h for _, h in cols) + " |",
           "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        cells = []
        for k, _ in cols:
            if k == "cpu_busy" and "cpus" in r:
                v = "/".join(f"{c['busy']:.0f}" for _, c in sorted(r["cpus"].items()))
            elif k == "gen_pps" and r.get("gen_limited") and r.get("rate") != "max":
                v = fmt_num(r.get(k)) + " (gen-limited)"
            elif k == "freezes" and not str(r.get("tool", "")).startswith("procsniff"):
                v = "-"
            else:
                v = fmt_num(r.get(k)) if not isinstance(r.get(k), str) else r[k]
            cells.append(v)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def worker_lines(rows):
    out = []
    for r in rows:
        for w, s in (r.get("per_worker") or {}).items():
            out.append(f"- {r['mix']} @ {r['rate']}, {r['tool']}, worker {w}: "
                       f"packets {fmt_num(s.get('packets'))}, kernel drops "
                       f"{fmt_num(s.get('kernel_drops'))}, freezes "
                       f"{fmt_num(s.get('kernel_freezes'))}, malformed "
                       f"{fmt_num(s.get('malformed'))}, flows {fmt_num(s.get('flows'))}, "
                       f"DPI events {fmt_num(s.get('dpi_events'))}, event drops "
                       f"{fmt_num(s.get('event_drops'))}")
    return "\n".join(out)


# ---------------------------------------------------------------- modes

def mode_sweep(cfg, ns, mixes, rates, tool_names, duration):
    rows = []
    tools = make_tools(cfg, tool_names)
    for mix in mixes:
        for rate in rates.get(mix, rates.get("*", ["max"])):
            for tool in tools:
                log(f"{mix} @ {rate}: {tool.name if tool else 'generator alone'}, {duration} s")
                try:
                    rows.append(live_run(cfg, ns, tool, mix, rate, duration))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    log(f"run failed: {e}")
                    rows.append({"mix": mix, "rate": rate,
                                 "tool": tool.name if tool else "(none)", "error": str(e)})
    return rows


def zero_loss_search(cfg, ns, tool, mix, duration, steps):
    """Highest offered pps with zero loss. Starts at "max" (what the
    generator reaches with this tool attached), then bisects."""
    probes = []
    r = live_run(cfg, ns, tool, mix, "max", duration)
    probes.append(r)
    top = r.get("gen_pps", 0)
    if r.get("verdict") == "zero loss":
        return {"tool": tool.name, "mix": mix, "zero_loss_pps": top, "gen_limited": True,
                "probes": probes}
    lo, hi = 0.0, top
    best = None
    for _ in range(steps):
        mid = (lo + hi) / 2 if lo else hi / 2
        rate = f"{int(mid)}pps"
        log(f"search {tool.name}: {rate}")
        r = live_run(cfg, ns, tool, mix, rate, duration)
        probes.append(r)
        ok = r.get("verdict") == "zero loss" and not r.get("gen_limited")
        if ok:
            lo, best = mid, r["gen_pps"]
        else:
            hi = min(hi, r.get("gen_pps", mid) if r.get("gen_limited") else mid)
        if hi - lo < 0.02 * hi:
            break
    return {"tool": tool.name, "mix": mix, "zero_loss_pps": best, "gen_limited": False,
            "probes": probes}


def mode_search(cfg, ns, tool_names, duration, steps=6):
    results = []
    for tool in make_tools(cfg, tool_names):
        log(f"zero-loss search at 64 B: {tool.name}")
        results.append(zero_loss_search(cfg, ns, tool, "64", duration, steps))
    return results


def search_table(results):
    lines = ["| tool | highest zero-loss 64 B rate (pps) | limited by | tool CPU % there "
             "| pps per tool core (extrapolated) | probes |",
             "|---|---|---|---|---|---|"]
    for s in results:
        best = [p for p in s["probes"] if p.get("verdict") == "zero loss"
                and p.get("gen_pps") == s["zero_loss_pps"]]
        pct = best[0].get("tool_cpu_pct") if best else None
        per_core = s["zero_loss_pps"] / (pct / 100.0) if pct and s["zero_loss_pps"] else None
        lines.append(f"| {s['tool']} | {fmt_num(s['zero_loss_pps'])} | "
                     f"{'generator' if s['gen_limited'] else 'capture'} | {fmt_num(pct)} | "
                     f"{fmt_num(per_core)} | {len(s['probes'])} |")
    lines.append("")
    lines.append("'pps per tool core' = rate / (tool CPU share during the run): what the tool's "
                 "user space would take at 100 % of one core if it scaled linearly; the "
                 "kernel's copy into the ring runs on the generator's CPU and is not in it.")
    by = {s["tool"]: s for s in results}
    td = by.get("tcpdump")
    for name in ("procsniff -W 1", "procsniff -W 2"):
        ps = by.get(name)
        if not (ps and td and ps["zero_loss_pps"] and td["zero_loss_pps"]):
            continue
        lines.append("")
        ratio = ps["zero_loss_pps"] / td["zero_loss_pps"]
        if ps["gen_limited"] or td["gen_limited"]:
            pc = [p.get("tool_cpu_pct") for p in (ps["probes"][0], td["probes"][0])]
            both = "both" if ps["gen_limited"] and td["gen_limited"] else "at least one"
            lines.append(f"{name}: the generator is the limit ({both} tool saw every frame "
                         f"at the generator's top rate), so the ratio {ratio:.2f} compares "
                         f"generator rates, not tools. Capture CPU at that rate, % of one "
                         f"core: {name} {pc[0]}, tcpdump {pc[1]}.")
        else:
            lines.append(f"{name} / tcpdump zero-loss ratio: {ratio:.2f}")
    return "\n".join(lines)


def gen_pcap(cfg, count, path):
    # Reused while the generator binary is older than the file.
    if (os.path.exists(path) and os.path.getsize(path) > 0 and
            os.path.getmtime(path) >= os.path.getmtime(cfg.gen)):
        return
    log(f"writing {count} frames to {path}")
    run([cfg.gen, "--write", path + ".tmp", "-c", str(count), "-m", "imix", "-n", "10000",
         "-a", "20", "-s", "1", "-q"], timeout=600)
    os.rename(path + ".tmp", path)


def offline_tools(cfg, path):
    t = []
    if os.access(cfg.procsniff, os.X_OK):
        for w in (1, 2):
            for dpi in (True, False):
                cmd = [cfg.procsniff, "-r", path, "-W", str(w), "--json",
                       "--json-file", "@JSON@"]
                if not dpi:
                    cmd.append("--no-dpi")
                t.append((f"procsniff -r -W {w}" + ("" if dpi else " --no-dpi"), cmd))
    else:
        log(f"{cfg.procsniff} not built: offline runs without procsniff")
    t.append(("tcpdump -r", ["tcpdump", "-r", path, "-w", "/dev/null"]))
    if shutil.which("tshark"):
        t.append(("tshark -r -q -z io,phs",
                  ["tshark", "-r", path, "-q", "-n", "-z", "io,phs"]))
    if shutil.which("ndpiReader"):
        t.append(("ndpiReader -i", ["ndpiReader", "-i", path]))
    return t


def mode_offline(cfg, count):
    path = os.path.join(cfg.cache, f"psbench-imix-{count}-s1.pcap")
    os.makedirs(cfg.cache, exist_ok=True)
    gen_pcap(cfg, count, path)
    with open(path, "rb") as f:  # into the page cache, so no tool pays for the disk
        while f.read(1 << 24):
            pass
    rows = []
    for name, cmd in offline_tools(cfg, path):
        work = tempfile.mkdtemp(prefix="psbench-", dir=cfg.workdir)
        jpath = os.path.join(work, "ps.json")
        cmd = [jpath if c == "@JSON@" else c for c in cmd]
        log(f"offline: {name}")
        t0 = time.monotonic()
        p = spawn(cmd, os.path.join(work, "out"), os.path.join(work, "err"))
        rc, cpu, rss, killed = reap(p, cfg.offline_timeout)
        wall = time.monotonic() - t0
        row = {"tool": name, "packets": count, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
               "rss_mib": round(rss / 1024.0, 1) if rss else None, "rc": rc, "killed": killed,
               "pps": round(count / wall) if wall > 0 else None}
        if name.startswith("procsniff"):
            st = parse_procsniff_json(jpath)
            row["seen"] = st.get("seen")
            row["malformed"] = st.get("malformed")
        elif name.startswith("ndpiReader"):
            m = re.search(r"of (\d+) packets total", open(os.path.join(work, "out")).read())
            row["seen"] = int(m.group(1)) if m else None
        if rc != 0 or killed:
            row["error"] = f"exit {rc}" + (" (killed at timeout)" if killed else "")
        rows.append(row)
        if not cfg.keep:
            shutil.rmtree(work, ignore_errors=True)
    base = next((r["pps"] for r in rows if r["tool"] == "tcpdump -r"), None)
    for r in rows:
        r["vs_tcpdump"] = round(r["pps"] / base, 3) if base and r["pps"] else None
    return rows, path


OFFLINE_COLS = [("tool", "tool"), ("packets", "packets"), ("seen", "seen"),
                ("wall_s", "wall s"), ("pps", "packets/s"), ("vs_tcpdump", "x tcpdump"),
                ("cpu_s", "CPU s"), ("rss_mib", "peak RSS MiB"), ("error", "error")]


def mode_profile(cfg, ns, mix, rate, duration, workers):
    if not os.access(cfg.procsniff, os.X_OK):
        raise SystemExit(f"{cfg.procsniff} not built")
    tool = Procsniff(cfg, workers, profile=True)
    row = live_run(cfg, ns, tool, mix, rate, duration, perf=True)
    lines = ["| worker | profiled packets | decode cyc/pkt | flow cyc/pkt | dissect cyc/pkt "
             "| total cyc/pkt |", "|---|---|---|---|---|---|"]
    for w, s in (row.get("per_worker") or {}).items():
        n = s.get("profiled_packets") or 0
        if not n:
            lines.append(f"| {w} | 0 | - | - | - | - |")
            continue
        d, fl, ds = (s.get("cycles_decode", 0), s.get("cycles_flow", 0),
                     s.get("cycles_dissect", 0))
        lines.append(f"| {w} | {n:,} | {d / n:.0f} | {fl / n:.0f} | {ds / n:.0f} "
                     f"| {(d + fl + ds) / n:.0f} |")
    if row.get("perf_stat"):
        lines += ["", "perf stat of procsniff during the traffic:", "", "```",
                  row["perf_stat"], "```"]
    lines += ["", "To look deeper, start the namespaces and the generator by hand "
              "(bench/README.md, 'Profile mode') and, while traffic runs:",
              "    perf record -g -p $(pidof procsniff) -- sleep 10",
              "    perf report --no-children",
              "    perf stat -e cycles,instructions,cache-misses,branch-misses "
              "-p $(pidof procsniff) -- sleep 10"]
    return row, "\n".join(lines)


# ---------------------------------------------------------------- main

def write_results(cfg, mode, md, data):
    os.makedirs(cfg.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(cfg.out, f"{stamp}-{mode}")
    with open(base + ".md", "w") as f:
        f.write(md + "\n")
    with open(base + ".json", "w") as f:
        json.dump(data, f, indent=1, default=str)
        f.write("\n")
    log(f"results: {base}.md, {base}.json")


def background_busy():
    """CPU busy % of each CPU over one idle second: what other users of the
    machine take before we start."""
    a = cpu_times()
    time.sleep(1)
    d = cpu_delta(a, cpu_times())
    return "/".join(f"{c['busy']:.0f}" for _, c in sorted(d.items()))


def header(cfg, mode):
    uname = os.uname()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return (f"# procsniff bench: {mode}\n\n"
            f"Before the runs: load average {load}, CPU busy % (each) over an idle second "
            f"{background_busy()} (other users of the machine).\n"
            f"{datetime.datetime.now().isoformat(timespec='seconds')}, {uname.nodename}, "
            f"Linux {uname.release}, {os.cpu_count()} CPUs; generator pinned to CPU "
            f"{cfg.gen_cpu}, receive processing on "
            f"{'CPU mask %x' % cfg.rps_cpus if cfg.rps_cpus else 'the generator CPU'}, "
            f"flows {cfg.flows}, DPI share {cfg.dpi_share} %, seed {cfg.seed}.\n"
            "One tool per generator run (runs are identical). 'delivered' is the "
            "rx_packets delta of the capture-side veth.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke sweep with checks (< 2 min)")
    ap.add_argument("--mode", default="sweep",
                    choices=["sweep", "claims", "search", "offline", "profile", "all", "netns"])
    ap.add_argument("--hold", type=float, default=600,
                    help="--mode netns: seconds to keep the namespaces (Ctrl-C ends)")
    ap.add_argument("--procsniff", default=os.path.join(ROOT, "build", "procsniff"))
    ap.add_argument("--gen", default=None, help="procsniff-gen binary")
    ap.add_argument("--mixes", default="64,512,1500,imix")
    ap.add_argument("--rates", default=None,
                    help="comma list for every mix (e.g. 100k,1G,max); default per mix")
    ap.add_argument("--tools",
                    default="procsniff-W1,procsniff-W2,tcpdump,tcpdump-B,tshark,ndpiReader")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--flows", type=int, default=10000)
    ap.add_argument("--dpi-share", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gen-cpu", type=int, default=(os.cpu_count() or 1) - 1,
                    help="CPU for the generator (default: the last one; procsniff "
                         "pins its first worker to the first)")
    ap.add_argument("--rps-cpus", type=lambda x: int(x, 16), default=0,
                    help="hex CPU mask for the capture side's receive processing "
                         "(default 0: it runs on the generator's CPU)")
    ap.add_argument("--offline-count", type=int, default=1000000)
    ap.add_argument("--offline-timeout", type=float, default=600)
    ap.add_argument("--search-steps", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2, help="workers for --mode profile")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "psbench-cache"))
    ap.add_argument("--keep", action="store_true", help="keep per-run work directories")
    cfg = ap.parse_args()

    if os.geteuid() != 0:
        log("needs root (network namespaces, AF_PACKET)")
        return 77
    if cfg.gen is None:
        for cand in (os.path.join(ROOT, "build-bench", "procsniff-gen"),
                     os.path.join(ROOT, "build", "procsniff-gen")):
            if os.access(cand, os.X_OK):
                cfg.gen = cand
                break
        else:
            log("procsniff-gen not found; build it: cmake --build build-bench "
                "--target procsniff-gen")
            return 2
    cfg.workdir = tempfile.mkdtemp(prefix="psbench-work-")
    ns = Namespaces(os.getpid())
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    mode = "quick" if cfg.quick else cfg.mode
    data = {"mode": mode, "config": {k: v for k, v in vars(cfg).items()}}
    md = [header(cfg, mode)]
    failures = []
    try:
        if mode in ("offline",):
            rows, path = mode_offline(cfg, cfg.offline_count)
            md.append(f"## Offline: {cfg.offline_count:,} packets, IMIX, 10000 flows, "
                      f"20 % DPI, seed 1 ({path})\n")
            md.append(table(rows, OFFLINE_COLS))
            data["offline"] = rows
        else:
            ns.create()
            if cfg.rps_cpus:
                ns.set_rps(cfg.rps_cpus)
            if mode == "netns":
                print(f"namespaces {ns.gen} ({GEN_IF}) and {ns.cap} ({CAP_IF}) ready for "
                      f"{cfg.hold:g} s (Ctrl-C deletes them):\n"
                      f"  ip netns exec {ns.gen} {cfg.gen} -i {GEN_IF} -m imix -n 10000 "
                      f"-R 1Gbps -d 60 -C {cfg.gen_cpu} --dst-mac {DST_MAC}\n"
                      f"  ip netns exec {ns.cap} {cfg.procsniff} -i {CAP_IF} -W 2 --json "
                      f"--json-file /tmp/ps.json --stats-interval 1 --profile\n"
                      f"  perf record -e cpu-clock -g -p $(pidof procsniff) -- sleep 10",
                      flush=True)
                time.sleep(cfg.hold)
                return 0
            if mode == "quick":
                rates = {"*": ["20kpps"]}
                tools = ["none", "tcpdump", "tcpdump-B", "procsniff-W1", "procsniff-W2"]
                rows = mode_sweep(cfg, ns, ["64", "imix"], rates, tools, 3)
                for r in rows:
                    if "error" in r and "gen_frames" not in r:
                        failures.append(f"{r['tool']}: {r['error']}")
                    else:
                        failures += check_row(r)
                md.append("## Live (quick: 3 s per run, 20 kpps)\n")
                md.append(table(rows, LIVE_COLS))
                md.append(worker_lines(rows))
                data["live"] = rows
                orows, _ = mode_offline(cfg, 20000)
                for r in orows:
                    if r.get("error"):
                        failures.append(f"offline {r['tool']}: {r['error']}")
                    if r.get("seen") is not None and r["seen"] != r["packets"]:
                        failures.append(f"offline {r['tool']}: saw {r['seen']} of "
                                        f"{r['packets']} packets")
                md.append("\n## Offline (quick: 20,000 packets)\n")
                md.append(table(orows, OFFLINE_COLS))
                data["offline"] = orows
            if mode in ("sweep", "all"):
                if cfg.rates:
                    rates = {"*": cfg.rates.split(",")}
                else:
                    rates = {"64": ["100k", "300k", "max"], "512": ["1Gbps", "max"],
                             "1500": ["1Gbps", "max"], "imix": ["1Gbps", "max"]}
                rates = {k: [r if r == "max" or r.endswith("ps") else r + "pps" for r in v]
                         for k, v in rates.items()}
                rows = mode_sweep(cfg, ns, cfg.mixes.split(","), rates,
                                  ["none"] + cfg.tools.split(","), cfg.duration)
                md.append(f"## Live sweep ({cfg.duration:g} s per run)\n")
                md.append(table(rows, LIVE_COLS))
                md.append(worker_lines(rows))
                data["live"] = rows
            if mode in ("claims", "all"):
                rows = mode_sweep(cfg, ns, ["imix", "512"], {"*": ["1Gbps"]},
                                  ["procsniff-W2"], 30)
                md.append("\n## Claim: 1 Gbit/s offered, procsniff -W 2, DPI on, 30 s\n")
                md.append(table(rows, LIVE_COLS))
                md.append(worker_lines(rows))
                data["claims"] = rows
            if mode in ("claims", "search", "all"):
                res = mode_search(cfg, ns, ["procsniff-W1", "procsniff-W2", "tcpdump"],
                                  cfg.duration, cfg.search_steps)
                md.append("\n## Highest zero-loss rate at 64 B\n")
                md.append(search_table(res))
                for s in res:
                    md.append(f"\n{s['tool']} probes:\n")
                    md.append(table(s["probes"], LIVE_COLS))
                data["search"] = res
            if mode == "profile":
                row, txt = mode_profile(cfg, ns, "imix", "1Gbps", cfg.duration, cfg.workers)
                md.append("## Profile: procsniff --profile, IMIX 1 Gbit/s\n")
                md.append(table([row], LIVE_COLS))
                md.append("\n" + txt)
                data["profile"] = row
            if mode == "all":
                rows, path = mode_offline(cfg, cfg.offline_count)
                md.append(f"\n## Offline: {cfg.offline_count:,} packets ({path})\n")
                md.append(table(rows, OFFLINE_COLS))
                data["offline"] = rows
    finally:
        cleanup_all()
        ns.delete()
        shutil.rmtree(cfg.workdir, ignore_errors=True)
    left = [n for n in run(["ip", "netns", "list"]).split()
            if n.startswith(f"psbench-{os.getpid()}-")]
    if left:
        failures.append(f"namespaces left behind: {left}")
    if failures:
        md.append("\n## Check failures\n")
        md += [f"- {f}" for f in failures]
        data["failures"] = failures
    text = "\n".join(md)
    print(text)
    write_results(cfg, mode, text, data)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
