#!/usr/bin/env python3
"""Opens many TCP connections to one destination and holds them.

Usage: tcp_storm.py SRC_ADDR FIRST_PORT COUNT DST_ADDR DST_PORT WINDOW TIMEOUT_S CLOSE_TRIGGER [CLOSE_RATE]

Connection i binds SRC_ADDR:FIRST_PORT+i explicitly (autobinding tens of thousands of ports to one
destination makes the kernel's port search quadratic), then connects without blocking. At most
WINDOW connects are in flight; one that has not completed after TIMEOUT_S (enough for the SYN
retransmissions at 1 s and 3 s) counts as failed and is closed. Prints
"result established=N failed=M errors=E" once every connect is resolved, then holds the established
connections until the file CLOSE_TRIGGER exists, closes them normally (FIN), at most CLOSE_RATE per
second when given, and prints "closed".
"""
import errno
import os
import resource
import selectors
import socket
import sys
import time


def main():
    src, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dst, dport, window, timeout, trigger = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
    close_rate = float(sys.argv[9]) if len(sys.argv) > 9 else 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    pending = {}
    established = []
    failed = 0
    errors = {}
    nxt = 0
    started = time.monotonic()
    while nxt < count or pending:
        while nxt < count and len(pending) < window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.bind((src, first + nxt))
                rc = s.connect_ex((dst, dport))
            except OSError as e:
                rc = e.errno
            nxt += 1
            if rc == 0:
                established.append(s)
            elif rc == errno.EINPROGRESS:
                pending[s.fileno()] = (s, time.monotonic())
                sel.register(s, selectors.EVENT_WRITE)
            else:
                errors[errno.errorcode.get(rc, str(rc))] = errors.get(errno.errorcode.get(rc, str(rc)), 0) + 1
                failed += 1
                s.close()
        for key, _ in sel.select(0.05):
            s, _t = pending.pop(key.fd)
            sel.unregister(s)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                established.append(s)
            else:
                name = errno.errorcode.get(err, str(err))
                errors[name] = errors.get(name, 0) + 1
                failed += 1
                s.close()
        now = time.monotonic()
        for fd, (s, t) in list(pending.items()):
            if now - t > timeout:
                del pending[fd]
                sel.unregister(s)
                s.close()
                failed += 1
    print(f"result established={len(established)} failed={failed} errors={errors} "
          f"seconds={time.monotonic() - started:.1f}", flush=True)
    while not os.path.exists(trigger):
        time.sleep(0.1)
    t0 = time.monotonic()
    for i, s in enumerate(established):
        s.close()
        if close_rate > 0:
            ahead = (i + 1) / close_rate - (time.monotonic() - t0)
            if ahead > 0.001:
                time.sleep(ahead)
    print(f"closed in {time.monotonic() - t0:.1f}s", flush=True)
    time.sleep(1)


if __name__ == "__main__":
    main()
