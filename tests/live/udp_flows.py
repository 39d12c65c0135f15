#!/usr/bin/env python3
"""UDP traffic for the live test: `sink PORT N` binds N ports from PORT and
discards what arrives (so the receiver answers nothing); `send DST PORT N K`
sends K datagrams on each of N flows (source port 20000+i to PORT+i)."""
import socket
import sys
import time


def sink(port, n, seconds):
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port + i))
        s.setblocking(False)
        socks.append(s)
    print("ready", flush=True)
    end = time.time() + seconds
    while time.time() < end:
        for s in socks:
            try:
                while True:
                    s.recv(65536)
            except BlockingIOError:
                pass
        time.sleep(0.01)


def send(dst, port, n, k):
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 20000 + i))
        socks.append(s)
    sent = 0
    for rnd in range(k):
        for i, s in enumerate(socks):
            s.sendto(b"procsniff-live %d %d " % (i, rnd) + b"x" * (i % 200), (dst, port + i))
            sent += 1
        if rnd % 10 == 9:
            time.sleep(0.002)  # stay well below the veth's backlog
    print(sent)


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
