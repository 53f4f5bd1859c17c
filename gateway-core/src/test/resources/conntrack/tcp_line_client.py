#!/usr/bin/env python3
"""A TCP connection that exchanges a line now and then. Usage:
  tcp_line_client.py DST PORT STEP [STEP ...]

Connects, prints "connected localport=P", then runs the steps in order:
  wait:PATH   wait (up to 300 s) until the file PATH exists
  sleep:SECS  stay idle for SECS seconds
  echo:WORD   send WORD + newline and expect the same line back within 5 s; prints "echo WORD ok"
  hold:SECS   keep the connection open SECS seconds
Exit code 1 (with the reason on stderr) when an echo fails.
"""
import os
import socket
import sys
import time


def main():
    dst, port = sys.argv[1], int(sys.argv[2])
    s = socket.create_connection((dst, port), timeout=5)
    print(f"connected localport={s.getsockname()[1]}", flush=True)
    f = s.makefile("rb")
    for step in sys.argv[3:]:
        kind, arg = step.split(":", 1)
        if kind == "wait":
            deadline = time.monotonic() + 300
            while not os.path.exists(arg):
                if time.monotonic() > deadline:
                    sys.exit(f"{arg} never appeared")
                time.sleep(0.05)
        elif kind == "sleep" or kind == "hold":
            time.sleep(float(arg))
        elif kind == "echo":
            t0 = time.monotonic()
            try:
                s.sendall(arg.encode() + b"\n")
                line = f.readline()
            except OSError as e:
                print(f"echo {arg} failed: {e}", flush=True)
                sys.exit(1)
            if line != arg.encode() + b"\n":
                print(f"echo {arg} failed: got {line!r}", flush=True)
                sys.exit(1)
            print(f"echo {arg} ok in {time.monotonic() - t0:.3f}s", flush=True)
    s.close()


if __name__ == "__main__":
    main()
