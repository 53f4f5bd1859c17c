#!/usr/bin/env python3
"""Long-lived TCP connections, each echoing a message at a fixed interval until told to stop. Usage:
  tcp_stream_client.py DST PORT CONNECTIONS INTERVAL_MS STOP_FILE

Opens CONNECTIONS connections to an echo server, prints "connected N" once all are open, then every
connection sends "c<i> <seq>\\n" every INTERVAL_MS and waits (up to 60 s: long enough to ride out a
gateway restart on TCP retransmissions) for the same line back. When STOP_FILE exists every connection
finishes its current exchange and the script prints, and exits 0 only when nothing failed:
  summary connections=N messages=M failures=F max_gap_ms=G
  failure c<i>: REASON            (one line per failed connection: reset, timeout, wrong echo)
max_gap_ms is the longest time any connection waited for one echo.
"""
import os
import socket
import sys
import threading
import time


def main():
    dst, port, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) / 1000.0
    stop = sys.argv[5]
    socks = []
    for i in range(count):
        s = socket.create_connection((dst, port), timeout=10)
        s.settimeout(60)
        socks.append(s)
    print(f"connected {count}", flush=True)
    lock = threading.Lock()
    stats = {"messages": 0, "max_gap": 0.0}
    failures = {}

    def run(i, s):
        f = s.makefile("rb")
        seq = 0
        while not os.path.exists(stop):
            line = f"c{i} {seq}\n".encode()
            t0 = time.monotonic()
            try:
                s.sendall(line)
                got = f.readline()
            except OSError as e:
                failures[i] = f"{type(e).__name__}: {e}"
                return
            gap = time.monotonic() - t0
            if got != line:
                failures[i] = f"wrong echo {got!r} for {line!r}"
                return
            with lock:
                stats["messages"] += 1
                stats["max_gap"] = max(stats["max_gap"], gap)
            seq += 1
            time.sleep(interval)
        s.close()

    threads = [threading.Thread(target=run, args=(i, s), daemon=True) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"summary connections={count} messages={stats['messages']} failures={len(failures)} "
          f"max_gap_ms={int(stats['max_gap'] * 1000)}", flush=True)
    for i, reason in sorted(failures.items()):
        print(f"failure c{i}: {reason}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
