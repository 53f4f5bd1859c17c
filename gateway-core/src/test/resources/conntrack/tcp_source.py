#!/usr/bin/env python3
"""Uploads a deterministic byte stream to tcp_sink.py. Usage:
  tcp_source.py DST PORT BYTES RATE_BYTES_PER_S

Prints "connected localport=P", sends BYTES bytes (byte i = i % 251) paced at about RATE bytes/s
(0 = as fast as possible), half-closes, prints "sent N SHA256HEX" and then the sink's answer line as
"sink received N SHA256HEX". Exit code 1 when the sink's count or digest differs.
"""
import hashlib
import socket
import sys
import time


def main():
    dst, port, total, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    chunk = bytes(i % 251 for i in range(251 * 64))
    s = socket.create_connection((dst, port), timeout=60)
    print(f"connected localport={s.getsockname()[1]}", flush=True)
    sha = hashlib.sha256()
    sent = 0
    t0 = time.monotonic()
    while sent < total:
        part = chunk[: min(len(chunk), total - sent)]
        s.sendall(part)
        sha.update(part)
        sent += len(part)
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    s.shutdown(socket.SHUT_WR)
    mine = f"{sent} {sha.hexdigest()}"
    print(f"sent {mine} in {time.monotonic() - t0:.1f}s", flush=True)
    answer = s.makefile("rb").readline().decode().strip()
    print(f"sink {answer}", flush=True)
    s.close()
    sys.exit(0 if answer == f"received {mine}" else 1)


if __name__ == "__main__":
    main()
