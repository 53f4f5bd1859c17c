#!/usr/bin/env python3
"""TCP request/response latency: `tcp_rr.py server ADDR PORT` echoes 1-byte requests;
`tcp_rr.py client ADDR PORT COUNT` sends COUNT 1-byte requests one at a time and prints
"avg_us p50_us p99_us max_us count" of the round trips (TCP_NODELAY on both ends)."""
import socket
import sys
import time


def server(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            b = c.recv(1)
            if not b:
                break
            c.sendall(b)
        c.close()


def client(addr, port, count):
    c = socket.create_connection((addr, port), timeout=5)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        c.sendall(b"x")
        if c.recv(1) != b"x":
            raise SystemExit("short read")
        times.append((time.perf_counter_ns() - t0) / 1000.0)
    c.close()
    times.sort()
    n = len(times)
    print("%.1f %.1f %.1f %.1f %d" % (sum(times) / n, times[n // 2], times[min(n - 1, int(0.99 * n))], times[-1], n))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
