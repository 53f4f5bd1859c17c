#!/usr/bin/env python3
"""Counts what TCP clients upload. Usage: tcp_sink.py ADDR PORT READY

For every connection: reads to EOF, prints and sends back "received N SHA256HEX", closes.
"""
import hashlib
import socket
import sys
import threading


def serve(conn, peer):
    with conn:
        sha = hashlib.sha256()
        n = 0
        while True:
            data = conn.recv(262144)
            if not data:
                break
            sha.update(data)
            n += len(data)
        line = f"received {n} {sha.hexdigest()}"
        print(f"{line} from {peer[0]}:{peer[1]}", flush=True)
        conn.sendall(line.encode() + b"\n")


def main():
    addr, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(16)
    open(ready, "w").close()
    while True:
        conn, peer = lsock.accept()
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
