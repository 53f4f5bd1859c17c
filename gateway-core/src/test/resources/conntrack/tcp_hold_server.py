#!/usr/bin/env python3
"""TCP server for the port-exhaustion test. Usage: tcp_hold_server.py ADDR PORT BACKLOG READY DRAIN

Listens with a large backlog and accepts only the FIRST connection (the sentinel), whose lines it
echoes; every later connection is completed by the kernel and left in the accept queue, so tens of
thousands of connections stay established without costing a file descriptor each. Once the file
DRAIN exists it accepts and closes everything queued (and whatever comes later); create it after the
clients have closed, so that the server closes passively and no server-side socket is left in
TIME_WAIT to collide with a reused translated port. READY is
created once it listens. Prints one line per event to stdout.
"""
import os
import selectors
import socket
import sys


def main():
    addr, port, backlog, ready, drain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(backlog)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, "listen")
    open(ready, "w").close()
    print(f"listening {addr}:{port} backlog {backlog}", flush=True)
    sentinel = None
    buf = b""
    draining = False
    drained = 0
    while True:
        if not draining and os.path.exists(drain):
            draining = True
            print("draining", flush=True)
            if sentinel is not None and lsock.fileno() >= 0:
                try:
                    sel.register(lsock, selectors.EVENT_READ, "listen")
                except KeyError:
                    pass
        for key, _ in sel.select(0.1):
            if key.data == "listen":
                while True:
                    try:
                        conn, peer = lsock.accept()
                    except BlockingIOError:
                        break
                    if sentinel is None:
                        sentinel = conn
                        sentinel.setblocking(False)
                        sel.register(sentinel, selectors.EVENT_READ, "sentinel")
                        print(f"sentinel from {peer[0]}:{peer[1]}", flush=True)
                        if not draining:
                            sel.unregister(lsock)
                            break
                    else:
                        conn.close()
                        drained += 1
                        if drained % 5000 == 0:
                            print(f"drained {drained}", flush=True)
            else:
                try:
                    data = sentinel.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    print("sentinel closed", flush=True)
                    sel.unregister(sentinel)
                    sentinel.close()
                    continue
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    sentinel.sendall(line + b"\n")


if __name__ == "__main__":
    main()
